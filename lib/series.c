/* series.c — daily calendar, invalid/missing handling and the Hampel-on-log1p outlier rule. */
#include "series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "metrics.h"

void aq_series_opts_default(struct aq_series_opts *o)
{
	o->half_window = 14;
	o->t = 5.0;
	o->floor = 0.25;
	o->window = 0;
	o->until = AQ_DATE_MAX;
}

void aq_series_init(struct aq_series *s)
{
	memset(s, 0, sizeof *s);
	s->last_reading = -1;
}

void aq_series_release(struct aq_series *s)
{
	free(s->y);
	aq_series_init(s);
}

/* Median and MAD (unscaled) of the finite values of x[0..n), using buf (n doubles). */
static void med_mad(const double *x, size_t n, double *buf, double *med, double *mad)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			buf[k++] = x[i];
	*med = aq_median_inplace(buf, k);
	for (size_t i = 0; i < k; i++)
		buf[i] = fabs(buf[i] - *med);
	*mad = aq_median_inplace(buf, k);
}

int aq_series_hampel(const double *x, size_t n, const struct aq_series_opts *o, unsigned char *flag,
		     struct aq_err *e)
{
	memset(flag, 0, n);
	if (n == 0)
		return 0;
	size_t w = (size_t)(o->half_window > 0 ? o->half_window : 0);
	double *u = malloc(n * sizeof *u);
	double *buf = malloc((n > 2 * w + 1 ? n : 2 * w + 1) * sizeof *buf);
	if (!u || !buf) {
		free(u);
		free(buf);
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate hampel workspace (%zu days)", n);
	}
	/* scale c: median of the positive readings; log1p(y/c) makes the rule scale-free */
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]) && x[i] > 0)
			buf[k++] = x[i];
	double c = aq_median_inplace(buf, k);
	if (!(c > 0)) {   /* no positive reading: nothing can be a spike above the level */
		free(u);
		free(buf);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		u[i] = isfinite(x[i]) && x[i] >= 0 ? log1p(x[i] / c) : NAN;
	double gmed, gmad;
	med_mad(u, n, buf, &gmed, &gmad);
	double gthr = gmed + o->t * fmax(1.4826 * gmad, o->floor);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(u[i]) || u[i] <= gthr)
			continue;
		size_t lo = i >= w ? i - w : 0, hi = i + w + 1 < n ? i + w + 1 : n;
		double lmed, lmad;
		med_mad(u + lo, hi - lo, buf, &lmed, &lmad);
		if (u[i] > lmed + o->t * fmax(1.4826 * lmad, o->floor))
			flag[i] = 1;
	}
	free(u);
	free(buf);
	return 0;
}

int aq_series_build(struct aq_series *s, const int32_t *date, const double *value, size_t k,
		    const struct aq_series_opts *o, struct aq_err *e)
{
	s->n = s->nobs = s->ninvalid = s->noutliers = s->nmissing = s->ndays_total = 0;
	s->last_reading = -1;
	s->first = 0;
	/* readings after `until` are not seen */
	while (k > 0 && date[k - 1] > o->until)
		k--;
	if (k == 0)
		return 0;
	int32_t d0 = date[0], d1 = date[k - 1];
	if (d1 < d0)
		return aq_err_set(e, AQ_EINVAL, "readings not sorted by date (%d after %d)", (int)d1, (int)d0);
	size_t n = (size_t)(d1 - d0) + 1;
	if (n > s->cap) {
		double *y = realloc(s->y, n * sizeof *y);
		if (!y)
			return aq_err_set(e, AQ_ENOMEM, "cannot allocate series of %zu days", n);
		s->y = y;
		s->cap = n;
	}
	for (size_t i = 0; i < n; i++)
		s->y[i] = NAN;
	for (size_t i = 0; i < k; i++) {
		if (date[i] < d0)
			return aq_err_set(e, AQ_EINVAL, "readings not sorted by date (%d before %d)", (int)date[i],
					  (int)d0);
		size_t t = (size_t)(date[i] - d0);
		double v = value[i];
		if (!isfinite(v) || v < 0) {
			s->ninvalid++;
			v = NAN;
		}
		s->y[t] = v;
	}
	/* calendar days without any reading */
	size_t seen = 0;
	for (size_t i = 0; i < k; i++)
		if (i == 0 || date[i] != date[i - 1])
			seen++;
	s->nmissing = n - seen;
	s->first = d0;
	s->n = n;
	s->last_reading = d1;
	s->ndays_total = n;

	unsigned char *flag = malloc(n);
	if (!flag)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate outlier flags (%zu days)", n);
	int rc = aq_series_hampel(s->y, n, o, flag, e);
	if (rc) {
		free(flag);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		if (flag[i]) {
			s->y[i] = NAN;
			s->noutliers++;
		}
	free(flag);

	if (o->window > 0 && n > (size_t)o->window) {
		size_t drop = n - (size_t)o->window;
		memmove(s->y, s->y + drop, (size_t)o->window * sizeof *s->y);
		s->n = (size_t)o->window;
		s->first = d0 + (int32_t)drop;
	}
	/* the series starts at its first finite value (as R's auto.arima does) */
	size_t lead = 0;
	while (lead < s->n && !isfinite(s->y[lead]))
		lead++;
	if (lead == s->n) {
		s->n = 0;
	} else if (lead > 0) {
		memmove(s->y, s->y + lead, (s->n - lead) * sizeof *s->y);
		s->n -= lead;
		s->first += (int32_t)lead;
	}
	for (size_t i = 0; i < s->n; i++)
		s->nobs += isfinite(s->y[i]) != 0;
	return 0;
}

const char *aq_series_rule_json(const struct aq_series_opts *o, char *buf, size_t len)
{
	snprintf(buf, len,
		 "{\"rule\":\"hampel-log1p\",\"scale\":\"median of positive readings\","
		 "\"half_window\":%d,\"t\":%g,\"floor\":%g,\"direction\":\"up\",\"global_check\":true,"
		 "\"invalid\":\"negative or non-finite\",\"missing\":\"NaN (not filled)\",\"window\":%d}",
		 o->half_window, o->t, o->floor, o->window);
	return buf;
}

void aq_series_interp(const double *x, size_t n, double *out)
{
	size_t prev = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			continue;
		out[i] = x[i];
		if (prev == (size_t)-1) {
			for (size_t j = 0; j < i; j++)
				out[j] = x[i];
		} else {
			for (size_t j = prev + 1; j < i; j++)
				out[j] = x[prev] + (x[i] - x[prev]) * (double)(j - prev) / (double)(i - prev);
		}
		prev = i;
	}
	if (prev == (size_t)-1) {
		for (size_t i = 0; i < n; i++)
			out[i] = 0;
		return;
	}
	for (size_t j = prev + 1; j < n; j++)
		out[j] = x[prev];
}
