/* trainparts.h — a model set assembled from part-range runs (training mapped over the dataset's parts). */
#ifndef AQ_TRAINPARTS_H
#define AQ_TRAINPARTS_H

/*
 * Mapped training (Airflow's .expand() over ranges of parts): each task runs
 * aq_train_run with opts part_lo..part_hi for the same out_root. A range's
 * output is sealed on its own (kind AQ_TRAINPARTS_KIND, meta part_lo/part_hi)
 * in the run's staging area "<parent>/.<name>.parts/p<lo>-<hi>", dot-named so
 * that nothing there looks like a model set; a rerun of the same range
 * replaces it. aq_trainparts_seal checks that the sealed ranges cover the
 * parts 0..P-1 exactly once and come from one run (same mode and readings),
 * hard-links their files into a new model set at out_root, seals it, and
 * removes the staging area. Sealing a run that is sealed already (and has
 * no staging area left) is a no-op, so a retried seal task succeeds.
 */

#include <jansson.h>

#include "err.h"

#define AQ_TRAINPARTS_KIND "models-range"

/* malloc'd staging directory of the range lo..hi of out_root (NULL on ENOMEM). */
char *aq_trainparts_dir(const char *out_root, int lo, int hi);

/* Seal out_root from its ranges; *summary (caller frees) = counts, ranges, "already_sealed". */
int aq_trainparts_seal(const char *out_root, json_t **summary, struct aq_err *e);

#endif
