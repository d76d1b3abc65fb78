/* arima.h — seasonal ARIMA(p,d,q)(P,D,Q)_s with mean or drift: estimation, filtering, forecasting. */
#ifndef AQ_ARIMA_H
#define AQ_ARIMA_H

/*
 * The model (Box–Jenkins, R's arima() parametrisation):
 *
 *   phi(B) Phi(B^s) (1-B)^d (1-B^s)^D (y_t - c(t)) = theta(B) Theta(B^s) e_t,
 *   e_t ~ N(0, sigma2),  phi(B) = 1 - ar_1 B - ... ,  theta(B) = 1 + ma_1 B + ...
 *
 * c(t) = mu (mean) when d + D = 0, c(t) = delta * t (drift, t = day index from
 * the series' first day, counted from 1 as forecast::Arima's xreg 1..n) when
 * d + D = 1, absent otherwise.
 *
 * Coefficient vector layout (as R's coef()): ar[0..p), ma[0..q), sar[0..P),
 * sma[0..Q), then the constant (mean or drift) if spec.constant applies.
 * NaN in y is a missing observation everywhere in this API.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define AQ_ARIMA_MAX_ORDER 5   /* p, q */
#define AQ_ARIMA_MAX_SORDER 2  /* P, Q */

struct aq_arima_spec {
	int p, d, q;
	int P, D, Q;
	int s;          /* season length: 7 for weekly, 0 for none */
	int constant;   /* include mean (d+D=0) or drift (d+D=1); ignored when d+D>1 */
};

enum aq_arima_method { AQ_ARIMA_CSS_ML = 0, AQ_ARIMA_ML, AQ_ARIMA_CSS };

struct aq_arima_fit_opts {
	enum aq_arima_method method;  /* default CSS_ML */
	const double *init;           /* warm start, ncoef values, or NULL */
	int max_iter;                 /* optimiser iterations, default 100 */
	double reltol;                /* default 1.5e-8 (R's optim) */
	int want_vcov;                /* compute coefficient covariance (Hessian) */
	double css_rtol;              /* CSS stage stop: relative decrease of the CSS per
				         Levenberg–Marquardt iteration; 0: 1e-12 for method
				         CSS, 1e-7 for CSS-ML. An order search needs ~1e-8:
				         AICc moves by n/2 * rtol */
	int css_max_iter;             /* LM iteration cap of the CSS stage; 0: 4 max_iter */
	int ml_unit_ma_stop;          /* > 0: the ML stage fails (AQ_ENUMERIC) once a root of the
				         expanded MA polynomial has stayed within a factor 1.005 of
				         the unit circle for that many BFGS iterations (an order
				         search rejects roots < 1.01) */
	int css_unit_ma_stop;         /* method CSS only, > 0: the CSS fit stops (not an error)
				         once a root of the expanded MA polynomial has stayed
				         inside modulus 1.005, with the CSS falling by less than
				         1e-3 a step, for that many LM steps (an order search
				         rejects roots < 1.01 anyway) */
	double vcov_min_root;         /* > 0 with want_vcov: no covariance (vcov NULL) for an ML fit
				         with a root of the expanded AR or MA polynomial below this
				         modulus, which an order search rejects anyway */
	int no_state;                 /* method CSS only: skip the final Kalman pass, the model
				         gets no state (cannot update/forecast; roots and AICc
				         only): order-search candidates */
};

/* Everything needed to continue the filter and forecast: opaque to callers. */
struct aq_arima_state {
	int len;          /* number of doubles in v */
	double *v;        /* state vector, covariance, last levels: layout in arima.c */
	int64_t t;        /* day index of the next observation (for drift) */
};

struct aq_arima_model {
	struct aq_arima_spec spec;
	int ncoef;
	double *coef;                 /* ncoef, layout above */
	double *vcov;                 /* ncoef*ncoef row-major, or NULL */
	double sigma2, loglik, aic, aicc, bic;
	int nobs;                     /* non-missing observations used by the likelihood */
	int n;                        /* series length incl. missing */
	enum aq_arima_method method;  /* how it was estimated */
	int converged;
	struct aq_arima_state state;  /* filter state after the last observation */
};

/* Reusable per-thread workspace; grows to the largest model seen. */
struct aq_arima_ws;
struct aq_arima_ws *aq_arima_ws_new(void);
void aq_arima_ws_free(struct aq_arima_ws *ws);

int aq_arima_ncoef(const struct aq_arima_spec *s);
/* "ARIMA(1,1,1)(0,1,1)[7] with drift" into buf. */
const char *aq_arima_spec_str(const struct aq_arima_spec *s, char *buf, size_t len);

void aq_arima_model_init(struct aq_arima_model *m);
void aq_arima_model_release(struct aq_arima_model *m);
int aq_arima_model_copy(struct aq_arima_model *dst, const struct aq_arima_model *src, struct aq_err *e);

/*
 * Fit a fixed-order model to y[0..n) (NaN = missing). CSS-ML: conditional sum
 * of squares, then exact ML by a Kalman filter started from it. AR and
 * seasonal AR are kept stationary (PACF transform); MA made invertible after.
 * Fills m (coef, sigma2, loglik, aic/aicc/bic, nobs, state). Fails with
 * AQ_ENUMERIC when the fit is impossible (non-stationary CSS AR, too few obs).
 */
int aq_arima_fit(const double *y, size_t n, const struct aq_arima_spec *spec,
		 const struct aq_arima_fit_opts *o, struct aq_arima_model *m,
		 struct aq_arima_ws *ws, struct aq_err *e);

/*
 * Conditional sum of squares of given coefficients (no optimisation); used
 * by the order search's approximation. *sigma2 = CSS / n_used.
 */
int aq_arima_css(const double *y, size_t n, const struct aq_arima_spec *spec, const double *coef,
		 double *sigma2, int *n_used, struct aq_arima_ws *ws, struct aq_err *e);

/*
 * Exact Gaussian log-likelihood of given coefficients (Kalman filter,
 * missing observations skipped), for tests and the search's offsets.
 */
int aq_arima_loglik(const double *y, size_t n, const struct aq_arima_spec *spec, const double *coef,
		    double *loglik, double *sigma2, struct aq_arima_ws *ws, struct aq_err *e);

/*
 * Put the state back to the prior at day 0, so aq_arima_update() filters from
 * the series' start with fixed coefficients (state.t = 0; allocates the state
 * when m has none).
 */
int aq_arima_state_reset(struct aq_arima_model *m, struct aq_err *e);

/* Filter k further days (NaN = missing) through m's state; coefficients unchanged. */
int aq_arima_update(struct aq_arima_model *m, const double *ynew, size_t k, struct aq_err *e);

/*
 * h-step forecasts from the end of the state: mean[i] and sd[i] (standard
 * deviation of the forecast error) for i = 0..h-1. Unclipped: callers that
 * serve water clip at 0 (aq_forecast_interval()).
 */
int aq_arima_forecast(const struct aq_arima_model *m, int h, double *mean, double *sd, struct aq_err *e);

/*
 * Sum of the forecasts for days [from, to) ahead (0-based) and the standard
 * deviation of the sum: Var(sum e) = sigma2 * sum_{i,j} cov from psi-weights.
 */
int aq_arima_forecast_total(const struct aq_arima_model *m, int from, int to, double *sum, double *sd,
			    struct aq_err *e);
/* Both in one pass (serving): steps 0..h-1 into mean/sd and the sum of steps [from, h) with its sd. */
int aq_arima_forecast_window(const struct aq_arima_model *m, int h, int from, double *mean, double *sd, double *sum,
			     double *sdsum, struct aq_err *e);

/* Roots of AR/MA polynomials outside the unit circle by margin (1.01 as R)? 1 = ok. */
int aq_arima_roots_ok(const struct aq_arima_model *m, double min_modulus);

/*
 * The polynomials of the state-space form, shared by every filter of the
 * project so their conventions live in one place (R's transPars/makeARIMA):
 * aq_arima_expand: phi(B)Phi(B^s) -> phi[0..p+sP), theta(B)Theta(B^s) ->
 * theta[0..q+sQ), from coef in the layout above (phi(B) = 1 - sum phi_i B^i).
 * aq_arima_diff_poly: (1-B)^d (1-B^s)^D = sum_{k=0..dd} pl[k] B^k, pl[0] = 1,
 * dd = d + sD. aq_arima_delta: the same as 1 - sum_k delta[k] B^{k+1},
 * delta[0..dd) (dd + 1 slots: built in place, delta[dd] = 0).
 */
void aq_arima_expand(int p, int q, int P, int Q, int s, const double *coef, double *phi, double *theta);
void aq_arima_diff_poly(int d, int D, int s, double *pl);
void aq_arima_delta(int d, int D, int s, double *delta);

/* Gaussian quantile helper for intervals: z such that P(Z < z) = p. */
double aq_qnorm(double p);

#endif
