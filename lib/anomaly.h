/* anomaly.h — accounts whose recent readings shift persistently away from their own history (leaks), or stop (stuck meters, vacancies). */
#ifndef AQ_ANOMALY_H
#define AQ_ANOMALY_H

/*
 * An account's readings actual[0..n) (NaN = missing or invalid) and an
 * origin o: the days before o are the history the account is judged
 * against (lib/evaluate.h: TrainedUntil, or `days` before the last reading
 * if that is earlier); the served forecast of [o, n) is used for the
 * evidence and a sign check only, so the rules work with any forecaster.
 *
 *   flat       (stuck meter, or a vacant premise / vacation: from daily
 *              totals both are a run of equal readings, nearly always 0,
 *              so they are one kind): the last `flat_days` days (default
 *              14) hold at least flat_days/2 present readings, all equal,
 *              and the 28 days before the run were not constant (an
 *              account that always read 0 is not flagged). value = the
 *              repeated reading.
 *   level_up   (leak) / level_down: a persistent additive shift of the
 *              last L days, L in 7, 14, ..., `days` (default 28; L <= n - o),
 *              tested against the account's own history:
 *                baseline B_L median of the weekly means of the base_weeks
 *                             (default 8) latest weeks before the window
 *                             [n-L, n) (whole weeks: the weekday pattern
 *                             cancels; the median ignores a vacation week or
 *                             a spike; weeks of zeros, a vacation or a stuck
 *                             meter, are skipped, looking back at most 3x
 *                             base_weeks weeks); just before the window, so
 *                             that the seasonal drift between the two is
 *                             small,
 *                shift d_L    mean of the last L days - B_L,
 *                null         the same statistic S_L(p) = mean of [p, p+L) -
 *                             B(p) at earlier origins p, every other day, of
 *                             the last half year, whose window ends by o. Block means of the
 *                             account's own readings carry its
 *                             autocorrelation, weekly and seasonal drift and
 *                             past events, so no model of the forecast
 *                             errors' correlation is needed.
 *                z_L = (d_L - c) / sqrt(s^2 + c^2): s = 1.4826 MAD of S_L
 *                (robust: past leaks and vacations are a minority), c = the
 *                median of S_L(p) over the last 28 days of p, the current
 *                seasonal drift, taken only when it has the sign of d_L (a
 *                drift may explain a shift, never strengthen one) and, being
 *                an estimate of a moving drift, also widening the scale; the
 *                scale is floored at 1% of B_L and 1 litre/day.
 *              The largest |z_L| that passes is taken: |z| >= z (default 4.5:
 *              four overlapping tests, a scale estimated from the history),
 *              |d| >= min_rel B (default 0.2: small against typical use is
 *              not actionable; drops: min_rel_down, default 0.5, smaller
 *              ones are weather and habits), the last 7 days shifted by at
 *              least half of d and not back by half of d from the week
 *              before (a repaired leak is not reported), and at least
 *              `share` (default 0.7) of the window's days on the shift's
 *              side of the served point forecast (one spike cannot make a
 *              shift).
 *              Needs >= 4 weekly means in the baseline, >= 20 earlier
 *              origins (about 11 weeks of history before o) and >= L/2 + 1
 *              present days in the window; else not judged.
 *              Limits: with less than a year of history a seasonal turn
 *              the history has not shown (the first autumn fall or spring
 *              rise of a garden) can pass for a shift: the centre and
 *              min_rel_down contain it (docs/accuracy.md, anomalies).
 *
 * Evidence: kind, start (index of the first day of the window or run),
 * examined (present days in it), outside (of those, beyond the served 95%
 * bound on the shift's side; flat: present days of the run), magnitude
 * (d in m³/day; flat: the repeated value), relative (magnitude / B), z,
 * baseline B (B_L of the window; otherwise B at the origin).
 */

#include <stddef.h>

enum aq_anomaly_kind { AQ_ANOM_NONE = 0, AQ_ANOM_FLAT, AQ_ANOM_LEVEL_UP, AQ_ANOM_LEVEL_DOWN };

struct aq_anomaly_opts {
	int days;          /* longest window L, default 28 (multiples of 7 are tried) */
	int flat_days;     /* default 14 */
	int base_weeks;    /* default 8 */
	double z;          /* default 4.5 */
	double min_rel;    /* default 0.2 */
	double min_rel_down;  /* level_down: default 0.5 */
	double share;      /* default 0.7 */
};

struct aq_anomaly {
	enum aq_anomaly_kind kind;
	int start;         /* first day of the judged window or flat run (index into actual) */
	int examined;      /* present days in it */
	int outside;       /* beyond the served 95% bound on the shift's side; flat: present days of the run */
	double magnitude;  /* m³/day: mean shift against the baseline; flat: the repeated reading */
	double relative;   /* magnitude / baseline */
	double z;          /* standardized shift against the account's own history (NaN: not computed) */
	double baseline;   /* typical use B, m³/day (NaN: too little history) */
};

void aq_anomaly_opts_default(struct aq_anomaly_opts *o);
const char *aq_anomaly_kind_name(enum aq_anomaly_kind k);   /* "none", "flat", "level_up", "level_down" */

/*
 * Judge actual[0..n) with history before origin; fmean/lo95/hi95 (may be
 * NULL) hold the served forecast of days [origin, n). Allocates O(n)
 * scratch only for accounts whose shift passes the cheap checks (returns
 * AQ_ENOMEM, leaving kind NONE, if that fails).
 */
int aq_anomaly_detect(const double *actual, size_t n, size_t origin, const double *fmean, const double *lo95,
		      const double *hi95, const struct aq_anomaly_opts *o, struct aq_anomaly *out);

#endif
