/* mlflow.c — MLflow 3 REST calls over lib/http.h: tracking, artifacts through the proxy, LoggedModels, registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mlflow.h"

#define API "/api/2.0/mlflow/"
#define ARTIFACTS "/api/2.0/mlflow-artifacts/artifacts/"
#define ARTIFACT_SCHEME "mlflow-artifacts:"

int aq_mlflow_open(struct aq_mlflow *m, const char *uri, const struct aq_http_opts *o, struct aq_err *e)
{
	struct aq_http_opts opts;
	memset(m, 0, sizeof *m);
	if (o)
		opts = *o;
	else
		aq_http_opts_default(&opts);
	const char *tok = getenv("MLFLOW_TRACKING_TOKEN"), *user = getenv("MLFLOW_TRACKING_USERNAME");
	if (tok && tok[0] && !opts.token)
		opts.token = tok;
	else if (user && user[0] && !opts.user) {
		opts.user = user;
		opts.password = getenv("MLFLOW_TRACKING_PASSWORD");
	}
	return aq_http_init(&m->http, uri, &opts, e);
}

void aq_mlflow_release(struct aq_mlflow *m) { aq_http_release(&m->http); }

/* A non-2xx answer: MLflow's {"error_code","message"} when it is JSON, else the start of the body. */
static int api_error(struct aq_mlflow *m, const char *method, const char *what, const struct aq_http_resp *r,
		     struct aq_err *e)
{
	json_t *j = r->body && r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *code = j ? json_string_value(json_object_get(j, "error_code")) : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
	snprintf(m->error_code, sizeof m->error_code, "%s", code ? code : "");
	int rc = AQ_EHTTP;
	if (r->status == 404 || (code && !strcmp(code, "RESOURCE_DOES_NOT_EXIST")))
		rc = AQ_ENOTFOUND;
	if (code)
		aq_err_set(e, rc, "mlflow: %s %s: HTTP %ld %s: %s", method, what, r->status, code, msg ? msg : "");
	else
		aq_err_set(e, rc, "mlflow: %s %s: HTTP %ld: %.200s", method, what, r->status, r->body ? r->body : "");
	json_decref(j);
	return rc;
}

int aq_mlflow_call(struct aq_mlflow *m, const char *method, const char *endpoint, json_t *body, json_t **out,
		   struct aq_err *e)
{
	char *s = NULL;
	struct aq_http_resp r;
	int rc;
	m->error_code[0] = '\0';
	if (out)
		*out = NULL;
	if (body) {
		s = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!s)
			return aq_err_set(e, AQ_ENOMEM, "cannot encode the request of '%s'", endpoint);
	}
	size_t pl = strlen(API) + strlen(endpoint) + 1;
	char *path = malloc(pl);
	if (!path) {
		free(s);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	snprintf(path, pl, "%s%s", API, endpoint);
	aq_http_resp_init(&r);
	rc = aq_http_request(&m->http, method, path, s ? "application/json" : NULL, s, s ? strlen(s) : 0, &r, e);
	free(s);
	if (!rc && (r.status < 200 || r.status >= 300)) {
		/* the endpoint without its query string: a query may hold names, never secrets */
		char what[160];
		snprintf(what, sizeof what, "%.*s", (int)strcspn(endpoint, "?"), endpoint);
		rc = api_error(m, method, what, &r, e);
	} else if (!rc && out) {
		json_error_t je;
		*out = json_loadb(r.body ? r.body : "{}", r.len ? r.len : 2, 0, &je);
		if (!*out)
			rc = aq_err_set(e, AQ_EFORMAT, "mlflow: %s %s: answer is not JSON: %s", method, endpoint, je.text);
	}
	aq_http_resp_release(&r);
	free(path);
	return rc;
}

/* A string member at a path of objects ("a.b.c"), or NULL. */
static const char *jstr(json_t *j, const char *path)
{
	char key[64];
	while (j && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, path);
		j = json_object_get(j, key);
		path += n + (path[n] == '.');
	}
	return json_string_value(j);
}

static char *dup_or_err(const char *s, const char *what, struct aq_err *e, int *rc)
{
	char *d = s ? strdup(s) : NULL;
	if (!d)
		*rc = aq_err_set(e, AQ_EFORMAT, "mlflow: answer without %s", what);
	return d;
}

/* "k=v" query component, escaped. */
static char *query1(const char *endpoint, const char *k1, const char *v1, const char *k2, const char *v2)
{
	char *a = aq_http_escape(v1, 0), *b = v2 ? aq_http_escape(v2, 0) : NULL;
	size_t n = strlen(endpoint) + strlen(k1) + (a ? strlen(a) : 0) + (k2 ? strlen(k2) : 0) +
		   (b ? strlen(b) : 0) + 8;
	char *q = a && (!v2 || b) ? malloc(n) : NULL;
	if (q) {
		if (v2)
			snprintf(q, n, "%s?%s=%s&%s=%s", endpoint, k1, a, k2, b);
		else
			snprintf(q, n, "%s?%s=%s", endpoint, k1, a);
	}
	free(a);
	free(b);
	return q;
}

int aq_mlflow_experiment_ensure(struct aq_mlflow *m, const char *name, char **id, int *created, struct aq_err *e)
{
	json_t *out = NULL;
	int rc = 0;
	*created = 0;
	for (int pass = 0; pass < 2; pass++) {
		char *q = query1("experiments/get-by-name", "experiment_name", name, NULL, NULL);
		if (!q)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		rc = aq_mlflow_call(m, "GET", q, NULL, &out, e);
		free(q);
		if (!rc) {
			*id = dup_or_err(jstr(out, "experiment.experiment_id"), "experiment_id", e, &rc);
			json_decref(out);
			return rc;
		}
		if (rc != AQ_ENOTFOUND || pass)
			return rc;
		rc = aq_mlflow_call(m, "POST", "experiments/create", json_pack("{s:s}", "name", name), &out, e);
		if (!rc) {
			*id = dup_or_err(jstr(out, "experiment_id"), "experiment_id", e, &rc);
			*created = 1;
			json_decref(out);
			return rc;
		}
		/* another writer created it in between: read it again */
		if (strcmp(m->error_code, "RESOURCE_ALREADY_EXISTS"))
			return rc;
	}
	return rc;
}

void aq_mlflow_run_init(struct aq_mlflow_run *r) { memset(r, 0, sizeof *r); }

void aq_mlflow_run_release(struct aq_mlflow_run *r)
{
	free(r->run_id);
	free(r->artifact_uri);
	free(r->status);
	json_decref(r->tags);
	aq_mlflow_run_init(r);
}

static int run_from_json(json_t *run, struct aq_mlflow_run *r, struct aq_err *e)
{
	int rc = 0;
	aq_mlflow_run_release(r);
	r->run_id = dup_or_err(jstr(run, "info.run_id"), "run_id", e, &rc);
	if (!rc)
		r->artifact_uri = dup_or_err(jstr(run, "info.artifact_uri"), "artifact_uri", e, &rc);
	if (!rc)
		r->status = dup_or_err(jstr(run, "info.status"), "status", e, &rc);
	r->start_time = json_integer_value(json_object_get(json_object_get(run, "info"), "start_time"));
	r->tags = json_object();
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(json_object_get(run, "data"), "tags"), i, t)
	{
		const char *k = jstr(t, "key"), *v = jstr(t, "value");
		if (k && v)
			json_object_set_new(r->tags, k, json_string(v));
	}
	return rc;
}

/* A filter literal: single-quoted, quotes refused (keys and values here are ours: hex and names). */
static int filter_ok(const char *s, struct aq_err *e)
{
	if (strpbrk(s, "'`\\"))
		return aq_err_set(e, AQ_EINVAL, "bad search value '%s' (quotes are not allowed)", s);
	return 0;
}

int aq_mlflow_run_find(struct aq_mlflow *m, const char *exp, const char *key, const char *value,
		       struct aq_mlflow_run *r, struct aq_err *e)
{
	char filter[512];
	json_t *out = NULL;
	if (filter_ok(key, e) || filter_ok(value, e))
		return AQ_EINVAL;
	snprintf(filter, sizeof filter, "tags.`%s` = '%s'", key, value);
	int rc = aq_mlflow_call(m, "POST", "runs/search",
				json_pack("{s:[s],s:s,s:i,s:s,s:[s]}", "experiment_ids", exp, "filter", filter,
					  "max_results", 10, "run_view_type", "ACTIVE_ONLY", "order_by",
					  "attributes.start_time ASC"),
				&out, e);
	if (rc)
		return rc;
	json_t *runs = json_object_get(out, "runs");
	if (json_array_size(runs) == 0)
		rc = aq_err_set(e, AQ_ENOTFOUND, "no run with tag '%s' = '%s'", key, value);
	else
		rc = run_from_json(json_array_get(runs, 0), r, e);
	json_decref(out);
	return rc;
}

int aq_mlflow_run_create(struct aq_mlflow *m, const char *exp, const char *name, int64_t start_ms, json_t *tags,
			 struct aq_mlflow_run *r, struct aq_err *e)
{
	json_t *out = NULL;
	json_t *b = json_pack("{s:s,s:I,s:o}", "experiment_id", exp, "start_time", (json_int_t)start_ms, "tags",
			      tags ? tags : json_array());
	if (name)
		json_object_set_new(b, "run_name", json_string(name));
	int rc = aq_mlflow_call(m, "POST", "runs/create", b, &out, e);
	if (!rc)
		rc = run_from_json(json_object_get(out, "run"), r, e);
	json_decref(out);
	return rc;
}

int aq_mlflow_run_update(struct aq_mlflow *m, const char *run_id, const char *status, int64_t end_ms,
			 struct aq_err *e)
{
	json_t *b = json_pack("{s:s,s:s}", "run_id", run_id, "status", status);
	if (end_ms > 0)
		json_object_set_new(b, "end_time", json_integer(end_ms));
	return aq_mlflow_call(m, "POST", "runs/update", b, NULL, e);
}

/* Copy a slice [from, from+n) of an array (references, not deep copies). */
static json_t *slice(json_t *a, size_t from, size_t n)
{
	json_t *s = json_array();
	for (size_t i = from; i < from + n && i < json_array_size(a); i++)
		json_array_append(s, json_array_get(a, i));
	return s;
}

int aq_mlflow_log_batch(struct aq_mlflow *m, const char *run_id, json_t *metrics, json_t *params, json_t *tags,
			struct aq_err *e)
{
	size_t nm = json_array_size(metrics), np = json_array_size(params), nt = json_array_size(tags);
	size_t im = 0, ip = 0, it = 0;
	int rc = 0;
	while (!rc && (im < nm || ip < np || it < nt)) {
		/* params and tags first (at most 100 each), metrics fill the rest of the 1000 entities */
		size_t kp = np - ip < AQ_MLFLOW_BATCH_PARAMS ? np - ip : AQ_MLFLOW_BATCH_PARAMS;
		size_t kt = nt - it < AQ_MLFLOW_BATCH_TAGS ? nt - it : AQ_MLFLOW_BATCH_TAGS;
		size_t room = AQ_MLFLOW_BATCH_ENTITIES - kp - kt;
		if (room > AQ_MLFLOW_BATCH_METRICS)
			room = AQ_MLFLOW_BATCH_METRICS;
		size_t km = nm - im < room ? nm - im : room;
		json_t *b = json_pack("{s:s,s:o,s:o,s:o}", "run_id", run_id, "metrics", slice(metrics, im, km), "params",
				      slice(params, ip, kp), "tags", slice(tags, it, kt));
		rc = aq_mlflow_call(m, "POST", "runs/log-batch", b, NULL, e);
		im += km;
		ip += kp;
		it += kt;
	}
	return rc;
}

/* "/api/2.0/mlflow-artifacts/artifacts/<path below the scheme>/<rel>", escaped. */
static int artifact_path(const char *uri, const char *rel, char **out, struct aq_err *e)
{
	size_t sl = strlen(ARTIFACT_SCHEME);
	if (strncmp(uri, ARTIFACT_SCHEME, sl))
		return aq_err_set(e, AQ_EUNSUPPORTED,
				  "artifact uri '%s' is not served by the tracking server's proxy (start the server with "
				  "--serve-artifacts and no local --default-artifact-root)",
				  uri);
	const char *p = uri + sl;
	while (*p == '/')
		p++;
	if (strstr(rel, "..") || rel[0] == '/')
		return aq_err_set(e, AQ_EINVAL, "bad artifact path '%s'", rel);
	size_t n = strlen(p) + strlen(rel) + 2;
	char *raw = malloc(n);
	if (!raw)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	snprintf(raw, n, "%s%s%s", p, p[0] && p[strlen(p) - 1] != '/' ? "/" : "", rel);
	char *esc = aq_http_escape(raw, 1);
	free(raw);
	if (!esc)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	n = strlen(ARTIFACTS) + strlen(esc) + 1;
	*out = malloc(n);
	if (*out)
		snprintf(*out, n, "%s%s", ARTIFACTS, esc);
	free(esc);
	return *out ? 0 : aq_err_set(e, AQ_ENOMEM, "out of memory");
}

static int artifact_xfer(struct aq_mlflow *m, int put, const char *uri, const char *rel, const char *file,
			 struct aq_err *e)
{
	char *path;
	int rc = artifact_path(uri, rel, &path, e);
	if (rc)
		return rc;
	struct aq_http_resp r;
	aq_http_resp_init(&r);
	m->error_code[0] = '\0';
	rc = put ? aq_http_put_file(&m->http, path, file, &r, e) : aq_http_get_file(&m->http, path, file, &r, e);
	if (!rc && (r.status < 200 || r.status >= 300))
		rc = api_error(m, put ? "PUT" : "GET", rel, &r, e);
	aq_http_resp_release(&r);
	free(path);
	return rc;
}

int aq_mlflow_artifact_put(struct aq_mlflow *m, const char *uri, const char *rel, const char *file,
			   struct aq_err *e)
{
	return artifact_xfer(m, 1, uri, rel, file, e);
}

int aq_mlflow_artifact_get(struct aq_mlflow *m, const char *uri, const char *rel, const char *file,
			   struct aq_err *e)
{
	return artifact_xfer(m, 0, uri, rel, file, e);
}

int aq_mlflow_logged_model_create(struct aq_mlflow *m, const char *exp, const char *name, const char *run_id,
				  json_t *tags, char **model_id, char **artifact_uri, struct aq_err *e)
{
	json_t *out = NULL;
	json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:o}", "experiment_id", exp, "name", name, "model_type", "aquacast",
			      "source_run_id", run_id, "tags", tags ? tags : json_array());
	int rc = aq_mlflow_call(m, "POST", "logged-models", b, &out, e);
	if (rc == AQ_ENOTFOUND && (!m->error_code[0] || !strcmp(m->error_code, "ENDPOINT_NOT_FOUND")))
		return aq_err_set(e, AQ_EUNSUPPORTED, "the tracking server has no logged-models api (mlflow < 3)");
	if (!rc) {
		*model_id = dup_or_err(jstr(out, "model.info.model_id"), "model_id", e, &rc);
		if (!rc)
			*artifact_uri = dup_or_err(jstr(out, "model.info.artifact_uri"), "artifact_uri", e, &rc);
	}
	json_decref(out);
	return rc;
}

int aq_mlflow_logged_model_get(struct aq_mlflow *m, const char *model_id, char **artifact_uri, char **status,
			       struct aq_err *e)
{
	json_t *out = NULL;
	char ep[128];
	if (filter_ok(model_id, e) || strchr(model_id, '/'))
		return aq_err_set(e, AQ_EINVAL, "bad model id '%s'", model_id);
	snprintf(ep, sizeof ep, "logged-models/%s", model_id);
	int rc = aq_mlflow_call(m, "GET", ep, NULL, &out, e);
	if (!rc)
		*artifact_uri = dup_or_err(jstr(out, "model.info.artifact_uri"), "artifact_uri", e, &rc);
	if (!rc && status)
		*status = dup_or_err(jstr(out, "model.info.status"), "status", e, &rc);
	json_decref(out);
	return rc;
}

int aq_mlflow_logged_model_finalize(struct aq_mlflow *m, const char *model_id, int ready, struct aq_err *e)
{
	char ep[128];
	snprintf(ep, sizeof ep, "logged-models/%s", model_id);
	/* the id must be repeated in the body (3.17); an unknown status would silently become UNSPECIFIED */
	return aq_mlflow_call(m, "PATCH", ep,
			      json_pack("{s:s,s:s}", "model_id", model_id, "status",
					ready ? "LOGGED_MODEL_READY" : "LOGGED_MODEL_UPLOAD_FAILED"),
			      NULL, e);
}

int aq_mlflow_registered_model_ensure(struct aq_mlflow *m, const char *name, struct aq_err *e)
{
	int rc = aq_mlflow_call(m, "POST", "registered-models/create", json_pack("{s:s}", "name", name), NULL, e);
	if (rc && !strcmp(m->error_code, "RESOURCE_ALREADY_EXISTS"))
		rc = 0;
	return rc;
}

int aq_mlflow_version_find(struct aq_mlflow *m, const char *name, const char *key, const char *value,
			   json_t **mv, struct aq_err *e)
{
	char filter[512];
	json_t *out = NULL;
	if (filter_ok(name, e) || filter_ok(key, e) || filter_ok(value, e))
		return AQ_EINVAL;
	snprintf(filter, sizeof filter, "name = '%s' and tags.`%s` = '%s'", name, key, value);
	char *q = query1("model-versions/search", "filter", filter, "max_results", "10");
	if (!q)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	int rc = aq_mlflow_call(m, "GET", q, NULL, &out, e);
	free(q);
	if (rc)
		return rc;
	json_t *v = json_object_get(out, "model_versions");
	if (json_array_size(v) == 0)
		rc = aq_err_set(e, AQ_ENOTFOUND, "no version of '%s' with tag '%s' = '%s'", name, key, value);
	else
		*mv = json_incref(json_array_get(v, 0));
	json_decref(out);
	return rc;
}

int aq_mlflow_version_create(struct aq_mlflow *m, const char *name, const char *source, const char *run_id,
			     const char *model_id, json_t *tags, json_t **mv, struct aq_err *e)
{
	json_t *out = NULL;
	json_t *b = json_pack("{s:s,s:s,s:o}", "name", name, "source", source, "tags", tags ? tags : json_array());
	if (run_id)
		json_object_set_new(b, "run_id", json_string(run_id));
	if (model_id)
		json_object_set_new(b, "model_id", json_string(model_id));
	int rc = aq_mlflow_call(m, "POST", "model-versions/create", b, &out, e);
	if (!rc) {
		*mv = json_incref(json_object_get(out, "model_version"));
		if (!jstr(*mv, "version"))
			rc = aq_err_set(e, AQ_EFORMAT, "mlflow: model-versions/create answered without a version");
	}
	json_decref(out);
	return rc;
}

int aq_mlflow_version_get(struct aq_mlflow *m, const char *name, const char *version, json_t **mv,
			  struct aq_err *e)
{
	json_t *out = NULL;
	char *q = query1("model-versions/get", "name", name, "version", version);
	if (!q)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	int rc = aq_mlflow_call(m, "GET", q, NULL, &out, e);
	free(q);
	if (!rc)
		*mv = json_incref(json_object_get(out, "model_version"));
	json_decref(out);
	return rc;
}

int aq_mlflow_version_set_tag(struct aq_mlflow *m, const char *name, const char *version, const char *key,
			      const char *value, struct aq_err *e)
{
	return aq_mlflow_call(m, "POST", "model-versions/set-tag",
			      json_pack("{s:s,s:s,s:s,s:s}", "name", name, "version", version, "key", key, "value",
					value),
			      NULL, e);
}

int aq_mlflow_alias_set(struct aq_mlflow *m, const char *name, const char *alias, const char *version,
			struct aq_err *e)
{
	/* version must be a JSON string: an integer is a 400 */
	return aq_mlflow_call(m, "POST", "registered-models/alias",
			      json_pack("{s:s,s:s,s:s}", "name", name, "alias", alias, "version", version), NULL, e);
}

int aq_mlflow_alias_delete(struct aq_mlflow *m, const char *name, const char *alias, struct aq_err *e)
{
	/* DELETE takes its arguments in a JSON body, not the query string */
	return aq_mlflow_call(m, "DELETE", "registered-models/alias",
			      json_pack("{s:s,s:s}", "name", name, "alias", alias), NULL, e);
}

int aq_mlflow_alias_get(struct aq_mlflow *m, const char *name, const char *alias, json_t **mv, struct aq_err *e)
{
	json_t *out = NULL;
	char *q = query1("registered-models/alias", "name", name, "alias", alias);
	if (!q)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	int rc = aq_mlflow_call(m, "GET", q, NULL, &out, e);
	free(q);
	/* an unknown alias is a 400 INVALID_PARAMETER_VALUE "... alias X not found." (3.17), not a 404 */
	if (rc == AQ_EHTTP && !strcmp(m->error_code, "INVALID_PARAMETER_VALUE") && e && strstr(e->msg, "not found"))
		rc = aq_err_set(e, AQ_ENOTFOUND, "alias '%s' of registered model '%s' not found", alias, name);
	if (!rc)
		*mv = json_incref(json_object_get(out, "model_version"));
	json_decref(out);
	return rc;
}
