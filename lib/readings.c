/* readings.c — readings in memory (columns of date, account, consumption): growth, sort, dedup, one file read. */
#include "readings.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

static const struct aq_pq_column readings_cols[] = {
	{ "ConsumptionDate", AQ_PQ_INT32, AQ_PQ_DATE },
	{ "AccountOID", AQ_PQ_INT64, AQ_PQ_NONE },
	{ "Consumption", AQ_PQ_DOUBLE, AQ_PQ_NONE },
};

const struct aq_pq_schema aq_readings_schema = {
	.name = "aquacast.readings",
	.version = 1,
	.ncols = 3,
	.cols = readings_cols,
};

void aq_readings_init(struct aq_readings *r)
{
	memset(r, 0, sizeof(*r));
}

void aq_readings_release(struct aq_readings *r)
{
	free(r->date);
	free(r->account);
	free(r->value);
	memset(r, 0, sizeof(*r));
}

int aq_readings_reserve(struct aq_readings *r, size_t cap, struct aq_err *e)
{
	int32_t *d;
	int64_t *a;
	double *v;

	if (cap <= r->cap)
		return 0;
	if (cap > SIZE_MAX / sizeof(int64_t))
		return aq_err_set(e, AQ_ENOMEM, "out of memory (%zu readings)", cap);
	if (!(d = realloc(r->date, cap * sizeof(*d))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory (%zu readings)", cap);
	r->date = d;
	if (!(a = realloc(r->account, cap * sizeof(*a))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory (%zu readings)", cap);
	r->account = a;
	if (!(v = realloc(r->value, cap * sizeof(*v))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory (%zu readings)", cap);
	r->value = v;
	r->cap = cap;
	return 0;
}

int aq_readings_push(struct aq_readings *r, int32_t date, int64_t account, double value, struct aq_err *e)
{
	if (r->n == r->cap) {
		int rc = aq_readings_reserve(r, r->cap ? r->cap + r->cap / 2 : 1024, e);

		if (rc)
			return rc;
	}
	r->date[r->n] = date;
	r->account[r->n] = account;
	r->value[r->n] = value;
	r->n++;
	return 0;
}

/* O(n): already ordered by (account, date), ties allowed? */
static int readings_sorted(const int32_t *d, const int64_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (aq_readings_key_lt(a[i], d[i], a[i - 1], d[i - 1]))
			return 0;
	return 1;
}

static int bits_for(uint64_t range)
{
	int b = 0;

	while (b < 64 && (range >> b))
		b++;
	return b;
}

/*
 * LSD radix sort (stable) of 16-byte records by a 64-bit key, 11-bit digits,
 * passes whose digit is constant over all records skipped. tmp: n records.
 */
struct rrec {
	uint64_t key, val;
};

static void radix_sort(struct rrec *a, struct rrec *tmp, size_t n, int bits)
{
	enum { D = 11, B = 1 << D };
	size_t cnt[B];
	struct rrec *src = a, *dst = tmp;

	for (int shift = 0; shift < bits; shift += D) {
		size_t sum = 0;
		uint64_t first;

		memset(cnt, 0, sizeof(size_t) * B);
		for (size_t i = 0; i < n; i++)
			cnt[(src[i].key >> shift) & (B - 1)]++;
		first = (src[0].key >> shift) & (B - 1);
		if (cnt[first] == n)
			continue;
		for (size_t b = 0; b < B; b++) {
			size_t c = cnt[b];

			cnt[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i].key >> shift) & (B - 1)]++] = src[i];
		{
			struct rrec *t = src;

			src = dst;
			dst = t;
		}
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

/*
 * When (account - min, date - min) fit in 64 bits together (always, for real
 * ids and dates) one radix sort of (key, value) records does it; otherwise two
 * stable passes (date, then account) sort a permutation.
 */
int aq_readings_sort_cols(int32_t *d, int64_t *a, double *v, size_t n)
{
	int64_t amin, amax;
	int32_t dmin, dmax;
	int abits, dbits;
	struct rrec *rec, *tmp;

	if (n < 2 || readings_sorted(d, a, n))
		return 0;
	amin = amax = a[0];
	dmin = dmax = d[0];
	for (size_t i = 1; i < n; i++) {
		amin = a[i] < amin ? a[i] : amin;
		amax = a[i] > amax ? a[i] : amax;
		dmin = d[i] < dmin ? d[i] : dmin;
		dmax = d[i] > dmax ? d[i] : dmax;
	}
	abits = bits_for((uint64_t)amax - (uint64_t)amin);
	dbits = bits_for((uint64_t)((int64_t)dmax - dmin));
	rec = malloc(n * sizeof(*rec));
	tmp = malloc(n * sizeof(*tmp));
	if (!rec || !tmp) {
		free(rec);
		free(tmp);
		return AQ_ENOMEM;
	}
	if (abits + dbits <= 64) {
		for (size_t i = 0; i < n; i++) {
			rec[i].key = ((uint64_t)a[i] - (uint64_t)amin) << dbits | (uint64_t)((int64_t)d[i] - dmin);
			memcpy(&rec[i].val, &v[i], 8);
		}
		radix_sort(rec, tmp, n, abits + dbits);
		for (size_t i = 0; i < n; i++) {
			uint64_t k = rec[i].key;

			a[i] = (int64_t)((k >> dbits) + (uint64_t)amin);
			d[i] = (int32_t)((int64_t)(k & ((dbits ? (UINT64_C(1) << dbits) : 1) - 1)) + dmin);
			memcpy(&v[i], &rec[i].val, 8);
		}
	} else {
		int32_t *d2 = malloc(n * sizeof(*d2));
		int64_t *a2 = malloc(n * sizeof(*a2));
		double *v2 = malloc(n * sizeof(*v2));

		if (!d2 || !a2 || !v2) {
			free(d2);
			free(a2);
			free(v2);
			free(rec);
			free(tmp);
			return AQ_ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			rec[i].key = (uint64_t)((int64_t)d[i] - dmin);
			rec[i].val = i;
		}
		radix_sort(rec, tmp, n, dbits);
		for (size_t i = 0; i < n; i++) {
			size_t j = rec[i].val;

			rec[i].key = (uint64_t)a[j] - (uint64_t)amin;
		}
		radix_sort(rec, tmp, n, abits);
		for (size_t i = 0; i < n; i++) {
			size_t j = rec[i].val;

			d2[i] = d[j];
			a2[i] = a[j];
			v2[i] = v[j];
		}
		memcpy(d, d2, n * sizeof(*d));
		memcpy(a, a2, n * sizeof(*a));
		memcpy(v, v2, n * sizeof(*v));
		free(d2);
		free(a2);
		free(v2);
	}
	free(rec);
	free(tmp);
	return 0;
}

void aq_readings_sort(struct aq_readings *r)
{
	if (aq_readings_sort_cols(r->date, r->account, r->value, r->n))
		aq_warn("out of memory sorting %zu readings; left unsorted", r->n);
}

size_t aq_readings_dedup_cols(int32_t *d, int64_t *a, double *v, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		if (w > 0 && a[w - 1] == a[i] && d[w - 1] == d[i]) {
			v[w - 1] = v[i]; /* the later row wins */
			continue;
		}
		d[w] = d[i];
		a[w] = a[i];
		v[w] = v[i];
		w++;
	}
	return w;
}

size_t aq_readings_dedup_last(struct aq_readings *r)
{
	r->n = aq_readings_dedup_cols(r->date, r->account, r->value, r->n);
	return r->n;
}

int aq_readings_append_file(const char *path, struct aq_readings *out, struct aq_err *e)
{
	struct aq_pq_reader rd;
	int rc;

	if ((rc = aq_pq_reader_open(&rd, path, e)))
		return rc;
	if ((rc = aq_pq_reader_expect(&rd, &aq_readings_schema, e)))
		goto out;
	if ((rc = aq_readings_reserve(out, out->n + (size_t)rd.nrows, e)))
		goto out;
	for (int g = 0; g < rd.nrow_groups; g++) {
		size_t m = (size_t)aq_pq_reader_rg_rows(&rd, g);

		if ((rc = aq_pq_reader_read(&rd, g, 0, out->date + out->n, e)) ||
		    (rc = aq_pq_reader_read(&rd, g, 1, out->account + out->n, e)) ||
		    (rc = aq_pq_reader_read(&rd, g, 2, out->value + out->n, e)))
			goto out;
		out->n += m;
	}
out:
	aq_pq_reader_release(&rd);
	return rc;
}

int aq_readings_read_file(const char *path, struct aq_readings *out, struct aq_err *e)
{
	out->n = 0;
	return aq_readings_append_file(path, out, e);
}
