/* test_arima.c — ARIMA API: robustness, update/forecast identities, sums vs simulation, roots, qnorm, workspaces. */
#include <string.h>

#include "arima.h"
#include "test.h"

/* ARIMA(1,1,1) with drift 0.05 around 20, n days. */
static double *sim111(int n)
{
	double *y = malloc(sizeof(double) * n), x = 0, w = 0, e0 = 0;
	for (int t = 0; t < n; t++) {
		double e = t_gauss();
		w = 0.6 * w + e + 0.3 * e0;
		e0 = e;
		x += w;
		y[t] = 20 + 0.05 * (t + 1) + x;
	}
	return y;
}

static int model_finite(const struct aq_arima_model *m)
{
	if (!isfinite(m->sigma2) || !(m->sigma2 > 0) || !isfinite(m->loglik) || !isfinite(m->aic) ||
	    !isfinite(m->aicc) || !isfinite(m->bic))
		return 0;
	for (int i = 0; i < m->ncoef; i++)
		if (!isfinite(m->coef[i])) return 0;
	for (int i = 0; i < m->state.len; i++)
		if (!isfinite(m->state.v[i])) return 0;
	return 1;
}

static void test_qnorm(void)
{
	double ps[] = {1e-300, 1e-12, 1e-6, 0.001, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975, 0.999, 1 - 1e-9};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
		double z = aq_qnorm(ps[i]);
		/* Phi(z) = p, Phi by erfc (independent of the approximation) */
		double p = 0.5 * erfc(-z / M_SQRT2);
		/* relative 1e-13 in the lower tail; upper tail limited by 1 - p in doubles */
		T_NEAR(p, ps[i], ps[i] < 0.5 ? 1e-13 * ps[i] : 4e-16);
		if (ps[i] < 0.5 && ps[i] >= 1e-3)
			T_NEAR(aq_qnorm(1 - ps[i]), -z, 1e-12 * fabs(z));
	}
	T_CHECK(aq_qnorm(0.5) == 0.0 || fabs(aq_qnorm(0.5)) < 1e-16);
	T_CHECK(isinf(aq_qnorm(0)) && aq_qnorm(0) < 0);
	T_CHECK(isnan(aq_qnorm(1.5)));
}

static void test_spec_and_ncoef(void)
{
	char buf[96];
	struct aq_arima_spec s = {1, 1, 1, 0, 1, 1, 7, 1};
	T_EQ_INT(aq_arima_ncoef(&s), 3); /* d + D = 2: no constant */
	T_CHECK(!strcmp(aq_arima_spec_str(&s, buf, sizeof buf), "ARIMA(1,1,1)(0,1,1)[7]"));
	struct aq_arima_spec s2 = {2, 1, 0, 0, 0, 0, 0, 1};
	T_EQ_INT(aq_arima_ncoef(&s2), 3);
	T_CHECK(!strcmp(aq_arima_spec_str(&s2, buf, sizeof buf), "ARIMA(2,1,0) with drift"));
}

/* Constant, zero, mostly-zero, linear-trend, all-missing, too-short, infinite: never a crash or a NaN model. */
static void test_robustness(void)
{
	int n = 400;
	double *y = malloc(sizeof(double) * n);
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_arima_model m;
	struct aq_err e = {0};
	aq_arima_model_init(&m);
	struct aq_arima_spec specs[] = {{1, 0, 1, 0, 0, 0, 0, 1}, {0, 1, 1, 0, 0, 0, 0, 1}, {1, 0, 0, 0, 1, 1, 7, 0},
					{0, 1, 1, 0, 1, 1, 7, 0}, {2, 1, 2, 0, 0, 0, 0, 1}};
	for (int kind = 0; kind < 6; kind++) {
		for (int t = 0; t < n; t++) {
			switch (kind) {
			case 0: y[t] = 3.25; break;                                  /* constant */
			case 1: y[t] = 0.0; break;                                   /* vacant premises */
			case 2: y[t] = (t % 37 == 5) ? 0.8 : 0.0; break;             /* mostly zero */
			case 3: y[t] = 1.5 + 0.01 * t; break;                        /* exact linear trend */
			case 4: y[t] = (t % 7 == 0) ? 2.0 : 1.0; break;              /* exact weekly pattern */
			case 5: y[t] = 1.0 + 1e-9 * t_gauss(); break;                  /* near-constant */
			}
		}
		for (size_t si = 0; si < sizeof specs / sizeof specs[0]; si++) {
			memset(&e, 0, sizeof e);
			int rc = aq_arima_fit(y, n, &specs[si], NULL, &m, ws, &e);
			if (rc == 0) {
				T_CHECK(model_finite(&m));
				double mean[10], sd[10];
				if (aq_arima_forecast(&m, 10, mean, sd, &e) == 0)
					for (int i = 0; i < 10; i++) T_CHECK(isfinite(mean[i]) && isfinite(sd[i]));
			} else {
				T_CHECK(rc == AQ_ENUMERIC);
				T_CHECK(e.code == rc && e.msg[0]);
			}
			/* zero variance of the model's innovations: refused */
			if (kind <= 1 || (kind == 3 && si == 1) || (kind == 4 && si >= 2 && si <= 3))
				if (rc != AQ_ENUMERIC)
					T_FAIL("kind %d spec %zu: rc %d, want AQ_ENUMERIC (sigma2 %g)", kind, si, rc, m.sigma2);
		}
	}
	/* constant series: refused with a clear numerical error, not a NaN model */
	for (int t = 0; t < n; t++) y[t] = 3.25;
	T_EQ_INT(aq_arima_fit(y, n, &specs[0], NULL, &m, ws, &e), AQ_ENUMERIC);
	/* all missing, too short, infinite value */
	for (int t = 0; t < n; t++) y[t] = NAN;
	T_EQ_INT(aq_arima_fit(y, n, &specs[0], NULL, &m, ws, &e), AQ_ENUMERIC);
	double shorty[4] = {1, 2, 3, 2};
	T_EQ_INT(aq_arima_fit(shorty, 4, &specs[4], NULL, &m, ws, &e), AQ_ENUMERIC);
	for (int t = 0; t < n; t++) y[t] = t_gauss();
	y[50] = INFINITY;
	T_EQ_INT(aq_arima_fit(y, n, &specs[0], NULL, &m, ws, &e), AQ_EINVAL);
	/* non-finite coefficients */
	y[50] = 0.0;
	double bad[3] = {NAN, 0.1, 0.0}, ll, s2;
	T_EQ_INT(aq_arima_loglik(y, n, &specs[0], bad, &ll, &s2, ws, &e), AQ_EINVAL);
	double nonstat[3] = {1.2, 0.1, 0.0};
	T_EQ_INT(aq_arima_loglik(y, n, &specs[0], nonstat, &ll, &s2, ws, &e), AQ_ENUMERIC);
	/* bad orders */
	struct aq_arima_spec bads = {1, 0, 1, 1, 0, 0, 0, 0};
	T_EQ_INT(aq_arima_fit(y, n, &bads, NULL, &m, ws, &e), AQ_EINVAL);
	aq_arima_model_release(&m);
	aq_arima_ws_free(ws);
	free(y);
}

/* Filtering k missing days then forecasting h equals forecasting h + k and dropping k. */
static void test_update_missing_identity(void)
{
	int n = 500, k = 6, h = 12;
	double *y = sim111(n);
	struct aq_arima_spec s = {1, 1, 1, 0, 0, 0, 0, 1};
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_arima_model m, m2;
	struct aq_err e = {0};
	aq_arima_model_init(&m);
	aq_arima_model_init(&m2);
	T_OK(aq_arima_fit(y, n, &s, NULL, &m, ws, &e));
	T_ASSERT(model_finite(&m));
	T_OK(aq_arima_model_copy(&m2, &m, &e));
	double nan6[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
	T_OK(aq_arima_update(&m2, nan6, k, &e));
	T_EQ_INT(m2.state.t, m.state.t + k);
	double mu1[32], sd1[32], mu2[32], sd2[32];
	T_OK(aq_arima_forecast(&m, h + k, mu1, sd1, &e));
	T_OK(aq_arima_forecast(&m2, h, mu2, sd2, &e));
	for (int i = 0; i < h; i++) {
		T_NEAR(mu2[i], mu1[i + k], 1e-9 * (1 + fabs(mu1[i + k])));
		T_NEAR(sd2[i], sd1[i + k], 1e-9 * sd1[i + k]);
	}
	/* Updating with real values moves the forecast origin: first-step sd back to the 1-step sd. */
	double more[6];
	for (int i = 0; i < k; i++) more[i] = y[n - 1] + 0.05 * (i + 1);
	T_OK(aq_arima_update(&m, more, k, &e));
	T_OK(aq_arima_forecast(&m, h, mu2, sd2, &e));
	T_NEAR(sd2[0], sd1[0], 1e-6 * sd1[0]);
	aq_arima_model_release(&m);
	aq_arima_model_release(&m2);
	aq_arima_ws_free(ws);
	free(y);
}

/* Sum of forecasts over [from, to): mean and sd against a Monte Carlo of the fitted model from the state. */
static void test_forecast_total_vs_simulation(void)
{
	int n = 600, from = 3, to = 17;
	double *y = sim111(n);
	struct aq_arima_spec s = {1, 1, 1, 0, 0, 0, 0, 1};
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_arima_model m;
	struct aq_err e = {0};
	aq_arima_model_init(&m);
	T_OK(aq_arima_fit(y, n, &s, NULL, &m, ws, &e));
	double sum, sd, mu[32], sdd[32];
	T_OK(aq_arima_forecast_total(&m, from, to, &sum, &sd, &e));
	T_OK(aq_arima_forecast(&m, to, mu, sdd, &e));
	double ms = 0;
	for (int i = from; i < to; i++) ms += mu[i];
	T_NEAR(sum, ms, 1e-9 * fabs(ms));
	/* Monte Carlo: continue y with the fitted ARIMA(1,1,1)+drift from the last values and residual. */
	double ar = m.coef[0], ma = m.coef[1], dr = m.coef[2], sg = sqrt(m.sigma2);
	/* last innovation: one-step residual from the fitted recursion on the differenced series (long series: exact enough) */
	double w_prev = 0, e_prev = 0;
	for (int t = 1; t < n; t++) {
		double w = y[t] - y[t - 1] - dr;
		double e_t = w - ar * w_prev - ma * e_prev;
		w_prev = w;
		e_prev = e_t;
	}
	int R = 40000;
	double acc = 0, acc2 = 0;
	for (int r = 0; r < R; r++) {
		double lev = y[n - 1], wp = w_prev, ep = e_prev, tot = 0;
		for (int i = 0; i < to; i++) {
			double ee = sg * t_gauss(), w = ar * wp + ee + ma * ep;
			lev += w + dr;
			wp = w;
			ep = ee;
			if (i >= from) tot += lev;
		}
		acc += tot;
		acc2 += tot * tot;
	}
	double mc_mean = acc / R, mc_sd = sqrt(acc2 / R - mc_mean * mc_mean);
	T_NEAR(mc_mean, sum, 4 * mc_sd / sqrt(R) + 1e-6 * fabs(sum));
	T_NEAR(mc_sd, sd, 0.02 * sd); /* sampling error of an sd with R = 40000: ~0.35% */
	T_CHECK(sd > sdd[to - 1]); /* positively correlated errors: the sum is wider than one day */
	aq_arima_model_release(&m);
	aq_arima_ws_free(ws);
	free(y);
}

static void test_roots(void)
{
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	double coef[4];
	m.coef = coef;
	m.spec = (struct aq_arima_spec){1, 0, 0, 0, 0, 0, 0, 0};
	m.ncoef = 1;
	int rd = 1;
	double st[2] = {0, 1};
	m.state.len = rd + rd * rd;
	m.state.v = st;
	coef[0] = 0.9;
	T_EQ_INT(aq_arima_roots_ok(&m, 1.01), 1);
	coef[0] = 0.995; /* root 1.005 */
	T_EQ_INT(aq_arima_roots_ok(&m, 1.01), 0);
	T_EQ_INT(aq_arima_roots_ok(&m, 1.0), 1);
	/* seasonal MA at -1: (1 - B^7) has roots on the unit circle */
	m.spec = (struct aq_arima_spec){0, 0, 0, 0, 0, 1, 7, 0};
	double st2[8 + 64] = {0};
	m.state.len = 8 + 64;
	m.state.v = st2;
	coef[0] = -1.0;
	T_EQ_INT(aq_arima_roots_ok(&m, 1.01), 0);
	coef[0] = -0.5; /* |root| = 2^(1/7) = 1.104 */
	T_EQ_INT(aq_arima_roots_ok(&m, 1.01), 1);
	T_EQ_INT(aq_arima_roots_ok(&m, 1.2), 0);
	coef[0] = NAN;
	T_EQ_INT(aq_arima_roots_ok(&m, 1.01), 0);
}

/* One workspace across growing and shrinking orders gives the same fits as fresh ones. */
static void test_workspace_reuse(void)
{
	int n = 300;
	double *y = sim111(n);
	struct aq_arima_spec specs[3] = {{2, 1, 1, 1, 0, 1, 7, 1}, {0, 1, 1, 0, 0, 0, 0, 1}, {1, 1, 1, 1, 0, 0, 7, 0}};
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_err e = {0};
	for (int rep = 0; rep < 2; rep++)
		for (int i = 0; i < 3; i++) {
			struct aq_arima_model a, b;
			aq_arima_model_init(&a);
			aq_arima_model_init(&b);
			struct aq_arima_ws *fresh = aq_arima_ws_new();
			int r1 = aq_arima_fit(y, n, &specs[i], NULL, &a, ws, &e);
			int r2 = aq_arima_fit(y, n, &specs[i], NULL, &b, fresh, &e);
			T_EQ_INT(r1, r2);
			if (!r1) {
				T_CHECK(a.loglik == b.loglik);
				for (int j = 0; j < a.ncoef; j++) T_CHECK(a.coef[j] == b.coef[j]);
			}
			aq_arima_model_release(&a);
			aq_arima_model_release(&b);
			aq_arima_ws_free(fresh);
		}
	aq_arima_ws_free(ws);
	free(y);
}

/* CSS of an AR(1) with mean: the plain residual sum of squares. */
static void test_css_formula(void)
{
	int n = 200;
	double *y = malloc(sizeof(double) * n), x = 0;
	for (int t = 0; t < n; t++) {
		x = 0.7 * x + t_gauss();
		y[t] = 5 + x;
	}
	struct aq_arima_spec s = {1, 0, 0, 0, 0, 0, 0, 1};
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_err e = {0};
	double coef[2] = {0.65, 4.9}, s2, ssq = 0;
	int nu = 0;
	T_OK(aq_arima_css(y, n, &s, coef, &s2, &nu, ws, &e));
	for (int t = 1; t < n; t++) {
		double r = (y[t] - 4.9) - 0.65 * (y[t - 1] - 4.9);
		ssq += r * r;
	}
	T_EQ_INT(nu, n - 1);
	T_RNEAR(s2, ssq / (n - 1), 1e-12);
	aq_arima_ws_free(ws);
	free(y);
}

/* vcov: symmetric, positive diagonal, close to the inverse information of an AR(1): (1 - phi^2) / n. */
static void test_vcov(void)
{
	int n = 2000;
	double *y = malloc(sizeof(double) * n), x = 0;
	for (int t = 0; t < n; t++) {
		x = 0.5 * x + t_gauss();
		y[t] = x;
	}
	struct aq_arima_spec s = {1, 0, 0, 0, 0, 0, 0, 0};
	struct aq_arima_fit_opts o = {.want_vcov = 1};
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_arima_model m;
	struct aq_err e = {0};
	aq_arima_model_init(&m);
	T_OK(aq_arima_fit(y, n, &s, &o, &m, ws, &e));
	T_ASSERT(m.vcov != NULL);
	double phi = m.coef[0];
	T_RNEAR(m.vcov[0], (1 - phi * phi) / n, 0.02 * (1 - phi * phi) / n);
	aq_arima_model_release(&m);
	aq_arima_ws_free(ws);
	free(y);
}

/*
 * css_unit_ma_stop: a CSS fit crawling across the unit circle (an
 * over-differenced white noise as ARIMA(0,1,2): a root beyond 1) is stopped and
 * still rejected at 1.01, as without the stop; a fit that stays clear of the
 * circle (ARMA(1,1), theta 0.3) is the same with and without it.
 */
static void test_css_unit_stop(void)
{
	int n = 400, crawled = 0;
	double *y = malloc(sizeof(double) * n), x = 0, e0 = 0;
	struct aq_arima_spec s = {0, 1, 2, 0, 0, 0, 0, 0};
	struct aq_arima_fit_opts o = {.method = AQ_ARIMA_CSS, .css_rtol = 1e-8, .css_max_iter = 100, .no_state = 1};
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_arima_model a, b;
	struct aq_err e = {0};
	aq_arima_model_init(&a);
	aq_arima_model_init(&b);
	/* white noise differenced: some samples take the CSS across the circle */
	for (int trial = 0; trial < 40; trial++) {
		for (int t = 0; t < n; t++)
			y[t] = 3 + t_gauss();
		o.css_unit_ma_stop = 0;
		T_OK(aq_arima_fit(y, n, &s, &o, &a, ws, &e));
		if (aq_arima_roots_ok(&a, 1.01))
			continue;
		crawled++;
		o.css_unit_ma_stop = 12;
		T_OK(aq_arima_fit(y, n, &s, &o, &b, ws, &e));
		T_CHECK(!aq_arima_roots_ok(&b, 1.01));
	}
	T_CHECK(crawled > 0);
	o.css_unit_ma_stop = 0;
	for (int t = 0; t < n; t++) {
		double eps = t_gauss();
		x = 0.6 * x + eps + 0.3 * e0;
		e0 = eps;
		y[t] = x;
	}
	struct aq_arima_spec s2 = {1, 0, 1, 0, 0, 0, 0, 0};
	o.css_unit_ma_stop = 0;
	T_OK(aq_arima_fit(y, n, &s2, &o, &a, ws, &e));
	o.css_unit_ma_stop = 12;
	T_OK(aq_arima_fit(y, n, &s2, &o, &b, ws, &e));
	T_CHECK(aq_arima_roots_ok(&b, 1.01));
	for (int i = 0; i < a.ncoef; i++)
		T_NEAR(b.coef[i], a.coef[i], 1e-12);
	aq_arima_model_release(&a);
	aq_arima_model_release(&b);
	aq_arima_ws_free(ws);
	free(y);
}

int main(void)
{
	T_RUN(test_qnorm);
	T_RUN(test_spec_and_ncoef);
	T_RUN(test_robustness);
	T_RUN(test_update_missing_identity);
	T_RUN(test_forecast_total_vs_simulation);
	T_RUN(test_roots);
	T_RUN(test_workspace_reuse);
	T_RUN(test_css_formula);
	T_RUN(test_vcov);
	T_RUN(test_css_unit_stop);
	T_DONE();
}
