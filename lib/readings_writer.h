/* readings_writer.h — one batch of readings into a dataset: a sorted file per part, committed atomically at close. */
#ifndef AQ_READINGS_WRITER_H
#define AQ_READINGS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "err.h"
#include "parquet.h"
#include "readings.h"

/*
 * Routes rows to one batch per part. Memory is bounded by opts.max_buffer_bytes:
 * each part buffers at most max_buffer_bytes / parts / 20 rows (capped at
 * row_group_rows). A full buffer is sorted (no work when rows came in order)
 * and becomes a row group of the part's open file if it continues that
 * file's order, else the first row group of a further file of the same batch
 * (named "<key>-<label>.<seq>.parquet" with the last one "<key>-<label>.parquet",
 * so name order is write order). Files appear only at close (all fsync'd, then
 * renamed, then the part directories fsync'd); a crash before close leaves
 * only dot-temp files, which readers ignore. Zeroed opts mean the defaults
 * (ZSTD level 3, 128 MiB, 1M-row row groups).
 */
struct aq_readings_writer_opts {
	struct aq_pq_write_opts pq;
	size_t max_buffer_bytes; /* default 128 MiB across all parts */
	size_t row_group_rows;   /* default 1M */
	int threads;             /* worker threads that sort, compress and write: 0 = 2 when the
				    machine has 2 CPUs or more, else none; < 0 = none (the caller's
				    thread does everything) */
};

struct aq_readings_writer_stats {
	uint64_t rows, files, bytes;
};

struct aq_readings_writer {
	const struct aq_dataset *ds;
	uint64_t key;
	char *label;
	struct aq_readings_writer_opts opts;
	struct aq_readings_writer_stats stats;
	void *priv;
};

int aq_readings_writer_open(struct aq_readings_writer *w, const struct aq_dataset *ds, uint64_t key, const char *label,
			    const struct aq_readings_writer_opts *o, struct aq_err *e);
int aq_readings_writer_add(struct aq_readings_writer *w, int32_t date, int64_t account, double value, struct aq_err *e);
/* n rows from column arrays: the same as n calls of aq_readings_writer_add. */
int aq_readings_writer_add_many(struct aq_readings_writer *w, size_t n, const int32_t *date, const int64_t *account,
				const double *value, struct aq_err *e);
/* Sort, write and commit every part's file. Releases w either way. */
int aq_readings_writer_close(struct aq_readings_writer *w, struct aq_err *e);
void aq_readings_writer_abort(struct aq_readings_writer *w);

#endif
