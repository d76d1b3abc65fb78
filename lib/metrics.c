/* metrics.c — forecast accuracy of one series and aggregates over accounts (definitions in metrics.h). */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const double aq_agg_probs[AQ_AGG_NQ] = {0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95};

void aq_metrics_acc_init(struct aq_metrics_acc *a)
{
	memset(a, 0, sizeof(*a));
}

void aq_metrics_acc_add(struct aq_metrics_acc *a, double actual, double fc, double lo80, double hi80,
			double lo95, double hi95)
{
	if (isnan(actual) || !isfinite(fc))
		return;
	double err = actual - fc;
	a->n++;
	a->sum_abs += fabs(err);
	a->sum_sq += err * err;
	a->sum_fe += fc - actual;
	a->sum_abs_y += fabs(actual);
	a->sum_y += actual;
	if (!isnan(lo80) && !isnan(hi80)) {
		a->n_int80++;
		a->in80 += (actual >= lo80 && actual <= hi80);
		a->sum_w80 += hi80 - lo80;
	}
	if (!isnan(lo95) && !isnan(hi95)) {
		a->n_int95++;
		a->in95 += (actual >= lo95 && actual <= hi95);
		a->sum_w95 += hi95 - lo95;
	}
}

void aq_metrics_acc_add_n(struct aq_metrics_acc *a, const double *actual, const double *fc, int h)
{
	for (int i = 0; i < h; i++)
		aq_metrics_acc_add(a, actual[i], fc[i], NAN, NAN, NAN, NAN);
}

void aq_metrics_acc_merge(struct aq_metrics_acc *dst, const struct aq_metrics_acc *src)
{
	dst->n += src->n;
	dst->sum_abs += src->sum_abs;
	dst->sum_sq += src->sum_sq;
	dst->sum_fe += src->sum_fe;
	dst->sum_abs_y += src->sum_abs_y;
	dst->sum_y += src->sum_y;
	dst->n_int80 += src->n_int80;
	dst->in80 += src->in80;
	dst->n_int95 += src->n_int95;
	dst->in95 += src->in95;
	dst->sum_w80 += src->sum_w80;
	dst->sum_w95 += src->sum_w95;
}

void aq_metrics_finish(const struct aq_metrics_acc *a, double scale, struct aq_metrics *m)
{
	m->n = a->n;
	m->scale = scale;
	m->sum_y = a->sum_y;
	if (a->n == 0) {
		m->mae = m->rmse = m->mase = m->wape = m->bias = m->cov80 = m->cov95 = m->width80 = m->width95 = NAN;
		return;
	}
	double n = (double)a->n;
	m->mae = a->sum_abs / n;
	m->rmse = sqrt(a->sum_sq / n);
	m->bias = a->sum_fe / n;
	m->wape = a->sum_abs_y > 0 ? a->sum_abs / a->sum_abs_y : NAN;
	m->mase = (isfinite(scale) && scale > 0) ? m->mae / scale : NAN;
	m->cov80 = a->n_int80 ? (double)a->in80 / (double)a->n_int80 : NAN;
	m->cov95 = a->n_int95 ? (double)a->in95 / (double)a->n_int95 : NAN;
	m->width80 = a->n_int80 ? a->sum_w80 / (double)a->n_int80 : NAN;
	m->width95 = a->n_int95 ? a->sum_w95 / (double)a->n_int95 : NAN;
}

const int aq_tot_horizons[AQ_TOT_NH] = {7, 30, 90};

void aq_total_acc_init(struct aq_total_acc *a)
{
	memset(a, 0, sizeof(*a));
}

void aq_total_acc_add(struct aq_total_acc *a, double Y, double F, double lo80, double hi80, double lo95,
		      double hi95)
{
	if (isnan(Y) || !isfinite(F))
		return;
	double err = fabs(Y - F);
	a->n++;
	a->sum_abs += err;
	a->sum_abs_y += fabs(Y);
	if (Y > 0) {
		a->sum_ape += err / Y;
		a->n_ape++;
	}
	if (!isnan(lo80) && !isnan(hi80)) {
		a->n80++;
		a->in80 += Y >= lo80 && Y <= hi80;
		a->sum_w80 += hi80 - lo80;
	}
	if (!isnan(lo95) && !isnan(hi95)) {
		const double alpha = 0.05;
		a->n95++;
		a->in95 += Y >= lo95 && Y <= hi95;
		a->sum_w95 += hi95 - lo95;
		a->sum_wink95 += (hi95 - lo95) + (Y < lo95 ? 2 / alpha * (lo95 - Y) : 0) +
				 (Y > hi95 ? 2 / alpha * (Y - hi95) : 0);
	}
}

void aq_total_acc_merge(struct aq_total_acc *dst, const struct aq_total_acc *src)
{
	dst->n += src->n;
	dst->sum_abs += src->sum_abs;
	dst->sum_abs_y += src->sum_abs_y;
	dst->sum_ape += src->sum_ape;
	dst->n_ape += src->n_ape;
	dst->n80 += src->n80;
	dst->in80 += src->in80;
	dst->n95 += src->n95;
	dst->in95 += src->in95;
	dst->sum_w80 += src->sum_w80;
	dst->sum_w95 += src->sum_w95;
	dst->sum_wink95 += src->sum_wink95;
}

void aq_total_finish(const struct aq_total_acc *a, struct aq_total_metrics *m)
{
	m->n = a->n;
	m->sum_y = a->sum_abs_y;
	m->wape = m->mape = m->cov80 = m->cov95 = m->winkler95 = m->width80 = m->width95 = NAN;
	if (a->n == 0)
		return;
	double sy = a->sum_abs_y;
	m->wape = sy > 0 ? a->sum_abs / sy : NAN;
	m->mape = a->n_ape ? a->sum_ape / (double)a->n_ape : NAN;
	m->cov80 = a->n80 ? (double)a->in80 / (double)a->n80 : NAN;
	m->cov95 = a->n95 ? (double)a->in95 / (double)a->n95 : NAN;
	m->width80 = a->n80 && sy > 0 ? a->sum_w80 / sy : NAN;
	m->width95 = a->n95 && sy > 0 ? a->sum_w95 / sy : NAN;
	m->winkler95 = a->n95 && sy > 0 ? a->sum_wink95 / sy : NAN;
}

double aq_sum_complete(const double *x, int h)
{
	double s = 0;
	for (int i = 0; i < h; i++)
		s += x[i];   /* a NaN makes the sum NaN */
	return s;
}

double aq_mase_scale(const double *y, size_t n, int lag)
{
	double s = 0;
	long k = 0;
	if (lag <= 0)
		return NAN;
	for (size_t t = (size_t)lag; t < n; t++) {
		if (isnan(y[t]) || isnan(y[t - (size_t)lag]))
			continue;
		s += fabs(y[t] - y[t - (size_t)lag]);
		k++;
	}
	return k ? s / (double)k : NAN;
}

/* v[k] becomes the k-th smallest, v[0..k) <= v[k] <= v[k+1..n) (Hoare's selection, median-of-3 pivot). */
static void select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (hi > lo) {
		size_t mid = lo + (hi - lo) / 2;
		double a = v[lo], b = v[mid], c = v[hi];
		double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		size_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < piv)
				i++;
			while (v[j] > piv)
				j--;
			if (i <= j) {
				double t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

double aq_median_inplace(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	select_kth(v, n, n / 2);
	if (n % 2)
		return v[n / 2];
	double lo = v[0];   /* the lower half holds v[0..n/2): its maximum */
	for (size_t i = 1; i < n / 2; i++)
		lo = v[i] > lo ? v[i] : lo;
	return 0.5 * (lo + v[n / 2]);
}

double aq_quantile_sorted(const double *x, size_t n, double p)
{
	/* R type 7: h = (n-1)p, x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]). */
	if (n == 0)
		return NAN;
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)floor(h);
	if (lo >= n - 1)
		return x[n - 1];
	return x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int aq_agg_compute(const double *v, const double *w, size_t n, struct aq_agg *out, struct aq_err *e)
{
	double *s = malloc((n ? n : 1) * sizeof(*s));
	if (!s)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu values for an aggregate", n);
	size_t k = 0;
	double sum = 0, sw = 0, swv = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			continue;
		s[k++] = v[i];
		sum += v[i];
		if (w && isfinite(w[i]) && w[i] >= 0) {
			sw += w[i];
			swv += w[i] * v[i];
		}
	}
	out->n = (long)k;
	if (k == 0) {
		out->mean = out->median = out->weighted = out->min = out->max = NAN;
		for (int j = 0; j < AQ_AGG_NQ; j++)
			out->q[j] = NAN;
		free(s);
		return 0;
	}
	qsort(s, k, sizeof(*s), cmp_double);
	out->mean = sum / (double)k;
	out->median = aq_quantile_sorted(s, k, 0.5);
	out->weighted = (w && sw > 0) ? swv / sw : NAN;
	out->min = s[0];
	out->max = s[k - 1];
	for (int j = 0; j < AQ_AGG_NQ; j++)
		out->q[j] = aq_quantile_sorted(s, k, aq_agg_probs[j]);
	free(s);
	return 0;
}
