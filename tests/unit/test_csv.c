/* test_csv.c — the strict readings CSV reader: shapes, edge cases, bad rows, exact numbers. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "date.h"
#include "test.h"

/* Parse a whole buffer, fed in pieces of `step` bytes (0 = at once). */
static int parse(const char *text, size_t step, const struct aq_csv_opts *o, struct aq_readings *out,
		 struct aq_csv_stats *st, struct aq_err *e)
{
	struct aq_csv_reader r;
	size_t len = strlen(text), i = 0;
	int rc;

	if ((rc = aq_csv_reader_init(&r, o, e)))
		return rc;
	if (!step)
		step = len ? len : 1;
	while (i < len) {
		size_t n = len - i < step ? len - i : step;

		if ((rc = aq_csv_reader_feed(&r, text + i, n, out, e)))
			goto done;
		i += n;
	}
	rc = aq_csv_reader_finish(&r, out, e);
done:
	if (st)
		*st = r.stats;
	aq_csv_reader_release(&r);
	return rc;
}

static int32_t D(const char *s)
{
	int32_t d = 0;

	aq_date_parse(s, 10, &d, NULL);
	return d;
}

static void test_basic(void)
{
	struct aq_readings r;
	struct aq_csv_stats st;
	struct aq_err e = { 0 };

	aq_readings_init(&r);
	T_OK(parse("ConsumptionDate,AccountOID,Consumption\n"
		   "2022-04-01,3216049,0.0\n"
		   "2022-04-01,3097332,1.127\n"
		   "2022-04-02,3097332,-2.5e1\n",
		   0, NULL, &r, &st, &e));
	T_ASSERT(r.n == 3);
	T_EQ_INT(st.header, 1);
	T_EQ_INT(st.rows, 3);
	T_EQ_INT(st.lines, 4);
	T_EQ_INT(r.date[0], D("2022-04-01"));
	T_EQ_INT(r.account[1], 3097332);
	T_CHECK(r.value[1] == 1.127);
	T_CHECK(r.value[2] == -25.0);
	T_EQ_INT(st.min_date, D("2022-04-01"));
	T_EQ_INT(st.max_date, D("2022-04-02"));
	aq_readings_release(&r);
}

/* Columns found by name in any order; a pandas index column is ignored. */
static void test_column_order_and_index(void)
{
	struct aq_readings r;
	struct aq_csv_stats st;
	struct aq_err e = { 0 };

	aq_readings_init(&r);
	T_OK(parse(",Consumption,accountoid,ConsumptionDate\n"
		   "0,0.348,3120772,2022-04-01\n"
		   "1,,3173639,2022-04-01\n",
		   0, NULL, &r, &st, &e));
	T_ASSERT(r.n == 2);
	T_EQ_INT(r.account[0], 3120772);
	T_CHECK(r.value[0] == 0.348);
	T_CHECK(isnan(r.value[1]));
	T_EQ_INT(st.missing, 1);
	aq_readings_release(&r);
}

/* The assignment's sample as printed: tab-separated, a row number first, no header, trailing spaces. */
static void test_headerless_sample(void)
{
	struct aq_readings r;
	struct aq_csv_stats st;
	struct aq_err e = { 0 };

	aq_readings_init(&r);
	T_OK(parse("1\t2022-04-01\t3216049\t0.0  \n2\t2022-04-01\t3216050\t0.0  \n3\t2022-04-01\t3097332\t1.127  \n",
		   0, NULL, &r, &st, &e));
	T_ASSERT(r.n == 3);
	T_EQ_INT(st.header, 0);
	T_EQ_INT(r.account[2], 3097332);
	T_CHECK(r.value[2] == 1.127);
	aq_readings_release(&r);
	aq_readings_init(&r);
	T_OK(parse("2022-04-01,3216049,0.5\n2022-04-02,3216049,0.25", 0, NULL, &r, &st, &e));
	T_EQ_INT(r.n, 2);
	aq_readings_release(&r);
}

static void test_bom_crlf_no_final_newline(void)
{
	struct aq_readings r, r1;
	struct aq_csv_stats st;
	struct aq_err e = { 0 };
	const char *text = "\xEF\xBB\xBF" "ConsumptionDate,AccountOID,Consumption\r\n"
			   "2022-04-01,1,1.5\r\n\r\n"
			   "2022-04-02 00:00:00.000,1,NULL\r\n"
			   "2022-04-03T00:00:00,1,nan\r\n"
			   "2022-04-04,1,2";

	aq_readings_init(&r);
	T_OK(parse(text, 0, NULL, &r, &st, &e));
	T_ASSERT(r.n == 4);
	T_EQ_INT(st.header, 1);
	T_EQ_INT(st.blank, 1);
	T_EQ_INT(st.missing, 2);
	T_CHECK(r.value[3] == 2.0);
	T_EQ_INT(r.date[3], D("2022-04-04"));
	/* The same bytes fed one at a time (BOM, CR and lines split anywhere). */
	aq_readings_init(&r1);
	T_OK(parse(text, 1, NULL, &r1, &st, &e));
	T_ASSERT(r1.n == r.n);
	for (size_t i = 0; i < r.n; i++) {
		T_EQ_INT(r1.date[i], r.date[i]);
		T_EQ_INT(r1.account[i], r.account[i]);
		T_CHECK(r1.value[i] == r.value[i] || (isnan(r1.value[i]) && isnan(r.value[i])));
	}
	aq_readings_release(&r);
	aq_readings_release(&r1);
}

static void test_quoted(void)
{
	struct aq_readings r;
	struct aq_csv_stats st;
	struct aq_err e = { 0 };
	struct aq_csv_opts o = { .max_bad = 10, .count_dups = 1 };

	aq_readings_init(&r);
	T_OK(parse("\"ConsumptionDate\",\"AccountOID\",\"Consumption\"\n"
		   "\"2022-04-01\",\"3216049\",\"0.75\"\n"
		   "\"2022-04-02\", 3216049 ,\"1,5\"\n"      /* bad: comma inside the number */
		   "\"2022-04-03\",\"3216049\",\"0.5\n"      /* bad: unterminated quote */
		   "\"2022-04-04\",\"32\"\"16049\",0.5\n",   /* bad: quote inside the id */
		   0, &o, &r, &st, &e));
	T_ASSERT(r.n == 1);
	T_CHECK(r.value[0] == 0.75);
	T_EQ_INT(st.bad, 3);
	T_EQ_INT(st.first_bad_line, 3);
	aq_readings_release(&r);
}

static void on_bad(void *ctx, uint64_t line, const char *why)
{
	uint64_t *lines = ctx;

	lines[lines[0] + 1] = line;
	lines[0]++;
}

static void test_bad_rows(void)
{
	const char *text = "ConsumptionDate,AccountOID,Consumption\n"
			   "2022-04-01,3216049,0.5\n"
			   "2022-04-01,3216050,abc\n"     /* 3: text in a number */
			   "2023-02-29,3216050,1\n"       /* 4: no such date */
			   "2022-04-01,3216050\n"         /* 5: two columns */
			   "2022-04-01,32160x0,1\n"       /* 6: text in the id */
			   "2022-04-01,3216050,1.2.3\n"   /* 7: malformed number */
			   "2022-04-01,-5,1\n"            /* 8: negative id */
			   "2022-04-02 13:00:00,5,1\n"    /* 9: a time that is not midnight */
			   "2022-04-01,3216050,inf\n"     /* 10: not finite */
			   "2022-04-01,3216050,1e999\n"   /* 11: overflows */
			   "1890-01-01,3216050,1\n"       /* 12: out of range */
			   "2022-04-03,3216051,7\n";
	uint64_t lines[16] = { 0 };
	struct aq_csv_opts o = { .max_bad = 100, .count_dups = 1, .on_bad = on_bad, .on_bad_ctx = lines };
	struct aq_readings r;
	struct aq_csv_stats st;
	struct aq_err e = { 0 };
	int rc;

	aq_readings_init(&r);
	T_OK(parse(text, 0, &o, &r, &st, &e));
	T_EQ_INT(r.n, 2);
	T_EQ_INT(st.bad, 10);
	T_EQ_INT(lines[0], 10);
	for (int i = 0; i < 10; i++)
		T_EQ_INT(lines[i + 1], 3 + i);
	T_CHECK(strstr(st.first_bad, "line 3") && strstr(st.first_bad, "abc"));
	aq_readings_release(&r);

	/* Strict default: the first bad row fails the read and names its line. */
	aq_readings_init(&r);
	rc = parse(text, 7, NULL, &r, &st, &e);
	T_EQ_INT(rc, AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "line 3") != NULL);
	T_EQ_INT(r.n, 1);
	aq_readings_release(&r);

	/* A header missing a column, a duplicate column. */
	aq_readings_init(&r);
	T_EQ_INT(parse("ConsumptionDate,Account,Consumption\n2022-04-01,1,1\n", 0, NULL, &r, &st, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "AccountOID") != NULL);
	T_EQ_INT(parse("ConsumptionDate,AccountOID,Consumption,consumption\n", 0, NULL, &r, &st, &e),
		 AQ_EFORMAT);
	T_EQ_INT(parse("a,b\n", 0, NULL, &r, &st, &e), AQ_EFORMAT);
	T_EQ_INT(r.n, 0);
	aq_readings_release(&r);
}

static void test_duplicates(void)
{
	struct aq_readings r;
	struct aq_csv_stats st;
	struct aq_err e = { 0 };
	struct aq_csv_opts o = { .count_dups = 1 };

	aq_readings_init(&r);
	T_OK(parse("2022-04-01,1,1\n2022-04-01,2,1\n2022-04-01,1,2\n2022-04-02,1,1\n2022-04-01,1,3\n", 0, &o, &r,
		   &st, &e));
	T_EQ_INT(r.n, 5); /* kept: latest-wins happens downstream */
	T_EQ_INT(st.dups, 2);
	aq_readings_release(&r);
}

/* Our parser against glibc strtod (an independent, correctly rounded implementation). */
static void test_parse_double_vs_strtod(void)
{
	uint64_t s = 0x9E3779B97F4A7C15u;
	char buf[64];
	int mismatches = 0;
	static const char *fixed[] = { "0", "-0.0", "1.127", "0.1", "123456789012345", "1234567890123456789",
				       "0.000000000000000000001", "9007199254740993", "1e22", "1e23", "4.9e-324",
				       ".5", "5.", "+3.25", "1.7976931348623157e308" };

	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++) {
		double a = 0, b = strtod(fixed[i], NULL);

		T_OK(aq_csv_parse_double(fixed[i], strlen(fixed[i]), &a));
		if (memcmp(&a, &b, sizeof(a)))
			T_FAIL("'%s' -> %.17g, strtod %.17g", fixed[i], a, b);
	}
	for (int i = 0; i < 200000; i++) {
		double a = 0, b;
		int n;

		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		switch (i % 4) {
		case 0: n = snprintf(buf, sizeof(buf), "%.3f", (double)(s % 100000000) / 997.0); break;
		case 1: n = snprintf(buf, sizeof(buf), "%.17g", (double)(s >> 11) * 0x1p-53 * 1e6); break;
		case 2: n = snprintf(buf, sizeof(buf), "%llue%d", (unsigned long long)(s % 100000000),
				    (int)(s >> 40) % 40 - 20); break;
		default: n = snprintf(buf, sizeof(buf), "-%llu.%06llu", (unsigned long long)(s % 1000),
				     (unsigned long long)((s >> 20) % 1000000)); break;
		}
		b = strtod(buf, NULL);
		if (aq_csv_parse_double(buf, (size_t)n, &a) || memcmp(&a, &b, sizeof(a))) {
			if (mismatches++ < 5)
				T_FAIL("'%s' -> %.17g, strtod %.17g", buf, a, b);
		}
	}
	T_EQ_INT(mismatches, 0);
	for (const char **p = (const char *[]){ "", "-", ".", "e5", "1e", "1e+", "0x10", "1 2", "nan", "--1", NULL };
	     *p; p++) {
		double a;

		if (aq_csv_parse_double(*p, strlen(*p), &a) == 0)
			T_FAIL("'%s' accepted", *p);
	}
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

/*
 * Property: random rows written in random but valid styles (quotes, spaces, CRLF,
 * exponents, midnight times, NaN spellings) parse back to exactly the values
 * written, whatever the feed's chunking.
 */
static void test_random_roundtrip(void)
{
	const int n = 20000;
	size_t cap = (size_t)n * 80 + 64, len = 0;
	char *text = malloc(cap);
	int32_t *d = malloc(n * sizeof(*d));
	int64_t *a = malloc(n * sizeof(*a));
	double *v = malloc(n * sizeof(*v));
	uint64_t s = 12345;
	struct aq_readings r;
	struct aq_err e = { 0 };
	struct aq_csv_stats st;
	static const char *nan_words[] = { "", "NaN", "nan", "NULL", "null", "NA" };

	T_ASSERT(text && d && a && v);
	len += (size_t)sprintf(text, "AccountOID;\"Consumption\";ConsumptionDate\r\n");
	for (int i = 0; i < n; i++) {
		char date[AQ_DATE_STRLEN], val[64];
		int style = (int)(xs(&s) % 8);

		d[i] = AQ_DATE_MIN + (int32_t)(xs(&s) % (AQ_DATE_MAX - AQ_DATE_MIN + 1));
		a[i] = 1 + (int64_t)(xs(&s) % 9999999999ull);
		aq_date_format(d[i], date);
		switch (style) {
		case 0: snprintf(val, sizeof(val), "%.3f", (double)(xs(&s) % 2000000) / 1000 - 1000); break;
		case 1: snprintf(val, sizeof(val), "%.17g", (double)(xs(&s) >> 11) * 0x1p-53 * 900); break;
		case 2: snprintf(val, sizeof(val), "%.6e", (double)(xs(&s) % 1000000) / 7.0); break;
		case 3: snprintf(val, sizeof(val), "%s", nan_words[xs(&s) % 6]); break;
		default: snprintf(val, sizeof(val), "%llu", (unsigned long long)(xs(&s) % 100000)); break;
		}
		v[i] = style == 3 ? NAN : strtod(val, NULL);
		len += (size_t)snprintf(text + len, cap - len, style & 1 ? "\"%lld\" ;%s; %s%s\r\n" : "%lld;\"%s\";%s%s\n",
					(long long)a[i], val, date, style == 4 ? " 00:00:00" : style == 6 ? "T00:00:00.000" : "");
	}
	for (size_t step = 0; step <= 4099; step += 4099) {
		aq_readings_init(&r);
		T_OK(parse(text, step ? step : 0, NULL, &r, &st, &e));
		T_ASSERT(r.n == (size_t)n);
		for (int i = 0; i < n; i++) {
			if (r.date[i] != d[i] || r.account[i] != a[i] ||
			    !(r.value[i] == v[i] || (isnan(r.value[i]) && isnan(v[i])))) {
				T_FAIL("row %d differs", i + 2);
				break;
			}
		}
		aq_readings_release(&r);
	}
	free(text);
	free(d);
	free(a);
	free(v);
}

/* Mutated input never crashes, and what is accepted is within the contract's ranges. */
static void test_mutation_fuzz(void)
{
	const char *base = "ConsumptionDate,AccountOID,Consumption\n2022-04-01,3216049,0.25\n\"2022-04-02\",3216049,\"1e2\"\r\n"
			   "2022-04-03,3216050,\n2022-04-04,3216051,NaN\n";
	size_t blen = strlen(base);
	char buf[256];
	uint64_t s = 99;
	struct aq_csv_opts o = { .max_bad = 1000, .count_dups = 1 };

	for (int it = 0; it < 30000; it++) {
		struct aq_readings r;
		struct aq_err e = { 0 };
		struct aq_csv_stats st;
		int nm = 1 + (int)(xs(&s) % 4);

		memcpy(buf, base, blen + 1);
		for (int k = 0; k < nm; k++) {
			size_t pos = xs(&s) % blen;
			static const char alphabet[] = "0123456789-.,\"\r\n eE+aN\t;";

			buf[pos] = alphabet[xs(&s) % (sizeof(alphabet) - 1)];
		}
		aq_readings_init(&r);
		parse(buf, 1 + xs(&s) % 16, &o, &r, &st, &e);
		for (size_t i = 0; i < r.n; i++) {
			if (r.date[i] < AQ_DATE_MIN || r.date[i] > AQ_DATE_MAX || r.account[i] <= 0 ||
			    isinf(r.value[i])) {
				T_FAIL("iteration %d: out-of-contract row accepted", it);
				break;
			}
		}
		aq_readings_release(&r);
	}
}

/* DAIAD trial A: counts from the data set's SOURCE.md (34,292 rows, 91 meters, 2016-03-02..2017-05-18). */
static int count_accounts(void *ctx, const struct aq_readings *c, struct aq_err *e)
{
	uint8_t *seen = ctx;

	for (size_t i = 0; i < c->n; i++)
		if (c->account[i] < 1000)
			seen[c->account[i]] = 1;
	return 0;
}

static void test_daiad(void)
{
	/* tests/run.sh exports AQ_DAIAD (../shared beside the clone, else /work/shared) */
	const char *path = getenv("AQ_DAIAD") ? getenv("AQ_DAIAD") : "/work/shared/data/daiad/daily.csv";
	uint8_t seen[1000] = { 0 };
	struct aq_csv_stats st;
	struct aq_err e = { 0 };
	struct aq_csv_opts o = { .count_dups = 1, .chunk_rows = 5000 };
	int n = 0;

	if (access(path, R_OK)) {
		T_FAIL("DAIAD data missing: '%s' (set AQ_DAIAD)", path);
		return;
	}
	T_OK(aq_csv_read_file(path, &o, count_accounts, seen, &st, &e));
	for (int i = 0; i < 1000; i++)
		n += seen[i];
	T_EQ_INT(st.rows, 34292);
	T_EQ_INT(n, 91);
	T_EQ_INT(st.bad, 0);
	T_EQ_INT(st.dups, 0);
	T_EQ_INT(st.min_date, D("2016-03-02"));
	T_EQ_INT(st.max_date, D("2017-05-18"));
}

/* A file without a single reading is an error naming it (unless allow_empty). */
static void test_empty_file(void)
{
	static const char *const bodies[] = { "", "ConsumptionDate,AccountOID,Consumption\n",
					      "ConsumptionDate,AccountOID,Consumption\r\n\r\n\n", "\n\n" };
	char path[] = "/tmp/aq_test_csv_empty_XXXXXX";
	struct aq_readings r;
	struct aq_err e = { 0 };
	struct aq_csv_opts allow = { .allow_empty = 1 }, tolerate = { .max_bad = 5 };
	int fd = mkstemp(path);

	T_ASSERT(fd >= 0);
	close(fd);
	aq_readings_init(&r);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		FILE *f = fopen(path, "w");

		T_ASSERT(f);
		fputs(bodies[i], f);
		fclose(f);
		e.msg[0] = '\0';
		T_EQ_INT(aq_csv_load(path, NULL, &r, NULL, &e), AQ_ENOTFOUND);
		T_CHECK(strstr(e.msg, "no readings in '") && strstr(e.msg, path));
		T_OK(aq_csv_load(path, &allow, &r, NULL, &e));
		T_EQ_INT(r.n, 0);
	}
	{
		FILE *f = fopen(path, "w");

		T_ASSERT(f);
		fputs("ConsumptionDate,AccountOID,Consumption\nnotadate,1,2\n", f);
		fclose(f);
		T_EQ_INT(aq_csv_load(path, &tolerate, &r, NULL, &e), AQ_ENOTFOUND);
		T_CHECK(strstr(e.msg, "(every row was bad)") != NULL);
	}
	aq_readings_release(&r);
	unlink(path);
}

int main(void)
{
	T_RUN(test_basic);
	T_RUN(test_column_order_and_index);
	T_RUN(test_headerless_sample);
	T_RUN(test_bom_crlf_no_final_newline);
	T_RUN(test_quoted);
	T_RUN(test_bad_rows);
	T_RUN(test_duplicates);
	T_RUN(test_parse_double_vs_strtod);
	T_RUN(test_random_roundtrip);
	T_RUN(test_mutation_fuzz);
	T_RUN(test_daiad);
	T_RUN(test_empty_file);
	T_DONE();
}
