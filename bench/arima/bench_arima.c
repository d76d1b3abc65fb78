/* bench_arima.c — time aq_arima_loglik and aq_arima_fit on a series given as JSON (bench/arima/run). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arima.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine is shared */
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* stdin: {"y": [...], "order": [p,d,q], "seasonal": [P,D,Q], "s": 7, "coef": [...],
 *         "like_reps": N, "fit_reps": M, "blocks": B}; stdout: JSON with median seconds per call. */
int main(void)
{
	json_error_t je;
	json_t *in = json_loadf(stdin, 0, &je);
	if (!in) {
		fprintf(stderr, "bench_arima: bad json: %s\n", je.text);
		return 2;
	}
	json_t *jy = json_object_get(in, "y"), *jc = json_object_get(in, "coef");
	size_t n = json_array_size(jy), k = json_array_size(jc);
	double *y = malloc(sizeof(double) * n), *coef = malloc(sizeof(double) * (k + 1));
	for (size_t i = 0; i < n; i++)
		y[i] = json_is_number(json_array_get(jy, i)) ? json_number_value(json_array_get(jy, i)) : NAN;
	for (size_t i = 0; i < k; i++)
		coef[i] = json_number_value(json_array_get(jc, i));
	struct aq_arima_spec sp = {0};
	json_t *o = json_object_get(in, "order"), *so = json_object_get(in, "seasonal");
	sp.p = (int)json_integer_value(json_array_get(o, 0));
	sp.d = (int)json_integer_value(json_array_get(o, 1));
	sp.q = (int)json_integer_value(json_array_get(o, 2));
	sp.P = (int)json_integer_value(json_array_get(so, 0));
	sp.D = (int)json_integer_value(json_array_get(so, 1));
	sp.Q = (int)json_integer_value(json_array_get(so, 2));
	sp.s = (int)json_integer_value(json_object_get(in, "s"));
	int lr = (int)json_integer_value(json_object_get(in, "like_reps"));
	int fr = (int)json_integer_value(json_object_get(in, "fit_reps"));
	int blocks = (int)json_integer_value(json_object_get(in, "blocks"));
	if (blocks < 1)
		blocks = 5;
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_err e = {0};
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	double ll = 0, s2, tl[64], tf[64];
	for (int b = 0; b < blocks && b < 64; b++) {
		double t0 = now();
		for (int i = 0; i < lr; i++)
			if (aq_arima_loglik(y, n, &sp, coef, &ll, &s2, ws, &e)) {
				fprintf(stderr, "bench_arima: %s\n", e.msg);
				return 1;
			}
		tl[b] = (now() - t0) / lr;
		t0 = now();
		for (int i = 0; i < fr; i++)
			if (aq_arima_fit(y, n, &sp, NULL, &m, ws, &e)) {
				fprintf(stderr, "bench_arima: %s\n", e.msg);
				return 1;
			}
		tf[b] = (now() - t0) / fr;
	}
	qsort(tl, blocks, sizeof(double), cmpd);
	qsort(tf, blocks, sizeof(double), cmpd);
	printf("{\"loglik_s\": %.9g, \"fit_s\": %.9g, \"loglik\": %.10f, \"fit_loglik\": %.10f}\n", tl[blocks / 2],
	       tf[blocks / 2], ll, m.loglik);
	aq_arima_model_release(&m);
	aq_arima_ws_free(ws);
	free(y);
	free(coef);
	json_decref(in);
	return 0;
}
