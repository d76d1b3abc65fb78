/* evalset.h — evaluate a model set on a readings dataset: metrics dataset, served choice, summary and champion/challenger decision files. */
#ifndef AQ_EVALSET_H
#define AQ_EVALSET_H

/*
 * aq_evalset_run reads the model set and the readings (same parts), and for
 * every part in parallel (threads) every account (merge of the two sorted
 * streams): lib/series cleaning, lib/evaluate.h on the model's calendar
 * (scored against the cleaned readings), the champion's and the
 * challenger's served forecasts on the same new days. It writes
 *   out/metrics/      dataset "metrics" (docs/formats.md)
 *   out/models/       the model set with Served/ServedMargin
 *   out/summary.json, out/decision.json
 * and returns the one-line summary (caller frees; the binary prints it) and
 * whether the set is promoted (always without a champion).
 */

#include <jansson.h>

#include "err.h"
#include "evaluate.h"

#define AQ_EVALSET_NOT_PROMOTED 3   /* exit code of a set that is evaluated but not promoted */

/* The work of a run (tests, benches): optional, filled by aq_evalset_run on success. */
struct aq_evalset_stats {
	long evaluated;   /* accounts evaluated (aq_eval_account: every forecaster's backtest and new days) */
	long reused;      /* accounts of the default's sample re-chosen from that evaluation, not evaluated again */
	int default_parts;   /* parts sampled for the population default (0: none) */
};

struct aq_evalset_opts {
	const char *models, *readings, *champion, *out;   /* champion may be NULL */
	struct aq_eval_opts eo;
	struct aq_gate_opts go;
	int refit;        /* re-estimate at every backtest origin */
	long warmup;      /* origin filter warm-up days (lib/evalmodel.h), 0 = from day 0 */
	int threads;      /* 0 = all cores */
	int force;        /* replace an existing out (atomically) instead of refusing it */
	int fixed_default;   /* robust choice: keep the ensemble as the default (no population default) */
	struct aq_evalset_stats *stats;   /* may be NULL */
};

/*
 * The population default (lib/evaluate.h aq_default_choose) is learnt before
 * the run from a sample of whole parts (accounts are hashed to parts, so a
 * part is a random sample): the first ceil(P x AQ_EVALSET_DEFAULT_SAMPLE /
 * accounts) parts (all when the set is small) are evaluated first, the
 * default chosen from their backtests, and their accounts' evaluations
 * re-chosen with it in the full pass (lib/evaluate.h aq_eval_rechoose): no
 * account is evaluated twice.
 */
#define AQ_EVALSET_DEFAULT_SAMPLE 400

void aq_evalset_opts_default(struct aq_evalset_opts *o);

int aq_evalset_run(const struct aq_evalset_opts *o, json_t **summary, int *promoted, struct aq_err *e);

#endif
