/* evalset.c — evaluate a model set on a readings dataset: per part, per account (lib/evaluate.h), metrics/models/summary/decision outputs. */
#include "evalset.h"

#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "evalmodel.h"
#include "fs.h"
#include "inspect.h"
#include "log.h"
#include "manifest.h"
#include "merge.h"
#include "model.h"
#include "pool.h"
#include "series.h"

void aq_evalset_opts_default(struct aq_evalset_opts *o)
{
	memset(o, 0, sizeof(*o));
	aq_eval_opts_default(&o->eo);
	aq_gate_opts_default(&o->go);
	o->warmup = AQ_EVMODEL_WARMUP;
}


struct acct {
	int64_t account;
	int status;
	int no_overlap;
	struct aq_eval_result r;
	char served[24];
	int gate_compared, replace, worse;   /* replace: -1 when no champion row */
	double champion_mae, challenger_mae, champion_mase, challenger_mase;
	int32_t anomaly_since;
	int missing;          /* the champion has a row and the readings go on, the challenger has none */
};

/*
 * What the pooled steps read of an account once its part is written
 * (metrics): the tally's inputs, the served model row's changes, where its
 * calibration values are. ~0.3 KB instead of struct acct's 7.5 KB.
 */
struct kept {
	int64_t account;
	int status, no_overlap, missing, served;
	int gate_compared, replace, worse;
	int evaluated;                       /* OK or NO_NEW_DATA: has a calibration sample */
	double nd_mase[AQ_FC_N], bt_mase[AQ_FC_N], nd_mae[AQ_FC_N];
	double sum_y, bt_arima_mae, champion_mase, challenger_mase, served_margin;
	char served_str[24];
	json_t *anomaly;                     /* its entry of the anomaly list, NULL: none */
	int anomaly_kind;
	size_t cal_at;                       /* its values in the part's cal_z/cal_w, kind-major */
	int cal_n[AQ_CAL_NK];
};

/* An account of the default's sample (learn_default): its evaluation, re-chosen in the full pass. */
struct learnt {
	int64_t account;
	int no_overlap;
	struct aq_eval_result r;
	struct aq_eval_alts alts;
};

struct part_out {
	size_t n, cap;
	struct acct *a;       /* while the part is evaluated; freed once written (keep) */
	size_t nk;
	struct kept *keep;    /* every account of the part, after its metrics are written */
	size_t ncal, calcap;
	float *cal_z;         /* the calibration values of the part's accounts */
	unsigned char *cal_w;
	size_t nl, lcap, lcur;
	struct learnt *learnt;   /* the default's sample: evaluated once, re-chosen (learn_default) */
	long refits, resets, arima_failures, innov, kalman;
	long champion_rows;   /* the champion's accounts in this part */
	long evaluations, reused;
	double refit_seconds;
	int failed;
	struct aq_err err;
	struct aq_default_acc dacc;   /* the learning pass: this part's backtest gains */
};

struct job {
	struct aq_dataset mds, rds, cds, eds, ods;
	int have_champion;
	struct aq_eval_opts eo;
	struct aq_gate_opts go;
	int refit;
	long warmup;
	uint64_t key;
	uint64_t accounts;            /* of the model set (manifest) */
	int learning;                 /* the population default's pass: choice only, no output */
	int default_parts;            /* parts it sampled (0: not learnt) */
	long default_n;
	double default_gain;
	struct part_out *parts;
	struct aq_progress prog;
};

/* Grow-only string column builder. */
struct strcol {
	size_t n, len, cap, ncap;
	uint8_t *data;
	uint64_t *off;
};

static int strcol_push(struct strcol *c, const char *s)
{
	size_t l = strlen(s);
	if (c->n + 2 > c->ncap) {
		size_t nc = c->ncap ? 2 * c->ncap : 64;
		uint64_t *o = realloc(c->off, nc * sizeof(*o));
		if (!o)
			return -1;
		c->off = o;
		c->ncap = nc;
		if (c->n == 0)
			c->off[0] = 0;
	}
	if (c->len + l > c->cap) {
		size_t nc = c->cap ? 2 * c->cap : 256;
		while (nc < c->len + l)
			nc *= 2;
		uint8_t *d = realloc(c->data, nc);
		if (!d)
			return -1;
		c->data = d;
		c->cap = nc;
	}
	memcpy(c->data + c->len, s, l);
	c->len += l;
	c->off[++c->n] = c->len;
	return 0;
}

static void strcol_free(struct strcol *c)
{
	free(c->data);
	free(c->off);
	memset(c, 0, sizeof(*c));
}

/*
 * Schema aquacast.metrics v2 (docs/formats.md): v1's 17 columns, then the
 * daily interval widths and, per total horizon h of aq_tot_horizons, the
 * period-total metrics of lib/metrics.h (TotN INT32 and 6 DOUBLE columns).
 */
#define TOT_NCOL 6   /* WAPE, MAPE, Cov80, Cov95, Width95, Winkler95 */
#define METRICS_V1_NCOLS 17
#define METRICS_NCOLS (METRICS_V1_NCOLS + 2 + AQ_TOT_NH * (1 + TOT_NCOL))
static const struct aq_pq_column metrics_cols[METRICS_NCOLS] = {
	{"AccountOID", AQ_PQ_INT64, AQ_PQ_NONE},  {"Scope", AQ_PQ_BYTES, AQ_PQ_STRING},
	{"Forecaster", AQ_PQ_BYTES, AQ_PQ_STRING}, {"Status", AQ_PQ_BYTES, AQ_PQ_STRING},
	{"N", AQ_PQ_INT32, AQ_PQ_NONE},            {"MAE", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"RMSE", AQ_PQ_DOUBLE, AQ_PQ_NONE},        {"MASE", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"WAPE", AQ_PQ_DOUBLE, AQ_PQ_NONE},        {"Bias", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Cov80", AQ_PQ_DOUBLE, AQ_PQ_NONE},       {"Cov95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Scale", AQ_PQ_DOUBLE, AQ_PQ_NONE},       {"Served", AQ_PQ_BYTES, AQ_PQ_STRING},
	{"ServedMargin", AQ_PQ_DOUBLE, AQ_PQ_NONE}, {"Replace", AQ_PQ_INT32, AQ_PQ_NONE},
	{"Anomaly", AQ_PQ_BYTES, AQ_PQ_STRING},    {"Width80", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Width95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	/* per h in aq_tot_horizons (7, 30, 90): N, then tot_names */
	{"Tot7N", AQ_PQ_INT32, AQ_PQ_NONE},
	{"Tot7WAPE", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot7MAPE", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot7Cov80", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot7Cov95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot7Width95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot7Winkler95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot30N", AQ_PQ_INT32, AQ_PQ_NONE},
	{"Tot30WAPE", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot30MAPE", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot30Cov80", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot30Cov95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot30Width95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot30Winkler95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot90N", AQ_PQ_INT32, AQ_PQ_NONE},
	{"Tot90WAPE", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot90MAPE", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot90Cov80", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot90Cov95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot90Width95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Tot90Winkler95", AQ_PQ_DOUBLE, AQ_PQ_NONE},
};
static const struct aq_pq_schema metrics_schema = {"aquacast.metrics", 2, METRICS_NCOLS, metrics_cols};

/* Value m (0: N) of a total's metrics. */
static double tot_value(const struct aq_total_metrics *t, int m)
{
	const double v[TOT_NCOL] = {t->wape, t->mape, t->cov80, t->cov95, t->width95, t->winkler95};
	return m ? v[m - 1] : (double)t->n;
}

static int write_metrics(const struct aq_dataset *ds, int part, uint64_t key, const struct part_out *po,
			 struct aq_err *e)
{
	size_t cap = po->n * 2 * AQ_FC_N + 1;
	int64_t *acc = malloc(cap * sizeof(*acc));
	int32_t *nn = malloc(cap * sizeof(*nn)), *rep = malloc(cap * sizeof(*rep));
	double *d[11];
	for (int j = 0; j < 11; j++)
		d[j] = malloc(cap * sizeof(double));
	int32_t *tn[AQ_TOT_NH];
	double *td[AQ_TOT_NH][TOT_NCOL];
	for (int h = 0; h < AQ_TOT_NH; h++) {
		tn[h] = malloc(cap * sizeof(int32_t));
		for (int m = 0; m < TOT_NCOL; m++)
			td[h][m] = malloc(cap * sizeof(double));
	}
	struct strcol scope = {0}, fc = {0}, st = {0}, sv = {0}, an = {0};
	int rc = 0;
	size_t k = 0;
	for (int j = 0; j < 11; j++)
		if (!d[j])
			rc = -1;
	for (int h = 0; h < AQ_TOT_NH; h++)
		for (int m = 0; m <= TOT_NCOL; m++)
			if (!(m ? (void *)td[h][m - 1] : (void *)tn[h]))
				rc = -1;
	if (!acc || !nn || !rep || rc) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate the metrics of part %d", part);
		goto out;
	}
	for (size_t i = 0; i < po->n; i++) {
		const struct acct *a = &po->a[i];
		int evaluated = a->status == AQ_EVAL_OK || a->status == AQ_EVAL_NO_NEW_DATA;
		for (int s = 0; s < 2; s++)
			for (int f = 0; f < AQ_FC_N; f++) {
				if (!evaluated && (s || f))
					continue;
				const struct aq_metrics *m = s ? &a->r.backtest[f] : &a->r.newdata[f];
				acc[k] = a->account;
				nn[k] = evaluated ? (int32_t)m->n : 0;
				double v[11] = {m->mae,	  m->rmse,	m->mase,		m->wape,
						m->bias,  m->cov80,	m->cov95,		a->r.scale,
						a->r.served_margin, m->width80, m->width95};
				for (int j = 0; j < 11; j++)
					d[j][k] = evaluated ? v[j] : NAN;
				for (int h = 0; h < AQ_TOT_NH; h++) {
					const struct aq_total_metrics *t = s ? &a->r.bttot[f][h] : &a->r.newtot[f][h];
					tn[h][k] = evaluated ? (int32_t)t->n : 0;
					for (int q = 1; q <= TOT_NCOL; q++)
						td[h][q - 1][k] = evaluated ? tot_value(t, q) : NAN;
				}
				rep[k] = a->replace;
				char fname[24];
				if (f == AQ_FC_COMBO)
					aq_served_str(AQ_FC_COMBO, a->r.combo_ref, fname, sizeof(fname));
				else
					snprintf(fname, sizeof(fname), "%s", aq_fc_name(f));
				if (strcol_push(&scope, evaluated ? (s ? "backtest" : "new") : "none") ||
				    strcol_push(&fc, evaluated ? fname : "") ||
				    strcol_push(&st, aq_eval_status_name(a->status)) || strcol_push(&sv, a->served) ||
				    strcol_push(&an, aq_anomaly_kind_name(a->r.anomaly.kind))) {
					rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate the metrics strings of part %d", part);
					goto out;
				}
				k++;
			}
	}
	if (k == 0)
		goto out;
	struct aq_pq_bytes b_scope = {scope.data, scope.off}, b_fc = {fc.data, fc.off}, b_st = {st.data, st.off},
			   b_sv = {sv.data, sv.off}, b_an = {an.data, an.off};
	const void *cols[METRICS_NCOLS] = {acc,	 &b_scope, &b_fc, &b_st, nn,   d[0], d[1], d[2], d[3], d[4],
					   d[5], d[6],	   d[7],  &b_sv, d[8], rep,  &b_an, d[9], d[10]};
	for (int h = 0, c = METRICS_V1_NCOLS + 2; h < AQ_TOT_NH; h++)
		for (int q = 0; q <= TOT_NCOL; q++)
			cols[c++] = q ? (const void *)td[h][q - 1] : (const void *)tn[h];
	char *path = aq_dataset_batch_path(ds, part, key, "evaluate");
	char *dir = aq_dataset_part_dir(ds, part);
	if (!path || !dir) {
		free(path);
		free(dir);
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate a path");
		goto out;
	}
	struct aq_pq_writer w;
	if (!(rc = aq_fs_mkdir_p(dir, e)) && !(rc = aq_pq_writer_open(&w, path, &metrics_schema, NULL, e))) {
		if ((rc = aq_pq_writer_write(&w, k, cols, e)))
			aq_pq_writer_abort(&w);
		else
			rc = aq_pq_writer_close(&w, e);
	}
	free(path);
	free(dir);
out:
	free(acc);
	free(nn);
	free(rep);
	for (int j = 0; j < 11; j++)
		free(d[j]);
	for (int h = 0; h < AQ_TOT_NH; h++) {
		free(tn[h]);
		for (int q = 0; q < TOT_NCOL; q++)
			free(td[h][q]);
	}
	strcol_free(&scope);
	strcol_free(&fc);
	strcol_free(&st);
	strcol_free(&sv);
	strcol_free(&an);
	return rc;
}

/*
 * An account's series on the calendar of a model: day 0 = first, n days.
 * y: cleaned (lib/series.h), act: the readings as they arrived (negative or
 * non-finite = NaN). n = max(n_train, last reading - first + 1).
 */
static int align(const struct aq_series *s, const int32_t *date, const double *value, size_t k, int32_t first,
		 size_t n_train, double **py, double **pa, size_t *pn, int *no_overlap)
{
	int32_t last = k ? date[k - 1] : first - 1;
	size_t n = n_train;
	if (last >= first && (size_t)(last - first + 1) > n)
		n = (size_t)(last - first + 1);
	*no_overlap = k == 0 || last < first;
	double *y = malloc((n ? n : 1) * sizeof(*y)), *a = malloc((n ? n : 1) * sizeof(*a));
	if (!y || !a) {
		free(y);
		free(a);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		y[i] = a[i] = NAN;
	for (size_t i = 0; i < s->n; i++) {
		long idx = (long)s->first + (long)i - first;
		if (idx >= 0 && (size_t)idx < n)
			y[idx] = s->y[i];
	}
	for (size_t i = 0; i < k; i++) {
		long idx = (long)date[i] - first;
		if (idx >= 0 && (size_t)idx < n)
			a[idx] = (isfinite(value[i]) && value[i] >= 0) ? value[i] : NAN;
	}
	*py = y;
	*pa = a;
	*pn = n;
	return 0;
}

static int po_push(struct part_out *po, struct acct **out)
{
	if (po->n == po->cap) {
		size_t nc = po->cap ? 2 * po->cap : 256;
		struct acct *a = realloc(po->a, nc * sizeof(*a));
		if (!a)
			return -1;
		po->a = a;
		po->cap = nc;
	}
	*out = &po->a[po->n++];
	memset(*out, 0, sizeof(**out));
	(*out)->replace = -1;
	(*out)->champion_mae = (*out)->challenger_mae = (*out)->champion_mase = (*out)->challenger_mase = NAN;
	(*out)->r.served_margin = NAN;
	return 0;
}

/* Score one model row on y/act at origin index `origin` (windows as given): the served path's MAE. */
static int gate_score(const struct aq_model_row *row, const struct aq_series *s, const int32_t *date,
		      const double *value, size_t k, int32_t origin_date, const char *served, int combo_ref_hint,
		      const struct aq_eval_opts *eo, struct aq_eval_ws *ws, double *mae, struct aq_err *e)
{
	*mae = NAN;
	if (origin_date < row->trained_until || row->first_date > row->trained_until)
		return 0;
	size_t n_train = (size_t)(row->trained_until - row->first_date + 1);
	size_t origin = (size_t)(origin_date - row->first_date + 1);
	double *y, *a;
	size_t n;
	int nov;
	if (align(s, date, value, k, row->first_date, n_train, &y, &a, &n, &nov))
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate a series");
	if (origin > n)
		origin = n;
	struct aq_evmodel em;
	aq_evmodel_from_row(&em, row, n_train, 0, NULL, e);
	struct aq_eval_model m = {aq_evmodel_forecast, &em, aq_evmodel_sdsum};
	struct aq_eval_opts o = *eo;
	o.windows = 0;
	struct aq_eval_result r = {.account = row->account};
	int fc = AQ_FC_ARIMA, ref;
	if (aq_served_parse(served, &fc, &ref))
		fc = AQ_FC_ARIMA;
	(void)combo_ref_hint;
	o.combo_ref = fc == AQ_FC_COMBO ? ref : -1;
	int rc = aq_eval_account(y, y, n, origin, &m, &o, ws, &r, e);
	if (rc == 0 && r.status == AQ_EVAL_OK)
		*mae = r.newdata[fc].mae;
	aq_evmodel_release(&em);
	free(y);
	free(a);
	return rc;
}

static int keep_part(struct part_out *po, struct aq_err *e);

/* A learnt account's entry of the sample (learn_default), or NULL (the part was not sampled). */
static struct learnt *learnt_next(struct part_out *po, int64_t account, struct aq_err *e)
{
	if (po->lcur >= po->nl || po->learnt[po->lcur].account != account) {
		aq_err_set(e, AQ_EIO, "account %lld was not in the default's sample of its part", (long long)account);
		return NULL;
	}
	return &po->learnt[po->lcur++];
}

static int learnt_push(struct part_out *po, struct learnt **out)
{
	if (po->nl == po->lcap) {
		size_t nc = po->lcap ? 2 * po->lcap : 64;
		struct learnt *l = realloc(po->learnt, nc * sizeof(*l));
		if (!l)
			return -1;
		po->learnt = l;
		po->lcap = nc;
	}
	*out = &po->learnt[po->nl++];
	return 0;
}

/*
 * Account a (its row, cleaned series s, readings date/value[0..k)) evaluated
 * on the model's calendar. In the default's learning pass with the
 * candidates' alternatives, kept (struct learnt) and counted into dacc; in
 * the full pass of a sampled part that evaluation re-chosen with the learnt
 * default instead of forecasting again (the same result: aq_eval_rechoose).
 */
static int eval_account(struct job *j, struct part_out *po, struct acct *a, const struct aq_model_row *row,
			const struct aq_series *s, const int32_t *date, const double *value, size_t k,
			struct aq_eval_ws *ws, struct aq_arima_ws *aws, struct aq_err *e)
{
	if (!j->learning && po->nl) {
		struct learnt *l = learnt_next(po, a->account, e);
		if (!l)
			return e->code;
		a->no_overlap = l->no_overlap;
		a->r = l->r;
		aq_eval_rechoose(&j->eo, &l->alts, &a->r);
		a->status = a->r.status;
		po->reused++;
		return 0;
	}
	struct learnt *l = NULL;
	if (j->learning && learnt_push(po, &l))
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate the default's sample");
	size_t n_train = (size_t)(row->trained_until - row->first_date + 1), n;
	double *y, *act;
	if (align(s, date, value, k, row->first_date, n_train, &y, &act, &n, &a->no_overlap))
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate a series");
	struct aq_evmodel em;
	aq_evmodel_from_row(&em, row, n_train, j->refit, aws, e);
	em.warmup = (size_t)j->warmup;
	struct aq_eval_model m = {aq_evmodel_forecast, &em, aq_evmodel_sdsum};
	/* scored against the cleaned readings: invalid values and gross spikes
	   (meter faults, lib/series.h rule) are missing, not scored */
	int rc = aq_eval_account_alts(y, y, n, n_train, &m, &j->eo, ws, &a->r, l ? &l->alts : NULL, e);
	po->evaluations++;
	po->refits += em.refits;
	po->resets += em.resets;
	po->innov += em.in.used;
	po->kalman += em.in.fallbacks;
	po->refit_seconds += em.refit_seconds;
	po->arima_failures += a->r.arima_failures;
	aq_evmodel_release(&em);
	free(y);
	free(act);
	if (rc)
		return rc;
	a->status = a->r.status;
	if (l) {
		l->account = a->account;
		l->no_overlap = a->no_overlap;
		l->r = a->r;
		aq_default_acc_add(&po->dacc, &a->r);
	}
	return 0;
}

static void eval_part(void *ctx, size_t part, int tid)
{
	struct job *j = ctx;
	struct part_out *po = &j->parts[part];
	struct aq_readings rd;
	struct aq_model_part mp, cp;
	struct aq_series s;
	struct aq_eval_ws ws;
	struct aq_arima_ws *aws = j->refit ? aq_arima_ws_new() : NULL;
	struct aq_series_opts so;
	aq_series_opts_default(&so);
	aq_readings_init(&rd);
	aq_model_part_init(&mp);
	aq_model_part_init(&cp);
	aq_series_init(&s);
	aq_eval_ws_init(&ws);
	struct aq_err *e = &po->err;
	int rc;
	(void)tid;
	if ((rc = aq_dataset_read_part(&j->rds, (int)part, &rd, e)) ||
	    (rc = aq_model_read_part(&j->mds, (int)part, &mp, e)) ||
	    (j->have_champion && (rc = aq_model_read_part(&j->cds, (int)part, &cp, e))))
		goto out;
	po->champion_rows = (long)cp.n;
	size_t ri = 0, mi = 0;
	while (ri < rd.n || mi < mp.n) {
		int64_t racc = ri < rd.n ? rd.account[ri] : INT64_MAX;
		int64_t macc = mi < mp.n ? mp.rows[mi].account : INT64_MAX;
		int64_t account = racc < macc ? racc : macc;
		size_t r0 = ri;
		while (ri < rd.n && rd.account[ri] == account)
			ri++;
		size_t k = ri - r0;
		struct aq_model_row *row = macc == account ? &mp.rows[mi++] : NULL;
		struct acct *a;
		if (po_push(po, &a)) {
			rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate account results");
			goto out;
		}
		a->account = account;
		a->r.account = account;
		if (!row) {
			a->status = AQ_EVAL_NO_MODEL;
			a->missing = k > 0 && j->have_champion && aq_model_part_find(&cp, account) != NULL;
			continue;
		}
		snprintf(a->served, sizeof(a->served), "%s", row->served ? row->served : "arima");
		if (k == 0) {
			a->status = AQ_EVAL_NO_READINGS;
			a->no_overlap = 1;
		} else {
			if ((rc = aq_series_build(&s, rd.date + r0, rd.value + r0, k, &so, e)))
				goto out;
			if (row->trained_until < row->first_date) {
				rc = aq_err_set(e, AQ_EFORMAT, "account %lld: TrainedUntil before FirstDate",
						(long long)account);
				goto out;
			}
			if ((rc = eval_account(j, po, a, row, &s, rd.date + r0, rd.value + r0, k, &ws, aws, e)))
				goto out;
			if (j->learning)
				continue;
			a->anomaly_since = row->first_date + a->r.anomaly_origin;
			aq_served_str(a->r.served, a->r.combo_ref, a->served, sizeof(a->served));
			/* champion/challenger on the same new days: both from the later TrainedUntil */
			struct aq_model_row *crow = j->have_champion ? aq_model_part_find(&cp, account) : NULL;
			if (crow) {
				int32_t od = row->trained_until > crow->trained_until ? row->trained_until
										       : crow->trained_until;
				double cm, gm;
				if ((rc = gate_score(crow, &s, rd.date + r0, rd.value + r0, k, od, crow->served, -1,
						     &j->eo, &ws, &cm, e)) ||
				    (rc = gate_score(row, &s, rd.date + r0, rd.value + r0, k, od, a->served, -1, &j->eo,
						     &ws, &gm, e)))
					goto out;
				struct aq_gate_account ga;
				aq_gate_account_decide(cm, gm, &j->go, &ga);
				a->gate_compared = ga.compared;
				a->replace = ga.compared ? ga.replace : -1;
				a->worse = ga.worse;
				a->champion_mae = cm;
				a->challenger_mae = gm;
				a->champion_mase = cm / a->r.scale;
				a->challenger_mase = gm / a->r.scale;
			}
		}
		if (!j->learning)
			aq_progress_add(&j->prog, 1);   /* a row of the new model set (write_models) */
	}
	if (!j->learning && ((rc = write_metrics(&j->eds, (int)part, j->key, po, e)) || (rc = keep_part(po, e))))
		goto out;
out:
	if (rc) {
		po->failed = 1;
		aq_err_prefix(e, "part %zu", part);
	}
	aq_readings_release(&rd);
	aq_model_part_release(&mp);
	aq_model_part_release(&cp);
	aq_series_release(&s);
	aq_eval_ws_release(&ws);
	if (aws)
		aq_arima_ws_free(aws);
}

/* A real, or null when not finite (NaN = not computed). */
static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *agg_json(const double *v, const double *w, size_t n)
{
	struct aq_agg g;
	if (aq_agg_compute(v, w, n, &g, NULL))
		return json_null();
	json_t *q = json_object();
	for (int i = 0; i < AQ_AGG_NQ; i++) {
		char k[16];
		snprintf(k, sizeof(k), "p%02d", (int)lround(aq_agg_probs[i] * 100));
		json_object_set_new(q, k, jnum(g.q[i]));
	}
	json_t *o = json_object();
	json_object_set_new(o, "n", json_integer(g.n));
	json_object_set_new(o, "mean", jnum(g.mean));
	json_object_set_new(o, "median", jnum(g.median));
	json_object_set_new(o, "weighted", jnum(g.weighted));
	json_object_set_new(o, "quantiles", q);
	return o;
}

/* ---- the per-account results of every part folded into the run's figures ---- */

struct tally {
	size_t na;                   /* accounts over all parts */
	double *nd, *bt;             /* MASE on new data / backtest: AQ_FC_N + 1 blocks (served last) of na + 1 */
	double *w, *chm, *clm;       /* weights (sum of median28 actuals), champion / challenger MASE */
	struct aq_gate_account *ga;
	long cnt[8], served_n[AQ_FC_N], better[AQ_FC_N], abetter[AQ_FC_N], both[AQ_FC_N];
	long anom_kind[4], no_overlap, refits, resets, afail, innov, kalman;
	long champion_rows, missing, evaluated;
	double refit_s;
	json_t *alist;               /* anomaly list */
};

static void tally_release(struct tally *t)
{
	free(t->nd);
	free(t->ga);
	json_decref(t->alist);
	memset(t, 0, sizeof(*t));
}

static int tally_alloc(struct tally *t, size_t na, struct aq_err *e)
{
	memset(t, 0, sizeof(*t));
	size_t blk = (na + 1) * (AQ_FC_N + 1);
	t->na = na;
	t->nd = malloc((2 * blk + 3 * (na + 1)) * sizeof(double));
	t->ga = malloc((na + 1) * sizeof(*t->ga));
	t->alist = json_array();
	if (!t->nd || !t->ga || !t->alist) {
		tally_release(t);
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate aggregates of %zu accounts", na);
	}
	t->bt = t->nd + blk;
	t->w = t->bt + blk;
	t->chm = t->w + (na + 1);
	t->clm = t->chm + (na + 1);
	return 0;
}

static json_t *anomaly_json(const struct acct *a)
{
	char since[AQ_DATE_STRLEN];
	const struct aq_anomaly *an = &a->r.anomaly;
	json_t *x = json_pack("{s:I,s:s,s:s,s:i,s:i,s:o,s:o}", "account", (json_int_t)a->account, "kind",
			      aq_anomaly_kind_name(an->kind), "since", aq_date_format(a->anomaly_since, since), "days",
			      an->examined, "outside", an->outside, "magnitude", jnum(an->magnitude), "relative",
			      jnum(an->relative));
	/* more evidence: z against the account's own history, typical use (lib/anomaly.h) */
	json_object_set_new(x, "z", jnum(an->z));
	json_object_set_new(x, "baseline", jnum(an->baseline));
	return x;
}

/* The calibration values of a sample appended to the part's packed arrays. */
static int keep_cal(struct part_out *po, struct kept *k, const struct aq_cal_sample *c)
{
	size_t need = 0;
	for (int q = 0; q < AQ_CAL_NK; q++)
		need += (size_t)c->n[q];
	if (po->ncal + need > po->calcap) {
		size_t nc = po->calcap ? 2 * po->calcap : 4096;
		while (nc < po->ncal + need)
			nc *= 2;
		float *z = realloc(po->cal_z, nc * sizeof(*z));
		if (z)
			po->cal_z = z;
		unsigned char *w = z ? realloc(po->cal_w, nc) : NULL;
		if (!w)
			return -1;
		po->cal_w = w;
		po->calcap = nc;
	}
	k->cal_at = po->ncal;
	for (int q = 0; q < AQ_CAL_NK; q++) {
		k->cal_n[q] = c->n[q];
		memcpy(po->cal_z + po->ncal, c->z[q], (size_t)c->n[q] * sizeof(float));
		memcpy(po->cal_w + po->ncal, c->w[q], (size_t)c->n[q]);
		po->ncal += (size_t)c->n[q];
	}
	return 0;
}

/* Account a reduced to what the tally, the calibration and write_models read (struct kept). */
static int keep_account(struct part_out *po, struct kept *k, const struct acct *a)
{
	memset(k, 0, sizeof(*k));
	k->account = a->account;
	k->status = a->status;
	k->no_overlap = a->no_overlap;
	k->missing = a->missing;
	k->served = a->r.served;
	k->gate_compared = a->gate_compared;
	k->replace = a->replace;
	k->worse = a->worse;
	k->evaluated = a->status == AQ_EVAL_OK || a->status == AQ_EVAL_NO_NEW_DATA;
	for (int f = 0; f < AQ_FC_N; f++) {
		k->nd_mase[f] = a->r.newdata[f].mase;
		k->bt_mase[f] = a->r.backtest[f].mase;
		k->nd_mae[f] = a->r.newdata[f].mae;
	}
	k->sum_y = a->r.newdata[AQ_FC_MEDIAN28].sum_y;
	k->bt_arima_mae = a->r.backtest[AQ_FC_ARIMA].mae;
	k->champion_mase = a->champion_mase;
	k->challenger_mase = a->challenger_mase;
	k->served_margin = a->r.served_margin;
	snprintf(k->served_str, sizeof(k->served_str), "%s", a->served);
	k->anomaly_kind = a->r.anomaly.kind;
	if (k->evaluated && a->r.anomaly.kind != AQ_ANOM_NONE && !(k->anomaly = anomaly_json(a)))
		return -1;
	return k->evaluated ? keep_cal(po, k, &a->r.cal) : 0;
}

/* Once a part's metrics are written: its accounts kept compactly, the full results (and sample) freed. */
static int keep_part(struct part_out *po, struct aq_err *e)
{
	po->keep = malloc((po->n ? po->n : 1) * sizeof(*po->keep));
	if (!po->keep)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate the results of %zu accounts", po->n);
	for (size_t i = 0; i < po->n; i++)
		if (po->nk++, keep_account(po, &po->keep[i], &po->a[i]))   /* counted first: released by job_release */
			return aq_err_set(e, AQ_ENOMEM, "cannot keep the results of %zu accounts", po->n);
	if (po->ncal < po->calcap) {   /* to size: the run keeps them until the pooled fit */
		float *z = realloc(po->cal_z, (po->ncal ? po->ncal : 1) * sizeof(*z));
		unsigned char *w = realloc(po->cal_w, po->ncal ? po->ncal : 1);
		po->cal_z = z ? z : po->cal_z;
		po->cal_w = w ? w : po->cal_w;
		po->calcap = po->ncal;
	}
	free(po->a);
	po->a = NULL;
	po->n = po->cap = 0;
	free(po->learnt);
	po->learnt = NULL;
	po->nl = po->lcap = po->lcur = 0;
	return 0;
}

/* Account i's scores into the columns, its counters and the gate's pair. */
static void tally_account(struct tally *t, size_t i, const struct kept *a)
{
	size_t na = t->na;
	t->cnt[a->status]++;
	t->no_overlap += a->no_overlap && a->status != AQ_EVAL_NO_MODEL;
	t->missing += a->missing;
	int ok = a->status == AQ_EVAL_OK;
	int evald = a->evaluated;
	t->w[i] = ok ? a->sum_y : NAN;
	for (int f = 0; f < AQ_FC_N; f++) {
		t->nd[f * (na + 1) + i] = ok ? a->nd_mase[f] : NAN;
		t->bt[f * (na + 1) + i] = evald ? a->bt_mase[f] : NAN;
	}
	t->nd[AQ_FC_N * (na + 1) + i] = ok ? a->nd_mase[a->served] : NAN;
	t->bt[AQ_FC_N * (na + 1) + i] = evald ? a->bt_mase[a->served] : NAN;
	if (evald) {
		t->served_n[a->served]++;
		/* evaluated at all: scored on new days, or a backtest window scored */
		t->evaluated += ok || isfinite(a->bt_arima_mae);
	}
	if (ok)
		for (int f = 1; f < AQ_FC_N; f++) {
			double s = a->nd_mae[a->served], ar = a->nd_mae[AQ_FC_ARIMA], rf = a->nd_mae[f];
			if (isfinite(s) && isfinite(rf)) {
				t->both[f]++;
				t->better[f] += s < rf;
				t->abetter[f] += isfinite(ar) && ar < rf;
			}
		}
	t->chm[i] = a->champion_mase;
	t->clm[i] = a->challenger_mase;
	t->ga[i].compared = a->gate_compared;
	t->ga[i].replace = a->replace == 1;
	t->ga[i].worse = a->worse;
	if (a->anomaly) {
		t->anom_kind[a->anomaly_kind]++;
		json_array_append(t->alist, a->anomaly);
	}
}

static int tally_parts(const struct job *j, struct tally *t, struct aq_err *e)
{
	size_t na = 0;
	for (int p = 0; p < j->mds.parts; p++)
		na += j->parts[p].nk;
	int rc = tally_alloc(t, na, e);
	if (rc)
		return rc;
	size_t i = 0;
	for (int p = 0; p < j->mds.parts; p++) {
		const struct part_out *po = &j->parts[p];
		t->refits += po->refits;
		t->resets += po->resets;
		t->innov += po->innov;
		t->kalman += po->kalman;
		t->afail += po->arima_failures;
		t->refit_s += po->refit_seconds;
		t->champion_rows += po->champion_rows;
		for (size_t q = 0; q < po->nk; q++)
			tally_account(t, i++, &po->keep[q]);
	}
	return 0;
}

/* ---- the decision: the per-account gate, the aggregate gate, and coverage ---- */

struct decision {
	struct aq_gate g;
	int promoted;
	json_t *reasons;
};

static void reason(json_t *reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(json_t *reasons, const char *fmt, ...)
{
	char buf[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(reasons, json_string(buf));
}

/*
 * Without a champion the set is promoted when at least one account could be
 * evaluated at all. With one, lib/evaluate.h's gate decides, and a
 * challenger that lacks accounts the champion has (and whose readings go
 * on) is never promoted: serving it would drop those customers' forecasts.
 */
static void decide(const struct job *j, const struct tally *t, struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->reasons = json_array();
	aq_gate_decide(t->chm, t->clm, t->ga, t->na, &j->go, &d->g);
	const struct aq_gate *g = &d->g;
	if (!j->have_champion) {
		d->promoted = t->evaluated > 0;
		if (d->promoted)
			reason(d->reasons, "no champion given: the first model set is promoted (%ld accounts evaluated)",
			       t->evaluated);
		else
			reason(d->reasons, "no champion given, but no account could be evaluated (no new days, no "
					   "backtest window): not promoted");
		return;
	}
	d->promoted = g->promoted && t->missing == 0;
	if (g->compared == 0)
		reason(d->reasons, "no account scored by both on common new days: not promoted");
	reason(d->reasons, "mean MASE challenger %.4f vs champion %.4f (tolerance %.3f): %s", g->challenger_mase_mean,
	       g->champion_mase_mean, j->go.agg_tolerance, g->agg_ok ? "ok" : "worse");
	reason(d->reasons, "%ld of %ld accounts worse by > %.0f%% (share %.3f, max %.3f): %s", g->worse, g->compared,
	       100 * j->go.worse_margin, g->worse_share, j->go.max_worse_share, g->share_ok ? "ok" : "too many");
	if (t->missing)
		reason(d->reasons,
		       "coverage: the challenger lacks %ld accounts that the champion (%ld accounts) has and whose "
		       "readings go on: not promoted",
		       t->missing, t->champion_rows);
	else
		reason(d->reasons, "coverage: every account of the champion with readings has a challenger model: ok");
}

static json_t *coverage_json(const struct job *j, const struct tally *t, const struct decision *d)
{
	json_int_t models = (json_int_t)(t->na - (size_t)t->cnt[AQ_EVAL_NO_MODEL]);
	return json_pack("{s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I}", "challenger_accounts", models, "champion_accounts",
			 j->have_champion ? json_integer(t->champion_rows) : json_null(), "missing_vs_champion",
			 (json_int_t)t->missing, "readings_without_model", (json_int_t)t->cnt[AQ_EVAL_NO_MODEL],
			 "models_without_readings", (json_int_t)t->cnt[AQ_EVAL_NO_READINGS], "scored",
			 (json_int_t)t->cnt[AQ_EVAL_OK], "evaluated", (json_int_t)t->evaluated, "compared",
			 (json_int_t)d->g.compared);
}

/* ---- summary.json (full) and the one-line summary (a subset) ---- */

static void mase_tables(const struct tally *t, json_t **mase, json_t **btm)
{
	*mase = json_object();
	*btm = json_object();
	for (int f = 0; f <= AQ_FC_N; f++) {
		const char *nm = f == AQ_FC_N ? "served" : aq_fc_name(f);
		json_object_set_new(*mase, nm, agg_json(t->nd + (size_t)f * (t->na + 1), t->w, t->na));
		json_object_set_new(*btm, nm, agg_json(t->bt + (size_t)f * (t->na + 1), NULL, t->na));
	}
}

static json_t *share_table(const long *num, const long *den)
{
	json_t *o = json_object();
	for (int f = 1; f < AQ_FC_N; f++)
		json_object_set_new(o, aq_fc_name(f), den[f] ? json_real((double)num[f] / den[f]) : json_null());
	return o;
}

static json_t *build_summary(const struct job *j, const struct tally *t, const struct decision *d,
			     const json_t *mase, const char *out, double secs)
{
	json_t *sum = json_object(), *mm = json_object(), *srv = json_object();
	for (int f = 0; f <= AQ_FC_N; f++) {
		const char *nm = f == AQ_FC_N ? "served" : aq_fc_name(f);
		json_t *o = json_object_get(mase, nm);
		json_object_set_new(mm, nm, json_pack("{s:O,s:O}", "mean", json_object_get(o, "mean"), "median",
						      json_object_get(o, "median")));
		if (f < AQ_FC_N)
			json_object_set_new(srv, nm, json_integer(t->served_n[f]));
	}
	json_object_set_new(sum, "accounts", json_integer((json_int_t)t->na));
	json_object_set_new(sum, "scored", json_integer(t->cnt[AQ_EVAL_OK]));
	json_object_set_new(sum, "no_new_data", json_integer(t->cnt[AQ_EVAL_NO_NEW_DATA]));
	json_object_set_new(sum, "no_model", json_integer(t->cnt[AQ_EVAL_NO_MODEL]));
	json_object_set_new(sum, "no_readings", json_integer(t->cnt[AQ_EVAL_NO_READINGS]));
	json_object_set_new(sum, "no_overlap", json_integer(t->no_overlap));
	json_object_set_new(sum, "mase", mm);
	json_object_set_new(sum, "served_better_than", share_table(t->better, t->both));
	json_object_set_new(sum, "arima_better_than", share_table(t->abetter, t->both));
	json_object_set_new(sum, "served", srv);
	json_object_set_new(sum, "served_default",
			    json_pack("{s:s,s:o,s:I,s:i}", "forecaster", aq_fc_name(j->eo.default_fc), "gain",
				      jnum(j->default_parts ? j->default_gain : NAN), "accounts",
				      (json_int_t)j->default_n, "parts", j->default_parts));
	json_object_set_new(sum, "promoted", json_boolean(d->promoted));
	json_object_set_new(sum, "coverage", coverage_json(j, t, d));
	json_object_set_new(sum, "anomalies",
			    json_pack("{s:I,s:I,s:I,s:I}", "count", (json_int_t)json_array_size(t->alist), "flat",
				      (json_int_t)t->anom_kind[AQ_ANOM_FLAT], "level_up",
				      (json_int_t)t->anom_kind[AQ_ANOM_LEVEL_UP], "level_down",
				      (json_int_t)t->anom_kind[AQ_ANOM_LEVEL_DOWN]));
	json_object_set_new(sum, "backtest",
			    json_pack("{s:i,s:i,s:b,s:I,s:I,s:I,s:I,s:f,s:I}", "windows", j->eo.windows, "horizon",
				      j->eo.horizon, "refit", j->refit, "refits", (json_int_t)t->refits, "resets",
				      (json_int_t)t->resets, "innovations_origins", (json_int_t)t->innov,
				      "kalman_origins", (json_int_t)t->kalman, "refit_seconds", t->refit_s,
				      "arima_failures", (json_int_t)t->afail));
	json_object_set_new(sum, "seconds", json_real(secs));
	json_object_set_new(sum, "out", json_string(out));
	return sum;
}

static json_t *build_decision(const struct job *j, const struct aq_evalset_opts *o, const struct tally *t,
			      const struct decision *d, const char *odir)
{
	const struct aq_gate *g = &d->g;
	json_t *dec = json_object();
	json_object_set_new(dec, "format", json_string("aquacast.decision"));
	json_object_set_new(dec, "version", json_integer(1));
	json_object_set_new(dec, "promoted", json_boolean(d->promoted));
	json_object_set_new(dec, "exit_code", json_integer(d->promoted ? 0 : AQ_EVALSET_NOT_PROMOTED));
	json_object_set_new(dec, "challenger", json_string(o->models));
	json_object_set_new(dec, "challenger_served", json_string(odir));
	json_object_set_new(dec, "champion", o->champion ? json_string(o->champion) : json_null());
	json_object_set_new(dec, "reasons", json_incref(d->reasons));
	json_object_set_new(dec, "accounts",
			    json_pack("{s:I,s:I,s:I,s:o}", "compared", (json_int_t)g->compared, "replace",
				      (json_int_t)g->replace, "worse", (json_int_t)g->worse, "worse_share",
				      jnum(g->worse_share)));
	json_object_set_new(dec, "coverage", coverage_json(j, t, d));
	json_object_set_new(dec, "aggregate",
			    json_pack("{s:o,s:o}", "champion_mase_mean", jnum(g->champion_mase_mean),
				      "challenger_mase_mean", jnum(g->challenger_mase_mean)));
	json_object_set_new(dec, "options",
			    json_pack("{s:f,s:f,s:f,s:f}", "replace_margin", j->go.replace_margin, "worse_margin",
				      j->go.worse_margin, "agg_tolerance", j->go.agg_tolerance, "max_worse_share",
				      j->go.max_worse_share));
	return dec;
}

static int write_json(const char *dir, const char *name, const json_t *j, struct aq_err *e)
{
	char *txt = json_dumps(j, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
	char *path = aq_path_join(dir, name);
	int rc = !txt || !path ? aq_err_set(e, AQ_ENOMEM, "cannot format '%s'", name)
			       : aq_fs_write_atomic(path, txt, strlen(txt), e);
	free(txt);
	free(path);
	return rc;
}

/* ---- inputs and outputs ---- */

/* Absolute, resolved path of p, which (and whose parents) may not exist yet. malloc'd or NULL. */
static char *abs_path(const char *p)
{
	char *r = realpath(p, NULL);
	if (r)
		return r;
	char *a = strdup(p), *b = strdup(p);
	char *parent = a ? abs_path(dirname(a)) : NULL;
	char *out = parent && b ? aq_path_join(parent, basename(b)) : NULL;
	free(a);
	free(b);
	free(parent);
	return out;
}

static int inside(const char *a, const char *b)
{
	size_t lb = strlen(b);
	return strncmp(a, b, lb) == 0 && (a[lb] == 0 || a[lb] == '/' || (lb && b[lb - 1] == '/'));
}

/* The output is never an input, inside one, or (when --force would replace it) around one. */
static int check_out_path(const struct aq_evalset_opts *o, struct aq_err *e)
{
	const char *inputs[3] = {o->models, o->readings, o->champion};
	char *out = abs_path(o->out);
	if (!out)
		return aq_err_set(e, AQ_ENOTFOUND, "cannot resolve --out '%s' (does its parent exist?)", o->out);
	int rc = 0;
	for (int i = 0; i < 3 && !rc; i++) {
		if (!inputs[i])
			continue;
		char *in = abs_path(inputs[i]);
		if (in && inside(out, in))
			rc = aq_err_set(e, AQ_EINVAL, "output '%s' is inside the input '%s'; choose another --out",
					o->out, inputs[i]);
		else if (in && inside(in, out))
			rc = aq_err_set(e, AQ_EINVAL, "input '%s' is inside the output '%s'; choose another --out",
					inputs[i], o->out);
		free(in);
	}
	free(out);
	return rc;
}

enum { OPEN_MODELS = 1, OPEN_READINGS = 2, OPEN_CHAMPION = 4, OPEN_METRICS = 8, OPEN_OUTMODELS = 16 };

static int open_inputs(struct job *j, const struct aq_evalset_opts *o, int *opened, struct aq_err *e)
{
	int rc;
	if ((rc = aq_modelset_open(&j->mds, o->models, &j->accounts, e)))
		return rc;
	*opened |= OPEN_MODELS;
	if ((rc = aq_dataset_open(&j->rds, o->readings, e)))
		return rc;
	*opened |= OPEN_READINGS;
	if (strcmp(j->rds.kind, "readings") != 0)
		return aq_err_set(e, AQ_EFORMAT, "'%s' is a '%s' dataset, not readings", o->readings, j->rds.kind);
	{
		struct aq_readings_probe p;

		if ((rc = aq_readings_probe(&j->rds, &p, e)))
			return rc;
		if (!p.rows)
			return aq_err_set(e, AQ_ENOTFOUND, "no readings in dataset '%s'", o->readings);
	}
	if (j->mds.parts != j->rds.parts)
		return aq_err_set(e, AQ_EFORMAT,
				  "model set '%s' has %d parts but readings '%s' have %d: not trained on them",
				  o->models, j->mds.parts, o->readings, j->rds.parts);
	if (!o->champion)
		return 0;
	if ((rc = aq_modelset_open(&j->cds, o->champion, NULL, e)))
		return aq_err_prefix(e, "champion");
	*opened |= OPEN_CHAMPION;
	j->have_champion = 1;
	if (j->cds.parts != j->mds.parts)
		return aq_err_set(e, AQ_EFORMAT, "champion '%s' has %d parts, the challenger %d", o->champion,
				  j->cds.parts, j->mds.parts);
	return 0;
}

/* DIR/metrics and DIR/models inside the temporary directory of the run. */
static int create_outputs(struct job *j, const char *tmp, int *opened, struct aq_err *e)
{
	char *mdir = aq_path_join(tmp, "metrics"), *odir = aq_path_join(tmp, "models");
	int rc = 0;
	if (!mdir || !odir)
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate a path");
	else if (!(rc = aq_dataset_create(&j->eds, mdir, "metrics", j->mds.parts, e))) {
		*opened |= OPEN_METRICS;
		if (!(rc = aq_dataset_create(&j->ods, odir, "models", j->mds.parts, e)))
			*opened |= OPEN_OUTMODELS;
	}
	free(mdir);
	free(odir);
	return rc;
}

/* Manifests inside out (models/, metrics/, then the whole directory, last) and the rename. */
static int seal_outputs(struct aq_seal *seal, const struct tally *t, const json_t *dec, struct aq_err *e)
{
	uint64_t models = t->na - (uint64_t)t->cnt[AQ_EVAL_NO_MODEL];
	json_t *meta = json_pack("{s:s,s:O}", "job", "evaluate", "promoted", json_object_get(dec, "promoted"));
	char *mdir = aq_path_join(seal->tmp, "models"), *edir = aq_path_join(seal->tmp, "metrics");
	int rc = 0;
	if (!meta || !mdir || !edir)
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
	else if (!(rc = aq_manifest_write(mdir, "models", models, models, meta, e)) &&
		 !(rc = aq_manifest_write(edir, "metrics", t->na, t->na, meta, e)))
		rc = aq_manifest_write(seal->tmp, "evaluation", t->na, t->na, meta, e);
	json_decref(meta);
	free(mdir);
	free(edir);
	if (rc) {
		aq_seal_abort(seal);
		return rc;
	}
	return aq_seal_commit(seal, e);
}

static void job_release(struct job *j, int opened)
{
	if (j->parts) {
		for (int p = 0; p < j->mds.parts; p++) {
			struct part_out *po = &j->parts[p];
			free(po->a);
			for (size_t i = 0; i < po->nk; i++)
				json_decref(po->keep[i].anomaly);
			free(po->keep);
			free(po->cal_z);
			free(po->cal_w);
			free(po->learnt);
		}
		free(j->parts);
	}
	if (opened & OPEN_MODELS)
		aq_dataset_release(&j->mds);
	if (opened & OPEN_READINGS)
		aq_dataset_release(&j->rds);
	if (opened & OPEN_CHAMPION)
		aq_dataset_release(&j->cds);
	if (opened & OPEN_METRICS)
		aq_dataset_release(&j->eds);
	if (opened & OPEN_OUTMODELS)
		aq_dataset_release(&j->ods);
}

/* The calibration views of every account (NULL: not evaluated) over the parts' packed values. */
static int cal_views(const struct job *j, size_t na, const struct aq_cal_view ***ps, struct aq_cal_view **pv,
		     struct aq_err *e)
{
	const struct aq_cal_view **s = calloc(na + 1, sizeof(*s));
	struct aq_cal_view *v = calloc(na + 1, sizeof(*v));
	*ps = s;
	*pv = v;
	if (!s || !v)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate the calibration of %zu accounts", na);
	size_t k = 0;
	for (int p = 0; p < j->mds.parts; p++) {
		const struct part_out *po = &j->parts[p];
		for (size_t i = 0; i < po->nk; i++, k++) {
			const struct kept *a = &po->keep[i];
			if (!a->evaluated)
				continue;
			size_t at = a->cal_at;
			for (int q = 0; q < AQ_CAL_NK; q++) {
				v[k].n[q] = a->cal_n[q];
				v[k].z[q] = po->cal_z + at;
				v[k].w[q] = po->cal_w + at;
				at += (size_t)a->cal_n[q];
			}
			s[k] = &v[k];
		}
	}
	return 0;
}

struct models_job {
	struct job *j;
	const struct aq_cal *cal;   /* of every account, in part order */
	const size_t *first;        /* index into cal of each part's first account */
};

/* Part p of the served model set: the input's rows with Served/ServedMargin and the calibration. */
static void write_models_part(void *ctx, size_t p, int tid)
{
	struct models_job *mj = ctx;
	struct job *j = mj->j;
	struct part_out *po = &j->parts[p];
	struct aq_err *e = &po->err;
	struct aq_model_part mp;
	(void)tid;
	aq_model_part_init(&mp);
	int rc = aq_model_read_part(&j->mds, (int)p, &mp, e);
	size_t i = 0;
	for (size_t r = 0; r < mp.n && !rc; r++) {
		struct aq_model_row *row = &mp.rows[r];
		while (i < po->nk && po->keep[i].account < row->account)
			i++;
		if (i == po->nk || po->keep[i].account != row->account) {
			rc = aq_err_set(e, AQ_EIO, "account %lld of the model set changed while evaluated",
					(long long)row->account);
			break;
		}
		const struct kept *a = &po->keep[i];
		if ((rc = aq_model_row_set_str(&row->served, a->served_str, e)))
			break;
		row->served_margin = a->served_margin;
		if (a->evaluated)
			row->cal = mj->cal[mj->first[p] + i];
	}
	if (!rc && mp.n)
		rc = aq_model_write_part(&j->ods, (int)p, j->key, "evaluate", mp.rows, mp.n, NULL, e);
	if (rc) {
		po->failed = 1;
		aq_err_prefix(e, "part %zu", p);
	}
	aq_model_part_release(&mp);
}

static int parts_failed(const struct job *j, int np, struct aq_err *e);

/*
 * The served model set: every evaluated account's calibrated intervals
 * (lib/calib.h), pooled over all parts' backtests, into its row's Calib;
 * accounts without a backtest window get the pooled quantiles; then one file
 * per part, from the input's rows read again (the new rows differ only in
 * Served, ServedMargin and Calib: keeping every part's copy until the pooled
 * fit cost ~1 KB an account). With no backtest error at all the rows stay
 * uncalibrated.
 */
static int write_models(struct job *j, int threads, struct aq_err *e)
{
	size_t na = 0;
	int P = j->mds.parts;
	size_t *first = calloc((size_t)P + 1, sizeof(*first));
	for (int p = 0; first && p < P; p++) {
		first[p] = na;
		na += j->parts[p].nk;
	}
	const struct aq_cal_view **s = NULL;
	struct aq_cal_view *v = NULL;
	struct aq_cal *cal = calloc(na + 1, sizeof(*cal));
	int rc = !first || !cal ? aq_err_set(e, AQ_ENOMEM, "cannot allocate the calibration of %zu accounts", na)
				: cal_views(j, na, &s, &v, e);
	if (!rc) {
		struct aq_err ce = {0};
		if (aq_cal_fit_views(s, na, NULL, cal, &ce))
			aq_warn("served intervals not calibrated: %s", ce.msg);
		free(s);
		free(v);
		s = NULL;
		v = NULL;
		for (int p = 0; p < P; p++) {   /* fitted: the values are no longer needed */
			free(j->parts[p].cal_z);
			free(j->parts[p].cal_w);
			j->parts[p].cal_z = NULL;
			j->parts[p].cal_w = NULL;
		}
		struct models_job mj = {j, cal, first};
		if (!(rc = aq_parallel_for(threads, (size_t)P, write_models_part, &mj, e)))
			rc = parts_failed(j, P, e);
	}
	free(s);
	free(v);
	free(first);
	free(cal);
	return rc;
}

/* A part's first failure into e (0 when none failed). */
static int parts_failed(const struct job *j, int np, struct aq_err *e)
{
	for (int p = 0; p < np; p++)
		if (j->parts[p].failed) {
			*e = j->parts[p].err;
			return e->code ? e->code : AQ_EIO;
		}
	return 0;
}

/*
 * The population default (evalset.h): the sampled parts evaluated, their
 * backtests counted into the choice and each account's evaluation kept with
 * its alternatives (struct learnt): the full pass re-chooses them with the
 * learnt default instead of forecasting them again.
 */
static int learn_default(struct job *j, int threads, struct aq_err *e)
{
	int P = j->mds.parts;
	uint64_t want = (uint64_t)P * AQ_EVALSET_DEFAULT_SAMPLE;
	int np = j->accounts > 0 ? (int)((want + j->accounts - 1) / j->accounts) : P;
	np = np < 1 ? 1 : np > P ? P : np;
	j->learning = 1;
	int rc = aq_parallel_for(threads, (size_t)np, eval_part, j, e);
	j->learning = 0;
	if (!rc)
		rc = parts_failed(j, np, e);
	if (rc)
		return rc;
	struct aq_default_acc acc;
	aq_default_acc_init(&acc);
	for (int p = 0; p < np; p++) {   /* the sample stays (learnt), its results are made again in the full pass */
		aq_default_acc_merge(&acc, &j->parts[p].dacc);
		j->parts[p].n = 0;
	}
	j->eo.default_fc = aq_default_choose(&acc, &j->default_gain, &j->default_n);
	j->default_parts = np;
	aq_info("served default '%s' (mean backtest gain over the ensemble %.4f, %ld accounts of %d parts)",
		aq_fc_name(j->eo.default_fc), j->default_gain, j->default_n, np);
	return 0;
}

static int run_parts(struct job *j, int threads, int learn, struct aq_err *e)
{
	j->key = aq_dataset_next_key(&j->eds);
	j->parts = calloc((size_t)j->mds.parts, sizeof(*j->parts));
	if (!j->parts)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate %d parts", j->mds.parts);
	int rc = learn && j->eo.choice == AQ_CHOICE_ROBUST ? learn_default(j, threads, e) : 0;
	if (rc)
		return rc;
	aq_progress_init(&j->prog, "evaluate", "accounts", 0);
	rc = aq_parallel_for(threads, (size_t)j->mds.parts, eval_part, j, e);
	aq_progress_finish(&j->prog);
	if (rc || (rc = parts_failed(j, j->mds.parts, e)))
		return rc;
	return write_models(j, threads, e);
}

/* Fold, decide, and write summary.json and decision.json into the temporary directory. */
static int report(const struct job *j, const struct aq_evalset_opts *o, const char *tmp, double t0,
		  struct tally *t, json_t **sum_out, json_t **dec_out, struct aq_err *e)
{
	int rc = tally_parts(j, t, e);
	if (rc)
		return rc;
	struct decision d;
	decide(j, t, &d);
	char *odir = aq_path_join(o->out, "models");
	json_t *mase, *btm;
	mase_tables(t, &mase, &btm);
	json_t *sum = build_summary(j, t, &d, mase, o->out, aq_now() - t0);
	json_t *full = json_deep_copy(sum);
	json_object_set_new(full, "mase_new_data", mase);
	json_object_set_new(full, "mase_backtest", btm);
	json_object_set_new(full, "anomaly_list", json_incref(t->alist));
	json_t *dec = odir ? build_decision(j, o, t, &d, odir) : NULL;
	if (!dec || !sum || !full)
		rc = aq_err_set(e, AQ_ENOMEM, "cannot format the summary");
	else if (!(rc = write_json(tmp, "summary.json", full, e)))
		rc = write_json(tmp, "decision.json", dec, e);
	json_decref(full);
	json_decref(d.reasons);
	free(odir);
	if (rc) {
		json_decref(sum);
		json_decref(dec);
		return rc;
	}
	aq_info("%zu accounts, %ld scored, %ld without new data, promoted %s", t->na, t->cnt[AQ_EVAL_OK],
		t->cnt[AQ_EVAL_NO_NEW_DATA], d.promoted ? "yes" : "no");
	*sum_out = sum;
	*dec_out = dec;
	return 0;
}

int aq_evalset_run(const struct aq_evalset_opts *o, json_t **summary, int *promoted_out, struct aq_err *e)
{
	double t0 = aq_now();
	struct job j;
	memset(&j, 0, sizeof(j));
	j.eo = o->eo;
	j.go = o->go;
	j.refit = o->refit;
	j.warmup = o->warmup;
	*promoted_out = 0;
	*summary = NULL;
	int opened = 0, sealing = 0, rc;
	struct aq_seal seal;
	struct tally t = {0};
	json_t *sum = NULL, *dec = NULL;
	if ((rc = open_inputs(&j, o, &opened, e)) || (rc = check_out_path(o, e)) ||
	    (rc = aq_seal_begin(&seal, o->out, o->force, e)))
		goto out;
	sealing = 1;
	if ((rc = create_outputs(&j, seal.tmp, &opened, e)) || (rc = run_parts(&j, o->threads, !o->fixed_default, e)) ||
	    (rc = report(&j, o, seal.tmp, t0, &t, &sum, &dec, e)))
		goto out;
	sealing = 0;
	if ((rc = seal_outputs(&seal, &t, dec, e)))
		goto out;
	json_object_set_new(sum, "seconds", json_real(aq_now() - t0));
	if (o->stats) {
		memset(o->stats, 0, sizeof(*o->stats));
		for (int p = 0; p < j.mds.parts; p++) {
			o->stats->evaluated += j.parts[p].evaluations;
			o->stats->reused += j.parts[p].reused;
		}
		o->stats->default_parts = j.default_parts;
	}
	*promoted_out = json_is_true(json_object_get(dec, "promoted"));
	*summary = sum;
	sum = NULL;
out:
	if (sealing)
		aq_seal_abort(&seal);
	json_decref(sum);
	json_decref(dec);
	tally_release(&t);
	job_release(&j, opened);
	return rc;
}
