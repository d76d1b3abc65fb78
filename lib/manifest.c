/* manifest.c — sealed directories: the file list with sizes, rows and SHA-256 written last, checked by readers. */
#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "fs.h"
#include "parquet.h"

#define MANIFEST_FORMAT "aquacast.manifest"
#define MANIFEST_VERSION 1
#define MANIFEST_MAX_FILES 1000000

void aq_manifest_init(struct aq_manifest *m)
{
	memset(m, 0, sizeof *m);
}

void aq_manifest_release(struct aq_manifest *m)
{
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i].path);
	free(m->files);
	free(m->kind);
	free(m->created);
	json_decref(m->meta);
	memset(m, 0, sizeof *m);
}

/* ---- walking a directory: relative paths of regular files, dot-entries skipped ---- */

struct walk {
	char **paths;
	size_t n, cap;
};

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->paths[i]);
	free(w->paths);
}

static int walk_push(struct walk *w, char *rel, struct aq_err *e)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		char **p = cap <= MANIFEST_MAX_FILES ? realloc(w->paths, cap * sizeof *p) : NULL;
		if (!p) {
			free(rel);
			return aq_err_set(e, AQ_ENOMEM, "cannot list more than %zu files", w->n);
		}
		w->paths = p;
		w->cap = cap;
	}
	w->paths[w->n++] = rel;
	return 0;
}

/* Append the files under root/rel ("" = root itself) to w. */
static int walk_dir(const char *root, const char *rel, struct walk *w, struct aq_err *e)
{
	char *dir = rel[0] ? aq_path_join(root, rel) : strdup(root);
	if (!dir)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	DIR *d = opendir(dir);
	if (!d) {
		int rc = aq_err_sys(e, "cannot open directory '%s'", dir);
		free(dir);
		return rc;
	}
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!rel[0] && strcmp(de->d_name, AQ_MANIFEST_NAME) == 0)
			continue;
		char *sub = rel[0] ? aq_path_join(rel, de->d_name) : strdup(de->d_name);
		char *full = sub ? aq_path_join(root, sub) : NULL;
		struct stat sb;
		if (!sub || !full)
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		else if (lstat(full, &sb) < 0)
			rc = aq_err_sys(e, "cannot stat '%s'", full);
		else if (S_ISDIR(sb.st_mode))
			rc = walk_dir(root, sub, w, e);
		else if (S_ISREG(sb.st_mode)) {
			rc = walk_push(w, sub, e);
			sub = NULL;
		} else
			rc = aq_err_set(e, AQ_EFORMAT, "'%s' is neither a file nor a directory", full);
		free(sub);
		free(full);
	}
	closedir(d);
	free(dir);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_files(const char *root, struct walk *w, struct aq_err *e)
{
	memset(w, 0, sizeof *w);
	int rc = walk_dir(root, "", w, e);
	if (rc) {
		walk_free(w);
		return rc;
	}
	qsort(w->paths, w->n, sizeof *w->paths, cmp_str);
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* One file's entry: bytes and SHA-256 in one read, Parquet row count from its footer. */
static int describe_file(const char *root, const char *rel, json_t **out, struct aq_err *e)
{
	char *full = aq_path_join(root, rel);
	if (!full)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	char hex[AQ_SHA256_HEX];
	uint64_t bytes = 0, rows = 0;
	int rc = aq_sha256_file(full, hex, &bytes, e);
	if (!rc && ends_with(rel, ".parquet")) {
		struct aq_pq_reader rd;
		if (!(rc = aq_pq_reader_open(&rd, full, e))) {
			rows = rd.nrows;
			aq_pq_reader_release(&rd);
		}
	}
	free(full);
	if (rc)
		return rc;
	*out = json_pack("{s:s,s:I,s:I,s:s}", "path", rel, "bytes", (json_int_t)bytes, "rows", (json_int_t)rows,
			 "sha256", hex);
	return *out ? 0 : aq_err_set(e, AQ_ENOMEM, "out of memory");
}

int aq_manifest_write(const char *dir, const char *kind, uint64_t accounts, uint64_t rows, const json_t *meta,
		      struct aq_err *e)
{
	struct walk w;
	int rc = list_files(dir, &w, e);
	if (rc)
		return rc;
	json_t *files = json_array();
	for (size_t i = 0; !rc && i < w.n; i++) {
		json_t *f = NULL;
		if (!(rc = describe_file(dir, w.paths[i], &f, e)))
			json_array_append_new(files, f);
	}
	walk_free(&w);
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *j = rc ? NULL
		       : json_pack("{s:s,s:i,s:s,s:s,s:I,s:I,s:o}", "format", MANIFEST_FORMAT, "version",
				   MANIFEST_VERSION, "kind", kind, "created", when, "accounts", (json_int_t)accounts,
				   "rows", (json_int_t)rows, "files", files);
	if (!rc && !j)
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (rc) {
		if (!j)
			json_decref(files);
		json_decref(j);
		return rc;
	}
	if (meta)
		json_object_set_new(j, "meta", json_deep_copy(meta));
	char *txt = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(j);
	char *path = aq_path_join(dir, AQ_MANIFEST_NAME);
	if (!txt || !path)
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
	else
		rc = aq_fs_write_atomic(path, txt, strlen(txt), e);
	free(txt);
	free(path);
	return rc;
}

/* ---- reading and checking ---- */

static int parse_file(const char *dir, json_t *f, struct aq_manifest_file *out, struct aq_err *e)
{
	const char *path = NULL, *sha = NULL;
	json_int_t bytes = -1, rows = -1;
	json_error_t je;
	if (json_unpack_ex(f, &je, 0, "{s:s,s:I,s:I,s:s}", "path", &path, "bytes", &bytes, "rows", &rows, "sha256",
			   &sha) ||
	    bytes < 0 || rows < 0 || strlen(sha) != 64 || path[0] == '/' || strstr(path, ".."))
		return aq_err_set(e, AQ_EFORMAT, "manifest of '%s': bad file entry (%s)", dir,
				  je.text[0] ? je.text : "path, bytes, rows or sha256 invalid");
	out->path = strdup(path);
	if (!out->path)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	out->bytes = (uint64_t)bytes;
	out->rows = (uint64_t)rows;
	memcpy(out->sha256, sha, 65);
	return 0;
}

static int parse_manifest(const char *dir, json_t *j, struct aq_manifest *m, struct aq_err *e)
{
	const char *format = NULL, *kind = NULL, *created = NULL;
	int version = 0;
	json_int_t accounts = -1, rows = -1;
	json_t *files = NULL;
	json_error_t je;
	if (json_unpack_ex(j, &je, 0, "{s:s,s:i,s:s,s:s,s:I,s:I,s:o}", "format", &format, "version", &version, "kind",
			   &kind, "created", &created, "accounts", &accounts, "rows", &rows, "files", &files) ||
	    !json_is_array(files) || accounts < 0 || rows < 0)
		return aq_err_set(e, AQ_EFORMAT, "manifest of '%s' is malformed: %s", dir,
				  je.text[0] ? je.text : "negative counts or no file list");
	if (strcmp(format, MANIFEST_FORMAT) || version != MANIFEST_VERSION)
		return aq_err_set(e, AQ_EUNSUPPORTED, "manifest of '%s' is '%s' version %d, not %s version %d", dir,
				  format, version, MANIFEST_FORMAT, MANIFEST_VERSION);
	m->kind = strdup(kind);
	m->created = strdup(created);
	m->accounts = (uint64_t)accounts;
	m->rows = (uint64_t)rows;
	m->nfiles = json_array_size(files);
	m->files = calloc(m->nfiles ? m->nfiles : 1, sizeof *m->files);
	if (!m->kind || !m->created || !m->files) {
		m->nfiles = 0;
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < m->nfiles; i++) {
		int rc = parse_file(dir, json_array_get(files, i), &m->files[i], e);
		if (rc) {
			m->nfiles = i;
			return rc;
		}
	}
	json_t *meta = json_object_get(j, "meta");
	m->meta = meta ? json_incref(meta) : NULL;
	return 0;
}

static int load_manifest(const char *dir, struct aq_manifest *m, struct aq_err *e)
{
	char *path = aq_path_join(dir, AQ_MANIFEST_NAME);
	if (!path)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	struct stat sb;
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		free(path);
		return aq_err_set(e, AQ_ENOTFOUND, "'%s' does not exist or is not a directory", dir);
	}
	if (stat(path, &sb) < 0) {
		free(path);
		return aq_err_set(e, AQ_ESTATE,
				  "'%s' is not sealed (no %s): an unfinished or interrupted run, or not written by "
				  "aquacast; rerun the job that makes it",
				  dir, AQ_MANIFEST_NAME);
	}
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	int rc = j ? parse_manifest(dir, j, m, e)
		   : aq_err_set(e, AQ_EFORMAT, "cannot parse '%s': %s (line %d)", path, je.text, je.line);
	json_decref(j);
	free(path);
	return rc;
}

/* The files on disk are exactly the listed ones (both lists sorted), each of its size (and hash). */
static int check_files(const char *dir, const struct aq_manifest *m, int flags, struct aq_err *e)
{
	struct walk w;
	int rc = list_files(dir, &w, e);
	if (rc)
		return rc;
	size_t i = 0, k = 0;
	while (!rc && (i < m->nfiles || k < w.n)) {
		int c = i == m->nfiles ? 1 : k == w.n ? -1 : strcmp(m->files[i].path, w.paths[k]);
		if (c < 0)
			rc = aq_err_set(e, AQ_EFORMAT, "'%s' is incomplete: '%s' is in its manifest but missing", dir,
					m->files[i].path);
		else if (c > 0)
			rc = aq_err_set(e, AQ_EFORMAT, "'%s' holds '%s', which its manifest does not list", dir,
					w.paths[k]);
		else {
			const struct aq_manifest_file *f = &m->files[i];
			char *full = aq_path_join(dir, f->path);
			struct stat sb;
			char hex[AQ_SHA256_HEX];
			uint64_t bytes = 0;
			if (!full)
				rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
			else if (stat(full, &sb) < 0)
				rc = aq_err_sys(e, "cannot stat '%s'", full);
			else if ((uint64_t)sb.st_size != f->bytes)
				rc = aq_err_set(e, AQ_EFORMAT, "'%s' has %lld bytes, its manifest says %llu", full,
						(long long)sb.st_size, (unsigned long long)f->bytes);
			else if ((flags & AQ_MANIFEST_DEEP) && !(rc = aq_sha256_file(full, hex, &bytes, e)) &&
				 strcmp(hex, f->sha256) != 0)
				rc = aq_err_set(e, AQ_EFORMAT, "'%s' does not match its manifest's SHA-256", full);
			free(full);
			i++;
			k++;
		}
	}
	walk_free(&w);
	return rc;
}

int aq_manifest_check(const char *dir, const char *kind, int flags, struct aq_manifest *out, struct aq_err *e)
{
	struct aq_manifest m;
	aq_manifest_init(&m);
	int rc = load_manifest(dir, &m, e);
	if (!rc && kind && strcmp(m.kind, kind) != 0)
		rc = aq_err_set(e, AQ_EFORMAT, "'%s' is sealed as '%s', not '%s'", dir, m.kind, kind);
	if (!rc)
		rc = check_files(dir, &m, flags, e);
	if (!rc && out)
		*out = m;
	else
		aq_manifest_release(&m);
	return rc;
}

/* ---- building a sealed directory under a temporary name ---- */

/* Remove ".<base>.tmp.<pid>" siblings whose process no longer exists (a crashed or killed run). */
static void sweep_stale(const char *parent, const char *base)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	size_t bl = strlen(base);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (n[0] != '.' || strncmp(n + 1, base, bl) != 0 || strncmp(n + 1 + bl, ".tmp.", 5) != 0)
			continue;
		char *end;
		long pid = strtol(n + bl + 6, &end, 10);
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue;
		char *p = aq_path_join(parent, n);
		if (p)
			aq_fs_remove_tree(p, NULL);
		free(p);
	}
	closedir(d);
}

static int split_path(const char *path, char **parent, char **base)
{
	char *a = strdup(path), *b = strdup(path);
	*parent = a ? strdup(dirname(a)) : NULL;
	*base = b ? strdup(basename(b)) : NULL;
	free(a);
	free(b);
	return *parent && *base ? 0 : -1;
}

int aq_seal_begin(struct aq_seal *s, const char *final, int force, struct aq_err *e)
{
	memset(s, 0, sizeof *s);
	char *parent = NULL, *base = NULL;
	int rc = 0;
	struct stat sb;
	if (split_path(final, &parent, &base))
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
	else if (!strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, ".."))
		rc = aq_err_set(e, AQ_EINVAL, "'%s' cannot be an output directory", final);
	else if (!force && lstat(final, &sb) == 0)
		rc = aq_err_set(e, AQ_ESTATE, "'%s' exists already (one directory per run; --force replaces it)", final);
	else if (!(rc = aq_fs_mkdir_p(parent, e))) {
		sweep_stale(parent, base);
		char name[512];
		snprintf(name, sizeof name, ".%s.tmp.%ld", base, (long)getpid());
		s->tmp = aq_path_join(parent, name);
		s->final = strdup(final);
		s->force = force;
		if (!s->tmp || !s->final)
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		else if (!(rc = aq_fs_remove_tree(s->tmp, e)) && mkdir(s->tmp, 0777) < 0)
			rc = aq_err_sys(e, "cannot create directory '%s'", s->tmp);
	}
	free(parent);
	free(base);
	if (rc) {
		free(s->tmp);
		free(s->final);
		memset(s, 0, sizeof *s);
	}
	return rc;
}

static void seal_release(struct aq_seal *s)
{
	free(s->tmp);
	free(s->final);
	memset(s, 0, sizeof *s);
}

/* Move tmp into place: a plain no-replace rename, or with force an atomic exchange with the old directory. */
static int seal_rename(struct aq_seal *s, struct aq_err *e)
{
	if (renameat2(AT_FDCWD, s->tmp, AT_FDCWD, s->final, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		return aq_err_sys(e, "cannot rename '%s' to '%s'", s->tmp, s->final);
	if (!s->force)
		return aq_err_set(e, AQ_ESTATE, "'%s' appeared while this run was writing it; not replaced", s->final);
	if (renameat2(AT_FDCWD, s->tmp, AT_FDCWD, s->final, RENAME_EXCHANGE) < 0)
		return aq_err_sys(e, "cannot replace '%s'", s->final);
	/* s->tmp now names the old directory */
	return aq_fs_remove_tree(s->tmp, e);
}

int aq_seal_commit(struct aq_seal *s, struct aq_err *e)
{
	char *parent = NULL, *base = NULL;
	int rc = aq_fs_fsync_dir(s->tmp, e);
	if (!rc)
		rc = seal_rename(s, e);
	if (!rc && split_path(s->final, &parent, &base))
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!rc)
		rc = aq_fs_fsync_dir(parent, e);
	free(parent);
	free(base);
	if (rc && access(s->tmp, F_OK) == 0 && access(s->final, F_OK) == 0)
		aq_fs_remove_tree(s->tmp, NULL);
	seal_release(s);
	return rc;
}

void aq_seal_abort(struct aq_seal *s)
{
	if (s->tmp)
		aq_fs_remove_tree(s->tmp, NULL);
	seal_release(s);
}
