/* dataset.h — the layout of a partitioned dataset of Parquet batches: _dataset.json, parts, batch names and keys. */
#ifndef AQ_DATASET_H
#define AQ_DATASET_H

/*
 * Layout of a dataset rooted at R (docs/formats.md):
 *
 *   R/_dataset.json                  {"format":"aquacast.dataset","version":1,
 *                                     "kind":"readings","parts":P,...}
 *   R/<kind>/part=NNN/<batch>.parquet
 *   R/_state/                        watermarks, checkpoints (owned by writers)
 *
 * part = aq_part_of(AccountOID, P): a fixed 64-bit mix (aq_mix64, lib/hash.h)
 * of the id, mod P — stable across machines and versions. P is fixed at
 * creation. Batch file names are "<key>-<label>.parquet" with key a 20-digit
 * zero-padded decimal: lexicographic order of names is batch order, and on a
 * duplicate (account, date) the row of the later batch wins. Files whose name
 * starts with '.' (temp files of an interrupted write) are ignored.
 *
 * Reading a part's batches as one (latest wins) and compaction: merge.h.
 * Writing a batch of readings: readings_writer.h.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define AQ_DATASET_MAX_PARTS 4096

struct aq_dataset {
	char *root;
	char *kind; /* "readings", "models", "metrics", ... */
	int parts;
	int created; /* this aq_dataset_create made R (rather than opening it) */
};

/*
 * Create R (and _dataset.json) or open it if it exists with the same kind
 * and P. A new R appears whole (skeleton written beside it, then renamed).
 */
int aq_dataset_create(struct aq_dataset *ds, const char *root, const char *kind, int parts, struct aq_err *e);
int aq_dataset_open(struct aq_dataset *ds, const char *root, struct aq_err *e);
void aq_dataset_release(struct aq_dataset *ds);
/*
 * After a failed run: remove R if this run created it and nothing was
 * committed into it (no batch file, no state), so a failure leaves no empty
 * dataset that looks like output. Returns 1 when removed. Release ds after.
 */
int aq_dataset_discard_unused(struct aq_dataset *ds);
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
/* 1 if name (no directory) is a batch file name "<20 digits>-<label>.parquet", its key in *key (may be NULL). */
int aq_dataset_batch_key(const char *name, uint64_t *key);
/* 1 if label can name a batch: letters, digits, '_', '-', '.', not empty, no leading '.', at most 100. */
int aq_dataset_label_ok(const char *label);

#endif
