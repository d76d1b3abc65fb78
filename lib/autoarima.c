/* autoarima.c — KPSS, STL seasonal strength and the Hyndman–Khandakar stepwise order search. */
#include "autoarima.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "series.h"

void aq_auto_opts_default(struct aq_auto_opts *o)
{
	memset(o, 0, sizeof *o);
	o->season = 7;
	o->max_p = 5;
	o->max_q = 5;
	o->max_P = 2;
	o->max_Q = 2;
	o->max_order = 5;
	o->max_d = 2;
	o->max_D = 1;
	o->start_p = 2;
	o->start_q = 2;
	o->start_P = 1;
	o->start_Q = 1;
	o->nmodels = 94;
	o->approximation = -1;
	o->alpha = 0.05;
	o->seas_threshold = 0.64;
	o->d = -1;
	o->D = -1;
	o->allow_drift = 1;
	o->allow_mean = 1;
	o->check_vcov = 1;
	o->warm_start = 1;
	o->min_root = 1.01;
	o->max_refits = 8;
}

/* ------------------------------------------------------------------ tests */

int aq_is_constant(const double *x, size_t n)
{
	/* R: isTRUE(all.equal(x, rep(x[1], n))): mean relative difference < 1.5e-8 */
	size_t i0 = 0;
	while (i0 < n && !isfinite(x[i0]))
		i0++;
	if (i0 == n)
		return 1;
	double x0 = x[i0], sd = 0, sa = 0;
	size_t k = 0;
	for (size_t i = i0; i < n; i++) {
		if (!isfinite(x[i]))
			continue;
		sd += fabs(x[i] - x0);
		sa += fabs(x0);
		k++;
	}
	if (sd == 0)
		return 1;
	double tol = 1.5e-8;
	return sa > 0 ? sd / sa < tol : sd / (double)k < tol;
}

double aq_kpss_stat(const double *x, size_t n, int lags)
{
	if (n < 2)
		return NAN;
	double mean = 0;
	for (size_t i = 0; i < n; i++)
		mean += x[i];
	mean /= (double)n;
	/* eta = sum S_t^2 / n^2, S the partial sums of the demeaned series */
	double S = 0, num = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double r = x[i] - mean;
		S += r;
		num += S * S;
		s2 += r * r;
	}
	num /= (double)n * (double)n;
	s2 /= (double)n;
	/* Newey–West long-run variance with Bartlett weights 1 - l/(L+1) */
	double lrv = s2;
	for (int l = 1; l <= lags && (size_t)l < n; l++) {
		double c = 0;
		for (size_t t = (size_t)l; t < n; t++)
			c += (x[t] - mean) * (x[t - (size_t)l] - mean);
		lrv += 2.0 / (double)n * (1.0 - (double)l / (lags + 1.0)) * c;
	}
	return num / lrv;
}

double aq_kpss_pvalue(double stat)
{
	/* approx(cval, pct, xout = stat, rule = 2) in forecast:::ndiffs */
	static const double cv[4] = {0.347, 0.463, 0.574, 0.739};
	static const double pv[4] = {0.10, 0.05, 0.025, 0.01};
	if (isnan(stat))
		return NAN;
	if (stat <= cv[0])
		return pv[0];
	if (stat >= cv[3])
		return pv[3];
	for (int i = 0; i < 3; i++)
		if (stat <= cv[i + 1])
			return pv[i] + (pv[i + 1] - pv[i]) * (stat - cv[i]) / (cv[i + 1] - cv[i]);
	return pv[3];
}

int aq_ndiffs(const double *x, size_t n, double alpha, int max_d, double *first_stat)
{
	if (first_stat)
		*first_stat = NAN;
	if (n < 2)
		return 0;
	double *v = malloc(n * sizeof *v);
	if (!v)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)   /* na.omit: differences then span the gaps, as in R */
		if (isfinite(x[i]))
			v[k++] = x[i];
	int d = 0;
	if (aq_is_constant(v, k)) {
		free(v);
		return 0;
	}
	double st = aq_kpss_stat(v, k, (int)trunc(3.0 * sqrt((double)k) / 13.0));
	if (first_stat)
		*first_stat = st;
	double p = aq_kpss_pvalue(st);
	if (isnan(p)) {
		free(v);
		return 0;
	}
	int dodiff = p < alpha;
	while (dodiff && d < max_d) {
		d++;
		for (size_t i = 0; i + 1 < k; i++)
			v[i] = v[i + 1] - v[i];
		k = k ? k - 1 : 0;
		if (aq_is_constant(v, k))
			break;
		p = aq_kpss_pvalue(aq_kpss_stat(v, k, (int)trunc(3.0 * sqrt((double)k) / 13.0)));
		if (isnan(p)) {
			d--;
			break;
		}
		dodiff = p < alpha;
	}
	free(v);
	return d;
}

/* ------------------------------------------------------------------ STL */

/*
 * One loess estimate at abscissa xs (1-based positions 1..len of y), span q
 * points, degree 0 or 1, tricube weights (Cleveland et al. 1990, stlest).
 */
static double loess_at(const double *y, int len, int q, int degree, double xs, int *ok)
{
	int nleft, nright;
	double h;
	if (q >= len) {
		nleft = 1;
		nright = len;
		h = fmax(xs - 1, len - xs) + (q - len) / 2.0;
	} else {
		int c = (int)floor(xs + 0.5);
		nleft = c - (q - 1) / 2;
		if (nleft < 1)
			nleft = 1;
		if (nleft > len - q + 1)
			nleft = len - q + 1;
		nright = nleft + q - 1;
		h = fmax(xs - nleft, nright - xs);
		if (q > 2 * (int)h)   /* even q: the window may be lopsided */
			h = fmax(h, (q - 1) / 2.0);
	}
	double h9 = 0.999 * h, h1 = 0.001 * h, a = 0;
	double w[512];
	double *wp = w;
	int cnt = nright - nleft + 1;
	if (cnt > 512) {
		wp = malloc((size_t)cnt * sizeof *wp);
		if (!wp) {
			*ok = 0;
			return NAN;
		}
	}
	for (int j = nleft; j <= nright; j++) {
		double r = fabs(j - xs), wj = 0;
		if (r <= h9) {
			if (r <= h1)
				wj = 1;
			else {
				double u = r / h;
				u = 1 - u * u * u;
				wj = u * u * u;
			}
		}
		wp[j - nleft] = wj;
		a += wj;
	}
	if (a <= 0) {
		*ok = 0;
		if (wp != w)
			free(wp);
		return NAN;
	}
	for (int j = 0; j < cnt; j++)
		wp[j] /= a;
	if (degree > 0 && h > 0) {
		double c = 0;
		for (int j = nleft; j <= nright; j++)
			c += wp[j - nleft] * j;
		double b = 0;
		for (int j = nleft; j <= nright; j++)
			b += wp[j - nleft] * (j - c) * (j - c);
		if (sqrt(b) > 0.001 * (len - 1)) {
			double bb = (xs - c) / b;
			for (int j = nleft; j <= nright; j++)
				wp[j - nleft] *= bb * (j - c) + 1;
		}
	}
	double ys = 0;
	for (int j = nleft; j <= nright; j++)
		ys += wp[j - nleft] * y[j - 1];
	if (wp != w)
		free(wp);
	*ok = 1;
	return ys;
}

/* Moving average of length k: out has len - k + 1 values. */
static void moving_avg(const double *x, int len, int k, double *out)
{
	double s = 0;
	for (int i = 0; i < k; i++)
		s += x[i];
	out[0] = s / k;
	for (int i = k; i < len; i++) {
		s += x[i] - x[i - k];
		out[i - k + 1] = s / k;
	}
}

/*
 * STL (Cleveland, Cleveland, McRae & Terpenning 1990) without robustness
 * weights, as stats::stl(x, s.window) with defaults: s.degree 0, t.window
 * nextodd(ceil(1.5 m / (1 - 1.5/s.window))), t.degree 1, l.window
 * nextodd(m), l.degree 1, inner 2. Every point is computed (no jumps).
 */
static int stl_decompose(const double *x, int n, int m, int swin, double *seas, double *trend)
{
	int twin = (int)ceil(1.5 * m / (1.0 - 1.5 / swin));
	if (twin % 2 == 0)
		twin++;
	int lwin = m % 2 ? m : m + 1;
	int clen = n + 2 * m;
	double *w = malloc((size_t)(4 * clen + 2 * (n / m + 3)) * sizeof *w);
	if (!w)
		return AQ_ENOMEM;
	double *C = w, *t1 = w + clen, *t2 = w + 2 * clen, *dt = w + 3 * clen, *sub = w + 4 * clen,
	       *subs = sub + (n / m + 3);
	for (int i = 0; i < n; i++)
		trend[i] = 0;
	int ok = 1;
	for (int it = 0; it < 2; it++) {
		for (int i = 0; i < n; i++)
			dt[i] = x[i] - trend[i];
		/* cycle-subseries smoothing, extended one period at each end */
		for (int j = 0; j < m; j++) {
			int k = 0;
			for (int i = j; i < n; i++, i += m - 1)
				sub[k++] = dt[i];
			for (int r = 0; r <= k + 1; r++) {
				int lok;
				subs[r] = loess_at(sub, k, swin, 0, (double)r, &lok);
				if (!lok)
					subs[r] = r > 0 && r <= k ? sub[r - 1] : (r == 0 ? sub[0] : sub[k - 1]);
			}
			for (int r = 0; r <= k + 1; r++)
				C[r * m + j] = subs[r];
		}
		/* low-pass: MA(m), MA(m), MA(3), loess(lwin, degree 1) */
		moving_avg(C, clen, m, t1);
		moving_avg(t1, clen - m + 1, m, t2);
		moving_avg(t2, clen - 2 * m + 2, 3, t1);
		for (int i = 0; i < n; i++) {
			int lok;
			double L = loess_at(t1, n, lwin, 1, i + 1.0, &lok);
			if (!lok)
				L = t1[i];
			seas[i] = C[m + i] - L;
		}
		for (int i = 0; i < n; i++)
			dt[i] = x[i] - seas[i];
		for (int i = 0; i < n; i++) {
			int lok;
			trend[i] = loess_at(dt, n, twin, 1, i + 1.0, &lok);
			if (!lok)
				trend[i] = dt[i];
		}
	}
	free(w);
	return ok ? 0 : AQ_ENUMERIC;
}

static double var_finite(const double *a, const double *b, const double *mask, size_t n)
{
	double s = 0, ss = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(mask[i]))
			continue;
		double v = a[i] + (b ? b[i] : 0);
		s += v;
		ss += v * v;
		k++;
	}
	if (k < 2)
		return NAN;
	double mean = s / (double)k;
	return (ss - (double)k * mean * mean) / (double)(k - 1);
}

double aq_seas_strength(const double *x, size_t n, int m)
{
	if (m < 2 || n <= 2 * (size_t)m)
		return NAN;
	double *w = malloc(4 * n * sizeof *w);
	if (!w)
		return NAN;
	double *xi = w, *S = w + n, *T = w + 2 * n, *R = w + 3 * n;
	aq_series_interp(x, n, xi);
	if (stl_decompose(xi, (int)n, m, 11, S, T)) {
		free(w);
		return NAN;
	}
	for (size_t i = 0; i < n; i++)
		R[i] = xi[i] - S[i] - T[i];
	/* mstl: remainder NA where the data were NA; variances with na.rm */
	double vr = var_finite(R, NULL, x, n), vrs = var_finite(R, S, x, n);
	free(w);
	if (!(vrs > 0))
		return 0;
	return fmax(0, fmin(1, 1 - vr / vrs));
}

int aq_nsdiffs(const double *x, size_t n, int m, double threshold, int max_D, double *strength)
{
	if (strength)
		*strength = NAN;
	if (max_D < 1 || m < 2 || aq_is_constant(x, n) || (size_t)m >= n)
		return 0;
	double st = aq_seas_strength(x, n, m);
	if (strength)
		*strength = st;
	/* with max_D = 1 (R's default and ours) one test decides */
	return isfinite(st) && st > threshold ? 1 : 0;
}

double aq_auto_aicc(double aic, int ncoef, int nstar)
{
	double k = ncoef + 1.0;
	if (!isfinite(aic) || nstar - k - 1 <= 0)
		return INFINITY;
	return aic + 2 * k * (k + 1) / (nstar - k - 1);
}

/* ------------------------------------------------------------------ search */

#define MAXC (AQ_ARIMA_MAX_ORDER * 2 + AQ_ARIMA_MAX_SORDER * 2 + 1)

struct tried {
	int p, q, P, Q, c;
	int checked;         /* coefficient variances verified (or not required) */
	double ic;
	int ncoef;
	double coef[MAXC];
};

struct search {
	const double *y;
	const double *yc;    /* series for the CSS candidate fits: y, or y with gaps imputed */
	size_t n;
	int d, D, s;
	int approx;
	double offset;
	int nstar;           /* non-missing count (R's n in myarima) */
	double cinit;        /* starting value of a new constant */
	const struct aq_auto_opts *o;
	struct aq_arima_ws *ws;
	struct tried *t;
	int nt;
	struct aq_auto_info *info;
	struct aq_arima_model best;  /* without the approximation: the best candidate (S.t[ib]) as fitted;
					no coefficients if it could not be kept (out of memory) */
};

static void make_spec(const struct search *S, int p, int q, int P, int Q, int c, struct aq_arima_spec *sp)
{
	sp->p = p;
	sp->d = S->d;
	sp->q = q;
	sp->P = P;
	sp->D = S->D;
	sp->Q = Q;
	sp->s = (P + S->D + Q > 0) ? S->s : 0;
	sp->constant = c && S->d + S->D <= 1;
}

/* Starting values for (p,q,P,Q,c) from a fitted parent (missing terms 0, new constant cinit). */
static void warm_init(const struct search *S, const struct tried *par, int p, int q, int P, int Q, int c,
		      double *init)
{
	int k = 0, pk = 0;
	for (int i = 0; i < p; i++)
		init[k++] = i < par->p ? par->coef[pk + i] : 0;
	pk += par->p;
	for (int i = 0; i < q; i++)
		init[k++] = i < par->q ? par->coef[pk + i] : 0;
	pk += par->q;
	for (int i = 0; i < P; i++)
		init[k++] = i < par->P ? par->coef[pk + i] : 0;
	pk += par->P;
	for (int i = 0; i < Q; i++)
		init[k++] = i < par->Q ? par->coef[pk + i] : 0;
	pk += par->Q;
	if (c && S->d + S->D <= 1)
		init[k++] = par->c && S->d + S->D <= 1 ? par->coef[pk] : S->cinit;
}

/* Score of a fitted model R's way; +Inf if rejected. */
static double score(const struct search *S, const struct aq_arima_model *m, int approx)
{
	int ncoef = m->ncoef;
	int nst = S->nstar - S->d - S->D * S->s;
	double aic;
	if (approx) {
		if (!(m->sigma2 > 0) || !isfinite(m->sigma2))
			return INFINITY;
		aic = S->offset + nst * log(m->sigma2) + 2.0 * (ncoef + 1);
	} else {
		if (!isfinite(m->loglik))
			return INFINITY;
		aic = -2.0 * m->loglik + 2.0 * (ncoef + 1);
	}
	double ic = aq_auto_aicc(aic, ncoef, nst);
	if (!isfinite(ic))
		return INFINITY;
	if (!aq_arima_roots_ok(m, S->o->min_root))
		return INFINITY;
	if (S->o->check_vcov && m->vcov) {
		for (int i = 0; i < ncoef; i++) {
			double v = m->vcov[i * ncoef + i];
			if (!(v >= 0))
				return INFINITY;
		}
	}
	return ic;
}

/* Fit (p,q,P,Q,c) by `method` (CSS: an approximate candidate) and score it; +Inf if rejected. */
static int fit_with(const struct search *S, int p, int q, int P, int Q, int c, enum aq_arima_method method,
		    int vcov, const double *init, struct aq_arima_model *m, double *ic)
{
	struct aq_arima_spec sp;
	make_spec(S, p, q, P, Q, c, &sp);
	int approx = method == AQ_ARIMA_CSS;
	struct aq_arima_fit_opts fo = {0};
	fo.method = method;
	fo.init = init;
	fo.max_iter = 100;
	fo.reltol = 1.5e-8;
	fo.want_vcov = vcov && S->o->check_vcov;
	fo.vcov_min_root = S->o->min_root;   /* score() rejects such a model on its roots first */
	/* A candidate's AICc needs ~1e-3 in n* log(ssq): relative CSS decrease 1e-8 per iteration is plenty. */
	fo.css_rtol = approx ? 1e-8 : 0;
	/* R's optim stops the CSS fit after maxit = 100 iterations too; the
	 * fits that reach the cap crawl with an MA root beyond the unit circle
	 * (rejected whatever the iteration they stop at). */
	fo.css_max_iter = approx ? 100 : 0;
	fo.no_state = approx;   /* candidates are scored, never forecast */
	fo.ml_unit_ma_stop = approx ? 0 : 4;
	/* 12 crawling steps: 0 of 987 synthetic accounts change order, 20% less CPU (docs/accuracy.md) */
	fo.css_unit_ma_stop = approx ? 12 : 0;
	struct aq_err e = {0};
	aq_arima_model_release(m);
	aq_arima_model_init(m);
	double t0 = aq_now();
	int rc = aq_arima_fit(approx ? S->yc : S->y, S->n, &sp, &fo, m, S->ws, &e);
	*ic = rc ? INFINITY : score(S, m, approx);
	if (aq_log_get_level() >= AQ_LOG_DEBUG) {
		char buf[96];
		aq_debug("%s %s: ic %.4f%s%s (%.1f ms)", approx ? "css" : "ml", aq_arima_spec_str(&sp, buf, sizeof buf),
			 *ic, rc ? " error " : "", rc ? e.msg : "", (aq_now() - t0) * 1e3);
	}
	return rc;
}

static int fit_one(const struct search *S, int p, int q, int P, int Q, int c, int approx, int vcov,
		   const double *init, struct aq_arima_model *m, double *ic)
{
	return fit_with(S, p, q, P, Q, c, approx ? AQ_ARIMA_CSS : AQ_ARIMA_CSS_ML, vcov, init, m, ic);
}

static int tried_before(const struct search *S, int p, int q, int P, int Q, int c)
{
	for (int i = 0; i < S->nt; i++)
		if (S->t[i].p == p && S->t[i].q == q && S->t[i].P == P && S->t[i].Q == Q && S->t[i].c == c)
			return 1;
	return 0;
}

/*
 * R's checkarima (negative coefficient variance -> rejected) needs the
 * Hessian, about k^2 objective evaluations. It only matters for candidates
 * that would become the best (a rejected one that would not changes
 * nothing), and, with the CSS approximation, for those the final refit
 * reaches: we verify lazily, refitting from the candidate's own estimates
 * with the Hessian (the optimiser starts at the optimum).
 */
static void verify(struct search *S, struct tried *t, struct aq_arima_model *m)
{
	if (t->checked || !isfinite(t->ic))
		return;
	double ic;
	/* approximate: CSS again from its estimates; exact: ML from its estimates
	 * (the optimiser starts at the optimum; a CSS stage could wander off it) */
	int rc = fit_with(S, t->p, t->q, t->P, t->Q, t->c, S->approx ? AQ_ARIMA_CSS : AQ_ARIMA_ML, 1, t->coef, m,
			  &ic);
	t->checked = 1;
	t->ic = rc ? INFINITY : ic;
	if (!rc)
		memcpy(t->coef, m->coef, (size_t)m->ncoef * sizeof(double));
}

/* Fit a candidate, record it; returns its score. par is the parent for warm starts. */
static double candidate(struct search *S, const struct tried *par, double best_ic, int p, int q, int P, int Q,
			int c, struct aq_arima_model *m)
{
	double init[MAXC], ic;
	const double *ip = NULL;
	if (S->o->warm_start && par && isfinite(par->ic)) {
		warm_init(S, par, p, q, P, Q, c, init);
		ip = init;
	}
	int lazy = S->o->check_vcov;
	int rc = fit_one(S, p, q, P, Q, c, S->approx, !lazy, ip, m, &ic);
	struct tried *t = &S->t[S->nt++];
	t->p = p;
	t->q = q;
	t->P = P;
	t->Q = Q;
	t->c = c;
	t->ic = ic;
	t->checked = !lazy;
	t->ncoef = rc ? 0 : m->ncoef;
	if (!rc)
		memcpy(t->coef, m->coef, (size_t)m->ncoef * sizeof(double));
	S->info->nfits++;
	if (lazy && ic < best_ic)
		verify(S, t, m);
	/* best_ic is the current best's (the caller moves to t exactly when t->ic < best_ic) */
	if (!S->approx && t->ic < best_ic && aq_arima_model_copy(&S->best, m, NULL))
		aq_arima_model_release(&S->best);
	return t->ic;
}

static double mean_finite(const double *x, size_t n)
{
	double s = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i])) {
			s += x[i];
			k++;
		}
	return k ? s / (double)k : 0;
}

/* Mean of lag-`lag` differences over pairs of finite values, divided by `lag`. */
static double mean_diff(const double *x, size_t n, size_t lag)
{
	double s = 0;
	size_t k = 0;
	for (size_t i = lag; i < n; i++)
		if (isfinite(x[i]) && isfinite(x[i - lag])) {
			s += x[i] - x[i - lag];
			k++;
		}
	return k ? s / (double)k / (double)lag : 0;
}

/* Was the Q = 0 version of t refitted as itself earlier in the final order? */
static int tried_before_ml(const struct search *S, const struct tried *t, const int *ord, int upto)
{
	for (int j = 0; j < upto; j++) {
		const struct tried *u = &S->t[ord[j]];
		if (u->p == t->p && u->q == t->q && u->P == t->P && u->Q == 0 && u->c == t->c && isfinite(u->ic))
			return 1;
	}
	return 0;
}

/* Index of (p,q,P,Q = 0,c) among the refit cascade's models without a seasonal MA. */
#define DONE_KEYS ((AQ_ARIMA_MAX_ORDER + 1) * (AQ_ARIMA_MAX_ORDER + 1) * (AQ_ARIMA_MAX_SORDER + 1) * 2)
static int done_key(int p, int q, int P, int c)
{
	return ((p * (AQ_ARIMA_MAX_ORDER + 1) + q) * (AQ_ARIMA_MAX_SORDER + 1) + P) * 2 + c;
}

/* Seasonal-AR stand-ins per search: 2 give 90% of the AICc gain of 8 on 987 synthetic accounts at +1.5% CPU */
#define MAX_STANDINS 2

struct orders {
	int p, q, P, Q;
};

/* R's bounds on the orders: a third of the observations (of the seasons for P, Q), and what the fitter supports. */
static void order_bounds(const struct aq_auto_opts *o, int nobs, int s, struct orders *max)
{
	max->p = o->max_p;
	max->q = o->max_q;
	max->P = o->max_P;
	max->Q = o->max_Q;
	if (max->p > nobs / 3)
		max->p = nobs / 3;
	if (max->q > nobs / 3)
		max->q = nobs / 3;
	if (max->P > nobs / 3 / s)
		max->P = nobs / 3 / s;
	if (max->Q > nobs / 3 / s)
		max->Q = nobs / 3 / s;
	if (max->p > AQ_ARIMA_MAX_ORDER)
		max->p = AQ_ARIMA_MAX_ORDER;
	if (max->q > AQ_ARIMA_MAX_ORDER)
		max->q = AQ_ARIMA_MAX_ORDER;
	if (max->P > AQ_ARIMA_MAX_SORDER)
		max->P = AQ_ARIMA_MAX_SORDER;
	if (max->Q > AQ_ARIMA_MAX_SORDER)
		max->Q = AQ_ARIMA_MAX_SORDER;
	if (s == 1)
		max->P = max->Q = 0;
}

/*
 * The seasonal differencing order D (o->D, or R's nsdiffs by seasonal
 * strength) and dx = y differenced once at lag s when D > 0 (*nd values);
 * D falls back to 0 when the differenced series would be empty or all NA.
 */
static int seasonal_diff(const double *y, size_t n, int s, const struct aq_auto_opts *o, struct aq_auto_info *info,
			 double *dx, size_t *nd)
{
	int D = o->D;
	if (s == 1)
		D = 0;
	else if (D < 0 && n <= 2 * (size_t)s)
		D = 0;
	else if (D < 0)
		D = aq_nsdiffs(y, n, s, o->seas_threshold, o->max_D, &info->seas_strength);
	*nd = n;
	memcpy(dx, y, n * sizeof *dx);
	if (D > 0) {
		int allna = 1;
		for (size_t i = (size_t)s; i < *nd; i++) {
			dx[i - (size_t)s] = y[i] - y[i - (size_t)s];
			allna &= !isfinite(dx[i - (size_t)s]);
		}
		if (*nd <= (size_t)s || allna) {
			D = 0;
			memcpy(dx, y, n * sizeof *dx);
		} else {
			*nd -= (size_t)s;
		}
	}
	return D;
}

/*
 * The differencing order d (o->d, or R's ndiffs by KPSS on the seasonally
 * differenced dx, one less while d differences leave no complete window)
 * and dx differenced d times in place (*nd shrinks by d).
 */
static int nonseasonal_diff(const struct aq_auto_opts *o, struct aq_auto_info *info, double *dx, size_t *nd)
{
	int d = o->d;
	if (d < 0) {
		d = aq_ndiffs(dx, *nd, o->alpha, o->max_d, &info->kpss_stat);
		/* all-NA after differencing: one less (R) */
		while (d > 0) {
			int any = 0;
			for (size_t i = (size_t)d; i < *nd && !any; i++) {
				int okk = 1;
				for (int j = 0; j <= d; j++)
					okk &= isfinite(dx[i - (size_t)j]) != 0;
				any = okk;
			}
			if (any)
				break;
			d--;
		}
	}
	for (int k = 0; k < d; k++) {
		for (size_t i = 0; i + 1 < *nd; i++)
			dx[i] = dx[i + 1] - dx[i];
		*nd = *nd ? *nd - 1 : 0;
	}
	return d;
}

/* The differenced series is constant: R fits (0,d,0)(0,D,0) with the constant fixed; we estimate it. */
static int fit_constant_diff(struct search *S, struct aq_arima_model *m, struct aq_err *e)
{
	struct aq_arima_model tmp;
	aq_arima_model_init(&tmp);
	double ic;
	S->approx = 0;
	int rc = fit_one(S, 0, 0, 0, 0, S->d + S->D <= 1, 0, 1, NULL, &tmp, &ic);
	if (rc || !isfinite(tmp.loglik)) {
		aq_arima_model_release(&tmp);
		return aq_err_set(e, AQ_ENUMERIC, "differenced series is constant and cannot be fitted");
	}
	aq_arima_model_release(m);
	*m = tmp;
	S->info->ic = ic;
	return 0;
}

/* R's offset of the approximate AICc: -2 loglik - n* log sigma2 of the ML fit of (0,d,0)(0,D,0). */
static double approx_offset(const struct search *S)
{
	struct aq_arima_model om;
	aq_arima_model_init(&om);
	struct aq_arima_spec sp;
	make_spec(S, 0, 0, 0, 0, S->d + S->D == 0, &sp);
	struct aq_arima_fit_opts fo = {0};
	fo.method = AQ_ARIMA_CSS_ML;
	fo.max_iter = 100;
	fo.reltol = 1.5e-8;
	struct aq_err e2 = {0};
	double offset = 0;
	if (aq_arima_fit(S->y, S->n, &sp, &fo, &om, S->ws, &e2) == 0 && om.sigma2 > 0 && isfinite(om.loglik))
		offset = -2 * om.loglik - S->nstar * log(om.sigma2);
	aq_arima_model_release(&om);
	return offset;
}

/* The first model of the search: o's start orders within the bounds (at most (1,1)(0,0) on a short series). */
static void start_orders(const struct aq_auto_opts *o, size_t n, const struct orders *max, struct orders *at)
{
	int start_p = o->start_p, start_q = o->start_q, start_P = o->start_P, start_Q = o->start_Q;
	if (n < 10) {
		start_p = start_p < 1 ? start_p : 1;
		start_q = start_q < 1 ? start_q : 1;
		start_P = start_Q = 0;
	}
	at->p = start_p < max->p ? start_p : max->p;
	at->q = start_q < max->q ? start_q : max->q;
	at->P = start_P < max->P ? start_P : max->P;
	at->Q = start_Q < max->Q ? start_Q : max->Q;
}

/*
 * Hyndman-Khandakar's stepwise search, as R's auto.arima: the start model,
 * (0,0)(0,0), (1,0)(1,0), (0,1)(0,1) and (0,0)(0,0) without the constant,
 * then from the best one the first neighbour that improves (seasonal moves
 * first), until none does or nmodels were fitted; toggle_constant also tries
 * the best orders with the constant switched. Returns the index of the best
 * tried model in S->t.
 */
static int stepwise(struct search *S, const struct orders *max, struct orders at, int constant, int toggle_constant,
		    int nmodels, struct aq_arima_model *cur)
{
	int s = S->s > 1 ? S->s : 1;
	int p = at.p, q = at.q, P = at.P, Q = at.Q;
	int ib = 0;   /* index of the best tried model */
	double ic;
	candidate(S, NULL, INFINITY, p, q, P, Q, constant, cur);
	ic = candidate(S, NULL, S->t[ib].ic, 0, 0, 0, 0, constant, cur);
	if (ic < S->t[ib].ic) {
		ib = 1;
		p = q = P = Q = 0;
	}
	int k = 2;
	if (max->p > 0 || max->P > 0) {
		int pp = max->p > 0, PP = s > 1 && max->P > 0;
		ic = candidate(S, NULL, S->t[ib].ic, pp, 0, PP, 0, constant, cur);
		if (ic < S->t[ib].ic) {
			ib = k;
			p = pp;
			P = PP;
			q = Q = 0;
		}
		k++;
	}
	if (max->q > 0 || max->Q > 0) {
		int qq = max->q > 0, QQ = s > 1 && max->Q > 0;
		ic = candidate(S, NULL, S->t[ib].ic, 0, qq, 0, QQ, constant, cur);
		if (ic < S->t[ib].ic) {
			ib = k;
			p = P = 0;
			Q = QQ;
			q = qq;
		}
		k++;
	}
	if (constant) {
		ic = candidate(S, NULL, S->t[ib].ic, 0, 0, 0, 0, 0, cur);
		if (ic < S->t[ib].ic) {
			ib = k;
			p = q = P = Q = 0;
		}
		k++;
	}
	/* neighbour moves in R's order: seasonal first, then non-seasonal */
	static const int moves[16][4] = {
		{0, 0, -1, 0}, {0, 0, 0, -1}, {0, 0, 1, 0}, {0, 0, 0, 1},
		{0, 0, -1, -1}, {0, 0, -1, 1}, {0, 0, 1, -1}, {0, 0, 1, 1},
		{-1, 0, 0, 0}, {0, -1, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0},
		{-1, -1, 0, 0}, {-1, 1, 0, 0}, {1, -1, 0, 0}, {1, 1, 0, 0},
	};
	int startk = 0;
	while (startk < k && k < nmodels) {
		startk = k;
		int improved = 0;
		for (int mv = 0; mv < 16 && !improved; mv++) {
			int np = p + moves[mv][0], nq = q + moves[mv][1];
			int nP = P + moves[mv][2], nQ = Q + moves[mv][3];
			if (np < 0 || nq < 0 || nP < 0 || nQ < 0 || np > max->p || nq > max->q || nP > max->P ||
			    nQ > max->Q)
				continue;
			if (tried_before(S, np, nq, nP, nQ, constant))
				continue;
			k++;
			if (k > nmodels)
				break;
			ic = candidate(S, &S->t[ib], S->t[ib].ic, np, nq, nP, nQ, constant, cur);
			if (ic < S->t[ib].ic) {
				ib = S->nt - 1;
				p = np;
				q = nq;
				P = nP;
				Q = nQ;
				improved = 1;
			}
		}
		if (improved || k > nmodels)
			continue;
		if (toggle_constant && !tried_before(S, p, q, P, Q, !constant)) {
			k++;
			if (k > nmodels)
				continue;
			ic = candidate(S, &S->t[ib], S->t[ib].ic, p, q, P, Q, !constant, cur);
			if (ic < S->t[ib].ic) {
				ib = S->nt - 1;
				constant = !constant;
			}
		}
	}
	return ib;
}

/* Indexes of the scored candidates in increasing approximate AICc (malloc'd, *no of them; NULL: out of memory). */
static int *approx_order(const struct search *S, int *no)
{
	int *ord = malloc((size_t)S->nt * sizeof *ord);
	if (!ord)
		return NULL;
	*no = 0;
	for (int i = 0; i < S->nt; i++)
		if (isfinite(S->t[i].ic))
			ord[(*no)++] = i;
	/* stable insertion sort by ic (R's order() keeps ties in order) */
	for (int i = 1; i < *no; i++) {
		int v = ord[i], j = i;
		while (j > 0 && S->t[ord[j - 1]].ic > S->t[v].ic) {
			ord[j] = ord[j - 1];
			j--;
		}
		ord[j] = v;
	}
	return ord;
}

/* The refit cascade of the approximate search: what was refitted, and the fallbacks kept. */
struct cascade {
	int found, tried_ml, stop_at, nsub;
	double best_ic, sub_ic;
	struct aq_arima_model bestm, subm, subt;   /* best accepted past the cap; best stand-in; scratch */
	unsigned char done[DONE_KEYS];
};

/*
 * The seasonal MA order the cascade refits candidate i with: its own, 0
 * after max_refits rejections (once per (p,q,P,c), unless that model was
 * refitted as itself earlier), or -1: skip it (after 3 x max_refits
 * rejections only pure AR candidates, which have no MA root to hit 1).
 */
static int cascade_Q(const struct search *S, struct cascade *C, const struct tried *t, const int *ord, int i)
{
	int Qr = t->Q;
	if (C->tried_ml >= 3 * S->o->max_refits && (t->q > 0 || t->Q > 0))
		return -1;
	if (C->tried_ml >= S->o->max_refits && Qr > 0) {
		/* the same model without its seasonal MA, once */
		Qr = 0;
		int key = done_key(t->p, t->q, t->P, t->c);
		if (C->done[key] || tried_before_ml(S, t, ord, i))
			return -1;
		C->done[key] = 1;
	}
	return Qr;
}

/*
 * A seasonal MA that ML drives to the unit circle (Theta(B^s) ~ 1 - B^s:
 * the seasonal difference over-differences a stable weekly profile) is
 * stood in for by the highest seasonal AR, (p,q)(max P,D,0), once per
 * (p,q,c), when the search never scored that model: R reaches it only when
 * its own CSS path happened to. It does not pre-empt the cascade (R's first
 * accepted model is still found); it is chosen instead only with a lower ML
 * AICc.
 */
static void stand_in(struct search *S, struct cascade *C, const struct tried *t, int max_P)
{
	int key = done_key(t->p, t->q, max_P, t->c);
	double sic;
	if (C->done[key])
		return;
	C->done[key] = 1;
	C->nsub++;
	S->info->nrefits++;
	if (!fit_one(S, t->p, t->q, max_P, 0, t->c, 0, 1, NULL, &C->subt, &sic) && sic < C->sub_ic) {
		struct aq_arima_model x = C->subm;
		C->subm = C->subt;
		C->subt = x;
		C->sub_ic = sic;
	}
}

/* An accepted refit: R's answer within max_refits, past the cap the best by ML AICc over max_refits more. */
static void cascade_accept(struct search *S, struct cascade *C, const struct aq_arima_model *cur, double ic)
{
	if (C->tried_ml <= S->o->max_refits) {
		C->found = 1;   /* R's answer: the first accepted in order */
		S->info->ic = ic;
	} else if (ic < C->best_ic) {
		/*
		 * Past the cap the order is no longer R's: keep the
		 * best accepted (ML AICc) over max_refits more refits.
		 */
		if (aq_arima_model_copy(&C->bestm, cur, NULL) == 0) {
			C->best_ic = ic;
			if (C->stop_at < 0)
				C->stop_at = C->tried_ml + S->o->max_refits;
		}
	}
}

/* Without R's answer, the best accepted past the cap; a better stand-in in any case. Moves it into *cur. */
static void cascade_choose(struct search *S, struct cascade *C, struct aq_arima_model *cur)
{
	if (!C->found && isfinite(C->best_ic)) {
		aq_arima_model_release(cur);
		*cur = C->bestm;
		aq_arima_model_init(&C->bestm);
		C->found = 1;
		S->info->ic = C->best_ic;
	}
	if (C->sub_ic < INFINITY && (!C->found || C->sub_ic < S->info->ic)) {
		aq_arima_model_release(cur);
		*cur = C->subm;
		aq_arima_model_init(&C->subm);
		C->found = 1;
		S->info->ic = C->sub_ic;
	}
}

/*
 * Approximate search: refit by CSS-ML in increasing order of approximate
 * AICc until one is accepted.
 *
 * R refits down the whole list; a seasonal MA driven to the unit circle by
 * ML makes that cascade explode in time (each rejected ML fit of a seasonal
 * model costs a full optimisation). After max_refits rejected refits,
 * candidates with a seasonal MA part are refitted without it; after
 * 3 x max_refits rejections only pure AR candidates are refitted (an
 * over-differenced series sends every MA model's root to the unit circle: R
 * refits them all, 24 ML fits and 6 s for one synthetic account).
 */
static int refit_cascade(struct search *S, int max_P, struct aq_arima_model *cur, struct aq_err *e)
{
	const struct aq_auto_opts *o = S->o;
	int no;
	int *ord = approx_order(S, &no);
	if (!ord)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate search order");
	struct cascade C;
	C.found = C.tried_ml = C.nsub = 0;
	C.stop_at = -1;
	C.best_ic = C.sub_ic = INFINITY;
	aq_arima_model_init(&C.bestm);
	aq_arima_model_init(&C.subm);
	aq_arima_model_init(&C.subt);
	memset(C.done, 0, sizeof C.done);
	for (int i = 0; i < no && !C.found; i++) {
		struct tried *t = &S->t[ord[i]];
		verify(S, t, cur);
		if (!isfinite(t->ic))
			continue;
		int Qr = cascade_Q(S, &C, t, ord, i);
		if (Qr < 0)
			continue;
		C.tried_ml++;
		S->info->nrefits++;
		double ic;
		int frc = fit_one(S, t->p, t->q, t->P, Qr, t->c, 0, 1, o->warm_start && Qr == t->Q ? t->coef : NULL,
				  cur, &ic);
		if ((frc || !isfinite(ic)) && S->D > 0 && Qr > 0 && max_P > 0 && C.nsub < MAX_STANDINS &&
		    !tried_before(S, t->p, t->q, max_P, 0, t->c))
			stand_in(S, &C, t, max_P);
		if (!frc && isfinite(ic))
			cascade_accept(S, &C, cur, ic);
		if (!C.found && C.stop_at >= 0 && C.tried_ml >= C.stop_at)
			break;
	}
	free(ord);
	cascade_choose(S, &C, cur);
	aq_arima_model_release(&C.bestm);
	aq_arima_model_release(&C.subm);
	aq_arima_model_release(&C.subt);
	if (!C.found)
		return aq_err_set(e, AQ_ENUMERIC, "no suitable ARIMA model found (%d candidates)", S->nt);
	return 0;
}

/*
 * Exact search: every candidate was an ML fit (its variance checked when it
 * became best, by ML from its own estimates): the best one is the answer,
 * as R's. A refit from its estimates by CSS-ML could only wander (on a
 * short series the CSS start can turn non-stationary: 2 failed accounts of
 * the 27k bench); it happens only when the best could not be kept.
 */
static int take_best(struct search *S, int ib, struct aq_arima_model *cur, struct aq_err *e)
{
	if (!isfinite(S->t[ib].ic))
		return aq_err_set(e, AQ_ENUMERIC, "no suitable ARIMA model found (%d candidates)", S->nt);
	int frc = 0;
	double ic = S->t[ib].ic;
	if (S->best.coef) {
		aq_arima_model_release(cur);
		*cur = S->best;
		aq_arima_model_init(&S->best);
	} else {
		struct tried *t = &S->t[ib];
		S->info->nrefits++;
		frc = fit_one(S, t->p, t->q, t->P, t->Q, t->c, 0, 1, t->coef, cur, &ic);
	}
	if (frc || !isfinite(ic))
		return aq_err_set(e, AQ_ENUMERIC, "refit of the chosen model failed");
	S->info->ic = ic;
	return 0;
}

/* yc: NULL, or y with its interior gaps imputed, for the CSS candidate scores (aq_auto_arima) */
static int auto_search(const double *y, const double *yc, size_t n, const struct aq_auto_opts *o,
		       struct aq_arima_model *m, struct aq_auto_info *info, struct aq_arima_ws *ws,
		       struct aq_err *e)
{
	memset(info, 0, sizeof *info);
	info->kpss_stat = info->seas_strength = info->ic = NAN;
	/* start at the first non-missing value; trailing NaNs stay (the state ends at y[n-1]) */
	while (n > 0 && !isfinite(y[0])) {
		y++;
		yc = yc ? yc + 1 : NULL;
		n--;
	}
	int nobs = 0;
	for (size_t i = 0; i < n; i++)
		nobs += isfinite(y[i]) != 0;
	if (nobs == 0)
		return aq_err_set(e, AQ_ENUMERIC, "all values missing");
	if (aq_is_constant(y, n)) {
		info->constant_series = 1;
		return aq_err_set(e, AQ_ENUMERIC, "constant series");
	}
	int s = o->season > 1 ? o->season : 1;
	struct orders max;
	order_bounds(o, nobs, s, &max);

	size_t nd;
	double *dx = malloc((n ? n : 1) * sizeof *dx);
	if (!dx)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate search workspace");
	int D = seasonal_diff(y, n, s, o, info, dx, &nd);
	int d = nonseasonal_diff(o, info, dx, &nd);
	info->d = d;
	info->D = D;
	struct search S = {0};
	S.y = y;
	S.yc = yc ? yc : y;
	S.n = n;
	S.d = d;
	S.D = D;
	S.s = s > 1 ? s : 0;
	S.o = o;
	S.ws = ws;
	S.info = info;
	S.nstar = nobs;
	S.cinit = d + D == 0 ? mean_finite(y, n) : (d == 1 ? mean_diff(y, n, 1) : mean_diff(y, n, (size_t)s));
	if (nd == 0) {
		free(dx);
		return aq_err_set(e, AQ_ENUMERIC, "not enough data to proceed");
	}
	int dx_constant = aq_is_constant(dx, nd);
	free(dx);
	if (dx_constant)
		return fit_constant_diff(&S, m, e);
	if (s > 1) {
		if (max.P > 0 && max.p > s - 1)
			max.p = s - 1;
		if (max.Q > 0 && max.q > s - 1)
			max.q = s - 1;
	}
	S.approx = o->approximation < 0 ? (n > 150 || s > 12) : o->approximation;
	info->approximation = S.approx;
	if (S.approx)
		S.offset = approx_offset(&S);
	info->offset = S.offset;
	int allow_drift = o->allow_drift && d + D == 1, allow_mean = o->allow_mean && d + D == 0;

	int nmodels = o->nmodels > 0 ? o->nmodels : 94;
	S.t = calloc((size_t)nmodels + 8, sizeof *S.t);
	aq_arima_model_init(&S.best);
	if (!S.t)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate search table");
	struct aq_arima_model cur;
	aq_arima_model_init(&cur);
	struct orders at;
	start_orders(o, n, &max, &at);
	int ib = stepwise(&S, &max, at, allow_drift || allow_mean, allow_drift || allow_mean, nmodels, &cur);
	int rc = S.approx ? refit_cascade(&S, max.P, &cur, e) : take_best(&S, ib, &cur, e);
	if (!rc) {
		aq_arima_model_release(m);
		*m = cur;
		aq_arima_model_init(&cur);
	}
	aq_arima_model_release(&cur);
	aq_arima_model_release(&S.best);
	free(S.t);
	return rc;
}

/* ------------------------------------------------------------ gaps */

/*
 * Imputation for estimation (docs/formats.md, train): the same weekday in
 * the neighbouring weeks (mean of y[i-s] and y[i+s] when both are real,
 * else the real one), else linear interpolation between the nearest real
 * days. Only the ORIGINAL values are used as donors, so the result does not
 * depend on the fill order.
 */
size_t aq_fill_interior(const double *y, size_t n, int s, double *out)
{
	memcpy(out, y, n * sizeof *out);
	size_t i0 = 0, i1 = n;
	while (i0 < n && !isfinite(y[i0]))
		i0++;
	while (i1 > i0 && !isfinite(y[i1 - 1]))
		i1--;
	size_t nf = 0, prev = i0;
	for (size_t i = i0; i < i1; i++) {
		if (isfinite(y[i])) {
			prev = i;
			continue;
		}
		double v = NAN;
		if (s > 1) {
			size_t us = (size_t)s;
			double a = i >= i0 + us && isfinite(y[i - us]) ? y[i - us] : NAN;
			double b = i + us < i1 && isfinite(y[i + us]) ? y[i + us] : NAN;
			if (isfinite(a) && isfinite(b))
				v = 0.5 * (a + b);
			else if (isfinite(a))
				v = a;
			else if (isfinite(b))
				v = b;
		}
		if (!isfinite(v)) {
			size_t nx = i + 1;
			while (nx < i1 && !isfinite(y[nx]))
				nx++;
			/* prev < i < nx, both real (i0 and i1 - 1 are real) */
			double w = (double)(i - prev) / (double)(nx - prev);
			v = y[prev] + w * (y[nx] - y[prev]);
		}
		out[i] = v;
		nf++;
	}
	return nf;
}

int aq_auto_requalify(struct aq_arima_model *m, const double *y, size_t n, struct aq_arima_ws *ws,
		      struct aq_err *e)
{
	double ll, s2;
	int rc = aq_arima_loglik(y, n, &m->spec, m->coef, &ll, &s2, ws, e);
	if (rc)
		return rc;
	int nonmiss = 0;
	for (size_t i = 0; i < n; i++)
		nonmiss += isfinite(y[i]) != 0;
	int dd = m->spec.d + (m->spec.P + m->spec.D + m->spec.Q > 0 ? m->spec.s * m->spec.D : 0);
	double nu = nonmiss - dd, npar = m->ncoef + 1;
	double aic = -2 * ll + 2 * npar;
	double aicc = aic + 2 * npar * (npar + 1) / (nu - npar - 1);
	double bic = aic + npar * (log(nu) - 2);
	if (!isfinite(ll) || !(s2 > 0) || !isfinite(aicc) || !isfinite(bic))
		return aq_err_set(e, AQ_ENUMERIC, "non-finite likelihood on the series with gaps");
	if ((rc = aq_arima_state_reset(m, e)) || (rc = aq_arima_update(m, y, n, e)))
		return rc;
	m->loglik = ll;
	m->sigma2 = s2;
	m->aic = aic;
	m->aicc = aicc;
	m->bic = bic;
	m->nobs = (int)nu;
	m->n = (int)n;
	return 0;
}

int aq_auto_arima(const double *y, size_t n, const struct aq_auto_opts *o, struct aq_arima_model *m,
		  struct aq_auto_info *info, struct aq_arima_ws *ws, struct aq_err *e)
{
	struct aq_auto_info dummy;
	if (!info)
		info = &dummy;
	while (n > 0 && !isfinite(y[0])) {
		y++;
		n--;
	}
	size_t last = n;
	while (last > 0 && !isfinite(y[last - 1]))
		last--;
	int gaps = 0;
	for (size_t i = 0; i < last && !gaps; i++)
		gaps = !isfinite(y[i]);
	if (!gaps)
		return auto_search(y, NULL, n, o, m, info, ws, e);
	double *yf = malloc(n * sizeof *yf);
	if (!yf)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate imputed series");
	aq_fill_interior(y, last, o->season, yf);
	for (size_t i = last; i < n; i++)
		yf[i] = NAN;
	if (o->exact_missing) {
		/*
		 * Exact likelihood over the gaps for every ML fit. A conditional
		 * sum of squares has no good answer for a missing day, so the
		 * search runs twice and the lower ML AICc wins: with the CSS
		 * candidate scores on the series with its gaps (the missing
		 * residual dropped and 0 carried through the MA recursion,
		 * which inflates every later residual of an MA model near the
		 * unit circle and tilts the search towards AR terms) and on the
		 * imputed series (which, with the weekday imputation and a
		 * seasonal difference, invents lag-s structure). R's CSS
		 * carries the NaN instead: every residual after the first gap
		 * is dropped.
		 */
		struct aq_arima_model m2;
		struct aq_auto_info info2;
		struct aq_err e2 = {0};
		aq_arima_model_init(&m2);
		int rc = auto_search(y, NULL, n, o, m, info, ws, e);
		int rc2 = auto_search(y, yf, n, o, &m2, &info2, ws, &e2);
		free(yf);
		if (!rc2 && (rc || info2.ic < info->ic)) {
			info2.nfits += rc ? 0 : info->nfits;
			info2.nrefits += rc ? 0 : info->nrefits;
			aq_arima_model_release(m);
			*m = m2;
			*info = info2;
			return 0;
		}
		if (!rc2) {
			info->nfits += info2.nfits;
			info->nrefits += info2.nrefits;
		}
		aq_arima_model_release(&m2);
		return rc;
	}
	int rc = auto_search(yf, NULL, last, o, m, info, ws, e);
	free(yf);
	if (rc)
		return rc;
	if ((rc = aq_auto_requalify(m, y, n, ws, e)))
		return rc;
	int nst = m->nobs;
	info->ic = aq_auto_aicc(m->aic, m->ncoef, nst);
	return 0;
}
