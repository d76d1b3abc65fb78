/* series.h — one account's daily series for fitting: calendar, missing days, invalid readings, outliers, window. */
#ifndef AQ_SERIES_H
#define AQ_SERIES_H

/*
 * Preparation (issue #4 item 1), in this order:
 *  1. Calendar: one slot per day from the first to the last reading (dates
 *     after opts.until are dropped first). Days without a reading stay NaN —
 *     never 0: a gap is "unknown", not "no consumption".
 *  2. Invalid: negative or non-finite readings become NaN.
 *  3. Outliers (rule "hampel-log1p"): on u = log1p(y / c), c the median of
 *     the account's positive readings, a reading is an outlier when it lies
 *     above BOTH the rolling median of the +-half_window days around it by
 *     more than t * max(1.4826 * rolling MAD, floor) AND the account's
 *     global median of u by more than t * max(1.4826 * global MAD, floor).
 *     Only upward spikes: zeros (vacations) and low days are real water
 *     use; meter faults and bursts are spikes above the typical level.
 *     Outliers become NaN for fitting (the ARIMA filter skips them).
 *  4. Window: when opts.window > 0 only the last `window` days are kept
 *     (bounded fitting cost; long seasonal series are slow, forecast #353).
 * The rule and its parameters are recorded in the model (aq_series_rule_json).
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct aq_series_opts {
	int half_window;   /* Hampel half window in days, default 14 (29-day window) */
	double t;          /* threshold in robust standard deviations, default 5 */
	double floor;      /* minimum robust sd on the log1p scale, default 0.25 */
	int window;        /* keep the last `window` days, 0 = all; default 0 */
	int32_t until;     /* ignore readings after this date; AQ_DATE_MAX = none */
};

void aq_series_opts_default(struct aq_series_opts *o);

struct aq_series {
	int32_t first;     /* date of y[0] */
	size_t n, cap;     /* days in the calendar (after the window) */
	double *y;         /* cleaned values, NaN = missing */
	size_t nobs;       /* finite values in y */
	size_t ninvalid;   /* negative/non-finite readings (whole history) */
	size_t noutliers;  /* readings flagged by the outlier rule (whole history) */
	size_t nmissing;   /* calendar days without any reading (whole history) */
	int32_t last_reading;  /* date of the last reading (any value), or -1 */
	size_t ndays_total;    /* calendar length before the window */
};

void aq_series_init(struct aq_series *s);
void aq_series_release(struct aq_series *s);

/*
 * Build s from one account's readings (dates strictly increasing as given
 * by aq_dataset_read_part; duplicates keep the last). k may be 0 (then n = 0).
 */
int aq_series_build(struct aq_series *s, const int32_t *date, const double *value, size_t k,
		    const struct aq_series_opts *o, struct aq_err *e);

/* Outlier flags of x[0..n) under the rule above (1 = outlier); NaN never flagged. */
int aq_series_hampel(const double *x, size_t n, const struct aq_series_opts *o, unsigned char *flag,
		     struct aq_err *e);

/* JSON of the rule and its parameters into buf (for the model's CleanRule). */
const char *aq_series_rule_json(const struct aq_series_opts *o, char *buf, size_t len);

/* Linear interpolation of NaNs (ends held constant) into out; all-NaN gives zeros. */
void aq_series_interp(const double *x, size_t n, double *out);

#endif
