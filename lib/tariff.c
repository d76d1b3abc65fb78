/* tariff.c — block tariff: strict JSON reading, prorated block bill, billing cycles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "date.h"
#include "fs.h"
#include "tariff.h"

#define MEAN_MONTH_DAYS 30.4375

static int num(json_t *o, const char *k, double lo, double hi, double *out, struct aq_err *e)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
		return aq_err_set(e, AQ_EFORMAT, "bad tariff: '%s' must be a number in %g..%g", k, lo, hi);
	*out = json_number_value(v);
	return 0;
}

static int blocks(json_t *a, struct aq_tariff *t, struct aq_err *e)
{
	if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > AQ_TARIFF_MAX_BLOCKS)
		return aq_err_set(e, AQ_EFORMAT, "bad tariff: 'blocks' must be an array of 1 to %d blocks", AQ_TARIFF_MAX_BLOCKS);
	size_t i;
	json_t *b;
	json_array_foreach(a, i, b)
	{
		json_t *u = json_object_get(b, "up_to_m3");
		int last = i + 1 == json_array_size(a);
		if (!json_is_object(b) || (last ? !json_is_null(u) : !json_is_number(u)))
			return aq_err_set(e, AQ_EFORMAT, "bad tariff: block %zu needs 'up_to_m3' (a number; null for the last block only)", i + 1);
		t->upto[i] = last ? INFINITY : json_number_value(u);
		if (!last && !(t->upto[i] > (i ? t->upto[i - 1] : 0)))
			return aq_err_set(e, AQ_EFORMAT, "bad tariff: block limits must increase from above 0 (block %zu)", i + 1);
		if (num(b, "price_per_m3", 0, 1e4, &t->price[i], e))
			return aq_err_prefix(e, "block %zu", i + 1);
	}
	t->nblocks = (int)json_array_size(a);
	return 0;
}

int aq_tariff_parse(const char *json, size_t len, struct aq_tariff *t, struct aq_err *e)
{
	memset(t, 0, sizeof *t);
	json_error_t je;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return aq_err_set(e, AQ_EFORMAT, "bad tariff: malformed JSON at line %d: %s", je.line, je.text);
	int rc = 0;
	const char *fmt = json_string_value(json_object_get(o, "format"));
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *cur = json_string_value(json_object_get(o, "currency"));
	double day = 0;
	if (!fmt || strcmp(fmt, "aquacast.tariff") || json_integer_value(json_object_get(o, "version")) != 1)
		rc = aq_err_set(e, AQ_EFORMAT, "bad tariff: want \"format\":\"aquacast.tariff\", \"version\":1");
	else if (!name || strlen(name) >= sizeof t->name || !cur || strlen(cur) < 1 || strlen(cur) >= sizeof t->currency)
		rc = aq_err_set(e, AQ_EFORMAT, "bad tariff: 'name' and 'currency' (up to 7 characters) are required");
	if (!rc)
		rc = num(o, "cycle_start_day", 1, 28, &day, e);
	if (!rc && day != floor(day))
		rc = aq_err_set(e, AQ_EFORMAT, "bad tariff: 'cycle_start_day' must be an integer");
	if (!rc)
		rc = num(o, "fixed_per_cycle", 0, 1e6, &t->fixed, e);
	if (!rc)
		rc = num(o, "vat", 0, 1, &t->vat, e);
	if (!rc)
		rc = blocks(json_object_get(o, "blocks"), t, e);
	if (!rc) {
		strcpy(t->name, name);
		strcpy(t->currency, cur);
		t->cycle_start_day = (int)day;
	}
	json_decref(o);
	return rc;
}

int aq_tariff_load(const char *path, struct aq_tariff *t, struct aq_err *e)
{
	char *buf;
	size_t len;
	int rc = aq_fs_read_all(path, &buf, &len, e);
	if (rc)
		return rc;
	rc = aq_tariff_parse(buf, len, t, e);
	free(buf);
	if (rc)
		aq_err_prefix(e, "tariff '%s'", path);
	return rc;
}

double aq_tariff_bill(const struct aq_tariff *t, double m3, int days)
{
	double f = days / MEAN_MONTH_DAYS, sum = t->fixed * f, lo = 0;
	if (!(m3 > 0))
		m3 = 0;
	for (int i = 0; i < t->nblocks && m3 > lo * f; i++) {
		double hi = t->upto[i] * f, in = fmin(m3, hi) - lo * f;
		sum += in * t->price[i];
		lo = t->upto[i];
	}
	return round(sum * (1 + t->vat) * 100) / 100;
}

void aq_tariff_next_cycle(const struct aq_tariff *t, int32_t day, int32_t *from, int32_t *to)
{
	int y, m, d;
	aq_date_to_ymd(day, &y, &m, &d);
	if (d > t->cycle_start_day && ++m > 12) {
		m = 1;
		y++;
	}
	*from = aq_date_from_ymd(y, m, t->cycle_start_day);
	if (++m > 12) {
		m = 1;
		y++;
	}
	*to = aq_date_from_ymd(y, m, t->cycle_start_day) - 1;
}
