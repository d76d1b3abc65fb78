/* metrics.h — forecast accuracy of one series (MAE, RMSE, MASE, WAPE, bias, interval coverage) and aggregates over accounts. */
#ifndef AQ_METRICS_H
#define AQ_METRICS_H

/*
 * Definitions (Hyndman & Koehler 2006), over the scored days only: a day is
 * scored when its actual is not NaN and its forecast is finite.
 *
 *   e_t   = y_t - f_t                       (positive: under-forecast)
 *   MAE   = mean |e_t|,  RMSE = sqrt(mean e_t^2),  bias = mean (f_t - y_t)
 *   WAPE  = sum |e_t| / sum |y_t|           (NaN when sum |y_t| = 0)
 *   MASE  = MAE / scale, scale = in-sample mean |y_t - y_{t-m}| over the
 *           pairs of the training part where both are present (m = 7)
 *           (NaN when there is no pair or the scale is 0: a constant series
 *           has no naive error to scale by; aggregates skip NaN)
 *   cov80 = share of scored days with lo80 <= y_t <= hi80 (days whose
 *           interval is NaN are not counted), cov95 likewise.
 *   width80 = mean hi80 - lo80 over those days (units of y), width95 likewise.
 *
 * Bias is forecast minus actual so that a positive bias means over-forecast.
 */

#include <stddef.h>

#include "err.h"

/* Running sums of one series' errors; merge to pool windows. */
struct aq_metrics_acc {
	long n;               /* scored days */
	double sum_abs;       /* sum |e| */
	double sum_sq;        /* sum e^2 */
	double sum_fe;        /* sum (f - y) */
	double sum_abs_y;     /* sum |y| */
	double sum_y;         /* sum y (consumption, for weighting) */
	long n_int80, in80;   /* days with an 80% interval, inside it */
	long n_int95, in95;
	double sum_w80, sum_w95;   /* sum of the interval widths */
};

struct aq_metrics {
	long n;
	double mae, rmse, mase, wape, bias, cov80, cov95;
	double width80, width95;
	double scale;         /* the MASE scale used */
	double sum_y;         /* consumption over the scored days */
};

void aq_metrics_acc_init(struct aq_metrics_acc *a);
/*
 * Score one day. actual NaN or forecast not finite: not scored. Interval
 * bounds may be NaN (no interval): the day counts for the point metrics only.
 */
void aq_metrics_acc_add(struct aq_metrics_acc *a, double actual, double fc, double lo80, double hi80,
			double lo95, double hi95);
/* Score a block of days without intervals. */
void aq_metrics_acc_add_n(struct aq_metrics_acc *a, const double *actual, const double *fc, int h);
void aq_metrics_acc_merge(struct aq_metrics_acc *dst, const struct aq_metrics_acc *src);
/* Fill m from a; every field NaN (n = 0) when nothing was scored. */
void aq_metrics_finish(const struct aq_metrics_acc *a, double scale, struct aq_metrics *m);

/*
 * Period totals (issue #15): the error of the h-day total Y = sum of the
 * actuals of h consecutive days from one origin, F = the sum of the daily
 * point forecasts, [L, U] the total's interval at 80 % and 95 %. A total is
 * scored only when all h actuals are present (a sum with a missing day is
 * not the customer's total) and F is finite. Per series, pooled over its
 * windows:
 *
 *   WAPE  = sum |Y - F| / sum |Y|           (NaN when sum |Y| = 0)
 *   MAPE  = mean |Y - F| / |Y| over the totals with Y > 0
 *   cov80 = share of totals with L80 <= Y <= U80 (cov95 likewise)
 *   winkler95 = sum W / sum |Y|, the interval score of the 95 % interval
 *           W = (U - L) + (2/a)(L - Y)[Y < L] + (2/a)(Y - U)[Y > U], a = 0.05
 *           (Winkler 1972; Gneiting & Raftery 2007, 6.2): width plus the
 *           penalty of a miss; scaled by the actual totals like WAPE
 *   width80, width95 = sum (U - L) / sum |Y| (relative mean width)
 */
#define AQ_TOT_NH 3
extern const int aq_tot_horizons[AQ_TOT_NH];   /* 7, 30, 90 days */

struct aq_total_acc {
	long n;                /* totals scored */
	double sum_abs, sum_abs_y, sum_ape;
	long n_ape;            /* totals with Y > 0 */
	long n80, in80, n95, in95;
	double sum_w80, sum_w95, sum_wink95;
};

struct aq_total_metrics {
	long n;
	double wape, mape, cov80, cov95, winkler95, width80, width95;
	double sum_y;          /* sum of the scored actual totals */
};

void aq_total_acc_init(struct aq_total_acc *a);
/* One total: Y actual (NaN: not scored), F forecast, bounds NaN when there is no interval. */
void aq_total_acc_add(struct aq_total_acc *a, double Y, double F, double lo80, double hi80, double lo95,
		      double hi95);
void aq_total_acc_merge(struct aq_total_acc *dst, const struct aq_total_acc *src);
/* Fill m from a; every field NaN (n = 0) when nothing was scored. */
void aq_total_finish(const struct aq_total_acc *a, struct aq_total_metrics *m);
/* Sum of x[0..h), NaN if any is NaN. */
double aq_sum_complete(const double *x, int h);

/* MASE scale: mean |y[t] - y[t-lag]| over t in [lag, n) with both present; NaN if none. */
double aq_mase_scale(const double *y, size_t n, int lag);

/* Distribution of a per-account metric over accounts (NaN values skipped). */
#define AQ_AGG_NQ 7
extern const double aq_agg_probs[AQ_AGG_NQ];   /* 0.05 0.10 0.25 0.50 0.75 0.90 0.95 */

struct aq_agg {
	long n;               /* accounts with a finite value */
	double mean, median, weighted;   /* weighted: sum w v / sum w over finite v and w >= 0 */
	double min, max;
	double q[AQ_AGG_NQ];  /* quantiles at aq_agg_probs, R type 7 (linear interpolation) */
};

/*
 * Aggregate v[0..n) with weights w (consumption over the scored days; may be
 * NULL: weighted = NaN). Fields NaN when no value is finite.
 */
int aq_agg_compute(const double *v, const double *w, size_t n, struct aq_agg *out, struct aq_err *e);
/* Quantile (R type 7) of sorted x[0..n), n > 0. */
double aq_quantile_sorted(const double *x, size_t n, double p);
/* Median of v[0..n), v reordered in place (Hoare's selection, expected O(n)); NaN when n == 0. */
double aq_median_inplace(double *v, size_t n);

#endif
