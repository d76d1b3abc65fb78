/* readings.h — readings in memory: (date, account, consumption) columns, sort by key, latest-wins dedup, file read. */
#ifndef AQ_READINGS_H
#define AQ_READINGS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "parquet.h"

/* ---- readings: ConsumptionDate INT32 DATE, AccountOID INT64, Consumption DOUBLE ---- */

extern const struct aq_pq_schema aq_readings_schema;

/* Rows per page and per row group of a readings file written with default options. */
#define AQ_READINGS_PAGE_ROWS 65536
#define AQ_READINGS_ROW_GROUP_ROWS ((size_t)1 << 20)

/* Column-wise readings in memory; NaN consumption = missing/invalid. */
struct aq_readings {
	size_t n, cap;
	int32_t *date;
	int64_t *account;
	double *value;
};

void aq_readings_init(struct aq_readings *r);
void aq_readings_release(struct aq_readings *r);
int aq_readings_reserve(struct aq_readings *r, size_t cap, struct aq_err *e);
int aq_readings_push(struct aq_readings *r, int32_t date, int64_t account, double value, struct aq_err *e);
/* Stable sort by (account, date); then keep the last of each duplicate key. */
void aq_readings_sort(struct aq_readings *r);
size_t aq_readings_dedup_last(struct aq_readings *r);
/* Read a single readings file (checks schema); replaces out's rows, file order kept. */
int aq_readings_read_file(const char *path, struct aq_readings *out, struct aq_err *e);
/* The same, appending to out's rows. */
int aq_readings_append_file(const char *path, struct aq_readings *out, struct aq_err *e);

/* ---- the same on bare columns (buffers that are not a struct aq_readings) ---- */

/* The order of readings: by account, then date. */
static inline int aq_readings_key_lt(int64_t a1, int32_t d1, int64_t a2, int32_t d2)
{
	return a1 < a2 || (a1 == a2 && d1 < d2);
}

/* Stable sort of n rows of columns by (account, date): 0, or AQ_ENOMEM (no message: the caller has the context). */
int aq_readings_sort_cols(int32_t *date, int64_t *account, double *value, size_t n);
/* Sorted columns: keep the last row of each duplicate key; returns the rows kept. */
size_t aq_readings_dedup_cols(int32_t *date, int64_t *account, double *value, size_t n);

#endif
