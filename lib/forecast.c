/* forecast.c — one account's daily forecasts, intervals and period total over a date range, from a model set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arima.h"
#include "forecast.h"
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
	double *m = malloc(2 * (size_t)h * sizeof *m), *sd = m ? m + h : NULL;
	if (!m)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	double tot, tsd;
	rc = aq_model_forecast_window(r, h, skip, m, sd, &tot, &tsd, e); /* = aq_model_forecast + _total, one pass */
	double z80 = aq_qnorm(0.5 + 0.80 / 2), z95 = aq_qnorm(0.5 + 0.95 / 2); /* as aq_model_clip computes them */
	for (int i = 0; !rc && i < n; i++) {
		double m80 = m[skip + i], m95 = m80;
		aq_model_clip_z(&m80, sd[skip + i], z80, &lo80[i], &hi80[i]);
		aq_model_clip_z(&m95, sd[skip + i], z95, &lo95[i], &hi95[i]);
		mean[i] = m80;
	}
	if (!rc) {
		double t95 = tot;
		total[0] = tot;
		aq_model_clip_z(&total[0], tsd, z80, &total[1], &total[2]);
		aq_model_clip_z(&t95, tsd, z95, &total[3], &total[4]);
	}
	free(m);
	return rc;
}
