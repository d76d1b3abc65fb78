/* webroot.c — static files of the dashboard in memory: a directory walk at start, lookups by exact path. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "webroot.h"

#define MAX_FILES 256
#define MAX_BYTES (32u << 20)

static const char *type_of(const char *p)
{
	static const char *const map[][2] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},   {".json", "application/json"},
		{".svg", "image/svg+xml"},             {".png", "image/png"},
		{".ico", "image/x-icon"},              {".txt", "text/plain; charset=utf-8"},
		{".map", "application/json"},
	};
	const char *dot = strrchr(p, '.');
	for (size_t i = 0; dot && i < sizeof map / sizeof *map; i++)
		if (!strcmp(dot, map[i][0]))
			return map[i][1];
	return "application/octet-stream";
}

static int walk(struct aq_webroot *w, const char *root, const char *rel, size_t *bytes, struct aq_err *e)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s%s", root, rel);
	DIR *d = opendir(dir);
	if (!d)
		return aq_err_sys(e, "cannot open web directory '%s'", dir);
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char sub[PATH_MAX], full[PATH_MAX * 2];
		if ((size_t)snprintf(sub, sizeof sub, "%s/%s", rel, de->d_name) >= sizeof sub) {
			rc = aq_err_set(e, AQ_EINVAL, "path too long under '%s'", root);
			break;
		}
		snprintf(full, sizeof full, "%s%s", root, sub);
		struct stat st;
		if (stat(full, &st))
			rc = aq_err_sys(e, "cannot stat '%s'", full);
		else if (S_ISDIR(st.st_mode))
			rc = walk(w, root, sub, bytes, e);
		else if (S_ISREG(st.st_mode)) {
			if (w->n == MAX_FILES || *bytes + (size_t)st.st_size > MAX_BYTES) {
				rc = aq_err_set(e, AQ_EINVAL, "web directory '%s' is too large (%d files, %u MiB at most)",
						root, MAX_FILES, MAX_BYTES >> 20);
				break;
			}
			struct aq_webfile *f = &w->files[w->n];
			if (!(rc = aq_fs_read_all(full, &f->data, &f->len, e))) {
				f->path = strdup(sub);
				f->type = type_of(sub);
				*bytes += f->len;
				w->n++;
				if (!f->path)
					rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
			}
		}
	}
	closedir(d);
	return rc;
}

int aq_webroot_load(struct aq_webroot *w, const char *dir, struct aq_err *e)
{
	memset(w, 0, sizeof *w);
	w->files = calloc(MAX_FILES, sizeof *w->files);
	if (!w->files)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	size_t bytes = 0;
	int rc = walk(w, dir, "", &bytes, e);
	if (!rc && !aq_webroot_find(w, "/"))
		rc = aq_err_set(e, AQ_ENOTFOUND, "no index.html in web directory '%s' (build it: make web)", dir);
	if (rc)
		aq_webroot_release(w);
	return rc;
}

void aq_webroot_release(struct aq_webroot *w)
{
	for (size_t i = 0; w->files && i < w->n; i++) {
		free(w->files[i].path);
		free(w->files[i].data);
	}
	free(w->files);
	memset(w, 0, sizeof *w);
}

const struct aq_webfile *aq_webroot_find(const struct aq_webroot *w, const char *path)
{
	if (!strcmp(path, "/"))
		path = "/index.html";
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->files[i].path, path))
			return &w->files[i];
	return NULL;
}
