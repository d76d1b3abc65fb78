/* anomaly.h — accounts whose recent readings sit persistently outside their forecast intervals (leaks, stuck meters). */
#ifndef AQ_ANOMALY_H
#define AQ_ANOMALY_H

/*
 * Rules, over the last `days` days of an account (W, default 14) compared
 * with a forecast made before them (lib/evaluate.h: from TrainedUntil, or W
 * days before the last reading if that is earlier):
 *
 *   flat       (stuck meter, or a vacant premise): the last `flat_days`
 *              readings (default 14, all present) are equal, while the 28
 *              days before the forecast origin were not constant; value =
 *              the repeated reading (0 for a meter stuck at zero).
 *   level_up   (leak): at least `share` (default 0.8) of the scored days of
 *              the last W lie above the 95% upper bound, and so do the last
 *              3 days (it has not dropped back).
 *   level_down at least `share` below the 95% lower bound, last 3 too.
 *
 * Evidence: days examined, days outside, direction, magnitude = median of
 * (actual - forecast) over the days outside (m³/day) and relative to the
 * forecast level. A series with fewer than min_days (7) scored days is
 * not judged.
 */

#include <stddef.h>

enum aq_anomaly_kind { AQ_ANOM_NONE = 0, AQ_ANOM_FLAT, AQ_ANOM_LEVEL_UP, AQ_ANOM_LEVEL_DOWN };

struct aq_anomaly_opts {
	int days;        /* W, default 14 */
	int flat_days;   /* default 14 */
	double share;    /* default 0.8 */
	int min_days;    /* default 7 */
};

struct aq_anomaly {
	enum aq_anomaly_kind kind;
	int examined;    /* scored days in the window */
	int outside;     /* above hi95 (level_up), below lo95 (level_down), equal run length (flat) */
	double magnitude;  /* median(actual - forecast) over outside days; flat: the repeated value */
	double relative;   /* magnitude / max(mean forecast level, 1e-9) */
};

void aq_anomaly_opts_default(struct aq_anomaly_opts *o);
const char *aq_anomaly_kind_name(enum aq_anomaly_kind k);   /* "none", "flat", "level_up", "level_down" */

/*
 * Judge the window: actual[0..w) (NaN = missing), forecast mean/lo95/hi95 for
 * the same days, and hist[0..nh) = the history before the forecast origin.
 */
void aq_anomaly_detect(const double *actual, const double *mean, const double *lo95, const double *hi95, int w,
		       const double *hist, size_t nh, const struct aq_anomaly_opts *o, struct aq_anomaly *out);

#endif
