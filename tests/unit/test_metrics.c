/* test_metrics.c — accuracy metrics and aggregates against hand-computed values and R's quantile(type = 7). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "metrics.h"
#include "test.h"

static void test_point_metrics(void)
{
	/* actual 2, NaN, 4, 0; forecast 1, 5, 5, 1 -> errors y-f: 1, -, -1, -1 */
	struct aq_metrics_acc a;
	struct aq_metrics m;
	aq_metrics_acc_init(&a);
	aq_metrics_acc_add(&a, 2, 1, 0.5, 1.5, 0, 3);    /* outside 80, inside 95 */
	aq_metrics_acc_add(&a, NAN, 5, 0, 9, 0, 9);      /* not scored */
	aq_metrics_acc_add(&a, 4, 5, 3, 6, 2, 8);        /* inside both */
	aq_metrics_acc_add(&a, 0, 1, NAN, NAN, NAN, NAN); /* no interval */
	aq_metrics_finish(&a, 0.5, &m);
	T_EQ_INT(m.n, 3);
	T_NEAR(m.mae, 1.0, 1e-15);
	T_NEAR(m.rmse, 1.0, 1e-15);
	T_NEAR(m.bias, (-1.0 + 1.0 + 1.0) / 3.0, 1e-15);  /* f - y: -1, 1, 1 */
	T_NEAR(m.wape, 3.0 / 6.0, 1e-15);
	T_NEAR(m.mase, 2.0, 1e-15);
	T_NEAR(m.cov80, 0.5, 1e-15);
	T_NEAR(m.cov95, 1.0, 1e-15);
	T_NEAR(m.sum_y, 6.0, 1e-15);
}

static void test_rmse_differs(void)
{
	struct aq_metrics_acc a;
	struct aq_metrics m;
	double y[3] = {0, 0, 0}, f[3] = {1, 2, 3};
	aq_metrics_acc_init(&a);
	aq_metrics_acc_add_n(&a, y, f, 3);
	aq_metrics_finish(&a, NAN, &m);
	T_NEAR(m.mae, 2.0, 1e-15);
	T_NEAR(m.rmse, sqrt(14.0 / 3.0), 1e-15);
	T_CHECK(isnan(m.wape));   /* no consumption: WAPE undefined, not 0 or inf */
	T_CHECK(isnan(m.mase));   /* no scale */
	T_CHECK(isnan(m.cov80));
}

static void test_nothing_scored(void)
{
	struct aq_metrics_acc a;
	struct aq_metrics m;
	aq_metrics_acc_init(&a);
	aq_metrics_acc_add(&a, NAN, 1, 0, 2, 0, 3);
	aq_metrics_acc_add(&a, 1, NAN, 0, 2, 0, 3);
	aq_metrics_finish(&a, 1.0, &m);
	T_EQ_INT(m.n, 0);
	T_CHECK(isnan(m.mae) && isnan(m.mase) && isnan(m.rmse));
}

static void test_merge(void)
{
	struct aq_metrics_acc a, b, c;
	struct aq_metrics m1, m2;
	aq_metrics_acc_init(&a);
	aq_metrics_acc_init(&b);
	aq_metrics_acc_init(&c);
	double y[6] = {1, 2, 3, 4, 5, 6}, f[6] = {2, 2, 2, 2, 2, 2};
	aq_metrics_acc_add_n(&a, y, f, 3);
	aq_metrics_acc_add_n(&b, y + 3, f + 3, 3);
	aq_metrics_acc_add_n(&c, y, f, 6);
	aq_metrics_acc_merge(&a, &b);
	aq_metrics_finish(&a, 1.5, &m1);
	aq_metrics_finish(&c, 1.5, &m2);
	T_EQ_INT(m1.n, 6);
	T_NEAR(m1.mae, m2.mae, 1e-15);
	T_NEAR(m1.rmse, m2.rmse, 1e-15);
	T_NEAR(m1.mae, (1 + 0 + 1 + 2 + 3 + 4) / 6.0, 1e-15);
}

static void test_mase_scale(void)
{
	/* R: y <- c(1,2,NA,4,5,6,7,3,2,2,5,NA,6,9); mean(abs(diff(y, lag = 7)), na.rm = TRUE) = 1 */
	double y[14] = {1, 2, NAN, 4, 5, 6, 7, 3, 2, 2, 5, NAN, 6, 9};
	T_NEAR(aq_mase_scale(y, 14, 7), 1.0, 1e-15);
	T_CHECK(isnan(aq_mase_scale(y, 7, 7)));  /* no pair */
	double c[10] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
	T_NEAR(aq_mase_scale(c, 10, 7), 0.0, 0);
}

static void test_quantiles_r_type7(void)
{
	/* R: quantile(c(3,1,4,1,5,9,2,6,5,3,5), c(.05,.1,.25,.5,.75,.9,.95), type = 7) */
	double v[11] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};
	double want[AQ_AGG_NQ] = {1.0, 1.0, 2.5, 4.0, 5.0, 6.0, 7.5};
	struct aq_agg g;
	T_OK(aq_agg_compute(v, NULL, 11, &g, NULL));
	T_EQ_INT(g.n, 11);
	for (int j = 0; j < AQ_AGG_NQ; j++)
		T_NEAR(g.q[j], want[j], 1e-12);
	T_NEAR(g.median, 4.0, 1e-15);
	T_NEAR(g.mean, 44.0 / 11.0, 1e-14);
	T_NEAR(g.min, 1, 0);
	T_NEAR(g.max, 9, 0);
	T_CHECK(isnan(g.weighted));
}

static void test_weighted_skips_nan(void)
{
	double v[4] = {1.0, NAN, 3.0, INFINITY}, w[4] = {3.0, 100.0, 1.0, 5.0};
	struct aq_agg g;
	T_OK(aq_agg_compute(v, w, 4, &g, NULL));
	T_EQ_INT(g.n, 2);
	T_NEAR(g.mean, 2.0, 1e-15);
	T_NEAR(g.weighted, (3.0 * 1 + 1.0 * 3) / 4.0, 1e-15);
	double none[2] = {NAN, NAN};
	T_OK(aq_agg_compute(none, NULL, 2, &g, NULL));
	T_EQ_INT(g.n, 0);
	T_CHECK(isnan(g.mean) && isnan(g.median) && isnan(g.q[0]));
}

/* Selection median against the median of a sorted copy: odd, even, ties, empty. */
static void test_median_inplace(void)
{
	T_CHECK(isnan(aq_median_inplace(NULL, 0)));
	double one[] = { 4.5 };
	T_NEAR(aq_median_inplace(one, 1), 4.5, 0);
	uint64_t r = 88172645463325252ull;
	for (size_t n = 2; n < 60; n++) {
		double v[60], s[60];
		for (size_t i = 0; i < n; i++) {
			r ^= r << 13; r ^= r >> 7; r ^= r << 17;
			v[i] = s[i] = (double)(r % 9);   /* many ties */
		}
		for (size_t i = 1; i < n; i++)   /* insertion sort of the copy */
			for (size_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
				double t = s[j]; s[j] = s[j - 1]; s[j - 1] = t;
			}
		double want = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
		T_NEAR(aq_median_inplace(v, n), want, 0);
	}
}

int main(void)
{
	T_RUN(test_point_metrics);
	T_RUN(test_rmse_differs);
	T_RUN(test_nothing_scored);
	T_RUN(test_merge);
	T_RUN(test_mase_scale);
	T_RUN(test_quantiles_r_type7);
	T_RUN(test_weighted_skips_nan);
	T_RUN(test_median_inplace);
	T_DONE();
}
