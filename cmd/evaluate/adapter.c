/* adapter.c — a model-set row (or a fitted ARIMA) as the forecaster lib/evaluate.h scores. */
#include "adapter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kalman.h"
#include "log.h"

/*
 * Requested from lib/arima (see the report of issue #5): reset a model's state
 * to the start of a series, coefficients kept, so that aq_arima_update over
 * y[0..o) gives the state at origin o. Weak until it lands: without it an
 * earlier origin is reached by a warm-started refit instead.
 */
int aq_arima_state_reset(struct aq_arima_model *m, struct aq_err *e) __attribute__((weak));

/*
 * The fitted model filtered from day 0 up to origin o with its coefficients,
 * then forecast h days: R's state space for ARIMA (Harvey form, lib/kalman.h)
 * with the conventions of lib/arima.c — expanded phi/theta (R's transPars),
 * differencing polynomial in delta, stationary Q0 for the ARMA block and a
 * diffuse kappa = 1e6 on the differencing block, regression on 1 (mean) or
 * t + 1 (drift, R's 1-based time) removed before filtering. Used until
 * lib/arima offers a state reset; ev_model_selfcheck() compares it with
 * aq_arima_forecast at the training end.
 */
#define EV_KAPPA 1e6
static int filter_from_start(const struct aq_arima_model *m, const double *y, size_t o, int h, double *mean,
			     double *sd, struct aq_err *e)
{
	const struct aq_arima_spec *s = &m->spec;
	int seas = s->P || s->D || s->Q;
	int p = s->p, q = s->q, d = s->d, P = seas ? s->P : 0, Q = seas ? s->Q : 0, D = seas ? s->D : 0,
	    S = seas ? s->s : 0;
	int np = p + S * P, nq = q + S * Q, dd = d + S * D;
	int ncx = (s->constant && d + D <= 1) ? 1 : 0, drift = ncx && d + D == 1;
	int narma = p + q + P + Q;
	if (m->ncoef != narma + ncx || !m->coef)
		return aq_err_set(e, AQ_ESTATE, "arima model inconsistent with its order");
	struct aq_kalman_arima km = {0};
	km.np = np;
	km.nq = nq;
	km.dd = dd;
	aq_kalman_arima_dims(&km);
	int rd = km.rd, r = km.r;
	size_t need = (size_t)np + (size_t)nq + (size_t)dd + 1 + (size_t)rd + (size_t)rd * rd + o + (size_t)h +
		      aq_kalman_q0_work(np, nq, r) + aq_kalman_filter_work(rd) + aq_kalman_fore_work(rd);
	double *buf = calloc(need, sizeof(double));
	if (!buf)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate a filter workspace");
	double *phi = buf, *theta = phi + np, *delta = theta + nq, *a = delta + dd + 1, *Pm = a + rd,
	       *x = Pm + (size_t)rd * rd, *var = x + o, *w = var + h;
	const double *ar = m->coef, *ma = ar + p, *sar = ma + q, *sma = sar + P;
	for (int i = 0; i < p; i++)
		phi[i] = ar[i];
	for (int i = 0; i < q; i++)
		theta[i] = ma[i];
	for (int j = 0; j < P; j++) {
		phi[(j + 1) * S - 1] += sar[j];
		for (int i = 0; i < p; i++)
			phi[(j + 1) * S + i] -= ar[i] * sar[j];
	}
	for (int j = 0; j < Q; j++) {
		theta[(j + 1) * S - 1] += sma[j];
		for (int i = 0; i < q; i++)
			theta[(j + 1) * S + i] += ma[i] * sma[j];
	}
	/* (1-B)^d (1-B^S)^D = 1 - sum delta_k B^{k+1} */
	double *pl = calloc((size_t)dd + 1, sizeof(double));
	if (!pl) {
		free(buf);
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate a polynomial");
	}
	pl[0] = 1.0;
	int deg = 0;
	for (int i = 0; i < d; i++, deg++)
		for (int j = deg + 1; j >= 1; j--)
			pl[j] -= pl[j - 1];
	for (int i = 0; i < D; i++) {
		for (int j = deg + S; j >= S; j--)
			pl[j] -= pl[j - S];
		deg += S;
	}
	for (int k = 0; k < dd; k++)
		delta[k] = -pl[k + 1];
	free(pl);
	km.phi = phi;
	km.theta = theta;
	km.delta = delta;
	int rc = 0;
	if (aq_kalman_q0(np, phi, nq, theta, r, Pm, rd, w)) {
		rc = aq_err_set(e, AQ_ENUMERIC, "non-stationary AR part");
		goto out;
	}
	for (int k = 0; k < dd; k++)
		Pm[(r + k) + (size_t)rd * (r + k)] = EV_KAPPA;
	double beta = ncx ? m->coef[narma] : 0.0;
	for (size_t t = 0; t < o; t++)
		x[t] = y[t] - (ncx ? beta * (drift ? (double)(t + 1) : 1.0) : 0.0);
	struct aq_kalman_stats st;
	/* steady-state shortcut as lib/arima's likelihood (gain frozen once P settles) */
	aq_kalman_filter(&km, x, o, a, Pm, 1, 1e-11, NULL, &st, w);
	aq_kalman_forecast(&km, a, Pm, h, mean, var, 0, 0, NULL, w);
	for (int i = 0; i < h; i++) {
		mean[i] += ncx ? beta * (drift ? (double)(o + (size_t)i + 1) : 1.0) : 0.0;
		sd[i] = sqrt(fmax(var[i], 0.0) * m->sigma2);
		if (!isfinite(mean[i]) || !isfinite(sd[i]))
			rc = aq_err_set(e, AQ_ENUMERIC, "non-finite forecast after filtering");
	}
out:
	free(buf);
	return rc;
}

int ev_model_selfcheck(const struct ev_model *em, const double *y, double *maxdiff, struct aq_err *e)
{
	double a[14], b[14], sa[14], sb[14];
	*maxdiff = NAN;
	if (!em->arima)
		return 0;
	int rc = aq_arima_forecast(&em->m, 14, a, sa, e);
	if (!rc)
		rc = filter_from_start(&em->m, y, em->n_train, 14, b, sb, e);
	if (rc)
		return rc;
	double md = 0;
	for (int i = 0; i < 14; i++)
		md = fmax(md, fmax(fabs(a[i] - b[i]), fabs(sa[i] - sb[i])) / fmax(1e-9, fabs(a[i]) + sa[i]));
	*maxdiff = md;
	return 0;
}

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
	if (origin < em->n_train && em->refit) {
		rc = refit_at(em, y, origin, h, mean, sd, e);
		goto out;
	}
	if (origin < em->n_train && !aq_arima_state_reset) {
		rc = filter_from_start(&em->m, y, origin, h, mean, sd, e);
		em->resets++;
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
