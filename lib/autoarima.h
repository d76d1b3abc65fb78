/* autoarima.h — automatic ARIMA order selection (Hyndman & Khandakar 2008, as R's forecast::auto.arima). */
#ifndef AQ_AUTOARIMA_H
#define AQ_AUTOARIMA_H

/*
 * What it does, step by step (R's forecast 8.20 auto.arima, stepwise):
 *  - the series starts at its first non-missing value; n* counts non-missing
 *    values between first and last;
 *  - constant series: ARIMA(0,0,0) with mean (returned with info.constant_series);
 *  - D (season s > 1, n > 2s): seasonal strength 1 - Var(R)/Var(R+S) > 0.64
 *    from an STL decomposition (aq_seas_strength: our own STL, s.window 11,
 *    t.window 13, l.window s, 2 inner passes, no robustness iterations, as
 *    R's mstl() calls stl(); NaNs linearly interpolated for the
 *    decomposition, the variances taken over non-missing days only);
 *  - d: KPSS level test on the non-missing values of the (seasonally
 *    differenced) series concatenated (R's ndiffs does na.omit), lag
 *    trunc(3 sqrt(n)/13), p-value interpolated linearly in the critical
 *    values 0.347/0.463/0.574/0.739 (10/5/2.5/1%) and clamped; difference
 *    while p < alpha (0.05), up to max_d;
 *  - constant: mean when d+D = 0, drift when d+D = 1;
 *  - approximation (n > 150 or s > 12 unless forced): candidates fitted by
 *    CSS and scored AIC = offset + n* log(sigma2_CSS) + 2k with
 *    offset = -2 loglik - n* log(sigma2) of one ML fit of (0,d,0)(0,D,0);
 *  - AICc = AIC + 2k(k+1)/(n' - k - 1), k = ncoef + 1, n' = n* - d - sD;
 *  - rejected (score +Inf): fit failed, any AR/MA root with modulus < 1.01,
 *    or (check_vcov) a negative/NaN coefficient variance (R's checkarima);
 *  - stepwise: start (2,d,2)(1,D,1), (0,d,0)(0,D,0), (1,d,0)(1,D,0),
 *    (0,d,1)(0,D,1), then (0,d,0)(0,D,0) without constant; then neighbour
 *    moves in R's order (P-1, Q-1, P+1, Q+1, P-1Q-1, P-1Q+1, P+1Q-1, P+1Q+1,
 *    p-1, q-1, p+1, q+1, p-1q-1, p-1q+1, p+1q-1, p+1q+1, constant toggle),
 *    restarting from the first improvement; a tried model is never refitted;
 *    at most nmodels (94) fits;
 *  - final: with approximation, the tried models are refitted by CSS-ML in
 *    increasing order of approximate AICc until one is accepted; deviation
 *    from R: after max_refits rejected refits, a candidate with a seasonal
 *    MA part is refitted without it, after 3 x max_refits only pure AR
 *    candidates are tried — R's cascade of rejected MA-at-the-unit-circle
 *    ML fits is its slowest path.
 * Deviation from R (documented): candidates are warm-started from the
 * current best model's estimates (opts.warm_start), which only changes the
 * optimiser's starting point. For speed: CSS candidates stop at a relative
 * CSS decrease of 1e-8 or 100 Levenberg–Marquardt iterations, and an ML fit
 * whose expanded MA polynomial keeps a root within 1.005 of the unit circle
 * for 4 BFGS iterations is rejected there (R finishes it, up to 100
 * iterations, and rejects it at 1.01; aq_arima_fit_opts.ml_unit_ma_stop).
 */

#include <stddef.h>

#include "arima.h"
#include "err.h"

struct aq_auto_opts {
	int season;                 /* 0 (non-seasonal) or the period, e.g. 7 */
	int max_p, max_q, max_P, max_Q, max_order, max_d, max_D;
	int start_p, start_q, start_P, start_Q;
	int nmodels;                /* 94 */
	int approximation;          /* -1 auto (n > 150 or s > 12), 0 off, 1 on */
	double alpha;               /* unit-root test level, 0.05 */
	double seas_threshold;      /* 0.64 */
	int d, D;                   /* -1: chosen by the tests */
	int allow_drift, allow_mean;
	int check_vcov;             /* reject models with invalid coefficient variances (R) */
	int warm_start;             /* start neighbours from the best model's estimates */
	double min_root;            /* 1.01 */
	int max_refits;             /* rejected final refits after which Q > 0 candidates are skipped (8) */
	int exact_missing;          /* 1: estimate with the exact likelihood over gaps (slow); 0: impute for estimation */
};

void aq_auto_opts_default(struct aq_auto_opts *o);

struct aq_auto_info {
	int d, D;
	double kpss_stat;           /* statistic of the first KPSS test (NaN if none) */
	double seas_strength;       /* NaN when not computed */
	int approximation;
	double offset;
	int nfits;                  /* candidate fits (search) */
	int nrefits;                /* ML refits at the end */
	int constant_series;        /* returned the (0,0,0) mean model of a constant series */
	double ic;                  /* AICc of the returned model (ML) */
};

/*
 * Select and fit. On success m holds the chosen model fitted by CSS-ML
 * (state at the end of y). Fails with AQ_ENUMERIC when no model could be
 * fitted (callers fall back).
 */
int aq_auto_arima(const double *y, size_t n, const struct aq_auto_opts *o, struct aq_arima_model *m,
		  struct aq_auto_info *info, struct aq_arima_ws *ws, struct aq_err *e);

/*
 * Estimation on gappy series (deviation from R unless opts.exact_missing):
 * interior missing days are imputed for ESTIMATION only
 * (aq_fill_interior), so the complete-series fast likelihood is used; the
 * chosen model's loglik/sigma2/AIC/AICc/BIC/nobs and its filter state are
 * then recomputed on the real series with its gaps (aq_auto_requalify:
 * exact Kalman filter skipping missing days), so forecasts condition on
 * real observations only.
 *
 * aq_fill_interior: out[0..n) = y with every NaN between the first and the
 * last finite value replaced by the mean of the same weekday one season
 * before and after (s > 1, both finite), else by the one of them that is
 * finite, else by linear interpolation between the nearest finite
 * neighbours. Leading/trailing NaNs stay. Returns the number filled.
 */
size_t aq_fill_interior(const double *y, size_t n, int s, double *out);
/*
 * Re-evaluate m's likelihood statistics at its fixed coefficients on y[0..n)
 * (NaN = missing) and put its state at the end of y (state reset + update).
 */
int aq_auto_requalify(struct aq_arima_model *m, const double *y, size_t n, struct aq_arima_ws *ws,
		       struct aq_err *e);

/* Information criterion R's way (k = ncoef + 1, nstar = non-missing - d - sD); +Inf if undefined. */
double aq_auto_aicc(double aic, int ncoef, int nstar);

/* KPSS level statistic of x[0..n) (no NaN) with `lags` Bartlett lags (urca::ur.kpss type "mu"). */
double aq_kpss_stat(const double *x, size_t n, int lags);
/* p-value interpolated in the level critical values, clamped to [0.01, 0.10] (urca_pval in forecast). */
double aq_kpss_pvalue(double stat);
/* Number of differences by repeated KPSS tests (forecast::ndiffs); NaNs dropped first. */
int aq_ndiffs(const double *x, size_t n, double alpha, int max_d, double *first_stat);
/* Seasonal strength of x[0..n) with period m by STL (forecast's seas.heuristic); NaN if n <= 2m. */
double aq_seas_strength(const double *x, size_t n, int m);
/* Number of seasonal differences (forecast::nsdiffs with test "seas"). */
int aq_nsdiffs(const double *x, size_t n, int m, double threshold, int max_D, double *strength);

/* 1 when all non-missing values are equal (R's is.constant up to all.equal tolerance). */
int aq_is_constant(const double *x, size_t n);

#endif
