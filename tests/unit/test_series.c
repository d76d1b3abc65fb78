/* test_series.c — series preparation: calendar, NaN handling, outlier rule on planted spikes, window. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "date.h"
#include "series.h"
#include "test.h"

/* deterministic noise: xorshift64* mapped to (0,1) */
static uint64_t rs = 88172645463325252ULL;
static double urand(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return ((rs * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0) + 1e-12;
}

static void test_calendar_and_missing(void)
{
	int32_t d0 = aq_date_from_ymd(2022, 4, 1);
	int32_t date[] = {d0, d0 + 1, d0 + 3, d0 + 4, d0 + 4, d0 + 6};
	double val[] = {1.0, -2.0, NAN, 3.0, 4.0, 0.0};
	struct aq_series_opts o;
	aq_series_opts_default(&o);
	struct aq_series s;
	aq_series_init(&s);
	struct aq_err e = {0};
	T_OK(aq_series_build(&s, date, val, 6, &o, &e));
	T_EQ_INT(s.n, 7);
	T_EQ_INT(s.first, d0);
	T_NEAR(s.y[0], 1.0, 0);
	T_CHECK(isnan(s.y[1]));      /* negative -> missing */
	T_CHECK(isnan(s.y[2]));      /* no reading -> missing, never 0 */
	T_CHECK(isnan(s.y[3]));      /* NaN reading */
	T_NEAR(s.y[4], 4.0, 0);      /* duplicate day: the last wins */
	T_CHECK(isnan(s.y[5]));
	T_NEAR(s.y[6], 0.0, 0);      /* a zero is a real zero */
	T_EQ_INT(s.ninvalid, 2);
	T_EQ_INT(s.nmissing, 2);
	T_EQ_INT(s.nobs, 3);
	/* until drops later readings */
	o.until = d0 + 4;
	T_OK(aq_series_build(&s, date, val, 6, &o, &e));
	T_EQ_INT(s.n, 5);
	T_NEAR(s.y[4], 4.0, 0);
	/* no readings at all */
	T_OK(aq_series_build(&s, date, val, 0, &o, &e));
	T_EQ_INT(s.n, 0);
	aq_series_release(&s);
}

static void test_leading_missing_and_window(void)
{
	int32_t date[40];
	double val[40];
	for (int i = 0; i < 40; i++) {
		date[i] = 19000 + i;
		val[i] = i < 3 ? -1.0 : 1.0 + i;
	}
	struct aq_series_opts o;
	aq_series_opts_default(&o);
	struct aq_series s;
	aq_series_init(&s);
	struct aq_err e = {0};
	T_OK(aq_series_build(&s, date, val, 40, &o, &e));
	T_EQ_INT(s.first, 19003);   /* starts at the first valid value */
	T_EQ_INT(s.n, 37);
	o.window = 10;
	T_OK(aq_series_build(&s, date, val, 40, &o, &e));
	T_EQ_INT(s.n, 10);
	T_EQ_INT(s.first, 19030);
	T_NEAR(s.y[9], 40.0, 0);
	aq_series_release(&s);
}

static void test_hampel_planted_spikes(void)
{
	enum { N = 730 };
	double x[N];
	unsigned char flag[N];
	int spike[] = {40, 41, 200, 333, 500, 729};
	for (int i = 0; i < N; i++) {
		/* lognormal day-to-day noise around a weekly profile, sd 0.35 on the log scale */
		double z = sqrt(-2 * log(urand())) * cos(2 * M_PI * urand());
		x[i] = 0.4 * (1 + 0.3 * (i % 7 >= 5)) * exp(0.35 * z);
	}
	for (int i = 300; i < 321; i++)
		x[i] = 0;   /* a vacation: real zeros */
	for (int i = 600; i < 610; i++)
		x[i] = NAN; /* a gap */
	for (size_t k = 0; k < sizeof spike / sizeof *spike; k++)
		x[spike[k]] = 0.4 * (k % 2 ? 30 : 500);   /* meter faults: 30x and 500x the level */
	struct aq_series_opts o;
	aq_series_opts_default(&o);
	struct aq_err e = {0};
	T_OK(aq_series_hampel(x, N, &o, flag, &e));
	int found = 0, fp = 0;
	for (int i = 0; i < N; i++) {
		int is_spike = 0;
		for (size_t k = 0; k < sizeof spike / sizeof *spike; k++)
			is_spike |= spike[k] == i;
		if (flag[i] && is_spike)
			found++;
		else if (flag[i])
			fp++;
	}
	T_EQ_INT(found, 6);
	T_CHECK(fp <= 2);   /* a lognormal tail day may exceed 5 robust sd; rarely */
	for (int i = 300; i < 321; i++)
		T_CHECK(!flag[i]);
	/* the first day after the vacation is normal use, not a spike */
	T_CHECK(!flag[321]);
	/* all-zero / no positive value: nothing flagged */
	double z[50] = {0};
	T_OK(aq_series_hampel(z, 50, &o, flag, &e));
	for (int i = 0; i < 50; i++)
		T_CHECK(!flag[i]);
}

static void test_build_removes_outliers(void)
{
	enum { N = 200 };
	int32_t date[N];
	double val[N];
	for (int i = 0; i < N; i++) {
		date[i] = 19000 + i;
		val[i] = 1.0 + 0.2 * sin(i * 0.9);
	}
	val[100] = 850;   /* the old notebook's threshold case */
	struct aq_series_opts o;
	aq_series_opts_default(&o);
	struct aq_series s;
	aq_series_init(&s);
	struct aq_err e = {0};
	T_OK(aq_series_build(&s, date, val, N, &o, &e));
	T_CHECK(isnan(s.y[100]));
	T_EQ_INT(s.noutliers, 1);
	T_EQ_INT(s.nobs, N - 1);
	char buf[512];
	T_CHECK(strstr(aq_series_rule_json(&o, buf, sizeof buf), "\"rule\":\"hampel-log1p\"") != NULL);
	aq_series_release(&s);
}

static void test_interp(void)
{
	double x[] = {NAN, 1, NAN, NAN, 4, NAN};
	double out[6];
	aq_series_interp(x, 6, out);
	T_NEAR(out[0], 1, 1e-12);
	T_NEAR(out[2], 2, 1e-12);
	T_NEAR(out[3], 3, 1e-12);
	T_NEAR(out[5], 4, 1e-12);
}

int main(void)
{
	T_RUN(test_calendar_and_missing);
	T_RUN(test_leading_missing_and_window);
	T_RUN(test_hampel_planted_spikes);
	T_RUN(test_build_removes_outliers);
	T_RUN(test_interp);
	T_DONE();
}
