/* accuracy.c — the accuracy protocol on any readings CSV: aquacast ARIMA, served, references, and R's auto.arima scored alike. */
/*
 * Protocol: per account a calendar from the first to the last reading
 * (missing days NaN); series with >= MIN_DAYS valid readings; the last HOLD
 * calendar days held out; MASE = MAE over the held-out days with an actual,
 * scaled by the in-sample mean |y_t - y_{t-7}| of the training part (pairs
 * present). aquacast: lib/series cleaning of the training part, lib/autoarima
 * (season 7), lib/evaluate on the training part only (the choice of the
 * served forecaster sees the backtest windows before the held-out days,
 * never the held-out days), then every forecaster from the training end.
 * R: forecasts read from auto_arima.R's output (same accounts, same days).
 *
 *   accuracy DATA.csv R_FORECASTS.csv [HOLD=30] [MIN_DAYS=120] [THREADS]
 * Prints a table and, last, one JSON line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "evalmodel.h"
#include "autoarima.h"
#include "date.h"
#include "evaluate.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "series.h"

struct row { int64_t acc; int32_t date; double v; };

struct acct {
	int64_t id;
	size_t r0, k;          /* rows[r0 .. r0+k) */
	int used;
	double mase[AQ_FC_N + 2];   /* forecasters, served, R */
	int served;
	double fit_s;
	double selfcheck;      /* day-0 filter vs stored state, relative */
};

struct ctx {
	struct row *rows;
	struct acct *a;
	int hold;
	struct aq_eval_opts eo;
	struct aq_progress prog;
};

static int cmp_row(const void *x, const void *y)
{
	const struct row *a = x, *b = y;
	if (a->acc != b->acc)
		return a->acc < b->acc ? -1 : 1;
	return (a->date > b->date) - (a->date < b->date);
}

static double mase_of(const double *act, const double *f, int h, double scale)
{
	struct aq_metrics_acc a;
	struct aq_metrics m;
	aq_metrics_acc_init(&a);
	aq_metrics_acc_add_n(&a, act, f, h);
	aq_metrics_finish(&a, scale, &m);
	return m.mase;
}

static void run_one(void *vc, size_t i, int tid)
{
	struct ctx *c = vc;
	struct acct *a = &c->a[i];
	(void)tid;
	if (!a->used)
		return;
	const struct row *r = c->rows + a->r0;
	int32_t first = r[0].date, last = r[a->k - 1].date;
	size_t n = (size_t)(last - first + 1), nt = n - (size_t)c->hold;
	double *act = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
	int32_t *d = malloc(a->k * sizeof(int32_t));
	double *v = malloc(a->k * sizeof(double));
	for (size_t t = 0; t < n; t++)
		act[t] = y[t] = NAN;
	for (size_t j = 0; j < a->k; j++) {
		act[r[j].date - first] = isfinite(r[j].v) && r[j].v >= 0 ? r[j].v : NAN;
		d[j] = r[j].date;
		v[j] = r[j].v;
	}
	/* cleaning of the training part only (the Hampel window must not see the held-out days) */
	struct aq_series s;
	struct aq_series_opts so;
	aq_series_init(&s);
	aq_series_opts_default(&so);
	so.until = first + (int32_t)nt - 1;
	struct aq_err e = {0};
	for (size_t t = 0; t < n; t++)
		a->mase[0] = NAN;
	if (aq_series_build(&s, d, v, a->k, &so, &e) == 0)
		for (size_t t = 0; t < s.n; t++)
			if ((size_t)(s.first - first) + t < nt)
				y[(size_t)(s.first - first) + t] = s.y[t];
	struct aq_auto_opts ao;
	aq_auto_opts_default(&ao);
	ao.season = getenv("AQ_BENCH_SEASON") ? atoi(getenv("AQ_BENCH_SEASON")) : 7;
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	struct aq_arima_ws *ws = aq_arima_ws_new();
	double t0 = aq_now();
	int have = aq_auto_arima(y, nt, &ao, &m, NULL, ws, &e) == 0;
	a->fit_s = aq_now() - t0;
	struct aq_evmodel em;
	struct aq_eval_model model = {NULL, NULL};
	if (have && aq_evmodel_from_arima(&em, &m, nt, 0, ws, &e) == 0) {
		model.forecast = aq_evmodel_forecast;
		model.ctx = &em;
		if (aq_evmodel_selfcheck(&em, y, &a->selfcheck, &e))
			aq_warn("account %lld: origin filter self-check: %s", (long long)a->id, e.msg);
	} else {
		have = 0;
	}
	/* choice on the training part */
	struct aq_eval_ws ews;
	aq_eval_ws_init(&ews);
	struct aq_eval_result choice = {.account = a->id}, held = {.account = a->id};
	aq_eval_account(y, act, nt, nt, &model, &c->eo, &ews, &choice, &e);
	/* held-out: every forecaster from the training end, the combination with the chosen reference */
	struct aq_eval_opts ho = c->eo;
	ho.windows = 0;
	ho.combo_ref = choice.combo_ref;
	aq_eval_account(y, act, n, nt, &model, &ho, &ews, &held, &e);
	for (int f = 0; f < AQ_FC_N; f++)
		a->mase[f] = held.newdata[f].mase;
	a->served = choice.served;
	a->mase[AQ_FC_N] = held.newdata[choice.served].mase;
	(void)mase_of;
	if (have)
		aq_evmodel_release(&em);
	aq_eval_ws_release(&ews);
	aq_arima_model_release(&m);
	aq_arima_ws_free(ws);
	aq_series_release(&s);
	free(act);
	free(y);
	free(d);
	free(v);
	aq_progress_add(&c->prog, 1);
}

int main(int argc, char **argv)
{
	aq_log_set_prog("bench-accuracy");
	if (argc < 3) {
		fprintf(stderr, "usage: accuracy DATA.csv R_FORECASTS.csv [HOLD] [MIN_DAYS] [THREADS]\n");
		return 2;
	}
	int hold = argc > 3 ? atoi(argv[3]) : 30, min_days = argc > 4 ? atoi(argv[4]) : 120;
	int threads = argc > 5 ? atoi(argv[5]) : 0;
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		fprintf(stderr, "cannot open '%s'\n", argv[1]);
		return 1;
	}
	size_t n = 0, cap = 1 << 16;
	struct row *rows = malloc(cap * sizeof(*rows));
	char line[256];
	if (!fgets(line, sizeof(line), f)) {
		fprintf(stderr, "empty file '%s'\n", argv[1]);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (!c1 || !c2)
			continue;
		int32_t dt;
		if (aq_date_parse(line, (int)(c1 - line), &dt, NULL))
			continue;
		if (n == cap)
			rows = realloc(rows, (cap *= 2) * sizeof(*rows));
		char *end;
		double v = strtod(c2 + 1, &end);
		if (end == c2 + 1)
			v = NAN;
		rows[n++] = (struct row){strtoll(c1 + 1, NULL, 10), dt, v};
	}
	fclose(f);
	qsort(rows, n, sizeof(*rows), cmp_row);
	/* accounts */
	size_t na = 0;
	struct acct *a = calloc(n + 1, sizeof(*a));
	for (size_t i = 0; i < n;) {
		size_t j = i, valid = 0;
		while (j < n && rows[j].acc == rows[i].acc) {
			valid += isfinite(rows[j].v);
			j++;
		}
		a[na].id = rows[i].acc;
		a[na].r0 = i;
		a[na].k = j - i;
		int32_t span = rows[j - 1].date - rows[i].date + 1;
		a[na].used = valid >= (size_t)min_days && span > 3 * hold;
		for (int q = 0; q < AQ_FC_N + 2; q++)
			a[na].mase[q] = NAN;
		a[na].selfcheck = NAN;
		na++;
		i = j;
	}
	/* R forecasts: AccountOID,origin,step,mean (origin 0 = held-out) -> MASE with the same scale */
	struct ctx c = {rows, a, hold, {0}, {0}};
	aq_eval_opts_default(&c.eo);
	if (getenv("AQ_BENCH_WINDOWS"))
		c.eo.windows = atoi(getenv("AQ_BENCH_WINDOWS"));
	/* experiments only (docs/accuracy.md): the old lowest-MAE choice, another challenge margin */
	if (getenv("AQ_BENCH_CHOICE") && strcmp(getenv("AQ_BENCH_CHOICE"), "lowest") == 0)
		c.eo.choice = AQ_CHOICE_LOWEST;
	if (getenv("AQ_BENCH_MARGIN"))
		c.eo.challenge_margin = atof(getenv("AQ_BENCH_MARGIN"));
	long used = 0;
	for (size_t i = 0; i < na; i++)
		used += a[i].used;
	aq_progress_init(&c.prog, "accuracy", "series", (uint64_t)used);
	double t0 = aq_now();
	aq_parallel_for(threads, na, run_one, &c, NULL);
	aq_progress_finish(&c.prog);
	double secs = aq_now() - t0;
	FILE *rf = fopen(argv[2], "r");
	int have_r = 0;
	if (rf && fgets(line, sizeof(line), rf)) {
		have_r = 1;
		size_t ai = 0;
		double *fc = malloc((size_t)hold * sizeof(double));
		int64_t cur = -1;
		while (1) {
			char *ok = fgets(line, sizeof(line), rf);
			int64_t acc = -1;
			int origin = 0, step = 0;
			double mean = NAN;
			if (ok) {
				char *p = line;
				acc = strtoll(p, &p, 10);
				origin = (int)strtol(p + 1, &p, 10);
				step = (int)strtol(p + 1, &p, 10);
				mean = (p[1] == 'N') ? NAN : strtod(p + 1, NULL);
			}
			if (cur >= 0 && acc != cur) {
				/* score the finished account */
				while (ai < na && a[ai].id < cur)
					ai++;
				if (ai < na && a[ai].id == cur && a[ai].used) {
					const struct row *r = rows + a[ai].r0;
					int32_t first = r[0].date, last = r[a[ai].k - 1].date;
					size_t len = (size_t)(last - first + 1), nt = len - (size_t)hold;
					double *act = malloc(len * sizeof(double));
					for (size_t t = 0; t < len; t++)
						act[t] = NAN;
					for (size_t j = 0; j < a[ai].k; j++)
						act[r[j].date - first] = isfinite(r[j].v) && r[j].v >= 0 ? r[j].v : NAN;
					a[ai].mase[AQ_FC_N + 1] = mase_of(act + nt, fc, hold, aq_mase_scale(act, nt, 7));
					free(act);
				}
			}
			if (!ok)
				break;
			if (acc != cur) {
				cur = acc;
				for (int q = 0; q < hold; q++)
					fc[q] = NAN;
			}
			if (origin == 0 && step >= 1 && step <= hold)
				fc[step - 1] = mean;
		}
		free(fc);
		fclose(rf);
	} else {
		fprintf(stderr, "bench-accuracy: no R forecasts in '%s'\n", argv[2]);
	}
	/* table: mean over the accounts where every method has a finite MASE (same set for all) */
	const char *names[AQ_FC_N + 2];
	for (int f = 0; f < AQ_FC_N; f++)
		names[f] = aq_fc_name(f);
	names[AQ_FC_N] = "served";
	names[AQ_FC_N + 1] = "r_auto_arima";
	long served_n[AQ_FC_N] = {0};
	double *col = malloc((na + 1) * sizeof(double));
	size_t common = 0;
	double worst = 0;
	for (size_t i = 0; i < na; i++)
		if (a[i].used && isfinite(a[i].selfcheck))
			worst = fmax(worst, a[i].selfcheck);
	for (size_t i = 0; i < na; i++) {
		int all = a[i].used;
		for (int q = 0; q < AQ_FC_N + 1 + have_r && all; q++)
			all = isfinite(a[i].mase[q]);   /* without R's file (argv[2] = /dev/null): aquacast only */
		a[i].used = all;
		common += all;
		if (all)
			served_n[a[i].served]++;
	}
	json_t *out = json_object();
	printf("%-14s %8s %8s %8s %6s\n", "method", "mase", "median", "p90", "n");
	for (int q = 0; q < AQ_FC_N + 2; q++) {
		size_t k = 0;
		for (size_t i = 0; i < na; i++)
			if (a[i].used)
				col[k++] = a[i].mase[q];
		struct aq_agg g;
		aq_agg_compute(col, NULL, k, &g, NULL);
		printf("%-14s %8.4f %8.4f %8.4f %6ld\n", names[q], g.mean, g.median, g.q[5], g.n);
		json_object_set_new(out, names[q], json_pack("{s:f,s:f,s:I}", "mase_mean", g.mean, "mase_median",
							     g.median, "n", (json_int_t)g.n));
	}
	json_t *sv = json_object();
	for (int f = 0; f < AQ_FC_N; f++)
		json_object_set_new(sv, aq_fc_name(f), json_integer(served_n[f]));
	printf("served:");
	for (int f = 0; f < AQ_FC_N; f++)
		printf(" %s %ld%s", aq_fc_name(f), served_n[f], f + 1 < AQ_FC_N ? "," : ";");
	printf(" choice %s, margin %.2f; accounts %zu, scored by all %zu, aquacast %.2f s\n",
	       c.eo.choice == AQ_CHOICE_LOWEST ? "lowest" : "robust", c.eo.challenge_margin, na, common, secs);
	json_object_set_new(json_object_get(out, "served"), "choice", sv);
	json_object_set_new(out, "series", json_integer((json_int_t)common));
	json_object_set_new(out, "aquacast_seconds", json_real(secs));
	json_object_set_new(out, "origin_filter_max_rel_diff", json_real(worst));
	fprintf(stderr, "bench-accuracy: origin filter vs stored state: max relative difference %.3g\n", worst);
	char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(5));
	puts(s);
	free(s);
	json_decref(out);
	free(col);
	free(a);
	free(rows);
	return 0;
}
