/* optim.h — unconstrained minimisation: BFGS as R's optim (vmmin) with numerical gradients, Hessians. */
#ifndef AQ_OPTIM_H
#define AQ_OPTIM_H

#include <stddef.h>

#include "err.h"

/* Objective: value at x[0..n); return a non-finite value (or DBL_MAX) where undefined. */
typedef double (*aq_optim_fn)(int n, const double *x, void *ctx);

struct aq_optim_opts {
	int max_iter;             /* R's maxit, default 100 */
	double reltol;            /* default 1.5e-8 (sqrt(DBL_EPSILON)) */
	double abstol;            /* default -inf */
	double ndeps;             /* finite-difference step in scaled units, default 1e-3 */
	const double *parscale;   /* n scales or NULL (all 1): R's control$parscale */
	const double *B0;         /* n x n initial inverse Hessian in the scaled space, or NULL
				     (identity, as R); later restarts use the identity */
	/* Called with the (unscaled) accepted point after every iteration that
	 * moved; a nonzero return stops the search there (res->fail = 2). NULL: none. */
	int (*monitor)(int n, const double *x, void *ctx);
};

struct aq_optim_result {
	double fmin;
	int fncount, grcount, iter;
	int fail;                 /* 0 converged, 1 iteration limit (R's convergence code), 2 stopped by monitor */
};

void aq_optim_opts_default(struct aq_optim_opts *o);

/* Doubles of work needed by aq_optim_bfgs / aq_optim_hessian for n parameters. */
size_t aq_optim_work(int n);

/*
 * BFGS variable-metric minimiser (Nash 1990, Compact Numerical Methods,
 * Algorithm 21; the vmmin of R's optim, same line search, tests and
 * restarts), gradients by central differences in the scaled space
 * x / parscale with step ndeps (2n evaluations, as R's optim with gr = NULL).
 * x: start on entry, minimiser on return. Fails (AQ_ENUMERIC) when the
 * initial value or a finite-difference gradient is not finite.
 */
int aq_optim_bfgs(int n, double *x, aq_optim_fn fn, void *ctx, const struct aq_optim_opts *o, double *work,
		  struct aq_optim_result *res, struct aq_err *e);

/*
 * Hessian at x (n x n, row-major, symmetrised) by central differences of
 * the numerical gradient, as R's optimhess (4 n^2 evaluations).
 */
int aq_optim_hessian(int n, const double *x, aq_optim_fn fn, void *ctx, const struct aq_optim_opts *o,
		     double *H, double *work, struct aq_err *e);

#endif
