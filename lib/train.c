/* train.c — per-account training (search, refit, update, auto, fallbacks) and the multi-threaded run over a dataset. */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "date.h"
#include "fs.h"
#include "inspect.h"
#include "log.h"
#include "manifest.h"
#include "merge.h"
#include "model.h"
#include "pool.h"
#include "trainparts.h"

static const char *mode_names[] = {"full", "refit", "update", "auto"};

const char *aq_train_mode_name(enum aq_train_mode m)
{
	return (unsigned)m < 4 ? mode_names[m] : "?";
}

int aq_train_mode_parse(const char *s, enum aq_train_mode *m)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*m = (enum aq_train_mode)i;
			return 0;
		}
	return AQ_EINVAL;
}

void aq_train_opts_default(struct aq_train_opts *o)
{
	memset(o, 0, sizeof *o);
	o->mode = AQ_TRAIN_FULL;
	aq_series_opts_default(&o->series);
	aq_auto_opts_default(&o->search);
	o->min_obs = 14;
	o->part_lo = o->part_hi = -1;
	o->auto_z2 = 2.0;
}

/* ------------------------------------------------------------------ one account */

static void moments(const double *y, size_t n, double *mean, double *var, size_t *k)
{
	double s = 0, ss = 0;
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(y[i])) {
			s += y[i];
			c++;
		}
	double m = c ? s / (double)c : 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(y[i]))
			ss += (y[i] - m) * (y[i] - m);
	*mean = m;
	*var = c > 1 ? ss / (double)(c - 1) : 0;
	*k = c;
}

/* Common fields of a freshly trained row from its series. */
static void fill_common(struct aq_model_row *r, int64_t account, const struct aq_series *s,
			const struct aq_train_opts *o)
{
	char rule[512];
	r->account = account;
	r->first_date = s->first;
	r->trained_until = s->n ? s->first + (int32_t)s->n - 1 : s->last_reading;
	r->nobs = (int32_t)s->nobs;
	r->n = (int32_t)s->n;
	aq_model_row_set_str(&r->clean_rule, aq_series_rule_json(&o->series, rule, sizeof rule), NULL);
	if (!r->served)
		aq_model_row_set_str(&r->served, "arima", NULL);
	for (int i = 0; i < AQ_MODEL_RECENT; i++) {
		long idx = (long)s->n - AQ_MODEL_RECENT + i;
		r->recent[i] = idx >= 0 && s->y ? s->y[idx] : NAN;
	}
}

static void set_fallback(struct aq_model_row *r, const struct aq_series *s, enum aq_model_status st,
			 const char *reason)
{
	double mean, var;
	size_t k;
	moments(s->y, s->n, &mean, &var, &k);
	if (st == AQ_MODEL_FALLBACK && k > 0 && aq_is_constant(s->y, s->n))
		var = 0;
	aq_model_row_set_mean(r, mean, var, st, reason, NULL);
	r->loglik = r->aicc = NAN;
}

/* A fitted model must forecast finite values; otherwise it is unusable. */
static int forecast_ok(const struct aq_arima_model *m)
{
	double mean[7], sd[7];
	struct aq_err e = {0};
	if (aq_arima_forecast(m, 7, mean, sd, &e))
		return 0;
	for (int i = 0; i < 7; i++)
		if (!isfinite(mean[i]) || !isfinite(sd[i]))
			return 0;
	return 1;
}

/* y of s on the scale of transform b: s->y itself, or *buf (malloc'd, the caller frees) transformed. */
static const double *scaled(const struct aq_series *s, const struct aq_bc *b, double **buf)
{
	*buf = NULL;
	if (!aq_bc_active(b))
		return s->y;
	if (!(*buf = malloc((s->n ? s->n : 1) * sizeof **buf)))
		return NULL;
	aq_bc_apply(b, s->y, s->n, *buf);
	return *buf;
}

static int search(const struct aq_series *s, const struct aq_train_opts *o, struct aq_arima_ws *ws,
		  struct aq_model_row *r, char *why, size_t whylen)
{
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	struct aq_auto_info info;
	struct aq_err e = {0};
	/* the transform of o->lambda_rule (lib/boxcox.h, O(n)); none by default */
	struct aq_bc bc = aq_bc_auto(o->lambda_rule, s->y, s->n, o->search.season > 1 ? o->search.season : 7);
	double *zb;
	const double *y = scaled(s, &bc, &zb);
	if (!y) {
		snprintf(why, whylen, "search failed: out of memory");
		return AQ_ENOMEM;
	}
	int rc = aq_auto_arima(y, s->n, &o->search, &m, &info, ws, &e);
	free(zb);
	if (rc && aq_bc_active(&bc)) {   /* no model on the transformed scale: the untransformed search */
		bc = aq_bc_none();
		rc = aq_auto_arima(s->y, s->n, &o->search, &m, &info, ws, &e);
	}
	r->bc = bc;
	if (!rc && !forecast_ok(&m)) {
		rc = AQ_ENUMERIC;
		snprintf(e.msg, sizeof e.msg, "fitted model gives a non-finite forecast");
	}
	if (!rc)
		rc = aq_model_row_from_arima(r, &m, &e);
	if (rc)
		snprintf(why, whylen, "search failed: %s", e.msg);
	else {
		r->status = AQ_MODEL_OK;
		aq_model_row_set_str(&r->reason, "", NULL);
		r->aicc = info.ic;
	}
	aq_arima_model_release(&m);
	return rc;
}

/* Refit prev's order on s, warm-started from prev's coefficients. */
static int refit(const struct aq_series *s, const struct aq_model_row *prev, const struct aq_train_opts *o,
		 struct aq_arima_ws *ws, struct aq_model_row *r, char *why, size_t whylen)
{
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	struct aq_arima_fit_opts fo = {0};
	fo.method = AQ_ARIMA_CSS_ML;
	fo.init = prev->ncoef == aq_arima_ncoef(&prev->spec) ? prev->coef : NULL;
	fo.max_iter = 100;
	fo.reltol = 1.5e-8;
	struct aq_err e = {0};
	int rc;
	/* the previous model's transform is kept with its order (lib/boxcox.h) */
	double *zb;
	const double *y = scaled(s, &prev->bc, &zb);
	r->bc = prev->bc;
	/* interior gaps imputed for estimation, statistics and state on the real days (autoarima.h) */
	double *yf = o->search.exact_missing || !y ? NULL : malloc((s->n ? s->n : 1) * sizeof *yf);
	size_t i0 = 0, last = s->n;
	while (y && i0 < s->n && !isfinite(y[i0]))
		i0++;
	while (y && last > i0 && !isfinite(y[last - 1]))
		last--;
	if (!y) {
		rc = aq_err_set(&e, AQ_ENOMEM, "out of memory");
	} else if (yf && i0 < last && aq_fill_interior(y, last, o->search.season, yf) > 0) {
		rc = aq_arima_fit(yf, last, &prev->spec, &fo, &m, ws, &e);
		if (!rc)
			rc = aq_auto_requalify(&m, y, s->n, ws, &e);
	} else {
		rc = aq_arima_fit(y, s->n, &prev->spec, &fo, &m, ws, &e);
	}
	free(yf);
	free(zb);
	if (!rc && (!aq_arima_roots_ok(&m, o->search.min_root) || !forecast_ok(&m))) {
		rc = AQ_ENUMERIC;
		snprintf(e.msg, sizeof e.msg, "refitted model is not stationary/invertible or forecasts non-finite");
	}
	if (!rc)
		rc = aq_model_row_from_arima(r, &m, &e);
	if (rc)
		snprintf(why, whylen, "refit failed: %s", e.msg);
	else {
		r->status = AQ_MODEL_OK;
		aq_model_row_set_str(&r->reason, "", NULL);
		/* AICc R's way from the ML log-likelihood */
		int nst = (int)s->nobs - m.spec.d - m.spec.D * m.spec.s;
		r->aicc = aq_auto_aicc(-2 * m.loglik + 2.0 * (m.ncoef + 1), m.ncoef, nst);
	}
	aq_arima_model_release(&m);
	return rc;
}

/* Values of the new days (prev->trained_until, s end] from the cleaned series. */
static double *new_days(const struct aq_series *s, int32_t from, int32_t to, size_t *k)
{
	*k = to >= from ? (size_t)(to - from) + 1 : 0;
	double *v = malloc((*k ? *k : 1) * sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < *k; i++) {
		long idx = (long)(from + (int32_t)i) - s->first;
		v[i] = idx >= 0 && (size_t)idx < s->n ? s->y[idx] : NAN;
	}
	return v;
}

/*
 * Mean squared standardised one-step-ahead error of prev over the new days
 * (filtering day by day through a copy of its state); NaN if not computable.
 */
static double one_step_z2(const struct aq_model_row *prev, const double *v, size_t k)
{
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	struct aq_err e = {0};
	if (aq_model_row_to_arima(prev, &m, &e))
		return NAN;
	double s = 0;
	size_t c = 0;
	for (size_t i = 0; i < k; i++) {
		double mean, sd, vi = aq_bc_fwd(&prev->bc, v[i]);   /* on the model's scale */
		if (aq_arima_forecast(&m, 1, &mean, &sd, &e))
			break;
		if (isfinite(vi) && sd > 0) {
			double z = (vi - mean) / sd;
			s += z * z;
			c++;
		}
		if (aq_arima_update(&m, &vi, 1, &e))
			break;
	}
	aq_arima_model_release(&m);
	return c ? s / (double)c : NAN;
}

static int update(const struct aq_series *s, const struct aq_model_row *prev, struct aq_model_row *r,
		  char *why, size_t whylen)
{
	size_t k;
	int32_t end = s->first + (int32_t)s->n - 1;
	double *v = new_days(s, prev->trained_until + 1, end, &k);
	if (!v) {
		snprintf(why, whylen, "update failed: out of memory");
		return AQ_ENOMEM;
	}
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	struct aq_err e = {0};
	int rc = aq_model_row_to_arima(prev, &m, &e);
	if (!rc)
		rc = aq_model_row_update(prev, &m, v, k, &e);
	r->bc = prev->bc;
	if (!rc && !forecast_ok(&m)) {
		rc = AQ_ENUMERIC;
		snprintf(e.msg, sizeof e.msg, "updated state forecasts non-finite values");
	}
	if (!rc) {
		int32_t first = prev->first_date, nobs = prev->nobs, n = prev->n;
		double aicc = prev->aicc;
		rc = aq_model_row_from_arima(r, &m, &e);
		r->first_date = first;
		r->aicc = aicc;
		r->n = n + (int32_t)k;
		r->nobs = nobs;
		for (size_t i = 0; i < k; i++)
			r->nobs += isfinite(v[i]) != 0;
		r->status = AQ_MODEL_OK;
		aq_model_row_set_str(&r->reason, "", NULL);
	}
	if (rc)
		snprintf(why, whylen, "update failed: %s", e.msg);
	aq_arima_model_release(&m);
	free(v);
	return rc;
}

enum aq_train_action aq_train_account(int64_t account, const int32_t *date, const double *value, size_t k,
				      const struct aq_model_row *prev, const struct aq_train_opts *o,
				      struct aq_arima_ws *ws, struct aq_model_row *out)
{
	double t0 = aq_now();
	aq_model_row_release(out);
	struct aq_series s;
	aq_series_init(&s);
	struct aq_err e = {0};
	char why[AQ_ERR_MSG + 64];
	enum aq_train_action act;
	if (aq_series_build(&s, date, value, k, &o->series, &e)) {
		/* cannot even build the series (memory): keep what we had, or a zero model */
		if (prev) {
			aq_model_row_copy(out, prev, NULL);
			return AQ_ACT_CARRIED;
		}
		out->account = account;
		aq_model_row_set_str(&out->served, "arima", NULL);
		aq_model_row_set_mean(out, 0, 0, AQ_MODEL_FAILED, e.msg, NULL);
		return AQ_ACT_FAILED;
	}
	int32_t last = s.n ? s.first + (int32_t)s.n - 1 : s.last_reading;
	if (prev && (k == 0 || last <= prev->trained_until)) {
		aq_model_row_copy(out, prev, NULL);
		aq_series_release(&s);
		return AQ_ACT_CARRIED;
	}
	if (prev && prev->served)
		aq_model_row_set_str(&out->served, prev->served, NULL);
	out->served_margin = NAN;
	fill_common(out, account, &s, o);

	int has_arima = prev && aq_model_row_is_arima(prev);
	int rc = -1;
	why[0] = 0;
	if (s.nobs == 0) {
		set_fallback(out, &s, AQ_MODEL_FALLBACK, "no valid readings");
		act = AQ_ACT_FALLBACK;
		goto done;
	}
	if (s.nobs < (size_t)o->min_obs) {
		snprintf(why, sizeof why, "too short: %zu valid days (< %d)", s.nobs, o->min_obs);
		set_fallback(out, &s, AQ_MODEL_FALLBACK, why);
		act = AQ_ACT_FALLBACK;
		goto done;
	}
	if (aq_is_constant(s.y, s.n)) {
		double mean, var;
		size_t c;
		moments(s.y, s.n, &mean, &var, &c);
		set_fallback(out, &s, AQ_MODEL_FALLBACK, mean == 0 ? "all zero" : "constant series");
		act = AQ_ACT_FALLBACK;
		goto done;
	}
	act = AQ_ACT_SEARCHED;
	if (has_arima && o->mode == AQ_TRAIN_UPDATE) {
		rc = update(&s, prev, out, why, sizeof why);
		act = AQ_ACT_UPDATED;
	} else if (has_arima && (o->mode == AQ_TRAIN_REFIT || o->mode == AQ_TRAIN_AUTO)) {
		int research = 0;
		if (o->mode == AQ_TRAIN_AUTO) {
			size_t kn;
			double *v = new_days(&s, prev->trained_until + 1, last, &kn);
			double z2 = v ? one_step_z2(prev, v, kn) : NAN;
			free(v);
			research = isfinite(z2) && z2 > o->auto_z2;
		}
		if (!research) {
			rc = refit(&s, prev, o, ws, out, why, sizeof why);
			act = AQ_ACT_REFITTED;
		}
		if (rc && o->mode == AQ_TRAIN_REFIT) {
			/*
			 * A refit rejected (typically an MA root driven onto the unit
			 * circle by the new month) keeps the previous, accepted
			 * coefficients and filters the new days, as update does: a
			 * search here costs ~50 refits (2-3% of accounts, half the
			 * refit run's CPU). The reason says so; auto and full search.
			 */
			char first[sizeof why];
			snprintf(first, sizeof first, "%s", why);
			if (update(&s, prev, out, why, sizeof why) == 0) {
				char r2[sizeof why + 64];
				snprintf(r2, sizeof r2, "%s; previous coefficients kept", first);
				aq_model_row_set_str(&out->reason, r2, NULL);
				rc = 0;
				act = AQ_ACT_UPDATED;
			}
		}
		if (rc && o->mode == AQ_TRAIN_AUTO)
			research = 1;
		if (research) {
			rc = search(&s, o, ws, out, why, sizeof why);
			act = AQ_ACT_RESEARCHED;
		}
	}
	if (rc && act != AQ_ACT_RESEARCHED) {   /* not done yet (full), or update/refit failed */
		char first[sizeof why];
		snprintf(first, sizeof first, "%s", why);
		rc = search(&s, o, ws, out, why, sizeof why);
		if (rc && first[0]) {
			char both[2 * sizeof why + 2];
			snprintf(both, sizeof both, "%s; %s", first, why);
			memcpy(why, both, sizeof why - 1);
			why[sizeof why - 1] = 0;
		}
		act = AQ_ACT_SEARCHED;
	}
	if (rc) {
		set_fallback(out, &s, AQ_MODEL_FAILED, why);
		act = AQ_ACT_FAILED;
	}
done:
	out->account = account;
	out->fit_seconds = aq_now() - t0;
	aq_series_release(&s);
	return act;
}

/* ------------------------------------------------------------------ the run */

struct item {
	int64_t account;
	size_t start, count;              /* readings slice (count 0: carried from prev only) */
	const struct aq_model_row *prev;
};

struct part_job {
	const struct aq_readings *rd;
	const struct item *items;
	struct aq_model_row *rows;
	enum aq_train_action *act;
	const struct aq_train_opts *o;
	struct aq_arima_ws **ws;
	struct aq_progress *prog;
};

static void part_fn(void *ctx, size_t i, int tid)
{
	struct part_job *j = ctx;
	const struct item *it = &j->items[i];
	aq_model_row_init(&j->rows[i]);
	if (j->o->stop && *j->o->stop) {
		j->act[i] = AQ_ACT_CARRIED; /* not trained: the run fails with AQ_EINTR below */
		return;
	}
	j->act[i] = aq_train_account(it->account, it->count ? j->rd->date + it->start : NULL,
				     it->count ? j->rd->value + it->start : NULL, it->count, it->prev, j->o,
				     j->ws[tid], &j->rows[i]);
	if (j->prog)
		aq_progress_add(j->prog, 1);
}

static int in_filter(const struct aq_train_opts *o, int64_t a)
{
	if (!o->accounts)
		return 1;
	size_t lo = 0, hi = o->naccounts;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (o->accounts[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < o->naccounts && o->accounts[lo] == a;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct timing {
	double *v;
	size_t n, cap;
};

static int timing_add(struct timing *t, double ms)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		double *v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return AQ_ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = ms;
	return 0;
}

struct run_ctx {
	const struct aq_dataset *rds, *pds, *ods;
	const struct aq_train_opts *o;
	uint64_t key;
	struct aq_arima_ws **ws;
	struct aq_progress *prog;
	int by_part;
	int lo;                      /* first part of the run (part_unit_fn's item i is part lo + i) */
	pthread_mutex_t mu;          /* stats, timings, first error */
	struct aq_train_stats *st;
	struct timing *tm;
	int rc;
	struct aq_err err;
};

/* Read, fit (threads workers over accounts, workspaces ws[0..threads)) and write one part. */
static int train_part(struct run_ctx *R, int part, int threads, struct aq_arima_ws **ws, struct aq_err *e)
{
	const struct aq_train_opts *o = R->o;
	struct aq_train_stats *st = R->st;
	struct timing *tm = R->tm;
	int rc = 0;
	struct aq_readings rd;
	aq_readings_init(&rd);
	struct aq_model_part prev;
	aq_model_part_init(&prev);
	struct item *items = NULL;
	struct aq_model_row *rows = NULL;
	enum aq_train_action *act = NULL;
	size_t nit = 0;
	int32_t most_new = 0;
	if ((rc = aq_dataset_read_part(R->rds, part, &rd, e)))
		goto part_done;
	if (R->pds && (rc = aq_model_read_part(R->pds, part, &prev, e)))
		goto part_done;
	/* items: merge of readings' accounts and prev's accounts (both sorted) */
	size_t cap = prev.n + 16;
	for (size_t i = 0; i < rd.n; i++)
		cap += i == 0 || rd.account[i] != rd.account[i - 1];
	items = calloc(cap, sizeof *items);
	if (!items) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu work items", cap);
		goto part_done;
	}
	size_t i = 0, pj = 0;
	while (i < rd.n || pj < prev.n) {
		int64_t a = i < rd.n ? rd.account[i] : INT64_MAX;
		int64_t b = pj < prev.n ? prev.rows[pj].account : INT64_MAX;
		struct item it = {0};
		if (b < a) {
			it.account = b;
			it.prev = &prev.rows[pj++];
		} else {
			size_t j = i;
			while (j < rd.n && rd.account[j] == a)
				j++;
			it.account = a;
			it.start = i;
			it.count = j - i;
			i = j;
			if (b == a)
				it.prev = &prev.rows[pj++];
			if (rd.date[it.start] > o->series.until) {   /* nothing up to --until */
				if (!it.prev)
					continue;
				it.count = 0;
			}
			if (!in_filter(o, a)) {
				if (!it.prev)
					continue;
				it.count = 0;   /* not selected: carried over */
			}
			for (size_t k = it.start + it.count; R->pds && k-- > it.start;)
				if (rd.date[k] <= o->series.until) {   /* the last day up to --until */
					int32_t since = it.prev ? it.prev->trained_until : rd.date[it.start] - 1;

					most_new = rd.date[k] - since > most_new ? rd.date[k] - since : most_new;
					break;
				}
		}
		items[nit++] = it;
	}
	rows = calloc(nit ? nit : 1, sizeof *rows);
	act = calloc(nit ? nit : 1, sizeof *act);
	if (!rows || !act) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu model rows", nit);
		goto part_done;
	}
	if (!R->by_part)
		R->prog->total += nit;   /* account unit: parts run one after another */
	struct part_job job = {&rd, items, rows, act, o, ws, o->progress ? R->prog : NULL};
	if ((rc = aq_parallel_for(threads, nit, part_fn, &job, e)))
		goto part_done;
	if (o->stop && *o->stop) {
		rc = aq_err_set(e, AQ_EINTR, "stopped by a signal: no model set written");
		goto part_done;
	}
	pthread_mutex_lock(&R->mu);
	st->readings += rd.n;
	if (most_new > st->new_days)
		st->new_days = most_new;
	for (size_t k = 0; k < nit; k++) {
		st->accounts++;
		switch (rows[k].status) {
		case AQ_MODEL_OK: st->ok++; break;
		case AQ_MODEL_FALLBACK: st->fallback++; break;
		default: st->failed++; break;
		}
		switch (act[k]) {
		case AQ_ACT_CARRIED: st->carried++; break;
		case AQ_ACT_SEARCHED: st->searched++; break;
		case AQ_ACT_REFITTED: st->refitted++; break;
		case AQ_ACT_UPDATED: st->updated++; break;
		case AQ_ACT_RESEARCHED: st->researched++; break;
		default: break;
		}
		if (act[k] != AQ_ACT_CARRIED && timing_add(tm, rows[k].fit_seconds * 1e3) && !rc)
			rc = aq_err_set(e, AQ_ENOMEM, "cannot record timings");
		if (rows[k].status == AQ_MODEL_FAILED && act[k] != AQ_ACT_CARRIED)
			aq_warn("account %lld failed: %s", (long long)rows[k].account,
				rows[k].reason ? rows[k].reason : "");
	}
	pthread_mutex_unlock(&R->mu);
	if (!rc)
		rc = aq_model_write_part(R->ods, part, R->key, "train", rows, nit, NULL, e);
part_done:
	if (rows)
		for (size_t k = 0; k < nit; k++)
			aq_model_row_release(&rows[k]);
	free(rows);
	free(act);
	free(items);
	aq_model_part_release(&prev);
	aq_readings_release(&rd);
	return rc;
}

static void part_unit_fn(void *ctx, size_t i, int tid)
{
	struct run_ctx *R = ctx;
	pthread_mutex_lock(&R->mu);
	int stop = R->rc != 0;
	pthread_mutex_unlock(&R->mu);
	if (stop)
		return;
	struct aq_err e = {0};
	int rc = train_part(R, R->lo + (int)i, 1, &R->ws[tid], &e);
	pthread_mutex_lock(&R->mu);
	if (rc && !R->rc) {
		R->rc = rc;
		R->err = e;
	}
	pthread_mutex_unlock(&R->mu);
}

/* The manifest (account counts and the run's options as meta), then the rename into place. */
static int seal_models(struct aq_seal *seal, const char *readings_root, const char *prev_root,
		       const struct aq_train_opts *o, const struct aq_train_stats *st, struct aq_err *e)
{
	int range = o->part_lo >= 0;
	json_t *meta = json_pack("{s:s,s:s,s:s?,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "job", "train", "mode",
				 aq_train_mode_name(o->mode), "prev", prev_root, "season", o->search.season,
				 "accounts", (json_int_t)st->accounts, "ok", (json_int_t)st->ok, "fallback",
				 (json_int_t)st->fallback, "failed", (json_int_t)st->failed, "carried",
				 (json_int_t)st->carried, "searched", (json_int_t)st->searched, "refitted",
				 (json_int_t)st->refitted, "updated", (json_int_t)st->updated, "readings",
				 (json_int_t)st->readings);
	if (meta) {
		json_object_set_new(meta, "readings_dataset", json_string(readings_root));
		/* the search space and the series rule the set was made with (register logs them as params) */
		json_t *space = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:f}", "max_p", o->search.max_p, "max_q",
					  o->search.max_q, "max_P", o->search.max_P, "max_Q", o->search.max_Q, "min_obs",
					  o->min_obs, "window", o->series.window, "hampel_t", o->series.t);
		if (space)
			json_object_update(meta, space);
		json_decref(space);
	}
	if (meta && range) {
		json_object_set_new(meta, "part_lo", json_integer(o->part_lo));
		json_object_set_new(meta, "part_hi", json_integer(o->part_hi));
	}
	int rc = meta ? aq_manifest_write(seal->tmp, range ? AQ_TRAINPARTS_KIND : "models", st->accounts,
					  st->accounts, meta, e)
		      : aq_err_set(e, AQ_ENOMEM, "out of memory");
	json_decref(meta);
	if (rc) {
		aq_seal_abort(seal);
		return rc;
	}
	return aq_seal_commit(seal, e);
}

/* lo..hi from the options (all parts by default), checked against the dataset's P. */
static int part_range(const struct aq_train_opts *o, int parts, int *lo, int *hi, struct aq_err *e)
{
	if (o->part_lo < 0 && o->part_hi < 0)
		return 0;
	if (o->part_lo < 0 || o->part_hi < o->part_lo || o->part_hi >= parts)
		return aq_err_set(e, AQ_EINVAL, "part range %d-%d is outside the dataset's parts 0-%d", o->part_lo,
				  o->part_hi, parts - 1);
	*lo = o->part_lo;
	*hi = o->part_hi;
	return 0;
}

/* A whole run is sealed at out_root (never over an existing one); a part range into the staging area. */
static int begin_output(struct aq_seal *seal, const char *out_root, const struct aq_train_opts *o, struct aq_err *e)
{
	if (o->part_lo < 0)
		return aq_seal_begin(seal, out_root, 0, e);
	struct stat sb;
	if (stat(out_root, &sb) == 0)
		return aq_err_set(e, AQ_ESTATE, "model set '%s' is sealed already; its parts cannot be retrained",
				  out_root);
	char *dir = aq_trainparts_dir(out_root, o->part_lo, o->part_hi);
	if (!dir)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	int rc = aq_seal_begin(seal, dir, 1, e);
	free(dir);
	return rc;
}

/*
 * Refuse inputs that can train nothing, before the output exists: an empty
 * readings dataset, --until before its first reading, --accounts matching
 * none of its accounts (file footers, lib/inspect.h).
 */
static int check_inputs(const struct aq_dataset *rds, const char *root, const struct aq_train_opts *o,
			struct aq_err *e)
{
	struct aq_readings_probe p;
	char a[AQ_DATE_STRLEN], b[AQ_DATE_STRLEN], list[64] = "";
	int rc, found = 0;

	if ((rc = aq_readings_probe(rds, &p, e)))
		return rc;
	if (!p.rows)
		return aq_err_set(e, AQ_ENOTFOUND, "no readings in dataset '%s'", root);
	if (o->series.until < p.date_min)
		return aq_err_set(e, AQ_EINVAL, "--until %s is before the first reading (%s) of '%s'",
				  aq_date_format(o->series.until, a), aq_date_format(p.date_min, b), root);
	if (!o->accounts || (rc = aq_readings_has_account(rds, o->accounts, o->naccounts, &found, e)) || found)
		return rc;
	for (size_t i = 0; i < o->naccounts && i < 3; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%lld", i ? "," : "",
			 (long long)o->accounts[i]);
	return aq_err_set(e, AQ_ENOTFOUND, "--accounts %s%s matches no account of '%s'", list,
			  o->naccounts > 3 ? ",..." : "", root);
}

int aq_train_run(const char *readings_root, const char *out_root, const char *prev_root,
		 const struct aq_train_opts *o, struct aq_train_stats *st, struct aq_err *e)
{
	double t0 = aq_now();
	memset(st, 0, sizeof *st);
	struct aq_dataset rds = {0}, pds = {0}, ods = {0};
	struct aq_seal seal = {0};
	int have_prev = 0, have_out = 0, have_seal = 0;
	int rc = aq_dataset_open(&rds, readings_root, e);
	if (rc)
		return rc;
	if (strcmp(rds.kind, "readings") != 0) {
		rc = aq_err_set(e, AQ_EINVAL, "dataset '%s' is of kind '%s', not readings", readings_root, rds.kind);
		goto out;
	}
	if ((rc = check_inputs(&rds, readings_root, o, e)))
		goto out;
	if (prev_root) {
		if ((rc = aq_modelset_open(&pds, prev_root, NULL, e)))
			goto out;
		have_prev = 1;
		if (pds.parts != rds.parts) {
			rc = aq_err_set(e, AQ_EINVAL, "previous model set '%s' (kind %s, %d parts) does not match readings (%d parts)",
					prev_root, pds.kind, pds.parts, rds.parts);
			goto out;
		}
	}
	int lo = 0, hi = rds.parts - 1;
	if ((rc = part_range(o, rds.parts, &lo, &hi, e)) || (rc = begin_output(&seal, out_root, o, e)))
		goto out;
	have_seal = 1;
	if ((rc = aq_dataset_create(&ods, seal.tmp, "models", rds.parts, e)))
		goto out;
	have_out = 1;
	int threads = o->threads > 0 ? o->threads : aq_ncores();
	st->threads = threads;
	st->parts = rds.parts;
	struct aq_arima_ws **ws = calloc((size_t)threads, sizeof *ws);
	if (!ws) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate workspaces");
		goto out;
	}
	for (int t = 0; t < threads; t++)
		if (!(ws[t] = aq_arima_ws_new())) {
			rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate workspaces");
			goto out_ws;
		}
	uint64_t key = aq_dataset_next_key(&ods);
	struct aq_progress prog;
	aq_progress_init(&prog, "train", "accounts", 0);
	struct timing tm = {0};
	/*
	 * Unit of work: with at least 2 parts per thread, whole parts (no barrier
	 * between parts; a part's read/write overlaps other parts' fitting);
	 * otherwise accounts within one part at a time. opts.unit forces one.
	 */
	struct run_ctx R = {&rds, have_prev ? &pds : NULL, &ods, o, key, ws, &prog, 0, lo,
			    PTHREAD_MUTEX_INITIALIZER, st, &tm, 0, {0}};
	int nparts = hi - lo + 1;
	R.by_part = o->unit == 1 || (o->unit == 0 && nparts >= 2 * threads);
	st->unit_parts = R.by_part;
	if (R.by_part) {
		if ((rc = aq_parallel_for(threads, (size_t)nparts, part_unit_fn, &R, e)) == 0 && R.rc) {
			rc = R.rc;
			*e = R.err;
		}
	} else {
		for (int part = lo; part <= hi && !rc; part++)
			rc = train_part(&R, part, threads, ws, e);
	}
	if (o->progress)
		aq_progress_finish(&prog);
	if (!rc && prev_root && st->new_days == 0)
		aq_warn("no new days after the previous model set '%s': every account carried over", prev_root);
	if (tm.n) {
		qsort(tm.v, tm.n, sizeof *tm.v, cmp_double);
		st->fit_ms_median = tm.n % 2 ? tm.v[tm.n / 2] : 0.5 * (tm.v[tm.n / 2 - 1] + tm.v[tm.n / 2]);
		size_t i99 = (size_t)ceil(0.99 * (double)tm.n) - 1;
		st->fit_ms_p99 = tm.v[i99 < tm.n ? i99 : tm.n - 1];
		double s = 0;
		for (size_t i = 0; i < tm.n; i++)
			s += tm.v[i];
		st->fit_ms_mean = s / (double)tm.n;
	}
	free(tm.v);
out_ws:
	for (int t = 0; t < threads; t++)
		if (ws[t])
			aq_arima_ws_free(ws[t]);
	free(ws);
out:
	if (!rc && have_seal)
		rc = seal_models(&seal, rds.root, prev_root, o, st, e);
	else if (have_seal)
		aq_seal_abort(&seal);
	st->seconds = aq_now() - t0;
	aq_dataset_release(&rds);
	if (have_prev)
		aq_dataset_release(&pds);
	if (have_out)
		aq_dataset_release(&ods);
	return rc;
}
