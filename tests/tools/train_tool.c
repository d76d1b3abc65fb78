/* train_tool.c — test driver for the order search and train tests: fit a series file, score an order, CSV -> readings dataset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autoarima.h"
#include "date.h"
#include "log.h"
#include "readings_writer.h"
#include "series.h"

/*
 * train_tool fit FILE SEASON [WARM [REPS [H]]]
 *     FILE: one value per line ("NA"/"NaN" = missing). Prints one JSON line:
 *     {"p":..,"d":..,"q":..,"P":..,"D":..,"Q":..,"constant":..,"aicc":..,"ms":..,
 *      "kpss":..,"seas":..,"nfits":..,"fc":[H values]} (ms = median over REPS runs;
 *     fc = forecast means, unclipped).
 * train_tool clean FILE
 *     the series after aquacast's cleaning (invalid -> NA, Hampel outliers -> NA).
 * train_tool aicc FILE SEASON p d q P D Q constant
 *     AICc (R's definition) of that order fitted by CSS-ML, and whether it is
 *     accepted (roots >= 1.01): {"aicc":..,"ok":..}
 * train_tool csv2readings CSV DATASET PARTS
 *     ConsumptionDate,AccountOID,Consumption rows (header, empty/NA = NaN)
 *     into a new readings dataset.
 */

static double *read_series(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 1024, k = 0;
	double *y = malloc(cap * sizeof *y);
	char line[128];
	while (y && fgets(line, sizeof line, f)) {
		if (k == cap) {
			double *ny = realloc(y, 2 * cap * sizeof *y);
			if (!ny) {
				free(y);
				y = NULL;
				break;
			}
			y = ny;
			cap *= 2;
		}
		char *end;
		double v = strtod(line, &end);
		y[k++] = end == line ? NAN : v;
	}
	fclose(f);
	*n = k;
	return y;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmd_fit(int argc, char **argv)
{
	size_t n;
	double *y = read_series(argv[2], &n);
	if (!y) {
		fprintf(stderr, "cannot read '%s'\n", argv[2]);
		return 1;
	}
	struct aq_auto_opts o;
	aq_auto_opts_default(&o);
	o.season = atoi(argv[3]);
	if (argc > 4)
		o.warm_start = atoi(argv[4]);
	/* AQ_EXACT_MISSING=1: exact likelihood over gaps instead of imputation for estimation (autoarima.h) */
	o.exact_missing = getenv("AQ_EXACT_MISSING") && atoi(getenv("AQ_EXACT_MISSING"));
	int reps = argc > 5 ? atoi(argv[5]) : 1;
	int h = argc > 6 ? atoi(argv[6]) : 0;
	if (reps < 1)
		reps = 1;
	double *ms = calloc((size_t)reps, sizeof *ms), *cpu = calloc((size_t)reps, sizeof *cpu);
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	struct aq_auto_info info;
	struct aq_err e = {0};
	int rc = 0;
	for (int r = 0; r < reps; r++) {
		double t0 = aq_now(), c0 = cpu_now();
		rc = aq_auto_arima(y, n, &o, &m, &info, ws, &e);
		ms[r] = (aq_now() - t0) * 1e3;
		cpu[r] = (cpu_now() - c0) * 1e3;
	}
	qsort(ms, (size_t)reps, sizeof *ms, cmp_d);
	qsort(cpu, (size_t)reps, sizeof *cpu, cmp_d);
	if (rc) {
		printf("{\"error\":\"%s\",\"ms\":%.3f}\n", e.msg, ms[reps / 2]);
	} else {
		printf("{\"p\":%d,\"d\":%d,\"q\":%d,\"P\":%d,\"D\":%d,\"Q\":%d,\"constant\":%d,\"aicc\":%.6f,"
		       "\"loglik\":%.6f,\"ms\":%.3f,\"cpu_ms\":%.3f,\"kpss\":%.6f,\"seas\":%.6f,\"nfits\":%d,\"nrefits\":%d,\"approx\":%d}\n",
		       m.spec.p, m.spec.d, m.spec.q, m.spec.P, m.spec.D, m.spec.Q,
		       m.spec.constant && m.spec.d + m.spec.D <= 1, info.ic, m.loglik, ms[reps / 2], cpu[reps / 2],
		       isfinite(info.kpss_stat) ? info.kpss_stat : -1, isfinite(info.seas_strength) ? info.seas_strength : -1,
		       info.nfits, info.nrefits, info.approximation);
		if (h > 0) {
			/* forecasts appended as a second JSON line */
			double *fm = malloc((size_t)h * sizeof *fm), *fs = malloc((size_t)h * sizeof *fs);
			if (fm && fs && aq_arima_forecast(&m, h, fm, fs, &e) == 0) {
				printf("{\"fc\":[");
				for (int i = 0; i < h; i++)
					printf("%s%.10g", i ? "," : "", fm[i]);
				printf("]}\n");
			}
			free(fm);
			free(fs);
		}
	}
	aq_arima_model_release(&m);
	aq_arima_ws_free(ws);
	free(ms);
	free(cpu);
	free(y);
	return 0;
}

static int cmd_aicc(int argc, char **argv)
{
	if (argc < 11)
		return 2;   /* aicc FILE SEASON p d q P D Q c */
	size_t n;
	double *y = read_series(argv[2], &n);
	if (!y)
		return 1;
	size_t i0 = 0;
	while (i0 < n && !isfinite(y[i0]))
		i0++;
	struct aq_arima_spec sp = {atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]), atoi(argv[8]),
				   atoi(argv[9]), 0, atoi(argv[10])};
	int s = atoi(argv[3]);
	sp.s = sp.P + sp.D + sp.Q > 0 ? s : 0;
	struct aq_arima_fit_opts fo = {0};
	fo.method = AQ_ARIMA_CSS_ML;
	fo.max_iter = 100;
	fo.reltol = 1.5e-8;
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	struct aq_err e = {0};
	int rc = aq_arima_fit(y + i0, n - i0, &sp, &fo, &m, ws, &e);
	int nobs = 0;
	for (size_t i = i0; i < n; i++)
		nobs += isfinite(y[i]) != 0;
	if (rc) {
		printf("{\"aicc\":null,\"ok\":0,\"error\":\"%s\"}\n", e.msg);
	} else {
		double aicc = aq_auto_aicc(-2 * m.loglik + 2.0 * (m.ncoef + 1), m.ncoef, nobs - sp.d - sp.D * sp.s);
		printf("{\"aicc\":%.6f,\"ok\":%d}\n", aicc, aq_arima_roots_ok(&m, 1.01));
	}
	aq_arima_model_release(&m);
	aq_arima_ws_free(ws);
	free(y);
	return 0;
}

static int cmd_csv2readings(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	FILE *f = fopen(argv[2], "r");
	if (!f) {
		fprintf(stderr, "cannot open '%s'\n", argv[2]);
		return 1;
	}
	struct aq_err e = {0};
	struct aq_dataset ds;
	if (aq_dataset_create(&ds, argv[3], "readings", atoi(argv[4]), &e)) {
		fprintf(stderr, "%s\n", e.msg);
		fclose(f);
		return 1;
	}
	struct aq_readings_writer w;
	if (aq_readings_writer_open(&w, &ds, aq_dataset_next_key(&ds), "csv", NULL, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		fclose(f);
		return 1;
	}
	char line[256];
	int rc = 0;
	long rows = 0;
	while (!rc && fgets(line, sizeof line, f)) {
		if (line[0] < '0' || line[0] > '9')
			continue;   /* header */
		int32_t d;
		if (aq_date_parse(line, 10, &d, &e)) {
			rc = 1;
			break;
		}
		char *p = line + 11, *end;
		long long acc = strtoll(p, &end, 10);
		double v = NAN;
		if (*end == ',') {
			char *vend;
			double x = strtod(end + 1, &vend);
			if (vend != end + 1)
				v = x;
		}
		if (aq_readings_writer_add(&w, d, acc, v, &e))
			rc = 1;
		rows++;
	}
	fclose(f);
	if (rc) {
		aq_readings_writer_abort(&w);
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	if (aq_readings_writer_close(&w, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	aq_dataset_release(&ds);
	printf("{\"rows\":%ld}\n", rows);
	return 0;
}

static int cmd_clean(int argc, char **argv)
{
	size_t n;
	double *y = read_series(argv[2], &n);
	unsigned char *flag = malloc(n ? n : 1);
	if (!y || !flag)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(y[i]) || y[i] < 0)
			y[i] = NAN;
	struct aq_series_opts o;
	aq_series_opts_default(&o);
	struct aq_err e = {0};
	if (aq_series_hampel(y, n, &o, flag, &e))
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (flag[i] || !isfinite(y[i]))
			printf("NA\n");
		else
			printf("%.17g\n", y[i]);
	}
	free(flag);
	free(y);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "clean") == 0)
		return cmd_clean(argc, argv);
	if (argc >= 4 && strcmp(argv[1], "fit") == 0)
		return cmd_fit(argc, argv);
	if (argc >= 11 && strcmp(argv[1], "aicc") == 0)
		return cmd_aicc(argc, argv);
	if (argc >= 5 && strcmp(argv[1], "csv2readings") == 0)
		return cmd_csv2readings(argc, argv);
	fprintf(stderr, "usage: train_tool fit FILE SEASON [WARM [REPS [H]]] | clean FILE | aicc FILE SEASON p d q P D Q c |"
			" csv2readings CSV DATASET PARTS\n");
	return 2;
}
