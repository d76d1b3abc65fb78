/* test_evaluate.c — backtest, choice, new-data scoring, anomalies and the champion/challenger gate on hand-made series. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arima.h"
#include "evalmodel.h"
#include "evaluate.h"
#include "test.h"

/* A stand-in model: forecasts the mean of the last 7 known days, sd 0.1; counts calls. */
struct fake { int calls; double fixed; };

static int fake_forecast(void *ctx, const double *y, size_t origin, int h, double *mean, double *sd,
			 struct aq_err *e)
{
	struct fake *f = ctx;
	f->calls++;
	double s = 0;
	int k = 0;
	for (size_t i = origin >= 7 ? origin - 7 : 0; i < origin; i++)
		if (!isnan(y[i])) {
			s += y[i];
			k++;
		}
	if (!k)
		return aq_err_set(e, AQ_ENUMERIC, "no data");
	for (int i = 0; i < h; i++) {
		mean[i] = isnan(f->fixed) ? s / k : f->fixed;
		sd[i] = 0.1;
	}
	return 0;
}

/* weekly pattern 1,1,1,1,1,3,3 (weekend use): snaive7 is exact, everything else is not */
static double weekly(size_t t)
{
	return (t % 7) >= 5 ? 3.0 : 1.0;
}

static void test_weekly_pattern_serves_snaive(void)
{
	size_t n = 300, nt = 270;
	double *y = malloc(n * sizeof(*y));
	for (size_t t = 0; t < n; t++)
		y[t] = weekly(t);
	struct fake f = {0, NAN};
	struct aq_eval_model m = {fake_forecast, &f, NULL};
	struct aq_eval_opts o;
	aq_eval_opts_default(&o);
	struct aq_eval_ws ws;
	aq_eval_ws_init(&ws);
	struct aq_eval_result r = {.account = 42};
	T_OK(aq_eval_account(y, y, n, nt, &m, &o, &ws, &r, NULL));
	T_EQ_INT(r.account, 42);
	T_EQ_INT(r.status, AQ_EVAL_OK);
	T_EQ_INT(r.windows, 4);
	T_EQ_INT(r.served, AQ_FC_SNAIVE7);
	T_EQ_INT(r.combo_ref, AQ_REF_SNAIVE7);
	T_NEAR(r.backtest[AQ_FC_SNAIVE7].mae, 0.0, 1e-15);
	T_EQ_INT(r.backtest[AQ_FC_SNAIVE7].n, 120);
	T_NEAR(r.served_margin, 1.0, 1e-15);      /* runner-up has MAE > 0 */
	/* scale: |y_t - y_{t-7}| = 0 everywhere -> MASE undefined, not 0 */
	T_CHECK(r.scale == 0.0);
	T_CHECK(isnan(r.newdata[AQ_FC_SNAIVE7].mase));
	T_EQ_INT(r.newdata[AQ_FC_MEDIAN28].n, 30);
	/* median28 of the pattern = 1: errors 2 on the weekend days of the 30 new days */
	int wk = 0;
	for (size_t t = nt; t < n; t++)
		wk += weekly(t) > 2;
	T_NEAR(r.newdata[AQ_FC_MEDIAN28].mae, 2.0 * wk / 30.0, 1e-12);
	T_NEAR(r.newdata[AQ_FC_MEDIAN28].bias, -2.0 * wk / 30.0, 1e-12);
	T_CHECK(f.calls >= 5);                    /* 4 windows + new data (+ anomaly) */
	T_EQ_INT(r.anomaly.kind, AQ_ANOM_NONE);
	/* a recorded combination reference is kept: arima (the 7-day mean, 11/7) averaged with mean28 */
	o.combo_ref = AQ_REF_MEAN28;
	T_OK(aq_eval_account(y, y, n, nt, &m, &o, &ws, &r, NULL));
	T_EQ_INT(r.combo_ref, AQ_REF_MEAN28);
	double lvl = 0;
	for (size_t t = nt - 28; t < nt; t++)
		lvl += y[t] / 28.0;
	double cm = 0.5 * (11.0 / 7.0 + lvl), mae = 0;
	for (size_t t = nt; t < n; t++)
		mae += fabs(y[t] - cm) / 30.0;
	T_NEAR(r.newdata[AQ_FC_COMBO].mae, mae, 1e-12);
	aq_eval_ws_release(&ws);
	free(y);
}

static void test_no_new_data(void)
{
	size_t n = 200;
	double *y = malloc(n * sizeof(*y));
	for (size_t t = 0; t < n; t++)
		y[t] = 1.0 + 0.5 * sin((double)t);
	double *a = malloc(n * sizeof(*a));
	memcpy(a, y, n * sizeof(*a));
	for (size_t t = 180; t < n; t++)
		a[t] = NAN;  /* days arrived but all missing */
	struct fake f = {0, NAN};
	struct aq_eval_model m = {fake_forecast, &f, NULL};
	struct aq_eval_ws ws;
	aq_eval_ws_init(&ws);
	struct aq_eval_result r = {0};
	T_OK(aq_eval_account(y, y, n, n, &m, NULL, &ws, &r, NULL));
	T_EQ_INT(r.status, AQ_EVAL_NO_NEW_DATA);
	T_EQ_INT(r.newdata[AQ_FC_ARIMA].n, 0);
	T_CHECK(isnan(r.newdata[AQ_FC_ARIMA].mase));
	T_OK(aq_eval_account(y, a, n, 180, &m, NULL, &ws, &r, NULL));
	T_EQ_INT(r.status, AQ_EVAL_NO_NEW_DATA);
	aq_eval_ws_release(&ws);
	free(y);
	free(a);
}

static void test_failing_model_and_short_history(void)
{
	/* 40 days only: no backtest window fits (origins need 28 days), the model fails */
	size_t n = 40;
	double y[40];
	for (size_t t = 0; t < n; t++)
		y[t] = (double)(t % 3);
	struct fake f = {0, NAN};
	struct aq_eval_model m = {fake_forecast, &f, NULL};
	struct aq_eval_model broken = {NULL, NULL, NULL};
	struct aq_eval_ws ws;
	aq_eval_ws_init(&ws);
	struct aq_eval_result r = {0};
	T_OK(aq_eval_account(y, y, n, 35, &broken, NULL, &ws, &r, NULL));
	T_EQ_INT(r.windows, 0);
	T_EQ_INT(r.served, AQ_FC_ENSEMBLE);     /* no evidence: the robust default */
	T_CHECK(isnan(r.served_margin));
	T_CHECK(r.arima_failures >= 1);
	T_EQ_INT(r.newdata[AQ_FC_ARIMA].n, 0);
	T_EQ_INT(r.newdata[AQ_FC_MEDIAN28].n, 5);
	T_EQ_INT(r.status, AQ_EVAL_OK);
	struct aq_err e = {0};
	T_EQ_INT(aq_eval_account(y, y, n, 41, &m, NULL, &ws, &r, &e), AQ_EINVAL);
	aq_eval_ws_release(&ws);
}

static void test_arima_wins_on_a_level_change(void)
{
	/* a level that moves every 10 days: the 7-day mean tracks it, the 28-day references lag */
	size_t n = 400;
	double *y = malloc(n * sizeof(*y));
	for (size_t t = 0; t < n; t++)
		y[t] = (double)((t / 10) % 5);
	struct fake f = {0, NAN};
	struct aq_eval_model m = {fake_forecast, &f, NULL};
	struct aq_eval_opts o;
	aq_eval_opts_default(&o);
	o.horizon = 3;
	o.windows = AQ_EVAL_MAXWIN;
	struct aq_eval_ws ws;
	aq_eval_ws_init(&ws);
	struct aq_eval_result r = {0};
	T_OK(aq_eval_account(y, y, n, 370, &m, &o, &ws, &r, NULL));
	T_EQ_INT(r.windows, AQ_EVAL_MAXWIN);
	o.windows = AQ_EVAL_MAXWIN + 1;
	T_EQ_INT(aq_eval_account(y, y, n, 370, &m, &o, &ws, &r, NULL), AQ_EINVAL);
	double ma = r.backtest[AQ_FC_ARIMA].mae;
	for (int fc = 1; fc < AQ_FC_N; fc++)
		if (fc != AQ_FC_COMBO)
			T_CHECK(ma < r.backtest[fc].mae);
	T_CHECK(r.served == AQ_FC_ARIMA || r.served == AQ_FC_COMBO);
	T_CHECK(r.served_margin > 0 && r.served_margin < 1);
	aq_eval_ws_release(&ws);
	free(y);
}

static double noise(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) & 0xffff) / 65536.0;
}

static void test_anomalies(void)
{
	size_t n = 200, nt = 170;
	double *y = malloc(n * sizeof(*y)), *a = malloc(n * sizeof(*a));
	unsigned s = 7;
	for (size_t t = 0; t < n; t++)
		y[t] = 0.3 + 0.2 * noise(&s);
	struct fake f = {0, NAN};
	struct aq_eval_model m = {fake_forecast, &f, NULL};
	struct aq_eval_ws ws;
	aq_eval_ws_init(&ws);
	struct aq_eval_result r = {0};
	/* leak: +0.6 m3/day over the last 20 days */
	memcpy(a, y, n * sizeof(*a));
	for (size_t t = 180; t < n; t++)
		a[t] += 0.6;
	T_OK(aq_eval_account(y, a, n, nt, &m, NULL, &ws, &r, NULL));
	T_EQ_INT(r.anomaly.kind, AQ_ANOM_LEVEL_UP);
	/* the window is 7, 14 or 21 days (the leak began 20 days before the end), all inside the leak */
	T_CHECK(r.anomaly.start >= 179 && (n - (size_t)r.anomaly.start) % 7 == 0);
	T_EQ_INT(r.anomaly_origin, r.anomaly.start);
	T_EQ_INT(r.anomaly.examined, (int)(n - (size_t)r.anomaly.start));
	T_CHECK(r.anomaly.outside >= r.anomaly.examined - 2);
	T_CHECK(r.anomaly.magnitude > 0.45 && r.anomaly.magnitude < 0.7);
	T_CHECK(r.anomaly.z >= 4.5 && r.anomaly.baseline > 0.3 && r.anomaly.baseline < 0.5);
	/* a leak that was repaired 5 days before the end: not flagged */
	for (size_t t = 195; t < n; t++)
		a[t] -= 0.6;
	T_OK(aq_eval_account(y, a, n, nt, &m, NULL, &ws, &r, NULL));
	T_EQ_INT(r.anomaly.kind, AQ_ANOM_NONE);
	/* stuck meter at zero for 16 days */
	memcpy(a, y, n * sizeof(*a));
	for (size_t t = 184; t < n; t++)
		a[t] = 0.0;
	T_OK(aq_eval_account(y, a, n, nt, &m, NULL, &ws, &r, NULL));
	T_EQ_INT(r.anomaly.kind, AQ_ANOM_FLAT);
	T_NEAR(r.anomaly.magnitude, 0.0, 0);
	/* 13 zero days are not enough */
	for (size_t t = 184; t < 187; t++)
		a[t] = y[t];
	T_OK(aq_eval_account(y, a, n, nt, &m, NULL, &ws, &r, NULL));
	T_CHECK(r.anomaly.kind != AQ_ANOM_FLAT);
	/* a vacant premise (zeros all along) is not a stuck meter */
	for (size_t t = 0; t < n; t++)
		y[t] = a[t] = 0.0;
	T_OK(aq_eval_account(y, a, n, nt, &m, NULL, &ws, &r, NULL));
	T_EQ_INT(r.anomaly.kind, AQ_ANOM_NONE);
	aq_eval_ws_release(&ws);
	free(y);
	free(a);
}

static void test_served_names(void)
{
	char buf[32];
	int fc, ref;
	for (int f = 0; f < AQ_FC_N; f++)
		for (int q = 0; q < AQ_REF_N; q++) {
			T_OK(aq_served_parse(aq_served_str(f, q, buf, sizeof(buf)), &fc, &ref));
			T_EQ_INT(fc, f);
			if (f == AQ_FC_COMBO)
				T_EQ_INT(ref, q);
		}
	T_CHECK(strcmp(aq_served_str(AQ_FC_COMBO, AQ_REF_MEAN28, buf, sizeof(buf)), "arima+mean28") == 0);
	T_EQ_INT(aq_served_parse("arima+ets", &fc, &ref), AQ_EINVAL);
	T_EQ_INT(aq_served_parse("prophet", &fc, &ref), AQ_EINVAL);
	T_OK(aq_served_parse("", &fc, &ref));
	T_EQ_INT(fc, AQ_FC_ARIMA);
}

static void test_served_forecast_combo(void)
{
	double y[28], am[3] = {2, 2, 2}, asd[3] = {0, 0, 0}, m[3], l8[3], h8[3], l9[3], h9[3];
	for (int i = 0; i < 28; i++)
		y[i] = 1.0;
	struct aq_path p = {m, l8, h8, l9, h9};
	T_OK(aq_served_forecast(AQ_FC_COMBO, AQ_REF_MEDIAN28, y, 28, 3, am, asd, &p, NULL));
	T_NEAR(m[2], 1.5, 1e-15);
	T_NEAR(h9[0], 1.5, 1e-15);
	T_OK(aq_served_forecast(AQ_FC_MEAN28, 0, y, 28, 3, NULL, NULL, &p, NULL));
	T_NEAR(m[0], 1.0, 0);
	T_EQ_INT(aq_served_forecast(AQ_FC_ARIMA, 0, y, 28, 3, NULL, NULL, &p, NULL), AQ_EINVAL);
}

static void test_gate(void)
{
	struct aq_gate_account a[4];
	aq_gate_account_decide(1.0, 0.97, NULL, &a[0]);   /* 3% better: replace */
	T_CHECK(a[0].compared && a[0].replace && !a[0].worse);
	aq_gate_account_decide(1.0, 0.99, NULL, &a[1]);   /* 1%: within the 2% margin, keep */
	T_CHECK(a[1].compared && !a[1].replace && !a[1].worse);
	aq_gate_account_decide(1.0, 1.06, NULL, &a[2]);   /* 6% worse */
	T_CHECK(a[2].worse && !a[2].replace);
	aq_gate_account_decide(NAN, 1.0, NULL, &a[3]);    /* not compared */
	T_CHECK(!a[3].compared);
	double ch[4] = {1.0, 1.0, 1.0, NAN}, cl[4] = {0.97, 0.99, 1.06, 0.5};
	struct aq_gate g;
	aq_gate_decide(ch, cl, a, 4, NULL, &g);
	T_EQ_INT(g.compared, 3);
	T_EQ_INT(g.replace, 1);
	T_EQ_INT(g.worse, 1);
	T_NEAR(g.champion_mase_mean, 1.0, 1e-15);
	T_NEAR(g.challenger_mase_mean, (0.97 + 0.99 + 1.06) / 3, 1e-15);
	T_CHECK(!g.agg_ok);           /* 1.0067 > 1.0 */
	T_CHECK(g.share_ok);          /* 1/3 <= 0.35 */
	T_CHECK(!g.promoted);
	struct aq_gate_opts o;
	aq_gate_opts_default(&o);
	o.agg_tolerance = 0.01;
	aq_gate_decide(ch, cl, a, 4, &o, &g);
	T_CHECK(g.promoted);
	o.max_worse_share = 0.3;
	aq_gate_decide(ch, cl, a, 4, &o, &g);
	T_CHECK(!g.share_ok && !g.promoted);
	aq_gate_decide(ch, cl, a + 3, 1, NULL, &g);   /* nothing compared: not promoted */
	T_CHECK(!g.promoted);
}

/* aq_arima_state_reset + update over the whole series gives the fit's own state:
   the same forecast as the fitted model (the fit's final pass is the oracle). */
static void test_arima_state_reset(void)
{
	enum { N = 200, H = 14 };
	double y[N];
	unsigned s = 12345;
	double prev = 0;
	for (int t = 0; t < N; t++) {
		s = s * 1103515245u + 12345u;
		double u = ((s >> 8) & 0xffff) / 65536.0 - 0.5;
		prev = 0.6 * prev + u;
		y[t] = 10 + prev + ((t % 7) >= 5 ? 2.0 : 0.0);
	}
	y[50] = NAN;
	struct aq_arima_spec sp = { .p = 1, .d = 0, .q = 1, .P = 1, .D = 1, .Q = 0, .s = 7, .constant = 1 };
	struct aq_arima_fit_opts fo = { .method = AQ_ARIMA_CSS_ML, .max_iter = 100, .reltol = 1.5e-8 };
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_arima_model m, c;
	struct aq_err e = { 0 };
	aq_arima_model_init(&m);
	aq_arima_model_init(&c);
	T_ASSERT(ws);
	T_OK(aq_arima_fit(y, N, &sp, &fo, &m, ws, &e));
	T_OK(aq_arima_model_copy(&c, &m, &e));
	T_OK(aq_arima_state_reset(&c, &e));
	T_EQ_INT(c.state.t, 0);
	T_OK(aq_arima_update(&c, y, N, &e));
	double m1[H], s1[H], m2[H], s2[H];
	T_OK(aq_arima_forecast(&m, H, m1, s1, &e));
	T_OK(aq_arima_forecast(&c, H, m2, s2, &e));
	for (int i = 0; i < H; i++) {
		T_RNEAR(m2[i], m1[i], 1e-6);
		T_RNEAR(s2[i], s1[i], 1e-6);
	}
	/* a model without a state gets one */
	free(c.state.v);
	c.state.v = NULL;
	c.state.len = 0;
	T_OK(aq_arima_state_reset(&c, &e));
	T_CHECK(c.state.v && c.state.len > 0);
	aq_arima_model_release(&m);
	aq_arima_model_release(&c);
	aq_arima_ws_free(ws);
}

/* The innovations path (default) against the exact Kalman filter from day 0 at earlier origins,
   and both against the fit's stored state at the training end (aq_arima_forecast). */
static void innovations_vs_kalman(int k_innov)
{
	enum { N = 320, H = 30 };
	double y[N];
	unsigned s = 777;
	double prev = 0;
	for (int t = 0; t < N; t++) {
		s = s * 1103515245u + 12345u;
		double u = ((s >> 8) & 0xffff) / 65536.0 - 0.5;
		prev = 0.5 * prev + u;
		y[t] = 5 + 0.01 * t + prev + ((t % 7) >= 5 ? 1.5 : 0.0);
		/* stochastic weekly pattern (a seasonal random walk): seasonal MA well inside the unit circle */
		if (k_innov)
			y[t] = (t >= 7 ? y[t - 7] - 5 : 0.0) * 0.98 + 5 + u + 0.3 * prev;
	}
	y[40] = y[41] = y[200] = NAN;
	struct aq_arima_spec specs[3] = {
		{.p = 1, .d = 0, .q = 1, .P = 1, .D = 1, .Q = 1, .s = 7, .constant = 1},
		{.p = 1, .d = 1, .q = 1, .P = 0, .D = 0, .Q = 1, .s = 7, .constant = 1},
		{.p = 2, .d = 0, .q = 0, .P = 1, .D = 0, .Q = 0, .s = 7, .constant = 1},
	};
	struct aq_arima_ws *ws = aq_arima_ws_new();
	T_ASSERT(ws);
	for (int k = 0; k < 3; k++) {
		struct aq_arima_fit_opts fo = { .method = AQ_ARIMA_CSS_ML, .max_iter = 100, .reltol = 1.5e-8 };
		struct aq_arima_model m;
		struct aq_err e = { 0 };
		aq_arima_model_init(&m);
		T_OK(aq_arima_fit(y, N, &specs[k], &fo, &m, ws, &e));
		struct aq_evmodel fast, ex;
		T_OK(aq_evmodel_from_arima(&fast, &m, N, 0, NULL, &e));
		T_OK(aq_evmodel_from_arima(&ex, &m, N, 0, NULL, &e));
		ex.kalman = 1;   /* exact: from day 0, as the fallback here */
		ex.warmup = fast.warmup = 0;
		size_t origins[4] = {200, 230, 260, 290};
		double worst = 0;
		for (int i = 0; i < 4; i++) {
			double m1[H], s1[H], m2[H], s2[H];
			T_OK(aq_evmodel_forecast(&fast, y, origins[i], H, m1, s1, &e));
			T_OK(aq_evmodel_forecast(&ex, y, origins[i], H, m2, s2, &e));
			for (int j = 0; j < H; j++)
				worst = fmax(worst, fmax(fabs(m1[j] - m2[j]), fabs(s1[j] - s2[j])) / s2[j]);
		}
		/* where used, the start transient is below AQ_EVMODEL_INNOV_TOL innovation sds; a missing day
		   filled by its prediction (steady-state gain, not the Kalman's larger one after the gap)
		   leaves a transient of its own: 0.056 sd here, 30 days after a gap, MA roots ~0.97 */
		if (!(worst < 0.1))
			T_FAIL("model %d: innovations vs kalman differ by %.3g forecast sd", k, worst);
		double d1 = NAN;
		T_OK(aq_evmodel_selfcheck(&fast, y, &d1, &e));
		/* pure AR: the recursion, exact; an MA root at -1 (a deterministic weekly pattern
		   seasonally differenced): the Kalman fallback for the backtest origins */
		int unit_ma = 0;
		for (int c = specs[k].p; c < specs[k].p + specs[k].q; c++)
			unit_ma |= m.coef[c] < -0.999;
		for (int c = specs[k].p + specs[k].q + specs[k].P; c < m.ncoef - 1; c++)
			unit_ma |= m.coef[c] < -0.999;
		if (k == 2) {
			T_EQ_INT(fast.in.used, 5);
			T_CHECK(worst < 1e-10);   /* pure AR: the recursion is the Kalman filter */
		}
		if (unit_ma)
			T_CHECK(fast.in.fallbacks >= 4);
		aq_evmodel_release(&fast);
		aq_evmodel_release(&ex);
		aq_arima_model_release(&m);
	}
	aq_arima_ws_free(ws);
}

static void test_innovations_vs_kalman(void)
{
	innovations_vs_kalman(0);
	innovations_vs_kalman(1);
}

/* Ensemble by hand: spikes of 9 every 7th day over 1s; arima says 5 (negative arima clipped at 0). */
static void test_ensemble_by_hand(void)
{
	double y[28], am[7], asd[7], m[7], l8[7], h8[7], l9[7], h9[7];
	for (int i = 0; i < 28; i++)
		y[i] = i % 7 == 6 ? 9.0 : 1.0;
	for (int i = 0; i < 7; i++) {
		am[i] = 5.0;
		asd[i] = 1.0;
	}
	struct aq_path p = {m, l8, h8, l9, h9};
	T_OK(aq_served_forecast(AQ_FC_ENSEMBLE, 0, y, 28, 7, am, asd, &p, NULL));
	double mean28 = (24 * 1.0 + 4 * 9.0) / 28;
	/* day 6 (spike weekday): {5, snaive 9, mean28, median28 1} -> (mean28 + 5) / 2; else {5, 1, mean28, 1} */
	T_NEAR(m[6], (mean28 + 5) / 2, 1e-12);
	T_NEAR(m[0], (1 + mean28) / 2, 1e-12);
	for (int i = 0; i < 7; i++)
		T_CHECK(l9[i] <= l8[i] && l8[i] <= m[i] && m[i] <= h8[i] && h8[i] <= h9[i]);
	for (int i = 0; i < 7; i++)
		am[i] = -50.0;   /* arima far below: clipped to 0, the median still from the references */
	T_OK(aq_served_forecast(AQ_FC_ARIMA, 0, y, 28, 7, am, asd, &p, NULL));
	T_NEAR(m[0], 0.0, 0);
	T_OK(aq_served_forecast(AQ_FC_ENSEMBLE, 0, y, 28, 7, am, asd, &p, NULL));
	T_NEAR(m[0], 1.0, 1e-12);
	T_OK(aq_served_forecast(AQ_FC_ENSEMBLE, 0, y, 28, 7, NULL, NULL, &p, NULL));   /* no arima: 3 members */
	T_NEAR(m[0], 1.0, 1e-12);
	T_NEAR(m[6], mean28, 1e-12);
}

/* Robust choice: a tie or a small edge keeps the ensemble; the old rule picks the lowest. */
static void test_choice_hysteresis(void)
{
	enum { N = 200 };
	double y[N];
	for (int t = 0; t < N; t++)
		y[t] = 1.0;
	struct fake f = {0, 1.05};
	struct aq_eval_model m = {fake_forecast, &f, NULL};
	struct aq_eval_ws ws;
	aq_eval_ws_init(&ws);
	struct aq_eval_result r = {0};
	struct aq_eval_opts o;
	aq_eval_opts_default(&o);
	T_OK(aq_eval_account(y, y, N, N - 30, &m, &o, &ws, &r, NULL));
	/* references and ensemble exact (MAE 0), arima off by 0.05: no challenger beats the ensemble */
	T_EQ_INT(r.served, AQ_FC_ENSEMBLE);
	T_NEAR(r.backtest[AQ_FC_ENSEMBLE].mae, 0.0, 1e-15);
	T_NEAR(r.backtest[AQ_FC_ARIMA].mae, 0.05, 1e-12);
	o.choice = AQ_CHOICE_LOWEST;
	T_OK(aq_eval_account(y, y, N, N - 30, &m, &o, &ws, &r, NULL));
	T_EQ_INT(r.served, AQ_FC_SNAIVE7);   /* the earliest of the tied references */
	/* the weekly pattern: snaive7 exact in every window, the ensemble not: the challenger wins */
	for (int t = 0; t < N; t++)
		y[t] = weekly((size_t)t);
	o.choice = AQ_CHOICE_ROBUST;
	T_OK(aq_eval_account(y, y, N, N - 30, &m, &o, &ws, &r, NULL));
	T_EQ_INT(r.served, AQ_FC_SNAIVE7);
	T_NEAR(r.served_margin, 1.0, 1e-12);
	o.challenge_margin = 1.01;   /* an impossible margin keeps the default */
	T_OK(aq_eval_account(y, y, N, N - 30, &m, &o, &ws, &r, NULL));
	T_EQ_INT(r.served, AQ_FC_ENSEMBLE);
	T_CHECK(r.served_margin < 0);
	aq_eval_ws_release(&ws);
}

/*
 * The sd of an ARIMA total against R: (1,0,1)(0,1,1)[7], phi 0.6, theta 0.3,
 * Theta -0.5, sigma2 2; R forecast 8.20, 40,000 paths of
 *   fit <- Arima(y, order = c(1,0,1), seasonal = c(0,1,1), fixed = c(0.6, 0.3, -0.5)); fit$sigma2 <- 2
 *   sd(replicate(40000, sum(simulate(fit, nsim = 30, future = TRUE)[1:7])))   # and [1:30]
 * gave 9.6024 (7 days) and 45.1002 (30 days); the Monte Carlo error of an sd
 * from 40,000 paths is ~0.4 %, tolerance 1.5 %. The same from the exact
 * Kalman filter (aq_arima_forecast_total, 400 days filtered), and far from
 * the sqrt of the summed daily variances (the errors are correlated).
 */
static void test_total_sd_vs_r(void)
{
	enum { N = 400 };
	double y[N];
	unsigned s = 777;
	double prev = 0;
	for (int t = 0; t < N; t++) {
		s = s * 1103515245u + 12345u;
		prev = 0.6 * prev + ((s >> 8) & 0xffff) / 65536.0 - 0.5;
		y[t] = 10 + prev + ((t % 7) == 6 ? 1.5 : 0.0);
	}
	struct aq_arima_spec sp = { .p = 1, .d = 0, .q = 1, .P = 0, .D = 1, .Q = 1, .s = 7, .constant = 0 };
	struct aq_arima_fit_opts fo = { .method = AQ_ARIMA_CSS_ML, .max_iter = 100, .reltol = 1.5e-8 };
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_arima_model m;
	struct aq_err e = { 0 };
	aq_arima_model_init(&m);
	T_OK(aq_arima_fit(y, N, &sp, &fo, &m, ws, &e));
	T_EQ_INT(m.ncoef, 3);
	m.coef[0] = 0.6;
	m.coef[1] = 0.3;
	m.coef[2] = -0.5;
	m.sigma2 = 2;
	T_OK(aq_arima_state_reset(&m, &e));
	T_OK(aq_arima_update(&m, y, N, &e));
	struct aq_evmodel em;
	T_OK(aq_evmodel_from_arima(&em, &m, N, 0, NULL, &e));
	double ss[30], mean[30], sd[30], tot, tsd7, tsd30;
	T_OK(aq_evmodel_sdsum(&em, 30, ss, &e));
	T_RNEAR(ss[6], 9.6024, 0.015);
	T_RNEAR(ss[29], 45.1002, 0.015);
	T_OK(aq_arima_forecast_total(&m, 0, 7, &tot, &tsd7, &e));
	T_OK(aq_arima_forecast_total(&m, 0, 30, &tot, &tsd30, &e));
	T_RNEAR(tsd7, 9.6024, 0.015);
	T_RNEAR(tsd30, 45.1002, 0.015);
	T_OK(aq_arima_forecast(&m, 30, mean, sd, &e));
	double v = 0;
	for (int i = 0; i < 30; i++)
		v += sd[i] * sd[i];
	T_CHECK(sqrt(v) < 0.5 * ss[29]);   /* independence would understate the total's sd by half */
	aq_evmodel_release(&em);
	aq_arima_model_release(&m);
	aq_arima_ws_free(ws);
}

/*
 * lib/calib.h: 200 accounts of N(0, s_i^2) standardised errors (s_i = 1, one
 * account s = 3), 4 windows of 30 days: the pooled quantiles are the normal
 * ones (within sampling error; totals wider, see below), the wide account's are wider by about its
 * shrunk scale, an account without history gets the pooled ones.
 */
static void test_calib(void)
{
	enum { NA = 201 };
	static struct aq_cal_sample smp[NA];
	const struct aq_cal_sample *sp[NA];
	struct aq_cal cal[NA];
	struct aq_err e = { 0 };
	unsigned s = 99;
	for (int i = 0; i < NA; i++) {
		aq_cal_sample_init(&smp[i]);
		sp[i] = i == NA - 1 ? NULL : &smp[i];
		double scale = i == 0 ? 3.0 : 1.0;
		for (int w = 0; w < 4; w++)
			for (int t = 0; t < 30; t++) {
				double u1, u2;   /* Box-Muller */
				s = s * 1103515245u + 12345u;
				u1 = (((s >> 8) & 0xffff) + 0.5) / 65536.0;
				s = s * 1103515245u + 12345u;
				u2 = (((s >> 8) & 0xffff) + 0.5) / 65536.0;
				double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2) * scale;
				aq_cal_sample_add(&smp[i], 0, w, z, 0, 1);
				if (t == 0) {
					aq_cal_sample_add(&smp[i], 1, w, z, 0, 1);
					aq_cal_sample_add(&smp[i], 2, w, z, 0, 1);
				}
			}
	}
	T_OK(aq_cal_fit(sp, NA, NULL, cal, &e));
	T_CHECK(cal[NA - 1].ok && cal[1].ok);
	const double zq[4] = { -1.959964, -1.281552, 1.281552, 1.959964 };
	for (int p = 0; p < 4; p++) {
		T_NEAR(cal[NA - 1].q[0][p], zq[p], 0.12);       /* pooled: 24,000 values */
		/* pooled totals (800 values): wider than the normal by the noise of own scales from
		   3 of 4 windows (leave one out), the price of not knowing all accounts are alike */
		T_CHECK(cal[NA - 1].q[2][p] / zq[p] >= 0.95 && cal[NA - 1].q[2][p] / zq[p] <= 1.45);
		T_CHECK(cal[0].q[0][p] / zq[p] > 2.0);          /* own scale 3, weight 120 / 150 */
	}
	double lo, hi;
	aq_cal_interval(&cal[NA - 1], 1, 10, 1, 0.95, &lo, &hi);
	T_NEAR(lo, 10 + cal[NA - 1].q[0][0], 1e-12);
	T_NEAR(hi, 10 + cal[NA - 1].q[0][3], 1e-12);
	aq_cal_interval(NULL, 30, 1, 1, 0.95, &lo, &hi);
	T_NEAR(lo, 0, 0);                                   /* clipped at 0 */
	T_NEAR(hi, 1 + 1.959964, 1e-6);
	/* nothing to pool */
	const struct aq_cal_sample *none[1] = { NULL };
	T_CHECK(aq_cal_fit(none, 1, NULL, cal, &e) == AQ_ENOTFOUND && !cal[0].ok);
}

/* The reference of test_calib_exact: lib/calib.h's shape Q(p) with every value held and sorted, as written there. */
static double ref_shrunk(const struct aq_cal_sample *s, int k, int skip, double n0, double m0, double r0, double *loc)
{
	double v[AQ_CAL_MAXZ], m, r;
	int c = 0;
	for (int j = 0; j < s->n[k]; j++)
		if (s->w[k][j] != skip)
			v[c++] = s->z[k][j];
	*loc = m0;
	if (c < 3)
		return r0;
	m = aq_median_inplace(v, (size_t)c);
	c = 0;
	for (int j = 0; j < s->n[k]; j++)
		if (s->w[k][j] != skip)
			v[c++] = fabs((double)s->z[k][j] - m);
	r = fmax(aq_median_inplace(v, (size_t)c), 0.05 * r0);
	double w = c / (c + n0);
	*loc = w * m + (1 - w) * m0;
	return exp(w * log(r) + (1 - w) * log(r0));
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * aq_cal_fit's pooled quantiles (found by counting buckets, without holding
 * every value) are exactly those of all values sorted, bit for bit: on
 * samples with ties (values on a grid), heavy tails and short histories.
 */
static void test_calib_exact(void)
{
	enum { NA = 400 };
	static struct aq_cal_sample smp[NA];
	const struct aq_cal_sample *sp[NA];
	static struct aq_cal cal[NA];
	static double all[NA * AQ_CAL_MAXZ], om[NA], orr[NA];
	struct aq_err e = { 0 };
	t_rng_state = 12345;
	for (int i = 0; i < NA; i++) {
		aq_cal_sample_init(&smp[i]);
		sp[i] = i == NA - 1 ? NULL : &smp[i];
		int days = i % 7 == 0 ? 2 : 30;   /* some short histories */
		for (int w = 0; w < 4; w++)
			for (int t = 0; t < days; t++) {
				double z = t_gauss() * (i % 3 ? 1.0 : 2.5);
				if (i % 11 == 0)
					z = z * z * z;                     /* heavy tails */
				if (i % 5 == 0)
					z = 0.25 * floor(4 * z);           /* ties */
				aq_cal_sample_add(&smp[i], 0, w, z, 0, 1);
				if (t == 0)
					aq_cal_sample_add(&smp[i], 1, w, z, 0, 1);
			}
		aq_cal_sample_add(&smp[i], 2, 0, 1.0, 0, 1);   /* kind 2: one value each (no own scale) */
	}
	T_OK(aq_cal_fit(sp, NA, NULL, cal, &e));
	for (int k = 0; k < 2; k++) {
		double n0 = k ? 8 : 30;
		size_t no = 0, t = 0;
		for (int i = 0; i < NA - 1; i++) {
			if (smp[i].n[k] < 3)
				continue;
			double v[AQ_CAL_MAXZ];
			for (int j = 0; j < smp[i].n[k]; j++)
				v[j] = smp[i].z[k][j];
			om[no] = aq_median_inplace(v, (size_t)smp[i].n[k]);
			for (int j = 0; j < smp[i].n[k]; j++)
				v[j] = fabs((double)smp[i].z[k][j] - om[no]);
			orr[no++] = aq_median_inplace(v, (size_t)smp[i].n[k]);
		}
		double m0 = aq_median_inplace(om, no), r0 = aq_median_inplace(orr, no);
		for (int i = 0; i < NA - 1; i++)
			for (int j = 0, prev = -1; j < smp[i].n[k]; j++) {
				static double lw, sw;
				if (smp[i].w[k][j] != prev) {
					prev = smp[i].w[k][j];
					sw = ref_shrunk(&smp[i], k, prev, n0, m0, r0, &lw);
				}
				all[t++] = (smp[i].z[k][j] - lw) / sw;
			}
		qsort(all, t, sizeof(double), cmp_dbl);
		for (int p = 0; p < AQ_CAL_NP; p++) {
			double want = m0 + r0 * aq_quantile_sorted(all, t, aq_cal_probs[p]);
			if (memcmp(&want, &cal[NA - 1].q[k][p], sizeof want) != 0)
				T_FAIL("kind %d p %.3f: %.17g, all sorted %.17g", k, aq_cal_probs[p], cal[NA - 1].q[k][p], want);
		}
	}
	T_CHECK(cal[0].ok && cal[NA - 1].ok);
}

/*
 * The population default: a forecaster whose backtest gain over the ensemble
 * is consistent across accounts becomes the default; the same mean gain
 * with noise ten times larger, or from too few accounts, does not. Then the
 * per-account hysteresis works against that default.
 */
static void test_population_default(void)
{
	struct aq_default_acc a, noisy, few;
	aq_default_acc_init(&a);
	aq_default_acc_init(&noisy);
	aq_default_acc_init(&few);
	unsigned s = 5;
	for (int i = 0; i < 200; i++) {
		struct aq_eval_result r;
		memset(&r, 0, sizeof r);
		for (int f = 0; f < AQ_FC_N; f++)
			r.backtest[f].mae = NAN;
		double u = noise(&s) - 0.5;
		r.backtest[AQ_FC_ENSEMBLE].mae = 1.0;
		r.backtest[AQ_FC_ARIMA].mae = 0.97 + 0.05 * u;   /* gain 3 % +- 1.4 % */
		r.backtest[AQ_FC_MEDIAN28].mae = 1.01 + 0.05 * u;
		aq_default_acc_add(&a, &r);
		r.backtest[AQ_FC_ARIMA].mae = 0.97 + 2.0 * u;    /* the same mean gain, sd 58 % */
		aq_default_acc_add(&noisy, &r);
		if (i < AQ_DEFAULT_MIN - 1) {
			r.backtest[AQ_FC_ARIMA].mae = 0.5;
			aq_default_acc_add(&few, &r);
		}
	}
	double g;
	long n;
	T_EQ_INT(aq_default_choose(&a, &g, &n), AQ_FC_ARIMA);
	T_NEAR(g, 0.03, 0.005);
	T_EQ_INT(n, 200);
	T_EQ_INT(aq_default_choose(&noisy, &g, &n), AQ_FC_ENSEMBLE);
	T_NEAR(g, 0, 0);
	T_EQ_INT(aq_default_choose(&few, &g, &n), AQ_FC_ENSEMBLE);

	/* one account, default arima: a challenger 20 % better in 3 of 4 windows is served, in 2 of 4 not */
	struct aq_eval_opts o;
	aq_eval_opts_default(&o);
	o.default_fc = AQ_FC_ARIMA;
	double w[4][AQ_FC_N], pooled[AQ_FC_N], margin;
	for (int k = 0; k < 4; k++)
		for (int f = 0; f < AQ_FC_N; f++)
			w[k][f] = 1.0;
	for (int k = 0; k < 3; k++)
		w[k][AQ_FC_WMED4] = 0.75;
	for (int f = 0; f < AQ_FC_N; f++)
		pooled[f] = (w[0][f] + w[1][f] + w[2][f] + w[3][f]) / 4;
	T_EQ_INT(aq_eval_choose(&o, pooled, (const double(*)[AQ_FC_N])w, 4, &margin), AQ_FC_WMED4);
	T_NEAR(margin, 0.1875, 1e-12);
	w[2][AQ_FC_WMED4] = 1.05;
	w[0][AQ_FC_WMED4] = 0.5;
	for (int f = 0; f < AQ_FC_N; f++)
		pooled[f] = (w[0][f] + w[1][f] + w[2][f] + w[3][f]) / 4;
	T_EQ_INT(aq_eval_choose(&o, pooled, (const double(*)[AQ_FC_N])w, 4, &margin), AQ_FC_ARIMA);
	T_CHECK(margin < 0);
	/* the default without a forecast (arima failed everywhere): against the ensemble */
	for (int k = 0; k < 4; k++)
		w[k][AQ_FC_ARIMA] = w[k][AQ_FC_COMBO] = NAN;
	pooled[AQ_FC_ARIMA] = pooled[AQ_FC_COMBO] = NAN;
	T_EQ_INT(aq_eval_choose(&o, pooled, (const double(*)[AQ_FC_N])w, 4, &margin), AQ_FC_ENSEMBLE);
	for (int f = 0; f < AQ_FC_N; f++)
		pooled[f] = NAN;
	T_EQ_INT(aq_eval_choose(&o, pooled, (const double(*)[AQ_FC_N])w, 4, &margin), -1);   /* no evidence */
}

/* Deterministic N(0,1) (LCG + Box-Muller). */
static double gauss(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	double u1 = (((*s >> 8) & 0xffff) + 0.5) / 65536.0;
	*s = *s * 1103515245u + 12345u;
	double u2 = (((*s >> 8) & 0xffff) + 0.5) / 65536.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* A model with a constant sd per account (as an ARIMA fitted on the whole series): the mean of 28 days. */
struct flat_model { double sd; };

static int flat_forecast(void *ctx, const double *y, size_t origin, int h, double *mean, double *sd,
			 struct aq_err *e)
{
	const struct flat_model *f = ctx;
	double s = 0;
	int k = 0;
	for (size_t i = origin >= 28 ? origin - 28 : 0; i < origin; i++)
		if (!isnan(y[i])) {
			s += y[i];
			k++;
		}
	if (!k)
		return aq_err_set(e, AQ_ENUMERIC, "no data");
	for (int i = 0; i < h; i++) {
		mean[i] = s / k;
		sd[i] = f->sd;
	}
	return 0;
}

/*
 * Calibration end to end (lib/evaluate.h backtest -> lib/calib.h -> held-out
 * coverage): 400 accounts of multiplicative daily noise around a yearly
 * level (amplitude 20 %, random phase) whose variability has a season too
 * (sd 35 % x (1 + 0.6 sin), another random phase: watering, heating), 370
 * days trained, 4 backtest windows of 30 days, the served forecaster's
 * intervals on the 30 held-out days and their total. Goal (issue #15):
 * daily 80 +- 4 and 95 +- 2 (12,000 days); the 400 totals 80 +- 6 and
 * 95 +- 3 (2-3 standard errors of 400 totals). The model's sd is the
 * account's overall one (as an ARIMA's). Measured: daily 79.4 / 95.1,
 * totals 80.0 / 97.8; without the local scale (AQ_CAL_SCALE_NONE) daily
 * 76.6 / 92.1 — outside the goal.
 */
static void cal_coverage(double cov[4], double width[2])
{
	enum { NA = 400, N = 400, NT = 370, H = 30 };
	static double y[NA][N];
	static struct aq_cal_sample smp[NA];
	static struct aq_cal cal[NA];
	static struct flat_model fm[NA];
	const struct aq_cal_sample *sp[NA];
	unsigned s = 2026;
	struct aq_eval_ws ws;
	aq_eval_ws_init(&ws);
	struct aq_eval_opts o;
	aq_eval_opts_default(&o);
	for (int i = 0; i < NA; i++) {
		double L = exp(0.5 * gauss(&s)), ph = 2 * M_PI * ((s >> 8) % 1000) / 1000.0;
		double ph2 = 2 * M_PI * ((s >> 12) % 1000) / 1000.0;
		for (int t = 0; t < N; t++) {
			double sg = 0.35 * (1 + 0.6 * sin(2 * M_PI * t / 365.0 + ph2));   /* variability with the season */
			y[i][t] = L * (1 + 0.2 * sin(2 * M_PI * t / 365.0 + ph)) * exp(sg * gauss(&s) - sg * sg / 2);
		}
		fm[i].sd = 0.35 * L;
		struct aq_eval_model m = {flat_forecast, &fm[i], NULL};
		struct aq_eval_result r = {0};
		T_OK(aq_eval_account(y[i], y[i], NT, NT, &m, &o, &ws, &r, NULL));
		smp[i] = r.cal;
		sp[i] = &smp[i];
	}
	T_OK(aq_cal_fit(sp, NA, NULL, cal, NULL));
	long in[4] = {0}, nd = 0;
	double w[2] = {0};
	double *block = malloc(aq_eval_block_size(H) * sizeof(double));
	for (int i = 0; i < NA; i++) {
		struct aq_eval_model m = {flat_forecast, &fm[i], NULL};
		struct aq_eval_result r = {0};
		T_OK(aq_eval_account(y[i], y[i], NT, NT, &m, &o, &ws, &r, NULL));   /* the served choice */
		struct aq_path p[AQ_FC_N];
		const double *sd, *sdsum;
		T_OK(aq_eval_paths(y[i], NT, H, &m, r.combo_ref, block, p, &sd, &sdsum));
		double F = 0, Y = 0, lo, hi;
		for (int t = 0; t < H; t++) {
			double f = p[r.served].mean[t], a = y[i][NT + t];
			F += f;
			Y += a;
			aq_cal_interval(&cal[i], 1, f, sd[t], 0.80, &lo, &hi);
			in[0] += a >= lo && a <= hi;
			w[0] += (hi - lo) / a;
			aq_cal_interval(&cal[i], 1, f, sd[t], 0.95, &lo, &hi);
			in[1] += a >= lo && a <= hi;
			nd++;
		}
		aq_cal_interval(&cal[i], H, F, sdsum[H - 1], 0.80, &lo, &hi);
		in[2] += Y >= lo && Y <= hi;
		w[1] += (hi - lo) / Y;
		aq_cal_interval(&cal[i], H, F, sdsum[H - 1], 0.95, &lo, &hi);
		in[3] += Y >= lo && Y <= hi;
	}
	free(block);
	aq_eval_ws_release(&ws);
	for (int k = 0; k < 4; k++)
		cov[k] = (double)in[k] / (k < 2 ? nd : NA);
	width[0] = w[0] / nd;
	width[1] = w[1] / NA;
}

static void test_calib_coverage(void)
{
	double cov[4], w[2];
	cal_coverage(cov, w);
	fprintf(stderr, "# calibrated coverage daily %.3f / %.3f, 30-day total %.3f / %.3f (width80 / actual %.2f / %.2f)\n",
		cov[0], cov[1], cov[2], cov[3], w[0], w[1]);
	T_CHECK(fabs(cov[0] - 0.80) <= 0.04 && fabs(cov[1] - 0.95) <= 0.02);
	T_CHECK(fabs(cov[2] - 0.80) <= 0.06 && fabs(cov[3] - 0.95) <= 0.03);
}

/*
 * An evaluation with every candidate's alternatives, re-chosen with another
 * default (aq_eval_rechoose), is the evaluation under that default, without
 * a forecast: each default, on series where different forecasters win and
 * one with a leak (the anomaly depends on the served path).
 */
static void test_rechoose(void)
{
	size_t n = 300, nt = 270;
	double *y = malloc(n * sizeof(*y));
	struct aq_eval_ws ws;
	aq_eval_ws_init(&ws);
	struct aq_eval_alts *alts = malloc(sizeof(*alts));
	unsigned s = 11;
	int changed = 0;
	for (int c = 0; c < 4; c++) {
		for (size_t t = 0; t < n; t++) {
			double u = noise(&s);
			y[t] = c == 0 ? weekly(t) * (1 + 0.2 * u)
			     : c == 1 ? 0.5 + 0.4 * u + (t > 200 ? 0.5 : 0)
			     : c == 2 ? 1 + 0.5 * sin(t / 9.0) + 0.1 * u
				      : 0.4 + 0.2 * u + (t >= 285 ? 0.8 : 0);   /* a leak over the last 15 days */
		}
		struct fake f = {0, NAN};
		struct aq_eval_model m = {fake_forecast, &f, NULL};
		struct aq_eval_opts o;
		aq_eval_opts_default(&o);
		struct aq_eval_result base = {0}, direct = {0};
		T_OK(aq_eval_account_alts(y, y, n, nt, &m, &o, &ws, &base, alts, NULL));
		for (int d = 0; d < AQ_FC_N; d++) {
			o.default_fc = d;
			T_OK(aq_eval_account(y, y, n, nt, &m, &o, &ws, &direct, NULL));
			struct aq_eval_result r = base;
			int calls = f.calls;
			aq_eval_rechoose(&o, alts, &r);
			T_EQ_INT(f.calls, calls);   /* no forecast */
			T_EQ_INT(r.served, direct.served);
			T_CHECK(memcmp(&r.served_margin, &direct.served_margin, sizeof(double)) == 0);
			T_CHECK(memcmp(&r.cal, &direct.cal, sizeof(r.cal)) == 0);
			T_CHECK(memcmp(&r.anomaly, &direct.anomaly, sizeof(r.anomaly)) == 0);
			T_EQ_INT(r.anomaly_origin, direct.anomaly_origin);
			/* everything else as it was */
			T_CHECK(memcmp(r.backtest, direct.backtest, sizeof(r.backtest)) == 0);
			T_CHECK(memcmp(r.newdata, direct.newdata, sizeof(r.newdata)) == 0);
			T_CHECK(memcmp(r.wmae, direct.wmae, sizeof(r.wmae)) == 0);
			T_CHECK(memcmp(r.bttot, direct.bttot, sizeof(r.bttot)) == 0);
			changed += r.served != base.served;
		}
		if (c == 3)
			T_CHECK(base.anomaly.kind != AQ_ANOM_NONE);
	}
	T_CHECK(changed > 0);   /* the defaults did move the choice */
	free(alts);
	aq_eval_ws_release(&ws);
	free(y);
}

int main(void)
{
	T_RUN(test_weekly_pattern_serves_snaive);
	T_RUN(test_no_new_data);
	T_RUN(test_failing_model_and_short_history);
	T_RUN(test_arima_wins_on_a_level_change);
	T_RUN(test_anomalies);
	T_RUN(test_served_names);
	T_RUN(test_served_forecast_combo);
	T_RUN(test_gate);
	T_RUN(test_arima_state_reset);
	T_RUN(test_innovations_vs_kalman);
	T_RUN(test_ensemble_by_hand);
	T_RUN(test_choice_hysteresis);
	T_RUN(test_total_sd_vs_r);
	T_RUN(test_calib);
	T_RUN(test_calib_coverage);
	T_RUN(test_calib_exact);
	T_RUN(test_population_default);
	T_RUN(test_rechoose);
	T_DONE();
}
