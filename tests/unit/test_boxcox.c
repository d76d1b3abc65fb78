/* test_boxcox.c — the transform's round trip and missing values, bias adjustment, Guerrero's lambda against R, totals against simulation. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_RNG_SEED 88172645463325252ULL
#include "boxcox.h"
#include "test.h"

/* g^-1(g(x)) = x for zero days, small and large values; NaN (missing) stays NaN; none is the identity. */
static void test_round_trip_and_missing(void)
{
	struct aq_bc bs[4] = { { 0, 1 }, { 0.5, 0 }, { 0.31, 0.05 }, { 1, 0 } };
	double x[7] = { 0, 1e-6, 0.2, 1, 37.5, 1e4, NAN };
	for (int k = 0; k < 4; k++) {
		double z[7];
		aq_bc_apply(&bs[k], x, 7, z);
		for (int i = 0; i < 6; i++) {
			T_CHECK(isfinite(z[i]));
			T_RNEAR(aq_bc_inv(&bs[k], z[i]), x[i], 1e-12);
			T_RNEAR(aq_bc_median(&bs[k], z[i]), x[i], 1e-12);
		}
		T_CHECK(isnan(z[6]));
	}
	/* log1p is log(1 + x); R's BoxCox(x + 1, 0) */
	struct aq_bc l1 = aq_bc_auto(AQ_BC_RULE_LOG1P, x, 7, 7);
	T_NEAR(l1.lambda, 0, 0);
	T_NEAR(l1.shift, 1, 0);
	T_NEAR(aq_bc_fwd(&l1, 0.2), log1p(0.2), 1e-15);
	char buf[64];
	T_CHECK(strcmp(aq_bc_str(&l1, buf, sizeof buf), "log1p") == 0);
	/* a value without a transform (x + c <= 0) is missing, never -Inf */
	struct aq_bc lg = { 0, 0 };
	T_CHECK(isnan(aq_bc_fwd(&lg, 0)));
	T_CHECK(isnan(aq_bc_fwd(&lg, -1)));
	/* none: identity, in place too */
	struct aq_bc no = aq_bc_none();
	double y[3] = { 1, NAN, -2 };
	aq_bc_apply(&no, y, 3, y);
	T_NEAR(y[0], 1, 0);
	T_CHECK(isnan(y[1]));
	T_NEAR(aq_bc_inv(&no, -2), -2, 0);
	T_CHECK(!aq_bc_active(&no));
	/* below the range of a power transform: the lowest value (0 after the shift), clipped at 0 */
	struct aq_bc half = { 0.5, 0 };
	T_NEAR(aq_bc_median(&half, -5), 0, 0);
	int rule;
	T_OK(aq_bc_rule_parse("auto", &rule));
	T_EQ_INT(rule, AQ_BC_RULE_AUTO);
	T_CHECK(aq_bc_rule_parse("sqrt", &rule) == AQ_EINVAL);
}

/* The bias-adjusted mean is FPP3 5.6's (R's InvBoxCox(biasadj = TRUE)); close to the exact lognormal mean for small v. */
static void test_bias_adjustment(void)
{
	struct aq_bc l1 = { 0, 1 };
	double mu = 1.3, v = 0.04;
	T_RNEAR(aq_bc_mean(&l1, mu, v), exp(mu) * (1 + v / 2) - 1, 1e-14);
	T_RNEAR(aq_bc_mean(&l1, mu, v), exp(mu + v / 2) - 1, 5e-4);
	struct aq_bc b = { 0.4, 0 };
	double w = pow(0.4 * mu + 1, 1 / 0.4);
	T_RNEAR(aq_bc_mean(&b, mu, v), w * (1 + v * 0.6 / (2 * pow(w, 0.8))), 1e-14);
	/* Monte Carlo of the power transform: the Taylor mean within 0.5 % at v = 0.04 */
	double s = 0;
	int n = 200000;
	for (int i = 0; i < n; i++)
		s += aq_bc_inv(&b, mu + sqrt(v) * t_gauss());
	T_RNEAR(aq_bc_mean(&b, mu, v), s / n, 5e-3);
	T_CHECK(aq_bc_mean(&b, mu, v) > aq_bc_median(&b, mu));
	/* the derivative of the inverse */
	double h = 1e-6;
	T_RNEAR(aq_bc_dinv(&b, mu), (aq_bc_inv(&b, mu + h) - aq_bc_inv(&b, mu - h)) / (2 * h), 1e-7);
}

/*
 * Guerrero's lambda against R 4 forecast::BoxCox.lambda(ts(x, frequency = 7)) on two fixed series
 * (values printed by R; R's optimize() is Brent, ours golden section, both to ~1e-4).
 */
static void test_guerrero_vs_r(void)
{
	enum { N = 140 };
	double x[N], x2[N];
	for (int t = 0; t < N; t++) {
		x[t] = (1 + t % 7) * (1 + t / 50.0) + 0.3 * sin(t * 1.7);
		x2[t] = exp(0.02 * t + 0.5 * sin(t * 0.9));
	}
	T_NEAR(aq_bc_guerrero(x, N, 7, -1, 2), 0.04287090665, 2e-3);
	T_NEAR(aq_bc_guerrero(x2, N, 7, -1, 2), 0.006707157633, 2e-3);
	T_NEAR(aq_bc_guerrero(x2, N, 7, 0, 1), 0.006693521188, 2e-3);
	/* missing days are skipped inside a block; too few blocks: NaN */
	x2[30] = x2[31] = NAN;
	T_CHECK(isfinite(aq_bc_guerrero(x2, N, 7, 0, 1)));
	T_CHECK(isnan(aq_bc_guerrero(x2, 20, 7, 0, 1)));
	/* auto: shift mean/10, lambda in [0, 1]; all zero: none */
	struct aq_bc a = aq_bc_auto(AQ_BC_RULE_AUTO, x, N, 7);
	T_CHECK(aq_bc_active(&a) && a.lambda >= 0 && a.lambda <= 1 && a.shift > 0);
	double zero[N] = { 0 };
	struct aq_bc z = aq_bc_auto(AQ_BC_RULE_AUTO, zero, N, 7);
	T_CHECK(!aq_bc_active(&z));
}

/* Back-transformed daily quantiles are exact: P(x < lo80) = 0.10 by simulation. */
static void test_path_quantiles(void)
{
	struct aq_bc b = { 0, 1 };
	double mu[2] = { 0.5, 2 }, sd[2] = { 0.3, 0.8 }, buf[10];
	struct aq_path p = { buf, buf + 2, buf + 4, buf + 6, buf + 8 };
	aq_bc_path(&b, mu, sd, 2, 0, &p);
	T_RNEAR(p.mean[1], exp(2) - 1, 1e-14);
	T_RNEAR(p.hi95[1], exp(2 + 1.959963984540054 * 0.8) - 1, 1e-12);
	int below = 0, n = 100000;
	for (int i = 0; i < n; i++)
		below += exp(mu[1] + sd[1] * t_gauss()) - 1 < p.lo80[1];
	T_NEAR(below / (double)n, 0.10, 0.005);
	double nan_sd[2] = { NAN, NAN };
	aq_bc_path(&b, mu, nan_sd, 2, 1, &p);
	T_CHECK(isnan(p.lo95[0]) && isfinite(p.mean[0]));
}

/*
 * A 30-day total of an AR(1) on log1p scale (phi 0.7, sigma 0.2) and on a power scale (lambda 0.5):
 * aq_bc_total's mean, sd and interval against 40,000 simulated paths with the same psi weights.
 */
static void total_vs_sim(struct aq_bc b, double sigma, double level, double sd_tol)
{
	enum { H = 30, NS = 40000 };
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	double coef[1] = { 0.7 };
	m.spec = (struct aq_arima_spec){ 1, 0, 0, 0, 0, 0, 0, 0 };
	m.ncoef = 1;
	m.coef = coef;
	m.sigma2 = sigma * sigma;
	double mu[H], sd[H], v = 0, psi = 1;
	for (int i = 0; i < H; i++) {
		mu[i] = level + 0.01 * i;
		v += psi * psi;
		psi *= 0.7;
		sd[i] = sigma * sqrt(v);
	}
	double tot[5], sde;
	struct aq_err e = { 0 };
	T_OK(aq_bc_total(&b, &m, mu, sd, 0, H, tot, &sde, NULL, &e));
	double s = 0, ss = 0;
	int lo80 = 0, hi95 = 0;
	for (int k = 0; k < NS; k++) {
		double ee = 0, T = 0;
		for (int i = 0; i < H; i++) {
			ee = 0.7 * ee + sigma * t_gauss();
			T += aq_bc_inv(&b, mu[i] + ee);
		}
		s += T;
		ss += T * T;
		lo80 += T < tot[1];
		hi95 += T > tot[4];
	}
	double mean = s / NS, sdv = sqrt(ss / NS - mean * mean);
	T_RNEAR(tot[0], mean, 0.01);
	T_RNEAR(sde, sdv, sd_tol);
	T_NEAR(lo80 / (double)NS, 0.10, 0.015);
	T_NEAR(hi95 / (double)NS, 0.025, 0.008);
	/* a later period [10, 30) */
	T_OK(aq_bc_total(&b, &m, mu, sd, 10, H, tot, &sde, NULL, &e));
	T_CHECK(tot[0] > 0 && tot[3] < tot[0] && tot[0] < tot[4]);
	T_CHECK(aq_bc_total(&b, &m, mu, sd, 5, 5, tot, &sde, NULL, &e) == AQ_EINVAL);
}

static void test_total_vs_simulation(void)
{
	total_vs_sim((struct aq_bc){ 0, 1 }, 0.2, 1.0, 0.02);   /* lognormal covariance: exact */
	total_vs_sim((struct aq_bc){ 0.5, 0 }, 0.2, 2.0, 0.03); /* delta method */
}

int main(void)
{
	T_RUN(test_round_trip_and_missing);
	T_RUN(test_bias_adjustment);
	T_RUN(test_guerrero_vs_r);
	T_RUN(test_path_quantiles);
	T_RUN(test_total_vs_simulation);
	T_DONE();
}
