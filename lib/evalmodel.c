/* evalmodel.c — a model-set row (or a fitted ARIMA) as the forecaster lib/evaluate.h scores. */
#include "evalmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kalman.h"
#include "log.h"


/*
 * The fitted model filtered from day 0 up to origin o with its coefficients,
 * then forecast h days: R's state space for ARIMA (Harvey form, lib/kalman.h)
 * with the conventions of lib/arima.c — expanded phi/theta (R's transPars),
 * differencing polynomial in delta, stationary Q0 for the ARMA block and a
 * diffuse kappa = 1e6 on the differencing block, regression on 1 (mean) or
 * t + 1 (drift, R's 1-based time) removed before filtering.
 * aq_evmodel_selfcheck() compares it with aq_arima_forecast at the training end.
 */
#define EV_KAPPA 1e6

/* Build the state space and the start state (a = 0, P = Q0 + kappa) of em->m into em->fs. */
static int fs_setup(struct aq_evmodel *em, struct aq_err *e)
{
	struct aq_evmodel_filter *f = &em->fs;
	const struct aq_arima_model *m = &em->m;
	const struct aq_arima_spec *s = &m->spec;
	int seas = s->P || s->D || s->Q;
	int p = s->p, q = s->q, d = s->d, P = seas ? s->P : 0, Q = seas ? s->Q : 0, D = seas ? s->D : 0,
	    S = seas ? s->s : 0;
	int np = p + S * P, nq = q + S * Q, dd = d + S * D;
	int narma = p + q + P + Q;
	f->ncx = (s->constant && d + D <= 1) ? 1 : 0;
	f->drift = f->ncx && d + D == 1;
	if (m->ncoef != narma + f->ncx || !m->coef)
		return aq_err_set(e, AQ_ESTATE, "arima model inconsistent with its order");
	f->beta = f->ncx ? m->coef[narma] : 0.0;
	memset(&f->km, 0, sizeof(f->km));
	f->km.np = np;
	f->km.nq = nq;
	f->km.dd = dd;
	aq_kalman_arima_dims(&f->km);
	int rd = f->km.rd, r = f->km.r;
	size_t wk = aq_kalman_q0_work(np, nq, r);
	if (aq_kalman_filter_work(rd) > wk)
		wk = aq_kalman_filter_work(rd);
	if (aq_kalman_fore_work(rd) > wk)
		wk = aq_kalman_fore_work(rd);
	size_t need = (size_t)np + (size_t)nq + (size_t)dd + 1 + (size_t)rd + (size_t)rd * rd + wk;
	free(f->buf);
	f->buf = calloc(need, sizeof(double));
	if (!f->buf)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate a filter workspace");
	double *phi = f->buf, *theta = phi + np, *delta = theta + nq;
	f->a = delta + dd + 1;
	f->P = f->a + rd;
	f->w = f->P + (size_t)rd * rd;
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
	/* (1-B)^d (1-B^S)^D = 1 - sum delta_k B^{k+1}; built in delta[] shifted by one, in place */
	double *pl = delta;  /* dd + 1 slots */
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
	delta[dd] = 0.0;
	f->km.phi = phi;
	f->km.theta = theta;
	f->km.delta = delta;
	if (aq_kalman_q0(np, phi, nq, theta, r, f->P, rd, f->w))
		return aq_err_set(e, AQ_ENUMERIC, "non-stationary AR part");
	for (int k = 0; k < dd; k++)
		f->P[(r + k) + (size_t)rd * (r + k)] = EV_KAPPA;
	f->t = 0;
	f->ready = 1;
	return 0;
}

/*
 * The fitted model filtered up to origin o with its coefficients (from
 * em->warmup days before the first origin asked for, or day 0), then forecast
 * h days. One forward pass serves every origin: the filtered
 * state is kept (em->fs) and continued when the next origin lies later, as
 * the backtest's origins do; an earlier origin restarts from day 0.
 */
static int filter_from_start(struct aq_evmodel *em, const double *y, size_t o, int h, double *mean, double *sd,
			     struct aq_err *e)
{
	struct aq_evmodel_filter *f = &em->fs;
	int rc;
	if (!f->ready || o < f->t) {
		if ((rc = fs_setup(em, e)))
			return rc;
		/* start em->warmup days before the origin (0: day 0): the filter's memory of its
		   start is short (stationary Q0 + diffuse levels), the cost per account bounded */
		f->t = (em->warmup > 0 && o > em->warmup) ? o - em->warmup : 0;
		f->fresh = 1;
	}
	if (o > f->t) {
		size_t k = o - f->t;
		if (k > f->xcap) {
			double *x = realloc(f->x, k * sizeof(*x));
			if (!x)
				return aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu filter inputs", k);
			f->x = x;
			f->xcap = k;
		}
		for (size_t i = 0; i < k; i++) {
			size_t t = f->t + i;
			f->x[i] = y[t] - (f->ncx ? f->beta * (f->drift ? (double)(t + 1) : 1.0) : 0.0);
		}
		struct aq_kalman_stats st;
		/* steady-state shortcut as lib/arima's likelihood (gain frozen once P settles) */
		aq_kalman_filter(&f->km, f->x, k, f->a, f->P, f->fresh, 1e-11, NULL, &st, f->w);
		f->t = o;
		f->fresh = 0;
	}
	if ((size_t)h > f->vcap) {
		double *v = realloc(f->var, (size_t)h * sizeof(*v));
		if (!v)
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate %d variances", h);
		f->var = v;
		f->vcap = (size_t)h;
	}
	aq_kalman_forecast(&f->km, f->a, f->P, h, mean, f->var, 0, 0, NULL, f->w);
	for (int i = 0; i < h; i++) {
		mean[i] += f->ncx ? f->beta * (f->drift ? (double)(o + (size_t)i + 1) : 1.0) : 0.0;
		sd[i] = sqrt(fmax(f->var[i], 0.0) * em->m.sigma2);
		if (!isfinite(mean[i]) || !isfinite(sd[i]))
			return aq_err_set(e, AQ_ENUMERIC, "non-finite forecast after filtering");
	}
	return 0;
}

int aq_evmodel_selfcheck(struct aq_evmodel *em, const double *y, double *maxdiff, struct aq_err *e)
{
	double a[14], b[14], sa[14], sb[14];
	*maxdiff = NAN;
	if (!em->arima)
		return 0;
	int rc = aq_arima_forecast(&em->m, 14, a, sa, e);
	if (!rc)
		rc = filter_from_start(em, y, em->n_train, 14, b, sb, e);
	if (rc)
		return rc;
	double md = 0;
	for (int i = 0; i < 14; i++)
		md = fmax(md, fmax(fabs(a[i] - b[i]), fabs(sa[i] - sb[i])) / fmax(1e-9, fabs(a[i]) + sa[i]));
	*maxdiff = md;
	return 0;
}

static void em_zero(struct aq_evmodel *em)
{
	memset(em, 0, sizeof(*em));
	aq_arima_model_init(&em->m);
}

int aq_evmodel_from_row(struct aq_evmodel *em, const struct aq_model_row *row, size_t n_train, int refit,
		      struct aq_arima_ws *ws, struct aq_err *e)
{
	em_zero(em);
	em->warmup = AQ_EVMODEL_WARMUP;
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

int aq_evmodel_from_arima(struct aq_evmodel *em, const struct aq_arima_model *m, size_t n_train, int refit,
			struct aq_arima_ws *ws, struct aq_err *e)
{
	em_zero(em);
	em->warmup = AQ_EVMODEL_WARMUP;
	em->n_train = n_train;
	em->refit = refit;
	em->ws = ws;
	int rc = aq_arima_model_copy(&em->m, m, e);
	if (rc)
		return rc;
	em->arima = 1;
	return 0;
}

void aq_evmodel_release(struct aq_evmodel *em)
{
	aq_arima_model_release(&em->m);
	free(em->fs.buf);
	free(em->fs.x);
	free(em->fs.var);
	em_zero(em);
}

static int refit_at(struct aq_evmodel *em, const double *y, size_t origin, int h, double *mean, double *sd,
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

int aq_evmodel_forecast(void *ctx, const double *y, size_t origin, int h, double *mean, double *sd,
		      struct aq_err *e)
{
	struct aq_evmodel *em = ctx;
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
	if (origin < em->n_train) {
		rc = filter_from_start(em, y, origin, h, mean, sd, e);
		em->resets++;
		goto out;
	}
	struct aq_arima_model c;
	aq_arima_model_init(&c);
	rc = aq_arima_model_copy(&c, &em->m, e);
	if (rc == 0) {
		/* later origin: continue the stored state over the days since TrainedUntil */
		rc = aq_arima_update(&c, y + em->n_train, origin - em->n_train, e);
		if (rc == 0)
			rc = aq_arima_forecast(&c, h, mean, sd, e);
	}
	aq_arima_model_release(&c);
out:
	if (rc)
		em->failures++;
	return rc;
}
