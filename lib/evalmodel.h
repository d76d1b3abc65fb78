/* evalmodel.h — a model-set row (or a fitted ARIMA) as the forecaster lib/evaluate.h scores. */
#ifndef AQ_EVALMODEL_H
#define AQ_EVALMODEL_H

#include <stddef.h>

#include "arima.h"
#include "boxcox.h"
#include "evaluate.h"
#include "kalman.h"
#include "model.h"

/*
 * Forecast from origin o of a series whose day 0 is the model's FirstDate
 * and whose first n_train days the model has seen:
 *   o == n_train  the stored state (no work);
 *   o >  n_train  the stored state filtered over y[n_train..o);
 *   o <  n_train  the fitted coefficients filtered from `warmup` days before
 *                 the first such origin (or day 0) with a fresh start state,
 *                 or, with refit, the same orders re-estimated on y[0..o)
 *                 (warm start from the coefficients; its time is counted).
 * Mean-fallback rows forecast their mean (white noise) from any origin.
 */
/* The day-0 filter of the model, continued from origin to origin (evalmodel.c). */
struct aq_evmodel_filter {
	int ready, fresh, ncx, drift;
	double beta;
	struct aq_kalman_arima km;
	double *buf, *a, *P, *w;     /* phi, theta, delta, state, covariance (rd x rd), work */
	double *x, *var;
	size_t xcap, vcap;
	size_t t;                    /* y[0..t) filtered */
};

/*
 * Innovations path for earlier origins (default): with the coefficients
 * fixed, the Kalman filter of an invertible ARIMA converges to the
 * innovations (Box–Jenkins) recursion on x_t = y_t - c(t):
 *   A(B) = phi(B) Phi(B^s) (1-B)^d (1-B^s)^D = 1 - sum a_k B^k,
 *   xhat_t = sum a_k x_{t-k} + sum theta_j e_{t-j},  e_t = x_t - xhat_t,
 * a missing x_t is replaced by xhat_t (e_t = 0). One pass from day 0 serves
 * every origin; the h-step forecast continues the recursion with future
 * e = 0 and its variance is sigma2 * sum_{j<h} psi_j^2 (psi: A(B)^-1 theta(B)),
 * the steady-state Kalman variance (Brockwell & Davis 2002, 5.3, 6.4).
 * O(n (np + dd + nq)) per account instead of O(n rd^3). The unknown
 * pre-sample e_t (and the filled missing days) leave a transient that
 * decays as the solution of theta(B) eta_t = 0 (in units of the innovation sd): it is run from eta = 1 over
 * the origin's length, and unless it fell below AQ_EVMODEL_INNOV_TOL (a near
 * non-invertible MA, e.g. an over-differenced weekly pattern with a seasonal
 * MA at -1) the origin is served by the exact Kalman filter instead.
 * Exact for pure AR models; a missing day filled by its prediction uses the
 * steady-state gain where the Kalman filter's gain is larger just after the
 * gap: up to ~6% of the forecast sd for an origin 30 days after a gap with
 * MA roots at 0.97 (tests/unit/test_evaluate.c), decaying with the MA.
 */
#define AQ_EVMODEL_INNOV_TOL 1e-3
struct aq_evmodel_innov {
	int ready, na, nq, ncx, drift;
	double beta;
	double *a, *th;              /* na AR coefficients of A(B), nq MA coefficients */
	double *x, *e;               /* filled x_t and e_t for t < t */
	double *psi2;                /* cumulative sum psi_j^2, j < hcap */
	double *fx;                  /* forecast scratch: na + hcap */
	size_t t, cap;
	int hcap;
	size_t ok_from;              /* origins >= ok_from passed the transient check (0: none yet) */
	long used, fallbacks;        /* origins served by the recursion, by the Kalman filter */
};

struct aq_evmodel {
	const struct aq_model_row *row;  /* may be NULL when arima is given */
	struct aq_arima_model m;
	int arima;                       /* m holds a usable model */
	size_t n_train;
	int refit;
	double refit_seconds;
	long refits, resets, failures;
	struct aq_arima_ws *ws;          /* for refits */
	struct aq_evmodel_filter fs;
	size_t warmup;                   /* Kalman path: days filtered before the first earlier origin; 0 = day 0 */
	int kalman;                      /* earlier origins by the exact Kalman filter (else innovations) */
	struct aq_evmodel_innov in;
	/*
	 * A transformed row (lib/boxcox.h): the model filters and forecasts the transform of y
	 * (cached: z[0..zn) of zsrc); aq_evmodel_forecast gives the back-transformed median and the sd
	 * of the Gaussian with the same 95 % interval width (evaluate's intervals are Gaussian around
	 * its point), sdsum the same of aq_bc_total over the last forecast (bmu: z means, then sds).
	 */
	struct aq_bc bc;
	double *z;
	const double *zsrc;
	size_t zn, zcap;
	double *bmu;
	int bcap, bh;
};

/* Default warm-up: max relative forecast difference to the full filter ~5e-6 on DAIAD (non-seasonal). */
#define AQ_EVMODEL_WARMUP 180

/* From a model-set row; ws may be NULL without refit. */
int aq_evmodel_from_row(struct aq_evmodel *em, const struct aq_model_row *row, size_t n_train, int refit,
		      struct aq_arima_ws *ws, struct aq_err *e);
/* From a fitted model (copied). */
int aq_evmodel_from_arima(struct aq_evmodel *em, const struct aq_arima_model *m, size_t n_train, int refit,
			struct aq_arima_ws *ws, struct aq_err *e);
void aq_evmodel_release(struct aq_evmodel *em);
/* Relative max difference of the 14-day forecast (mean, sd) from day-0 filtering vs the stored state. */
int aq_evmodel_selfcheck(struct aq_evmodel *em, const double *y, double *maxdiff, struct aq_err *e);
int aq_evmodel_forecast(void *ctx, const double *y, size_t origin, int h, double *mean, double *sd,
		      struct aq_err *e);
/*
 * sdsum[i] = sd of the total of steps 1..i+1 (i < h), the aq_eval_model
 * sdsum callback. The errors of one path are correlated:
 * e_{T+i} = sum_{j<i} psi_j a_{T+i-j}, so the total of H steps has the error
 * sum_k a_{T+k} Psi_{H-k}, Psi_m = psi_0 + ... + psi_m, and
 *   Var = sigma2 * sum_{m<H} Psi_m^2
 * (Brockwell & Davis 2002, 5.3; psi of A(B)^-1 theta(B) as the innovations
 * path above: the steady state, at every origin). Mean rows: white noise,
 * sd sqrt(i+1). The drift's estimation error is not in it (as in R's predict).
 */
int aq_evmodel_sdsum(void *ctx, int h, double *sdsum, struct aq_err *e);

#endif
