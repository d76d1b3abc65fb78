/* reference.h — reference forecasters (seasonal naive lag 7, trailing 28-day mean and median, same-weekday median) and their combination with ARIMA. */
#ifndef AQ_REFERENCE_H
#define AQ_REFERENCE_H

/*
 * Every reference looks only at the last AQ_REF_WINDOW days of history
 * (NaN = missing), so that the forecaster serving an account can run on the
 * model set's Recent column alone.
 *
 *   snaive7   f[i] = y[n-7 + i mod 7]; a missing day falls back to the same
 *             weekday 14, 21, 28 days back, then to the window's median.
 *             Interval: f ± z * s * sqrt(floor(i/7) + 1), s = RMS of the
 *             window's lag-7 differences (Hyndman & Athanasopoulos, FPP3
 *             5.5: the h-step sd of the seasonal naive method).
 *   mean28    mean of the window's values; interval mean ± z * sd *
 *             sqrt(1 + 1/k) (k values, sample sd: the iid-normal prediction
 *             interval).
 *   median28  median of the window's values; interval: the window's
 *             empirical quantiles (10/90 %, 2.5/97.5 %), R type 7 — robust
 *             to the spikes of household consumption.
 *   wmed4     f[i] = median of the same weekday in the last 4 weeks,
 *             y[n-7k + i mod 7], k = 1..4 (those present; none: the
 *             window's median). A weekly profile without the spikes of
 *             snaive7's single week. Interval: f + the empirical quantiles
 *             (10/90 %, 2.5/97.5 %, R type 7) of the window's leave-one-out
 *             deviations y_t - median(other days of t's weekday in the
 *             window): out-of-sample errors of a weekday median (of 3
 *             instead of 4 values: slightly wide); NaN bounds with fewer
 *             than 8 deviations.
 *
 * A window with no observation gives NaN forecasts and AQ_ENOTFOUND. Point
 * forecasts are not clipped; lower bounds are clipped at 0 (consumption).
 */

#include <stddef.h>

#include "err.h"

#define AQ_REF_WINDOW 28

enum aq_ref { AQ_REF_SNAIVE7 = 0, AQ_REF_MEAN28, AQ_REF_MEDIAN28, AQ_REF_WMED4, AQ_REF_N };

/* A forecast path of h days into caller buffers; any interval pointer may be NULL. */
struct aq_path {
	double *mean, *lo80, *hi80, *lo95, *hi95;
};

/* "snaive7", "mean28", "median28", "wmed4"; NULL when out of range. */
const char *aq_ref_name(int ref);
/* The enum of a name, or -1. */
int aq_ref_from_name(const char *name);

/* Forecast h days after y[0..n) (y[n-1] is the day before the first forecast). */
int aq_ref_forecast(int ref, const double *y, size_t n, int h, const struct aq_path *out, struct aq_err *e);

/*
 * Combination: the average of two paths, day by day (bounds averaged too —
 * an approximation that is exact for the mean and conservative for perfectly
 * correlated errors). dst may alias a or b. NaN in one side gives the other.
 */
void aq_path_average(const struct aq_path *a, const struct aq_path *b, int h, const struct aq_path *dst);

#endif
