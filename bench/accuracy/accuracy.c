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
 * Intervals and period totals (issue #15), on the held-out days: daily 80/95 %
 * coverage and mean width (pooled over days, relative to the mean actual), and
 * the totals of the first 7 and 30 held-out days (lib/metrics.h: WAPE pooled
 * over accounts, MAPE, coverage, relative width, Winkler score of the 95 %
 * interval). Every forecaster's own intervals (lib/evaluate.h, newtot); R's
 * from its forecast() sd and the psi-weight sd of the total; "served_cal" is
 * the served point forecast with the calibrated intervals of lib/calib.h,
 * fitted on the served forecaster's errors in the backtest windows before
 * the held-out days of all accounts (never the held-out days).
 *
 * arima_bc: lib/autoarima on the Box–Cox transform (lib/boxcox.h) of the
 * cleaned training part, AQ_BENCH_LAMBDA = auto (default) or log1p; the
 * median as the daily point, back-transformed quantiles as bounds, the
 * totals the sum of the bias-adjusted means (AQ_BENCH_BC_TOTAL = median |
 * fwmedian: experiments). ensemble_bc: the ensemble with arima_bc as its
 * ARIMA member. docs/accuracy.md "ARIMA on a transformed scale".
 *
 * Experiments (docs/accuracy.md): AQ_BENCH_DUMP=FILE per account (the chosen
 * ARIMA order, held-out MASE, per-window backtest MAE of every forecaster);
 * AQ_BENCH_DUMP_DAYS=FILE every forecaster's daily points at the backtest
 * origins and the held-out origin with the actuals (offline combination
 * rules); AQ_BENCH_HAMPEL_T the cleaning's outlier threshold (1e9: none).
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
#include "boxcox.h"
#include "calib.h"
#include "date.h"
#include "evaluate.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "series.h"

struct row { int64_t acc; int32_t date; double v; };

#define NTOT 2                     /* held-out totals of 7 and 30 days */
static const int tot_len[NTOT] = {7, 30};
/* methods: forecasters, served, served_cal, ARIMA on a transformed scale and the ensemble with it, R */
enum { M_SERVED = AQ_FC_N, M_CAL, M_BC, M_ENSBC, M_R, NM };

struct acct {
	int64_t id;
	size_t r0, k;          /* rows[r0 .. r0+k) */
	int used;
	double mase[NM];
	struct aq_metrics_acc day[NM];
	struct aq_total_acc tot[NM][NTOT];
	int served;
	double fit_s;
	double selfcheck;      /* day-0 filter vs stored state, relative */
	struct aq_cal_sample cal;
	double *held;          /* hold x 4: actual, served point, model sd, sd of the cumulative total */
	double wmae[AQ_EVAL_MAXWIN][AQ_FC_N];   /* backtest MAE per window (AQ_BENCH_DUMP) */
	struct aq_default_acc dflt;   /* this account's contribution to the population default */
	double btcov[3];       /* the served forecaster's own intervals on the backtest: days in 80 %, in 95 %, days */
	double scale;
	int bc_ok;             /* arima_bc has its own transformed fit */
	double bc_lambda;
	char order[64];        /* the chosen ARIMA (AQ_BENCH_DUMP) */
	double *days;          /* AQ_BENCH_DUMP_DAYS: (K + 1) origins x hold days x (actual + AQ_FC_N points) */
};

struct ctx {
	struct row *rows;
	struct acct *a;
	int hold;
	int bc_rule;           /* AQ_BENCH_LAMBDA: the transform of arima_bc (default auto) */
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

/* Median of the finite values of v[0..k) (k <= 8), NaN if none. */
static double median_of(const double *v, int k)
{
	double x[8];
	size_t m = 0;
	for (int i = 0; i < k; i++)
		if (isfinite(v[i]))
			x[m++] = v[i];
	return aq_median_inplace(x, m);
}

/*
 * arima_bc: lib/autoarima on the transform of c->bc_rule of the cleaned training part (lib/boxcox.h),
 * the median as the daily point, the back-transformed quantiles as bounds, the 30/7-day totals the sum of
 * the bias-adjusted means with aq_bc_total's interval; ensemble_bc: the ensemble with arima_bc in
 * arima's place (totals: the sum of its points, the median of the members' total bounds, as the
 * ensemble's). Without a transformed fit both are plain arima's (as train falls back).
 */
static void score_bc(struct ctx *c, struct acct *a, const double *y, size_t nt, const double *ya,
		     const double *block, struct aq_arima_ws *ws, const struct aq_path *plain)
{
	int hold = c->hold;
	struct aq_bc bc = aq_bc_auto(c->bc_rule, y, nt, 7);
	double *z = malloc(nt * sizeof(double)), *buf = malloc(12 * (size_t)hold * sizeof(double));
	aq_bc_apply(&bc, y, nt, z);
	struct aq_auto_opts ao;
	aq_auto_opts_default(&ao);
	ao.season = getenv("AQ_BENCH_SEASON") ? atoi(getenv("AQ_BENCH_SEASON")) : 7;
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	struct aq_err e = {0};
	struct aq_path pb = {buf, buf + hold, buf + 2 * hold, buf + 3 * hold, buf + 4 * hold};
	struct aq_path pe = {buf + 5 * hold, buf + 6 * hold, buf + 7 * hold, buf + 8 * hold, buf + 9 * hold};
	double *mu = buf + 10 * hold, *sd = buf + 11 * hold;
	int ok = aq_bc_active(&bc) && aq_auto_arima(z, nt, &ao, &m, NULL, ws, &e) == 0 &&
		 aq_arima_forecast(&m, hold, mu, sd, &e) == 0;
	for (int i = 0; ok && i < hold; i++)
		ok = isfinite(mu[i]) && isfinite(sd[i]);
	if (ok)
		aq_bc_path(&bc, mu, sd, hold, 0, &pb);
	else if (plain)
		for (int i = 0; i < hold; i++) {
			pb.mean[i] = plain->mean[i];
			pb.lo80[i] = plain->lo80[i];
			pb.hi80[i] = plain->hi80[i];
			pb.lo95[i] = plain->lo95[i];
			pb.hi95[i] = plain->hi95[i];
		}
	a->bc_ok = ok;
	a->bc_lambda = ok ? bc.lambda : NAN;
	int have = ok || plain;
	aq_served_forecast_path(AQ_FC_ENSEMBLE, 0, y, nt, hold, have ? &pb : NULL, &pe, NULL);
	const struct aq_path *pp[2] = {&pb, &pe};
	for (int q = 0; q < 2; q++) {
		for (int i = 0; i < hold && have; i++)
			aq_metrics_acc_add(&a->day[M_BC + q], ya[i], pp[q]->mean[i], pp[q]->lo80[i], pp[q]->hi80[i],
					   pp[q]->lo95[i], pp[q]->hi95[i]);
		struct aq_metrics mm;
		aq_metrics_finish(&a->day[M_BC + q], a->scale, &mm);
		a->mase[M_BC + q] = have ? mm.mase : NAN;
	}
	for (int j = 0; j < NTOT && have; j++) {
		int L = tot_len[j];
		double tot[AQ_FC_N][5], tb[5], te[5], sde, Y = aq_sum_complete(ya, L);
		aq_eval_block_totals(block, hold, L, 0, tot);
		double tmed;
		const char *tp = getenv("AQ_BENCH_BC_TOTAL");
		if (!ok || aq_bc_total(&bc, &m, mu, sd, 0, L, tb, &sde, &tmed, &e))
			memcpy(tb, tot[AQ_FC_ARIMA], sizeof tb);
		else if (tp && strcmp(tp, "median") == 0)
			tb[0] = aq_sum_complete(pb.mean, L);   /* experiment: the sum of the daily medians */
		else if (tp && strcmp(tp, "fwmedian") == 0)
			tb[0] = tmed;   /* experiment: the median of the total's lognormal */
		te[0] = aq_sum_complete(pe.mean, L);
		for (int k = 1; k < 5; k++) {
			double v[4] = {tb[k], tot[AQ_FC_SNAIVE7][k], tot[AQ_FC_MEAN28][k], tot[AQ_FC_MEDIAN28][k]};
			te[k] = median_of(v, 4);
		}
		aq_total_acc_add(&a->tot[M_BC][j], Y, tb[0], tb[1], tb[2], tb[3], tb[4]);
		aq_total_acc_add(&a->tot[M_ENSBC][j], Y, te[0], te[1], te[2], te[3], te[4]);
	}
	aq_arima_model_release(&m);
	free(z);
	free(buf);
}

/*
 * Experiments (AQ_BENCH_DUMP_DAYS): every forecaster's points at the backtest origins nt - k hold (k = 1..K, as
 * aq_eval_account's) and at nt (k = 0, the held-out days), with the actuals; block is scratch.
 */
static void keep_days(struct ctx *c, struct acct *a, const double *y, const double *act, size_t nt,
		      const struct aq_eval_model *model, int combo_ref, double *block)
{
	int hold = c->hold, K = c->eo.windows, F = AQ_FC_N + 1;
	free(a->days);
	a->days = malloc((size_t)(K + 1) * (size_t)hold * (size_t)F * sizeof(double));
	for (int k = 0; k <= K; k++) {
		long o = (long)nt - (long)k * hold;
		double *d = a->days + (size_t)k * (size_t)hold * (size_t)F;
		struct aq_path p[AQ_FC_N];
		const double *sd, *sdsum;
		int ok = o >= AQ_REF_WINDOW;
		if (ok)
			aq_eval_paths(y, (size_t)o, hold, model, combo_ref, block, p, &sd, &sdsum);
		for (int i = 0; i < hold; i++) {
			d[i * F] = ok ? act[o + i] : NAN;
			for (int f = 0; f < AQ_FC_N; f++)
				d[i * F + 1 + f] = ok ? p[f].mean[i] : NAN;
		}
	}
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
	if (getenv("AQ_BENCH_HAMPEL_T"))   /* experiments: the outlier threshold (1e9: no cleaning) */
		so.t = atof(getenv("AQ_BENCH_HAMPEL_T"));
	struct aq_err e = {0};
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
	snprintf(a->order, sizeof a->order, "%s", have ? aq_arima_spec_str(&m.spec, (char[64]){0}, 64) : "none");
	struct aq_evmodel em;
	struct aq_eval_model model = {NULL, NULL, NULL};
	int refit = getenv("AQ_BENCH_REFIT") && atoi(getenv("AQ_BENCH_REFIT"));   /* experiments: out-of-sample origins */
	if (have && aq_evmodel_from_arima(&em, &m, nt, refit, ws, &e) == 0) {
		model.forecast = aq_evmodel_forecast;
		model.ctx = &em;
		if (aq_evmodel_selfcheck(&em, y, &a->selfcheck, &e))
			aq_warn("account %lld: origin filter self-check: %s", (long long)a->id, e.msg);
	} else {
		have = 0;
	}
	/* choice (and the calibration sample) on the training part */
	struct aq_eval_ws ews;
	aq_eval_ws_init(&ews);
	struct aq_eval_result choice = {.account = a->id};
	aq_eval_account(y, act, nt, nt, &model, &c->eo, &ews, &choice, &e);
	a->served = choice.served;
	a->cal = choice.cal;
	memcpy(a->wmae, choice.wmae, sizeof a->wmae);
	aq_default_acc_init(&a->dflt);
	aq_default_acc_add(&a->dflt, &choice);
	a->btcov[0] = choice.backtest[choice.served].cov80 * choice.backtest[choice.served].n;
	a->btcov[1] = choice.backtest[choice.served].cov95 * choice.backtest[choice.served].n;
	a->btcov[2] = choice.backtest[choice.served].n;
	a->scale = aq_mase_scale(act, nt, 7);
	/* held-out: every forecaster from the training end, the combination with the chosen reference */
	int hold = c->hold;
	double *block = malloc(aq_eval_block_size(hold) * sizeof(double));
	struct aq_path p[AQ_FC_N];
	const double *sd, *sdsum;
	aq_eval_paths(y, nt, hold, &model, choice.combo_ref, block, p, &sd, &sdsum);
	const double *ya = act + nt;
	for (int f = 0; f < AQ_FC_N; f++) {
		for (int i = 0; i < hold; i++)
			aq_metrics_acc_add(&a->day[f], ya[i], p[f].mean[i], p[f].lo80[i], p[f].hi80[i], p[f].lo95[i],
					   p[f].hi95[i]);
		struct aq_metrics m;
		aq_metrics_finish(&a->day[f], a->scale, &m);
		a->mase[f] = m.mase;
	}
	for (int j = 0; j < NTOT; j++) {
		double tot[AQ_FC_N][5], Y = aq_sum_complete(ya, tot_len[j]);
		aq_eval_block_totals(block, hold, tot_len[j], choice.combo_ref, tot);
		for (int f = 0; f < AQ_FC_N; f++)
			aq_total_acc_add(&a->tot[f][j], Y, tot[f][0], tot[f][1], tot[f][2], tot[f][3], tot[f][4]);
		a->tot[M_SERVED][j] = a->tot[choice.served][j];
	}
	a->day[M_SERVED] = a->day[choice.served];
	a->mase[M_SERVED] = a->mase[M_CAL] = a->mase[choice.served];
	a->held = malloc(4 * (size_t)hold * sizeof(double));
	for (int i = 0; i < hold; i++) {
		a->held[i] = ya[i];
		a->held[hold + i] = p[choice.served].mean[i];
		a->held[2 * hold + i] = sd[i];
		a->held[3 * hold + i] = sdsum[i];
	}
	score_bc(c, a, y, nt, ya, block, ws, have ? &p[AQ_FC_ARIMA] : NULL);
	if (getenv("AQ_BENCH_DUMP_DAYS"))
		keep_days(c, a, y, act, nt, &model, choice.combo_ref, block);
	free(block);
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

/* Clear an account's results (before a run). */
static void acct_reset(struct acct *a)
{
	for (int q = 0; q < NM; q++) {
		a->mase[q] = NAN;
		aq_metrics_acc_init(&a->day[q]);
		for (int j = 0; j < NTOT; j++)
			aq_total_acc_init(&a->tot[q][j]);
	}
	a->selfcheck = NAN;
	free(a->held);
	a->held = NULL;
}

/* R's forecasts: AccountOID,origin,step,mean,sd,sdsum (origin 0 = held-out); scored as the others. */
static void score_r(struct acct *a, const struct row *rows, int hold, const double *fc)
{
	const struct row *r = rows + a->r0;
	int32_t first = r[0].date, last = r[a->k - 1].date;
	size_t len = (size_t)(last - first + 1), nt = len - (size_t)hold;
	double *act = malloc(len * sizeof(double));
	for (size_t t = 0; t < len; t++)
		act[t] = NAN;
	for (size_t j = 0; j < a->k; j++)
		act[r[j].date - first] = isfinite(r[j].v) && r[j].v >= 0 ? r[j].v : NAN;
	const double *m = fc, *sd = fc + hold, *ss = fc + 2 * hold, *ya = act + nt;
	for (int i = 0; i < hold; i++) {
		double l80, h80, l95, h95;
		aq_cal_interval(NULL, 1, m[i], sd[i], 0.80, &l80, &h80);
		aq_cal_interval(NULL, 1, m[i], sd[i], 0.95, &l95, &h95);
		if (!isfinite(sd[i]))
			l80 = h80 = l95 = h95 = NAN;
		aq_metrics_acc_add(&a->day[M_R], ya[i], m[i], l80, h80, l95, h95);
	}
	struct aq_metrics mm;
	aq_metrics_finish(&a->day[M_R], aq_mase_scale(act, nt, 7), &mm);
	a->mase[M_R] = mm.mase;
	for (int j = 0; j < NTOT; j++) {
		int L = tot_len[j];
		double F = aq_sum_complete(m, L), S = ss[L - 1], l80, h80, l95, h95;
		aq_cal_interval(NULL, L, F, S, 0.80, &l80, &h80);
		aq_cal_interval(NULL, L, F, S, 0.95, &l95, &h95);
		if (!isfinite(S))
			l80 = h80 = l95 = h95 = NAN;
		aq_total_acc_add(&a->tot[M_R][j], aq_sum_complete(ya, L), F, l80, h80, l95, h95);
	}
	free(act);
}

static int read_r(const char *path, const struct row *rows, struct acct *a, size_t na, int hold)
{
	FILE *rf = fopen(path, "r");
	char line[512];
	if (!rf || !fgets(line, sizeof(line), rf)) {
		fprintf(stderr, "bench-accuracy: no R forecasts in '%s'\n", path);
		if (rf)
			fclose(rf);
		return 0;
	}
	size_t ai = 0;
	double *fc = malloc(3 * (size_t)hold * sizeof(double));   /* mean, sd, sdsum */
	int64_t cur = -1;
	while (1) {
		char *ok = fgets(line, sizeof(line), rf);
		int64_t acc = -1;
		int origin = 0, step = 0;
		double v[3] = {NAN, NAN, NAN};
		if (ok) {
			char *q = line;
			acc = strtoll(q, &q, 10);
			origin = (int)strtol(q + 1, &q, 10);
			step = (int)strtol(q + 1, &q, 10);
			for (int j = 0; j < 3 && *q == ','; j++) {
				char *end;
				v[j] = (q[1] == 'N') ? NAN : strtod(q + 1, &end);
				q = strchr(q + 1, ',') ? strchr(q + 1, ',') : q + strlen(q);
			}
		}
		if (cur >= 0 && acc != cur) {
			while (ai < na && a[ai].id < cur)
				ai++;
			if (ai < na && a[ai].id == cur && a[ai].used)
				score_r(&a[ai], rows, hold, fc);
		}
		if (!ok)
			break;
		if (acc != cur) {
			cur = acc;
			for (int q = 0; q < 3 * hold; q++)
				fc[q] = NAN;
		}
		if (origin == 0 && step >= 1 && step <= hold)
			for (int j = 0; j < 3; j++)
				fc[j * hold + step - 1] = v[j];
	}
	free(fc);
	fclose(rf);
	return 1;
}

/* served_cal: the served point forecast with the intervals calibrated on every account's backtest (lib/calib.h). */
static void calibrate(struct acct *a, size_t na, int hold)
{
	const struct aq_cal_sample **s = calloc(na + 1, sizeof(*s));
	struct aq_cal *cal = calloc(na + 1, sizeof(*cal));
	struct aq_err e = {0};
	for (size_t i = 0; i < na; i++)
		s[i] = a[i].used ? &a[i].cal : NULL;
	struct aq_cal_opts co;
	aq_cal_opts_default(&co);
	co.forward = getenv("AQ_BENCH_CAL_FORWARD") != NULL;   /* experiments (docs/accuracy.md) */
	if (aq_cal_fit(s, na, &co, cal, &e))
		fprintf(stderr, "bench-accuracy: no calibration: %s\n", e.msg);
	for (size_t i = 0; i < na; i++) {
		if (!a[i].used || !a[i].held)
			continue;
		const double *ya = a[i].held, *f = ya + hold, *sd = f + hold, *ss = sd + hold;
		for (int t = 0; t < hold; t++) {
			double l80, h80, l95, h95;
			aq_cal_interval(&cal[i], 1, f[t], sd[t], 0.80, &l80, &h80);
			aq_cal_interval(&cal[i], 1, f[t], sd[t], 0.95, &l95, &h95);
			if (!isfinite(sd[t]))
				l80 = h80 = l95 = h95 = NAN;
			aq_metrics_acc_add(&a[i].day[M_CAL], ya[t], f[t], l80, h80, l95, h95);
		}
		for (int j = 0; j < NTOT; j++) {
			int L = tot_len[j];
			double F = aq_sum_complete(f, L), S = ss[L - 1], l80, h80, l95, h95;
			aq_cal_interval(&cal[i], L, F, S, 0.80, &l80, &h80);
			aq_cal_interval(&cal[i], L, F, S, 0.95, &l95, &h95);
			if (!isfinite(S))
				l80 = h80 = l95 = h95 = NAN;
			aq_total_acc_add(&a[i].tot[M_CAL][j], aq_sum_complete(ya, L), F, l80, h80, l95, h95);
		}
	}
	free(s);
	free(cal);
}

static json_t *tot_json(const struct aq_total_metrics *t)
{
	return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I}", "wape", t->wape, "mape", t->mape, "cov80", t->cov80,
			 "cov95", t->cov95, "width80", t->width80, "width95", t->width95, "winkler95", t->winkler95, "n",
			 (json_int_t)t->n);
}

/* The per-method table over the accounts used; its numbers into out. */
static void print_table(const struct acct *a, size_t na, const char *const *names, json_t *out)
{
	double *col = malloc((na + 1) * sizeof(double));
	printf("%-13s %7s %7s %5s %5s %6s %6s | %7s %7s %7s %5s %5s %6s %6s %5s\n", "method", "mase", "median",
	       "cov80", "cov95", "w80", "w95", "wape7", "wape30", "mape30", "tc80", "tc95", "tw80", "tw95", "n30");
	for (int q = 0; q < NM; q++) {
		size_t k = 0;
		struct aq_metrics_acc d;
		struct aq_total_acc t[NTOT];
		aq_metrics_acc_init(&d);
		for (int j = 0; j < NTOT; j++)
			aq_total_acc_init(&t[j]);
		for (size_t i = 0; i < na; i++)
			if (a[i].used) {
				col[k++] = a[i].mase[q];
				aq_metrics_acc_merge(&d, &a[i].day[q]);
				for (int j = 0; j < NTOT; j++)
					aq_total_acc_merge(&t[j], &a[i].tot[q][j]);
			}
		struct aq_agg g;
		struct aq_metrics dm;
		struct aq_total_metrics tm[NTOT];
		aq_agg_compute(col, NULL, k, &g, NULL);
		aq_metrics_finish(&d, NAN, &dm);
		for (int j = 0; j < NTOT; j++)
			aq_total_finish(&t[j], &tm[j]);
		double my = d.n ? d.sum_y / (double)d.n : NAN;   /* daily widths relative to the mean actual */
		printf("%-13s %7.4f %7.4f %5.1f %5.1f %6.3f %6.3f | %7.4f %7.4f %7.4f %5.1f %5.1f %6.3f %6.3f %5ld\n",
		       names[q], g.mean, g.median, 100 * dm.cov80, 100 * dm.cov95, dm.width80 / my, dm.width95 / my,
		       tm[0].wape, tm[1].wape, tm[1].mape, 100 * tm[1].cov80, 100 * tm[1].cov95, tm[1].width80,
		       tm[1].width95, tm[1].n);
		json_t *jm = json_pack("{s:f,s:f,s:I,s:f,s:f,s:f,s:f}", "mase_mean", g.mean, "mase_median", g.median,
				       "n", (json_int_t)g.n, "cov80", dm.cov80, "cov95", dm.cov95, "width80",
				       dm.width80 / my, "width95", dm.width95 / my);
		json_object_set_new(jm, "total7", tot_json(&tm[0]));
		json_object_set_new(jm, "total30", tot_json(&tm[1]));
		json_object_set_new(out, names[q], jm);
	}
	printf("(daily: mean MASE over accounts, coverage %% and mean width / mean actual pooled over days;\n"
	       " totals of the first 7 / 30 held-out days: WAPE pooled over accounts, MAPE, coverage %%, width / total)\n");
	free(col);
}

/*
 * Experiments (AQ_BENCH_DUMP=FILE, docs/accuracy.md): per account scored by
 * all, the held-out MASE and |error| of the 30-day total of every
 * forecaster, and its backtest MAE per window (k = 1 the latest), as CSV.
 */
static void dump(const char *path, const struct acct *a, size_t na, int K)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "bench-accuracy: cannot write '%s'\n", path);
		return;
	}
	fprintf(f, "account,served,order,scale");
	for (int q = 0; q < AQ_FC_N; q++)
		fprintf(f, ",mase_%s,abs30_%s,y30_%s", aq_fc_name(q), aq_fc_name(q), aq_fc_name(q));
	for (int k = 0; k < K && k < AQ_EVAL_MAXWIN; k++)
		for (int q = 0; q < AQ_FC_N; q++)
			fprintf(f, ",w%d_%s", k + 1, aq_fc_name(q));
	fputc('\n', f);
	for (size_t i = 0; i < na; i++) {
		if (!a[i].used)
			continue;
		fprintf(f, "%lld,%s,\"%s\",%.9g", (long long)a[i].id, aq_fc_name(a[i].served), a[i].order, a[i].scale);
		for (int q = 0; q < AQ_FC_N; q++)
			fprintf(f, ",%.9g,%.9g,%.9g", a[i].mase[q], a[i].tot[q][1].n ? a[i].tot[q][1].sum_abs : NAN,
				a[i].tot[q][1].n ? a[i].tot[q][1].sum_abs_y : NAN);
		for (int k = 0; k < K && k < AQ_EVAL_MAXWIN; k++)
			for (int q = 0; q < AQ_FC_N; q++)
				fprintf(f, ",%.9g", a[i].wmae[k][q]);
		fputc('\n', f);
	}
	fclose(f);
}

/* AQ_BENCH_DUMP_DAYS=FILE: account,scale,k,day,actual,<forecasters> for every account scored by all. */
static void dump_days(const char *path, const struct acct *a, size_t na, int K, int hold)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "bench-accuracy: cannot write '%s'\n", path);
		return;
	}
	int F = AQ_FC_N + 1;
	fprintf(f, "account,scale,k,day,actual");
	for (int q = 0; q < AQ_FC_N; q++)
		fprintf(f, ",%s", aq_fc_name(q));
	fputc('\n', f);
	for (size_t i = 0; i < na; i++) {
		if (!a[i].used || !a[i].days)
			continue;
		for (int k = 0; k <= K; k++)
			for (int t = 0; t < hold; t++) {
				const double *d = a[i].days + ((size_t)k * (size_t)hold + (size_t)t) * (size_t)F;
				fprintf(f, "%lld,%.9g,%d,%d", (long long)a[i].id, a[i].scale, k, t);
				for (int q = 0; q < F; q++)
					fprintf(f, ",%.9g", d[q]);
				fputc('\n', f);
			}
	}
	fclose(f);
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
	size_t nacc = n > 0;
	for (size_t i = 1; i < n; i++)
		nacc += rows[i].acc != rows[i - 1].acc;
	struct acct *a = calloc(nacc + 1, sizeof(*a));
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
		acct_reset(&a[na]);
		na++;
		i = j;
	}
	/* R forecasts: AccountOID,origin,step,mean (origin 0 = held-out) -> MASE with the same scale */
	struct ctx c = {rows, a, hold, AQ_BC_RULE_AUTO, {0}, {0}};
	aq_eval_opts_default(&c.eo);
	if (getenv("AQ_BENCH_LAMBDA") && aq_bc_rule_parse(getenv("AQ_BENCH_LAMBDA"), &c.bc_rule)) {
		fprintf(stderr, "bench-accuracy: AQ_BENCH_LAMBDA must be none, log1p or auto\n");
		return 2;
	}
	if (getenv("AQ_BENCH_WINDOWS"))
		c.eo.windows = atoi(getenv("AQ_BENCH_WINDOWS"));
	/* experiments only (docs/accuracy.md): the old lowest-MAE choice, another challenge margin */
	if (getenv("AQ_BENCH_CHOICE") && strcmp(getenv("AQ_BENCH_CHOICE"), "lowest") == 0)
		c.eo.choice = AQ_CHOICE_LOWEST;
	if (getenv("AQ_BENCH_CAL_SCALE"))   /* enum aq_cal_scale: 0 none, 1 level, 2 sqrt level, 3 spread */
		c.eo.cal_scale = atoi(getenv("AQ_BENCH_CAL_SCALE"));
	if (getenv("AQ_BENCH_MARGIN"))
		c.eo.challenge_margin = atof(getenv("AQ_BENCH_MARGIN"));
	long used = 0;
	for (size_t i = 0; i < na; i++)
		used += a[i].used;
	aq_progress_init(&c.prog, "accuracy", "series", (uint64_t)used);
	double t0 = aq_now();
	aq_parallel_for(threads, na, run_one, &c, NULL);
	aq_progress_finish(&c.prog);
	/* the population default (lib/evaluate.h), learnt from every account's backtest as evaluate does on its
	   sample; when it is not the ensemble, every account's choice again with it (AQ_BENCH_DEFAULT=ensemble: off) */
	struct aq_default_acc dacc;
	aq_default_acc_init(&dacc);
	for (size_t i = 0; i < na; i++)
		if (a[i].used)
			aq_default_acc_merge(&dacc, &a[i].dflt);
	double dgain = 0;
	long dn = 0;
	int dfc = aq_default_choose(&dacc, &dgain, &dn);
	if (getenv("AQ_BENCH_DEFAULT"))
		dfc = strcmp(getenv("AQ_BENCH_DEFAULT"), "ensemble") == 0 ? AQ_FC_ENSEMBLE : dfc;
	fprintf(stderr, "bench-accuracy: population default %s (mean backtest gain over the ensemble %.4f, %ld accounts)\n",
		aq_fc_name(dfc), dgain, dn);
	if (dfc != AQ_FC_ENSEMBLE && c.eo.choice == AQ_CHOICE_ROBUST) {
		c.eo.default_fc = dfc;
		for (size_t i = 0; i < na; i++)
			acct_reset(&a[i]);
		aq_progress_init(&c.prog, "accuracy (default)", "series", (uint64_t)used);
		aq_parallel_for(threads, na, run_one, &c, NULL);
		aq_progress_finish(&c.prog);
	}
	double secs = aq_now() - t0;
	int have_r = read_r(argv[2], rows, a, na, hold);
	calibrate(a, na, hold);
	/* table: mean over the accounts where every method has a finite MASE (same set for all) */
	const char *names[NM];
	for (int f = 0; f < AQ_FC_N; f++)
		names[f] = aq_fc_name(f);
	names[M_SERVED] = "served";
	names[M_CAL] = "served_cal";
	names[M_BC] = "arima_bc";
	names[M_ENSBC] = "ensemble_bc";
	names[M_R] = "r_auto_arima";
	long served_n[AQ_FC_N] = {0};
	size_t common = 0;
	double worst = 0;
	for (size_t i = 0; i < na; i++)
		if (a[i].used && isfinite(a[i].selfcheck))
			worst = fmax(worst, a[i].selfcheck);
	for (size_t i = 0; i < na; i++) {
		int all = a[i].used;
		for (int q = 0; q < (have_r ? NM : M_R) && all; q++)
			all = isfinite(a[i].mase[q]);   /* without R's file (argv[2] = /dev/null): aquacast only */
		a[i].used = all;
		common += all;
		if (all)
			served_n[a[i].served]++;
	}
	if (getenv("AQ_BENCH_DUMP"))
		dump(getenv("AQ_BENCH_DUMP"), a, na, c.eo.windows);
	if (getenv("AQ_BENCH_DUMP_DAYS"))
		dump_days(getenv("AQ_BENCH_DUMP_DAYS"), a, na, c.eo.windows, hold);
	json_t *out = json_object();
	print_table(a, na, names, out);
	double bc[3] = {0, 0, 0};
	for (size_t i = 0; i < na; i++)
		for (int j = 0; j < 3 && a[i].used; j++)
			bc[j] += isfinite(a[i].btcov[j]) ? a[i].btcov[j] : 0;
	printf("served on the backtest windows (own intervals): cov80 %.1f cov95 %.1f (%.0f days)\n", 100 * bc[0] / bc[2],
	       100 * bc[1] / bc[2], bc[2]);
	json_t *sv = json_object();
	for (int f = 0; f < AQ_FC_N; f++)
		json_object_set_new(sv, aq_fc_name(f), json_integer(served_n[f]));
	printf("served:");
	for (int f = 0; f < AQ_FC_N; f++)
		printf(" %s %ld%s", aq_fc_name(f), served_n[f], f + 1 < AQ_FC_N ? "," : ";");
	printf(" default %s (gain %.4f over %ld accounts);", aq_fc_name(c.eo.default_fc), dgain, dn);
	printf(" choice %s, margin %.2f; accounts %zu, scored by all %zu, aquacast %.2f s\n",
	       c.eo.choice == AQ_CHOICE_LOWEST ? "lowest" : "robust", c.eo.challenge_margin, na, common, secs);
	json_object_set_new(json_object_get(out, "served"), "choice", sv);
	json_object_set_new(out, "series", json_integer((json_int_t)common));
	{
		size_t nbc = 0, k = 0;
		double *lam = malloc((na + 1) * sizeof(double));
		for (size_t i = 0; i < na; i++)
			if (a[i].used) {
				nbc += a[i].bc_ok;
				if (isfinite(a[i].bc_lambda))
					lam[k++] = a[i].bc_lambda;
			}
		struct aq_agg g;
		aq_agg_compute(lam, NULL, k, &g, NULL);
		printf("arima_bc: transform %s, own fit on %zu of %zu accounts, lambda median %.3f\n",
		       aq_bc_rule_name(c.bc_rule), nbc, common, g.median);
		json_object_set_new(out, "arima_bc_transform", json_pack("{s:s,s:I,s:f}", "rule", aq_bc_rule_name(c.bc_rule),
							      "own_fit", (json_int_t)nbc, "lambda_median", isfinite(g.median) ? g.median : -1.0));
		free(lam);
	}
	json_object_set_new(out, "aquacast_seconds", json_real(secs));
	json_object_set_new(out, "origin_filter_max_rel_diff", json_real(worst));
	fprintf(stderr, "bench-accuracy: origin filter vs stored state: max relative difference %.3g\n", worst);
	char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(5));
	puts(s);
	free(s);
	json_decref(out);
	for (size_t i = 0; i < na; i++) {
		free(a[i].held);
		free(a[i].days);
	}
	free(a);
	free(rows);
	return 0;
}
