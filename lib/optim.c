/* optim.c — BFGS (R's vmmin) with numerical gradients, and numerical Hessians (R's optimhess). */
#include "optim.h"

#include <float.h>
#include <math.h>
#include <string.h>

void aq_optim_opts_default(struct aq_optim_opts *o)
{
	o->max_iter = 100;
	o->reltol = sqrt(DBL_EPSILON);
	o->abstol = -INFINITY;
	o->ndeps = 1e-3;
	o->parscale = NULL;
	o->B0 = NULL;
	o->monitor = NULL;
}

size_t aq_optim_work(int n)
{
	return (size_t)n * n + 12 * (size_t)n + 4;
}

static inline double pscale(const struct aq_optim_opts *o, int i)
{
	return o->parscale ? o->parscale[i] : 1.0;
}

/* f at scaled point b (xr: n scratch for the unscaled point). */
static double feval(int n, const double *b, aq_optim_fn fn, void *ctx, const struct aq_optim_opts *o, double *xr)
{
	for (int i = 0; i < n; i++)
		xr[i] = b[i] * pscale(o, i);
	return fn(n, xr, ctx);
}

/* Central-difference gradient in the scaled space (R's fmingr, gr = NULL). */
static int fgrad(int n, const double *b, double *df, aq_optim_fn fn, void *ctx, const struct aq_optim_opts *o,
		 double *xr)
{
	for (int i = 0; i < n; i++)
		xr[i] = b[i] * pscale(o, i);
	for (int i = 0; i < n; i++) {
		double eps = o->ndeps, s = pscale(o, i);
		xr[i] = (b[i] + eps) * s;
		double v1 = fn(n, xr, ctx);
		xr[i] = (b[i] - eps) * s;
		double v2 = fn(n, xr, ctx);
		df[i] = (v1 - v2) / (2 * eps);
		if (!isfinite(df[i]))
			return -1 - i;
		xr[i] = b[i] * s;
	}
	return 0;
}

int aq_optim_bfgs(int n, double *x, aq_optim_fn fn, void *ctx, const struct aq_optim_opts *o, double *work,
		  struct aq_optim_result *res, struct aq_err *e)
{
	const double stepredn = 0.2, acctol = 0.0001, reltest = 10.0;
	double *B = work, *g = B + (size_t)n * n, *t = g + n, *X = t + n, *c = X + n, *b = c + n, *xr = b + n;
	int count, funcount, gradcount, iter = 0, ilast, accpoint, stopped = 0;
	double f, fmin, gradproj, steplength, D1, D2;

	memset(res, 0, sizeof(*res));
	if (n <= 0) {
		res->fmin = fn(0, x, ctx);
		return 0;
	}
	for (int i = 0; i < n; i++)
		b[i] = x[i] / pscale(o, i);
	f = feval(n, b, fn, ctx, o, xr);
	if (!isfinite(f))
		return aq_err_set(e, AQ_ENUMERIC, "initial value in 'bfgs' is not finite");
	fmin = f;
	funcount = gradcount = 1;
	if (fgrad(n, b, g, fn, ctx, o, xr))
		return aq_err_set(e, AQ_ENUMERIC, "non-finite finite-difference gradient in 'bfgs'");
	funcount += 2 * n;
	iter++;
	ilast = gradcount;

	int first = 1;
	do {
		if (ilast == gradcount) {
			for (int i = 0; i < n; i++) {
				for (int j = 0; j < i; j++)
					B[i * n + j] = first && o->B0 ? o->B0[i * n + j] : 0.0;
				B[i * n + i] = first && o->B0 ? o->B0[i * n + i] : 1.0;
			}
			first = 0;
		}
		for (int i = 0; i < n; i++) {
			X[i] = b[i];
			c[i] = g[i];
		}
		/* Search direction t = -B g; B is kept in its lower triangle. */
		gradproj = 0.0;
		for (int i = 0; i < n; i++) {
			double s = 0.0;
			for (int j = 0; j <= i; j++)
				s -= B[i * n + j] * g[j];
			for (int j = i + 1; j < n; j++)
				s -= B[j * n + i] * g[j];
			t[i] = s;
			gradproj += s * g[i];
		}
		if (gradproj < 0.0) {
			/* Backtracking line search with the Armijo acceptance test. */
			steplength = 1.0;
			accpoint = 0;
			do {
				count = 0;
				for (int i = 0; i < n; i++) {
					b[i] = X[i] + steplength * t[i];
					if (reltest + X[i] == reltest + b[i])
						count++;
				}
				if (count < n) {
					f = feval(n, b, fn, ctx, o, xr);
					funcount++;
					accpoint = isfinite(f) && (f <= fmin + gradproj * steplength * acctol);
					if (!accpoint)
						steplength *= stepredn;
				}
			} while (!(count == n || accpoint));
			int enough = (f > o->abstol) && fabs(f - fmin) > o->reltol * (fabs(fmin) + o->reltol);
			if (!enough) {
				count = n;
				fmin = f;
			}
			if (count < n) {
				fmin = f;
				if (fgrad(n, b, g, fn, ctx, o, xr))
					return aq_err_set(e, AQ_ENUMERIC, "non-finite finite-difference gradient in 'bfgs'");
				funcount += 2 * n;
				gradcount++;
				iter++;
				D1 = 0.0;
				for (int i = 0; i < n; i++) {
					t[i] = steplength * t[i];
					c[i] = g[i] - c[i];
					D1 += t[i] * c[i];
				}
				if (D1 > 0) {
					/* BFGS update of the inverse Hessian approximation. */
					D2 = 0.0;
					for (int i = 0; i < n; i++) {
						double s = 0.0;
						for (int j = 0; j <= i; j++)
							s += B[i * n + j] * c[j];
						for (int j = i + 1; j < n; j++)
							s += B[j * n + i] * c[j];
						X[i] = s;
						D2 += s * c[i];
					}
					D2 = 1.0 + D2 / D1;
					for (int i = 0; i < n; i++)
						for (int j = 0; j <= i; j++)
							B[i * n + j] += (D2 * t[i] * t[j] - X[i] * t[j] - t[i] * X[j]) / D1;
				} else {
					ilast = gradcount; /* reset to steepest descent */
				}
				if (o->monitor) {
					for (int i = 0; i < n; i++)
						xr[i] = b[i] * pscale(o, i);
					if (o->monitor(n, xr, ctx)) {
						stopped = 1;
						break;
					}
				}
			} else {
				/* No progress: restart once from steepest descent. */
				if (ilast < gradcount) {
					count = 0;
					ilast = gradcount;
				}
			}
		} else {
			/* Uphill direction: reset, or stop if just reset. */
			count = 0;
			if (ilast == gradcount)
				count = n;
			else
				ilast = gradcount;
		}
		if (iter >= o->max_iter)
			break;
		if (gradcount - ilast > 2 * n)
			ilast = gradcount; /* periodic restart */
	} while (count != n || ilast != gradcount);

	/* b holds the last accepted point unless the line search ran out: use X then. */
	for (int i = 0; i < n; i++)
		x[i] = b[i] * pscale(o, i);
	res->fmin = fmin;
	res->fncount = funcount;
	res->grcount = gradcount;
	res->iter = iter;
	res->fail = stopped ? 2 : iter < o->max_iter ? 0 : 1;
	return 0;
}

int aq_optim_hessian(int n, const double *x, aq_optim_fn fn, void *ctx, const struct aq_optim_opts *o,
		     double *H, double *work, struct aq_err *e)
{
	double *dpar = work, *df1 = dpar + n, *df2 = df1 + n, *xr = df2 + n;
	for (int i = 0; i < n; i++)
		dpar[i] = x[i] / pscale(o, i);
	for (int i = 0; i < n; i++) {
		double eps = o->ndeps / pscale(o, i);
		dpar[i] += eps;
		if (fgrad(n, dpar, df1, fn, ctx, o, xr))
			return aq_err_set(e, AQ_ENUMERIC, "non-finite finite-difference hessian");
		dpar[i] -= 2 * eps;
		if (fgrad(n, dpar, df2, fn, ctx, o, xr))
			return aq_err_set(e, AQ_ENUMERIC, "non-finite finite-difference hessian");
		for (int j = 0; j < n; j++)
			H[i * n + j] = (df1[j] - df2[j]) / (2 * eps * pscale(o, i) * pscale(o, j));
		dpar[i] += eps;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++) {
			double v = 0.5 * (H[i * n + j] + H[j * n + i]);
			H[i * n + j] = H[j * n + i] = v;
		}
	return 0;
}
