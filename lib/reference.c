/* reference.c — seasonal naive, trailing mean, trailing median and same-weekday median forecasters over a 28-day window. */
#include "reference.h"

#include <math.h>
#include <string.h>

#include "metrics.h"

#define Z80 1.2815515655446004
#define Z95 1.959963984540054

static const char *const ref_names[AQ_REF_N] = {"snaive7", "mean28", "median28", "wmed4"};

const char *aq_ref_name(int ref)
{
	return (ref >= 0 && ref < AQ_REF_N) ? ref_names[ref] : NULL;
}

int aq_ref_from_name(const char *name)
{
	for (int i = 0; i < AQ_REF_N; i++)
		if (name && strcmp(name, ref_names[i]) == 0)
			return i;
	return -1;
}

static void put(const struct aq_path *o, int i, double m, double l80, double h80, double l95, double h95)
{
	o->mean[i] = m;
	if (o->lo80)
		o->lo80[i] = isnan(l80) ? l80 : fmax(0.0, l80);
	if (o->hi80)
		o->hi80[i] = h80;
	if (o->lo95)
		o->lo95[i] = isnan(l95) ? l95 : fmax(0.0, l95);
	if (o->hi95)
		o->hi95[i] = h95;
}

/* The window's observed values, sorted (insertion sort: k <= 28). Returns k. */
static int window_sorted(const double *w, int wn, double *s)
{
	int k = 0;
	for (int i = 0; i < wn; i++) {
		if (isnan(w[i]))
			continue;
		int j = k++;
		while (j > 0 && s[j - 1] > w[i]) {
			s[j] = s[j - 1];
			j--;
		}
		s[j] = w[i];
	}
	return k;
}

/* Median of the observed days of weekday j (offsets j, j+7, .. of the window w[0..wn)) except offset skip (-1: none). */
static double weekday_median(const double *w, int wn, int j, int skip, int *cnt)
{
	double v[AQ_REF_WINDOW / 7 + 1];
	int k = 0;
	for (int t = j; t < wn; t += 7)
		if (t != skip && !isnan(w[t])) {
			int m = k++;
			while (m > 0 && v[m - 1] > w[t]) {
				v[m] = v[m - 1];
				m--;
			}
			v[m] = w[t];
		}
	*cnt = k;
	return k ? aq_quantile_sorted(v, (size_t)k, 0.5) : NAN;
}

#define WMED4_MIN_DEV 8   /* leave-one-out deviations for an interval */

/* wmed4 (reference.h): the weekday medians of the window, interval from leave-one-out deviations. */
static void wmed4(const double *w, int wn, size_t n, int h, double med, const struct aq_path *out)
{
	double dev[AQ_REF_WINDOW], f7[7];
	int nd = 0, cnt;
	for (int t = 0; t < wn; t++) {
		if (isnan(w[t]))
			continue;
		double m = weekday_median(w, wn, t % 7, t, &cnt);
		if (cnt > 0) {
			int j = nd++;   /* insertion: sorted */
			double d = w[t] - m;
			while (j > 0 && dev[j - 1] > d) {
				dev[j] = dev[j - 1];
				j--;
			}
			dev[j] = d;
		}
	}
	double q[4] = {NAN, NAN, NAN, NAN};
	const double pr[4] = {0.10, 0.90, 0.025, 0.975};
	for (int k = 0; k < 4 && nd >= WMED4_MIN_DEV; k++)
		q[k] = aq_quantile_sorted(dev, (size_t)nd, pr[k]);
	/* forecast day n + i has the weekday of window offset (n + i - (n - wn)) mod 7 = (wn + i) mod 7 */
	for (int j = 0; j < 7; j++) {
		f7[j] = weekday_median(w, wn, (wn + j) % 7, -1, &cnt);
		if (cnt == 0)
			f7[j] = med;
	}
	(void)n;
	for (int i = 0; i < h; i++) {
		double f = f7[i % 7], b[4];
		for (int k = 0; k < 4; k++)   /* bounds on the right side of f (NaN stays NaN: fmin would drop it) */
			b[k] = isnan(q[k]) ? NAN : f + ((k & 1) ? fmax(q[k], 0) : fmin(q[k], 0));
		put(out, i, f, b[0], b[1], b[2], b[3]);
	}
}

int aq_ref_forecast(int ref, const double *y, size_t n, int h, const struct aq_path *out, struct aq_err *e)
{
	if (ref < 0 || ref >= AQ_REF_N || h < 0 || !out || !out->mean)
		return aq_err_set(e, AQ_EINVAL, "invalid reference forecast request (ref %d, h %d)", ref, h);
	int wn = n < AQ_REF_WINDOW ? (int)n : AQ_REF_WINDOW;
	const double *w = y + (n - (size_t)wn);
	double s[AQ_REF_WINDOW];
	int k = window_sorted(w, wn, s);
	if (k == 0) {
		for (int i = 0; i < h; i++)
			put(out, i, NAN, NAN, NAN, NAN, NAN);
		return aq_err_set(e, AQ_ENOTFOUND, "no observation in the last %d days for '%s'", AQ_REF_WINDOW,
				  ref_names[ref]);
	}
	double med = aq_quantile_sorted(s, (size_t)k, 0.5);
	if (ref == AQ_REF_MEDIAN28) {
		double l80 = aq_quantile_sorted(s, (size_t)k, 0.10), h80 = aq_quantile_sorted(s, (size_t)k, 0.90);
		double l95 = aq_quantile_sorted(s, (size_t)k, 0.025), h95 = aq_quantile_sorted(s, (size_t)k, 0.975);
		for (int i = 0; i < h; i++)
			put(out, i, med, l80, h80, l95, h95);
		return 0;
	}
	if (ref == AQ_REF_WMED4) {
		wmed4(w, wn, n, h, med, out);
		return 0;
	}
	if (ref == AQ_REF_MEAN28) {
		double sum = 0, ss = 0;
		for (int i = 0; i < k; i++)
			sum += s[i];
		double mean = sum / k;
		for (int i = 0; i < k; i++)
			ss += (s[i] - mean) * (s[i] - mean);
		double sd = k > 1 ? sqrt(ss / (k - 1)) * sqrt(1.0 + 1.0 / k) : NAN;
		for (int i = 0; i < h; i++)
			put(out, i, mean, mean - Z80 * sd, mean + Z80 * sd, mean - Z95 * sd, mean + Z95 * sd);
		return 0;
	}
	/* snaive7: RMS of the window's lag-7 differences. */
	double ss = 0;
	int np = 0;
	for (int t = 7; t < wn; t++) {
		if (isnan(w[t]) || isnan(w[t - 7]))
			continue;
		ss += (w[t] - w[t - 7]) * (w[t] - w[t - 7]);
		np++;
	}
	double sd = np > 0 ? sqrt(ss / np) : NAN;
	for (int i = 0; i < h; i++) {
		double f = NAN;
		for (int back = 7; back <= 28 && isnan(f); back += 7) {
			long idx = (long)n - back + (i % 7);
			if (idx >= 0 && idx < (long)n)
				f = y[idx];
		}
		if (isnan(f))
			f = med;
		double sh = sd * sqrt((double)(i / 7) + 1.0);
		put(out, i, f, f - Z80 * sh, f + Z80 * sh, f - Z95 * sh, f + Z95 * sh);
	}
	return 0;
}

static double avg2(double a, double b)
{
	if (isnan(a))
		return b;
	if (isnan(b))
		return a;
	return 0.5 * (a + b);
}

void aq_path_average(const struct aq_path *a, const struct aq_path *b, int h, const struct aq_path *dst)
{
	for (int i = 0; i < h; i++) {
		dst->mean[i] = avg2(a->mean[i], b->mean[i]);
		if (dst->lo80)
			dst->lo80[i] = avg2(a->lo80 ? a->lo80[i] : NAN, b->lo80 ? b->lo80[i] : NAN);
		if (dst->hi80)
			dst->hi80[i] = avg2(a->hi80 ? a->hi80[i] : NAN, b->hi80 ? b->hi80[i] : NAN);
		if (dst->lo95)
			dst->lo95[i] = avg2(a->lo95 ? a->lo95[i] : NAN, b->lo95 ? b->lo95[i] : NAN);
		if (dst->hi95)
			dst->hi95[i] = avg2(a->hi95 ? a->hi95[i] : NAN, b->hi95 ? b->hi95[i] : NAN);
	}
}
