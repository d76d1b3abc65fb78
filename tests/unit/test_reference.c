/* test_reference.c — reference forecasters against hand-computed values and R (median, quantile type 7, sd). */
#include <math.h>
#include <string.h>

#include "reference.h"
#include "test.h"

/* R: v (28 days, one NA); see the values in the test below. */
static const double win28[28] = {0.2, NAN, 0.5, 0.1, 0.9, 0.3, 0.3, 0.4, 0.2, 0.25, 1.5, 0.3, 0.2, 0.1,
				 0, 0.2, 0.3, 0.35, 0.4, 0.3, 0.2, 0.1, 0.6, 0.7, 0.2, 0.3, 0.25, 0.3};

static void test_median28_r(void)
{
	/* R: vv <- v[!is.na(v)]; median(vv) 0.3; quantile(vv, c(.1,.9,.025,.975)) 0.1 0.64 0.065 1.11 */
	double hist[40];
	for (int i = 0; i < 12; i++)
		hist[i] = 100.0;  /* older than the window: must be ignored */
	memcpy(hist + 12, win28, sizeof(win28));
	double m[5], l8[5], h8[5], l9[5], h9[5];
	struct aq_path p = {m, l8, h8, l9, h9};
	T_OK(aq_ref_forecast(AQ_REF_MEDIAN28, hist, 40, 5, &p, NULL));
	for (int i = 0; i < 5; i++) {
		T_NEAR(m[i], 0.3, 1e-12);
		T_NEAR(l8[i], 0.1, 1e-12);
		T_NEAR(h8[i], 0.64, 1e-12);
		T_NEAR(l9[i], 0.065, 1e-12);
		T_NEAR(h9[i], 1.11, 1e-12);
	}
}

static void test_mean28_r(void)
{
	/* R: mean(vv) 0.35; sd(vv) * sqrt(1 + 1/27) 0.304196667528776 */
	double m[3], l8[3], h8[3], l9[3], h9[3];
	struct aq_path p = {m, l8, h8, l9, h9};
	T_OK(aq_ref_forecast(AQ_REF_MEAN28, win28, 28, 3, &p, NULL));
	double sd = 0.304196667528776;
	T_NEAR(m[2], 0.35, 1e-12);
	T_NEAR(h8[0], 0.35 + 1.2815515655446004 * sd, 1e-12);
	T_NEAR(h9[1], 0.35 + 1.959963984540054 * sd, 1e-12);
	T_NEAR(l9[1], 0.0, 0);  /* 0.35 - 1.96 sd < 0: clipped */
	T_NEAR(l8[1], 0.0, 0);  /* also below 0 */
}

static void test_snaive7(void)
{
	/* R: d <- v[8:28] - v[1:21]; sqrt(mean(d^2, na.rm = TRUE)) 0.467038542306735 */
	double m[15], h9[15];
	struct aq_path p = {m, NULL, NULL, NULL, h9};
	T_OK(aq_ref_forecast(AQ_REF_SNAIVE7, win28, 28, 15, &p, NULL));
	for (int i = 0; i < 15; i++)
		T_NEAR(m[i], win28[21 + i % 7], 0);
	double s = 0.467038542306735;
	T_NEAR(h9[0], m[0] + 1.959963984540054 * s, 1e-12);
	T_NEAR(h9[7], m[7] + 1.959963984540054 * s * sqrt(2.0), 1e-12);
	T_NEAR(h9[14], m[14] + 1.959963984540054 * s * sqrt(3.0), 1e-12);
}

/*
 * wmed4 against R (the weekday medians and the type-7 quantiles of the
 * leave-one-out deviations, computed in R from v):
 *   f <- sapply(0:8, function(i) median(v[n - 7 * (1:4) + i %% 7 + 1], na.rm = TRUE))
 *   dev: v[t] - median(v[other days of t's weekday]); quantile(dev, c(.1, .9, .025, .975), type = 7)
 * and the same on v[4:28] (25 days: a window shorter than 28, weekdays by offset).
 */
static void test_wmed4_r(void)
{
	static const double f28[9] = {0.15, 0.2, 0.4, 0.275, 0.35, 0.275, 0.25, 0.15, 0.2};
	static const double q28[4] = {-0.2, 0.4, -0.25, 0.845};
	static const double f25[9] = {0.1, 0.2, 0.3, 0.275, 0.35, 0.275, 0.25, 0.1, 0.2};
	static const double q25[4] = {-0.23, 0.415, -0.25, 0.88};
	double m[9], l8[9], h8[9], l9[9], h9[9];
	struct aq_path p = {m, l8, h8, l9, h9};
	for (int c = 0; c < 2; c++) {
		const double *f = c ? f25 : f28, *q = c ? q25 : q28;
		T_OK(aq_ref_forecast(AQ_REF_WMED4, win28 + 3 * c, 28 - 3 * (size_t)c, 9, &p, NULL));
		for (int i = 0; i < 9; i++) {
			T_NEAR(m[i], f[i], 1e-12);
			T_NEAR(l8[i], fmax(0, f[i] + q[0]), 1e-12);
			T_NEAR(h8[i], f[i] + q[1], 1e-12);
			T_NEAR(l9[i], fmax(0, f[i] + q[2]), 1e-12);
			T_NEAR(h9[i], f[i] + q[3], 1e-12);
		}
	}
	/* a week of history: weekday medians of one value each, too few deviations for an interval */
	T_OK(aq_ref_forecast(AQ_REF_WMED4, win28 + 21, 7, 9, &p, NULL));
	for (int i = 0; i < 9; i++) {
		T_NEAR(m[i], win28[21 + i % 7], 0);
		T_CHECK(isnan(h9[i]) && isnan(l8[i]));
	}
	T_CHECK(strcmp(aq_ref_name(AQ_REF_WMED4), "wmed4") == 0 && aq_ref_from_name("wmed4") == AQ_REF_WMED4);
}

static void test_snaive7_missing_falls_back(void)
{
	double y[28];
	for (int i = 0; i < 28; i++)
		y[i] = i;
	y[21] = NAN;  /* weekday of forecast day 0 missing last week: take 14 days back (y[14]) */
	y[22] = y[15] = NAN;  /* day 1: 21 days back (y[8]) */
	double m[3];
	struct aq_path p = {m, NULL, NULL, NULL, NULL};
	T_OK(aq_ref_forecast(AQ_REF_SNAIVE7, y, 28, 3, &p, NULL));
	T_NEAR(m[0], 14, 0);
	T_NEAR(m[1], 8, 0);
	T_NEAR(m[2], 23, 0);
}

static void test_empty_window(void)
{
	double y[40];
	for (int i = 0; i < 40; i++)
		y[i] = i < 12 ? 1.0 : NAN;
	double m[2];
	struct aq_path p = {m, NULL, NULL, NULL, NULL};
	struct aq_err e = {0};
	T_EQ_INT(aq_ref_forecast(AQ_REF_MEDIAN28, y, 40, 2, &p, &e), AQ_ENOTFOUND);
	T_CHECK(isnan(m[0]) && isnan(m[1]));
	T_CHECK(strstr(e.msg, "median28") != NULL);
	/* short history: the window is what there is */
	double s[3] = {1, 5, 2};
	T_OK(aq_ref_forecast(AQ_REF_MEDIAN28, s, 3, 2, &p, NULL));
	T_NEAR(m[0], 2, 0);
}

static void test_names_and_average(void)
{
	for (int r = 0; r < AQ_REF_N; r++)
		T_EQ_INT(aq_ref_from_name(aq_ref_name(r)), r);
	T_EQ_INT(aq_ref_from_name("arima"), -1);
	T_CHECK(aq_ref_name(AQ_REF_N) == NULL);
	double am[2] = {1, NAN}, bm[2] = {3, 4}, ah[2] = {2, 2}, bh[2] = {4, NAN}, dm[2], dh[2];
	struct aq_path a = {am, NULL, NULL, NULL, ah}, b = {bm, NULL, NULL, NULL, bh}, d = {dm, NULL, NULL, NULL, dh};
	aq_path_average(&a, &b, 2, &d);
	T_NEAR(dm[0], 2, 0);
	T_NEAR(dm[1], 4, 0);
	T_NEAR(dh[0], 3, 0);
	T_NEAR(dh[1], 2, 0);
}

int main(void)
{
	T_RUN(test_median28_r);
	T_RUN(test_mean28_r);
	T_RUN(test_snaive7);
	T_RUN(test_wmed4_r);
	T_RUN(test_snaive7_missing_falls_back);
	T_RUN(test_empty_window);
	T_RUN(test_names_and_average);
	T_DONE();
}
