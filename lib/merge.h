/* merge.h — a dataset part read as one set of readings, the later batch winning on a duplicate key; compaction. */
#ifndef AQ_MERGE_H
#define AQ_MERGE_H

#include "dataset.h"
#include "err.h"
#include "readings.h"

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

#endif
