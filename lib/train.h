/* train.h — fitting every account of a readings dataset into a new model set: full, refit, update, auto. */
#ifndef AQ_TRAIN_H
#define AQ_TRAIN_H

/*
 * Modes (issue #4 item 5; docs/formats.md "Model sets"):
 *   full    order search (aq_auto_arima) for every account with data;
 *   refit   keep each account's order from the previous set, re-estimate by
 *           CSS-ML warm-started from its previous coefficients;
 *   update  keep order and coefficients, run the filter over the new days
 *           only (aq_arima_update);
 *   auto    refit, then search again where the previous model predicted the
 *           new days badly: the mean of the squared standardised one-step-
 *           ahead errors z_t = (y_t - yhat_t|t-1) / sd_t of the previous
 *           model over the new days exceeds opts.auto_z2 (default 2.0, i.e.
 *           the new days' innovations have twice the variance the model
 *           expects), or the refit fails.
 * Whatever the mode, accounts with no reading after the previous model's
 * TrainedUntil are carried over unchanged, accounts without a previous
 * model (or whose previous row is a fallback) get a full search, and one
 * account's failure never stops the run: its row says "failed" with a
 * reason and carries a mean fallback (model.h).
 *
 * Fallbacks (status "fallback", Spec "MEAN"): no valid reading (mean 0,
 * sigma2 0), fewer than opts.min_obs valid days (mean and variance of the
 * data), constant series incl. all-zero (the constant, sigma2 0).
 */

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "arima.h"
#include "autoarima.h"
#include "err.h"
#include "model.h"
#include "series.h"

enum aq_train_mode { AQ_TRAIN_FULL = 0, AQ_TRAIN_REFIT, AQ_TRAIN_UPDATE, AQ_TRAIN_AUTO };

const char *aq_train_mode_name(enum aq_train_mode m);
int aq_train_mode_parse(const char *s, enum aq_train_mode *m);

struct aq_train_opts {
	enum aq_train_mode mode;
	int threads;                  /* <= 0: all cores */
	struct aq_series_opts series; /* cleaning, window, until */
	struct aq_auto_opts search;
	int min_obs;                  /* fewer valid days -> fallback; default 14 */
	double auto_z2;               /* auto mode threshold, default 2.0 */
	const int64_t *accounts;      /* sorted filter, or NULL for all */
	size_t naccounts;
	int progress;                 /* show a progress line */
	int unit;                     /* work unit: 0 auto (parts if parts >= 2 threads), 1 part, 2 account */
	const volatile sig_atomic_t *stop; /* lib/stop.h: when set, accounts not started are skipped and the
					      run fails with AQ_EINTR (nothing is sealed) */
	int part_lo, part_hi;         /* parts lo..hi only (mapped training, lib/trainparts.h); -1 = all */
	int lambda_rule;              /* enum aq_bc_rule (lib/boxcox.h) of a search: the ARIMA of each account
					 is searched and fitted on that transform of its series (none: default);
					 refit and update keep the previous model's transform */
};

void aq_train_opts_default(struct aq_train_opts *o);

/* What happened to one account. */
enum aq_train_action { AQ_ACT_CARRIED = 0, AQ_ACT_SEARCHED, AQ_ACT_REFITTED, AQ_ACT_UPDATED,
		       AQ_ACT_RESEARCHED, AQ_ACT_FALLBACK, AQ_ACT_FAILED };

struct aq_train_stats {
	uint64_t accounts, ok, fallback, failed;
	uint64_t carried, searched, refitted, updated, researched;
	uint64_t readings;
	int parts, threads;
	int unit_parts;               /* 1 if whole parts were the unit of work */
	double seconds;
	double fit_ms_median, fit_ms_p99, fit_ms_mean;
	int32_t new_days;             /* with a previous set: the most days of readings any account has after
					 its model's TrainedUntil (all its days if it had none); 0 = nothing
					 new, a warning and not an error (a normal daily outcome) */
};

/*
 * Train one account. prev (may be NULL) is its row in the previous set.
 * Always fills out (a usable row); returns the action.
 */
enum aq_train_action aq_train_account(int64_t account, const int32_t *date, const double *value, size_t k,
				      const struct aq_model_row *prev, const struct aq_train_opts *o,
				      struct aq_arima_ws *ws, struct aq_model_row *out);

/*
 * The whole run: readings dataset -> new model set at out_root (must not
 * exist yet), sealed. With opts part_lo..part_hi, only those parts, into the
 * run's staging area (lib/trainparts.h: replaced on a rerun of the same
 * range); aq_trainparts_seal makes the model set once every part is there.
 */
int aq_train_run(const char *readings_root, const char *out_root, const char *prev_root,
		 const struct aq_train_opts *o, struct aq_train_stats *st, struct aq_err *e);

#endif
