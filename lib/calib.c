/* calib.c — calibrated forecast intervals from standardised backtest errors (the method is in calib.h). */
#include "calib.h"

#include <math.h>
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
	double *u = malloc((total ? total : 1) * sizeof(double));
	if (!u) {
		free(own_m);
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu calibration values", total);
	}
	if (total == 0) {
		free(own_m);
		free(u);
		return AQ_ENOTFOUND;
	}
	if (nown) {
		*m0 = aq_median_inplace(own_m, nown);
		*r0 = aq_median_inplace(own_r, nown);
	} else {   /* only short histories: the location and MAD of everything pooled */
		size_t t = 0;
		for (size_t i = 0; i < n; i++)
			for (int j = 0; s[i] && j < s[i]->n[k]; j++)
				u[t++] = s[i]->z[k][j];
		*m0 = aq_median_inplace(u, t);
		for (size_t j = 0; j < t; j++)
			u[j] = fabs(u[j] - *m0);
		*r0 = aq_median_inplace(u, t);
	}
	if (!(*r0 > 0))
		*r0 = 1;   /* every error 0 (constant series): any positive scale gives zero-width intervals */
	size_t t = 0;
	for (size_t i = 0; i < n; i++) {
		loc[i] = *m0;
		sc[i] = *r0;
		if (!s[i] || s[i]->n[k] == 0)
			continue;
		shrunk(s[i], k, -1, 0, n0, *m0, *r0, &loc[i], &sc[i]);
		/* the pooled shape out of sample: each window against the estimates without it */
		int prev = -1;
		double lw = *m0, sw = *r0;
		for (int j = 0; j < s[i]->n[k]; j++) {
			if (s[i]->w[k][j] != prev) {
				prev = s[i]->w[k][j];
				shrunk(s[i], k, prev, fwd, n0, *m0, *r0, &lw, &sw);
			}
			u[t++] = (s[i]->z[k][j] - lw) / sw;
		}
	}
	qsort(u, t, sizeof(double), cmp_d);
	for (int p = 0; p < AQ_CAL_NP; p++)
		Q[p] = aq_quantile_sorted(u, t, aq_cal_probs[p]);
	free(u);
	free(own_m);
	return 0;
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
