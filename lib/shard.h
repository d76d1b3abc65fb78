/* shard.h — partitioned datasets of Parquet shards: layout, batches, latest-wins merge, compaction. */
#ifndef AQ_SHARD_H
#define AQ_SHARD_H

/*
 * Layout of a dataset rooted at R (docs/formats.md):
 *
 *   R/_dataset.json                  {"format":"aquacast.dataset","version":1,
 *                                     "kind":"readings","parts":P,...}
 *   R/<kind>/part=NNN/<batch>.parquet
 *   R/_state/                        watermarks, checkpoints (owned by writers)
 *
 * part = aq_part_of(AccountOID, P): a fixed 64-bit mix (splitmix64 finaliser)
 * of the id, mod P — stable across machines and versions. P is fixed at
 * creation. Batch file names are "<key>-<label>.parquet" with key a 20-digit
 * zero-padded decimal: lexicographic order of names is batch order, and on a
 * duplicate (account, date) the row of the later batch wins. Files whose name
 * starts with '.' (temp files of an interrupted write) are ignored.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "parquet.h"

#define AQ_DATASET_MAX_PARTS 4096

struct aq_dataset {
	char *root;
	char *kind;        /* "readings", "models", "metrics", ... */
	int parts;
};

/* Create R (and _dataset.json) or open it if it exists with the same kind and P. */
int aq_dataset_create(struct aq_dataset *ds, const char *root, const char *kind, int parts, struct aq_err *e);
int aq_dataset_open(struct aq_dataset *ds, const char *root, struct aq_err *e);
void aq_dataset_release(struct aq_dataset *ds);
int aq_part_of(int64_t account, int parts);
/* malloc'd "R/<kind>/part=NNN" */
char *aq_dataset_part_dir(const struct aq_dataset *ds, int part);
/* malloc'd path of a new batch file of that part: "R/<kind>/part=NNN/<key>-<label>.parquet" */
char *aq_dataset_batch_path(const struct aq_dataset *ds, int part, uint64_t key, const char *label);
/* Sorted list of batch files of a part (malloc'd array of malloc'd paths). */
int aq_dataset_list_part(const struct aq_dataset *ds, int part, char ***paths, int *n, struct aq_err *e);
void aq_paths_free(char **paths, int n);
/* A batch key that sorts after every existing batch: max(now in µs, last key + 1). */
uint64_t aq_dataset_next_key(const struct aq_dataset *ds);

/* ---- readings: ConsumptionDate INT32 DATE, AccountOID INT64, Consumption DOUBLE ---- */

extern const struct aq_pq_schema aq_readings_schema;

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
	size_t max_buffer_bytes;   /* default 128 MiB across all parts */
	size_t row_group_rows;     /* default 1M */
	int threads;               /* worker threads that sort, compress and write: 0 = 2 when the
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

int aq_readings_writer_open(struct aq_readings_writer *w, const struct aq_dataset *ds, uint64_t key,
			    const char *label, const struct aq_readings_writer_opts *o, struct aq_err *e);
int aq_readings_writer_add(struct aq_readings_writer *w, int32_t date, int64_t account, double value,
			   struct aq_err *e);
/* n rows from column arrays: the same as n calls of aq_readings_writer_add. */
int aq_readings_writer_add_many(struct aq_readings_writer *w, size_t n, const int32_t *date,
				const int64_t *account, const double *value, struct aq_err *e);
/* Sort, write and commit every part's file. Releases w either way. */
int aq_readings_writer_close(struct aq_readings_writer *w, struct aq_err *e);
void aq_readings_writer_abort(struct aq_readings_writer *w);

/*
 * All batches of a part merged, sorted by (account, date), later batch
 * winning. Replaces out's rows (out->n = 0 first, capacity kept); a part
 * without files gives 0 rows.
 */
int aq_dataset_read_part(const struct aq_dataset *ds, int part, struct aq_readings *out, struct aq_err *e);
/* Every part in part order (each part merged as above), replacing out's rows. */
int aq_dataset_read_all(const struct aq_dataset *ds, struct aq_readings *out, struct aq_err *e);
/* Merge a part's batches into one file (key = the newest key, label "compact"), atomically. */
int aq_dataset_compact_part(const struct aq_dataset *ds, int part, struct aq_err *e);
/* Read a single readings file (checks schema); replaces out's rows, file order kept. */
int aq_readings_read_file(const char *path, struct aq_readings *out, struct aq_err *e);

#endif
