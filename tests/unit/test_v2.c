/* test_v2.c — the V2 protocol module: routes, strict infer parsing, responses, and random/mutated bodies (never a crash). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test.h"
#include "v2.h"

static const char *good =
	"{\"id\":\"r1\",\"inputs\":[{\"name\":\"account_oid\",\"shape\":[2],\"datatype\":\"INT64\",\"data\":[3000001,3000002]},"
	"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[30]}]}";

static int parse(const char *s, struct aq_v2_request *r, struct aq_err *e)
{
	struct aq_v2_limits l;
	aq_v2_limits_default(&l);
	l.max_batch = 8;
	return aq_v2_parse_infer(s, strlen(s), &l, r, e);
}

static void test_routes(void)
{
	struct aq_v2_route r;
	aq_v2_route("GET", "/v2/health/live", &r);
	T_CHECK(r.kind == AQ_V2_LIVE && r.method_ok);
	aq_v2_route("GET", "/v2/health/ready", &r);
	T_CHECK(r.kind == AQ_V2_READY && r.method_ok);
	aq_v2_route("GET", "/v2", &r);
	T_CHECK(r.kind == AQ_V2_SERVER_META);
	aq_v2_route("GET", "/v2/models/aquacast", &r);
	T_CHECK(r.kind == AQ_V2_MODEL_META && !strcmp(r.model, "aquacast") && !r.version[0]);
	aq_v2_route("POST", "/v2/models/aquacast/versions/7/infer", &r);
	T_CHECK(r.kind == AQ_V2_INFER && r.method_ok && !strcmp(r.version, "7"));
	aq_v2_route("GET", "/v2/models/aquacast/infer", &r);
	T_CHECK(r.kind == AQ_V2_INFER && !r.method_ok);
	aq_v2_route("GET", "/v2/models/aquacast/ready", &r);
	T_CHECK(r.kind == AQ_V2_MODEL_READY && r.method_ok);
	const char *unknown[] = {"/v2/", "/v2/models", "/v2/models/", "/v2/models/a b", "/v2/models/..",
				 "/v2/models/x/infer/", "/v2/models//infer", "/v2/health", "/v2/health/dead",
				 "/v2/models/x/versions", "/v2/a/b/c/d/e/f/g/h/i"};
	for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
		aq_v2_route("GET", unknown[i], &r);
		if (r.kind != AQ_V2_UNKNOWN)
			T_FAIL("'%s' routed to %d", unknown[i], r.kind);
	}
	aq_v2_route("GET", "/v2x", &r);
	T_CHECK(r.kind == AQ_V2_NONE);
	aq_v2_route("GET", "/api/forecast", &r);
	T_CHECK(r.kind == AQ_V2_NONE);
}

static void test_parse_good(void)
{
	struct aq_v2_request r;
	struct aq_err e = {0};
	aq_v2_request_init(&r);
	T_OK(parse(good, &r, &e));
	T_EQ_INT(r.n, 2);
	T_EQ_INT(r.accounts[1], 3000002);
	T_EQ_INT(r.horizon, 30);
	T_CHECK(r.has_id && !strcmp(r.id, "r1"));
	T_EQ_INT(r.outputs, AQ_V2_OUT_ALL);
	/* nested data [B,1], dates, an outputs subset */
	T_OK(parse("{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[2,1],\"datatype\":\"INT64\",\"data\":[[5],[6]]},"
		   "{\"name\":\"start_date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2024-02-28\"]},"
		   "{\"name\":\"end_date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2024-03-01\"]}],"
		   "\"outputs\":[{\"name\":\"total\"},{\"name\":\"mean\",\"parameters\":{\"binary_data\":false}}]}",
		   &r, &e));
	T_EQ_INT(r.n, 2);
	T_EQ_INT(r.horizon, 0);
	T_EQ_INT(r.to - r.from, 2);
	T_EQ_INT(r.outputs, AQ_V2_OUT_TOTAL | AQ_V2_OUT_MEAN);
	aq_v2_request_release(&r);
}

static void test_parse_bad(void)
{
	const char *cases[] = {
		"", "{", "[]", "null", "{\"inputs\":[]}", "{\"inputs\":{}}",
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[1]}]}", /* no period */
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[3]}]}",
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[2],\"datatype\":\"INT64\",\"data\":[1]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[3]}]}", /* shape mismatch */
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[1.5]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[3]}]}",
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[-4]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[3]}]}",
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[367]}]}", /* over the limit */
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[0]}]}",
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[9],\"datatype\":\"INT64\",\"data\":[1,2,3,4,5,6,7,8,9]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[3]}]}", /* batch over 8 */
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]},"
		"{\"name\":\"start_date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2024-02-30\"]},"
		"{\"name\":\"end_date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2024-03-01\"]}]}",
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]},"
		"{\"name\":\"start_date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2024-03-02\"]},"
		"{\"name\":\"end_date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2024-03-01\"]}]}", /* reversed */
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]},"
		"{\"name\":\"start_date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2024-03-02\"]}]}", /* no end */
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]},"
		"{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]}]}", /* repeated */
		"{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]}]}",
		"{\"id\":7,\"inputs\":[]}", "{\"foo\":1,\"inputs\":[]}", "{\"inputs\":[],\"inputs\":[]}",
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[3]}],\"outputs\":[{\"name\":\"zz\"}]}",
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[4]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[3]}]} trailing",
		"{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[99999999999999999999]},"
		"{\"name\":\"horizon_days\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[3]}]}",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct aq_v2_request r;
		struct aq_err e = {0};
		aq_v2_request_init(&r);
		int rc = parse(cases[i], &r, &e);
		if (rc >= 0 || !e.msg[0])
			T_FAIL("case %zu accepted: %s", i, cases[i]);
		if (r.accounts)
			T_FAIL("case %zu left accounts allocated", i);
	}
}

static void test_response(void)
{
	struct aq_v2_request r;
	struct aq_err e = {0};
	aq_v2_request_init(&r);
	T_OK(parse(good, &r, &e));
	double m[2][30];
	struct aq_v2_series s[2];
	for (int i = 0; i < 2; i++) {
		for (int d = 0; d < 30; d++)
			m[i][d] = 0.1 * d + i;
		s[i] = (struct aq_v2_series){.from = 19700 + i, .to = 19729 + i, .mean = m[i], .lo80 = m[i], .hi80 = m[i],
					     .lo95 = m[i], .hi95 = m[i], .total = {1, 0.5, 1.5, 0.25, 2.0 / 3}};
	}
	struct aq_jbuf b;
	aq_jbuf_init(&b);
	aq_v2_infer_response(&b, "aquacast", "3", &r, s);
	T_OK(aq_jbuf_ok(&b));
	json_error_t je;
	json_t *j = json_loadb(b.p, b.len, 0, &je);
	T_ASSERT(j);
	T_CHECK(!strcmp(json_string_value(json_object_get(j, "id")), "r1"));
	json_t *outs = json_object_get(j, "outputs");
	T_EQ_INT(json_array_size(outs), 12);
	json_t *mean = json_array_get(outs, 2);
	T_CHECK(!strcmp(json_string_value(json_object_get(mean, "name")), "mean"));
	T_EQ_INT(json_integer_value(json_array_get(json_object_get(mean, "shape"), 1)), 30);
	T_EQ_INT(json_array_size(json_object_get(mean, "data")), 60);
	T_NEAR(json_real_value(json_array_get(json_object_get(mean, "data"), 31)), 1.1, 0);
	T_NEAR(json_real_value(json_array_get(json_object_get(json_array_get(outs, 11), "data"), 0)), 2.0 / 3, 1e-15);
	json_decref(j);
	aq_jbuf_release(&b);
	aq_v2_model_metadata(&b, "aquacast", "3");
	j = json_loadb(b.p, b.len, 0, &je);
	T_CHECK(j && json_array_size(json_object_get(j, "outputs")) == 12);
	json_decref(j);
	aq_jbuf_release(&b);
	aq_v2_error(&b, "bad \"x\" \xc3\xa9\n");
	j = json_loadb(b.p, b.len, 0, &je);
	T_CHECK(j && !strcmp(json_string_value(json_object_get(j, "error")), "bad \"x\" ??\n"));
	json_decref(j);
	aq_jbuf_release(&b);
	aq_v2_request_release(&r);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void);

/* Numbers: 15 significant digits, valid JSON, relative error <= 5e-15 (+ rounding), over many magnitudes. */
static void test_numbers(void)
{
	const double fixed[] = {0, -0.0, 1, -1, 0.1, 1.1, 123456789012.5, 999999999999.6, 9.9999999999995,
				1e-9, 1e15, 1.5e15, 3e-12, 0.000123, 100, 1e14, 0.526};
	const char *want[] = {"0", "0", "1", "-1", "0.1", "1.1", "123456789012.5", "999999999999.6", "9.9999999999995",
			      NULL, NULL, NULL, NULL, "0.000123", "100", "100000000000000", "0.526"};
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
		struct aq_jbuf b;
		aq_jbuf_init(&b);
		aq_jbuf_num(&b, fixed[i]);
		if (want[i] && strcmp(b.p, want[i]))
			T_FAIL("%.17g printed '%s', want '%s'", fixed[i], b.p, want[i]);
		aq_jbuf_release(&b);
	}
	int bad = 0;
	for (int i = 0; i < 200000 && bad < 5; i++) {
		uint64_t r = next();
		double v = (double)(r >> 11) / 9007199254740992.0 * pow(10, (int)(next() % 40) - 20) * ((r & 1) ? -1 : 1);
		struct aq_jbuf b;
		aq_jbuf_init(&b);
		aq_jbuf_num(&b, v);
		json_error_t je;
		json_t *j = json_loadb(b.p, b.len, JSON_DECODE_ANY, &je);
		double back = j ? json_number_value(j) : NAN;
		if (!j || !(fabs(back - v) <= 6e-15 * fabs(v)))
			T_FAIL("%.17g printed '%s' (bad=%d)", v, b.p, ++bad);
		json_decref(j);
		aq_jbuf_release(&b);
	}
}
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Mutations of good bodies and random bytes: every outcome is 0 with sane fields or an error with a message. */
static void test_fuzz(void)
{
	const char *seeds[] = {good,
			       "{\"inputs\":[{\"name\":\"account_oid\",\"shape\":[1,1],\"datatype\":\"INT64\",\"data\":[[7]]},"
			       "{\"name\":\"start_date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2024-01-01\"]},"
			       "{\"name\":\"end_date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2024-01-31\"]}],"
			       "\"outputs\":[{\"name\":\"total\"}],\"parameters\":{\"a\":1}}"};
	const char tokens[] = "{}[],:\"0123456789-.eE tfnul\\INT64BYTES";
	int accepted = 0, rejected = 0;
	char buf[1024];
	for (int it = 0; it < 60000; it++) {
		size_t n;
		if (it % 10 == 9) { /* random bytes */
			n = next() % 200;
			for (size_t i = 0; i < n; i++)
				buf[i] = (char)(next() % 3 ? tokens[next() % (sizeof tokens - 1)] : (char)next());
		} else {
			const char *s = seeds[it & 1];
			n = strlen(s);
			memcpy(buf, s, n);
			int k = 1 + (int)(next() % 4);
			for (int j = 0; j < k && n > 0; j++) {
				size_t pos = next() % n;
				switch (next() % 4) {
				case 0: buf[pos] = tokens[next() % (sizeof tokens - 1)]; break;
				case 1: buf[pos] = (char)next(); break;
				case 2: memmove(buf + pos, buf + pos + 1, n - pos - 1); n--; break;
				default:
					if (n < sizeof buf - 1) {
						memmove(buf + pos + 1, buf + pos, n - pos);
						buf[pos] = tokens[next() % (sizeof tokens - 1)];
						n++;
					}
				}
			}
		}
		struct aq_v2_request r;
		struct aq_err e = {0};
		struct aq_v2_limits l;
		aq_v2_limits_default(&l);
		aq_v2_request_init(&r);
		int rc = aq_v2_parse_infer(buf, n, &l, &r, &e);
		if (rc == 0) {
			accepted++;
			if (r.n < 1 || r.n > (size_t)l.max_batch || !r.accounts || !r.outputs ||
			    (r.horizon ? r.horizon > l.max_horizon : (r.to < r.from || r.to - r.from >= l.max_horizon))) {
				T_FAIL("accepted with bad fields: %.*s", (int)n, buf);
				break;
			}
		} else {
			rejected++;
			if (!e.msg[0] || r.accounts) {
				T_FAIL("rejected without a message or with accounts left: %.*s", (int)n, buf);
				break;
			}
		}
		aq_v2_request_release(&r);
	}
	T_CHECK(accepted > 100 && rejected > 1000);
	printf("# fuzz: %d accepted, %d rejected\n", accepted, rejected);
}

int main(void)
{
	T_RUN(test_routes);
	T_RUN(test_parse_good);
	T_RUN(test_parse_bad);
	T_RUN(test_response);
	T_RUN(test_numbers);
	T_RUN(test_fuzz);
	T_DONE();
}
