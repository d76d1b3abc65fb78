/* serveapi.c — aquacast-serve's requests: V2 inference, the dashboard JSON API, metrics and static files, all validated. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "log.h"
#include "model.h"
#include "serveapi.h"

#define MAX_VALUES 200000 /* accounts x days of one V2 request */

struct aq_serveset *aq_serveapi_acquire(struct aq_serve_state *st)
{
	pthread_mutex_lock(&st->mu);
	struct aq_serveset *s = st->cur;
	if (s)
		aq_serveset_ref(s);
	pthread_mutex_unlock(&st->mu);
	return s;
}

void aq_serveapi_swap(struct aq_serve_state *st, struct aq_serveset *s)
{
	pthread_mutex_lock(&st->mu);
	struct aq_serveset *old = st->cur;
	st->cur = s;
	pthread_mutex_unlock(&st->mu);
	aq_serveset_unref(old); /* freed here, or by the last request still holding it */
}

static void body(struct aq_httpd_resp *rs, int status, struct aq_jbuf *b)
{
	rs->status = status;
	if (aq_jbuf_ok(b)) {
		aq_jbuf_release(b);
		rs->status = 500;
		rs->body = NULL;
		rs->len = 0;
		return;
	}
	rs->body = aq_jbuf_take(b, &rs->len);
}

static void fail(struct aq_httpd_resp *rs, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct aq_httpd_resp *rs, int status, const char *fmt, ...)
{
	char msg[AQ_ERR_MSG];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct aq_jbuf b;
	aq_jbuf_init(&b);
	aq_v2_error(&b, msg);
	body(rs, status, &b);
}

static void fail_err(struct aq_httpd_resp *rs, const struct aq_err *e)
{
	fail(rs, aq_v2_status(e->code), "%s", e->msg);
}

/* A decimal account id >= 1 (at most 18 digits). */
static int parse_account(const char *s, int64_t *out)
{
	if (!s || !*s || strlen(s) > 18 || *s == '0')
		return -1;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return 0;
}

static int parse_date(const char *s, int32_t *out)
{
	return !s || aq_date_parse(s, (int)strlen(s), out, NULL) || *out < AQ_DATE_MIN || *out > AQ_DATE_MAX ? -1 : 0;
}

static const char *fmt_date(int32_t d, char *buf)
{
	return aq_date_format(d, buf);
}

/*
 * The account's row and a checked period [from, to] inside its forecastable
 * range: from >= TrainedUntil + 1, to - TrainedUntil <= max_horizon. 0, or
 * the HTTP status with the response filled.
 */
static int period(struct aq_serveset *s, const struct aq_serve_opts *o, int64_t account, int32_t from, int32_t to,
		  const struct aq_model_row **row, struct aq_httpd_resp *rs)
{
	struct aq_err e = {0};
	if (aq_forecaster_row(&s->f, account, row, &e)) {
		fail(rs, 404, "unknown account '%lld': no model for it in the loaded set", (long long)account);
		return 404;
	}
	int32_t first = (*row)->trained_until + 1, last = first + o->limits.max_horizon - 1;
	char a[AQ_DATE_STRLEN], b[AQ_DATE_STRLEN], c[AQ_DATE_STRLEN];
	if (from < first) {
		fail(rs, 400, "period in the past: '%s' is before the first forecastable day %s of account '%lld' "
			      "(readings are known up to %s)",
		     fmt_date(from, a), fmt_date(first, b), (long long)account, fmt_date(first - 1, c));
		return 400;
	}
	if (to < from) {
		fail(rs, 400, "bad period: it ends on %s, before it starts on %s", fmt_date(to, a), fmt_date(from, b));
		return 400;
	}
	if (to > last) {
		fail(rs, 400, "horizon over the limit: '%s' is more than %d days after the last reading (%s is the last "
			      "day allowed)",
		     fmt_date(to, a), o->limits.max_horizon, fmt_date(last, b));
		return 400;
	}
	return 0;
}

/* from/to (dates) or days=N (from the first forecastable day) of the query. */
static int query_period(const struct aq_httpd_req *rq, struct aq_serveset *s, const struct aq_serve_opts *o,
			int64_t *account, int32_t *from, int32_t *to, const struct aq_model_row **row,
			struct aq_httpd_resp *rs)
{
	const char *as = aq_httpd_arg(rq, "account"), *fs = aq_httpd_arg(rq, "from"), *ts = aq_httpd_arg(rq, "to"),
		   *ds = aq_httpd_arg(rq, "days");
	if (parse_account(as, account)) {
		fail(rs, 400, "bad or missing 'account' '%.32s' (a decimal AccountOID >= 1)", as ? as : "");
		return 400;
	}
	struct aq_err e = {0};
	if (aq_forecaster_row(&s->f, *account, row, &e)) {
		fail(rs, 404, "unknown account '%lld': no model for it in the loaded set", (long long)*account);
		return 404;
	}
	if (ds) {
		char *end;
		long d = strtol(ds, &end, 10);
		if (fs || ts || *end || end == ds || d < 1 || d > o->limits.max_horizon) {
			fail(rs, 400, "bad 'days' '%.32s' (an integer 1..%d, without from/to)", ds, o->limits.max_horizon);
			return 400;
		}
		*from = (*row)->trained_until + 1;
		*to = *from + (int32_t)d - 1;
	} else if (parse_date(fs, from) || parse_date(ts, to)) {
		fail(rs, 400, "bad or missing 'from'/'to' ('%.32s', '%.32s'; dates YYYY-MM-DD, or days=N)", fs ? fs : "",
		     ts ? ts : "");
		return 400;
	}
	return period(s, o, *account, *from, *to, row, rs);
}

static void v2_infer(struct aq_serve_state *st, struct aq_serveset *s, const struct aq_httpd_req *rq,
		     const struct aq_v2_route *r, struct aq_httpd_resp *rs)
{
	const struct aq_serve_opts *o = st->o;
	struct aq_v2_request q;
	struct aq_err e = {0};
	aq_v2_request_init(&q);
	if (aq_v2_parse_infer(rq->body, rq->body_len, &o->limits, &q, &e)) {
		fail_err(rs, &e);
		return;
	}
	int h = q.horizon ? q.horizon : q.to - q.from + 1;
	struct aq_v2_series *ser = calloc(q.n, sizeof *ser);
	double *v = (size_t)h * q.n <= MAX_VALUES ? malloc(5 * (size_t)h * q.n * sizeof *v) : NULL;
	if (!ser || !v) {
		if ((size_t)h * q.n > MAX_VALUES)
			fail(rs, 400, "bad infer request: %zu accounts x %d days is over %d values", q.n, h, MAX_VALUES);
		else
			fail(rs, 500, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < q.n; i++) {
		const struct aq_model_row *row;
		int32_t from = q.from, to = q.to;
		if (q.horizon) {
			if (aq_forecaster_row(&s->f, q.accounts[i], &row, &e)) {
				fail(rs, 404, "unknown account '%lld': no model for it in the loaded set", (long long)q.accounts[i]);
				goto out;
			}
			from = row->trained_until + 1;
			to = from + h - 1;
		}
		if (period(s, o, q.accounts[i], from, to, &row, rs))
			goto out;
		double *p = v + 5 * (size_t)h * i;
		ser[i] = (struct aq_v2_series){.from = from, .to = to, .mean = p, .lo80 = p + h, .hi80 = p + 2 * h,
					      .lo95 = p + 3 * h, .hi95 = p + 4 * h};
		if (aq_forecaster_range(&s->f, q.accounts[i], from, to, p, p + h, p + 2 * h, p + 3 * h, p + 4 * h,
					ser[i].total, &e)) {
			fail_err(rs, &e);
			goto out;
		}
	}
	struct aq_jbuf b;
	aq_jbuf_init(&b);
	aq_v2_infer_response(&b, r->model, s->version, &q, ser);
	body(rs, 200, &b);
out:
	free(v);
	free(ser);
	aq_v2_request_release(&q);
}

static void v2(struct aq_serve_state *st, struct aq_serveset *s, const struct aq_httpd_req *rq,
	       const struct aq_v2_route *r, struct aq_httpd_resp *rs)
{
	struct aq_jbuf b;
	aq_jbuf_init(&b);
	if (r->kind == AQ_V2_UNKNOWN) {
		fail(rs, 404, "no such V2 route '%.100s'", rq->path);
		return;
	}
	if (!r->method_ok) {
		fail(rs, 405, "method '%s' not allowed on '%.100s'", rq->method, rq->path);
		rs->hdr_name[0] = "Allow";
		rs->hdr_value[0] = r->kind == AQ_V2_INFER ? "POST" : "GET, HEAD";
		return;
	}
	if (r->kind == AQ_V2_LIVE) {
		aq_jbuf_cstr(&b, "{\"live\":true}");
		body(rs, 200, &b);
		return;
	}
	if (r->kind == AQ_V2_READY) {
		aq_jbuf_cstr(&b, s ? "{\"ready\":true}" : "{\"ready\":false}");
		body(rs, s ? 200 : 503, &b);
		return;
	}
	if (r->kind == AQ_V2_SERVER_META) {
		aq_v2_server_metadata(&b, st->o->server_version);
		body(rs, 200, &b);
		return;
	}
	if (strcmp(r->model, st->o->v2_name)) {
		fail(rs, 404, "unknown model '%s' (this server has '%s')", r->model, st->o->v2_name);
		return;
	}
	if (!s) {
		fail(rs, 503, "model '%s' is not loaded yet", r->model);
		return;
	}
	if (r->version[0] && strcmp(r->version, s->version)) {
		fail(rs, 404, "unknown version '%s' of model '%s' (loaded: '%s')", r->version, r->model, s->version);
		return;
	}
	if (r->kind == AQ_V2_MODEL_READY) {
		aq_jbuf_cstr(&b, "{\"name\":");
		aq_jbuf_str(&b, r->model);
		aq_jbuf_cstr(&b, ",\"ready\":true}");
		body(rs, 200, &b);
	} else if (r->kind == AQ_V2_MODEL_META) {
		aq_v2_model_metadata(&b, r->model, s->version);
		body(rs, 200, &b);
	} else {
		v2_infer(st, s, rq, r, rs);
	}
}

static void accounts_search(struct aq_serveset *s, const struct aq_httpd_req *rq, struct aq_httpd_resp *rs)
{
	const char *q = aq_httpd_arg(rq, "q"), *ls = aq_httpd_arg(rq, "limit");
	long limit = 20;
	if (ls) {
		char *end;
		limit = strtol(ls, &end, 10);
		if (*end || end == ls || limit < 1 || limit > 200) {
			fail(rs, 400, "bad 'limit' '%.32s' (an integer 1..200)", ls);
			return;
		}
	}
	size_t ql = q ? strlen(q) : 0;
	for (size_t i = 0; i < ql; i++)
		if (q[i] < '0' || q[i] > '9' || ql > 18) {
			fail(rs, 400, "bad 'q' '%.32s' (the first digits of an AccountOID)", q);
			return;
		}
	struct aq_jbuf b;
	aq_jbuf_init(&b);
	aq_jbuf_cstr(&b, "{\"accounts\":[");
	size_t found = 0, shown = 0;
	for (size_t i = 0; i < s->n; i++) {
		char id[24];
		snprintf(id, sizeof id, "%lld", (long long)s->accounts[i]);
		if (ql && strncmp(id, q, ql))
			continue;
		if (shown < (size_t)limit) {
			aq_jbuf_cstr(&b, shown ? "," : "");
			aq_jbuf_int(&b, s->accounts[i]);
			shown++;
		}
		found++;
	}
	aq_jbuf_printf(&b, "],\"matches\":%zu,\"accounts_total\":%zu}", found, s->n);
	body(rs, 200, &b);
}

/* The anomaly in plain words, for the customer. */
static void notice(struct aq_jbuf *b, const struct aq_serve_anomaly *a)
{
	char d[AQ_DATE_STRLEN], msg[400];
	fmt_date(a->since, d);
	if (!strcmp(a->kind, "level_up"))
		snprintf(msg, sizeof msg,
			 "Possible leak: since %s your water use has been about %.2f m³ a day higher than usual (%.0f%% "
			 "more). Check taps, toilets and outdoor pipes, or call us.",
			 d, a->magnitude, 100 * a->relative);
	else if (!strcmp(a->kind, "flat"))
		snprintf(msg, sizeof msg,
			 "Your meter may be stuck: since %s it has shown the same use (%.2f m³) every day. The forecast "
			 "may be less reliable until the meter is checked.",
			 d, a->magnitude);
	else
		snprintf(msg, sizeof msg,
			 "Your water use dropped since %s, about %.2f m³ a day below usual. If nobody is away, the meter "
			 "may need a check.",
			 d, fabs(a->magnitude));
	aq_jbuf_str(b, msg);
}

static void write_row(struct aq_jbuf *b, const struct aq_model_row *r)
{
	aq_jbuf_cstr(b, "\"model\":{\"status\":");
	aq_jbuf_str(b, aq_model_status_name(r->status));
	aq_jbuf_cstr(b, ",\"reason\":");
	aq_jbuf_str(b, r->reason ? r->reason : "");
	aq_jbuf_cstr(b, ",\"spec\":");
	aq_jbuf_str(b, r->spec_str ? r->spec_str : "");
	aq_jbuf_cstr(b, ",\"served_by_evaluate\":");
	aq_jbuf_str(b, r->served ? r->served : "arima");
	aq_jbuf_cstr(b, ",\"first_date\":");
	aq_jbuf_date(b, r->first_date);
	aq_jbuf_cstr(b, ",\"trained_until\":");
	aq_jbuf_date(b, r->trained_until);
	aq_jbuf_printf(b, ",\"nobs\":%d,\"days\":%d}", (int)r->nobs, (int)r->n);
}

static void write_accuracy(struct aq_jbuf *b, const struct aq_serveset *s, int64_t account)
{
	const struct aq_accuracy *a = aq_accuracy_find(s->acc, s->nacc, account);
	aq_jbuf_cstr(b, ",\"accuracy\":");
	if (!a) {
		aq_jbuf_cstr(b, "null");
		return;
	}
	aq_jbuf_cstr(b, "{\"forecaster\":");
	aq_jbuf_str(b, a->served);
	aq_jbuf_printf(b, ",\"new_days\":%d,\"mae_new\":", a->n_new);
	aq_jbuf_num(b, a->mae_new);
	aq_jbuf_cstr(b, ",\"mase_new\":");
	aq_jbuf_num(b, a->mase_new);
	aq_jbuf_printf(b, ",\"backtest_days\":%d,\"mae_backtest\":", a->n_backtest);
	aq_jbuf_num(b, a->mae_backtest);
	aq_jbuf_cstr(b, ",\"mase_backtest\":");
	aq_jbuf_num(b, a->mase_backtest);
	aq_jbuf_cstr(b, ",\"wape_backtest\":");
	aq_jbuf_num(b, a->wape_backtest);
	aq_jbuf_cstr(b, ",\"cov80_backtest\":");
	aq_jbuf_num(b, a->cov80_backtest);
	aq_jbuf_cstr(b, ",\"cov95_backtest\":");
	aq_jbuf_num(b, a->cov95_backtest);
	aq_jbuf_cstr(b, "}");
}

static void account(struct aq_serve_state *st, struct aq_serveset *s, const char *oid, struct aq_httpd_resp *rs)
{
	int64_t acc;
	const struct aq_model_row *r;
	struct aq_err e = {0};
	if (parse_account(oid, &acc)) {
		fail(rs, 400, "bad account '%.32s' (a decimal AccountOID >= 1)", oid);
		return;
	}
	if (aq_forecaster_row(&s->f, acc, &r, &e)) {
		fail(rs, 404, "unknown account '%lld': no model for it in the loaded set", (long long)acc);
		return;
	}
	struct aq_jbuf b;
	aq_jbuf_init(&b);
	int32_t first = r->trained_until + 1;
	aq_jbuf_printf(&b, "{\"account\":%lld,\"model_version\":", (long long)acc);
	aq_jbuf_str(&b, s->version);
	aq_jbuf_cstr(&b, ",");
	write_row(&b, r);
	aq_jbuf_cstr(&b, ",\"recent\":{\"from\":");
	aq_jbuf_date(&b, first - AQ_MODEL_RECENT);
	aq_jbuf_cstr(&b, ",\"m3\":[");
	for (int i = 0; i < AQ_MODEL_RECENT; i++) {
		aq_jbuf_cstr(&b, i ? "," : "");
		aq_jbuf_num(&b, r->recent[i]);
	}
	aq_jbuf_cstr(&b, "]},\"forecast_from\":");
	aq_jbuf_date(&b, first);
	aq_jbuf_cstr(&b, ",\"forecast_until_max\":");
	aq_jbuf_date(&b, first + st->o->limits.max_horizon - 1);
	aq_jbuf_printf(&b, ",\"max_horizon\":%d,\"periods\":{", st->o->limits.max_horizon);
	static const int days[3] = {7, 30, 90};
	for (int i = 0; i < 3; i++) {
		aq_jbuf_printf(&b, "%s\"next_%d\":{\"from\":", i ? "," : "", days[i]);
		aq_jbuf_date(&b, first);
		aq_jbuf_cstr(&b, ",\"to\":");
		aq_jbuf_date(&b, first + days[i] - 1);
		aq_jbuf_cstr(&b, "}");
	}
	if (st->have_tariff) {
		int32_t cf, ct;
		aq_tariff_next_cycle(&st->tariff, first, &cf, &ct);
		aq_jbuf_cstr(&b, ",\"next_cycle\":{\"from\":");
		aq_jbuf_date(&b, cf);
		aq_jbuf_cstr(&b, ",\"to\":");
		aq_jbuf_date(&b, ct);
		aq_jbuf_cstr(&b, "}");
	}
	aq_jbuf_cstr(&b, "},\"anomaly\":");
	const struct aq_serve_anomaly *a = aq_serveset_anomaly(s, acc);
	if (a) {
		aq_jbuf_cstr(&b, "{\"kind\":");
		aq_jbuf_str(&b, a->kind);
		aq_jbuf_cstr(&b, ",\"since\":");
		aq_jbuf_date(&b, a->since);
		aq_jbuf_printf(&b, ",\"days\":%d,\"magnitude\":", a->days);
		aq_jbuf_num(&b, a->magnitude);
		aq_jbuf_cstr(&b, ",\"relative\":");
		aq_jbuf_num(&b, a->relative);
		aq_jbuf_cstr(&b, ",\"baseline\":");
		aq_jbuf_num(&b, a->baseline);
		aq_jbuf_cstr(&b, ",\"notice\":");
		notice(&b, a);
		aq_jbuf_cstr(&b, "}");
	} else {
		aq_jbuf_cstr(&b, "null");
	}
	write_accuracy(&b, s, acc);
	aq_jbuf_cstr(&b, "}");
	body(rs, 200, &b);
}

static void total_obj(struct aq_jbuf *b, const double t[5])
{
	static const char *const k[5] = {"mean", "lo80", "hi80", "lo95", "hi95"};
	for (int i = 0; i < 5; i++) {
		aq_jbuf_key(b, k[i], i == 0);
		aq_jbuf_num(b, t[i]);
	}
}

/* /api/forecast and /api/bill: the same checked period, then the days or the bill. */
static void forecast_or_bill(struct aq_serve_state *st, struct aq_serveset *s, const struct aq_httpd_req *rq,
			     int bill, struct aq_httpd_resp *rs)
{
	if (bill && !st->have_tariff) {
		fail(rs, 404, "no tariff configured (start aquacast-serve with --tariff FILE)");
		return;
	}
	int64_t acc;
	int32_t from, to;
	const struct aq_model_row *r;
	if (query_period(rq, s, st->o, &acc, &from, &to, &r, rs))
		return;
	int n = to - from + 1;
	double *v = malloc(5 * (size_t)n * sizeof *v), t[5];
	struct aq_err e = {0};
	if (!v) {
		fail(rs, 500, "out of memory");
		return;
	}
	if (aq_forecaster_range(&s->f, acc, from, to, v, v + n, v + 2 * n, v + 3 * n, v + 4 * n, t, &e)) {
		free(v);
		fail_err(rs, &e);
		return;
	}
	struct aq_jbuf b;
	aq_jbuf_init(&b);
	aq_jbuf_printf(&b, "{\"account\":%lld,\"from\":", (long long)acc);
	aq_jbuf_date(&b, from);
	aq_jbuf_cstr(&b, ",\"to\":");
	aq_jbuf_date(&b, to);
	aq_jbuf_printf(&b, ",\"days\":%d,\"model_version\":", n);
	aq_jbuf_str(&b, s->version);
	aq_jbuf_cstr(&b, ",\"total_m3\":{");
	total_obj(&b, t);
	aq_jbuf_cstr(&b, "}");
	if (bill) {
		double m[5];
		for (int i = 0; i < 5; i++)
			m[i] = aq_tariff_bill(&st->tariff, t[i], n);
		aq_jbuf_cstr(&b, ",\"currency\":");
		aq_jbuf_str(&b, st->tariff.currency);
		aq_jbuf_cstr(&b, ",\"tariff\":");
		aq_jbuf_str(&b, st->tariff.name);
		aq_jbuf_cstr(&b, ",\"bill\":{");
		total_obj(&b, m);
		aq_jbuf_cstr(&b, "}}");
	} else {
		aq_jbuf_cstr(&b, ",\"forecaster\":\"arima\",\"served_by_evaluate\":");
		aq_jbuf_str(&b, r->served ? r->served : "arima");
		write_accuracy(&b, s, acc);
		aq_jbuf_cstr(&b, ",\"daily\":[");
		for (int i = 0; i < n; i++) {
			aq_jbuf_cstr(&b, i ? ",{\"date\":" : "{\"date\":");
			aq_jbuf_date(&b, from + i);
			double d[5] = {v[i], v[n + i], v[2 * n + i], v[3 * n + i], v[4 * n + i]};
			aq_jbuf_cstr(&b, ",");
			total_obj(&b, d);
			aq_jbuf_cstr(&b, "}");
		}
		aq_jbuf_cstr(&b, "]}");
	}
	free(v);
	body(rs, 200, &b);
}

static void metrics(struct aq_serve_state *st, struct aq_serveset *s, struct aq_httpd_resp *rs)
{
	struct aq_jbuf b;
	aq_jbuf_init(&b);
	aq_servemetrics_write(&b, &st->m, s ? s->version : NULL, s ? s->loaded_at : 0, (double)time(NULL),
			      s ? s->n : 0, s != NULL);
	body(rs, 200, &b);
	rs->type = "text/plain; version=0.0.4; charset=utf-8";
}

static enum aq_sm_route route_api(struct aq_serve_state *st, struct aq_serveset *s, const struct aq_httpd_req *rq,
				  struct aq_httpd_resp *rs)
{
	const char *p = rq->path;
	int get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
	enum aq_sm_route route = !strcmp(p, "/metrics")		       ? AQ_SM_METRICS
				 : !strcmp(p, "/api/accounts")	       ? AQ_SM_API_ACCOUNTS
				 : !strncmp(p, "/api/accounts/", 14)   ? AQ_SM_API_ACCOUNT
				 : !strcmp(p, "/api/forecast")	       ? AQ_SM_API_FORECAST
				 : !strcmp(p, "/api/bill")	       ? AQ_SM_API_BILL
				 : !strncmp(p, "/api/", 5)	       ? AQ_SM_OTHER
									       : AQ_SM_STATIC;
	if (route == AQ_SM_OTHER) {
		fail(rs, 404, "no such API route '%.100s'", p);
	} else if (!get) {
		fail(rs, 405, "method '%s' not allowed on '%.100s'", rq->method, p);
		rs->hdr_name[0] = "Allow";
		rs->hdr_value[0] = "GET, HEAD";
	} else if (route == AQ_SM_METRICS) {
		metrics(st, s, rs);
	} else if (route == AQ_SM_STATIC) {
		const struct aq_webfile *f = aq_webroot_find(&st->web, p);
		if (f) {
			rs->status = 200;
			rs->body = f->data;
			rs->len = f->len;
			rs->body_static = 1;
			rs->type = f->type;
			rs->hdr_name[0] = "Cache-Control";
			rs->hdr_value[0] = "no-cache";
		} else if (!strcmp(p, "/favicon.ico")) {
			rs->status = 204;
		} else {
			fail(rs, 404, "not found '%.100s'", p);
			route = AQ_SM_OTHER;
		}
	} else if (!s) {
		fail(rs, 503, "no model set loaded yet");
	} else if (route == AQ_SM_API_ACCOUNTS) {
		accounts_search(s, rq, rs);
	} else if (route == AQ_SM_API_ACCOUNT) {
		account(st, s, p + 14, rs);
	} else {
		forecast_or_bill(st, s, rq, route == AQ_SM_API_BILL, rs);
	}
	return route;
}

void aq_serveapi_handle(void *cls, const struct aq_httpd_req *rq, struct aq_httpd_resp *rs)
{
	struct aq_serve_state *st = cls;
	struct aq_serveset *s = aq_serveapi_acquire(st);
	struct aq_v2_route r;
	aq_v2_route(rq->method, rq->path, &r);
	enum aq_sm_route route = r.kind == AQ_V2_NONE		     ? AQ_SM_OTHER
				 : r.kind == AQ_V2_LIVE || r.kind == AQ_V2_READY ? AQ_SM_V2_HEALTH
				 : r.kind == AQ_V2_SERVER_META		     ? AQ_SM_V2_META
				 : r.kind == AQ_V2_INFER		     ? AQ_SM_V2_INFER
				 : r.kind == AQ_V2_UNKNOWN		     ? AQ_SM_OTHER
									     : AQ_SM_V2_MODEL;
	if (rq->too_large)
		fail(rs, 413, "request body too large (at most %zu bytes)", st->o->limits.max_body);
	else if (r.kind != AQ_V2_NONE)
		v2(st, s, rq, &r, rs);
	else
		route = route_api(st, s, rq, rs);
	aq_serveset_unref(s);
	atomic_fetch_add_explicit(&st->requests, 1, memory_order_relaxed);
	aq_servemetrics_observe(&st->m, route, rs->status, aq_now() - rq->t0);
}
