/* evalmodel.h — a model-set row (or a fitted ARIMA) as the forecaster lib/evaluate.h scores. */
#ifndef AQ_EVALMODEL_H
#define AQ_EVALMODEL_H

#include <stddef.h>

#include "arima.h"
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
	size_t warmup;                   /* days filtered before the first earlier origin; 0 = from day 0 */
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

#endif
