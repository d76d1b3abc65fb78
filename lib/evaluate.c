/* evaluate.c — new-data scoring, rolling-origin backtest, per-account choice of the served forecaster, champion/challenger gate. */
#include "evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Z80 1.2815515655446004
#define Z95 1.959963984540054
/* The ensemble's members: arima and the first ENS_NREF references (snaive7, mean28, median28; wmed4 is not one). */
#define ENS_NREF 3

static const char *const fc_names[AQ_FC_N] = {"arima", "snaive7", "mean28", "median28", "wmed4", "combo", "ensemble"};

const char *aq_fc_name(int fc)
{
	return (fc >= 0 && fc < AQ_FC_N) ? fc_names[fc] : NULL;
}

const char *aq_served_str(int fc, int combo_ref, char *buf, size_t len)
{
	if (fc == AQ_FC_COMBO)
		snprintf(buf, len, "arima+%s", aq_ref_name(combo_ref) ? aq_ref_name(combo_ref) : "median28");
	else
		snprintf(buf, len, "%s", aq_fc_name(fc) ? aq_fc_name(fc) : "arima");
	return buf;
}

int aq_served_parse(const char *s, int *fc, int *combo_ref)
{
	*combo_ref = AQ_REF_MEDIAN28;
	if (!s || !*s) {
		*fc = AQ_FC_ARIMA;
		return 0;
	}
	if (strncmp(s, "arima+", 6) == 0) {
		int r = aq_ref_from_name(s + 6);
		if (r < 0)
			return AQ_EINVAL;
		*fc = AQ_FC_COMBO;
		*combo_ref = r;
		return 0;
	}
	for (int i = 0; i < AQ_FC_N; i++)
		if (i != AQ_FC_COMBO && strcmp(s, fc_names[i]) == 0) {
			*fc = i;
			return 0;
		}
	return AQ_EINVAL;
}

void aq_eval_opts_default(struct aq_eval_opts *o)
{
	o->windows = 4;
	o->choice = AQ_CHOICE_ROBUST;
	o->challenge_margin = 0.10;
	o->horizon = 30;
	o->max_new_days = 366;
	o->combo_ref = -1;
	o->cal_scale = AQ_CAL_SCALE_SPREAD;
	o->default_fc = AQ_FC_ENSEMBLE;
	aq_anomaly_opts_default(&o->anomaly);
}

const char *aq_eval_status_name(int st)
{
	switch (st) {
	case AQ_EVAL_OK: return "ok";
	case AQ_EVAL_NO_NEW_DATA: return "no_new_data";
	case AQ_EVAL_NO_MODEL: return "no_model";
	case AQ_EVAL_NO_READINGS: return "no_readings";
	default: return "unknown";
	}
}

void aq_eval_ws_init(struct aq_eval_ws *ws)
{
	ws->cap = 0;
	ws->buf = NULL;
}

void aq_eval_ws_release(struct aq_eval_ws *ws)
{
	free(ws->buf);
	aq_eval_ws_init(ws);
}

static int ws_reserve(struct aq_eval_ws *ws, size_t need, struct aq_err *e)
{
	if (need <= ws->cap)
		return 0;
	double *b = realloc(ws->buf, need * sizeof(*b));
	if (!b)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu doubles of evaluation workspace", need);
	ws->buf = b;
	ws->cap = need;
	return 0;
}

/*
 * Normal interval from mean and sd; the point forecast and the lower bounds
 * clipped at 0 (consumption; the bounds around the unclipped mean). NaN sd
 * gives NaN bounds. mean may alias p->mean.
 */
static void normal_path(const double *mean, const double *sd, int h, const struct aq_path *p)
{
	for (int i = 0; i < h; i++) {
		double m = mean[i];
		double s = sd ? sd[i] : NAN;
		p->mean[i] = fmax(0.0, m);
		p->lo80[i] = isfinite(s) ? fmax(0.0, m - Z80 * s) : NAN;
		p->hi80[i] = isfinite(s) ? fmax(0.0, m + Z80 * s) : NAN;
		p->lo95[i] = isfinite(s) ? fmax(0.0, m - Z95 * s) : NAN;
		p->hi95[i] = isfinite(s) ? fmax(0.0, m + Z95 * s) : NAN;
	}
}

/* Median of the finite values among v[0..k) (k <= 4), NaN if none. */
static double median_finite(const double *v, int k)
{
	double x[4];
	int m = 0;
	for (int i = 0; i < k; i++)
		if (isfinite(v[i])) {
			int j = m++;
			while (j > 0 && x[j - 1] > v[i]) {
				x[j] = x[j - 1];
				j--;
			}
			x[j] = v[i];
		}
	if (!m)
		return NAN;
	return (m & 1) ? x[m / 2] : 0.5 * (x[m / 2 - 1] + x[m / 2]);
}

/*
 * Ensemble: day by day, the median of the members' point forecasts and of
 * each of their bounds (members without a forecast that day are left out;
 * a member's missing bound counts as missing). Medians of ordered bounds
 * stay ordered; the point is forced inside [lo80, hi80] when both exist.
 */
static void ensemble_of(const struct aq_path *mem, int k, int h, const struct aq_path *out)
{
	for (int i = 0; i < h; i++) {
		double v[4], l80[4], h80[4], l95[4], h95[4];
		for (int j = 0; j < k; j++) {
			int ok = isfinite(mem[j].mean[i]);
			v[j] = ok ? mem[j].mean[i] : NAN;
			l80[j] = ok ? mem[j].lo80[i] : NAN;
			h80[j] = ok ? mem[j].hi80[i] : NAN;
			l95[j] = ok ? mem[j].lo95[i] : NAN;
			h95[j] = ok ? mem[j].hi95[i] : NAN;
		}
		double m = fmax(0.0, median_finite(v, k));
		double a = median_finite(l80, k), b = median_finite(h80, k);
		if (isfinite(m) && isfinite(a) && isfinite(b))
			m = fmin(fmax(m, a), b);
		out->mean[i] = m;
		out->lo80[i] = a;
		out->hi80[i] = b;
		out->lo95[i] = median_finite(l95, k);
		out->hi95[i] = median_finite(h95, k);
	}
}

int aq_served_forecast(int fc, int combo_ref, const double *y, size_t n, int h, const double *arima_mean,
		       const double *arima_sd, const struct aq_path *out, struct aq_err *e)
{
	if (!arima_mean)
		return aq_served_forecast_path(fc, combo_ref, y, n, h, NULL, out, e);
	double *tmp = malloc((size_t)(h > 0 ? h : 1) * 5 * sizeof(*tmp));
	if (!tmp)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate a forecast path of %d days", h);
	struct aq_path a = {tmp, tmp + h, tmp + 2 * h, tmp + 3 * h, tmp + 4 * h};
	normal_path(arima_mean, arima_sd, h, &a);
	int rc = aq_served_forecast_path(fc, combo_ref, y, n, h, &a, out, e);
	free(tmp);
	return rc;
}

static void copy_path(const struct aq_path *src, int h, const struct aq_path *dst)
{
	size_t sz = (size_t)h * sizeof(double);
	memmove(dst->mean, src->mean, sz);
	memmove(dst->lo80, src->lo80, sz);
	memmove(dst->hi80, src->hi80, sz);
	memmove(dst->lo95, src->lo95, sz);
	memmove(dst->hi95, src->hi95, sz);
}

int aq_served_forecast_path(int fc, int combo_ref, const double *y, size_t n, int h, const struct aq_path *arima,
			    const struct aq_path *out, struct aq_err *e)
{
	if (fc < 0 || fc >= AQ_FC_N)
		return aq_err_set(e, AQ_EINVAL, "unknown forecaster %d", fc);
	if (fc == AQ_FC_ENSEMBLE) {
		double *tmp = malloc((size_t)(h > 0 ? h : 1) * 5 * 4 * sizeof(*tmp));
		if (!tmp)
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate a forecast path of %d days", h);
		struct aq_path mem[4];
		for (int j = 0; j < 4; j++) {
			double *b = tmp + (size_t)j * 5 * (size_t)h;
			mem[j] = (struct aq_path){b, b + h, b + 2 * h, b + 3 * h, b + 4 * h};
		}
		if (arima)
			copy_path(arima, h, &mem[0]);
		else
			for (int i = 0; i < h; i++)
				mem[0].mean[i] = NAN;
		int nref = 0;
		for (int r = 0; r < ENS_NREF; r++)
			nref += aq_ref_forecast(r, y, n, h, &mem[1 + r], NULL) == 0;
		if (!arima && !nref) {
			free(tmp);
			return aq_err_set(e, AQ_ENOTFOUND, "no member of the ensemble has a forecast");
		}
		ensemble_of(mem, 4, h, out);
		free(tmp);
		return 0;
	}
	if (fc == AQ_FC_ARIMA || fc == AQ_FC_COMBO) {
		if (!arima)
			return aq_err_set(e, AQ_EINVAL, "served forecaster '%s' needs the arima forecast", fc_names[fc]);
		copy_path(arima, h, out);
		if (fc == AQ_FC_ARIMA)
			return 0;
		double *tmp = malloc((size_t)(h > 0 ? h : 1) * 5 * sizeof(*tmp));
		if (!tmp)
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate a forecast path of %d days", h);
		struct aq_path r = {tmp, tmp + h, tmp + 2 * h, tmp + 3 * h, tmp + 4 * h};
		aq_ref_forecast(combo_ref, y, n, h, &r, NULL);  /* NaN path if the window is empty: average keeps arima */
		aq_path_average(out, &r, h, out);
		free(tmp);
		return 0;
	}
	return aq_ref_forecast(fc - AQ_FC_SNAIVE7, y, n, h, out, e);
}

/* Per-origin paths: AQ_FC_N forecasters x 5 arrays (mean, lo80, hi80, lo95, hi95) of h days. */
static struct aq_path path_at(double *base, int fc, int h)
{
	double *p = base + (size_t)fc * 5 * (size_t)h;
	struct aq_path r = {p, p + h, p + 2 * h, p + 3 * h, p + 4 * h};
	return r;
}

/* The model's daily sd and the sd of its cumulative totals, after the paths of an origin block of h days. */
static double *block_sd(double *base, int h)
{
	return base + (size_t)AQ_FC_N * 5 * (size_t)h;
}

/* sdsum[i]: sd of the total of steps 1..i+1 (the model's, else independent days). */
static void sd_sums(const struct aq_eval_model *model, const double *sd, int h, double *sdsum)
{
	struct aq_err e = {0};
	if (model && model->sdsum && model->sdsum(model->ctx, h, sdsum, &e) == 0)
		return;
	double v = 0;
	for (int i = 0; i < h; i++) {
		v += sd[i] * sd[i];
		sdsum[i] = sqrt(v);
	}
}

/*
 * Forecast every forecaster except combo from origin o (y[0..o) known) into
 * base (paths, then the model's sd and sdsum of h days each). Returns 0 if
 * arima worked.
 */
static int forecast_all(const double *y, size_t o, int h, const struct aq_eval_model *model, double *base)
{
	struct aq_path pa = path_at(base, AQ_FC_ARIMA, h);
	double *sd = block_sd(base, h), *sdsum = sd + h;
	struct aq_err e = {0};
	int rc = model && model->forecast ? model->forecast(model->ctx, y, o, h, pa.mean, sd, &e) : AQ_EINVAL;
	if (rc == 0) {
		for (int i = 0; i < h; i++)
			if (!isfinite(pa.mean[i]))
				rc = AQ_ENUMERIC;
	}
	if (rc == 0) {
		normal_path(pa.mean, sd, h, &pa);
		sd_sums(model, sd, h, sdsum);
	} else {
		for (int i = 0; i < h; i++)
			pa.mean[i] = pa.lo80[i] = pa.hi80[i] = pa.lo95[i] = pa.hi95[i] = sd[i] = sdsum[i] = NAN;
	}
	for (int r = 0; r < AQ_REF_N; r++) {
		struct aq_path pr = path_at(base, AQ_FC_SNAIVE7 + r, h);
		aq_ref_forecast(r, y, o, h, &pr, NULL);  /* NaN when the window is empty */
	}
	return rc;
}

static void combo_path(double *base, int ref, int h);

/* Total of the first L days of path p; bounds from the root sum of squares of the daily half-widths. */
static void ref_total(const struct aq_path *p, int L, double tot[5])
{
	double F = 0, s[4] = {0, 0, 0, 0};
	const double *b[4] = {p->lo80, p->hi80, p->lo95, p->hi95};
	for (int i = 0; i < L; i++) {
		F += p->mean[i];
		for (int j = 0; j < 4; j++)
			s[j] += (b[j][i] - p->mean[i]) * (b[j][i] - p->mean[i]);   /* NaN bound: NaN */
	}
	tot[0] = F;
	for (int j = 0; j < 4; j++)
		tot[1 + j] = (j & 1) ? F + sqrt(s[j]) : fmax(0.0, F - sqrt(s[j]));
}

/*
 * Every forecaster's total of the first L days of the origin block base (h
 * days): tot[f] = {F, lo80, hi80, lo95, hi95} (rules in evaluate.h, newtot).
 */
static void block_totals(const double *base, int h, int L, int ref, double tot[AQ_FC_N][5])
{
	struct aq_path pa = path_at((double *)base, AQ_FC_ARIMA, h);
	const double *sdsum = block_sd((double *)base, h) + h;
	double F = aq_sum_complete(pa.mean, L);
	tot[AQ_FC_ARIMA][0] = F;
	aq_cal_interval(NULL, L, F, sdsum[L - 1], 0.80, &tot[AQ_FC_ARIMA][1], &tot[AQ_FC_ARIMA][2]);
	aq_cal_interval(NULL, L, F, sdsum[L - 1], 0.95, &tot[AQ_FC_ARIMA][3], &tot[AQ_FC_ARIMA][4]);
	for (int j = 1; j < 5 && !isfinite(sdsum[L - 1]); j++)
		tot[AQ_FC_ARIMA][j] = NAN;
	for (int r = 0; r < AQ_REF_N; r++) {
		struct aq_path pr = path_at((double *)base, AQ_FC_SNAIVE7 + r, h);
		ref_total(&pr, L, tot[AQ_FC_SNAIVE7 + r]);
	}
	struct aq_path pc = path_at((double *)base, AQ_FC_COMBO, h), pe = path_at((double *)base, AQ_FC_ENSEMBLE, h);
	tot[AQ_FC_COMBO][0] = aq_sum_complete(pc.mean, L);
	tot[AQ_FC_ENSEMBLE][0] = aq_sum_complete(pe.mean, L);
	for (int j = 1; j < 5; j++) {
		double a = tot[AQ_FC_ARIMA][j], b = tot[AQ_FC_SNAIVE7 + ref][j];
		tot[AQ_FC_COMBO][j] = isnan(a) ? b : isnan(b) ? a : 0.5 * (a + b);
		double v[4];
		for (int m = 0; m < 4; m++)
			v[m] = isfinite(tot[m][0]) ? tot[m][j] : NAN;
		tot[AQ_FC_ENSEMBLE][j] = median_finite(v, 4);
	}
}

size_t aq_eval_block_size(int h)
{
	return ((size_t)AQ_FC_N * 5 + 2) * (size_t)(h > 0 ? h : 1);
}

int aq_eval_paths(const double *y, size_t o, int h, const struct aq_eval_model *model, int combo_ref, double *block,
		  struct aq_path paths[AQ_FC_N], const double **sd, const double **sdsum)
{
	int rc = forecast_all(y, o, h, model, block);
	combo_path(block, combo_ref >= 0 && combo_ref < AQ_REF_N ? combo_ref : AQ_REF_MEDIAN28, h);
	for (int f = 0; f < AQ_FC_N; f++)
		paths[f] = path_at(block, f, h);
	*sd = block_sd(block, h);
	*sdsum = *sd + h;
	return rc;
}

void aq_eval_block_totals(const double *block, int h, int L, int combo_ref, double tot[AQ_FC_N][5])
{
	block_totals(block, h, L, combo_ref >= 0 && combo_ref < AQ_REF_N ? combo_ref : AQ_REF_MEDIAN28, tot);
}

/* Score the totals of every horizon that fits in the block's h days into acc[f][j]. */
static void score_totals(struct aq_total_acc acc[AQ_FC_N][AQ_TOT_NH], const double *actual, const double *base,
			 int h, int ref)
{
	for (int j = 0; j < AQ_TOT_NH; j++) {
		int L = aq_tot_horizons[j];
		if (L > h)
			continue;
		double tot[AQ_FC_N][5], Y = aq_sum_complete(actual, L);
		block_totals(base, h, L, ref, tot);
		for (int f = 0; f < AQ_FC_N; f++)
			aq_total_acc_add(&acc[f][j], Y, tot[f][0], tot[f][1], tot[f][2], tot[f][3], tot[f][4]);
	}
}

/* The served forecaster's errors of one backtest block, standardised by the model's sd (lib/calib.h). */
static void cal_add_block(struct aq_cal_sample *cal, int window, const double *actual, const double *base, int h,
			  int served, double ratio)
{
	struct aq_path sp = path_at((double *)base, served, h);
	const double *sd = block_sd((double *)base, h), *sdsum = sd + h;
	for (int i = 0; i < h; i++)
		aq_cal_sample_add(cal, 0, window, actual[i], sp.mean[i], sd[i] * ratio);
	for (int k = 1; k < AQ_CAL_NK; k++) {
		int L = aq_cal_lengths[k];
		if (L <= h)
			aq_cal_sample_add(cal, k, window, aq_sum_complete(actual, L), aq_sum_complete(sp.mean, L),
					  sdsum[L - 1] * ratio);
	}
}

/* The combination with reference ref, and the ensemble, from the members already in base. */
static void combo_path(double *base, int ref, int h)
{
	struct aq_path pa = path_at(base, AQ_FC_ARIMA, h), pr = path_at(base, AQ_FC_SNAIVE7 + ref, h),
		       pc = path_at(base, AQ_FC_COMBO, h);
	aq_path_average(&pa, &pr, h, &pc);
	struct aq_path mem[4] = {pa, path_at(base, AQ_FC_SNAIVE7, h), path_at(base, AQ_FC_MEAN28, h),
				 path_at(base, AQ_FC_MEDIAN28, h)};
	struct aq_path pe = path_at(base, AQ_FC_ENSEMBLE, h);
	ensemble_of(mem, 4, h, &pe);
}

static void score(struct aq_metrics_acc *acc, const double *actual, const double *base, int h, int nscore)
{
	for (int f = 0; f < AQ_FC_N; f++) {
		struct aq_path p = path_at((double *)base, f, h);
		for (int i = 0; i < nscore; i++)
			aq_metrics_acc_add(&acc[f], actual[i], p.mean[i], p.lo80[i], p.hi80[i], p.lo95[i], p.hi95[i]);
	}
}

static double pooled_mae(const struct aq_metrics_acc *a)
{
	return a->n ? a->sum_abs / (double)a->n : NAN;
}

/* Lowest pooled MAE (ties: earlier in enum order) into *win, the runner-up into *second (-1: none). */
static void lowest_two(const double pooled[AQ_FC_N], int *win, int *second)
{
	*win = *second = -1;
	for (int f = 0; f < AQ_FC_N; f++) {
		double m = pooled[f];
		if (!isfinite(m))
			continue;
		if (*win < 0 || m < pooled[*win]) {
			*second = *win;
			*win = f;
		} else if (*second < 0 || m < pooled[*second]) {
			*second = f;
		}
	}
}

int aq_eval_choose(const struct aq_eval_opts *o, const double pooled[AQ_FC_N], const double (*wmae)[AQ_FC_N],
		   int nwin, double *margin)
{
	int win, second;
	lowest_two(pooled, &win, &second);
	*margin = NAN;
	if (win < 0)
		return -1;
	int D = o->default_fc >= 0 && o->default_fc < AQ_FC_N ? o->default_fc : AQ_FC_ENSEMBLE;
	double dm = pooled[D];
	if (!isfinite(dm) && D != AQ_FC_ENSEMBLE && isfinite(pooled[AQ_FC_ENSEMBLE]))
		dm = pooled[D = AQ_FC_ENSEMBLE];   /* the default cannot forecast here (e.g. arima failed) */
	if (o->choice == AQ_CHOICE_ROBUST && isfinite(dm)) {
		/* default + hysteresis: the challenger must win by the margin pooled AND in most windows */
		int wins = 0, scored = 0;
		for (int k = 0; k < nwin; k++) {
			if (!isfinite(wmae[k][win]) || !isfinite(wmae[k][D]))
				continue;
			scored++;
			wins += wmae[k][win] < wmae[k][D];
		}
		int other = win != D ? win : second;
		double cm = other >= 0 ? pooled[other] : NAN;
		int take = win != D && cm <= dm * (1.0 - o->challenge_margin) && 2 * wins > scored;
		if (take)
			*margin = dm > 0 ? (dm - cm) / dm : 0.0;
		else {
			*margin = isfinite(cm) && dm > 0 ? (cm - dm) / dm : NAN;
			win = D;
		}
	} else if (second >= 0) {
		double a = pooled[win], b = pooled[second];
		*margin = b > 0 ? (b - a) / b : 0.0;
	}
	return win;
}

void aq_default_acc_init(struct aq_default_acc *a)
{
	memset(a, 0, sizeof *a);
}

void aq_default_acc_add(struct aq_default_acc *a, const struct aq_eval_result *r)
{
	double de = r->backtest[AQ_FC_ENSEMBLE].mae;
	if (!(de > 0) || !isfinite(de))
		return;
	for (int f = 0; f < AQ_FC_N; f++) {
		double m = r->backtest[f].mae;
		if (!isfinite(m))
			continue;
		double g = 1.0 - m / de;
		a->n[f]++;
		a->sum[f] += g;
		a->sumsq[f] += g * g;
	}
}

void aq_default_acc_merge(struct aq_default_acc *dst, const struct aq_default_acc *src)
{
	for (int f = 0; f < AQ_FC_N; f++) {
		dst->n[f] += src->n[f];
		dst->sum[f] += src->sum[f];
		dst->sumsq[f] += src->sumsq[f];
	}
}

int aq_default_choose(const struct aq_default_acc *a, double *gain, long *n)
{
	int best = AQ_FC_ENSEMBLE;
	double bg = 0;
	for (int f = 0; f < AQ_FC_N; f++) {
		long k = a->n[f];
		if (f == AQ_FC_ENSEMBLE || k < AQ_DEFAULT_MIN)
			continue;
		double m = a->sum[f] / (double)k, var = (a->sumsq[f] - k * m * m) / (double)(k - 1);
		double se = sqrt(fmax(var, 0) / (double)k);
		if (m > AQ_DEFAULT_Z * se && m > bg) {
			best = f;
			bg = m;
		}
	}
	if (gain)
		*gain = bg;
	if (n)
		*n = a->n[AQ_FC_ENSEMBLE];
	return best;
}

/* The state of one account's evaluation, shared by the steps of aq_eval_account. */
struct eval_run {
	const double *y, *actual;
	size_t n, n_train;
	const struct aq_eval_model *model;
	const struct aq_eval_opts *o;
	struct aq_eval_ws *ws;
	struct aq_eval_result *r;
	struct aq_eval_alts *alts;   /* NULL: the served candidate only */
	int h, hn, hmax, W, nwin;
	size_t block;                /* doubles per origin block */
	int used[AQ_EVAL_MAXWIN];    /* window k (origin n - k h) has a block at k - 1 */
	struct aq_metrics_acc bt[AQ_FC_N];
};

static double *win_block(const struct eval_run *x, int k)
{
	return x->ws->buf + (size_t)(k - 1) * x->block;
}

static const double *win_actual(const struct eval_run *x, int k)
{
	return x->actual + (x->n - (size_t)k * (size_t)x->h);
}

/* Step 1: check the request, reset r, size the workspace (K backtest blocks + one for new data/anomaly). */
static int eval_setup(struct eval_run *x, struct aq_err *e)
{
	const struct aq_eval_opts *o = x->o;
	if (x->n_train > x->n || o->horizon <= 0 || o->windows < 0 || o->windows > AQ_EVAL_MAXWIN)
		return aq_err_set(e, AQ_EINVAL, "invalid evaluation request (n %zu, trained %zu, h %d, K %d)", x->n,
				  x->n_train, o->horizon, o->windows);
	struct aq_eval_result *r = x->r;
	int64_t account = r->account;
	memset(r, 0, sizeof(*r));
	r->account = account;
	r->served_margin = NAN;
	r->combo_ref = (o->combo_ref >= 0 && o->combo_ref < AQ_REF_N) ? o->combo_ref : AQ_REF_MEDIAN28;
	r->scale = aq_mase_scale(x->actual, x->n_train, 7);
	for (int k = 0; k < AQ_EVAL_MAXWIN; k++)
		for (int f = 0; f < AQ_FC_N; f++)
			r->wmae[k][f] = NAN;
	aq_cal_sample_init(&r->cal);
	if (x->alts)
		memset(x->alts, 0, sizeof(*x->alts));
	x->h = o->horizon;
	x->nwin = o->windows;
	x->hn = (int)(x->n - x->n_train);
	if (x->hn > o->max_new_days)
		x->hn = o->max_new_days;
	x->hmax = x->h > x->hn ? x->h : x->hn;
	x->W = o->anomaly.days > 0 ? o->anomaly.days : 28;
	if (x->W > x->hmax)
		x->hmax = x->W;
	x->block = aq_eval_block_size(x->hmax);
	memset(x->used, 0, sizeof x->used);
	return ws_reserve(x->ws, (size_t)(x->nwin + 1) * x->block, e);
}

/* Step 2: every forecaster but combo from the backtest origins n - k h, k = K..1. */
static void backtest_forecasts(struct eval_run *x)
{
	for (int k = x->nwin; k >= 1; k--) {
		long o_k = (long)x->n - (long)k * x->h;
		if (o_k < AQ_REF_WINDOW)
			continue;
		if (forecast_all(x->y, (size_t)o_k, x->h, x->model, win_block(x, k)))
			x->r->arima_failures++;
		x->used[k - 1] = 1;
	}
}

/* Step 3: the reference of the combination, the lowest pooled backtest MAE (unless fixed by the options). */
static void pick_combo_ref(struct eval_run *x)
{
	struct aq_metrics_acc refacc[AQ_FC_N];
	for (int f = 0; f < AQ_FC_N; f++)
		aq_metrics_acc_init(&refacc[f]);
	for (int k = 1; k <= x->nwin; k++)
		if (x->used[k - 1]) {
			struct aq_metrics_acc tmp[AQ_FC_N];
			for (int f = 0; f < AQ_FC_N; f++)
				aq_metrics_acc_init(&tmp[f]);
			score(tmp, win_actual(x, k), win_block(x, k), x->h, x->h);
			for (int f = 0; f < AQ_FC_N; f++)
				aq_metrics_acc_merge(&refacc[f], &tmp[f]);
			if (tmp[AQ_FC_MEDIAN28].n > 0 || tmp[AQ_FC_ARIMA].n > 0)
				x->r->windows++;
		}
	if (x->o->combo_ref >= 0 && x->o->combo_ref < AQ_REF_N)
		return;
	double best = INFINITY;
	for (int q = 0; q < AQ_REF_N; q++) {
		double m = pooled_mae(&refacc[AQ_FC_SNAIVE7 + q]);
		if (isfinite(m) && m < best) {
			best = m;
			x->r->combo_ref = q;
		}
	}
}

/* Step 4: the combination in every window, then every forecaster scored per window and pooled (days, totals). */
static void score_backtest(struct eval_run *x)
{
	struct aq_eval_result *r = x->r;
	struct aq_total_acc btt[AQ_FC_N][AQ_TOT_NH];
	for (int f = 0; f < AQ_FC_N; f++) {
		aq_metrics_acc_init(&x->bt[f]);
		for (int j = 0; j < AQ_TOT_NH; j++)
			aq_total_acc_init(&btt[f][j]);
	}
	for (int k = 1; k <= x->nwin; k++) {
		if (!x->used[k - 1])
			continue;
		double *base = win_block(x, k);
		combo_path(base, r->combo_ref, x->h);
		struct aq_metrics_acc tmp[AQ_FC_N];
		for (int f = 0; f < AQ_FC_N; f++)
			aq_metrics_acc_init(&tmp[f]);
		score(tmp, win_actual(x, k), base, x->h, x->h);
		score_totals(btt, win_actual(x, k), base, x->h, r->combo_ref);
		for (int f = 0; f < AQ_FC_N; f++) {
			r->wmae[k - 1][f] = pooled_mae(&tmp[f]);
			aq_metrics_acc_merge(&x->bt[f], &tmp[f]);
		}
	}
	for (int f = 0; f < AQ_FC_N; f++) {
		aq_metrics_finish(&x->bt[f], r->scale, &r->backtest[f]);
		for (int j = 0; j < AQ_TOT_NH; j++)
			aq_total_finish(&btt[f][j], &r->bttot[f][j]);
	}
}

/* The local scale of enum aq_cal_scale at origin o (evaluate.h), from mean28 (scratch: one path of 1 day); NaN if none. */
static double local_scale(int kind, const double *y, size_t o, double *scratch)
{
	if (kind == AQ_CAL_SCALE_NONE)
		return NAN;
	struct aq_path p = path_at(scratch, AQ_FC_MEAN28, 1);
	if (aq_ref_forecast(AQ_REF_MEAN28, y, o, 1, &p, NULL))
		return NAN;
	double m = p.mean[0];
	return kind == AQ_CAL_SCALE_SPREAD ? (p.hi80[0] - m) / Z80 : kind == AQ_CAL_SCALE_LEVEL ? m : sqrt(fmax(m, 0));
}

/* Step 5: the served forecaster (aq_eval_choose; without evidence the default), and its calibration sample. */
static void choose_served(struct eval_run *x)
{
	struct aq_eval_result *r = x->r;
	double pooled[AQ_FC_N];
	for (int f = 0; f < AQ_FC_N; f++)
		pooled[f] = pooled_mae(&x->bt[f]);
	int win = aq_eval_choose(x->o, pooled, (const double(*)[AQ_FC_N])r->wmae, x->nwin, &r->served_margin);
	if (win < 0) {
		/* no evidence: the ensemble (its median28 member alone if arima cannot forecast) */
		win = AQ_FC_ENSEMBLE;
		struct aq_path tp = path_at(x->ws->buf + (size_t)x->nwin * x->block, AQ_FC_MEDIAN28, 1);
		if (aq_ref_forecast(AQ_REF_MEDIAN28, x->y, x->n_train, 1, &tp, NULL))
			win = AQ_FC_ARIMA;
		if (x->o->choice == AQ_CHOICE_LOWEST && win == AQ_FC_ENSEMBLE)
			win = AQ_FC_MEDIAN28;
		r->served_margin = NAN;
	}
	r->served = win;
	double scaleT = local_scale(x->o->cal_scale, x->y, x->n_train, x->ws->buf + (size_t)x->nwin * x->block);
	for (int k = x->nwin; k >= 1; k--)   /* oldest window first */
		if (x->used[k - 1]) {
			double ratio = 1;
			if (scaleT > 0) {
				double sk = local_scale(x->o->cal_scale, x->y, x->n - (size_t)k * (size_t)x->h,
							x->ws->buf + (size_t)x->nwin * x->block);
				ratio = sk > 0 ? fmin(4, fmax(0.25, sk / scaleT)) : 1;
			}
			cal_add_block(&r->cal, k, win_actual(x, k), win_block(x, k), x->h, win, ratio);
			for (int f = 0; x->alts && f < AQ_FC_N; f++)
				cal_add_block(&x->alts->cal[f], k, win_actual(x, k), win_block(x, k), x->h, f, ratio);
		}
}

/* Step 6: new data, every forecaster from origin n_train over [n_train, n_train + hn). */
static void score_newdata(struct eval_run *x)
{
	struct aq_eval_result *r = x->r;
	double *nb = x->ws->buf + (size_t)x->nwin * x->block;
	struct aq_metrics_acc na[AQ_FC_N];
	struct aq_total_acc nat[AQ_FC_N][AQ_TOT_NH];
	for (int f = 0; f < AQ_FC_N; f++) {
		aq_metrics_acc_init(&na[f]);
		for (int j = 0; j < AQ_TOT_NH; j++)
			aq_total_acc_init(&nat[f][j]);
	}
	if (x->hn > 0) {
		if (forecast_all(x->y, x->n_train, x->hn, x->model, nb))
			r->arima_failures++;
		combo_path(nb, r->combo_ref, x->hn);
		score(na, x->actual + x->n_train, nb, x->hn, x->hn);
		score_totals(nat, x->actual + x->n_train, nb, x->hn, r->combo_ref);
	}
	for (int f = 0; f < AQ_FC_N; f++) {
		aq_metrics_finish(&na[f], r->scale, &r->newdata[f]);
		for (int j = 0; j < AQ_TOT_NH; j++)
			aq_total_finish(&nat[f][j], &r->newtot[f][j]);
	}
	r->status = (na[AQ_FC_MEDIAN28].n > 0 || na[AQ_FC_ARIMA].n > 0) ? AQ_EVAL_OK : AQ_EVAL_NO_NEW_DATA;
}

/*
 * Step 7: anomalies (lib/anomaly.h): the last days against the account's own
 * history before min(n_train, n - W); the served forecast from there is the
 * evidence (the new-data paths when they are the same origin).
 */
static void detect_anomaly(struct eval_run *x)
{
	struct aq_eval_result *r = x->r;
	size_t n = x->n, W = (size_t)x->W;
	if (!(x->hn > 0 && n >= W + AQ_REF_WINDOW))
		return;
	double *nb = x->ws->buf + (size_t)x->nwin * x->block;
	size_t ao = n - W < x->n_train ? n - W : x->n_train;
	int w = (int)(n - ao);
	if (w > x->hmax)
		w = x->hmax, ao = n - (size_t)w;
	if (!(ao == x->n_train && w == x->hn)) {
		if (forecast_all(x->y, ao, w, x->model, nb))
			r->arima_failures++;
		combo_path(nb, r->combo_ref, w);
	}
	struct aq_path sp = path_at(nb, r->served, w);
	if (!isfinite(sp.mean[0]))
		sp = path_at(nb, AQ_FC_MEDIAN28, w);
	aq_anomaly_detect(x->actual, n, ao, sp.mean, sp.lo95, sp.hi95, &x->o->anomaly, &r->anomaly);
	r->anomaly_origin = r->anomaly.start;
	for (int f = 0; x->alts && f < AQ_FC_N; f++) {
		struct aq_path fp = path_at(nb, f, w);
		if (!isfinite(fp.mean[0]))
			fp = path_at(nb, AQ_FC_MEDIAN28, w);
		aq_anomaly_detect(x->actual, n, ao, fp.mean, fp.lo95, fp.hi95, &x->o->anomaly, &x->alts->anomaly[f]);
	}
}

int aq_eval_account(const double *y, const double *actual, size_t n, size_t n_train,
		    const struct aq_eval_model *model, const struct aq_eval_opts *o, struct aq_eval_ws *ws,
		    struct aq_eval_result *r, struct aq_err *e)
{
	return aq_eval_account_alts(y, actual, n, n_train, model, o, ws, r, NULL, e);
}

void aq_eval_rechoose(const struct aq_eval_opts *o, const struct aq_eval_alts *alts, struct aq_eval_result *r)
{
	double pooled[AQ_FC_N], margin;
	for (int f = 0; f < AQ_FC_N; f++)
		pooled[f] = r->backtest[f].mae;   /* = choose_served's pooled MAE (aq_metrics_finish) */
	int win = aq_eval_choose(o, pooled, (const double(*)[AQ_FC_N])r->wmae, o->windows, &margin);
	if (win < 0)
		return;   /* no evidence: the fallback of choose_served reads no default */
	r->served = win;
	r->served_margin = margin;
	r->cal = alts->cal[win];
	r->anomaly = alts->anomaly[win];
	r->anomaly_origin = r->anomaly.start;
}

int aq_eval_account_alts(const double *y, const double *actual, size_t n, size_t n_train,
			 const struct aq_eval_model *model, const struct aq_eval_opts *o, struct aq_eval_ws *ws,
			 struct aq_eval_result *r, struct aq_eval_alts *alts, struct aq_err *e)
{
	struct aq_eval_opts def;
	if (!o) {
		aq_eval_opts_default(&def);
		o = &def;
	}
	struct eval_run x = {.y = y, .actual = actual, .n = n, .n_train = n_train, .model = model, .o = o, .ws = ws,
			     .r = r, .alts = alts};
	int rc = eval_setup(&x, e);
	if (rc)
		return rc;
	backtest_forecasts(&x);
	pick_combo_ref(&x);
	score_backtest(&x);
	choose_served(&x);
	score_newdata(&x);
	detect_anomaly(&x);
	return 0;
}

void aq_gate_opts_default(struct aq_gate_opts *o)
{
	o->replace_margin = 0.02;
	o->worse_margin = 0.05;
	o->agg_tolerance = 0.0;
	o->max_worse_share = 0.35;
}

void aq_gate_account_decide(double champion_mae, double challenger_mae, const struct aq_gate_opts *o,
			    struct aq_gate_account *out)
{
	struct aq_gate_opts def;
	if (!o) {
		aq_gate_opts_default(&def);
		o = &def;
	}
	memset(out, 0, sizeof(*out));
	out->champion_mae = champion_mae;
	out->challenger_mae = challenger_mae;
	if (!isfinite(champion_mae) || !isfinite(challenger_mae))
		return;
	out->compared = 1;
	out->replace = challenger_mae <= champion_mae * (1.0 - o->replace_margin) && challenger_mae < champion_mae;
	out->worse = challenger_mae > champion_mae * (1.0 + o->worse_margin);
}

void aq_gate_decide(const double *champion_mase, const double *challenger_mase, const struct aq_gate_account *acc,
		    size_t n, const struct aq_gate_opts *o, struct aq_gate *g)
{
	struct aq_gate_opts def;
	if (!o) {
		aq_gate_opts_default(&def);
		o = &def;
	}
	memset(g, 0, sizeof(*g));
	double s1 = 0, s2 = 0;
	long nm = 0;
	for (size_t i = 0; i < n; i++) {
		if (!acc[i].compared)
			continue;
		g->compared++;
		g->replace += acc[i].replace;
		g->worse += acc[i].worse;
		if (isfinite(champion_mase[i]) && isfinite(challenger_mase[i])) {
			s1 += champion_mase[i];
			s2 += challenger_mase[i];
			nm++;
		}
	}
	g->champion_mase_mean = nm ? s1 / nm : NAN;
	g->challenger_mase_mean = nm ? s2 / nm : NAN;
	g->worse_share = g->compared ? (double)g->worse / (double)g->compared : NAN;
	g->agg_ok = nm == 0 || g->challenger_mase_mean <= g->champion_mase_mean * (1.0 + o->agg_tolerance);
	g->share_ok = g->compared == 0 || g->worse_share <= o->max_worse_share;
	g->promoted = g->compared > 0 && g->agg_ok && g->share_ok;
}
