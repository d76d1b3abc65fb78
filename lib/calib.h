/* calib.h — calibrated forecast intervals: quantiles of standardised backtest errors, per account, shrunk to a pooled shape. */
#ifndef AQ_CALIB_H
#define AQ_CALIB_H

/*
 * Split-conformal style calibration (Lei et al. 2018, "Distribution-free
 * predictive inference for regression", split conformal with a scale
 * function): an account's backtest errors of the served forecast, e = Y - F,
 * for a day or a period total of L days from the origin, are standardised by
 * the model's own forecast sd S of the same day or total (the ARIMA psi
 * weights: S carries the account's scale and the growth with the horizon),
 * times rho, the local scale at the window's origin over the one at the
 * serving origin (lib/evaluate.h, enum aq_cal_scale; rho = 1 at serving),
 * z = e / (S rho). The interval of a new day or total is
 *
 *   [F + q_i(plo) S, F + q_i(phi) S]   (lower bound clipped at 0)
 *
 * with q_i the calibrated quantiles of account i. An account has at most a
 * few windows (4 x 30 days: 120 daily z, 4 totals per L), too few for a 2.5 %
 * quantile, so q_i is a location-scale shrinkage estimate (the robust
 * analogue of an empirical-Bayes hierarchical model):
 *
 *   m_i = median z_i, r_i = median |z_i - m_i|          (own location, MAD)
 *   m_0, r_0 = medians of m_i, r_i over the accounts with >= 3 values
 *   w_i = n_i / (n_i + n0)                              (n0: prior weight)
 *   m~_i = w_i m_i + (1 - w_i) m_0,  log r~_i = w_i log r_i + (1 - w_i) log r_0
 *   u_ij = (z_ij - m~_i(-w)) / r~_i(-w) pooled over all accounts, Q(p) its quantile
 *   q_i(p) = m~_i + r~_i Q(p)
 *
 * where m~_i(-w), r~_i(-w) are the shrunk estimates without the window w of
 * z_ij (leave one window out, as jackknife+ does: Barber et al. 2021): the
 * pooled shape Q is then that of an error the own estimates have not seen,
 * as a new window's will be; in-sample residuals would make Q too narrow.
 *
 * (With 4 windows a total's own scale comes from 3 values in the leave-one-out
 * step: on accounts that are in fact alike, N(0,1), Q of the totals is about
 * 1.3x the normal quantile — tests/unit/test_evaluate.c, test_calib.)
 * So an account with a long, calm (or wild) history gets narrow (or wide)
 * intervals and one without history the pooled ones. n0 = 30 for days and 8
 * for totals (a priori: an own scale from 4 totals is mostly noise), not tuned.
 * Kinds: daily (L = 1), totals of 7 and 30 days from the origin; a period
 * of another length L uses the quantiles interpolated linearly in log L
 * between the kinds (L >= 30: the 30-day ones).
 */

#include <stddef.h>

#include "err.h"

#define AQ_CAL_NK 3     /* kinds: daily, 7-day total, 30-day total */
#define AQ_CAL_NP 4     /* probabilities 0.025 0.10 0.90 0.975 */
#define AQ_CAL_MAXZ 128 /* values kept per kind and account (the latest) */
extern const int aq_cal_lengths[AQ_CAL_NK];    /* 1, 7, 30 */
extern const double aq_cal_probs[AQ_CAL_NP];

/* One account's standardised backtest errors. */
struct aq_cal_sample {
	int n[AQ_CAL_NK];
	float z[AQ_CAL_NK][AQ_CAL_MAXZ];
	unsigned char w[AQ_CAL_NK][AQ_CAL_MAXZ];   /* the window (origin) of each value */
};

/* Calibrated quantiles of z per kind; ok = 0: not calibrated (use the Gaussian interval). */
struct aq_cal {
	int ok;
	double q[AQ_CAL_NK][AQ_CAL_NP];
};

struct aq_cal_opts {
	double n0_daily, n0_total;   /* prior weights, default 30 and 8 */
	int forward;                 /* shape from each window against the older windows only (tried, docs/accuracy.md; default 0) */
};
void aq_cal_opts_default(struct aq_cal_opts *o);

void aq_cal_sample_init(struct aq_cal_sample *s);
/* Add the error of one day (kind 0) or total (1, 2) of backtest window `window`; skipped unless Y, F finite and S > 0. */
void aq_cal_sample_add(struct aq_cal_sample *s, int kind, int window, double Y, double F, double S);

/*
 * Calibrate every account: s[0..n) the samples (NULL entries: no history),
 * out[0..n) their quantiles (an account without history gets the pooled
 * quantiles m_0 + r_0 Q(p)). AQ_ENOTFOUND when no account has a value of
 * some kind (nothing to pool; out all ok = 0).
 */
int aq_cal_fit(const struct aq_cal_sample *const *s, size_t n, const struct aq_cal_opts *o, struct aq_cal *out,
	       struct aq_err *e);

/*
 * The same on views of the samples: n[k] values z[k][0..n) with their windows
 * w[k][0..n), oldest window first, in whatever storage the caller keeps them
 * (lib/evalset.c packs them per part: 5 bytes a value, not a whole
 * aq_cal_sample). aq_cal_view_of views a sample.
 */
struct aq_cal_view {
	int n[AQ_CAL_NK];
	const float *z[AQ_CAL_NK];
	const unsigned char *w[AQ_CAL_NK];
};
void aq_cal_view_of(struct aq_cal_view *v, const struct aq_cal_sample *s);
int aq_cal_fit_views(const struct aq_cal_view *const *s, size_t n, const struct aq_cal_opts *o, struct aq_cal *out,
		     struct aq_err *e);

/*
 * The interval of a day or period of L days (L >= 1) at level 0.8 or 0.95
 * around the point forecast F with model sd S. Not calibrated (c NULL or
 * c->ok = 0): the Gaussian F -/+ z S. Lower bound clipped at 0.
 */
void aq_cal_interval(const struct aq_cal *c, int L, double F, double S, double level, double *lo, double *hi);

/* Serialised form (model-set column Calib): AQ_CAL_NK * AQ_CAL_NP doubles, kind-major; empty = not calibrated. */
#define AQ_CAL_NVALUES (AQ_CAL_NK * AQ_CAL_NP)

#endif
