/* test_optim.c — BFGS (vmmin) and numerical Hessians on functions with known minima and derivatives. */
#include <float.h>

#include "optim.h"
#include "test.h"

static int ncalls;

static double rosenbrock(int n, const double *x, void *ctx)
{
	(void)n; (void)ctx;
	ncalls++;
	double a = x[1] - x[0] * x[0], b = 1 - x[0];
	return 100 * a * a + b * b;
}

/* Badly scaled quadratic: minimum at (3e3, -2e-3, 0.5). */
static double scaled_quad(int n, const double *x, void *ctx)
{
	(void)n; (void)ctx;
	double u = (x[0] - 3e3) / 1e3, v = (x[1] + 2e-3) / 1e-3, w = x[2] - 0.5;
	return u * u + v * v + w * w + 0.5 * u * w;
}

static double cubic(int n, const double *x, void *ctx)
{
	(void)n; (void)ctx;
	return x[0] * x[0] * x[1] + 3 * x[1] * x[1] + sin(x[0]);
}

static double nanfn(int n, const double *x, void *ctx)
{
	(void)n; (void)x; (void)ctx;
	return NAN;
}

static void test_rosenbrock(void)
{
	struct aq_optim_opts o;
	struct aq_optim_result r;
	struct aq_err e = {0};
	aq_optim_opts_default(&o);
	o.max_iter = 1000;
	double x[2] = {-1.2, 1.0}, w[64];
	T_ASSERT(aq_optim_work(2) <= 64);
	ncalls = 0;
	T_OK(aq_optim_bfgs(2, x, rosenbrock, NULL, &o, w, &r, &e));
	/* R: optim(c(-1.2,1), fr, method = "BFGS") gives 0.9998, 0.9996 with numerical gradients. */
	T_NEAR(x[0], 1.0, 2e-3);
	T_NEAR(x[1], 1.0, 4e-3);
	T_CHECK(r.fmin < 1e-6);
	T_EQ_INT(r.fail, 0);
	T_EQ_INT(r.fncount, ncalls);
}

static void test_parscale(void)
{
	struct aq_optim_opts o;
	struct aq_optim_result r;
	struct aq_err e = {0};
	double ps[3] = {1e3, 1e-3, 1}, x[3] = {0, 0, 0}, w[128];
	aq_optim_opts_default(&o);
	o.parscale = ps;
	T_OK(aq_optim_bfgs(3, x, scaled_quad, NULL, &o, w, &r, &e));
	T_NEAR(x[0], 3e3, 1.0);
	T_NEAR(x[1], -2e-3, 1e-6);
	T_NEAR(x[2], 0.5, 1e-3);
	T_EQ_INT(r.fail, 0);
}

static void test_hessian(void)
{
	struct aq_optim_opts o;
	struct aq_err e = {0};
	double x[2] = {1.0, 2.0}, H[4], w[128];
	aq_optim_opts_default(&o);
	T_OK(aq_optim_hessian(2, x, cubic, NULL, &o, H, w, &e));
	/* d2/dx2 = 2y - sin x, d2/dxdy = 2x, d2/dy2 = 6 */
	T_NEAR(H[0], 2 * x[1] - sin(x[0]), 1e-5);
	T_NEAR(H[1], 2 * x[0], 1e-5);
	T_NEAR(H[2], 2 * x[0], 1e-5);
	T_NEAR(H[3], 6.0, 1e-5);
	T_CHECK(H[1] == H[2]);
}

static void test_nonfinite(void)
{
	struct aq_optim_opts o;
	struct aq_optim_result r;
	struct aq_err e = {0};
	double x[1] = {0}, w[64];
	aq_optim_opts_default(&o);
	T_EQ_INT(aq_optim_bfgs(1, x, nanfn, NULL, &o, w, &r, &e), AQ_ENUMERIC);
	T_EQ_INT(e.code, AQ_ENUMERIC);
}

int main(void)
{
	T_RUN(test_rosenbrock);
	T_RUN(test_parscale);
	T_RUN(test_hessian);
	T_RUN(test_nonfinite);
	T_DONE();
}
