/* inspect.h — integrity checks and summaries of shard files and datasets (what aquacast-shard verify/stats report). */
#ifndef AQ_INSPECT_H
#define AQ_INSPECT_H

#include <stdint.h>

#include "dataset.h"
#include "err.h"
#include "readings.h"

/* What one verified file holds (filled only when it is good). */
struct aq_verify_info {
	uint64_t rows, pages, pages_crc;
	int row_groups;
	int readings;     /* it has the readings schema (and was checked sorted) */
};

/*
 * Verify one Parquet file: magic and footer, every page (CRC-32 when
 * present, decompression, sizes, statistics: aq_pq_reader_verify), a CRC on
 * every page of a file aquacast wrote, and the content rules:
 *   - readings: strictly increasing (AccountOID, ConsumptionDate), so no
 *     duplicate within a batch;
 *   - in a dataset (ds != NULL, file of part `part`): every AccountOID lies
 *     in that part (aq_part_of), for any schema with an INT64 AccountOID;
 *   - a dataset of kind "readings" holds only readings files.
 * Returns 0 (info filled) or AQ_EFORMAT / AQ_EIO / AQ_ENOMEM with the
 * reason in e.
 */
int aq_verify_file(const char *path, const struct aq_dataset *ds, int part, struct aq_verify_info *info,
		   struct aq_err *e);

/*
 * The seal of a directory (lib/manifest.h): a directory with a manifest is
 * checked deeply (every file's size and SHA-256) and *sealed = 1; a readings
 * dataset without one is fine (readings are appended to in place, batch by
 * batch) and *sealed = 0; any other directory without a manifest (a model
 * set, metrics, an evaluation) is an unfinished run: AQ_ESTATE.
 */
int aq_verify_seal(const char *dir, int *sealed, uint64_t *files, struct aq_err *e);

/* Temporary files of interrupted writes in a part (".*.tmp.*": ignored by readers). */
int aq_dataset_count_tmp(const struct aq_dataset *ds, int part);

/* Readings summary, accumulated over batches or parts. */
struct aq_readings_stats {
	uint64_t rows, accounts, nan;
	int32_t date_min, date_max;  /* valid when rows > 0 */
};

/*
 * Add rd to s. Accounts are counted as runs of equal AccountOID, so rd must be
 * sorted by account (sorted = 1: it is, e.g. a merged part) or it is sorted
 * here (sorted = 0); accounts never span two calls (one part, or one file).
 */
void aq_readings_stats_add(struct aq_readings_stats *s, struct aq_readings *rd, int sorted);

struct aq_dataset_summary {
	uint64_t files, bytes, batches;  /* batches: distinct batch keys over all parts */
	int parts_with_data;
	uint64_t rows_files;             /* other kinds: rows summed over files (no merge) */
	struct aq_readings_stats rs;     /* kind "readings": after the latest-wins merge per part */
};

/* Walk every part of ds. Returns 0 or a negative AQ_E* (e filled). */
int aq_dataset_summarize(const struct aq_dataset *ds, struct aq_dataset_summary *out, struct aq_err *e);

/*
 * What a readings dataset holds, from its batch files' footers only (row
 * counts and ConsumptionDate statistics; no data page is read): the cheap
 * check of a reader's inputs before it starts (train).
 */
struct aq_readings_probe {
	uint64_t files, rows;        /* rows before the latest-wins merge */
	int32_t date_min, date_max;  /* valid when rows > 0 */
};
int aq_readings_probe(const struct aq_dataset *ds, struct aq_readings_probe *p, struct aq_err *e);

/*
 * *found = 1 when ds holds a row of one of the accounts acc[0..n): only the
 * files of each account's part whose AccountOID statistics cover it are
 * read, AccountOID column only, and the search stops at the first hit.
 */
int aq_readings_has_account(const struct aq_dataset *ds, const int64_t *acc, size_t n, int *found,
			    struct aq_err *e);

#endif
