/* forecast.c — one account's daily forecasts, intervals and period total over a date range, from a model set. */
#include "forecast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arima.h"
#include "calib.h"
#include "evaluate.h"
#include "manifest.h"

int aq_forecaster_open(struct aq_forecaster *f, const char *set, struct aq_err *e)
{
	memset(f, 0, sizeof *f);
	int rc = aq_manifest_check(set, "models", 0, NULL, e); /* an unsealed or altered set is refused */
	if (!rc)
		rc = aq_dataset_open(&f->ds, set, e);
	if (rc)
		return rc;
	f->parts = calloc((size_t)f->ds.parts, sizeof *f->parts);
	f->loaded = calloc((size_t)f->ds.parts, 1);
	if (!f->parts || !f->loaded) {
		aq_forecaster_release(f);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	for (int i = 0; i < f->ds.parts; i++)
		aq_model_part_init(&f->parts[i]);
	return 0;
}

void aq_forecaster_release(struct aq_forecaster *f)
{
	if (f->parts)
		for (int i = 0; i < f->ds.parts; i++)
			aq_model_part_release(&f->parts[i]);
	free(f->parts);
	free(f->loaded);
	aq_dataset_release(&f->ds);
	memset(f, 0, sizeof *f);
}

struct aq_forecaster *aq_forecaster_new(const char *set, struct aq_err *e)
{
	struct aq_forecaster *f = malloc(sizeof *f);
	if (!f) {
		aq_err_set(e, AQ_ENOMEM, "out of memory");
		return NULL;
	}
	if (aq_forecaster_open(f, set, e)) {
		free(f);
		return NULL;
	}
	return f;
}

void aq_forecaster_free(struct aq_forecaster *f)
{
	if (f) {
		aq_forecaster_release(f);
		free(f);
	}
}

static int find(struct aq_forecaster *f, int64_t account, struct aq_model_row **row, struct aq_err *e)
{
	int p = aq_part_of(account, f->ds.parts);
	if (!f->loaded[p]) {
		int rc = aq_model_read_part(&f->ds, p, &f->parts[p], e);
		if (rc)
			return rc;
		f->loaded[p] = 1;
	}
	*row = aq_model_part_find(&f->parts[p], account);
	if (!*row)
		return aq_err_set(e, AQ_ENOTFOUND, "account '%lld' not found in model set '%s'", (long long)account,
				  f->ds.root);
	return 0;
}

int aq_forecaster_load_all(struct aq_forecaster *f, struct aq_err *e)
{
	for (int p = 0; p < f->ds.parts; p++) {
		if (f->loaded[p])
			continue;
		int rc = aq_model_read_part(&f->ds, p, &f->parts[p], e);
		if (rc)
			return rc;
		f->loaded[p] = 1;
	}
	return 0;
}

int aq_forecaster_row(struct aq_forecaster *f, int64_t account, const struct aq_model_row **row, struct aq_err *e)
{
	struct aq_model_row *r;
	int rc = find(f, account, &r, e);
	if (!rc)
		*row = r;
	return rc;
}

size_t aq_forecaster_accounts(const struct aq_forecaster *f, int64_t *out)
{
	size_t n = 0;
	for (int p = 0; p < f->ds.parts; p++)
		for (size_t i = 0; f->loaded[p] && i < f->parts[p].n; i++, n++)
			if (out)
				out[n] = f->parts[p].rows[i].account;
	return n;
}

int aq_forecaster_info(struct aq_forecaster *f, int64_t account, struct aq_forecast_info *out, struct aq_err *e)
{
	struct aq_model_row *r;
	int rc = find(f, account, &r, e);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	out->account = account;
	out->trained_until = r->trained_until;
	out->status = (int32_t)r->status;
	snprintf(out->spec, sizeof out->spec, "%s", r->spec_str ? r->spec_str : "");
	return 0;
}

int aq_forecaster_range(struct aq_forecaster *f, int64_t account, int32_t from, int32_t to, double *mean,
			double *lo80, double *hi80, double *lo95, double *hi95, double total[5], struct aq_err *e)
{
	struct aq_model_row *r;
	int rc = find(f, account, &r, e);
	if (rc)
		return rc;
	int32_t first = r->trained_until + 1;
	if (from < first || to < from)
		return aq_err_set(e, AQ_EINVAL,
				  "bad forecast range for account '%lld': it must start on or after day %d (after "
				  "TrainedUntil) and end on or after its start",
				  (long long)account, (int)first);
	int h = to - first + 1, skip = from - first, n = to - from + 1;
	double *b = malloc(5 * (size_t)h * sizeof *b);
	if (!b)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	struct aq_path p = {b, b + h, b + 2 * h, b + 3 * h, b + 4 * h};
	rc = aq_forecast_row(r, h, skip, h, &p, total, e);
	for (int i = 0; !rc && i < n; i++) {
		mean[i] = p.mean[skip + i];
		lo80[i] = p.lo80[skip + i];
		hi80[i] = p.hi80[skip + i];
		lo95[i] = p.lo95[skip + i];
		hi95[i] = p.hi95[skip + i];
	}
	free(b);
	return rc;
}

/*
 * A transformed row (lib/boxcox.h): the ARIMA part is the back-transformed path (median points, quantile
 * bounds); the total of Served arima is the sum of the bias-adjusted means with its lognormal interval, of
 * any other forecaster the sum of its points with the model's sd of the total.
 */
static int forecast_row_bc(const struct aq_model_row *r, int fc, int ref, int h, int from, int to,
			   const struct aq_path *out, double tot[5], struct aq_err *e)
{
	double *b = malloc(6 * (size_t)h * sizeof *b), tt[5], tsd;
	if (!b)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	struct aq_path a = {b, b + h, b + 2 * h, b + 3 * h, b + 4 * h};
	double *sd = b + 5 * h;
	int rc = aq_model_forecast_path(r, h, from, to, &a, tt, sd, &tsd, e);
	if (rc)
		goto out;
	if (aq_served_forecast_path(fc, ref, r->recent, AQ_MODEL_RECENT, h, &a, out, NULL))
		aq_served_forecast_path(AQ_FC_ARIMA, ref, r->recent, AQ_MODEL_RECENT, h, &a, out, NULL);
	double F = 0;
	for (int i = 0; i < h; i++) {
		if (!isfinite(out->mean[i])) {   /* a reference without history that day: the model's */
			out->mean[i] = a.mean[i];
			out->lo80[i] = a.lo80[i];
			out->hi80[i] = a.hi80[i];
			out->lo95[i] = a.lo95[i];
			out->hi95[i] = a.hi95[i];
		}
		if (r->cal.ok) {
			aq_cal_interval(&r->cal, 1, out->mean[i], sd[i], 0.80, &out->lo80[i], &out->hi80[i]);
			aq_cal_interval(&r->cal, 1, out->mean[i], sd[i], 0.95, &out->lo95[i], &out->hi95[i]);
		}
		if (i >= from && i < to)
			F += out->mean[i];
	}
	const struct aq_cal *c = r->cal.ok ? &r->cal : NULL;
	if (fc == AQ_FC_ARIMA && !c) {
		memcpy(tot, tt, sizeof tt);
	} else {
		tot[0] = fc == AQ_FC_ARIMA ? tt[0] : F;
		aq_cal_interval(c, to - from, tot[0], tsd, 0.80, &tot[1], &tot[2]);
		aq_cal_interval(c, to - from, tot[0], tsd, 0.95, &tot[3], &tot[4]);
	}
out:
	free(b);
	return rc;
}

/* Reference history for a row: its Recent window (the 28 cleaned days up to TrainedUntil). */
int aq_forecast_row(const struct aq_model_row *r, int h, int from, int to, const struct aq_path *out, double tot[5],
		    struct aq_err *e)
{
	if (h <= 0 || from < 0 || to <= from || to > h)
		return aq_err_set(e, AQ_EINVAL, "bad forecast period [%d, %d) of %d days", from, to, h);
	int fc, ref, rc;
	if (aq_served_parse(r->served, &fc, &ref))
		fc = AQ_FC_ARIMA;
	if (aq_bc_active(&r->bc) && aq_model_row_is_arima(r))
		return forecast_row_bc(r, fc, ref, h, from, to, out, tot, e);
	double *m = malloc(2 * (size_t)h * sizeof *m), *sd = m ? m + h : NULL, tsum, tsd;
	if (!m)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	/* to == h (every caller in the repository): the days and the total in one Kalman pass */
	if (to == h)
		rc = aq_model_forecast_window(r, h, from, m, sd, &tsum, &tsd, e);
	else if (!(rc = aq_model_forecast(r, h, m, sd, e)))
		rc = aq_model_forecast_total(r, from, to, &tsum, &tsd, e);
	if (rc)
		goto out;
	if (aq_served_forecast(fc, ref, r->recent, AQ_MODEL_RECENT, h, m, sd, out, NULL))
		aq_served_forecast(AQ_FC_ARIMA, ref, r->recent, AQ_MODEL_RECENT, h, m, sd, out, NULL);
	double F = 0;
	for (int i = 0; i < h; i++) {
		if (!isfinite(out->mean[i])) {   /* a reference without history that day: the model's */
			out->mean[i] = fmax(0, m[i]);
			aq_cal_interval(NULL, 1, m[i], sd[i], 0.80, &out->lo80[i], &out->hi80[i]);
			aq_cal_interval(NULL, 1, m[i], sd[i], 0.95, &out->lo95[i], &out->hi95[i]);
		}
		if (r->cal.ok) {
			aq_cal_interval(&r->cal, 1, out->mean[i], sd[i], 0.80, &out->lo80[i], &out->hi80[i]);
			aq_cal_interval(&r->cal, 1, out->mean[i], sd[i], 0.95, &out->lo95[i], &out->hi95[i]);
		}
		if (i >= from && i < to)
			F += out->mean[i];
	}
	/* the total: around the served points' sum, the model's sd of the sum (calibrated when the row is) */
	tot[0] = F;
	const struct aq_cal *c = r->cal.ok ? &r->cal : NULL;
	aq_cal_interval(c, to - from, F, tsd, 0.80, &tot[1], &tot[2]);
	aq_cal_interval(c, to - from, F, tsd, 0.95, &tot[3], &tot[4]);
	(void)tsum;
out:
	free(m);
	return rc;
}
