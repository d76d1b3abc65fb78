/* registry.c — the registry interface: backend chosen by URI scheme; the MLflow 3 backend over lib/mlflow.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "registry.h"

void aq_registry_run_init(struct aq_registry_run *run) { memset(run, 0, sizeof *run); }

void aq_registry_run_release(struct aq_registry_run *run)
{
	free(run->key);
	free(run->run_id);
	free(run->run_uri);
	free(run->model_uri);
	free(run->model_id);
	free(run->version);
	json_decref(run->record);
	aq_registry_run_init(run);
}

void aq_registry_version_init(struct aq_registry_version *v) { memset(v, 0, sizeof *v); }

void aq_registry_version_release(struct aq_registry_version *v)
{
	free(v->version);
	free(v->run_id);
	free(v->source);
	free(v->location);
	json_decref(v->tags);
	aq_registry_version_init(v);
}

/* Registered-model names and aliases: MLflow's alias rule ([A-Za-z0-9_-], not "latest" nor v<digits>). */
static int alias_ok(const char *a, struct aq_err *e)
{
	size_t n = strlen(a);
	int vdigits = n > 1 && a[0] == 'v' && strspn(a + 1, "0123456789") == n - 1;
	if (!n || n > 255 || strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n ||
	    !strcmp(a, "latest") || vdigits)
		return aq_err_set(e, AQ_EINVAL, "bad alias '%s' ([A-Za-z0-9_-], not 'latest' nor v<digits>)", a);
	return 0;
}

static int name_ok(const char *s, const char *what, struct aq_err *e)
{
	size_t n = strlen(s);
	if (!n || n > 200 || strpbrk(s, "'`\\/\"%") || isspace((unsigned char)s[0]))
		return aq_err_set(e, AQ_EINVAL, "bad %s '%s'", what, s);
	return 0;
}

int aq_registry_open(struct aq_registry *r, const char *uri, const char *experiment, const char *model,
		     const struct aq_http_opts *o, struct aq_err *e)
{
	memset(r, 0, sizeof *r);
	if (name_ok(model, "registered model name", e) || (experiment && name_ok(experiment, "experiment name", e)))
		return AQ_EINVAL;
	r->model = strdup(model);
	r->uri = strdup(uri);
	if (!r->model || !r->uri) {
		aq_registry_release(r);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	int rc;
	if (!strncmp(uri, "file:", 5)) {
		const char *d = uri + 5;
		if (!strncmp(d, "//", 2))
			d += 2;
		if (!d[0])
			rc = aq_err_set(e, AQ_EINVAL, "bad tracking uri '%s' (file:DIR)", uri);
		else
			rc = aq_localreg_open(r, d, e);
	} else if (!strncmp(uri, "http://", 7) || !strncmp(uri, "https://", 8)) {
		int created = 0;
		rc = aq_mlflow_open(&r->m, uri, o, e);
		if (!rc && experiment)
			rc = aq_mlflow_experiment_ensure(&r->m, experiment, &r->exp_id, &created, e);
		if (!rc && created)
			aq_info("created experiment '%s' (id %s)", experiment, r->exp_id);
	} else {
		rc = aq_err_set(e, AQ_EINVAL, "bad tracking uri '%s': the scheme must be http://, https:// or file:", uri);
	}
	if (rc)
		aq_registry_release(r);
	return rc;
}

void aq_registry_release(struct aq_registry *r)
{
	if (!r->local && r->m.http.curl)
		aq_mlflow_release(&r->m);
	free(r->dir);
	free(r->exp_id);
	free(r->model);
	free(r->uri);
	memset(r, 0, sizeof *r);
}

/* object key -> string into MLflow's [{"key","value"}]. */
static json_t *kv_array(json_t *obj)
{
	json_t *a = json_array(), *v;
	const char *k;
	json_object_foreach(obj, k, v)
	{
		if (json_is_string(v))
			json_array_append_new(a, json_pack("{s:s,s:s}", "key", k, "value", json_string_value(v)));
	}
	return a;
}

static int set_str(char **dst, const char *s, struct aq_err *e)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
	return s && !*dst ? aq_err_set(e, AQ_ENOMEM, "out of memory") : 0;
}

/* The LoggedModel of the run: the one named in its tag, else a new one (tagged back on the run). */
static int mlflow_model(struct aq_registry *r, struct aq_registry_run *run, json_t *run_tags, struct aq_err *e)
{
	const char *mid = json_string_value(json_object_get(run_tags, AQ_REGISTRY_MODEL_ID));
	int rc;
	if (mid) {
		if ((rc = set_str(&run->model_id, mid, e)))
			return rc;
		return aq_mlflow_logged_model_get(&r->m, mid, &run->model_uri, NULL, e);
	}
	json_t *lt = json_pack("[{s:s,s:s}]", "key", AQ_REGISTRY_KEY, "value", run->key);
	rc = aq_mlflow_logged_model_create(&r->m, r->exp_id, r->model, run->run_id, lt, &run->model_id,
					   &run->model_uri, e);
	if (rc == AQ_EUNSUPPORTED) {
		/* MLflow 2: the version's files are run artifacts under model/ */
		aq_warn("%s: the version's files go to the run's artifacts (model/)", e->msg);
		size_t n = strlen(run->run_uri) + 8;
		run->model_uri = malloc(n);
		if (!run->model_uri)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		snprintf(run->model_uri, n, "%s/model", run->run_uri);
		return 0;
	}
	if (rc)
		return rc;
	json_t *t = json_pack("[{s:s,s:s}]", "key", AQ_REGISTRY_MODEL_ID, "value", run->model_id);
	rc = aq_mlflow_log_batch(&r->m, run->run_id, NULL, NULL, t, e);
	json_decref(t);
	return rc;
}

static int mlflow_begin(struct aq_registry *r, const char *key, const char *run_name, json_t *tags,
			int64_t start_ms, struct aq_registry_run *run, struct aq_err *e)
{
	struct aq_mlflow_run mr;
	aq_mlflow_run_init(&mr);
	int rc = aq_mlflow_run_find(&r->m, r->exp_id, AQ_REGISTRY_KEY, key, &mr, e);
	if (!rc) {
		run->resumed = 1;
		aq_info("resuming run %s (status %s) of key %s", mr.run_id, mr.status, key);
		if (strcmp(mr.status, "RUNNING"))
			rc = aq_mlflow_run_update(&r->m, mr.run_id, "RUNNING", 0, e);
	} else if (rc == AQ_ENOTFOUND) {
		json_t *t = kv_array(tags);
		json_array_append_new(t, json_pack("{s:s,s:s}", "key", AQ_REGISTRY_KEY, "value", key));
		rc = aq_mlflow_run_create(&r->m, r->exp_id, run_name, start_ms, t, &mr, e);
	}
	if (!rc) {
		run->start_ms = mr.start_time ? mr.start_time : start_ms;
		run->run_id = mr.run_id;
		run->run_uri = mr.artifact_uri;
		mr.run_id = mr.artifact_uri = NULL;
		rc = mlflow_model(r, run, mr.tags, e);
	}
	if (!rc && run->resumed) {
		json_t *mv = NULL;
		int f = aq_mlflow_version_find(&r->m, r->model, AQ_REGISTRY_KEY, key, &mv, e);
		if (!f)
			rc = set_str(&run->version, json_string_value(json_object_get(mv, "version")), e);
		else if (f != AQ_ENOTFOUND)
			rc = f;
		json_decref(mv);
	}
	aq_mlflow_run_release(&mr);
	return rc;
}

int aq_registry_begin(struct aq_registry *r, const char *key, const char *run_name, json_t *tags, int64_t start_ms,
		      struct aq_registry_run *run, struct aq_err *e)
{
	aq_registry_run_release(run);
	if (strspn(key, "0123456789abcdefghijklmnopqrstuvwxyz-_.") != strlen(key) || !key[0] ||
	    strlen(key) > 128)
		return aq_err_set(e, AQ_EINVAL, "bad register key '%s' ([a-z0-9._-])", key);
	if (set_str(&run->key, key, e))
		return AQ_ENOMEM;
	if (r->local)
		return aq_localreg_begin(r, key, tags, start_ms, run, e);
	return mlflow_begin(r, key, run_name, tags, start_ms, run, e);
}

int aq_registry_log(struct aq_registry *r, struct aq_registry_run *run, json_t *metrics, json_t *params,
		    json_t *tags, struct aq_err *e)
{
	if (r->local)
		return aq_localreg_log(r, run, metrics, params, tags, e);
	json_t *m = json_array(), *v;
	const char *k;
	json_object_foreach(metrics, k, v)
	{
		/* the run's start time as timestamp: a rerun logs the very same points */
		if (json_is_number(v))
			json_array_append_new(m, json_pack("{s:s,s:f,s:I,s:i}", "key", k, "value", json_number_value(v),
							   "timestamp", (json_int_t)run->start_ms, "step", 0));
	}
	json_t *p = kv_array(params), *t = kv_array(tags);
	int rc = aq_mlflow_log_batch(&r->m, run->run_id, m, p, t, e);
	json_decref(m);
	json_decref(p);
	json_decref(t);
	return rc;
}

int aq_registry_put(struct aq_registry *r, struct aq_registry_run *run, int to_model, const char *rel,
		    const char *file, struct aq_err *e)
{
	if (r->local)
		return aq_localreg_put(r, run, to_model, rel, file, e);
	return aq_mlflow_artifact_put(&r->m, to_model ? run->model_uri : run->run_uri, rel, file, e);
}

int aq_registry_commit(struct aq_registry *r, struct aq_registry_run *run, json_t *vtags, struct aq_err *e)
{
	if (r->local)
		return aq_localreg_commit(r, run, vtags, e);
	if (run->version)
		return 0;
	int rc = 0;
	if (run->model_id)
		rc = aq_mlflow_logged_model_finalize(&r->m, run->model_id, 1, e);
	if (!rc)
		rc = aq_mlflow_registered_model_ensure(&r->m, r->model, e);
	if (rc)
		return rc;
	char src[128];
	if (run->model_id)
		snprintf(src, sizeof src, "models:/%s", run->model_id);
	json_t *t = kv_array(vtags), *mv = NULL;
	json_array_append_new(t, json_pack("{s:s,s:s}", "key", AQ_REGISTRY_KEY, "value", run->key));
	rc = aq_mlflow_version_create(&r->m, r->model, run->model_id ? src : run->model_uri, run->run_id,
				      run->model_id, t, &mv, e);
	if (!rc)
		rc = set_str(&run->version, json_string_value(json_object_get(mv, "version")), e);
	json_decref(mv);
	return rc;
}

int aq_registry_alias_set(struct aq_registry *r, const char *alias, const char *version, struct aq_err *e)
{
	if (alias_ok(alias, e))
		return AQ_EINVAL;
	if (r->local)
		return aq_localreg_alias_set(r, alias, version, e);
	return aq_mlflow_alias_set(&r->m, r->model, alias, version, e);
}

int aq_registry_finish(struct aq_registry *r, struct aq_registry_run *run, int ok, struct aq_err *e)
{
	if (r->local)
		return aq_localreg_finish(r, run, ok, e);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return aq_mlflow_run_update(&r->m, run->run_id, ok ? "FINISHED" : "FAILED", now, e);
}

int aq_registry_resolve(struct aq_registry *r, const char *alias, struct aq_registry_version *v, struct aq_err *e)
{
	aq_registry_version_release(v);
	if (alias_ok(alias, e))
		return AQ_EINVAL;
	if (r->local)
		return aq_localreg_resolve(r, alias, v, e);
	json_t *mv = NULL, *t;
	int rc = aq_mlflow_alias_get(&r->m, r->model, alias, &mv, e);
	if (rc)
		return rc;
	const char *src = json_string_value(json_object_get(mv, "source"));
	if ((rc = set_str(&v->version, json_string_value(json_object_get(mv, "version")), e)) ||
	    (rc = set_str(&v->run_id, json_string_value(json_object_get(mv, "run_id")), e)) ||
	    (rc = set_str(&v->source, src, e)))
		goto out;
	v->tags = json_object();
	size_t i;
	json_array_foreach(json_object_get(mv, "tags"), i, t)
	{
		const char *k = json_string_value(json_object_get(t, "key"));
		const char *val = json_string_value(json_object_get(t, "value"));
		if (k && val)
			json_object_set_new(v->tags, k, json_string(val));
	}
	if (!src)
		rc = aq_err_set(e, AQ_EFORMAT, "version %s of '%s' has no source", v->version, r->model);
	else if (!strncmp(src, "models:/m-", 10))
		rc = aq_mlflow_logged_model_get(&r->m, src + 8, &v->location, NULL, e);
	else
		rc = set_str(&v->location, src, e);
out:
	json_decref(mv);
	return rc;
}

int aq_registry_fetch(struct aq_registry *r, const struct aq_registry_version *v, const char *rel, const char *file,
		      struct aq_err *e)
{
	if (r->local)
		return aq_localreg_fetch(r, v, rel, file, e);
	return aq_mlflow_artifact_get(&r->m, v->location, rel, file, e);
}
