/* boxcox.h — variance-stabilising transform of a series (Box–Cox of x + shift) and the back-transform of its forecasts. */
#ifndef AQ_BOXCOX_H
#define AQ_BOXCOX_H

/*
 * The transform (Box & Cox 1964; R's forecast::BoxCox, applied to x + c):
 *
 *   z = g(x) = log(x + c)                     lambda = 0
 *            = ((x + c)^lambda - 1) / lambda   otherwise
 *
 * c = shift >= 0. Water use has zero days (vacations, stuck meters): R's
 * BoxCox(x, 0) gives -Inf there and Arima() fails, so aquacast never takes
 * the log of a raw reading: "log1p" is lambda 0, c = 1 (log1p(x), as R's
 * BoxCox(x + 1, 0)); "auto" is Guerrero's lambda (below) with a
 * scale-free c (aq_bc_auto). NaN stays NaN (missing); a value with
 * x + c < 0, or = 0 when lambda = 0 (never for readings >= 0 and c > 0),
 * is missing too (R: -Inf or NaN, on which Arima() fails).
 *
 * Back-transform of a Gaussian forecast z ~ N(mu, v) on the model's scale
 * (Hyndman & Athanasopoulos, FPP3 5.6 "Forecasting with a transformation"
 * and 3.1; forecast::InvBoxCox with biasadj):
 *   - quantiles: g^-1 is increasing, so the p-quantile of x is
 *     g^-1(mu + z_p sqrt(v)): intervals are back-transformed directly;
 *   - median: g^-1(mu) — the point forecast for absolute-error metrics (MASE);
 *   - mean (biasadj = TRUE): the second-order Taylor expansion
 *     E[x + c] ~ w (1 + v (1 - lambda) / (2 w^(2 lambda))), w = g^-1(mu) + c
 *     — the point forecast of totals (a total is a sum of means).
 * Results are clipped at 0 (consumption is never negative).
 *
 * lambda NaN = no transform (every function is the identity; model sets
 * before v3 read as that).
 */

#include <stddef.h>

#include "arima.h"
#include "err.h"
#include "reference.h"

struct aq_bc {
	double lambda; /* NaN: none */
	double shift;  /* c, added before the transform */
};

enum aq_bc_rule { AQ_BC_RULE_NONE = 0, AQ_BC_RULE_LOG1P, AQ_BC_RULE_AUTO };

/* "none", "log1p", "auto"; parse returns AQ_EINVAL for anything else. */
const char *aq_bc_rule_name(int rule);
int aq_bc_rule_parse(const char *s, int *rule);

/* No transform. */
struct aq_bc aq_bc_none(void);
int aq_bc_active(const struct aq_bc *b);
/* "none", "log1p" or "boxcox(lambda=0.31,shift=0.052)" into buf. */
const char *aq_bc_str(const struct aq_bc *b, char *buf, size_t len);

double aq_bc_fwd(const struct aq_bc *b, double x);
/* z[i] = g(x[i]) (z may be x). */
void aq_bc_apply(const struct aq_bc *b, const double *x, size_t n, double *z);
/* g^-1(z), not clipped (>= -shift). */
double aq_bc_inv(const struct aq_bc *b, double z);
/* d g^-1 / dz at z. */
double aq_bc_dinv(const struct aq_bc *b, double z);
/* Median and bias-adjusted mean of x when z ~ N(mu, var), clipped at 0. */
double aq_bc_median(const struct aq_bc *b, double mu);
double aq_bc_mean(const struct aq_bc *b, double mu, double var);

/*
 * Guerrero's (1993) lambda as forecast::BoxCox.lambda(method = "guerrero"):
 * the last floor(n / period) * period values cut into blocks of `period`
 * (R: max(2, frequency)); per block the mean m_k and sd s_k (missing values
 * skipped, a block needs 2); lambda minimises the coefficient of variation
 * of s_k / m_k^(1 - lambda) over [lo, hi] (golden section, R's optimize()
 * tolerance). Values must be > 0 (add the shift first). NaN when fewer than
 * 3 usable blocks.
 */
double aq_bc_guerrero(const double *x, size_t n, int period, double lo, double hi);

/*
 * The transform of rule for one account's training series x[0..n):
 * none; log1p (lambda 0, c 1); auto: c = the mean of the valid days / 10
 * (scale-free: the transform of x / mean is the same for any unit; zero
 * days map to a finite floor 2.3 below the mean's log) and Guerrero's
 * lambda of x + c on weekly blocks in [0, 1] (0 = log, 1 = none: a power
 * above 1 would stretch the spikes), none when it cannot be estimated or
 * the series is all zero.
 */
struct aq_bc aq_bc_auto(int rule, const double *x, size_t n, int period);

/*
 * One day's forecast path from z-scale means and sds (aq_arima_forecast
 * of a model fitted on g(x)): point = median (point_mean = 0) or mean,
 * bounds = back-transformed Gaussian quantiles (80 %, 95 %). sd NaN: NaN
 * bounds.
 */
void aq_bc_path(const struct aq_bc *b, const double *mu, const double *sd, int h, int point_mean,
		const struct aq_path *out);

/*
 * The total of days [from, to) ahead of a model fitted on g(x) whose
 * z-scale forecasts are mu, sd (0-based steps, to <= h): tot = {mean,
 * lo80, hi80, lo95, hi95} and *sd_equiv (the sd of the total). The
 * z-errors of one path are correlated: C_ij = sigma2 sum_k psi_{i-k}
 * psi_{j-k} (psi of A(B)^-1 theta(B), the steady state as
 * lib/evalmodel.h; scaled per day so that C_ii = sd_i^2). Covariance of
 * the back-transformed days: lambda 0 exactly lognormal, E_i E_j
 * (exp(C_ij) - 1); otherwise the delta method g'_i g'_j C_ij. The
 * total's mean is the sum of the bias-adjusted daily means; its interval
 * the lognormal with that mean and variance (Fenton–Wilkinson) of the
 * shifted sum, minus the shifts, clipped at 0; *median (may be NULL) that
 * lognormal's median, the point of an absolute-error metric of totals
 * (WAPE). O((to - from)^3) (30 days: ~10^4 flops).
 */
int aq_bc_total(const struct aq_bc *b, const struct aq_arima_model *m, const double *mu, const double *sd, int from,
		int to, double tot[5], double *sd_equiv, double *median, struct aq_err *e);

#endif
