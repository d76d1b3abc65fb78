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
};

struct aq_metrics {
	long n;
	double mae, rmse, mase, wape, bias, cov80, cov95;
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
