/* arima_tool.c — test driver: read a series and an ARIMA order as JSON on stdin, print fit/loglik/forecast JSON. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arima.h"
#include "boxcox.h"
#include "log.h"
#include "model.h"

/*
 * Input: {"y": [numbers or null], "order": [p,d,q], "seasonal": [P,D,Q], "s": 7,
 *         "constant": 0|1, "method": "CSS-ML"|"ML"|"CSS", "coef": [...] (optional:
 *         loglik at these coefficients), "h": 14 (forecast steps), "total": [from, to],
 *         "update": [numbers or null] (filtered after the fit, before forecasting),
 *         "vcov": 0|1, "repeat": N (time N fits), "lambda": L, "shift": C (fit on the Box–Cox
 *         transform of y + C, lib/boxcox.h; then "bc": the model-set row's forecasts over h days,
 *         aq_model_forecast_path: median, lo80, hi80, lo95, hi95, total [5], and aq_model_forecast:
 *         mean (bias-adjusted)}.
 * Output: one JSON object; "error" on failure. Exit 0 even on a model error.
 */
static json_t *arr(const double *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, isfinite(v[i]) ? json_real(v[i]) : json_null());
	return a;
}

static double *read_vec(json_t *a, size_t *n)
{
	*n = json_array_size(a);
	double *v = malloc(sizeof(double) * (*n + 1));
	for (size_t i = 0; i < *n; i++) {
		json_t *x = json_array_get(a, i);
		v[i] = json_is_number(x) ? json_number_value(x) : NAN;
	}
	return v;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	json_error_t je;
	json_t *in = json_loadf(stdin, 0, &je);
	if (!in) {
		fprintf(stderr, "arima_tool: bad json: %s\n", je.text);
		return 2;
	}
	size_t n, nu = 0;
	double *y = read_vec(json_object_get(in, "y"), &n);
	struct aq_bc bc = aq_bc_none();
	if (json_is_number(json_object_get(in, "lambda"))) {
		bc.lambda = json_number_value(json_object_get(in, "lambda"));
		bc.shift = json_is_number(json_object_get(in, "shift")) ? json_number_value(json_object_get(in, "shift")) : 0;
		aq_bc_apply(&bc, y, n, y);
	}
	struct aq_arima_spec sp = {0};
	json_t *o = json_object_get(in, "order"), *so = json_object_get(in, "seasonal");
	sp.p = (int)json_integer_value(json_array_get(o, 0));
	sp.d = (int)json_integer_value(json_array_get(o, 1));
	sp.q = (int)json_integer_value(json_array_get(o, 2));
	if (so) {
		sp.P = (int)json_integer_value(json_array_get(so, 0));
		sp.D = (int)json_integer_value(json_array_get(so, 1));
		sp.Q = (int)json_integer_value(json_array_get(so, 2));
	}
	sp.s = (int)json_integer_value(json_object_get(in, "s"));
	sp.constant = (int)json_integer_value(json_object_get(in, "constant"));
	struct aq_arima_fit_opts fo = {0};
	const char *meth = json_string_value(json_object_get(in, "method"));
	if (meth && !strcmp(meth, "ML"))
		fo.method = AQ_ARIMA_ML;
	else if (meth && !strcmp(meth, "CSS"))
		fo.method = AQ_ARIMA_CSS;
	fo.want_vcov = (int)json_integer_value(json_object_get(in, "vcov"));
	int h = (int)json_integer_value(json_object_get(in, "h"));
	int reps = (int)json_integer_value(json_object_get(in, "repeat"));
	json_t *out = json_object();
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_err e = {0};
	char buf[128];
	json_object_set_new(out, "spec", json_string(aq_arima_spec_str(&sp, buf, sizeof buf)));

	json_t *jc = json_object_get(in, "coef");
	if (jc) {
		size_t k;
		double *c = read_vec(jc, &k), ll, s2;
		if (aq_arima_loglik(y, n, &sp, c, &ll, &s2, ws, &e))
			json_object_set_new(out, "loglik_error", json_string(e.msg));
		else {
			json_object_set_new(out, "loglik_at", json_real(ll));
			json_object_set_new(out, "sigma2_at", json_real(s2));
		}
		if (!aq_arima_css(y, n, &sp, c, &s2, NULL, ws, &e))
			json_object_set_new(out, "css_sigma2_at", json_real(s2));
		free(c);
	}
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	int rc = aq_arima_fit(y, n, &sp, &fo, &m, ws, &e);
	if (rc) {
		json_object_set_new(out, "error", json_string(e.msg));
		json_object_set_new(out, "code", json_string(aq_err_name(rc)));
	} else {
		if (reps > 0) {
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (int i = 0; i < reps; i++)
				aq_arima_fit(y, n, &sp, &fo, &m, ws, &e);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			json_object_set_new(out, "fit_seconds",
					    json_real(((t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)) / reps));
		}
		json_object_set_new(out, "coef", arr(m.coef, m.ncoef));
		json_object_set_new(out, "sigma2", json_real(m.sigma2));
		json_object_set_new(out, "loglik", json_real(m.loglik));
		json_object_set_new(out, "aic", json_real(m.aic));
		json_object_set_new(out, "aicc", json_real(m.aicc));
		json_object_set_new(out, "bic", json_real(m.bic));
		json_object_set_new(out, "nobs", json_integer(m.nobs));
		json_object_set_new(out, "converged", json_integer(m.converged));
		json_object_set_new(out, "roots_ok", json_integer(aq_arima_roots_ok(&m, 1.01)));
		if (m.vcov)
			json_object_set_new(out, "vcov", arr(m.vcov, m.ncoef * m.ncoef));
		json_t *ju = json_object_get(in, "update");
		if (ju) {
			double *u = read_vec(ju, &nu);
			if (aq_arima_update(&m, u, nu, &e))
				json_object_set_new(out, "update_error", json_string(e.msg));
			free(u);
		}
		if (h > 0) {
			double *mean = malloc(sizeof(double) * h), *sd = malloc(sizeof(double) * h);
			if (aq_arima_forecast(&m, h, mean, sd, &e) == 0) {
				json_object_set_new(out, "mean", arr(mean, h));
				json_object_set_new(out, "sd", arr(sd, h));
			} else
				json_object_set_new(out, "forecast_error", json_string(e.msg));
			free(mean);
			free(sd);
		}
		if (h > 0 && aq_bc_active(&bc)) {
			struct aq_model_row r;
			aq_model_row_init(&r);
			double *b = malloc(sizeof(double) * 6 * (size_t)h), tot[5];
			struct aq_path p = {b, b + h, b + 2 * h, b + 3 * h, b + 4 * h};
			if (aq_model_row_from_arima(&r, &m, &e) == 0) {
				r.bc = bc;
				json_t *jb = json_object();
				if (aq_model_forecast_path(&r, h, 0, h, &p, tot, NULL, NULL, &e) == 0) {
					json_object_set_new(jb, "median", arr(p.mean, h));
					json_object_set_new(jb, "lo80", arr(p.lo80, h));
					json_object_set_new(jb, "hi80", arr(p.hi80, h));
					json_object_set_new(jb, "lo95", arr(p.lo95, h));
					json_object_set_new(jb, "hi95", arr(p.hi95, h));
					json_object_set_new(jb, "total", arr(tot, 5));
				}
				if (aq_model_forecast(&r, h, b, b + 5 * h, &e) == 0)
					json_object_set_new(jb, "mean", arr(b, h));
				json_object_set_new(out, "bc", jb);
			}
			aq_model_row_release(&r);
			free(b);
		}
		json_t *jt = json_object_get(in, "total");
		if (jt) {
			double s, sd;
			int from = (int)json_integer_value(json_array_get(jt, 0)), to = (int)json_integer_value(json_array_get(jt, 1));
			if (aq_arima_forecast_total(&m, from, to, &s, &sd, &e) == 0) {
				json_object_set_new(out, "total", json_real(s));
				json_object_set_new(out, "total_sd", json_real(sd));
			}
		}
	}
	aq_arima_model_release(&m);
	aq_arima_ws_free(ws);
	json_dumpf(out, stdout, JSON_COMPACT | JSON_REAL_PRECISION(17));
	putchar('\n');
	json_decref(out);
	json_decref(in);
	free(y);
	return 0;
}
