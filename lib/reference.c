/* reference.c — seasonal naive, trailing mean and trailing median forecasters over a 28-day window. */
#include "reference.h"

#include <math.h>
#include <string.h>

#include "metrics.h"

#define Z80 1.2815515655446004
#define Z95 1.959963984540054

static const char *const ref_names[AQ_REF_N] = {"snaive7", "mean28", "median28"};

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
