/* fs.c — durable atomic writes and directory helpers (POSIX). */
#include "fs.h"

#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static _Atomic unsigned tmp_seq;

char *aq_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);

	if (!p)
		return NULL;
	memcpy(p, a, la);
	if (la && a[la - 1] != '/')
		p[la++] = '/';
	memcpy(p + la, b, lb + 1);
	return p;
}

static char *dir_of(const char *path)
{
	char *c = strdup(path), *d;

	if (!c)
		return NULL;
	d = strdup(dirname(c));
	free(c);
	return d;
}

/*
 * A path that names a device, FIFO or socket (/dev/null, /dev/stdout, a
 * pipe) is written in place: renaming a temp file over it would replace the
 * device node itself. Such an aq_afile has tmp == NULL.
 */
static int open_special(struct aq_afile *f, const char *path, struct aq_err *e)
{
	f->tmp = NULL;
	f->path = strdup(path);
	if (!f->path)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	f->fd = open(path, O_WRONLY | O_CLOEXEC);
	if (f->fd < 0) {
		int r = aq_err_sys(e, "cannot open '%s'", path);

		free(f->path);
		f->path = NULL;
		return r;
	}
	return 0;
}

int aq_afile_open(struct aq_afile *f, const char *path, struct aq_err *e)
{
	char *c, *dir, *base;
	struct stat st;
	size_t n;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return open_special(f, path, e);
	c = strdup(path);
	f->fd = -1;
	f->tmp = NULL;
	f->path = strdup(path);
	if (!c || !f->path) {
		free(c);
		free(f->path);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	dir = dirname(c);
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : (char *)path;
	n = strlen(dir) + strlen(base) + 64;
	f->tmp = malloc(n);
	if (!f->tmp) {
		free(c);
		free(f->path);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	snprintf(f->tmp, n, "%s/.%s.tmp.%ld.%u", dir, base, (long)getpid(), atomic_fetch_add(&tmp_seq, 1));
	free(c);
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->fd < 0) {
		int r = aq_err_sys(e, "cannot create '%s'", f->tmp);

		free(f->tmp);
		free(f->path);
		f->tmp = f->path = NULL;
		return r;
	}
	return 0;
}

int aq_afile_write(struct aq_afile *f, const void *buf, size_t len, struct aq_err *e)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(f->fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return aq_err_sys(e, "cannot write '%s'", f->path);
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void afile_release(struct aq_afile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->tmp);
	free(f->path);
	f->fd = -1;
	f->tmp = f->path = NULL;
}

int aq_afile_commit(struct aq_afile *f, struct aq_err *e)
{
	char *dir;
	int r = 0;

	if (!f->tmp) { /* special file written in place */
		if (close(f->fd) < 0)
			r = aq_err_sys(e, "cannot close '%s'", f->path);
		f->fd = -1;
		afile_release(f);
		return r;
	}
	if (fsync(f->fd) < 0) {
		r = aq_err_sys(e, "cannot fsync '%s'", f->path);
		goto fail;
	}
	if (close(f->fd) < 0) {
		f->fd = -1;
		r = aq_err_sys(e, "cannot close '%s'", f->path);
		goto fail;
	}
	f->fd = -1;
	if (rename(f->tmp, f->path) < 0) {
		r = aq_err_sys(e, "cannot rename to '%s'", f->path);
		goto fail;
	}
	dir = dir_of(f->path);
	r = dir ? aq_fs_fsync_dir(dir, e) : aq_err_set(e, AQ_ENOMEM, "out of memory");
	free(dir);
	afile_release(f);
	return r;
fail:
	aq_afile_abort(f);
	return r;
}

void aq_afile_abort(struct aq_afile *f)
{
	if (f->tmp)
		unlink(f->tmp);
	afile_release(f);
}

int aq_fs_write_atomic(const char *path, const void *buf, size_t len, struct aq_err *e)
{
	struct aq_afile f;
	int r = aq_afile_open(&f, path, e);

	if (r)
		return r;
	r = aq_afile_write(&f, buf, len, e);
	if (r) {
		aq_afile_abort(&f);
		return r;
	}
	return aq_afile_commit(&f, e);
}

int aq_fs_read_all(const char *path, char **buf, size_t *len, struct aq_err *e)
{
	FILE *fp = fopen(path, "rb");
	char *b = NULL;
	long sz;

	if (!fp)
		return errno == ENOENT ? aq_err_set(e, AQ_ENOTFOUND, "cannot open '%s': no such file", path)
				       : aq_err_sys(e, "cannot open '%s'", path);
	if (fseek(fp, 0, SEEK_END) < 0 || (sz = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0) {
		fclose(fp);
		return aq_err_sys(e, "cannot seek '%s'", path);
	}
	b = malloc((size_t)sz + 1);
	if (!b) {
		fclose(fp);
		return aq_err_set(e, AQ_ENOMEM, "out of memory reading '%s'", path);
	}
	if (fread(b, 1, (size_t)sz, fp) != (size_t)sz) {
		free(b);
		fclose(fp);
		return aq_err_sys(e, "cannot read '%s'", path);
	}
	fclose(fp);
	b[sz] = '\0';
	*buf = b;
	if (len)
		*len = (size_t)sz;
	return 0;
}

int aq_fs_mkdir_p(const char *path, struct aq_err *e)
{
	char *p = strdup(path);

	if (!p)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				int r = aq_err_sys(e, "cannot create directory '%s'", p);

				free(p);
				return r;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return 0;
}

int aq_fs_fsync_dir(const char *dir, struct aq_err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return aq_err_sys(e, "cannot open directory '%s'", dir);
	if (fsync(fd) < 0 && errno != EINVAL) {
		close(fd);
		return aq_err_sys(e, "cannot fsync directory '%s'", dir);
	}
	close(fd);
	return 0;
}

int aq_fs_sweep_tmp(const char *dir, struct aq_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : aq_err_sys(e, "cannot open directory '%s'", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp.")) {
			char *p = aq_path_join(dir, de->d_name);

			if (p && unlink(p) == 0)
				n++;
			free(p);
		}
	}
	closedir(d);
	return n;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int aq_fs_remove_tree(const char *path, struct aq_err *e)
{
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : aq_err_sys(e, "cannot stat '%s'", path);
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return aq_err_sys(e, "cannot remove '%s'", path);
	return 0;
}
