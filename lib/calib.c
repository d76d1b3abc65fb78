/* calib.c — calibrated forecast intervals from standardised backtest errors (the method is in calib.h). */
#include "calib.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "model.h"

const int aq_cal_lengths[AQ_CAL_NK] = {1, 7, 30};
const double aq_cal_probs[AQ_CAL_NP] = {0.025, 0.10, 0.90, 0.975};

#define MIN_OWN 3          /* values for an own location and scale */
#define SCALE_FLOOR 0.05   /* r_i >= SCALE_FLOOR r_0: a run of identical errors is not a zero scale */

void aq_cal_opts_default(struct aq_cal_opts *o)
{
	o->n0_daily = 30;
	o->n0_total = 8;
	o->forward = 0;
}

void aq_cal_sample_init(struct aq_cal_sample *s)
{
	memset(s, 0, sizeof(*s));
}

void aq_cal_sample_add(struct aq_cal_sample *s, int kind, int window, double Y, double F, double S)
{
	if (kind < 0 || kind >= AQ_CAL_NK || !isfinite(Y) || !isfinite(F) || !(S > 0) || !isfinite(S))
		return;
	float z = (float)((Y - F) / S);
	int n = s->n[kind];
	if (n == AQ_CAL_MAXZ) {   /* keep the latest: shift out the oldest */
		memmove(s->z[kind], s->z[kind] + 1, (AQ_CAL_MAXZ - 1) * sizeof(float));
		memmove(s->w[kind], s->w[kind] + 1, AQ_CAL_MAXZ - 1);
		n--;
	}
	s->z[kind][n] = z;
	s->w[kind][n] = (unsigned char)window;
	s->n[kind] = n + 1;
}

/* Median and MAD of the sample's kind k without window skip (-1: all); the count into *cnt. */
static int keep(int w, int skip, int forward)
{
	return forward && skip >= 0 ? w > skip : w != skip;
}

static void own_loc_scale(const struct aq_cal_view *s, int k, int skip, int fwd, double *tmp, double *m, double *r,
			  int *cnt)
{
	int n = 0;
	for (int j = 0; j < s->n[k]; j++)
		if (keep(s->w[k][j], skip, fwd))
			tmp[n++] = s->z[k][j];
	*cnt = n;
	*m = aq_median_inplace(tmp, (size_t)n);
	n = 0;
	for (int j = 0; j < s->n[k]; j++)
		if (keep(s->w[k][j], skip, fwd))
			tmp[n++] = fabs((double)s->z[k][j] - *m);
	*r = aq_median_inplace(tmp, (size_t)n);
}

/* The shrunk location and scale of account s, kind k, without window skip (-1: all). */
static void shrunk(const struct aq_cal_view *s, int k, int skip, int fwd, double n0, double m0, double r0,
		   double *loc, double *sc)
{
	double tmp[AQ_CAL_MAXZ], m, r;
	int cnt;
	*loc = m0;
	*sc = r0;
	own_loc_scale(s, k, skip, fwd, tmp, &m, &r, &cnt);
	if (cnt < MIN_OWN)
		return;
	double w = cnt / (cnt + n0);
	r = fmax(r, SCALE_FLOOR * r0);
	*loc = w * m + (1 - w) * m0;
	*sc = exp(w * log(r) + (1 - w) * log(r0));
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Account s's values of kind k, each against the estimates without its window (fit_kind), into u; their count. */
static int loo_values(const struct aq_cal_view *s, int k, double n0, int fwd, double m0, double r0, double *u)
{
	int prev = -1;
	double lw = m0, sw = r0;
	for (int j = 0; j < s->n[k]; j++) {
		if (s->w[k][j] != prev) {
			prev = s->w[k][j];
			shrunk(s, k, prev, fwd, n0, m0, r0, &lw, &sw);
		}
		u[j] = (s->z[k][j] - lw) / sw;
	}
	return s->n[k];
}

/*
 * Bucket of a value in the order of cmp_d: the top SEL_BITS of its bits made
 * monotone (negatives reversed; -0 as +0, which cmp_d holds equal).
 */
#define SEL_BITS 20
static size_t sel_bucket(double v)
{
	uint64_t b;
	if (v == 0)
		v = 0;
	memcpy(&b, &v, sizeof b);
	b = b >> 63 ? ~b : b | (UINT64_C(1) << 63);
	return (size_t)(b >> (64 - SEL_BITS));
}

/*
 * The pooled quantiles Q of the leave-one-window-out values of every account
 * (R type 7, aq_quantile_sorted), exactly, without holding them all (one
 * double per backtest day of the utility: 260 MB at 270,000 accounts): a
 * first pass counts them per bucket of their leading bits, a second keeps
 * the values of the buckets that hold the ranks needed, which are sorted.
 */
static int pooled_quantiles(const struct aq_cal_view *const *s, size_t n, int k, double n0, int fwd, double m0,
			    double r0, double Q[AQ_CAL_NP], struct aq_err *e)
{
	double u[AQ_CAL_MAXZ];
	uint32_t *cnt = calloc((size_t)1 << SEL_BITS, sizeof(*cnt));
	unsigned char *want = calloc((size_t)1 << SEL_BITS, 1);
	double *sel = NULL;
	size_t t = 0, nsel = 0, rank[2 * AQ_CAL_NP];
	int rc = 0;
	if (!cnt || !want) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate the calibration's quantiles");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		for (int j = 0, c = s[i] ? loo_values(s[i], k, n0, fwd, m0, r0, u) : 0; j < c; j++, t++)
			cnt[sel_bucket(u[j])]++;
	for (int p = 0; p < AQ_CAL_NP; p++) {   /* aq_quantile_sorted reads x[lo] and x[lo + 1] */
		size_t lo = (size_t)floor((double)(t - 1) * aq_cal_probs[p]);
		rank[2 * p] = lo < t - 1 ? lo : t - 1;
		rank[2 * p + 1] = lo + 1 < t - 1 ? lo + 1 : t - 1;
	}
	/* the buckets of the ranks; below[b] = values in earlier buckets (cnt reused for it) */
	size_t below = 0;
	for (size_t b = 0; b < ((size_t)1 << SEL_BITS); b++) {
		size_t c = cnt[b];
		for (int r = 0; r < 2 * AQ_CAL_NP; r++)
			if (rank[r] >= below && rank[r] < below + c)
				want[b] = 1;
		if (want[b])
			nsel += c;
		below += c;
	}
	if (!(sel = malloc((nsel ? nsel : 1) * sizeof(*sel)))) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu calibration values", nsel);
		goto out;
	}
	size_t q = 0;
	for (size_t i = 0; i < n; i++)
		for (int j = 0, c = s[i] ? loo_values(s[i], k, n0, fwd, m0, r0, u) : 0; j < c; j++)
			if (want[sel_bucket(u[j])] && q < nsel)   /* the same values as the first pass */
				sel[q++] = u[j];
	qsort(sel, nsel, sizeof(double), cmp_d);
	/* sel holds the wanted buckets in order: global rank r is sel[r - (values before its bucket not kept)] */
	double x[2 * AQ_CAL_NP];
	below = 0;
	size_t skipped = 0;
	for (size_t b = 0; b < ((size_t)1 << SEL_BITS); b++) {
		size_t c = cnt[b];
		for (int r = 0; r < 2 * AQ_CAL_NP; r++)
			if (rank[r] >= below && rank[r] < below + c)
				x[r] = sel[rank[r] - skipped];
		if (!want[b])
			skipped += c;
		below += c;
	}
	for (int p = 0; p < AQ_CAL_NP; p++) {
		double h = (double)(t - 1) * aq_cal_probs[p];
		size_t lo = (size_t)floor(h);
		Q[p] = lo >= t - 1 ? x[2 * p] : x[2 * p] + (h - (double)lo) * (x[2 * p + 1] - x[2 * p]);
	}
out:
	free(cnt);
	free(want);
	free(sel);
	return rc;
}

/* One kind: shrunk location/scale per account into loc/sc, the pooled quantiles Q. */
static int fit_kind(const struct aq_cal_view *const *s, size_t n, int k, double n0, int fwd, double *loc, double *sc,
		    double Q[AQ_CAL_NP], double *m0, double *r0, struct aq_err *e)
{
	double *own_m = malloc((n ? n : 1) * 2 * sizeof(double)), *own_r = own_m ? own_m + n : NULL;
	double tmp[AQ_CAL_MAXZ];
	size_t total = 0, nown = 0;
	if (!own_m)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate calibration of %zu accounts", n);
	for (size_t i = 0; i < n; i++) {
		total += s[i] ? (size_t)s[i]->n[k] : 0;
		int cnt;
		if (s[i] && s[i]->n[k] >= MIN_OWN) {
			own_loc_scale(s[i], k, -1, 0, tmp, &own_m[nown], &own_r[nown], &cnt);
			nown++;
		}
	}
	if (total == 0) {
		free(own_m);
		return AQ_ENOTFOUND;
	}
	if (nown) {
		*m0 = aq_median_inplace(own_m, nown);
		*r0 = aq_median_inplace(own_r, nown);
	} else {   /* only short histories (< MIN_OWN values each): the location and MAD of everything pooled */
		double *u = malloc(total * sizeof(double));
		if (!u) {
			free(own_m);
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu calibration values", total);
		}
		size_t t = 0;
		for (size_t i = 0; i < n; i++)
			for (int j = 0; s[i] && j < s[i]->n[k]; j++)
				u[t++] = s[i]->z[k][j];
		*m0 = aq_median_inplace(u, t);
		for (size_t j = 0; j < t; j++)
			u[j] = fabs(u[j] - *m0);
		*r0 = aq_median_inplace(u, t);
		free(u);
	}
	free(own_m);
	if (!(*r0 > 0))
		*r0 = 1;   /* every error 0 (constant series): any positive scale gives zero-width intervals */
	for (size_t i = 0; i < n; i++) {
		loc[i] = *m0;
		sc[i] = *r0;
		if (s[i] && s[i]->n[k] > 0)
			shrunk(s[i], k, -1, 0, n0, *m0, *r0, &loc[i], &sc[i]);
	}
	/* the pooled shape out of sample: each window against the estimates without it */
	return pooled_quantiles(s, n, k, n0, fwd, *m0, *r0, Q, e);
}

void aq_cal_view_of(struct aq_cal_view *v, const struct aq_cal_sample *s)
{
	for (int k = 0; k < AQ_CAL_NK; k++) {
		v->n[k] = s->n[k];
		v->z[k] = s->z[k];
		v->w[k] = s->w[k];
	}
}

int aq_cal_fit(const struct aq_cal_sample *const *s, size_t n, const struct aq_cal_opts *o, struct aq_cal *out,
	       struct aq_err *e)
{
	struct aq_cal_view *v = malloc((n ? n : 1) * sizeof(*v));
	const struct aq_cal_view **vp = malloc((n ? n : 1) * sizeof(*vp));
	int rc;
	if (!v || !vp)
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate calibration of %zu accounts", n);
	else {
		for (size_t i = 0; i < n; i++) {
			vp[i] = s[i] ? &v[i] : NULL;
			if (s[i])
				aq_cal_view_of(&v[i], s[i]);
		}
		rc = aq_cal_fit_views(vp, n, o, out, e);
	}
	free(v);
	free(vp);
	return rc;
}

int aq_cal_fit_views(const struct aq_cal_view *const *s, size_t n, const struct aq_cal_opts *o, struct aq_cal *out,
		     struct aq_err *e)
{
	struct aq_cal_opts def;
	if (!o) {
		aq_cal_opts_default(&def);
		o = &def;
	}
	for (size_t i = 0; i < n; i++)
		memset(&out[i], 0, sizeof(out[i]));
	double *loc = malloc((n ? n : 1) * 2 * sizeof(double)), *sc = loc ? loc + n : NULL;
	if (!loc)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate calibration of %zu accounts", n);
	int rc = 0;
	for (int k = 0; k < AQ_CAL_NK && !rc; k++) {
		double Q[AQ_CAL_NP], m0, r0;
		rc = fit_kind(s, n, k, k ? o->n0_total : o->n0_daily, o->forward, loc, sc, Q, &m0, &r0, e);
		if (rc == AQ_ENOTFOUND)
			rc = aq_err_set(e, AQ_ENOTFOUND, "no backtest error of %d-day %s to calibrate on",
					aq_cal_lengths[k], k ? "totals" : "days");
		for (size_t i = 0; i < n && !rc; i++)
			for (int p = 0; p < AQ_CAL_NP; p++)
				out[i].q[k][p] = loc[i] + sc[i] * Q[p];
	}
	for (size_t i = 0; i < n; i++)
		out[i].ok = rc == 0;
	free(loc);
	return rc;
}

/* Calibrated quantile p (index) for a period of L days: linear in log L between the kinds. */
static double q_at(const struct aq_cal *c, int L, int p)
{
	if (L <= aq_cal_lengths[0])
		return c->q[0][p];
	for (int k = 1; k < AQ_CAL_NK; k++)
		if (L <= aq_cal_lengths[k]) {
			double a = log(aq_cal_lengths[k - 1]), b = log(aq_cal_lengths[k]), t = (log(L) - a) / (b - a);
			return (1 - t) * c->q[k - 1][p] + t * c->q[k][p];
		}
	return c->q[AQ_CAL_NK - 1][p];
}

void aq_cal_interval(const struct aq_cal *c, int L, double F, double S, double level, double *lo, double *hi)
{
	int is95 = level > 0.9;
	if (!c || !c->ok) {   /* the Gaussian interval, clipped as every forecast is */
		aq_model_clip_z(&F, S, is95 ? AQ_Z95 : AQ_Z80, lo, hi);
		return;
	}
	double ql = q_at(c, L, is95 ? 0 : 1), qh = q_at(c, L, is95 ? 3 : 2);
	*lo = fmax(0, F + ql * S);
	*hi = fmax(0, F + fmax(qh, ql) * S);
}
