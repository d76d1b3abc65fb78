/* register.c — the register job: read an evaluation, log it as a run, upload the version's files, version, alias. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "date.h"
#include "digest.h"
#include "fs.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "parquet.h"
#include "pyfunc.h"
#include "register.h"
#include "registry.h"
#ifdef AQ_HAVE_MANIFEST
#include "manifest.h"
#endif

void aq_register_opts_default(struct aq_register_opts *o)
{
	memset(o, 0, sizeof *o);
	o->experiment = "aquacast";
	o->model = "aquacast-water-forecast";
	o->mlflow_req = "mlflow==3.17.2";
	aq_http_opts_default(&o->http);
}

/* The files of a version: path in the version, local file, bytes, sha256. */
struct file {
	char *rel, *local;
	uint64_t bytes;
	char sha[AQ_SHA256_HEX];
};

struct files {
	struct file *v;
	size_t n, cap;
};

static void files_release(struct files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].rel);
		free(f->v[i].local);
	}
	free(f->v);
	memset(f, 0, sizeof *f);
}

static int files_add(struct files *f, const char *rel, const char *local, struct aq_err *e)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct file *v = realloc(f->v, cap * sizeof *v);
		if (!v)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		f->v = v;
		f->cap = cap;
	}
	struct file *x = &f->v[f->n];
	memset(x, 0, sizeof *x);
	x->rel = strdup(rel);
	x->local = strdup(local);
	if (!x->rel || !x->local) {
		free(x->rel);
		free(x->local);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	f->n++;
	return aq_sha256_file(local, x->sha, &x->bytes, e);
}

/* Every regular file under dir (dot-files skipped) as prefix/<relative path>. */
static int files_walk(struct files *f, const char *dir, const char *prefix, struct aq_err *e)
{
	DIR *d = opendir(dir);
	if (!d)
		return aq_err_sys(e, "cannot list '%s'", dir);
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *local = aq_path_join(dir, de->d_name), *rel = aq_path_join(prefix, de->d_name);
		struct stat st;
		if (!local || !rel)
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		else if (stat(local, &st))
			rc = aq_err_sys(e, "cannot stat '%s'", local);
		else if (S_ISDIR(st.st_mode))
			rc = files_walk(f, local, rel, e);
		else if (S_ISREG(st.st_mode))
			rc = files_add(f, rel, local, e);
		free(local);
		free(rel);
	}
	closedir(d);
	return rc;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->rel, ((const struct file *)b)->rel);
}

static json_t *files_manifest(const struct files *f, const char *model, const char *key, const char *created)
{
	json_t *a = json_array();
	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:I,s:s}", "path", f->v[i].rel, "bytes",
						   (json_int_t)f->v[i].bytes, "sha256", f->v[i].sha));
	return json_pack("{s:s,s:i,s:s,s:s,s:s,s:o}", "format", "aquacast.register-manifest", "version", 1, "model",
			 model, "key", key, "created", created, "files", a);
}

static int load_json_file(const char *path, const char *what, json_t **out, struct aq_err *e)
{
	json_error_t je;
	*out = json_load_file(path, 0, &je);
	if (*out && json_is_object(*out))
		return 0;
	int missing = !*out && access(path, F_OK) != 0;
	json_decref(*out);
	*out = NULL;
	if (missing)
		return aq_err_set(e, AQ_ENOTFOUND, "%s '%s' not found", what, path);
	return aq_err_set(e, AQ_EFORMAT, "%s '%s' is not a JSON object: %s (line %d)", what, path, je.text, je.line);
}

/* The last non-empty line of a job's stdout (its JSON summary). */
static int load_summary_line(const char *name, const char *path, json_t **out, struct aq_err *e)
{
	char *buf;
	size_t len;
	int rc = aq_fs_read_all(path, &buf, &len, e);
	if (rc)
		return aq_err_prefix(e, "summary '%s'", name);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	char *line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	json_error_t je;
	*out = json_loads(line, 0, &je);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = aq_err_set(e, AQ_EFORMAT, "summary '%s' ('%s'): the last line is not a JSON object: %s", name, path,
				je.text);
	}
	free(buf);
	return rc;
}

/* Numeric leaves of j as metrics prefix.a.b (bools and strings skipped; NaN is dropped by jansson anyway). */
static void flatten(json_t *metrics, const char *prefix, json_t *j, int depth)
{
	const char *k;
	json_t *v;
	if (depth > 4)
		return;
	json_object_foreach(j, k, v)
	{
		char key[250];
		snprintf(key, sizeof key, "%s.%s", prefix, k);
		if (json_is_object(v))
			flatten(metrics, key, v, depth + 1);
		else if (json_is_number(v) && isfinite(json_number_value(v)))
			json_object_set_new(metrics, key, json_real(json_number_value(v)));
	}
}

static double num(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void metric(json_t *m, const char *k, double v)
{
	if (isfinite(v))
		json_object_set_new(m, k, json_real(v));
}

/* The three timings under stable names, next to everything numeric of each summary. */
static void timing_metrics(json_t *m, json_t *const *sum, const char *const *names, int n)
{
	for (int i = 0; i < n; i++) {
		json_t *s = sum[i];
		flatten(m, names[i], s, 0);
		double sec = num(s, "seconds"), rows = num(s, "rows"), acc = num(s, "accounts");
		const char *stage = !strcmp(names[i], "extract") ? "fetch" : names[i];
		char k[64];
		snprintf(k, sizeof k, "%s_seconds", stage);
		metric(m, k, sec);
		snprintf(k, sizeof k, "%s_rows", stage);
		metric(m, k, rows);
		snprintf(k, sizeof k, "%s_accounts", stage);
		metric(m, k, acc);
		snprintf(k, sizeof k, "%s_rows_per_s", stage);
		metric(m, k, sec > 0 ? rows / sec : NAN);
		snprintf(k, sizeof k, "%s_accounts_per_s", stage);
		metric(m, k, sec > 0 ? acc / sec : NAN);
	}
}

/* What the model set holds: accounts by status, TrainedUntil range, the series rule. */
struct setinfo {
	uint64_t accounts, ok, fallback, failed;
	int32_t tu_min, tu_max;
	char *clean_rule;
	int parts;
};

static int scan_set(const char *dir, struct setinfo *si, struct aq_err *e)
{
	struct aq_dataset ds;
	memset(si, 0, sizeof *si);
	si->tu_min = INT32_MAX;
	si->tu_max = INT32_MIN;
	int rc = aq_dataset_open(&ds, dir, e);
	if (rc)
		return aq_err_prefix(e, "model set '%s'", dir);
	if (strcmp(ds.kind, "models")) {
		rc = aq_err_set(e, AQ_EFORMAT, "'%s' is a '%s' dataset, not a model set", dir, ds.kind);
		aq_dataset_release(&ds);
		return rc;
	}
	si->parts = ds.parts;
	struct aq_model_part p;
	aq_model_part_init(&p);
	for (int i = 0; !rc && i < ds.parts; i++) {
		if ((rc = aq_model_read_part(&ds, i, &p, e)))
			break;
		for (size_t j = 0; j < p.n; j++) {
			const struct aq_model_row *r = &p.rows[j];
			si->accounts++;
			si->ok += r->status == AQ_MODEL_OK;
			si->fallback += r->status == AQ_MODEL_FALLBACK;
			si->failed += r->status == AQ_MODEL_FAILED;
			if (r->trained_until < si->tu_min)
				si->tu_min = r->trained_until;
			if (r->trained_until > si->tu_max)
				si->tu_max = r->trained_until;
			if (!si->clean_rule && r->clean_rule && r->clean_rule[0])
				si->clean_rule = strdup(r->clean_rule);
		}
		aq_model_part_release(&p);
		aq_model_part_init(&p);
	}
	aq_model_part_release(&p);
	aq_dataset_release(&ds);
	if (!rc && si->accounts == 0)
		rc = aq_err_set(e, AQ_EFORMAT, "model set '%s' has no rows", dir);
	return rc;
}

/*
 * WAPE and interval coverage of the served forecaster on the new days, per
 * account, from the evaluation's metrics dataset (docs/formats.md,
 * "Evaluation output"): rows with Scope "new", Status "ok" and Forecaster
 * equal to the account's Served. Aggregated over accounts (lib/metrics.h).
 */
struct served_new {
	struct aq_agg wape, cov80, cov95;
};

struct dvec {
	double *v;
	size_t n, cap;
};

static int dvec_push(struct dvec *d, double x, struct aq_err *e)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 1024;
		double *v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = x;
	return 0;
}

static int bytes_eq(const struct aq_pq_bytes *b, size_t i, const char *s)
{
	size_t n = (size_t)(b->off[i + 1] - b->off[i]);
	return n == strlen(s) && !memcmp(b->data + b->off[i], s, n);
}

static int bytes_eq2(const struct aq_pq_bytes *a, const struct aq_pq_bytes *b, size_t i)
{
	size_t n = (size_t)(a->off[i + 1] - a->off[i]);
	return n == (size_t)(b->off[i + 1] - b->off[i]) && !memcmp(a->data + a->off[i], b->data + b->off[i], n);
}

/* One metrics file: the served rows on new days into v[0..2] (WAPE, Cov80, Cov95). */
static int served_new_file(const char *path, struct dvec *v, struct aq_err *e)
{
	static const char *const bcol[] = {"Scope", "Status", "Forecaster", "Served"};
	static const char *const dcol[] = {"WAPE", "Cov80", "Cov95"};
	struct aq_pq_reader r;
	int rc = aq_pq_reader_open(&r, path, e), ci[7];
	if (rc)
		return rc;
	for (int c = 0; c < 7 && !rc; c++) {
		const char *name = c < 4 ? bcol[c] : dcol[c - 4];
		if ((ci[c] = aq_pq_reader_col(&r, name)) < 0)
			rc = aq_err_set(e, AQ_EFORMAT, "metrics file '%s' has no column '%s'", path, name);
	}
	for (int g = 0; !rc && g < r.nrow_groups; g++) {
		size_t n = (size_t)aq_pq_reader_rg_rows(&r, g);
		struct aq_pq_bytes b[4];
		double *d[3] = {malloc(n * sizeof(double) + 1), malloc(n * sizeof(double) + 1),
				malloc(n * sizeof(double) + 1)};
		int nb = 0;
		memset(b, 0, sizeof b);
		if (!d[0] || !d[1] || !d[2])
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		for (; !rc && nb < 4; nb++)
			rc = aq_pq_reader_read(&r, g, ci[nb], &b[nb], e);
		for (int c = 0; !rc && c < 3; c++)
			rc = aq_pq_reader_read(&r, g, ci[4 + c], d[c], e);
		for (size_t i = 0; !rc && i < n; i++) {
			if (!bytes_eq(&b[0], i, "new") || !bytes_eq(&b[1], i, "ok") || !bytes_eq2(&b[2], &b[3], i))
				continue;
			for (int c = 0; !rc && c < 3; c++)
				rc = dvec_push(&v[c], d[c][i], e);
		}
		for (int k = 0; k < nb; k++)
			aq_pq_bytes_free(&b[k]);
		for (int c = 0; c < 3; c++)
			free(d[c]);
	}
	aq_pq_reader_release(&r);
	return rc;
}

static int served_new_metrics(const char *dir, struct served_new *out, struct aq_err *e)
{
	struct aq_dataset ds;
	struct dvec v[3];
	memset(v, 0, sizeof v);
	int rc = aq_dataset_open(&ds, dir, e);
	if (rc)
		return aq_err_prefix(e, "metrics set '%s'", dir);
	for (int p = 0; !rc && p < ds.parts; p++) {
		char **paths;
		int n;
		if ((rc = aq_dataset_list_part(&ds, p, &paths, &n, e)))
			break;
		for (int i = 0; !rc && i < n; i++)
			rc = served_new_file(paths[i], v, e);
		aq_paths_free(paths, n);
	}
	aq_dataset_release(&ds);
	if (!rc)
		rc = aq_agg_compute(v[0].v, NULL, v[0].n, &out->wape, e);
	if (!rc)
		rc = aq_agg_compute(v[1].v, NULL, v[1].n, &out->cov80, e);
	if (!rc)
		rc = aq_agg_compute(v[2].v, NULL, v[2].n, &out->cov95, e);
	for (int c = 0; c < 3; c++)
		free(v[c].v);
	return rc;
}

/* Refuse an unsealed set once sealing exists (lib/manifest.h); until then, check it is a readable dataset. */
static int check_sealed(const char *dir, const char *kind, struct aq_err *e)
{
#ifdef AQ_HAVE_MANIFEST
	struct aq_manifest m;
	aq_manifest_init(&m);
	int rc = aq_manifest_check(dir, kind, 0, &m, e);
	aq_manifest_release(&m);
	return rc;
#else
	struct aq_dataset ds;
	int rc = aq_dataset_open(&ds, dir, e);
	if (rc)
		return aq_err_prefix(e, "%s set '%s'", kind, dir);
	if (strcmp(ds.kind, kind))
		rc = aq_err_set(e, AQ_EFORMAT, "'%s' is a '%s' dataset, not '%s'", dir, ds.kind, kind);
	aq_dataset_release(&ds);
	return rc;
#endif
}

/* Everything read from the evaluation before talking to the registry: nothing is half-registered on bad input. */
struct job {
	json_t *decision, *summary, *sums[8];
	json_t *train_meta;        /* the challenger set's manifest meta (train's options), when readable */
	const char *names[8];
	int nsums;
	struct setinfo si;
	struct served_new sn;
	struct files files;
	char *models, *metrics, *tmp;
	char key[65], created[40];
	int promoted;
};

static void job_release(struct job *j)
{
	json_decref(j->decision);
	json_decref(j->summary);
	json_decref(j->train_meta);
	for (int i = 0; i < j->nsums; i++)
		json_decref(j->sums[i]);
	free(j->si.clean_rule);
	files_release(&j->files);
	if (j->tmp) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "%s/code/aquacast_pyfunc.py", j->tmp);
		unlink(cmd);
		snprintf(cmd, sizeof cmd, "%s/code", j->tmp);
		rmdir(cmd);
		const char *names[] = {AQ_PYFUNC_MLMODEL, "python_env.yaml", "requirements.txt", AQ_REGISTER_MANIFEST};
		for (size_t i = 0; i < 4; i++) {
			snprintf(cmd, sizeof cmd, "%s/%s", j->tmp, names[i]);
			unlink(cmd);
		}
		rmdir(j->tmp);
	}
	free(j->tmp);
	free(j->models);
	free(j->metrics);
}

static int job_read(const struct aq_register_opts *o, struct job *j, struct aq_err *e)
{
	char *p = aq_path_join(o->eval_dir, "decision.json");
	int rc = p ? load_json_file(p, "decision", &j->decision, e) : AQ_ENOMEM;
	free(p);
	if (rc)
		return rc;
	json_t *pr = json_object_get(j->decision, "promoted");
	const char *fmt = json_string_value(json_object_get(j->decision, "format"));
	if (!fmt || strcmp(fmt, "aquacast.decision") || json_integer_value(json_object_get(j->decision, "version")) != 1 ||
	    !json_is_boolean(pr))
		return aq_err_set(e, AQ_EFORMAT, "decision '%s/decision.json' is not an aquacast.decision v1 with 'promoted'",
				  o->eval_dir);
	j->promoted = json_is_true(pr);
	p = aq_path_join(o->eval_dir, "summary.json");
	rc = p ? load_json_file(p, "evaluation summary", &j->summary, e) : AQ_ENOMEM;
	free(p);
	for (int i = 0; !rc && i < o->nsummaries; i++) {
		j->names[i] = o->summary_names[i];
		rc = load_summary_line(o->summary_names[i], o->summary_files[i], &j->sums[i], e);
		if (!rc)
			j->nsums++;
	}
	/* evaluate's own line is summary.json's head: use it when --summary evaluate=… is not given */
	int have_eval = 0;
	for (int i = 0; i < j->nsums; i++)
		have_eval |= !strcmp(j->names[i], "evaluate");
	if (!rc && !have_eval && j->nsums < 8) {
		j->names[j->nsums] = "evaluate";
		j->sums[j->nsums++] = json_incref(j->summary);
	}
	j->models = aq_path_join(o->eval_dir, "models");
	j->metrics = aq_path_join(o->eval_dir, "metrics");
	if (!rc && (!j->models || !j->metrics))
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
#ifdef AQ_HAVE_MANIFEST
	if (!rc)
		rc = check_sealed(o->eval_dir, "evaluation", e);
#endif
	if (!rc)
		rc = check_sealed(j->models, "models", e);
	if (!rc)
		rc = check_sealed(j->metrics, "metrics", e);
	if (!rc)
		rc = scan_set(j->models, &j->si, e);
	if (!rc)
		rc = served_new_metrics(j->metrics, &j->sn, e);
	/* train's options as sealed with the challenger set: the params when no train summary is given */
	const char *ch = json_string_value(json_object_get(j->decision, "challenger"));
	char *mp = !rc && ch ? aq_path_join(ch, "_manifest.json") : NULL;
	json_t *man = mp ? json_load_file(mp, 0, NULL) : NULL;
	if (man && json_is_object(json_object_get(man, "meta")))
		j->train_meta = json_incref(json_object_get(man, "meta"));
	json_decref(man);
	free(mp);
	return rc;
}

/*
 * The version's data files, each hashed once (the key and the upload manifest take these digests):
 * the models and metrics sets, decision.json, summary.json, the .so; the key from the data's digests.
 */
static int job_data_files(const struct aq_register_opts *o, struct job *j, struct aq_err *e)
{
	files_release(&j->files);
	int rc = files_walk(&j->files, j->models, "data/models", e);
	if (!rc)
		rc = files_walk(&j->files, j->metrics, "data/metrics", e);
	char *p = aq_path_join(o->eval_dir, "decision.json");
	if (!rc)
		rc = p ? files_add(&j->files, "data/decision.json", p, e) : AQ_ENOMEM;
	free(p);
	p = aq_path_join(o->eval_dir, "summary.json");
	if (!rc)
		rc = p ? files_add(&j->files, "data/summary.json", p, e) : AQ_ENOMEM;
	free(p);
	if (!rc && o->libso)
		rc = files_add(&j->files, "data/lib/libaquacast.so", o->libso, e);
	if (rc)
		return rc;
	qsort(j->files.v, j->files.n, sizeof *j->files.v, cmp_file);
	/* key: sha256 of the data files' paths and digests (the .so and summary.json excluded) */
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (size_t i = 0; buf && i < j->files.n; i++) {
		const struct file *f = &j->files.v[i];
		if (!strncmp(f->rel, "data/lib/", 9) || !strcmp(f->rel, "data/summary.json"))
			continue;
		size_t need = strlen(f->rel) + 70;
		if (len + need > cap) {
			char *b = realloc(buf, cap *= 2);
			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
		}
		len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\n", f->rel, f->sha);
	}
	char hex[AQ_SHA256_HEX];
	rc = buf ? aq_sha256_buf(buf, len, hex, e) : aq_err_set(e, AQ_ENOMEM, "out of memory");
	free(buf);
	if (!rc && !o->key)
		snprintf(j->key, sizeof j->key, "%.32s", hex);
	return rc;
}

/* The MLflow scaffold of the run (MLmodel, python_env.yaml, requirements.txt, the loader) added to the data files. */
static int job_scaffold_files(const struct aq_register_opts *o, struct job *j, const char *run_id,
			      const char *model_id, struct aq_err *e)
{
	struct aq_pyfunc_meta pm = {.run_id = run_id, .model_id = model_id, .mlflow_req = o->mlflow_req,
				    .python_version = "3.11", .created = j->created};
	int rc = aq_pyfunc_write(j->tmp, &pm, e);
	if (rc)
		return rc;
	const char *scaffold[] = {AQ_PYFUNC_MLMODEL, "python_env.yaml", "requirements.txt", AQ_PYFUNC_CODE};
	for (size_t i = 0; !rc && i < 4; i++) {
		char *l = aq_path_join(j->tmp, scaffold[i]);
		rc = l ? files_add(&j->files, scaffold[i], l, e) : AQ_ENOMEM;
		free(l);
	}
	if (!rc)
		qsort(j->files.v, j->files.n, sizeof *j->files.v, cmp_file);
	return rc;
}

static void set_s(json_t *o, const char *k, const char *v)
{
	if (v && v[0])
		json_object_set_new(o, k, json_string(v));
}

static void set_num_s(json_t *o, const char *k, json_t *v)
{
	char b[64];
	if (json_is_integer(v))
		snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(b, sizeof b, "%.10g", json_real_value(v));
	else if (json_is_string(v))
		snprintf(b, sizeof b, "%.60s", json_string_value(v));
	else if (json_is_boolean(v))
		snprintf(b, sizeof b, "%s", json_is_true(v) ? "true" : "false");
	else
		return;
	json_object_set_new(o, k, json_string(b));
}

/* Every key of obj as the string value "<prefix>.<key>" of dst (tags or params). */
static void set_prefixed(json_t *dst, const char *prefix, json_t *obj)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		char key[128];
		snprintf(key, sizeof key, "%s.%s", prefix, k);
		set_num_s(dst, key, v);
	}
}

static json_t *job_summary(struct job *j, const char *name)
{
	for (int i = 0; i < j->nsums; i++)
		if (!strcmp(j->names[i], name))
			return j->sums[i];
	return NULL;
}

static void job_tags(const struct aq_register_opts *o, struct job *j, json_t *tags, json_t *params, json_t *metrics)
{
	char host[256] = "", d0[AQ_DATE_STRLEN], d1[AQ_DATE_STRLEN];
	gethostname(host, sizeof host - 1);
	set_s(tags, "mlflow.source.name", "aquacast-register");
	set_s(tags, "mlflow.source.type", "JOB");
	/* MLflow's commit tag only for a clean build: a "-dirty" one is no commit */
	if (o->git_revision && !strstr(o->git_revision, "-dirty"))
		set_s(tags, "mlflow.source.git.commit", o->git_revision);
	set_s(tags, "aquacast.git_revision", o->git_revision);
	set_s(tags, "aquacast.host", host);
	set_s(tags, "aquacast.eval_dir", o->eval_dir);
	const char *air = o->airflow_run_id ? o->airflow_run_id : getenv("AIRFLOW_CTX_DAG_RUN_ID");
	set_s(tags, "aquacast.airflow_run_id", air);
	set_s(tags, "aquacast.trained_until", aq_date_format(j->si.tu_max, d1));
	set_s(tags, "aquacast.trained_until_min", aq_date_format(j->si.tu_min, d0));
	set_s(tags, "aquacast.promoted", j->promoted ? "true" : "false");
	json_t *ex = job_summary(j, "extract"), *tr = job_summary(j, "train");
	set_num_s(tags, "aquacast.watermark", json_object_get(ex, "watermark"));
	set_num_s(tags, "aquacast.mode", json_object_get(tr, "mode"));
	/* params: what the run was made with */
	set_num_s(params, "train.mode", json_object_get(tr, "mode"));
	set_num_s(params, "train.season", json_object_get(tr, "season"));
	set_num_s(params, "train.threads", json_object_get(tr, "threads"));
	/* the search space and the series rule: train's summary, else the challenger set's manifest */
	static const char *const space[] = {"max_p", "max_q", "max_P", "max_Q", "min_obs", "window", "hampel_t"};
	for (size_t i = 0; i < sizeof space / sizeof *space; i++) {
		char key[64];
		snprintf(key, sizeof key, "train.%s", space[i]);
		json_t *v = json_object_get(tr, space[i]);
		set_num_s(params, key, v ? v : json_object_get(j->train_meta, space[i]));
	}
	set_num_s(params, "extract.mode", json_object_get(ex, "mode"));
	set_s(params, "series.clean_rule", j->si.clean_rule);
	char parts[16];
	snprintf(parts, sizeof parts, "%d", j->si.parts);
	set_s(params, "dataset.parts", parts);
	set_prefixed(params, "gate", json_object_get(j->decision, "options"));
	/* metrics */
	timing_metrics(metrics, j->sums, j->names, j->nsums);
	metric(metrics, "accounts", (double)j->si.accounts);
	metric(metrics, "accounts_ok", (double)j->si.ok);
	metric(metrics, "accounts_fallback", (double)j->si.fallback);
	metric(metrics, "accounts_failed", (double)j->si.failed);
	metric(metrics, "promoted", j->promoted);
	flatten(metrics, "decision", json_object_get(j->decision, "accounts"), 0);
	flatten(metrics, "decision", json_object_get(j->decision, "aggregate"), 0);
	json_t *mase = json_object_get(j->summary, "mase"), *v;
	const char *k;
	json_object_foreach(mase, k, v)
	{
		char key[128];
		snprintf(key, sizeof key, "mase_%s_mean", k);
		metric(metrics, key, num(v, "mean"));
		snprintf(key, sizeof key, "mase_%s_median", k);
		metric(metrics, key, num(v, "median"));
	}
	/* the served forecaster on the new days, over accounts: WAPE (mean, median), 80/95% coverage (mean) */
	metric(metrics, "wape_served_mean", j->sn.wape.mean);
	metric(metrics, "wape_served_median", j->sn.wape.median);
	metric(metrics, "wape_served_accounts", (double)j->sn.wape.n);
	metric(metrics, "cov80_served_mean", j->sn.cov80.mean);
	metric(metrics, "cov95_served_mean", j->sn.cov95.mean);
	metric(metrics, "anomalies_flagged", num(json_object_get(j->summary, "anomalies"), "count"));
}

static void version_tags(struct job *j, json_t *vt, const char *run_id)
{
	set_s(vt, "aquacast.promoted", j->promoted ? "true" : "false");
	set_s(vt, "aquacast.run_id", run_id);
	set_prefixed(vt, "decision.accounts", json_object_get(j->decision, "accounts"));
	set_prefixed(vt, "decision", json_object_get(j->decision, "aggregate"));
	json_t *reasons = json_object_get(j->decision, "reasons");
	char *s = reasons ? json_dumps(reasons, JSON_COMPACT) : strdup("[]");
	if (s && strlen(s) < 5000)
		set_s(vt, "decision.reasons", s);
	free(s);
	char acc[32];
	snprintf(acc, sizeof acc, "%llu", (unsigned long long)j->si.accounts);
	set_s(vt, "aquacast.accounts", acc);
}

/* Upload every file of the version, then the manifest last; small files also to the run. */
static int job_upload(struct aq_registry *r, struct aq_registry_run *run, struct job *j, struct aq_register_stats *st,
		      struct aq_err *e)
{
	int rc = 0;
	aq_info("uploading %zu files to '%s'", j->files.n, run->model_uri);
	for (size_t i = 0; !rc && i < j->files.n; i++) {
		rc = aq_registry_put(r, run, 1, j->files.v[i].rel, j->files.v[i].local, e);
		st->files++;
		st->bytes += j->files.v[i].bytes;
	}
	if (rc)
		return rc;
	json_t *m = files_manifest(&j->files, r->model, run->key, j->created);
	char *mp = aq_path_join(j->tmp, AQ_REGISTER_MANIFEST);
	rc = m && mp ? 0 : aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!rc && json_dump_file(m, mp, JSON_INDENT(1)))
		rc = aq_err_sys(e, "cannot write '%s'", mp);
	json_decref(m);
	if (!rc)
		rc = aq_registry_put(r, run, 1, AQ_REGISTER_MANIFEST, mp, e);
	if (!rc)
		rc = aq_registry_put(r, run, 0, AQ_REGISTER_MANIFEST, mp, e);
	for (size_t i = 0; !rc && i < j->files.n; i++)
		if (!strcmp(j->files.v[i].rel, "data/decision.json") || !strcmp(j->files.v[i].rel, "data/summary.json"))
			rc = aq_registry_put(r, run, 0, j->files.v[i].rel + 5, j->files.v[i].local, e);
	free(mp);
	return rc;
}

static int job_registry(const struct aq_register_opts *o, struct job *j, struct aq_register_stats *st,
			struct aq_err *e)
{
	struct aq_registry r;
	struct aq_registry_run run;
	aq_registry_run_init(&run);
	int rc = aq_registry_open(&r, o->uri, o->experiment, o->model, &o->http, e);
	if (rc)
		return rc;
	json_t *tags = json_object(), *params = json_object(), *metrics = json_object(), *vt = json_object();
	job_tags(o, j, tags, params, metrics);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	char name[64];
	snprintf(name, sizeof name, "register-%.12s", j->key);
	rc = aq_registry_begin(&r, j->key, name, tags, now, &run, e);
	int begun = !rc;
	if (!rc) {
		st->resumed = run.resumed;
		snprintf(st->run_id, sizeof st->run_id, "%s", run.run_id);
		rc = aq_registry_log(&r, &run, metrics, params, tags, e);
	}
	if (!rc && run.version)
		aq_info("version %s of key %s exists already: files not uploaded again", run.version, j->key);
	if (!rc && !run.version) {
		rc = job_scaffold_files(o, j, run.run_id, run.model_id, e); /* the data files' digests are kept */
		if (!rc)
			rc = job_upload(&r, &run, j, st, e);
	}
	if (!rc) {
		version_tags(j, vt, run.run_id);
		rc = aq_registry_commit(&r, &run, vt, e);
	}
	if (!rc) {
		snprintf(st->version, sizeof st->version, "%s", run.version);
		snprintf(st->alias, sizeof st->alias, "%s", j->promoted ? "champion" : "challenger");
		rc = aq_registry_alias_set(&r, st->alias, run.version, e);
	}
	if (!rc) {
		json_t *t = json_pack("{s:s,s:s}", "aquacast.version", run.version, "aquacast.alias", st->alias);
		rc = aq_registry_log(&r, &run, NULL, NULL, t, e);
		json_decref(t);
	}
	if (begun) {
		struct aq_err e2 = {0};
		if (aq_registry_finish(&r, &run, rc == 0, rc ? &e2 : e) && !rc)
			rc = e->code;
		else if (rc && e2.code)
			aq_warn("cannot mark the run failed: %s", e2.msg);
	}
	json_decref(tags);
	json_decref(params);
	json_decref(metrics);
	json_decref(vt);
	aq_registry_run_release(&run);
	aq_registry_release(&r);
	return rc;
}

int aq_register_run(const struct aq_register_opts *o, struct aq_register_stats *st, struct aq_err *e)
{
	double t0 = aq_now();
	struct job j;
	memset(&j, 0, sizeof j);
	memset(st, 0, sizeof *st);
	if (!o->uri || !o->eval_dir)
		return aq_err_set(e, AQ_EINVAL, "register needs a tracking uri and an evaluation directory");
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(j.created, sizeof j.created, "%Y-%m-%d %H:%M:%S.000000", &tm);
	const char *td = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof tmpl, "%s/aquacast-register.XXXXXX", td && td[0] ? td : "/tmp");
	int rc = job_read(o, &j, e);
	if (!rc && !mkdtemp(tmpl))
		rc = aq_err_sys(e, "cannot make a temp dir '%s'", tmpl);
	if (!rc && !(j.tmp = strdup(tmpl)))
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!rc && o->key)
		snprintf(j.key, sizeof j.key, "%.64s", o->key);
	if (!rc)
		rc = job_data_files(o, &j, e); /* digests: the key, and bad files found before any call */
	if (!rc) {
		snprintf(st->key, sizeof st->key, "%s", j.key);
		st->promoted = j.promoted;
		rc = job_registry(o, &j, st, e);
	}
	job_release(&j);
	st->seconds = aq_now() - t0;
	return rc;
}

static json_t *version_json(const char *alias, const struct aq_registry_version *v)
{
	json_t *j = json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:O?}", "alias", alias, "version", v->version, "run_id",
			      v->run_id, "source", v->source, "location", v->location, "tags", v->tags);
	return j;
}

int aq_register_resolve(const char *uri, const char *model, const char *alias, const struct aq_http_opts *h,
			json_t **out, struct aq_err *e)
{
	struct aq_registry r;
	struct aq_registry_version v;
	aq_registry_version_init(&v);
	int rc = aq_registry_open(&r, uri, NULL, model, h, e);
	if (rc)
		return rc;
	rc = aq_registry_resolve(&r, alias, &v, e);
	if (!rc)
		*out = version_json(alias, &v);
	aq_registry_version_release(&v);
	aq_registry_release(&r);
	return rc;
}

/* Every file of the manifest into tmp, checked; AQ_EFORMAT on a mismatch. */
static int fetch_all(struct aq_registry *r, const struct aq_registry_version *v, json_t *man, const char *tmp,
		     uint64_t *bytes, struct aq_err *e)
{
	size_t i;
	json_t *f;
	int rc = 0;
	json_t *files = json_object_get(man, "files");
	if (!json_is_array(files) || json_array_size(files) == 0)
		return aq_err_set(e, AQ_EFORMAT, "manifest of version %s lists no files", v->version);
	json_array_foreach(files, i, f)
	{
		const char *rel = json_string_value(json_object_get(f, "path"));
		const char *sha = json_string_value(json_object_get(f, "sha256"));
		json_int_t want = json_integer_value(json_object_get(f, "bytes"));
		if (!rel || !sha || strstr(rel, "..") || rel[0] == '/')
			return aq_err_set(e, AQ_EFORMAT, "manifest of version %s: bad entry %zu", v->version, i);
		char *local = aq_path_join(tmp, rel), *slash;
		if (!local)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		slash = strrchr(local, '/');
		*slash = '\0';
		rc = aq_fs_mkdir_p(local, e);
		*slash = '/';
		if (!rc)
			rc = aq_registry_fetch(r, v, rel, local, e);
		char got[AQ_SHA256_HEX];
		uint64_t n = 0;
		if (!rc)
			rc = aq_sha256_file(local, got, &n, e);
		if (!rc && (n != (uint64_t)want || strcmp(got, sha)))
			rc = aq_err_set(e, AQ_EFORMAT,
					"artifact '%s' of version %s does not match its manifest (%llu bytes, sha256 %.12s…; "
					"expected %lld bytes, %.12s…)",
					rel, v->version, (unsigned long long)n, got, (long long)want, sha);
		*bytes += n;
		free(local);
		if (rc)
			return rc;
	}
	return 0;
}

int aq_register_download(const char *uri, const char *model, const char *alias, const char *dir,
			 const struct aq_http_opts *h, json_t **out, struct aq_err *e)
{
	struct aq_registry r;
	struct aq_registry_version v;
	aq_registry_version_init(&v);
	if (access(dir, F_OK) == 0)
		return aq_err_set(e, AQ_ESTATE, "download directory '%s' exists already", dir);
	int rc = aq_registry_open(&r, uri, NULL, model, h, e);
	if (rc)
		return rc;
	double t0 = aq_now();
	size_t n = strlen(dir) + 40;
	char *tmp = malloc(n), *mp = NULL;
	json_t *man = NULL;
	uint64_t bytes = 0;
	rc = tmp ? aq_registry_resolve(&r, alias, &v, e) : aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!rc) {
		/* a sibling ".<dir>.tmp.<pid>" renamed into place when whole */
		const char *base = strrchr(dir, '/');
		snprintf(tmp, n, "%.*s.%s.tmp.%d", base ? (int)(base - dir + 1) : 0, dir, base ? base + 1 : dir,
			 (int)getpid());
		rc = aq_fs_mkdir_p(tmp, e);
	}
	if (!rc && !(mp = aq_path_join(tmp, AQ_REGISTER_MANIFEST)))
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!rc)
		rc = aq_registry_fetch(&r, &v, AQ_REGISTER_MANIFEST, mp, e);
	if (!rc)
		rc = load_json_file(mp, "manifest", &man, e);
	if (!rc)
		rc = fetch_all(&r, &v, man, tmp, &bytes, e);
	if (!rc && rename(tmp, dir))
		rc = aq_err_sys(e, "cannot rename '%s' to '%s'", tmp, dir);
	if (!rc) {
		*out = version_json(alias, &v);
		json_object_set_new(*out, "dir", json_string(dir));
		json_object_set_new(*out, "files", json_integer((json_int_t)json_array_size(json_object_get(man, "files"))));
		json_object_set_new(*out, "bytes", json_integer((json_int_t)bytes));
		json_object_set_new(*out, "seconds", json_real(aq_now() - t0));
	} else if (tmp && access(tmp, F_OK) == 0) {
		aq_warn("download incomplete: partial files left in '%s'", tmp);
	}
	json_decref(man);
	free(mp);
	free(tmp);
	aq_registry_version_release(&v);
	aq_registry_release(&r);
	return rc;
}
