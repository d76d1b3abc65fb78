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
	aq_arima_expand(p, q, P, Q, S, m->coef, phi, theta);
	aq_arima_delta(d, D, S, delta);
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

/* Expanded A(B) = phi(B) Phi(B^s) Delta(B) and theta(B) of em->m into em->in. */
static int innov_setup(struct aq_evmodel *em, struct aq_err *e)
{
	struct aq_evmodel_innov *in = &em->in;
	const struct aq_arima_model *m = &em->m;
	const struct aq_arima_spec *s = &m->spec;
	int seas = s->P || s->D || s->Q;
	int p = s->p, q = s->q, d = s->d, P = seas ? s->P : 0, Q = seas ? s->Q : 0, D = seas ? s->D : 0,
	    S = seas ? s->s : 0;
	int np = p + S * P, nq = q + S * Q, dd = d + S * D, narma = p + q + P + Q;
	in->ncx = (s->constant && d + D <= 1) ? 1 : 0;
	in->drift = in->ncx && d + D == 1;
	if (m->ncoef != narma + in->ncx || !m->coef)
		return aq_err_set(e, AQ_ESTATE, "arima model inconsistent with its order");
	in->beta = in->ncx ? m->coef[narma] : 0.0;
	in->na = np + dd;
	in->nq = nq;
	free(in->a);
	in->a = calloc((size_t)(in->na + nq + np + dd + 3), sizeof(double));
	if (!in->a)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate an innovations filter");
	in->th = in->a + in->na;
	double *phi = in->th + nq + 1, *pl = phi + np;   /* pl: dd + 1 */
	aq_arima_expand(p, q, P, Q, S, m->coef, phi, in->th);
	aq_arima_diff_poly(d, D, S, pl);
	/* A(B) = (1 - sum phi_i B^i) Delta(B) = 1 - sum a_k B^k */
	for (int k = 1; k <= in->na; k++) {
		double c = k <= dd ? pl[k] : 0.0;
		for (int i = 1; i <= np && i <= k; i++)
			if (k - i <= dd)
				c -= phi[i - 1] * pl[k - i];
		in->a[k - 1] = -c;
	}
	in->t = 0;
	in->hcap = 0;
	in->ready = 1;
	return 0;
}

static int innov_reserve(struct aq_evmodel_innov *in, size_t n, int h, struct aq_err *e)
{
	if (n > in->cap) {
		size_t nc = n + 64;
		double *x = realloc(in->x, 2 * nc * sizeof(double));
		if (!x)
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu filter values", nc);
		/* e lives after x: move the residuals already computed */
		memmove(x + nc, x + in->cap, in->t * sizeof(double));
		in->x = x;
		in->e = x + nc;
		in->cap = nc;
	}
	if (h > in->hcap) {
		double *b = realloc(in->psi2, ((size_t)h * 3 + (size_t)in->na + 1) * sizeof(double));
		if (!b)
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate %d forecast days", h);
		in->psi2 = b;
		in->fx = b + h;
		double *psi = in->fx + h + in->na + 1;   /* h */
		double acc = 0;
		for (int j = 0; j < h; j++) {
			double v = j == 0 ? 1.0 : (j <= in->nq ? in->th[j - 1] : 0.0);
			for (int k = 1; k <= j && k <= in->na; k++)
				v += in->a[k - 1] * psi[j - k];
			psi[j] = v;
			acc += v * v;
			in->psi2[j] = acc;
		}
		in->hcap = h;
	}
	return 0;
}

/* The innovations recursion over y[t..o) (see evalmodel.h), then h forecasts from o. */
static int innov_forecast(struct aq_evmodel *em, const double *y, size_t o, int h, double *mean, double *sd,
			  struct aq_err *e)
{
	struct aq_evmodel_innov *in = &em->in;
	int rc;
	if (!in->ready && (rc = innov_setup(em, e)))
		return rc;
	if (o < in->t)
		in->t = 0;   /* an origin before the last one: the recursion again from day 0 */
	if ((rc = innov_reserve(in, o, h, e)))
		return rc;
	int na = in->na, nq = in->nq;
	double *x = in->x, *ee = in->e;
	for (size_t t = in->t; t < o; t++) {
		double c = in->ncx ? in->beta * (in->drift ? (double)(t + 1) : 1.0) : 0.0;
		double v = y[t] - c;
		if (t < (size_t)na) {
			/* start: no prediction yet; a missing day repeats the last value (0 at first) */
			x[t] = isfinite(v) ? v : (t ? x[t - 1] : 0.0);
			ee[t] = 0.0;
			continue;
		}
		double f = 0;
		for (int k = 1; k <= na; k++)
			f += in->a[k - 1] * x[t - (size_t)k];
		for (int j = 1; j <= nq && (size_t)j <= t; j++)
			f += in->th[j - 1] * ee[t - (size_t)j];
		if (isfinite(v)) {
			x[t] = v;
			ee[t] = v - f;
		} else {
			x[t] = f;
			ee[t] = 0.0;
		}
	}
	in->t = o;
	/* forecast: fx[0..na) = x[o-na..o), then the recursion with future e = 0 */
	double *fx = in->fx;
	for (int k = 0; k < na; k++) {
		long t = (long)o - na + k;
		fx[k] = t >= 0 ? x[t] : 0.0;
	}
	for (int i = 0; i < h; i++) {
		double f = 0;
		for (int k = 1; k <= na; k++)
			f += in->a[k - 1] * fx[na + i - k];
		for (int j = i + 1; j <= nq; j++) {
			long t = (long)o + i - j;
			if (t >= 0)
				f += in->th[j - 1] * ee[t];
		}
		fx[na + i] = f;
		double c = in->ncx ? in->beta * (in->drift ? (double)(o + (size_t)i + 1) : 1.0) : 0.0;
		mean[i] = f + c;
		sd[i] = sqrt(in->psi2[i] * em->m.sigma2);
		if (!isfinite(mean[i]) || !isfinite(sd[i]))
			return aq_err_set(e, AQ_ENUMERIC, "non-finite forecast after filtering");
	}
	return 0;
}

/* Has the MA transient theta(B) eta_t = 0 (eta = 1 before day 0) decayed below the tolerance by day o? */
static int innov_transient_ok(const struct aq_evmodel_innov *in, size_t o)
{
	int nq = in->nq;
	if (nq == 0)
		return 1;
	double ring[64 * 8];
	if (nq > (int)(sizeof(ring) / sizeof(ring[0])))
		return 0;
	for (int j = 0; j < nq; j++)
		ring[j] = 1.0;   /* ring[(t + j) % nq] = eta_{t - nq + j}: the last nq values */
	double mx = 1.0;
	for (size_t t = 0; t < o; t++) {
		double v = 0;
		for (int j = 1; j <= nq; j++)
			v -= in->th[j - 1] * ring[(t + (size_t)(nq - j)) % (size_t)nq];
		ring[t % (size_t)nq] = v;
		if (!isfinite(v))
			return 0;
		if (t + (size_t)nq >= o) {
			mx = 0;
			for (int j = 0; j < nq; j++)
				mx = fmax(mx, fabs(ring[j]));
			break;
		}
	}
	return mx < AQ_EVMODEL_INNOV_TOL;
}

/* Earlier origins: the innovations path where its transient has decayed, else (or on request) the Kalman filter. */
static int origin_forecast(struct aq_evmodel *em, const double *y, size_t o, int h, double *mean, double *sd,
			   struct aq_err *e)
{
	struct aq_evmodel_innov *in = &em->in;
	int rc;
	if (!em->kalman) {
		if (!in->ready && (rc = innov_setup(em, e)))
			return rc;
		if (!(in->ok_from && o >= in->ok_from) && innov_transient_ok(in, o))
			in->ok_from = o ? o : 1;
		if (in->ok_from && o >= in->ok_from) {
			in->used++;
			return innov_forecast(em, y, o, h, mean, sd, e);
		}
	}
	in->fallbacks++;
	return filter_from_start(em, y, o, h, mean, sd, e);
}

int aq_evmodel_selfcheck(struct aq_evmodel *em, const double *y, double *maxdiff, struct aq_err *e)
{
	double a[14], b[14], sa[14], sb[14];
	*maxdiff = NAN;
	if (!em->arima)
		return 0;
	int rc = aq_arima_forecast(&em->m, 14, a, sa, e);
	if (!rc)
		rc = origin_forecast(em, y, em->n_train, 14, b, sb, e);
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
	em->bc = aq_bc_none();
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
		if (aq_model_row_to_arima(row, &em->m, &le) == 0) {
			em->arima = 1;
			em->bc = row->bc;
		}
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
	free(em->in.a);
	free(em->in.x);
	free(em->in.psi2);
	free(em->z);
	free(em->bmu);
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

static int forecast_z(struct aq_evmodel *em, const double *y, size_t origin, int h, double *mean, double *sd,
		      struct aq_err *e)
{
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
		rc = origin_forecast(em, y, origin, h, mean, sd, e);
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

#define Z95 1.959963984540054

/* y[0..origin) on the model's scale: the transform of a transformed row, cached per series (em->z). */
static const double *on_scale(struct aq_evmodel *em, const double *y, size_t origin, struct aq_err *e)
{
	if (!aq_bc_active(&em->bc))
		return y;
	if (em->zsrc != y || em->zn < origin) {
		if (origin > em->zcap) {
			double *z = realloc(em->z, (origin ? origin : 1) * sizeof *z);
			if (!z) {
				aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu days", origin);
				return NULL;
			}
			em->z = z;
			em->zcap = origin;
		}
		aq_bc_apply(&em->bc, y, origin, em->z);
		em->zsrc = y;
		em->zn = origin;
	}
	return em->z;
}

int aq_evmodel_forecast(void *ctx, const double *y, size_t origin, int h, double *mean, double *sd,
		      struct aq_err *e)
{
	struct aq_evmodel *em = ctx;
	if (!aq_bc_active(&em->bc) || !em->arima)
		return forecast_z(em, y, origin, h, mean, sd, e);
	const double *z = on_scale(em, y, origin, e);
	if (!z)
		return AQ_ENOMEM;
	int rc = forecast_z(em, z, origin, h, mean, sd, e);
	if (rc)
		return rc;
	/* back-transformed (lib/boxcox.h): the median, and the sd of the Gaussian with the same 95 % width */
	if (h > em->bcap) {
		double *b = realloc(em->bmu, 2 * (size_t)h * sizeof *b);
		if (!b)
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate %d days", h);
		em->bmu = b;
		em->bcap = h;
	}
	em->bh = h;
	for (int i = 0; i < h; i++) {
		double mu = mean[i], s = sd[i];
		em->bmu[i] = mu;
		em->bmu[em->bcap + i] = s;
		mean[i] = aq_bc_median(&em->bc, mu);
		sd[i] = (aq_bc_inv(&em->bc, mu + Z95 * s) - aq_bc_inv(&em->bc, mu - Z95 * s)) / (2 * Z95);
	}
	return 0;
}

/* Transformed row: sdsum[i] from aq_bc_total of the last forecast's first i + 1 days (95 % width / 2 z95). */
static int bc_sdsum(struct aq_evmodel *em, int h, double *sdsum, struct aq_err *e)
{
	if (em->bh < h)
		return aq_err_set(e, AQ_ESTATE, "no forecast of %d days to sum", h);
	for (int i = 0; i < h; i++) {
		double tot[5], sde;
		int rc = aq_bc_total(&em->bc, &em->m, em->bmu, em->bmu + em->bcap, 0, i + 1, tot, &sde, NULL, e);
		if (rc)
			return rc;
		sdsum[i] = isfinite(tot[4]) ? (tot[4] - tot[3]) / (2 * Z95) : sde;
	}
	return 0;
}

int aq_evmodel_sdsum(void *ctx, int h, double *sdsum, struct aq_err *e)
{
	struct aq_evmodel *em = ctx;
	int rc;
	if (h <= 0)
		return 0;
	if (em->arima && aq_bc_active(&em->bc))
		return bc_sdsum(em, h, sdsum, e);
	if (!em->arima) {
		if (!em->row)
			return aq_err_set(e, AQ_ESTATE, "no model to forecast with");
		double m, sd;
		if ((rc = aq_model_forecast(em->row, 1, &m, &sd, e)))
			return rc;
		for (int i = 0; i < h; i++)
			sdsum[i] = sd * sqrt(i + 1.0);
		return 0;
	}
	struct aq_evmodel_innov *in = &em->in;
	if (!in->ready && (rc = innov_setup(em, e)))
		return rc;
	if ((rc = innov_reserve(in, in->t, h, e)))
		return rc;
	const double *psi = in->fx + in->hcap + in->na + 1;   /* psi_0..psi_{hcap-1}, innov_reserve */
	double Psi = 0, v = 0;
	for (int i = 0; i < h; i++) {
		Psi += psi[i];
		v += Psi * Psi;
		sdsum[i] = sqrt(v * em->m.sigma2);
	}
	return 0;
}
