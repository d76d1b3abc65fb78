/* adapter.c — a model-set row (or a fitted ARIMA) as the forecaster lib/evaluate.h scores. */
#include "adapter.h"

#include <math.h>
#include <string.h>

#include "log.h"

/*
 * Requested from lib/arima (see the report of issue #5): reset a model's state
 * to the start of a series, coefficients kept, so that aq_arima_update over
 * y[0..o) gives the state at origin o. Weak until it lands: without it an
 * earlier origin is reached by a warm-started refit instead.
 */
int aq_arima_state_reset(struct aq_arima_model *m, struct aq_err *e) __attribute__((weak));

static void em_zero(struct ev_model *em)
{
	memset(em, 0, sizeof(*em));
	aq_arima_model_init(&em->m);
}

int ev_model_from_row(struct ev_model *em, const struct aq_model_row *row, size_t n_train, int refit,
		      struct aq_arima_ws *ws, struct aq_err *e)
{
	em_zero(em);
	em->row = row;
	em->n_train = n_train;
	em->refit = refit;
	em->ws = ws;
	if (aq_model_row_is_arima(row)) {
		struct aq_err le = {0};
		if (aq_model_row_to_arima(row, &em->m, &le) == 0)
			em->arima = 1;
		else
			aq_debug("account %lld: %s (served by its mean)", (long long)row->account, le.msg);
	}
	(void)e;
	return 0;
}

int ev_model_from_arima(struct ev_model *em, const struct aq_arima_model *m, size_t n_train, int refit,
			struct aq_arima_ws *ws, struct aq_err *e)
{
	em_zero(em);
	em->n_train = n_train;
	em->refit = refit;
	em->ws = ws;
	int rc = aq_arima_model_copy(&em->m, m, e);
	if (rc)
		return rc;
	em->arima = 1;
	return 0;
}

void ev_model_release(struct ev_model *em)
{
	aq_arima_model_release(&em->m);
	em_zero(em);
}

static int refit_at(struct ev_model *em, const double *y, size_t origin, int h, double *mean, double *sd,
		    struct aq_err *e)
{
	double t0 = aq_now();
	struct aq_arima_fit_opts fo = {0};
	fo.method = AQ_ARIMA_CSS_ML;
	fo.init = em->m.coef;
	fo.max_iter = 100;
	fo.reltol = 1.5e-8;
	struct aq_arima_model f;
	aq_arima_model_init(&f);
	int rc = aq_arima_fit(y, origin, &em->m.spec, &fo, &f, em->ws, e);
	if (rc == 0)
		rc = aq_arima_forecast(&f, h, mean, sd, e);
	aq_arima_model_release(&f);
	em->refits++;
	em->refit_seconds += aq_now() - t0;
	return rc;
}

int ev_model_forecast(void *ctx, const double *y, size_t origin, int h, double *mean, double *sd,
		      struct aq_err *e)
{
	struct ev_model *em = ctx;
	int rc;
	if (!em->arima) {
		if (!em->row)
			return aq_err_set(e, AQ_ESTATE, "no model to forecast with");
		rc = aq_model_forecast(em->row, h, mean, sd, e);
		goto out;
	}
	if (origin == em->n_train) {
		rc = aq_arima_forecast(&em->m, h, mean, sd, e);
		goto out;
	}
	if (origin < em->n_train && (em->refit || !aq_arima_state_reset)) {
		rc = refit_at(em, y, origin, h, mean, sd, e);
		goto out;
	}
	struct aq_arima_model c;
	aq_arima_model_init(&c);
	rc = aq_arima_model_copy(&c, &em->m, e);
	if (rc == 0) {
		size_t from = em->n_train;
		if (origin < em->n_train) {
			rc = aq_arima_state_reset(&c, e);
			from = 0;
			em->resets++;
		}
		if (rc == 0)
			rc = aq_arima_update(&c, y + from, origin - from, e);
		if (rc == 0)
			rc = aq_arima_forecast(&c, h, mean, sd, e);
	}
	aq_arima_model_release(&c);
out:
	if (rc)
		em->failures++;
	return rc;
}
