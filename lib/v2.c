/* v2.c — KServe V2 / Open Inference Protocol REST: routing, strict infer parsing, response bodies (pure). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "date.h"
#include "v2.h"

#define MAX_SEGS 8

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= AQ_V2_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.'))
			return 0;
	}
	return !(n <= 2 && s[0] == '.' && (n == 1 || s[1] == '.'));
}

static void set(struct aq_v2_route *r, enum aq_v2_kind k, const char *method, const char *want)
{
	r->kind = k;
	r->method_ok = strcmp(method, want) == 0 || (!strcmp(want, "GET") && !strcmp(method, "HEAD"));
}

void aq_v2_route(const char *method, const char *path, struct aq_v2_route *r)
{
	memset(r, 0, sizeof *r);
	if (strncmp(path, "/v2", 3) != 0 || (path[3] != 0 && path[3] != '/'))
		return;
	r->kind = AQ_V2_UNKNOWN;
	const char *seg[MAX_SEGS];
	size_t len[MAX_SEGS];
	int n = 0;
	for (const char *p = path + 1; *p;) {
		const char *q = strchr(p, '/');
		size_t l = q ? (size_t)(q - p) : strlen(p);
		if (n == MAX_SEGS || l == 0)
			return;
		seg[n] = p;
		len[n++] = l;
		if (!q)
			break;
		p = q + 1;
		if (!*p)
			return; /* trailing slash */
	}
#define IS(i, lit) (len[i] == sizeof lit - 1 && !memcmp(seg[i], lit, sizeof lit - 1))
	if (n == 1) {
		set(r, AQ_V2_SERVER_META, method, "GET");
		return;
	}
	if (n == 3 && IS(1, "health")) {
		if (IS(2, "live"))
			set(r, AQ_V2_LIVE, method, "GET");
		else if (IS(2, "ready"))
			set(r, AQ_V2_READY, method, "GET");
		return;
	}
	if (n < 3 || !IS(1, "models") || !name_ok(seg[2], len[2]))
		return;
	int rest = 3;
	if (n >= 5 && IS(3, "versions")) {
		if (!name_ok(seg[4], len[4]))
			return;
		memcpy(r->version, seg[4], len[4]);
		rest = 5;
	}
	memcpy(r->model, seg[2], len[2]);
	if (n == rest)
		set(r, AQ_V2_MODEL_META, method, "GET");
	else if (n == rest + 1 && IS(rest, "ready"))
		set(r, AQ_V2_MODEL_READY, method, "GET");
	else if (n == rest + 1 && IS(rest, "infer"))
		set(r, AQ_V2_INFER, method, "POST");
	else
		r->model[0] = r->version[0] = 0;
#undef IS
}

void aq_v2_limits_default(struct aq_v2_limits *l)
{
	l->max_batch = 1000;
	l->max_horizon = 366;
	l->max_body = 64 * 1024;
}

void aq_v2_request_init(struct aq_v2_request *r)
{
	memset(r, 0, sizeof *r);
}

void aq_v2_request_release(struct aq_v2_request *r)
{
	free(r->accounts);
	memset(r, 0, sizeof *r);
}

static const char *const out_names[] = {"start_date", "end_date", "mean", "lo80", "hi80", "lo95",
					"hi95", "total", "total_lo80", "total_hi80", "total_lo95", "total_hi95"};
#define NOUT (sizeof out_names / sizeof out_names[0])

/* Flatten nested data into leaves[0..*n) (at most cap), depth at most max_depth. */
static int flatten(json_t *v, int depth, int max_depth, json_t **leaves, size_t cap, size_t *n)
{
	if (!json_is_array(v)) {
		if (json_is_object(v) || depth == 0)
			return -1;
		if (*n >= cap)
			return -1;
		leaves[(*n)++] = v;
		return 0;
	}
	if (depth >= max_depth)
		return -1;
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) if (flatten(x, depth + 1, max_depth, leaves, cap, n)) return -1;
	return 0;
}

struct input {
	const char *name, *datatype;
	json_t *data;
	long long shape[4];
	int rank;
	size_t count;                  /* product of shape */
};

static int bad(struct aq_err *e, int code, const char *what, const char *detail)
{
	return aq_err_set(e, code, "bad infer request: %s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

static int params_ok(json_t *p)
{
	if (!p)
		return 1;
	if (!json_is_object(p))
		return 0;
	const char *k;
	json_t *v;
	json_object_foreach(p, k, v) if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) return 0;
	return 1;
}

static int read_input(json_t *in, struct input *t, struct aq_err *e)
{
	char what[128];
	memset(t, 0, sizeof *t);
	if (!json_is_object(in))
		return bad(e, AQ_EFORMAT, "an input is not an object", NULL);
	const char *k;
	json_t *v;
	json_object_foreach(in, k, v) if (strcmp(k, "name") && strcmp(k, "shape") && strcmp(k, "datatype") &&
					  strcmp(k, "data") && strcmp(k, "parameters"))
	{
		snprintf(what, sizeof what, "unknown member '%.40s' in an input", k);
		return bad(e, AQ_EFORMAT, what, NULL);
	}
	t->name = json_string_value(json_object_get(in, "name"));
	t->datatype = json_string_value(json_object_get(in, "datatype"));
	json_t *shape = json_object_get(in, "shape");
	t->data = json_object_get(in, "data");
	if (!t->name)
		return bad(e, AQ_EFORMAT, "an input has no string 'name'", NULL);
	snprintf(what, sizeof what, "input '%.40s'", t->name);
	if (!t->datatype)
		return bad(e, AQ_EFORMAT, what, "no string 'datatype'");
	if (!json_is_array(shape) || json_array_size(shape) < 1 || json_array_size(shape) > 4)
		return bad(e, AQ_EFORMAT, what, "'shape' must be an array of 1 to 4 integers");
	if (!json_is_array(t->data))
		return bad(e, AQ_EFORMAT, what, "'data' must be an array");
	if (!params_ok(json_object_get(in, "parameters")))
		return bad(e, AQ_EFORMAT, what, "'parameters' must be an object of strings, numbers or booleans");
	t->rank = (int)json_array_size(shape);
	t->count = 1;
	for (int i = 0; i < t->rank; i++) {
		json_t *d = json_array_get(shape, (size_t)i);
		if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > 1000000)
			return bad(e, AQ_EFORMAT, what, "a 'shape' dimension is not an integer in 0..1000000");
		t->shape[i] = json_integer_value(d);
		t->count *= (size_t)t->shape[i];
		if (t->count > 1000000)
			return bad(e, AQ_EINVAL, what, "'shape' has too many elements");
	}
	return 0;
}

/* The leaves of t's data, checked against its shape; *leaves malloc'd. */
static int leaves_of(const struct input *t, size_t cap, json_t ***leaves, size_t *n, struct aq_err *e)
{
	char what[128];
	snprintf(what, sizeof what, "input '%.40s'", t->name);
	if (t->count > cap)
		return bad(e, AQ_EINVAL, what, "too many elements");
	*leaves = malloc((t->count ? t->count : 1) * sizeof **leaves);
	if (!*leaves)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	*n = 0;
	if (flatten(t->data, 0, t->rank, *leaves, t->count, n) || *n != t->count) {
		free(*leaves);
		*leaves = NULL;
		return bad(e, AQ_EFORMAT, what, "'data' does not match 'shape' (flat or nested, scalars only)");
	}
	return 0;
}

static int take_accounts(const struct input *t, const struct aq_v2_limits *lim, struct aq_v2_request *r,
			 struct aq_err *e)
{
	if (strcmp(t->datatype, "INT64"))
		return bad(e, AQ_EFORMAT, "input 'account_oid'", "datatype must be INT64");
	if (!(t->rank == 1 || (t->rank == 2 && t->shape[1] == 1)))
		return bad(e, AQ_EFORMAT, "input 'account_oid'", "shape must be [B] or [B,1]");
	if (t->count < 1 || t->count > (size_t)lim->max_batch) {
		char d[80];
		snprintf(d, sizeof d, "batch of %zu accounts (1..%d allowed)", t->count, lim->max_batch);
		return bad(e, AQ_EINVAL, "input 'account_oid'", d);
	}
	json_t **lv;
	size_t n;
	int rc = leaves_of(t, (size_t)lim->max_batch, &lv, &n, e);
	if (rc)
		return rc;
	r->accounts = malloc(n * sizeof *r->accounts);
	if (!r->accounts) {
		free(lv);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (!json_is_integer(lv[i]) || json_integer_value(lv[i]) < 1) {
			free(lv);
			return bad(e, AQ_EINVAL, "input 'account_oid'", "every account must be an integer >= 1");
		}
		r->accounts[i] = json_integer_value(lv[i]);
	}
	r->n = n;
	free(lv);
	return 0;
}

/* A [1] scalar input: the single leaf. */
static int scalar(const struct input *t, json_t **out, struct aq_err *e)
{
	char what[128];
	snprintf(what, sizeof what, "input '%.40s'", t->name);
	if (t->count != 1)
		return bad(e, AQ_EFORMAT, what, "shape must be [1]");
	json_t **lv;
	size_t n;
	int rc = leaves_of(t, 1, &lv, &n, e);
	if (rc)
		return rc;
	*out = lv[0];
	free(lv);
	return 0;
}

static int take_horizon(const struct input *t, const struct aq_v2_limits *lim, struct aq_v2_request *r,
			struct aq_err *e)
{
	if (strcmp(t->datatype, "INT32") && strcmp(t->datatype, "INT64"))
		return bad(e, AQ_EFORMAT, "input 'horizon_days'", "datatype must be INT32 or INT64");
	json_t *v;
	int rc = scalar(t, &v, e);
	if (rc)
		return rc;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > lim->max_horizon) {
		char d[80];
		snprintf(d, sizeof d, "must be an integer in 1..%d", lim->max_horizon);
		return bad(e, AQ_EINVAL, "input 'horizon_days'", d);
	}
	r->horizon = (int)json_integer_value(v);
	return 0;
}

static int take_date(const struct input *t, int32_t *out, struct aq_err *e)
{
	char what[128];
	snprintf(what, sizeof what, "input '%.40s'", t->name);
	if (strcmp(t->datatype, "BYTES"))
		return bad(e, AQ_EFORMAT, what, "datatype must be BYTES");
	json_t *v;
	int rc = scalar(t, &v, e);
	if (rc)
		return rc;
	const char *s = json_string_value(v);
	if (!s || aq_date_parse(s, (int)json_string_length(v), out, NULL) || *out < AQ_DATE_MIN ||
	    *out > AQ_DATE_MAX)
		return bad(e, AQ_EINVAL, what, "must be one date YYYY-MM-DD in 1990-01-01..2100-12-31");
	return 0;
}

static int take_outputs(json_t *outs, struct aq_v2_request *r, struct aq_err *e)
{
	if (!outs) {
		r->outputs = AQ_V2_OUT_ALL;
		return 0;
	}
	if (!json_is_array(outs) || json_array_size(outs) == 0 || json_array_size(outs) > NOUT)
		return bad(e, AQ_EFORMAT, "'outputs' must be an array of 1 to 12 objects", NULL);
	size_t i;
	json_t *o;
	json_array_foreach(outs, i, o)
	{
		const char *name = json_string_value(json_object_get(o, "name"));
		if (!json_is_object(o) || !name || json_object_size(o) > 2 ||
		    (json_object_size(o) == 2 && !json_object_get(o, "parameters")) ||
		    !params_ok(json_object_get(o, "parameters")))
			return bad(e, AQ_EFORMAT, "an output must be {\"name\":…[, \"parameters\":{…}]}", NULL);
		size_t k = 0;
		while (k < NOUT && strcmp(out_names[k], name))
			k++;
		if (k == NOUT) {
			char d[96];
			snprintf(d, sizeof d, "unknown output '%.40s'", name);
			return bad(e, AQ_EINVAL, d, NULL);
		}
		r->outputs |= 1u << k;
	}
	return 0;
}

static int check_top(json_t *root, struct aq_v2_request *r, struct aq_err *e)
{
	if (!json_is_object(root))
		return bad(e, AQ_EFORMAT, "the body is not a JSON object", NULL);
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v) if (strcmp(k, "id") && strcmp(k, "parameters") && strcmp(k, "inputs") &&
					    strcmp(k, "outputs"))
	{
		char d[96];
		snprintf(d, sizeof d, "unknown member '%.40s'", k);
		return bad(e, AQ_EFORMAT, d, NULL);
	}
	json_t *id = json_object_get(root, "id");
	if (id) {
		if (!json_is_string(id) || json_string_length(id) >= AQ_V2_ID_MAX || strlen(json_string_value(id)) != json_string_length(id))
			return bad(e, AQ_EFORMAT, "'id' must be a string of at most 255 bytes", NULL);
		memcpy(r->id, json_string_value(id), json_string_length(id) + 1);
		r->has_id = 1;
	}
	if (!params_ok(json_object_get(root, "parameters")))
		return bad(e, AQ_EFORMAT, "'parameters' must be an object of strings, numbers or booleans", NULL);
	json_t *in = json_object_get(root, "inputs");
	if (!json_is_array(in) || json_array_size(in) == 0 || json_array_size(in) > 4)
		return bad(e, AQ_EFORMAT, "'inputs' must be an array of 1 to 4 inputs", NULL);
	return take_outputs(json_object_get(root, "outputs"), r, e);
}

static int take_inputs(json_t *in, const struct aq_v2_limits *lim, struct aq_v2_request *r, struct aq_err *e)
{
	int seen[4] = {0, 0, 0, 0}, rc = 0;
	static const char *const names[4] = {"account_oid", "horizon_days", "start_date", "end_date"};
	size_t i;
	json_t *x;
	json_array_foreach(in, i, x)
	{
		struct input t;
		if ((rc = read_input(x, &t, e)))
			return rc;
		int k = 0;
		while (k < 4 && strcmp(names[k], t.name))
			k++;
		if (k == 4 || seen[k]) {
			char d[96];
			snprintf(d, sizeof d, "%s input '%.40s'", k == 4 ? "unknown" : "repeated", t.name);
			return bad(e, AQ_EINVAL, d, NULL);
		}
		seen[k] = 1;
		rc = k == 0 ? take_accounts(&t, lim, r, e)
		   : k == 1 ? take_horizon(&t, lim, r, e)
			    : take_date(&t, k == 2 ? &r->from : &r->to, e);
		if (rc)
			return rc;
	}
	if (!seen[0])
		return bad(e, AQ_EINVAL, "input 'account_oid' is missing", NULL);
	if (seen[1] == (seen[2] || seen[3]) || seen[2] != seen[3])
		return bad(e, AQ_EINVAL, "give either 'horizon_days' or both 'start_date' and 'end_date'", NULL);
	if (!seen[1]) {
		if (r->to < r->from)
			return bad(e, AQ_EINVAL, "'end_date' is before 'start_date'", NULL);
		if (r->to - r->from + 1 > lim->max_horizon) {
			char d[96];
			snprintf(d, sizeof d, "the period is %d days (at most %d)", r->to - r->from + 1, lim->max_horizon);
			return bad(e, AQ_EINVAL, d, NULL);
		}
	}
	return 0;
}

int aq_v2_parse_infer(const char *body, size_t len, const struct aq_v2_limits *lim, struct aq_v2_request *r,
		      struct aq_err *e)
{
	aq_v2_request_release(r);
	if (len > lim->max_body)
		return bad(e, AQ_EINVAL, "the body is too large", NULL);
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return aq_err_set(e, AQ_EFORMAT, "bad infer request: malformed JSON at line %d column %d: %s", je.line,
				  je.column, je.text);
	int rc = check_top(root, r, e);
	if (!rc)
		rc = take_inputs(json_object_get(root, "inputs"), lim, r, e);
	json_decref(root);
	if (rc)
		aq_v2_request_release(r);
	return rc;
}

static void tensor_head(struct aq_jbuf *b, int *first, const char *name, const char *dt, size_t d0, long long d1)
{
	aq_jbuf_cstr(b, *first ? "{\"name\":" : ",{\"name\":");
	*first = 0;
	aq_jbuf_str(b, name);
	aq_jbuf_printf(b, ",\"datatype\":\"%s\",\"shape\":[%zu", dt, d0);
	if (d1 >= 0)
		aq_jbuf_printf(b, ",%lld", d1);
	aq_jbuf_cstr(b, "],\"data\":[");
}

void aq_v2_infer_response(struct aq_jbuf *b, const char *model, const char *version, const struct aq_v2_request *r,
			  const struct aq_v2_series *s)
{
	size_t n = r->n;
	long long h = n ? s[0].to - s[0].from + 1 : 0;
	aq_jbuf_cstr(b, "{\"model_name\":");
	aq_jbuf_str(b, model);
	if (version && *version) {
		aq_jbuf_cstr(b, ",\"model_version\":");
		aq_jbuf_str(b, version);
	}
	if (r->has_id) {
		aq_jbuf_cstr(b, ",\"id\":");
		aq_jbuf_str(b, r->id);
	}
	aq_jbuf_cstr(b, ",\"outputs\":[");
	int first = 1;
	for (unsigned k = 0; k < NOUT; k++) {
		if (!(r->outputs & (1u << k)))
			continue;
		if (k < 2) {
			tensor_head(b, &first, out_names[k], "BYTES", n, -1);
			for (size_t i = 0; i < n; i++) {
				if (i)
					aq_jbuf_raw(b, ",", 1);
				aq_jbuf_date(b, k == 0 ? s[i].from : s[i].to);
			}
		} else if (k < 7) {
			tensor_head(b, &first, out_names[k], "FP64", n, h);
			for (size_t i = 0; i < n; i++) {
				const double *v = k == 2 ? s[i].mean : k == 3 ? s[i].lo80 : k == 4 ? s[i].hi80
						 : k == 5 ? s[i].lo95 : s[i].hi95;
				for (long long d = 0; d < h; d++) {
					if (i || d)
						aq_jbuf_raw(b, ",", 1);
					aq_jbuf_num(b, v[d]);
				}
			}
		} else {
			tensor_head(b, &first, out_names[k], "FP64", n, -1);
			for (size_t i = 0; i < n; i++) {
				if (i)
					aq_jbuf_raw(b, ",", 1);
				aq_jbuf_num(b, s[i].total[k - 7]);
			}
		}
		aq_jbuf_cstr(b, "]}");
	}
	aq_jbuf_cstr(b, "]}");
}

static void tensor_meta(struct aq_jbuf *b, const char *name, const char *dt, const char *shape, int first)
{
	aq_jbuf_printf(b, "%s{\"name\":\"%s\",\"datatype\":\"%s\",\"shape\":%s}", first ? "" : ",", name, dt, shape);
}

void aq_v2_model_metadata(struct aq_jbuf *b, const char *model, const char *version)
{
	aq_jbuf_cstr(b, "{\"name\":");
	aq_jbuf_str(b, model);
	if (version && *version) {
		aq_jbuf_cstr(b, ",\"versions\":[");
		aq_jbuf_str(b, version);
		aq_jbuf_cstr(b, "]");
	}
	aq_jbuf_cstr(b, ",\"platform\":\"aquacast_arima\",\"inputs\":[");
	tensor_meta(b, "account_oid", "INT64", "[-1]", 1);
	tensor_meta(b, "horizon_days", "INT32", "[1]", 0);
	tensor_meta(b, "start_date", "BYTES", "[1]", 0);
	tensor_meta(b, "end_date", "BYTES", "[1]", 0);
	aq_jbuf_cstr(b, "],\"outputs\":[");
	for (unsigned k = 0; k < NOUT; k++)
		tensor_meta(b, out_names[k], k < 2 ? "BYTES" : "FP64", k < 2 || k >= 7 ? "[-1]" : "[-1,-1]", k == 0);
	aq_jbuf_cstr(b, "]}");
}

void aq_v2_server_metadata(struct aq_jbuf *b, const char *server_version)
{
	aq_jbuf_cstr(b, "{\"name\":\"aquacast-serve\",\"version\":");
	aq_jbuf_str(b, server_version);
	aq_jbuf_cstr(b, ",\"extensions\":[]}");
}

void aq_v2_error(struct aq_jbuf *b, const char *msg)
{
	/* Messages quote parts of the request cut at a byte count: keep them ASCII, so always valid UTF-8. */
	char ascii[AQ_ERR_MSG];
	size_t i = 0;
	for (; msg[i] && i < sizeof ascii - 1; i++)
		ascii[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
	ascii[i] = 0;
	aq_jbuf_cstr(b, "{\"error\":");
	aq_jbuf_str(b, ascii);
	aq_jbuf_cstr(b, "}");
}

int aq_v2_status(int code)
{
	switch (code) {
	case AQ_EINVAL:
	case AQ_EFORMAT:
	case AQ_EUNSUPPORTED: return 400;
	case AQ_ENOTFOUND: return 404;
	default: return 500;
	}
}
