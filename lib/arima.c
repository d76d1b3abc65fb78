/* arima.c — seasonal ARIMA with mean or drift: CSS and exact ML estimation, filtering, forecasting. */
#include "arima.h"

#include <complex.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "kalman.h"
#include "log.h"
#include "optim.h"

/*
 * Estimation follows R's stats::arima (R 4.2, src/library/stats/R/arima.R and
 * src/arima.c), re-derived and written anew:
 *
 * - Coefficients as R's coef(): ar, ma, sar, sma, then "intercept" (mean,
 *   d + D = 0) or "drift" (d + D = 1; forecast::Arima's include.drift: an
 *   xreg column 1..n, i.e. the regressor of day i (0-based) is i + 1).
 * - CSS objective: 0.5 log(ssq / nu) of the conditional residuals of the
 *   differenced, de-meaned series, conditioned on ncond = d + sD + p + sP
 *   values (R's ARIMA_CSS). A missing value gives a missing residual that
 *   enters later MA terms as 0 (R lets NaN propagate; it never uses CSS on
 *   series with NAs in CSS-ML because it switches to ML).
 * - Exact likelihood: Kalman filter on Harvey's state space with the
 *   differencing in the state and a diffuse prior kappa = 1e6 on it; steps
 *   whose innovation variance F >= 1e4 are not counted (R's ARIMA_Like).
 *   Objective 0.5 (log(ssq/nu) + sumlog/nu). When no observation is missing
 *   between the first and last observed day, the optimiser instead filters
 *   the differenced series with the ARMA-only state (the kappa -> infinity
 *   limit of the same likelihood, agreement ~1e-9 relative) plus the
 *   steady-state shortcut: the state shrinks by d + sD and most steps cost
 *   O(r). Up to AO_MAX interior missing days stay on this path as additive
 *   outliers (Gómez & Maravall 1994): zero-filled, one impulse regressor per
 *   gap concentrated out by GLS with its log-determinant (kalman.h); this is
 *   the same likelihood as skipping them (tests/unit/test_kalman.c). The
 *   impulse columns are generated on the fly and filtered only from their
 *   gap on (aq_kalman_chandra_ao: O(r k + k^2) per step for k gaps so far).
 *   Exception: a gap within the first d + sD + 1 days after the first
 *   observation uses R's form (R conditions on the first d + sD observed
 *   values, a different constant: see ao_ok()). The
 *   final likelihood, residuals and state always come from R's form on the
 *   full series (missing values skipped natively).
 * - Initial covariance of the ARMA part: exact stationary covariance from
 *   the autocovariances (kalman.h), equal to R's getQ0 (Gardner 1980) where
 *   that is accurate, and accurate near the unit circle as Rossignol (2011).
 * - CSS-ML: BFGS on CSS from zeros (mean/drift from least squares on the
 *   differenced series, parscale 10 se as R); stop with AQ_ENUMERIC if the
 *   CSS AR or seasonal AR part is non-stationary; then BFGS on the exact
 *   likelihood in the partial-autocorrelation space (tanh + Durbin–Levinson,
 *   R's partrans) from the CSS estimates with MA parts inverted (maInvert);
 *   MA inverted again at the end. Like R, CSS-ML becomes ML (from zeros)
 *   if any y is NaN.
 * - Faster with the same optimum: the CSS stage is minimised by
 *   Levenberg–Marquardt with the analytic residual Jacobian (BFGS as
 *   fallback), and the ML BFGS starts from the Gauss–Newton Hessian of that
 *   CSS fit mapped to the optimiser's space instead of the identity. Checked
 *   against R on 336 DAIAD fits (4 orders x 84 accounts): 335 at R's optimum, one 0.005 log-lik below.
 *   Starting ML from a CSS fit also when values are missing was tried and
 *   dropped: it picks other local optima than R's zero start too often.
 * - sigma2 = ssq / n_used (stats::arima), loglik = -0.5 (2 n_used f + n_used
 *   (1 + log 2 pi)), aic = -2 loglik + 2 (ncoef + 1), AICc and BIC as
 *   forecast::Arima with npar = ncoef + 1 and nstar = n_used:
 *   aicc = aic + 2 npar (npar + 1) / (nstar - npar - 1), bic = aic + npar (log nstar - 2).
 *   For method CSS, loglik/aic are those of the CSS fit (R reports NA).
 *
 * Model state blob (struct aq_arima_state, flat doubles, little-endian when
 * serialised by the caller): v[0 .. rd) the filtered state a_{n|n},
 * v[rd .. rd + rd*rd) its covariance P_{n|n} (column-major, symmetric, unit
 * innovation variance: multiply by sigma2), with rd = max(p + sP, q + sQ + 1)
 * + d + sD; len = rd + rd*rd. The state is that of y - c(t): the first r
 * entries are the ARMA (Harvey) states, the last d + sD the previous values
 * of the de-meaned/de-trended series, most recent first. t = 0-based index
 * of the next day (= n after a fit), so its drift regressor is t + 1.
 */

#define KAPPA 1e6
#ifndef AO_MAX
#define AO_MAX 256         /* interior missing days handled as impulse regressors in the fast path */
#endif
#define CSS_ML_RELTOL 1e-5  /* BFGS fallback for the CSS stage of CSS-ML (R: 1.5e-8) */
#define CSS_ML_LM_RTOL 1e-7 /* LM stop for the CSS stage of CSS-ML: relative decrease of the CSS */
#define STEADY_TOL 1e-11  /* gain frozen once the covariance moves by <= tol * F per step */

struct aq_arima_ws {
	double *buf;
	size_t cap;
};

struct aq_arima_ws *aq_arima_ws_new(void)
{
	return calloc(1, sizeof(struct aq_arima_ws));
}

void aq_arima_ws_free(struct aq_arima_ws *ws)
{
	if (!ws)
		return;
	free(ws->buf);
	free(ws);
}

int aq_arima_ncoef(const struct aq_arima_spec *s)
{
	int k = s->p + s->q + s->P + s->Q;
	if (s->constant && s->d + s->D <= 1)
		k++;
	return k;
}

const char *aq_arima_spec_str(const struct aq_arima_spec *s, char *buf, size_t len)
{
	int o = snprintf(buf, len, "ARIMA(%d,%d,%d)", s->p, s->d, s->q);
	if (o >= 0 && (size_t)o < len && (s->P || s->D || s->Q))
		o += snprintf(buf + o, len - (size_t)o, "(%d,%d,%d)[%d]", s->P, s->D, s->Q, s->s);
	if (o >= 0 && (size_t)o < len && s->constant && s->d + s->D <= 1)
		snprintf(buf + o, len - (size_t)o, s->d + s->D == 0 ? " with non-zero mean" : " with drift");
	return buf;
}

void aq_arima_model_init(struct aq_arima_model *m)
{
	memset(m, 0, sizeof(*m));
}

void aq_arima_model_release(struct aq_arima_model *m)
{
	free(m->coef);
	free(m->vcov);
	free(m->state.v);
	aq_arima_model_init(m);
}

int aq_arima_model_copy(struct aq_arima_model *dst, const struct aq_arima_model *src, struct aq_err *e)
{
	struct aq_arima_model t = *src;
	t.coef = NULL;
	t.vcov = NULL;
	t.state.v = NULL;
	/* one spare element: a model without coefficients still has a coef array (aq_arima_fit) */
	if (src->coef && !(t.coef = calloc((size_t)src->ncoef + 1, sizeof(double))))
		goto nomem;
	if (src->vcov && !(t.vcov = malloc(sizeof(double) * src->ncoef * src->ncoef)))
		goto nomem;
	if (src->state.len > 0 && src->state.v && !(t.state.v = malloc(sizeof(double) * src->state.len)))
		goto nomem;
	if (t.coef)
		memcpy(t.coef, src->coef, sizeof(double) * src->ncoef);
	if (t.vcov)
		memcpy(t.vcov, src->vcov, sizeof(double) * src->ncoef * src->ncoef);
	if (t.state.v)
		memcpy(t.state.v, src->state.v, sizeof(double) * src->state.len);
	aq_arima_model_release(dst);
	*dst = t;
	return 0;
nomem:
	free(t.coef);
	free(t.vcov);
	free(t.state.v);
	return aq_err_set(e, AQ_ENOMEM, "cannot allocate arima model copy");
}

/* ---- parameter transforms (R's partrans, invpartrans, transPars) ---- */

/* tanh to partial autocorrelations, then Durbin–Levinson to AR coefficients. */
static void partrans(int p, const double *raw, double *out)
{
	double work[64];
	for (int j = 0; j < p; j++)
		work[j] = out[j] = tanh(raw[j]);
	for (int j = 1; j < p; j++) {
		double a = out[j];
		for (int k = 0; k < j; k++)
			work[k] -= a * out[j - k - 1];
		for (int k = 0; k < j; k++)
			out[k] = work[k];
	}
}

/* Inverse: Durbin–Levinson backwards to the PACF, then atanh. */
static void invpartrans(int p, const double *phi, double *out)
{
	double work[64];
	for (int j = 0; j < p; j++)
		work[j] = out[j] = phi[j];
	for (int j = p - 1; j > 0; j--) {
		double a = out[j];
		for (int k = 0; k < j; k++)
			work[k] = (out[k] + a * out[j - k - 1]) / (1 - a * a);
		for (int k = 0; k < j; k++)
			out[k] = work[k];
	}
	for (int j = 0; j < p; j++)
		out[j] = atanh(out[j]);
}

/* ---- polynomial roots (companion matrix eigenvalues, LAPACK dgeev) ---- */

/*
 * Eigenvalues lam of the companion matrix of z^m - c[0] z^{m-1} - ... - c[m-1]
 * (first row c, ones on the subdiagonal; column-major). The roots of
 * 1 - c[0] z - ... - c[m-1] z^m are 1/lam. Trailing |c| <= 1e-10 are dropped
 * first; *m_out is the degree used. Returns 0, or -1 if LAPACK failed.
 */
static int comp_eig(int m, const double *c, double complex *lam, int *m_out)
{
	while (m > 0 && fabs(c[m - 1]) <= 1e-10)
		m--;
	*m_out = m;
	if (m == 0)
		return 0;
	double H[64 * 64], wr[64], wi[64];
	if (m > 64)
		return -1;
	memset(H, 0, sizeof(double) * m * m);
	for (int j = 0; j < m; j++)
		H[0 + m * j] = c[j];
	for (int i = 1; i < m; i++)
		H[i + m * (i - 1)] = 1.0;
	lapack_int info = LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', m, H, m, wr, wi, NULL, 1, NULL, 1);
	if (info != 0)
		return -1;
	for (int i = 0; i < m; i++)
		lam[i] = wr[i] + I * wi[i];
	return 0;
}

/* All roots of 1 - ar_1 z - ... outside the unit circle (R's arCheck). */
static int ar_ok(int p, const double *ar)
{
	double complex lam[64];
	int m;
	if (p == 0)
		return 1;
	for (int i = 0; i < p; i++)
		if (!isfinite(ar[i]))
			return 0;
	if (comp_eig(p, ar, lam, &m))
		return 0;
	for (int i = 0; i < m; i++)
		if (!(cabs(lam[i]) < 1.0))
			return 0;
	return 1;
}

/*
 * Reciprocal roots lam of 1 + ma_1 z + ... + ma_q z^q = prod (1 - lam_k z):
 * eigenvalues of the companion matrix of -ma. Returns -1 for q > 64, a
 * non-finite coefficient or a failed eigenvalue computation.
 */
static int ma_recip_roots(int q, const double *ma, double complex *lam, int *m)
{
	double c[64];
	if (q > 64)
		return -1;
	for (int i = 0; i < q; i++) {
		if (!isfinite(ma[i]))
			return -1;
		c[i] = -ma[i];
	}
	return comp_eig(q, c, lam, m) ? -1 : 0;
}

/* Smallest |log |z|| over the roots z of 1 + ma_1 z + ... + ma_q z^q: distance of the MA part from non-invertibility. */
static double ma_unit_dist(int q, const double *ma)
{
	double complex lam[64];
	double best = INFINITY;
	int m;
	if (q == 0 || ma_recip_roots(q, ma, lam, &m))
		return INFINITY;
	for (int i = 0; i < m; i++) {
		double d = fabs(log(cabs(lam[i])));
		best = d < best ? d : best;
	}
	return best;
}

/* Smallest modulus of the roots z of 1 + ma_1 z + ... + ma_q z^q (+Inf without roots, 0 if not computable). */
static double ma_min_root(int q, const double *ma)
{
	double complex lam[64];
	double big = 0;
	int m;
	if (q == 0 || q > 64)
		return INFINITY;
	if (ma_recip_roots(q, ma, lam, &m))
		return 0;
	for (int i = 0; i < m; i++)
		big = fmax(big, cabs(lam[i]));
	return big > 0 ? 1.0 / big : INFINITY;
}

/*
 * R's maInvert: roots of 1 + ma_1 z + ... inside the unit circle are
 * replaced by their reciprocals. With lam the reciprocal roots, the
 * polynomial is prod (1 - lam_k z); flipping a root is lam_k -> 1/lam_k.
 */
static void ma_invert(int q, double *ma)
{
	double complex lam[64], poly[65];
	int m, flip = 0;
	if (q == 0 || ma_recip_roots(q, ma, lam, &m) || m == 0)
		return;
	for (int i = 0; i < m; i++)
		if (cabs(lam[i]) > 1.0) {
			lam[i] = 1.0 / lam[i];
			flip = 1;
		}
	if (!flip)
		return;
	if (m == 1) {
		ma[0] = 1.0 / ma[0];
		return;
	}
	poly[0] = 1.0;
	for (int k = 1; k <= m; k++)
		poly[k] = 0.0;
	for (int k = 0; k < m; k++)
		for (int j = k + 1; j >= 1; j--)
			poly[j] -= lam[k] * poly[j - 1];
	for (int i = 0; i < m; i++)
		ma[i] = creal(poly[i + 1]);
	for (int i = m; i < q; i++)
		ma[i] = 0.0;
}

static int all_finite(const double *v, size_t n);

/* ---- fitting context ---- */

struct actx {
	int p, q, P, Q, s, d, D;
	int np, nq, dd, narma, ncoef, ncx, drift;
	struct aq_kalman_arima km;  /* with differencing states */
	struct aq_kalman_arima ka;  /* ARMA part only (differenced-series path) */
	const double *y;
	size_t n;
	size_t first, last;         /* first, last observed index */
	int nobs_nonmiss, anymiss, interior_miss;
	int nao;                    /* interior missing days (<= AO_MAX: fast path with regressors) */
	int nao_cap;                /* room in ao_t: min(interior missing days, AO_MAX) */
	ptrdiff_t *ao_t;            /* their indices, ascending; relative to first + dd after make_diff */
	int ao_rel;                 /* ao_t already made relative to first + dd */
	int n_used, ncond;
	int trans;                  /* ML objective on transformed AR parameters */
	int fast;                   /* ML by the differenced path */
	int nevals;
	int unit_ma_iters;          /* ML monitor: consecutive iterations with an MA root at the unit circle */
	int unit_ma_stop;           /* stop after that many (0: never) */
	int css_unit_stop;          /* CSS: stop after that many LM steps with an MA root inside CSS_UNIT_BAND */
	/* carved from the workspace */
	double *phi, *theta, *delta;
	double *par, *raw, *tmp, *parscale, *init;
	double *a, *Pm;          /* state and its covariance */
	double *q0w, *fw, *ow, *H;
	double *x, *dy, *dreg, *w, *resid;
	double *dyf;                /* differenced zero-filled y (fast path with gaps) */
	double *aopat;              /* impulse pattern of a gap in the differenced series: 1, -delta */
	double *jac;                /* n x ncoef: d resid / d coef (CSS Levenberg–Marquardt), D[t*k + b] */
	double *jac2;               /* n x ncoef: the same through the seasonal MA filter only */
	double *cz, *cf;            /* css_eval without missing values: Phi(B^s) w, e Theta(B^s) */
	double *jac3;               /* n x ncoef: the previous Jacobian (CSS LM secant update) */
	double *lmw;                /* LM scratch: 6 k^2 + 4 k */
	double *lagval;             /* nonzero phi, theta values (np + nq) */
	int *lagidx;                /* and their lags */
};

static double reg_at(const struct actx *c, size_t i)
{
	return c->drift ? (double)(i + 1) : 1.0;
}

/* Interior missing days (between the first and last observed), capped at AO_MAX. */
static int count_gaps(const double *y, size_t n)
{
	size_t first = 0, last = n;
	while (first < n && isnan(y[first]))
		first++;
	while (last > first && isnan(y[last - 1]))
		last--;
	int k = 0;
	for (size_t t = first; t < last && k < AO_MAX; t++)
		k += isnan(y[t]) ? 1 : 0;
	return k;
}

/* Carve the workspace; grows it once to the largest model seen. */
static int ctx_alloc(struct actx *c, struct aq_arima_ws *ws, struct aq_err *e)
{
	int rd = c->km.rd, r = c->km.r, k = c->ncoef > 0 ? c->ncoef : 1;
	size_t n = c->n + 1;
	size_t need = (size_t)(c->np + c->nq + c->dd + 3) + 6 * (size_t)(k + 64) + (size_t)rd + (size_t)rd * rd +
		      aq_kalman_q0_work(c->np, c->nq, r) + aq_kalman_filter_work(rd) + aq_kalman_chandra_work(r) + aq_optim_work(k) +
		      (size_t)k * k + 7 * n + 2 * (size_t)(c->np + c->nq) + 24 + 3 * (size_t)k * n + 6 * (size_t)k * k + 4 * (size_t)k + 8 + n +
		      aq_kalman_chandra_ao_work(r, c->nao_cap) + (size_t)c->nao_cap + (size_t)c->dd + 2;
	if (ws->cap < need) {
		double *nb = realloc(ws->buf, sizeof(double) * need);
		if (!nb)
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate arima workspace (%zu doubles)", need);
		ws->buf = nb;
		ws->cap = need;
	}
	double *b = ws->buf;
#define TAKE(ptr, cnt) do { (ptr) = b; b += (cnt); } while (0)
	TAKE(c->phi, c->np + 1);
	TAKE(c->theta, c->nq + 1);
	TAKE(c->delta, c->dd + 1);
	TAKE(c->par, k + 64);
	TAKE(c->raw, k + 64);
	TAKE(c->tmp, k + 64);
	TAKE(c->parscale, k + 64);
	TAKE(c->init, k + 64);
	TAKE(c->H, (size_t)k * k + 64);
	TAKE(c->a, rd);
	TAKE(c->Pm, (size_t)rd * rd);
	TAKE(c->q0w, aq_kalman_q0_work(c->np, c->nq, r));
	TAKE(c->fw, aq_kalman_filter_work(rd) + aq_kalman_chandra_work(r) + aq_kalman_chandra_ao_work(r, c->nao_cap));
	TAKE(c->ow, aq_optim_work(k));
	TAKE(c->x, n);
	TAKE(c->dy, n);
	TAKE(c->dreg, n);
	TAKE(c->w, n);
	TAKE(c->resid, n);
	TAKE(c->jac, (size_t)k * n);
	TAKE(c->jac2, (size_t)k * n);
	TAKE(c->jac3, (size_t)k * n);
	TAKE(c->cz, n);
	TAKE(c->cf, n);
	TAKE(c->dyf, n);
	TAKE(c->aopat, (size_t)c->dd + 2);
	_Static_assert(sizeof(ptrdiff_t) <= sizeof(double), "ptrdiff_t carved from doubles");
	c->ao_t = (ptrdiff_t *)b;
	b += c->nao_cap + 1;
	TAKE(c->lmw, 6 * (size_t)k * k + 4 * (size_t)k + 8);
	TAKE(c->lagval, c->np + c->nq + 2);
	c->lagidx = (int *)b;
	b += (c->np + c->nq + 2 + 1) / 2 + 1;
#undef TAKE
	return 0;
}

static int spec_check(const struct aq_arima_spec *s, struct aq_err *e)
{
	if (s->p < 0 || s->d < 0 || s->q < 0 || s->P < 0 || s->D < 0 || s->Q < 0 || s->s < 0 ||
	    s->p > 3 * AQ_ARIMA_MAX_ORDER || s->q > 3 * AQ_ARIMA_MAX_ORDER || s->P > 3 * AQ_ARIMA_MAX_SORDER ||
	    s->Q > 3 * AQ_ARIMA_MAX_SORDER || s->d > 3 || s->D > 2)
		return aq_err_set(e, AQ_EINVAL, "invalid arima order (%d,%d,%d)(%d,%d,%d)[%d]", s->p, s->d, s->q,
				  s->P, s->D, s->Q, s->s);
	if ((s->P || s->D || s->Q) && s->s < 2)
		return aq_err_set(e, AQ_EINVAL, "seasonal arima order needs a period >= 2, got %d", s->s);
	if (s->s > 400)
		return aq_err_set(e, AQ_EINVAL, "seasonal period %d too long", s->s);
	return 0;
}

/* Orders, differencing polynomial, workspace. */
static int ctx_init(struct actx *c, const double *y, size_t n, const struct aq_arima_spec *s,
		    struct aq_arima_ws *ws, struct aq_err *e)
{
	int rc;
	memset(c, 0, sizeof(*c));
	if ((rc = spec_check(s, e)))
		return rc;
	int seas = s->P || s->D || s->Q;
	c->p = s->p; c->q = s->q; c->d = s->d;
	c->P = seas ? s->P : 0; c->Q = seas ? s->Q : 0; c->D = seas ? s->D : 0;
	c->s = seas ? s->s : 0;
	c->np = c->p + c->s * c->P;
	c->nq = c->q + c->s * c->Q;
	c->dd = c->d + c->s * c->D;
	c->narma = c->p + c->q + c->P + c->Q;
	c->ncx = (s->constant && c->d + c->D <= 1) ? 1 : 0;
	c->drift = c->ncx && c->d + c->D == 1;
	c->ncoef = c->narma + c->ncx;
	c->y = y;
	c->n = n;
	c->km.np = c->ka.np = c->np;
	c->km.nq = c->ka.nq = c->nq;
	c->km.dd = c->dd;
	c->ka.dd = 0;
	aq_kalman_arima_dims(&c->km);
	aq_kalman_arima_dims(&c->ka);
	c->nao_cap = count_gaps(y, n);
	if ((rc = ctx_alloc(c, ws, e)))
		return rc;
	c->km.phi = c->ka.phi = c->phi;
	c->km.theta = c->ka.theta = c->theta;
	c->km.delta = c->delta;
	aq_arima_delta(c->d, c->D, c->s, c->delta);
	return 0;
}

void aq_arima_expand(int p, int q, int P, int Q, int s, const double *coef, double *phi, double *theta)
{
	const double *ar = coef, *ma = coef + p, *sar = ma + q, *sma = sar + P;
	int np = p + s * P, nq = q + s * Q;

	for (int i = 0; i < np; i++)
		phi[i] = i < p ? ar[i] : 0.0;
	for (int i = 0; i < nq; i++)
		theta[i] = i < q ? ma[i] : 0.0;
	for (int j = 0; j < P; j++) {
		phi[(j + 1) * s - 1] += sar[j];
		for (int i = 0; i < p; i++)
			phi[(j + 1) * s + i] -= ar[i] * sar[j];
	}
	for (int j = 0; j < Q; j++) {
		theta[(j + 1) * s - 1] += sma[j];
		for (int i = 0; i < q; i++)
			theta[(j + 1) * s + i] += ma[i] * sma[j];
	}
}

void aq_arima_diff_poly(int d, int D, int s, double *pl)
{
	int dd = d + s * D, deg = 0;

	pl[0] = 1.0;
	for (int k = 1; k <= dd; k++)
		pl[k] = 0.0;
	for (int i = 0; i < d; i++, deg++)
		for (int j = deg + 1; j >= 1; j--)
			pl[j] -= pl[j - 1];
	for (int i = 0; i < D; i++) {
		for (int j = deg + s; j >= s; j--)
			pl[j] -= pl[j - s];
		deg += s;
	}
}

void aq_arima_delta(int d, int D, int s, double *delta)
{
	int dd = d + s * D;

	aq_arima_diff_poly(d, D, s, delta);
	for (int k = 0; k < dd; k++)
		delta[k] = -delta[k + 1];
	delta[dd] = 0.0;
}

/* Natural coefficients -> expanded phi (np), theta (nq). */
static void expand(struct actx *c, const double *par)
{
	aq_arima_expand(c->p, c->q, c->P, c->Q, c->s, par, c->phi, c->theta);
}

/* raw (optimiser space) -> natural coefficients in out (partrans on AR blocks). */
static void untrans(const struct actx *c, const double *raw, double *out)
{
	memcpy(out, raw, sizeof(double) * c->ncoef);
	if (c->p > 0)
		partrans(c->p, raw, out);
	if (c->P > 0)
		partrans(c->P, raw + c->p + c->q, out + c->p + c->q);
}

/* Differenced y and regressor (NaN propagates), valid from index dd. */
static void make_diff(struct actx *c)
{
	size_t n = c->n;
	for (size_t t = 0; t < n; t++) {
		c->dy[t] = NAN;
		c->dreg[t] = NAN;
	}
	for (size_t t = (size_t)c->dd; t < n; t++) {
		double v = c->y[t], r = c->ncx ? reg_at(c, t) : 0.0;
		for (int k = 0; k < c->dd; k++) {
			v -= c->delta[k] * c->y[t - 1 - k];
			if (c->ncx)
				r -= c->delta[k] * reg_at(c, t - 1 - k);
		}
		c->dy[t] = v;
		c->dreg[t] = r;
	}
	if (c->interior_miss && c->nao <= AO_MAX && c->nobs_nonmiss > 0) {
		/* Gaps as additive outliers: y filled with 0, one impulse column per gap,
		 * differenced alike: X_j[t] = [t == t_j] - sum_k delta_k [t - 1 - k == t_j]. */
		size_t t0 = c->first + (size_t)c->dd, len = c->last + 1 > t0 ? c->last + 1 - t0 : 0;
		for (size_t t = t0; t <= c->last && len; t++) {
			double v = isnan(c->y[t]) ? 0.0 : c->y[t];
			for (int k = 0; k < c->dd; k++) {
				double u = c->y[t - 1 - k];
				v -= c->delta[k] * (isnan(u) ? 0.0 : u);
			}
			c->dyf[t] = v;
		}
		(void)len;
		c->aopat[0] = 1.0;
		for (int k = 0; k < c->dd; k++)
			c->aopat[k + 1] = -c->delta[k];
		for (int j = 0; j < c->nao && !c->ao_rel; j++)
			c->ao_t[j] -= (ptrdiff_t)t0;
		c->ao_rel = 1;
	}
}

static int ctx_roots_ok(const struct actx *c, double min_modulus);

/* Conditional sum of squares at natural coefficients par: ssq, nu. */
static void css_eval(struct actx *c, const double *par, double *ssq_out, int *nu_out)
{
	c->nevals++;
	expand(c, par);
	double beta = c->ncx ? par[c->narma] : 0.0;
	size_t n = c->n;
	int np = c->np, nq = c->nq, ncond = c->ncond;
	double *w = c->w, *res = c->resid, ssq = 0.0;
	int nu = 0;
	for (size_t t = 0; t < n; t++) {
		w[t] = c->ncx ? c->dy[t] - beta * c->dreg[t] : c->dy[t];
		res[t] = 0.0;
	}
	/* Nonzero lags only: seasonal expansions are mostly zeros. */
	int *pi = c->lagidx, *qi = c->lagidx + np, npz = 0, nqz = 0;
	double *pv = c->lagval, *qv = c->lagval + np;
	for (int j = 0; j < np; j++)
		if (c->phi[j] != 0.0) {
			pi[npz] = j + 1;
			pv[npz++] = c->phi[j];
		}
	for (int j = 0; j < nq; j++)
		if (c->theta[j] != 0.0) {
			qi[nqz] = j + 1;
			qv[nqz++] = c->theta[j];
		}
	if (!c->anymiss && (c->P > 0 || c->Q > 0) && c->s > 0) {
		/*
		 * No missing value: the expanded polynomials factorise (cf.
		 * css_jac_normal), p + P and q + Q lags instead of p + P + pP and
		 * q + Q + qQ: z = Phi(B^s) w (valid from ncond - p), u = phi(B) z,
		 * f = u / Theta(B^s), e = f / theta(B) (f, e zero before ncond).
		 */
		const double *ar = par, *ma = par + c->p, *sar = ma + c->q, *sma = sar + c->P;
		int s = c->s;
		double *z = c->cz, *f = c->cf;
		size_t t0 = (size_t)(ncond - c->p);
		for (size_t t = t0; t < n; t++) {
			double v = w[t];
			for (int j = 0; j < c->P; j++)
				v -= sar[j] * w[t - (size_t)((j + 1) * s)];
			z[t] = v;
		}
		for (size_t t = 0; t < (size_t)ncond && t < n; t++)
			f[t] = 0.0;
		for (size_t l = (size_t)ncond; l < n; l++) {
			double v = z[l];
			for (int i = 0; i < c->p; i++)
				v -= ar[i] * z[l - (size_t)i - 1];
			size_t lim = l - (size_t)ncond;
			for (int j = 0; j < c->Q && (size_t)((j + 1) * s) <= lim; j++)
				v -= sma[j] * f[l - (size_t)((j + 1) * s)];
			f[l] = v;
			for (int i = 0; i < c->q && (size_t)i + 1 <= lim; i++)
				v -= ma[i] * res[l - (size_t)i - 1];
			res[l] = v;
			c->x[l] = 1.0;
			ssq += v * v;
		}
		if (isfinite(ssq)) {
			*ssq_out = ssq;
			*nu_out = (int)(n > (size_t)ncond ? n - (size_t)ncond : 0);
			return;
		}
		ssq = 0.0; /* overflow (an exploding MA recursion): the general path's rules */
	}
	for (size_t l = (size_t)ncond; l < n; l++) {
		double tmp = w[l];
		for (int j = 0; j < npz; j++)
			tmp -= pv[j] * w[l - pi[j]];
		size_t lim = l - (size_t)ncond; /* MA terms only after the conditioning values */
		for (int j = 0; j < nqz && (size_t)qi[j] <= lim; j++)
			tmp -= qv[j] * res[l - qi[j]];
		/* With missing values a residual counts only if its whole AR lag
		 * window is observed: the objective stays smooth in phi. */
		for (int j = 0; c->anymiss && j < np && !isnan(tmp); j++)
			if (isnan(w[l - j - 1]))
				tmp = NAN;
		if (isnan(tmp)) {
			res[l] = 0.0;
			c->x[l] = 0.0;
		} else {
			res[l] = tmp;
			c->x[l] = 1.0;
			nu++;
			ssq += tmp * tmp;
		}
	}
	*ssq_out = ssq;
	*nu_out = nu;
}

/*
 * Jacobian of the conditional residuals (after css_eval at par) and the
 * normal equations in one pass over t. For each coefficient b, D_t = de_t/db
 * follows the residual recursion
 *   D_t = g_t - sum_{j <= t - ncond} theta_j D_{t-j},
 * g_t = -sum_L (dphi_L/db) w_{t-L} - sum_L (dtheta_L/db) e_{t-L} (mean/drift:
 * g_t = -dreg_t + sum_j phi_j dreg_{t-j}); the derivatives of the expanded
 * polynomials are those of (1 - ar(B))(1 - sar(B^s)) and (1 + ma(B))(1 + sma(B^s)).
 * Uncounted (missing) residuals are constants: D_t = 0.
 * All k series advance together (layout D[t*k + b], c->jac, n x k): the MA
 * recursion is one vector update per nonzero theta lag, and
 * JtJ = sum_t D_t D_t' (k x k row-major, both triangles) and Jte = sum_t D_t e_t
 * are accumulated in the same pass.
 */
#define JAC_MAXT (4 * (AQ_ARIMA_MAX_ORDER + AQ_ARIMA_MAX_SORDER) * (1 + 3 * AQ_ARIMA_MAX_ORDER) + 8)
static void css_jac_normal(struct actx *c, const double *par, double *JtJ, double *Jte)
{
	const double *ar = par, *ma = par + c->p, *sar = ma + c->q, *sma = sar + c->P;
	int np = c->np, s = c->s, ncond = c->ncond, k = c->ncoef;
	size_t n = c->n, uk = (size_t)k;
	/* Nonzero lags of the last evaluation (css_eval's tables). */
	const int *pi = c->lagidx, *qi = c->lagidx + np;
	const double *pv = c->lagval, *qv = c->lagval + np;
	int npz = 0, nqz = 0;
	for (int j = 0; j < np; j++)
		npz += c->phi[j] != 0.0;
	for (int j = 0; j < c->nq; j++)
		nqz += c->theta[j] != 0.0;
	/* Terms of g: coefficient index, lag, factor, source (0 w, 1 e). */
	int tb[JAC_MAXT], tl[JAC_MAXT], ts[JAC_MAXT], nt = 0, cb = -1;
	double tf[JAC_MAXT];
#define TERM(b_, l_, f_, s_) do { if (nt < JAC_MAXT) { tb[nt] = (b_); tl[nt] = (l_); tf[nt] = (f_); ts[nt] = (s_); nt++; } } while (0)
	int b = 0;
	for (int i = 0; i < c->p; i++, b++) {
		TERM(b, i + 1, 1.0, 0);
		for (int j = 0; j < c->P; j++)
			TERM(b, (j + 1) * s + i + 1, -sar[j], 0);
	}
	for (int i = 0; i < c->q; i++, b++) {
		TERM(b, i + 1, 1.0, 1);
		for (int j = 0; j < c->Q; j++)
			TERM(b, (j + 1) * s + i + 1, sma[j], 1);
	}
	for (int j = 0; j < c->P; j++, b++) {
		TERM(b, (j + 1) * s, 1.0, 0);
		for (int i = 0; i < c->p; i++)
			TERM(b, (j + 1) * s + i + 1, -ar[i], 0);
	}
	for (int j = 0; j < c->Q; j++, b++) {
		TERM(b, (j + 1) * s, 1.0, 1);
		for (int i = 0; i < c->q; i++)
			TERM(b, (j + 1) * s + i + 1, ma[i], 1);
	}
	if (c->ncx)
		cb = b;
#undef TERM
	const double *tp[JAC_MAXT];
	for (int m = 0; m < nt; m++)
		tp[m] = ts[m] ? c->resid : c->w;
	const double *e = c->resid, *dreg = c->dreg;
	double *D = c->jac, *F = c->jac2;
	/* Without missing values D is 1/(theta(B) Theta(B^s)) applied to g (zero
	 * before ncond: the expanded recursion's truncation at j <= t - ncond
	 * only skips those zeros), so the filter factorises: F = g / Theta(B^s),
	 * D = F / theta(B): q + Q multiply-adds per series and step instead of
	 * the q + Q + qQ nonzero lags of the expanded polynomial. */
	int cascade = !c->anymiss && c->q > 0 && c->Q > 0 && s > 0;
	if (JtJ)
		memset(JtJ, 0, sizeof(double) * uk * uk);
	memset(Jte, 0, sizeof(double) * uk);
	/* g, one term at a time over t (MA terms only where lag <= t - ncond);
	 * the first term of a coefficient stores, so D needs no clearing (rows
	 * before ncond are never read: every lag read is <= t - ncond) */
	for (int m = 0; m < nt; m++) {
		const double *src = tp[m], f = tf[m];
		size_t l = (size_t)tl[m], t0 = (size_t)ncond + (ts[m] ? l : 0);
		double *Db = D + tb[m];
		if (m == 0 || tb[m] != tb[m - 1]) {
			for (size_t t = (size_t)ncond; t < t0 && t < n; t++)
				Db[t * uk] = 0.0;
			for (size_t t = t0; t < n; t++)
				Db[t * uk] = -f * src[t - l];
		} else {
			for (size_t t = t0; t < n; t++)
				Db[t * uk] -= f * src[t - l];
		}
	}
	if (cb >= 0)
		for (size_t t = (size_t)ncond; t < n; t++) {
			double v = -dreg[t];
			for (int j = 0; j < npz; j++)
				v += pv[j] * dreg[t - (size_t)pi[j]];
			D[t * uk + (size_t)cb] = v;
		}
	/* the MA recursion (in place on g) and the normal equations */
	for (size_t t = (size_t)ncond; t < n; t++) {
		double *restrict Dt = D + t * uk;
		if (c->x[t] == 0.0) {
			memset(Dt, 0, sizeof(double) * uk);
			continue;
		}
		size_t lim = t - (size_t)ncond;
		if (cascade) {
			/* F_t = g_t - sum_j sma_j F_{t-(j+1)s}, D_t = F_t - sum_i ma_i D_{t-i-1} (0 before ncond) */
			double *restrict Ft = F + t * uk;
			for (int a = 0; a < k; a++)
				Ft[a] = Dt[a];
			for (int j = 0; j < c->Q && (size_t)((j + 1) * s) <= lim; j++) {
				const double *restrict Fl = Ft - (size_t)((j + 1) * s) * uk;
				double th = sma[j];
				for (int a = 0; a < k; a++)
					Ft[a] -= th * Fl[a];
			}
			for (int a = 0; a < k; a++)
				Dt[a] = Ft[a];
			for (int i = 0; i < c->q && (size_t)(i + 1) <= lim; i++) {
				const double *restrict Dl = Dt - (size_t)(i + 1) * uk;
				double th = ma[i];
				for (int a = 0; a < k; a++)
					Dt[a] -= th * Dl[a];
			}
		} else {
			for (int j = 0; j < nqz && (size_t)qi[j] <= lim; j++) {
				const double *restrict Dl = Dt - (size_t)qi[j] * uk;
				double th = qv[j];
				for (int a = 0; a < k; a++)
					Dt[a] -= th * Dl[a];
			}
		}
		double et = e[t];
		for (int a = 0; a < k; a++)
			Jte[a] += Dt[a] * et;
		if (!JtJ)
			continue;
		/* lower triangle, two rows at a time (each D_t[bb] loaded once per pair) */
		int a = 0;
		for (; a + 1 < k; a += 2) {
			double d0 = Dt[a], d1 = Dt[a + 1];
			double *restrict r0 = JtJ + (size_t)a * uk, *restrict r1 = r0 + uk;
			for (int bb = 0; bb <= a; bb++) {
				double db = Dt[bb];
				r0[bb] += d0 * db;
				r1[bb] += d1 * db;
			}
			r1[a + 1] += d1 * d1;
		}
		if (a < k) {
			double d0 = Dt[a];
			double *restrict r0 = JtJ + (size_t)a * uk;
			for (int bb = 0; bb <= a; bb++)
				r0[bb] += d0 * Dt[bb];
		}
	}
	for (int a = 0; JtJ && a < k; a++)
		for (int bb = 0; bb < a; bb++)
			JtJ[(size_t)bb * uk + a] = JtJ[(size_t)a * uk + bb];
}

/*
 * Hessian of the CSS objective f = 0.5 log(ssq / nu) at par (k x k
 * row-major) as R's optimhess (x-step ndeps = 1e-3 for every coefficient,
 * whatever its parscale: H_ij = (g_j(x + h e_i) - g_j(x - h e_i)) / 2h,
 * symmetrised), but from the analytic gradient g = J'e / ssq instead of
 * central differences: 2k CSS passes with a Jacobian instead of 4k^2
 * plain ones (R's numerical gradient agrees with it to O(h^2)).
 * Returns -1 if a gradient is not finite or the residual count changes
 * (missing values), so the caller can fall back to the numerical Hessian.
 */
static int css_hessian(struct actx *c, const double *par, double h, double *H)
{
	int k = c->ncoef, nu0 = -1;
	double *x = c->tmp, *g1 = c->lmw, *g2 = g1 + k;
	for (int i = 0; i < k; i++) {
		for (int side = 0; side < 2; side++) {
			double ssq, *g = side ? g2 : g1;
			int nu;
			memcpy(x, par, sizeof(double) * k);
			x[i] += side ? -h : h;
			css_eval(c, x, &ssq, &nu);
			if (nu == 0 || !(ssq > 0) || !isfinite(ssq) || (nu0 >= 0 && nu != nu0))
				return -1;
			nu0 = nu;
			css_jac_normal(c, x, NULL, g);
			for (int j = 0; j < k; j++)
				g[j] /= ssq;
			if (!all_finite(g, (size_t)k))
				return -1;
		}
		for (int j = 0; j < k; j++)
			H[i * k + j] = (g1[j] - g2[j]) / (2 * h);
	}
	for (int i = 0; i < k; i++)
		for (int j = 0; j < i; j++)
			H[i * k + j] = H[j * k + i] = 0.5 * (H[i * k + j] + H[j * k + i]);
	return 0;
}

/* Solve A x = b (k x k row-major, destroyed) by Gaussian elimination with partial pivoting. */
static int solve_small(int k, double *A, double *b)
{
	for (int col = 0; col < k; col++) {
		int piv = col;
		for (int i = col + 1; i < k; i++)
			if (fabs(A[i * k + col]) > fabs(A[piv * k + col]))
				piv = i;
		if (!(fabs(A[piv * k + col]) > 0))
			return -1;
		if (piv != col) {
			for (int j = 0; j < k; j++) {
				double t = A[col * k + j];
				A[col * k + j] = A[piv * k + j];
				A[piv * k + j] = t;
			}
			double t = b[col]; b[col] = b[piv]; b[piv] = t;
		}
		for (int i = col + 1; i < k; i++) {
			double f = A[i * k + col] / A[col * k + col];
			for (int j = col; j < k; j++)
				A[i * k + j] -= f * A[col * k + j];
			b[i] -= f * b[col];
		}
	}
	for (int i = k - 1; i >= 0; i--) {
		double v = b[i];
		for (int j = i + 1; j < k; j++)
			v -= A[i * k + j] * b[j];
		b[i] = v / A[i * k + i];
		if (!isfinite(b[i]))
			return -1;
	}
	return 0;
}

/*
 * Minimise the conditional sum of squares by Levenberg–Marquardt (Marquardt
 * 1963: (J'J + lambda diag J'J) delta = -J'e) with the analytic Jacobian
 * above: ~5-10 iterations of one Jacobian (~k CSS passes) where BFGS with
 * numerical gradients needs 100-250 CSS passes. par: start in, minimiser out.
 * The residuals of the accepted trial are those at the new par, so each
 * iteration costs one Jacobian and (usually) one trial evaluation.
 * Stops when the relative decrease of the CSS falls below rtol, or before
 * any trial when the Gauss–Newton model predicts less than that (e'J
 * (J'J)^-1 J'e < rtol ssq / 2: at a warm start on the optimum this saves
 * the ~15 rejected trials of lambda growing to 1e12).
 * Returns 0, or -1 (caller falls back to BFGS) if no finite decrease is found.
 */
/* css_unit_stop: an MA root inside this modulus while the CSS falls by less than CSS_UNIT_REL a step */
#define CSS_UNIT_BAND 1.005
#define CSS_UNIT_REL 1e-3
static int css_lm(struct actx *c, double *par, int max_iter, double rtol, int *iters)
{
	int k = c->ncoef;
	size_t uk = (size_t)k, n = c->n;
	double *JtJ = c->lmw, *A = JtJ + uk * uk, *g = A + uk * uk, *dl = g + k, *trial = dl + k;
	double *S = trial + k, *gold = S + uk * uk, *ys = gold + k, *Ss = ys + k; /* 3k^2 + 6k <= lmw */
	double ssq, ssq1, lambda = 1e-3;
	int nu, nu1, it, have_old = 0, unit_it = 0;
	memset(S, 0, sizeof(double) * uk * uk);
	css_eval(c, par, &ssq, &nu);
	if (nu == 0 || !isfinite(ssq))
		return -1;
	for (it = 0; it < max_iter; it++) {
		/* c->resid, c->w, c->x hold the residuals at par (the last evaluation) */
		css_jac_normal(c, par, JtJ, g);
		if (!all_finite(JtJ, (size_t)k * k) || !all_finite(g, (size_t)k))
			return -1;
		if (have_old) {
			/*
			 * Structured secant update of S ~ sum_t e_t d2e_t, the part of
			 * the Hessian Gauss–Newton leaves out (Dennis, Gay & Welsch
			 * 1981, NL2SOL): S s = y# = (J - J_old)'e, sized first by
			 * min(1, |s'y#| / |s'S s|). CSS residuals are large, so plain
			 * Gauss–Newton converges only linearly (~0.1 per iteration).
			 */
			const double *Do = c->jac3, *e = c->resid;
			double sy = 0, sys = 0, sSs = 0, rs = 0;
			for (int a = 0; a < k; a++)
				ys[a] = 0.0;
			for (size_t t = (size_t)c->ncond; t < n; t++) {
				double et = e[t];
				const double *Dt = Do + t * uk;
				for (int a = 0; a < k; a++)
					ys[a] += Dt[a] * et;
			}
			for (int a = 0; a < k; a++) {
				ys[a] = g[a] - ys[a];
				double v = 0;
				for (int b = 0; b < k; b++)
					v += S[a * k + b] * dl[b];
				Ss[a] = v;
				sys += dl[a] * ys[a];
				sSs += dl[a] * v;
				sy += dl[a] * (g[a] - gold[a]);
			}
			double tau = sSs > 0 ? fmin(1.0, fabs(sys) / sSs) : 1.0;
			if (sy > 0 && isfinite(sy)) {
				for (int a = 0; a < k; a++)
					Ss[a] *= tau;
				for (int a = 0; a < k * k; a++)
					S[a] *= tau;
				for (int a = 0; a < k; a++)
					rs += (ys[a] - Ss[a]) * dl[a];
				for (int a = 0; a < k; a++)
					for (int b = 0; b < k; b++) {
						double ya = g[a] - gold[a], yb = g[b] - gold[b];
						S[a * k + b] += ((ys[a] - Ss[a]) * yb + ya * (ys[b] - Ss[b])) / sy - rs * ya * yb / (sy * sy);
					}
				if (!all_finite(S, uk * uk))
					memset(S, 0, sizeof(double) * uk * uk);
			}
		}
		{	/* keep this Jacobian and gradient for the next update */
			double *tmpj = c->jac;
			c->jac = c->jac3;
			c->jac3 = tmpj;
			memcpy(gold, g, sizeof(double) * uk);
			have_old = 1;
		}
		/* predicted decrease g' (J'J + S)^-1 g (Gauss–Newton if that fails) */
		for (int pass = 0; pass < 2; pass++) {
			for (int a = 0; a < k * k; a++)
				A[a] = JtJ[a] + (pass ? 0.0 : S[a]);
			for (int a = 0; a < k; a++)
				dl[a] = g[a];
			if (solve_small(k, A, dl) == 0) {
				double pred = 0;
				for (int a = 0; a < k; a++)
					pred += g[a] * dl[a];
				if (pred > 0 || pass)
					break;
			}
			memset(S, 0, sizeof(double) * uk * uk);
		}
		{
			double pred = 0;
			for (int a = 0; a < k; a++)
				pred += g[a] * dl[a];
			if (pred >= 0 && pred < 0.5 * rtol * ssq)
				break;
		}
		int accepted = 0;
		while (lambda < 1e12) {
			for (int a = 0; a < k * k; a++)
				A[a] = JtJ[a] + S[a];
			for (int a = 0; a < k; a++) {
				A[a * k + a] += lambda * (JtJ[a * k + a] > 1e-300 ? JtJ[a * k + a] : 1e-300);
				dl[a] = -g[a];
			}
			if (solve_small(k, A, dl) == 0) {
				for (int a = 0; a < k; a++)
					trial[a] = par[a] + dl[a];
				css_eval(c, trial, &ssq1, &nu1);
				if (nu1 == nu && isfinite(ssq1) && ssq1 < ssq) {
					accepted = 1;
					break;
				}
			}
			lambda *= 10;
		}
		if (!accepted) {
			css_eval(c, par, &ssq, &nu); /* leave the residuals at par */
			break; /* no decrease possible: at the minimum */
		}
		double rel = (ssq - ssq1) / ssq, step = 0;
		for (int a = 0; a < k; a++) {
			step = fmax(step, fabs(dl[a]) / (1e-3 + fabs(par[a])));
			par[a] = trial[a];
		}
		ssq = ssq1;
		lambda = lambda / 10 > 1e-12 ? lambda / 10 : 1e-12;
		if (rel < rtol || step < 1e-9)
			break;
		if (c->css_unit_stop > 0 && c->q + c->Q > 0) {
			/*
			 * An MA root (of the expanded polynomial: a root w of
			 * Theta gives |w|^(1/s)) that stays inside CSS_UNIT_BAND
			 * while the CSS barely falls marks a fit crawling along
			 * the unit circle or beyond it (CSS does not keep MA
			 * invertible); an order search rejects it at 1.01
			 * whenever it stops, and R's optim crawls there for up
			 * to its 100 iterations. The decrease condition keeps
			 * fits that only pass through the band on their way
			 * (from a warm start) going.
			 */
			double r = ma_min_root(c->q, par + c->p);
			if (c->Q > 0 && c->s > 0)
				r = fmin(r, pow(ma_min_root(c->Q, par + c->p + c->q + c->P), 1.0 / c->s));
			unit_it = r < CSS_UNIT_BAND && rel < CSS_UNIT_REL ? unit_it + 1 : 0;
			if (unit_it >= c->css_unit_stop)
				break;
		}
	}
	if (iters)
		*iters = it + 1;
	return all_finite(par, (size_t)k) ? 0 : -1;
}

static double css_fn(int k, const double *x, void *ctx)
{
	struct actx *c = ctx;
	(void)k;
	double ssq;
	int nu;
	css_eval(c, x, &ssq, &nu);
	if (nu == 0 || !(ssq > 0) || !isfinite(ssq))
		return DBL_MAX;
	return 0.5 * log(ssq / nu);
}

/* Q0 into the ARMA block of c->P (leading dimension ld), rest 0 and kappa. */
static int init_state(struct actx *c, const struct aq_kalman_arima *m)
{
	int rd = m->rd, r = m->r;
	memset(c->a, 0, sizeof(double) * rd);
	memset(c->Pm, 0, sizeof(double) * rd * rd);
	if (aq_kalman_q0(c->np, c->phi, c->nq, c->theta, r, c->Pm, rd, c->q0w))
		return -1;
	for (int k = 0; k < m->dd; k++)
		c->Pm[(r + k) + (size_t)rd * (r + k)] = KAPPA;
	return 0;
}

/*
 * Exact likelihood pieces at natural coefficients par (phi/theta expanded
 * here). fast: differenced path (only when no interior value is missing).
 * resid (n or NULL): standardised residuals, full path only.
 */
static int like_eval(struct actx *c, const double *par, int fast, double *resid, struct aq_kalman_stats *st)
{
	expand(c, par);
	double beta = c->ncx ? par[c->narma] : 0.0;
	if (fast) {
		if (init_state(c, &c->ka))
			return -1;
		size_t t0 = c->first + (size_t)c->dd, len = c->last + 1 - t0;
		if (!c->interior_miss) {
			for (size_t t = t0; t <= c->last; t++)
				c->w[t] = c->ncx ? c->dy[t] - beta * c->dreg[t] : c->dy[t];
			aq_kalman_chandra(&c->ka, c->w + t0, len, c->Pm, STEADY_TOL, st, c->fw);
			return 0;
		}
		for (size_t t = t0; t <= c->last; t++)
			c->w[t] = c->ncx ? c->dyf[t] - beta * c->dreg[t] : c->dyf[t];
		if (aq_kalman_chandra_ao(&c->ka, c->w + t0, len, c->ao_t, c->nao, c->aopat, c->dd + 1, c->Pm, STEADY_TOL,
					 st, c->fw) == 0)
			return 0;
		fast = 0; /* singular regressors (gaps at the very ends): R's form */
	}
	if (!fast) {
		if (init_state(c, &c->km))
			return -1;
		for (size_t t = 0; t < c->n; t++)
			c->x[t] = c->ncx ? c->y[t] - beta * reg_at(c, t) : c->y[t];
		aq_kalman_filter(&c->km, c->x, c->n, c->a, c->Pm, 1, STEADY_TOL, resid, st, c->fw);
	}
	return 0;
}

static double ml_value(const struct aq_kalman_stats *st)
{
	if (st->nu <= 0 || !(st->ssq > 0) || !isfinite(st->ssq) || !isfinite(st->sumlog))
		return DBL_MAX;
	return 0.5 * (log(st->ssq / st->nu) + st->sumlog / st->nu);
}

/* R's armafn: x in the optimiser's (possibly transformed) space. */
static double ml_fn(int k, const double *x, void *ctx)
{
	struct actx *c = ctx;
	struct aq_kalman_stats st;
	(void)k;
	c->nevals++;
	if (c->trans)
		untrans(c, x, c->tmp);
	else
		memcpy(c->tmp, x, sizeof(double) * c->ncoef);
	if (like_eval(c, c->tmp, c->fast, NULL, &st))
		return DBL_MAX;
	return ml_value(&st);
}

/* Scan y: observed count, first/last observed, missing inside. */
static void scan_y(struct actx *c)
{
	c->nobs_nonmiss = 0;
	c->anymiss = 0;
	c->interior_miss = 0;
	c->first = c->n;
	c->last = 0;
	for (size_t t = 0; t < c->n; t++) {
		if (isnan(c->y[t])) {
			c->anymiss = 1;
			continue;
		}
		if (c->first == c->n)
			c->first = t;
		c->last = t;
		c->nobs_nonmiss++;
	}
	c->nao = 0;
	if (c->nobs_nonmiss > 0)
		for (size_t t = c->first; t <= c->last; t++)
			if (isnan(c->y[t])) {
				c->interior_miss = 1;
				if (c->nao < c->nao_cap)
					c->ao_t[c->nao] = (ptrdiff_t)t;
				c->nao++;
			}
	c->n_used = c->nobs_nonmiss - c->dd;
}

/*
 * Differenced path usable? Without interior gaps always. With gaps (additive
 * outliers, at most AO_MAX, and only where cheaper than R's form), only when the first dd + 1 days from the first
 * observation are observed: R's diffuse start conditions on the first dd
 * OBSERVED values, the differenced series on y[first .. first + dd); with a
 * gap among them the two likelihoods differ by a data-dependent constant
 * (seen on DAIAD account 55: 0.7 in loglik), so R's form is used.
 */
static int ao_ok(const struct actx *c)
{
	if (!c->interior_miss)
		return 1;
	if (c->nao > AO_MAX || c->nobs_nonmiss <= c->dd + 1)
		return 0;
	/* Cost per step: ~k^2/6 + k r/2 (the k gap columns are active on average
	 * half the series, their cross products a triangle) against ~3 rd^2 for
	 * R's form (measured: (5,0,0)(1,1,1)[7] is 2.4x faster by regressors with
	 * 36 gaps in 730 days, 1.4x slower with 88; (2,1,2) always slower). */
	double k = c->nao;
	if (k * k / 6.0 + k * c->ka.r / 2.0 >= 3.0 * (double)c->km.rd * c->km.rd)
		return 0;
	for (size_t t = c->first; t <= c->first + (size_t)c->dd && t <= c->last; t++)
		if (isnan(c->y[t]))
			return 0;
	return 1;
}

/*
 * Least squares of the differenced series on the differenced regressor
 * (R: lm(dx ~ dxreg - 1)): beta, its standard error, and the residual sum
 * of squares (RSS, or sum dy^2 without regressor) to detect a constant series.
 */
static void regress(const struct actx *c, double *beta, double *se, double *rss, double *tss)
{
	double sxy = 0, sxx = 0, syy = 0;
	int m = 0;
	for (size_t t = (size_t)c->dd; t < c->n; t++) {
		if (isnan(c->dy[t]))
			continue;
		double xr = c->ncx ? c->dreg[t] : 0.0;
		sxy += xr * c->dy[t];
		sxx += xr * xr;
		syy += c->dy[t] * c->dy[t];
		m++;
	}
	*tss = syy;
	if (!c->ncx || m == 0 || sxx <= 0) {
		*beta = 0;
		*se = 0;
		*rss = syy;
		return;
	}
	double b = sxy / sxx, r = 0;
	for (size_t t = (size_t)c->dd; t < c->n; t++)
		if (!isnan(c->dy[t])) {
			double u = c->dy[t] - b * c->dreg[t];
			r += u * u;
		}
	*beta = b;
	*rss = r;
	*se = m > 1 ? sqrt(r / (m - 1) / sxx) : 0.0;
}

static int all_finite(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

/* Small dense inverse (Gauss–Jordan, partial pivoting), A n x n row-major, in place. */
static int inv_small(int n, double *A, double *W)
{
	/* W: n x 2n augmented */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < 2 * n; j++)
			W[i * 2 * n + j] = j < n ? A[i * n + j] : (j - n == i ? 1.0 : 0.0);
	for (int c = 0; c < n; c++) {
		int piv = c;
		for (int i = c + 1; i < n; i++)
			if (fabs(W[i * 2 * n + c]) > fabs(W[piv * 2 * n + c]))
				piv = i;
		if (!(fabs(W[piv * 2 * n + c]) > 1e-300))
			return -1;
		if (piv != c)
			for (int j = 0; j < 2 * n; j++) {
				double t = W[c * 2 * n + j];
				W[c * 2 * n + j] = W[piv * 2 * n + j];
				W[piv * 2 * n + j] = t;
			}
		double d = W[c * 2 * n + c];
		for (int j = 0; j < 2 * n; j++)
			W[c * 2 * n + j] /= d;
		for (int i = 0; i < n; i++)
			if (i != c) {
				double f = W[i * 2 * n + c];
				if (f != 0.0)
					for (int j = 0; j < 2 * n; j++)
						W[i * 2 * n + j] -= f * W[c * 2 * n + j];
			}
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			A[i * n + j] = W[i * 2 * n + n + j];
	return all_finite(A, (size_t)n * n) ? 0 : -1;
}

/*
 * Coefficient covariance as R: Hessian H of the ML objective in the
 * optimiser space at raw, var = A' (H n_used)^-1 A with A the Jacobian of
 * partrans (forward differences, eps 1e-3, R's ARIMA_Gradtrans).
 */
/*
 * A[i*k + j] = d natural_j / d raw_i on the AR and seasonal-AR blocks: forward
 * differences of partrans with step 1e-3 (as R's arima for its Hessian);
 * entries outside those blocks are left as the caller set them (identity).
 * Block orders are at most AQ_ARIMA_MAX_ORDER, well inside the 64 slots.
 */
static void partrans_jacobian(const struct actx *c, const double *raw, double *A, int k)
{
	const double eps = 1e-3;
	int blocks[2][2] = {{0, c->p}, {c->p + c->q, c->P}};

	for (int b = 0; b < 2; b++) {
		int off = blocks[b][0], m = blocks[b][1];
		double w1[64], w2[64], w3[64];

		if (m == 0)
			continue;
		for (int i = 0; i < m; i++)
			w1[i] = raw[off + i];
		partrans(m, w1, w2);
		for (int i = 0; i < m; i++) {
			w1[i] += eps;
			partrans(m, w1, w3);
			for (int j = 0; j < m; j++)
				A[(off + i) * k + off + j] = (w3[j] - w2[j]) / eps;
			w1[i] -= eps;
		}
	}
}

static int make_vcov(struct actx *c, const double *raw, const struct aq_optim_opts *oo, double *vcov,
		     struct aq_err *e)
{
	int k = c->ncoef, rc;
	double *H = c->H;
	if ((rc = aq_optim_hessian(k, raw, ml_fn, c, oo, H, c->ow, e)))
		return rc;
	for (int i = 0; i < k * k; i++)
		H[i] *= c->n_used;
	double *W = malloc(sizeof(double) * (size_t)k * k * 4), *A = malloc(sizeof(double) * (size_t)k * k);
	if (!W || !A) {
		free(W);
		free(A);
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate arima covariance");
	}
	rc = 0;
	if (inv_small(k, H, W)) {
		rc = aq_err_set(e, AQ_ENUMERIC, "singular hessian: coefficient covariance not available");
		goto out;
	}
	/* A[i][j] = d natural_j / d raw_i (row-major). */
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++)
			A[i * k + j] = i == j;
	if (c->trans)
		partrans_jacobian(c, raw, A, k);
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++) {
			double v = 0;
			for (int a = 0; a < k; a++)
				for (int b = 0; b < k; b++)
					v += A[a * k + i] * H[a * k + b] * A[b * k + j];
			vcov[i * k + j] = v;
		}
	for (int i = 0; i < k; i++)
		for (int j = 0; j < i; j++)
			vcov[i * k + j] = vcov[j * k + i] = 0.5 * (vcov[i * k + j] + vcov[j * k + i]);
	if (!all_finite(vcov, (size_t)k * k))
		rc = aq_err_set(e, AQ_ENUMERIC, "coefficient covariance not finite");
out:
	free(W);
	free(A);
	return rc;
}

/*
 * Initial inverse Hessian for the ML search from the CSS fit at natural
 * coefficients nat: the Gauss–Newton Hessian of 0.5 log(S/nu) is J'J / S,
 * mapped to the optimiser's space (raw = partrans^-1 on the AR blocks, then
 * divided by parscale): H_x = diag(ps) A H A' diag(ps), A[i][j] =
 * d nat_j / d raw_i (forward differences, as ARIMA_Gradtrans). B0 = H_x^-1,
 * only if finite with a positive diagonal; else NULL (identity, as R).
 */
static const double *ml_start_hessian(struct actx *c, const double *nat, const double *raw,
				      const double *ps, double *B0)
{
	int k = c->ncoef;
	double ssq, *H = c->lmw, *A = H + (size_t)k * k, *W = A + (size_t)k * k; /* W: 2 k^2 */
	int nu;
	if (k == 0 || c->ncond < 0)
		return NULL;
	int saved_ncond = c->ncond;
	c->ncond = c->dd + c->p + c->s * c->P;
	css_eval(c, nat, &ssq, &nu);
	css_jac_normal(c, nat, H, W);
	c->ncond = saved_ncond;
	if (!(ssq > 0) || nu == 0)
		return NULL;
	for (int i = 0; i < k * k; i++)
		H[i] /= ssq;
	for (int i = 0; i < k * k; i++)
		A[i] = (i / k) == (i % k);
	partrans_jacobian(c, raw, A, k);
	/* B0 <- H_x = diag(ps) A H A' diag(ps), then inverted in place */
	for (int i = 0; i < k; i++)
		for (int l = 0; l < k; l++) {
			double v = 0;
			for (int j = 0; j < k; j++)
				for (int m = 0; m < k; m++)
					v += A[i * k + j] * H[j * k + m] * A[l * k + m];
			B0[i * k + l] = v * ps[i] * ps[l];
		}
	if (inv_small(k, B0, W))
		return NULL;
	for (int i = 0; i < k; i++)
		if (!(B0[i * k + i] > 0))
			return NULL;
	return all_finite(B0, (size_t)k * k) ? B0 : NULL;
}

/*
 * BFGS monitor of the ML stage: count consecutive iterations whose expanded
 * MA polynomial theta(B)Theta(B^s) has a root within a factor 1.005 of the
 * unit circle (a root z of Theta gives roots of modulus |z|^(1/s)). The
 * exact likelihood is symmetric under flipping an MA root through the unit
 * circle, so the circle is a critical line: fits that enter the band there
 * pile up on it (R's non-invertible MA optimum) and crawl for up to 100
 * iterations before the order search rejects them at 1.01.
 */
#define UNIT_MA_BAND 1.005
static int ml_monitor(int k, const double *x, void *ctx)
{
	struct actx *c = ctx;
	(void)k;
	double d = ma_unit_dist(c->q, x + c->p);
	if (c->Q > 0 && c->s > 0)
		d = fmin(d, ma_unit_dist(c->Q, x + c->p + c->q + c->P) / c->s);
	c->unit_ma_iters = d < log(UNIT_MA_BAND) ? c->unit_ma_iters + 1 : 0;
	return c->unit_ma_stop > 0 && c->unit_ma_iters >= c->unit_ma_stop;
}

/* One fit in progress: its context, the optimiser's options, what each step leaves for the next. */
struct fit {
	struct actx c;
	struct aq_optim_opts oo;
	struct aq_optim_result res;
	enum aq_arima_method method;
	char sbuf[96];
	double *coef, *vcov;
	int converged, lm_it, css_evals;
};

/* The series checked, the context made, the method settled (CSS-ML with gaps is ML, as R). */
static int fit_prepare(struct fit *f, const double *y, size_t n, const struct aq_arima_spec *spec,
		       const struct aq_arima_fit_opts *o, struct aq_arima_ws *ws, struct aq_err *e)
{
	struct actx *c = &f->c;
	char *sbuf = f->sbuf;
	int rc;

	if ((rc = ctx_init(c, y, n, spec, ws, e)))
		return rc;
	aq_arima_spec_str(spec, sbuf, sizeof f->sbuf);
	for (size_t t = 0; t < n; t++)
		if (isinf(y[t]))
			return aq_err_set(e, AQ_EINVAL, "infinite value at day %zu in series for '%s'", t, sbuf);
	scan_y(c);
	int k = c->ncoef;
	if (c->n_used <= 0 || c->n_used < k + 3)
		return aq_err_set(e, AQ_ENUMERIC, "too few non-missing observations (%d used) for '%s'", c->n_used,
				  sbuf);
	f->method = o->method;
	/* R turns CSS-ML into ML from zeros when values are missing; so do we.
	 * (Starting from a CSS fit instead saves ~half the evaluations but lands
	 * in other local optima than R on ~1/4 of real series with gaps.) */
	if (f->method == AQ_ARIMA_CSS_ML && c->anymiss)
		f->method = AQ_ARIMA_ML;

	aq_optim_opts_default(&f->oo);
	if (o->max_iter > 0)
		f->oo.max_iter = o->max_iter;
	if (o->reltol > 0)
		f->oo.reltol = o->reltol;
	return 0;
}

/* Initial values and parameter scales (R: zeros; lm on the differenced series), or the caller's. */
static int fit_start_values(struct fit *f, const struct aq_arima_fit_opts *o, struct aq_err *e)
{
	struct actx *c = &f->c;
	const char *sbuf = f->sbuf;
	int k = c->ncoef;

	make_diff(c);
	double beta, se, rss, tss;
	regress(c, &beta, &se, &rss, &tss);
	if (!(rss > 1e-24 * tss) || !(rss > 0))
		return aq_err_set(e, AQ_ENUMERIC, "zero variance: series is constant%s for '%s'",
				  c->dd ? " after differencing" : "", sbuf);
	for (int i = 0; i < k; i++) {
		c->init[i] = 0.0;
		c->parscale[i] = 1.0;
	}
	if (c->ncx) {
		c->init[k - 1] = beta;
		c->parscale[k - 1] = (se > 0 && isfinite(se)) ? 10 * se : fmax(1e-3 * fabs(beta), 1e-6);
	}
	f->oo.parscale = c->parscale;
	if (o->init) {
		if (!all_finite(o->init, (size_t)k))
			return aq_err_set(e, AQ_EINVAL, "non-finite initial coefficients for '%s'", sbuf);
		memcpy(c->init, o->init, sizeof(double) * k);
		if (f->method == AQ_ARIMA_ML &&
		    (!ar_ok(c->p, c->init) || !ar_ok(c->P, c->init + c->p + c->q)))
			return aq_err_set(e, AQ_ENUMERIC, "non-stationary AR part in initial values for '%s'", sbuf);
	}
	return 0;
}

/* The CSS stage (CSS, or the start of CSS-ML): Levenberg–Marquardt, BFGS where LM fails; c.init its optimum. */
static int fit_css(struct fit *f, const struct aq_arima_fit_opts *o, struct aq_err *e)
{
	struct actx *c = &f->c;
	const char *sbuf = f->sbuf;
	enum aq_arima_method method = f->method;
	int k = c->ncoef, rc = 0;

	c->ncond = c->dd + c->p + c->s * c->P;
	c->css_unit_stop = method == AQ_ARIMA_CSS ? o->css_unit_ma_stop : 0;
	memcpy(c->raw, c->init, sizeof(double) * k);
	if (k > 0) {
		/* In CSS-ML the CSS fit only starts the ML search: a looser
		 * tolerance saves ~40% of its evaluations, the ML optimum is
		 * unchanged (tests/python/test_arima_oracle.py). */
		struct aq_optim_opts oc = f->oo;
		if (method == AQ_ARIMA_CSS_ML && !(o->reltol > 0))
			oc.reltol = CSS_ML_RELTOL;
		int lm_iters = 0;
		double lm_rtol = o->css_rtol > 0 ? o->css_rtol : method == AQ_ARIMA_CSS ? 1e-12 : CSS_ML_LM_RTOL;
		int lm_cap = o->css_max_iter > 0 ? o->css_max_iter : 4 * f->oo.max_iter;
		if (css_lm(c, c->raw, lm_cap, lm_rtol, &lm_iters) == 0) {
			f->lm_it = lm_iters;
			/* the LM minimiser; counted as css evaluations in the debug line */
			memset(&f->res, 0, sizeof f->res);
			rc = 0;
		} else {
			memcpy(c->raw, c->init, sizeof(double) * k);
			rc = aq_optim_bfgs(k, c->raw, css_fn, c, &oc, c->ow, &f->res, e);
		}
		if (rc) {
			aq_err_prefix(e, "css fit of '%s'", sbuf);
			return rc;
		}
		if (f->res.fail == 0 || method == AQ_ARIMA_CSS)
			memcpy(c->init, c->raw, sizeof(double) * k);
		f->converged = f->res.fail == 0;
	}
	if (!ar_ok(c->p, c->init) || !ar_ok(c->P, c->init + c->p + c->q))
		return aq_err_set(e, AQ_ENUMERIC, "non-stationary %sAR part from CSS for '%s'",
				  ar_ok(c->p, c->init) ? "seasonal " : "", sbuf);
	return 0;
}

/* A CSS fit's coefficients, and their covariance when wanted (R: solve(hessian * n.used) of the CSS objective). */
static int fit_css_result(struct fit *f, const struct aq_arima_fit_opts *o, struct aq_err *e)
{
	struct actx *c = &f->c;
	int k = c->ncoef, rc = 0;

	memcpy(f->coef, c->init, sizeof(double) * k);
	if (!o->want_vcov || k == 0)
		return 0;
	f->vcov = calloc((size_t)k * k, sizeof(double));
	double *W = malloc(sizeof(double) * 4 * (size_t)k * k);
	if (!f->vcov || !W) {
		free(W);
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate arima covariance");
	}
	if (css_hessian(c, f->coef, f->oo.ndeps, f->vcov))
		rc = aq_optim_hessian(k, f->coef, css_fn, c, &f->oo, f->vcov, c->ow, e);
	for (int i = 0; !rc && i < k * k; i++)
		f->vcov[i] *= c->n_used;
	if (!rc && inv_small(k, f->vcov, W))
		rc = aq_err_set(e, AQ_ENUMERIC, "singular css hessian for '%s'", f->sbuf);
	free(W);
	return rc;
}

/* Exact ML from c.init in the transformed space (BFGS), then the coefficients and their covariance. */
static int fit_ml(struct fit *f, const struct aq_arima_fit_opts *o, struct aq_err *e)
{
	struct actx *c = &f->c;
	const char *sbuf = f->sbuf;
	int k = c->ncoef, rc;

	c->ncond = 0;
	c->trans = 1;
	c->fast = ao_ok(c);
	memcpy(c->raw, c->init, sizeof(double) * k);
	if (c->p > 0)
		invpartrans(c->p, c->init, c->raw);
	if (c->P > 0)
		invpartrans(c->P, c->init + c->p + c->q, c->raw + c->p + c->q);
	ma_invert(c->q, c->raw + c->p);
	ma_invert(c->Q, c->raw + c->p + c->q + c->P);
	if (!all_finite(c->raw, (size_t)k))
		return aq_err_set(e, AQ_ENUMERIC, "AR initial values on the stationarity boundary for '%s'", sbuf);
	if (k > 0) {
		struct aq_optim_opts om = f->oo;
		if (c->q + c->Q > 0 && o->ml_unit_ma_stop > 0) {
			om.monitor = ml_monitor;
			c->unit_ma_stop = o->ml_unit_ma_stop;
		}
		if (f->method == AQ_ARIMA_CSS_ML)
		{
			untrans(c, c->raw, c->tmp);
			om.B0 = ml_start_hessian(c, c->tmp, c->raw, c->parscale, c->H);
		}
		rc = aq_optim_bfgs(k, c->raw, ml_fn, c, &om, c->ow, &f->res, e);
		if (rc) {
			aq_err_prefix(e, "ml fit of '%s'", sbuf);
			return rc;
		}
		if (f->res.fail == 2)
			return aq_err_set(e, AQ_ENUMERIC, "MA root of '%s' stays on the unit circle (%d iterations)", sbuf,
					  c->unit_ma_iters);
		f->converged = f->res.fail == 0;
	}
	ma_invert(c->q, c->raw + c->p);
	ma_invert(c->Q, c->raw + c->p + c->q + c->P);
	untrans(c, c->raw, f->coef);
	int want_vcov = o->want_vcov && k > 0;
	if (want_vcov && o->vcov_min_root > 0) {
		/* a model its caller rejects on its roots needs no covariance (k^2 passes) */
		expand(c, f->coef);
		want_vcov = all_finite(f->coef, (size_t)k) && ctx_roots_ok(c, o->vcov_min_root);
	}
	if (want_vcov) {
		f->vcov = calloc((size_t)k * k, sizeof(double));
		if (!f->vcov)
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate arima covariance");
		if ((rc = make_vcov(c, c->raw, &f->oo, f->vcov, e))) {
			aq_err_prefix(e, "'%s'", sbuf);
			return rc;
		}
	}
	return 0;
}

/* Final pass in R's form over the whole series: likelihood, information criteria, state; m filled. */
static int fit_store(struct fit *f, size_t n, const struct aq_arima_spec *spec, const struct aq_arima_fit_opts *o,
		     struct aq_arima_model *m, struct aq_err *e)
{
	struct actx *c = &f->c;
	const char *sbuf = f->sbuf;
	enum aq_arima_method method = f->method;
	int k = c->ncoef;

	if (!all_finite(f->coef, (size_t)k))
		return aq_err_set(e, AQ_ENUMERIC, "non-finite coefficients for '%s'", sbuf);
	struct aq_kalman_stats st;
	int want_state = !(method == AQ_ARIMA_CSS && o->no_state);
	if (want_state && like_eval(c, f->coef, 0, NULL, &st))
		return aq_err_set(e, AQ_ENUMERIC, "non-stationary AR part for '%s'", sbuf);
	double fval, sigma2;
	if (method == AQ_ARIMA_CSS) {
		double ssq;
		int nu;
		css_eval(c, f->coef, &ssq, &nu);
		sigma2 = nu > 0 ? ssq / nu : NAN;
		fval = 0.5 * log(sigma2);
	} else {
		fval = ml_value(&st);
		sigma2 = st.ssq / c->n_used;
	}
	double nu = c->n_used;
	double loglik = -0.5 * (2 * nu * fval + nu + nu * log(2 * M_PI));
	double npar = k + 1;
	double aic = -2 * loglik + 2 * npar;
	double aicc = aic + 2 * npar * (npar + 1) / (nu - npar - 1);
	double bic = aic + npar * (log(nu) - 2);
	if (fval == DBL_MAX || !isfinite(sigma2) || !(sigma2 > 0) || !isfinite(loglik) || !isfinite(aicc) ||
	    !isfinite(bic) || (want_state && (!all_finite(c->a, (size_t)c->km.rd) ||
					      !all_finite(c->Pm, (size_t)c->km.rd * c->km.rd))))
		return aq_err_set(e, AQ_ENUMERIC, "non-finite likelihood or state for '%s'", sbuf);
	size_t slen = want_state ? (size_t)c->km.rd + (size_t)c->km.rd * c->km.rd : 0;
	double *sv = NULL;
	if (want_state) {
		if (!(sv = malloc(sizeof(double) * slen)))
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate arima state");
		memcpy(sv, c->a, sizeof(double) * c->km.rd);
		memcpy(sv + c->km.rd, c->Pm, sizeof(double) * c->km.rd * c->km.rd);
	}

	if (aq_log_get_level() >= AQ_LOG_DEBUG)
		aq_debug("arima fit '%s': %d css (%d lm iterations) + %d ml objective evaluations, loglik %.6f", sbuf,
			 f->css_evals, f->lm_it, c->nevals - f->css_evals, loglik);
	aq_arima_model_release(m);
	m->spec = *spec;
	m->ncoef = k;
	m->coef = f->coef;
	m->vcov = f->vcov;
	m->sigma2 = sigma2;
	m->loglik = loglik;
	m->aic = aic;
	m->aicc = aicc;
	m->bic = bic;
	m->nobs = c->n_used;
	m->n = (int)n;
	m->method = method;
	m->converged = f->converged;
	m->state.len = (int)slen;
	m->state.v = sv;
	m->state.t = (int64_t)n;
	return 0;
}

int aq_arima_fit(const double *y, size_t n, const struct aq_arima_spec *spec,
		 const struct aq_arima_fit_opts *o, struct aq_arima_model *m,
		 struct aq_arima_ws *ws, struct aq_err *e)
{
	struct aq_arima_fit_opts dflt = {0};
	struct fit f = {.converged = 1};
	int rc;

	if (!o)
		o = &dflt;
	if (!y || !m || !ws)
		return aq_err_set(e, AQ_EINVAL, "arima fit: missing argument");
	if ((rc = fit_prepare(&f, y, n, spec, o, ws, e)) || (rc = fit_start_values(&f, o, e)))
		return rc;
	if (!(f.coef = calloc((size_t)f.c.ncoef + 1, sizeof(double))))
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate coefficients");
	if (f.method == AQ_ARIMA_CSS || f.method == AQ_ARIMA_CSS_ML)
		rc = fit_css(&f, o, e);
	f.css_evals = f.c.nevals;
	if (!rc)
		rc = f.method == AQ_ARIMA_CSS ? fit_css_result(&f, o, e) : fit_ml(&f, o, e);
	if (!rc)
		rc = fit_store(&f, n, spec, o, m, e);
	if (rc) {
		free(f.coef);
		free(f.vcov);
	}
	return rc;
}

int aq_arima_css(const double *y, size_t n, const struct aq_arima_spec *spec, const double *coef,
		 double *sigma2, int *n_used, struct aq_arima_ws *ws, struct aq_err *e)
{
	struct actx c;
	int rc;
	if ((rc = ctx_init(&c, y, n, spec, ws, e)))
		return rc;
	if (!all_finite(coef, (size_t)c.ncoef))
		return aq_err_set(e, AQ_EINVAL, "non-finite coefficients");
	c.ncond = c.dd + c.p + c.s * c.P;
	scan_y(&c);
	make_diff(&c);
	double ssq;
	int nu;
	css_eval(&c, coef, &ssq, &nu);
	if (nu <= 0)
		return aq_err_set(e, AQ_ENUMERIC, "too few non-missing observations for css");
	*sigma2 = ssq / nu;
	if (n_used)
		*n_used = nu;
	if (!isfinite(*sigma2))
		return aq_err_set(e, AQ_ENUMERIC, "non-finite conditional sum of squares");
	return 0;
}

int aq_arima_loglik(const double *y, size_t n, const struct aq_arima_spec *spec, const double *coef,
		    double *loglik, double *sigma2, struct aq_arima_ws *ws, struct aq_err *e)
{
	struct actx c;
	struct aq_kalman_stats st;
	int rc;
	if ((rc = ctx_init(&c, y, n, spec, ws, e)))
		return rc;
	if (!all_finite(coef, (size_t)c.ncoef))
		return aq_err_set(e, AQ_EINVAL, "non-finite coefficients");
	scan_y(&c);
	if (c.n_used <= 0)
		return aq_err_set(e, AQ_ENUMERIC, "too few non-missing observations");
	if (!ar_ok(c.p, coef) || !ar_ok(c.P, coef + c.p + c.q))
		return aq_err_set(e, AQ_ENUMERIC, "non-stationary AR part");
	int fast = ao_ok(&c);
	if (fast)
		make_diff(&c);
	if (like_eval(&c, coef, fast, NULL, &st))
		return aq_err_set(e, AQ_ENUMERIC, "non-stationary AR part");
	double f = ml_value(&st), nu = c.n_used;
	if (f == DBL_MAX)
		return aq_err_set(e, AQ_ENUMERIC, "zero or non-finite innovation variance");
	if (loglik)
		*loglik = -0.5 * (2 * nu * f + nu + nu * log(2 * M_PI));
	if (sigma2)
		*sigma2 = st.ssq / nu;
	return 0;
}

/* Rebuild the expanded model of m into small heap arrays. */
struct mctx {
	struct actx c;
	struct aq_arima_ws ws;
};

static int model_ctx(const struct aq_arima_model *m, struct mctx *mc, int need_state, struct aq_err *e)
{
	int rc;
	memset(&mc->ws, 0, sizeof(mc->ws));
	if ((rc = ctx_init(&mc->c, NULL, 0, &m->spec, &mc->ws, e)))
		return rc;
	if (m->ncoef != mc->c.ncoef || !m->coef ||
	    (need_state && (m->state.len != mc->c.km.rd + mc->c.km.rd * mc->c.km.rd || !m->state.v))) {
		free(mc->ws.buf);
		return aq_err_set(e, AQ_ESTATE, "arima model inconsistent with its order");
	}
	expand(&mc->c, m->coef);
	return 0;
}

int aq_arima_update(struct aq_arima_model *m, const double *ynew, size_t k, struct aq_err *e)
{
	struct mctx mc;
	struct aq_kalman_stats st;
	int rc;
	if ((rc = model_ctx(m, &mc, 1, e)))
		return rc;
	struct actx *c = &mc.c;
	int rd = c->km.rd;
	double *x = malloc(sizeof(double) * (k + 1)), *fw = malloc(sizeof(double) * aq_kalman_filter_work(rd));
	double *a = malloc(sizeof(double) * (size_t)(rd + rd * rd));
	if (!x || !fw || !a) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate arima update");
		goto out;
	}
	double beta = c->ncx ? m->coef[c->narma] : 0.0;
	for (size_t i = 0; i < k; i++) {
		if (isinf(ynew[i])) {
			rc = aq_err_set(e, AQ_EINVAL, "infinite value in update");
			goto out;
		}
		x[i] = c->ncx ? ynew[i] - beta * reg_at(c, (size_t)m->state.t + i) : ynew[i];
	}
	memcpy(a, m->state.v, sizeof(double) * (size_t)(rd + rd * rd));
	aq_kalman_filter(&c->km, x, k, a, a + rd, 0, 0.0, NULL, &st, fw);
	if (!all_finite(a, (size_t)(rd + rd * rd))) {
		rc = aq_err_set(e, AQ_ENUMERIC, "non-finite state after update");
		goto out;
	}
	memcpy(m->state.v, a, sizeof(double) * (size_t)(rd + rd * rd));
	m->state.t += (int64_t)k;
	rc = 0;
out:
	free(x);
	free(fw);
	free(a);
	free(mc.ws.buf);
	return rc;
}

static int forecast_impl(const struct aq_arima_model *m, int h, double *mean, double *sd, int from, int to,
			 double *sum, double *sdsum, struct aq_err *e)
{
	struct mctx mc;
	int rc;
	if (h < 0)
		return aq_err_set(e, AQ_EINVAL, "negative forecast horizon %d", h);
	if ((rc = model_ctx(m, &mc, 1, e)))
		return rc;
	struct actx *c = &mc.c;
	int rd = c->km.rd;
	double *mu = malloc(sizeof(double) * ((size_t)h + 1) * 2), *fw = malloc(sizeof(double) * aq_kalman_fore_work(rd));
	if (!mu || !fw) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate arima forecast");
		goto out;
	}
	double *var = mu + h + 1, vs = 0;
	aq_kalman_forecast(&c->km, m->state.v, m->state.v + rd, h, mu, var, from, to, sum ? &vs : NULL, fw);
	double beta = c->ncx ? m->coef[c->narma] : 0.0, s2 = m->sigma2, tot = 0;
	for (int i = 0; i < h; i++) {
		double v = mu[i] + (c->ncx ? beta * reg_at(c, (size_t)m->state.t + (size_t)i) : 0.0);
		if (mean)
			mean[i] = v;
		if (sd)
			sd[i] = sqrt(fmax(var[i], 0.0) * s2);
		if (i >= from && i < to)
			tot += v;
	}
	if (sum) {
		*sum = tot;
		*sdsum = sqrt(fmax(vs, 0.0) * s2);
	}
	rc = 0;
	for (int i = 0; mean && i < h; i++)
		if (!isfinite(mean[i]) || (sd && !isfinite(sd[i])))
			rc = aq_err_set(e, AQ_ENUMERIC, "non-finite forecast at step %d", i + 1);
out:
	free(mu);
	free(fw);
	free(mc.ws.buf);
	return rc;
}

int aq_arima_forecast(const struct aq_arima_model *m, int h, double *mean, double *sd, struct aq_err *e)
{
	return forecast_impl(m, h, mean, sd, 0, 0, NULL, NULL, e);
}

int aq_arima_forecast_total(const struct aq_arima_model *m, int from, int to, double *sum, double *sd,
			    struct aq_err *e)
{
	if (from < 0 || to < from)
		return aq_err_set(e, AQ_EINVAL, "invalid forecast window [%d, %d)", from, to);
	double s = 0, v = 0;
	int rc = forecast_impl(m, to, NULL, NULL, from, to, &s, &v, e);
	if (rc)
		return rc;
	if (!isfinite(s) || !isfinite(v))
		return aq_err_set(e, AQ_ENUMERIC, "non-finite forecast total");
	*sum = s;
	*sd = v;
	return 0;
}

int aq_arima_forecast_window(const struct aq_arima_model *m, int h, int from, double *mean, double *sd, double *sum,
			     double *sdsum, struct aq_err *e)
{
	if (from < 0 || h <= from)
		return aq_err_set(e, AQ_EINVAL, "invalid forecast window [%d, %d)", from, h);
	double s = 0, v = 0;
	int rc = forecast_impl(m, h, mean, sd, from, h, &s, &v, e);
	if (rc)
		return rc;
	if (!isfinite(s) || !isfinite(v))
		return aq_err_set(e, AQ_ENUMERIC, "non-finite forecast total");
	*sum = s;
	*sdsum = v;
	return 0;
}

/* Roots of the expanded polynomials in c (after expand()) all of modulus >= min_modulus? */
static int ctx_roots_ok(const struct actx *c, double min_modulus)
{
	double complex lam[64];
	int deg, ok = 1;
	if (c->np > 64 || c->nq > 64)
		return 0;
	/* Roots of 1 - phi z - ...: reciprocal eigenvalues of the companion matrix. */
	if (c->np > 0) {
		if (comp_eig(c->np, c->phi, lam, &deg))
			ok = 0;
		for (int i = 0; ok && i < deg; i++)
			if (!(cabs(lam[i]) * min_modulus <= 1.0))
				ok = 0;
	}
	if (ok && c->nq > 0) {
		if (ma_recip_roots(c->nq, c->theta, lam, &deg))
			ok = 0;
		for (int i = 0; ok && i < deg; i++)
			if (!(cabs(lam[i]) * min_modulus <= 1.0))
				ok = 0;
	}
	return ok;
}

int aq_arima_roots_ok(const struct aq_arima_model *m, double min_modulus)
{
	struct mctx mc;
	if (model_ctx(m, &mc, 0, NULL))
		return 0;
	int ok = all_finite(m->coef, (size_t)m->ncoef) && ctx_roots_ok(&mc.c, min_modulus);
	free(mc.ws.buf);
	return ok;
}

/*
 * Normal quantile: Acklam's rational approximation (relative error 1.15e-9)
 * refined by one Halley step on erfc, giving full double precision.
 */
double aq_qnorm(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
				   1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
				   6.680131188771972e+01, -1.328068155288572e+01};
	static const double cc[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
				    -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
				   3.754408661907416e+00};
	const double plow = 0.02425;
	double x, q, r;
	if (isnan(p) || p < 0 || p > 1)
		return NAN;
	if (p == 0)
		return -INFINITY;
	if (p == 1)
		return INFINITY;
	if (p < plow) {
		q = sqrt(-2 * log(p));
		x = (((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q + cc[4]) * q + cc[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	} else if (p <= 1 - plow) {
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	} else {
		q = sqrt(-2 * log1p(-p));
		x = -(((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q + cc[4]) * q + cc[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	/* Halley refinement: e = Phi(x) - p. */
	double e = 0.5 * erfc(-x / M_SQRT2) - p;
	double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	x = x - u / (1 + x * u / 2);
	return x;
}

/*
 * Back to the prior at day 0 with the coefficients kept (issue #5: the
 * backtest's earlier origins). a = 0, P = Q0 on the ARMA block (stationary
 * covariance, Gardner et al. 1980) and kappa on the differencing block, as
 * the fit's own final pass starts. aq_arima_update() predicts before it
 * filters; T Q0 T' + V = Q0, so the ARMA block of its first prediction is
 * the fit's prior and the differencing block stays diffuse.
 */
int aq_arima_state_reset(struct aq_arima_model *m, struct aq_err *e)
{
	struct actx c;
	struct aq_arima_ws ws;
	int rc;
	memset(&ws, 0, sizeof(ws));
	if ((rc = ctx_init(&c, NULL, 0, &m->spec, &ws, e)))
		goto out;
	if (m->ncoef != c.ncoef || !m->coef) {
		rc = aq_err_set(e, AQ_ESTATE, "arima model inconsistent with its order");
		goto out;
	}
	expand(&c, m->coef);
	if (init_state(&c, &c.km)) {
		rc = aq_err_set(e, AQ_ENUMERIC, "non-stationary AR part");
		goto out;
	}
	int rd = c.km.rd;
	size_t slen = (size_t)rd + (size_t)rd * rd;
	if (!m->state.v || m->state.len != (int)slen) {
		double *sv = realloc(m->state.v, sizeof(double) * slen);
		if (!sv) {
			rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate arima state");
			goto out;
		}
		m->state.v = sv;
		m->state.len = (int)slen;
	}
	memcpy(m->state.v, c.a, sizeof(double) * rd);
	memcpy(m->state.v + rd, c.Pm, sizeof(double) * rd * rd);
	m->state.t = 0;
	rc = 0;
out:
	free(ws.buf);
	return rc;
}
