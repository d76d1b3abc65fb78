/* localreg.c — the local registry folder (file:DIR): runs as JSON records, versions as directories, aliases as small files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "registry.h"

/* malloc'd "a/b/c" (c may be NULL). */
static char *path3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, c ? "%s/%s/%s" : "%s/%s", a, b, c);
	return p;
}

static int oom(struct aq_err *e) { return aq_err_set(e, AQ_ENOMEM, "out of memory"); }

int aq_localreg_open(struct aq_registry *r, const char *dir, struct aq_err *e)
{
	static const char *sub[] = {"runs", "staging", "versions", "aliases"};
	r->local = 1;
	r->dir = path3(dir, r->model, NULL);
	if (!r->dir)
		return oom(e);
	for (size_t i = 0; i < sizeof sub / sizeof *sub; i++) {
		char *p = path3(r->dir, sub[i], NULL);
		int rc = p ? aq_fs_mkdir_p(p, e) : oom(e);
		free(p);
		if (rc)
			return aq_err_prefix(e, "cannot make the local registry '%s'", dir);
	}
	return 0;
}

static int write_json(const char *path, json_t *j, struct aq_err *e)
{
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!s)
		return oom(e);
	size_t n = strlen(s);
	s[n] = '\n';
	int rc = aq_fs_write_atomic(path, s, n + 1, e);
	free(s);
	return rc;
}

static int read_json(const char *path, json_t **out, struct aq_err *e)
{
	json_error_t je;
	*out = json_load_file(path, 0, &je);
	if (*out)
		return 0;
	if (access(path, F_OK) != 0)
		return aq_err_set(e, AQ_ENOTFOUND, "'%s' not found", path);
	return aq_err_set(e, AQ_EFORMAT, "'%s' is not JSON: %s (line %d)", path, je.text, je.line);
}

static char *record_path(struct aq_registry *r, const char *key)
{
	char name[300];
	snprintf(name, sizeof name, "%s.json", key); /* key: at most 128 chars (aq_registry_begin) */
	return path3(r->dir, "runs", name);
}

/* The version directory holding key, by its version.json; AQ_ENOTFOUND when none. */
static int find_version(struct aq_registry *r, const char *key, char **version, int *max, struct aq_err *e)
{
	char *vd = path3(r->dir, "versions", NULL);
	DIR *d = vd ? opendir(vd) : NULL;
	struct dirent *de;
	int rc = AQ_ENOTFOUND;
	*max = 0;
	if (!d) {
		rc = vd ? aq_err_sys(e, "cannot list '%s'", vd) : oom(e);
		free(vd);
		return rc;
	}
	while ((de = readdir(d))) {
		char *end;
		long n = strtol(de->d_name, &end, 10);
		if (*end || n <= 0 || de->d_name[0] == '0')
			continue;
		if (n > *max)
			*max = (int)n;
		char *vj = path3(vd, de->d_name, "version.json");
		json_t *j = NULL;
		if (vj && !read_json(vj, &j, NULL) &&
		    !strcmp(json_string_value(json_object_get(j, "key")) ? json_string_value(json_object_get(j, "key")) : "", key) &&
		    rc == AQ_ENOTFOUND) {
			*version = strdup(de->d_name);
			rc = *version ? 0 : oom(e);
		}
		json_decref(j);
		free(vj);
	}
	closedir(d);
	free(vd);
	if (rc == AQ_ENOTFOUND)
		aq_err_set(e, rc, "no version of key '%s'", key);
	return rc;
}

int aq_localreg_begin(struct aq_registry *r, const char *key, json_t *tags, int64_t start_ms,
		      struct aq_registry_run *run, struct aq_err *e)
{
	char *rp = record_path(r, key);
	if (!rp)
		return oom(e);
	int rc = read_json(rp, &run->record, e);
	if (!rc) {
		run->resumed = 1;
		run->start_ms = json_integer_value(json_object_get(run->record, "start_time"));
		json_object_set_new(run->record, "status", json_string("RUNNING"));
	} else if (rc == AQ_ENOTFOUND) {
		run->record = json_pack("{s:s,s:s,s:I,s:s,s:O,s:{},s:{}}", "run_id", key, "key", key, "start_time",
					(json_int_t)start_ms, "status", "RUNNING", "tags", tags ? tags : json_object(),
					"params", "metrics");
		run->start_ms = start_ms;
		rc = run->record ? 0 : oom(e);
	}
	if (!rc)
		rc = write_json(rp, run->record, e);
	free(rp);
	if (rc)
		return rc;
	char name[300];
	snprintf(name, sizeof name, "%s.artifacts", key);
	run->run_id = strdup(key);
	run->run_uri = path3(r->dir, "runs", name);
	run->model_uri = path3(r->dir, "staging", key);
	if (!run->run_id || !run->run_uri || !run->model_uri)
		return oom(e);
	int max;
	rc = find_version(r, key, &run->version, &max, e);
	return rc == AQ_ENOTFOUND ? 0 : rc;
}

/* Merge src into record[field]; params may not change value (as MLflow). */
static int merge(json_t *record, const char *field, json_t *src, int fixed, struct aq_err *e)
{
	json_t *dst = json_object_get(record, field), *v;
	const char *k;
	json_object_foreach(src, k, v)
	{
		json_t *old = json_object_get(dst, k);
		if (fixed && old && !json_equal(old, v))
			return aq_err_set(e, AQ_ESTATE, "param '%s' already logged as '%s' (now '%s')", k,
					  json_string_value(old) ? json_string_value(old) : "?",
					  json_string_value(v) ? json_string_value(v) : "?");
		json_object_set(dst, k, v);
	}
	return 0;
}

static int save_record(struct aq_registry *r, struct aq_registry_run *run, struct aq_err *e)
{
	char *rp = record_path(r, run->key);
	int rc = rp ? write_json(rp, run->record, e) : oom(e);
	free(rp);
	return rc;
}

int aq_localreg_log(struct aq_registry *r, struct aq_registry_run *run, json_t *metrics, json_t *params,
		    json_t *tags, struct aq_err *e)
{
	int rc = merge(run->record, "params", params, 1, e);
	if (!rc)
		rc = merge(run->record, "metrics", metrics, 0, e);
	if (!rc)
		rc = merge(run->record, "tags", tags, 0, e);
	return rc ? rc : save_record(r, run, e);
}

int aq_localreg_copy(const char *from, const char *to, struct aq_err *e)
{
	char *dir = strdup(to), *slash = dir ? strrchr(dir, '/') : NULL;
	int rc = dir ? 0 : oom(e);
	if (slash) {
		*slash = '\0';
		rc = aq_fs_mkdir_p(dir, e);
	}
	free(dir);
	if (rc)
		return rc;
	int fd = open(from, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return aq_err_sys(e, "cannot open '%s'", from);
	struct aq_afile f;
	if ((rc = aq_afile_open(&f, to, e))) {
		close(fd);
		return rc;
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = aq_err_sys(e, "cannot read '%s'", from);
			break;
		}
		if (n == 0)
			break;
		if ((rc = aq_afile_write(&f, buf, (size_t)n, e)))
			break;
	}
	close(fd);
	if (rc) {
		aq_afile_abort(&f);
		return rc;
	}
	return aq_afile_commit(&f, e);
}

static int rel_ok(const char *rel, struct aq_err *e)
{
	if (!rel[0] || rel[0] == '/' || strstr(rel, ".."))
		return aq_err_set(e, AQ_EINVAL, "bad artifact path '%s'", rel);
	return 0;
}

int aq_localreg_put(struct aq_registry *r, struct aq_registry_run *run, int to_model, const char *rel,
		    const char *file, struct aq_err *e)
{
	if (rel_ok(rel, e))
		return AQ_EINVAL;
	char *to = aq_path_join(to_model ? run->model_uri : run->run_uri, rel);
	int rc = to ? aq_localreg_copy(file, to, e) : oom(e);
	free(to);
	return rc;
}

int aq_localreg_commit(struct aq_registry *r, struct aq_registry_run *run, json_t *vtags, struct aq_err *e)
{
	int rc = 0, max = 0;
	if (!run->version) {
		json_t *vj = json_pack("{s:s,s:s,s:o}", "key", run->key, "run_id", run->run_id, "tags",
				       vtags ? json_incref(vtags) : json_object());
		char *p = aq_path_join(run->model_uri, "version.json");
		rc = vj && p ? write_json(p, vj, e) : oom(e);
		free(p);
		json_decref(vj);
		if (!rc)
			rc = find_version(r, run->key, &run->version, &max, e);
		if (rc == AQ_ENOTFOUND) {
			/* staging/<key> → versions/<max+1>; a concurrent writer taking N makes the rename fail: N+1 */
			char *vd = path3(r->dir, "versions", NULL);
			rc = vd ? 0 : oom(e);
			for (int n = max + 1; !rc; n++) {
				char num[24];
				snprintf(num, sizeof num, "%d", n);
				char *to = path3(vd, num, NULL);
				if (!to) {
					rc = oom(e);
					break;
				}
				if (rename(run->model_uri, to) == 0) {
					free(to);
					run->version = strdup(num);
					rc = run->version ? aq_fs_fsync_dir(vd, e) : oom(e);
					break;
				}
				int err = errno;
				free(to);
				if (err != EEXIST && err != ENOTEMPTY)
					rc = aq_err_sys(e, "cannot move '%s' into '%s'", run->model_uri, vd);
			}
			free(vd);
		}
	}
	if (!rc) {
		json_object_set_new(run->record, "version", json_string(run->version));
		rc = save_record(r, run, e);
	}
	return rc;
}

int aq_localreg_alias_set(struct aq_registry *r, const char *alias, const char *version, struct aq_err *e)
{
	char *p = path3(r->dir, "aliases", alias);
	json_t *j = json_pack("{s:s}", "version", version);
	int rc = p && j ? write_json(p, j, e) : oom(e);
	json_decref(j);
	free(p);
	return rc;
}

int aq_localreg_finish(struct aq_registry *r, struct aq_registry_run *run, int ok, struct aq_err *e)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(run->record, "status", json_string(ok ? "FINISHED" : "FAILED"));
	json_object_set_new(run->record, "end_time", json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	return save_record(r, run, e);
}

int aq_localreg_resolve(struct aq_registry *r, const char *alias, struct aq_registry_version *v, struct aq_err *e)
{
	char *p = path3(r->dir, "aliases", alias);
	json_t *a = NULL, *vj = NULL;
	if (!p)
		return oom(e);
	int rc = read_json(p, &a, e);
	free(p);
	if (rc == AQ_ENOTFOUND)
		return aq_err_set(e, rc, "alias '%s' of registered model '%s' not found in '%s'", alias, r->model, r->uri);
	if (rc)
		return rc;
	const char *ver = json_string_value(json_object_get(a, "version"));
	if (!ver || strchr(ver, '/'))
		rc = aq_err_set(e, AQ_EFORMAT, "alias file of '%s' has no version", alias);
	if (!rc) {
		v->version = strdup(ver);
		v->location = path3(r->dir, "versions", ver);
		char *vp = v->location ? aq_path_join(v->location, "version.json") : NULL;
		rc = vp ? read_json(vp, &vj, e) : oom(e);
		free(vp);
	}
	if (!rc) {
		const char *run = json_string_value(json_object_get(vj, "run_id"));
		v->run_id = run ? strdup(run) : NULL;
		v->source = strdup(v->location);
		v->tags = json_incref(json_object_get(vj, "tags"));
		if (!v->tags)
			v->tags = json_object();
	}
	json_decref(a);
	json_decref(vj);
	return rc;
}

int aq_localreg_fetch(struct aq_registry *r, const struct aq_registry_version *v, const char *rel, const char *file,
		      struct aq_err *e)
{
	if (rel_ok(rel, e))
		return AQ_EINVAL;
	char *from = aq_path_join(v->location, rel);
	int rc = from ? 0 : oom(e);
	if (!rc && access(from, F_OK) != 0)
		rc = aq_err_set(e, AQ_ENOTFOUND, "artifact '%s' of version %s not found", rel, v->version);
	if (!rc)
		rc = aq_localreg_copy(from, file, e);
	free(from);
	return rc;
}
