/* anomaly.c — persistent level shifts (leaks) and flat readings (stuck meters) against forecast intervals. */
#include "anomaly.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

void aq_anomaly_opts_default(struct aq_anomaly_opts *o)
{
	o->days = 14;
	o->flat_days = 14;
	o->share = 0.8;
	o->min_days = 7;
}

const char *aq_anomaly_kind_name(enum aq_anomaly_kind k)
{
	switch (k) {
	case AQ_ANOM_FLAT: return "flat";
	case AQ_ANOM_LEVEL_UP: return "level_up";
	case AQ_ANOM_LEVEL_DOWN: return "level_down";
	default: return "none";
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of the (actual - mean) differences on days flagged by sign s (+1 above hi, -1 below lo). */
static double median_diff(const double *actual, const double *mean, const double *lo, const double *hi, int w,
			  int s, double *tmp)
{
	int k = 0;
	for (int i = 0; i < w; i++) {
		if (isnan(actual[i]) || !isfinite(mean[i]))
			continue;
		if ((s > 0 && actual[i] > hi[i]) || (s < 0 && actual[i] < lo[i]))
			tmp[k++] = actual[i] - mean[i];
	}
	if (!k)
		return NAN;
	qsort(tmp, (size_t)k, sizeof(*tmp), cmp_double);
	return aq_quantile_sorted(tmp, (size_t)k, 0.5);
}

void aq_anomaly_detect(const double *actual, const double *mean, const double *lo95, const double *hi95, int w,
		       const double *hist, size_t nh, const struct aq_anomaly_opts *o, struct aq_anomaly *out)
{
	struct aq_anomaly_opts def;
	if (!o) {
		aq_anomaly_opts_default(&def);
		o = &def;
	}
	memset(out, 0, sizeof(*out));
	out->magnitude = out->relative = NAN;
	if (w <= 0)
		return;
	/* Flat: the last flat_days all present and equal; the history before was not constant. */
	if (w >= o->flat_days) {
		const double *t = actual + (w - o->flat_days);
		int flat = 1;
		for (int i = 0; i < o->flat_days && flat; i++)
			flat = !isnan(t[i]) && t[i] == t[0];
		if (flat) {
			size_t from = nh > 28 ? nh - 28 : 0;
			double first = NAN;
			int varied = 0;
			for (size_t i = from; i < nh && !varied; i++) {
				if (isnan(hist[i]))
					continue;
				if (isnan(first))
					first = hist[i];
				else if (hist[i] != first)
					varied = 1;
			}
			if (varied) {
				out->kind = AQ_ANOM_FLAT;
				out->examined = o->flat_days;
				out->outside = o->flat_days;
				out->magnitude = t[0];
				double lvl = 0;
				int k = 0;
				for (int i = 0; i < w; i++)
					if (isfinite(mean[i])) {
						lvl += mean[i];
						k++;
					}
				out->relative = k ? t[0] / fmax(lvl / k, 1e-9) : NAN;
				return;
			}
		}
	}
	int n = 0, up = 0, down = 0;
	double lvl = 0;
	for (int i = 0; i < w; i++) {
		if (isnan(actual[i]) || !isfinite(mean[i]))
			continue;
		n++;
		lvl += mean[i];
		up += !isnan(hi95[i]) && actual[i] > hi95[i];
		down += !isnan(lo95[i]) && actual[i] < lo95[i];
	}
	out->examined = n;
	if (n < o->min_days)
		return;
	/* the last 3 scored days must be outside too: the shift has not dropped back */
	int last_up = 1, last_down = 1, seen = 0;
	for (int i = w - 1; i >= 0 && seen < 3; i--) {
		if (isnan(actual[i]) || !isfinite(mean[i]))
			continue;
		seen++;
		last_up &= !isnan(hi95[i]) && actual[i] > hi95[i];
		last_down &= !isnan(lo95[i]) && actual[i] < lo95[i];
	}
	double *tmp = malloc((size_t)w * sizeof(*tmp));
	if (!tmp)
		return;
	lvl /= n;
	if (up >= o->share * n && last_up) {
		out->kind = AQ_ANOM_LEVEL_UP;
		out->outside = up;
		out->magnitude = median_diff(actual, mean, lo95, hi95, w, +1, tmp);
	} else if (down >= o->share * n && last_down) {
		out->kind = AQ_ANOM_LEVEL_DOWN;
		out->outside = down;
		out->magnitude = median_diff(actual, mean, lo95, hi95, w, -1, tmp);
	} else {
		out->outside = up > down ? up : down;
	}
	if (out->kind != AQ_ANOM_NONE)
		out->relative = out->magnitude / fmax(fabs(lvl), 1e-9);
	free(tmp);
}
