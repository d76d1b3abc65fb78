/* evaluate.h — score a model on new data and on a rolling-origin backtest, choose the served forecaster, champion/challenger gate. */
#ifndef AQ_EVALUATE_H
#define AQ_EVALUATE_H

/*
 * One account's series y[0..n) (cleaned calendar, NaN = missing; model
 * input and reference history) and actual[0..n) (the readings as they
 * arrived, NaN = missing or invalid; what is scored), day 0 = the model's
 * FirstDate; the model has seen y[0..n_train).
 *
 *  - new data: every forecaster forecasts the days [n_train, n) from
 *    origin n_train; missing actuals are not scored; no day scored is
 *    status AQ_EVAL_NO_NEW_DATA (never a perfect score).
 *  - backtest: K windows of h days ending at n (origins n - k h, k = K..1,
 *    each with at least AQ_REF_WINDOW days before it); the ARIMA model
 *    filters up to each origin with its fitted coefficients (or, on
 *    request, is refitted there: the callback decides) and forecasts h.
 *  - forecasters: arima, snaive7, mean28, median28, wmed4 (lib/reference.h),
 *    combo = the day-by-day average of arima and the best reference (the
 *    reference with the lowest pooled backtest MAE), and ensemble = the
 *    day-by-day median of the point forecasts of arima, snaive7, mean28 and
 *    median28 (those available; bounds: the median of their bounds). MASE
 *    is an absolute-error metric: its optimal point forecast is the
 *    conditional median, and the median of several forecasters is robust to
 *    any one of them being off (docs/accuracy.md). Point forecasts of arima
 *    (and so combo, ensemble) are clipped at 0: consumption is never
 *    negative, and clipping never increases an absolute error.
 *  - choice (AQ_CHOICE_ROBUST, default): serve the default (the ensemble,
 *    or the population default: aq_default_choose below; "the ensemble" in
 *    the rest of this paragraph) unless the
 *    forecaster with the lowest pooled backtest MAE beats it by at least
 *    challenge_margin (relative, default 0.10) AND has the lower MAE in
 *    more than half of the scored windows (hysteresis: a single lucky window
 *    does not move an account); margin = (MAE of the ensemble - MAE of the
 *    challenger served) / MAE of the ensemble, or when the ensemble is
 *    served (MAE of the best other - MAE of the ensemble) / MAE of the
 *    ensemble (negative: a challenger was better, not by enough). AQ_CHOICE_LOWEST: the
 *    lowest pooled MAE (ties: earlier in enum order), margin to the
 *    runner-up. Without any scored backtest day: the ensemble if it has a
 *    forecast, else median28, else arima (margin NaN). MASE is MAE over the
 *    same per-account scale, so choosing by MAE is choosing by MASE.
 *  - MASE scale: mean |y_t - y_{t-7}| of actual[0..n_train) (pairs present).
 */

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "calib.h"
#include "err.h"
#include "metrics.h"
#include "reference.h"

/* The references in enum aq_ref order from AQ_FC_SNAIVE7 (fc = AQ_FC_SNAIVE7 + ref). */
enum aq_fc {
	AQ_FC_ARIMA = 0,
	AQ_FC_SNAIVE7,
	AQ_FC_MEAN28,
	AQ_FC_MEDIAN28,
	AQ_FC_WMED4,
	AQ_FC_COMBO,
	AQ_FC_ENSEMBLE,
	AQ_FC_N
};
#define AQ_EVAL_MAXWIN 16   /* backtest windows at most */

/* "arima", "snaive7", "mean28", "median28", "wmed4", "combo", "ensemble" */
const char *aq_fc_name(int fc);

/*
 * The served forecaster as recorded in the model set's Served column:
 * "arima", "snaive7", "mean28", "median28", "wmed4", "ensemble", or "arima+<ref>" for the
 * combination. aq_served_parse returns 0 and fc (and ref for combo), or
 * AQ_EINVAL for an unknown name.
 */
const char *aq_served_str(int fc, int combo_ref, char *buf, size_t len);
int aq_served_parse(const char *s, int *fc, int *combo_ref);

/*
 * The model under evaluation: mean and sd (forecast error sd) of h days after
 * origin, having seen y[0..origin). Returns 0 or AQ_E*; on failure the ARIMA
 * (and combo) forecasts of that origin are not available.
 */
struct aq_eval_model {
	int (*forecast)(void *ctx, const double *y, size_t origin, int h, double *mean, double *sd,
			struct aq_err *e);
	void *ctx;
	/*
	 * Optional: sdsum[i] = the sd of the total of steps 1..i+1 (i < h), whose
	 * errors are correlated (ARIMA: the psi weights, lib/evalmodel.h). NULL:
	 * sqrt of the cumulative sum of the daily variances (independent days).
	 */
	int (*sdsum)(void *ctx, int h, double *sdsum, struct aq_err *e);
};

enum aq_choice { AQ_CHOICE_ROBUST = 0, AQ_CHOICE_LOWEST };

/*
 * The calibration sample (lib/calib.h) standardises a backtest window's
 * errors by the model's sd S times rho_w, the local scale at the window's
 * origin over the one at the serving origin n_train (clamped to [1/4, 4]):
 * SPREAD (default) the sd of the 28 days before the origin (mean28's), LEVEL
 * their mean, SQRT_LEVEL its square root, NONE rho = 1. A household's errors
 * grow with its current variability (a winter of heating, a summer of
 * watering); S, fitted over the whole history, does not follow it. At
 * serving rho = 1 (the serving origin is n_train), so the stored quantiles
 * apply to S as they are. Normalised conformal scores with a local
 * difficulty estimate: Papadopoulos et al. 2008, Lei et al. 2018 (5.2).
 */
enum aq_cal_scale { AQ_CAL_SCALE_NONE = 0, AQ_CAL_SCALE_LEVEL, AQ_CAL_SCALE_SQRT_LEVEL, AQ_CAL_SCALE_SPREAD };

struct aq_eval_opts {
	int windows;                    /* K, default 4 */
	int choice;                     /* enum aq_choice, default AQ_CHOICE_ROBUST */
	double challenge_margin;        /* robust choice: relative MAE margin, default 0.10 */
	int horizon;                    /* h, default 30 */
	int max_new_days;               /* cap of the new-data horizon, default 366 */
	int combo_ref;                  /* reference of the combination: -1 (default) the best on the
					   backtest, else an enum aq_ref (e.g. the one recorded in Served) */
	struct aq_anomaly_opts anomaly;
	int cal_scale;                  /* enum aq_cal_scale: the local scale of the calibration, default
					   AQ_CAL_SCALE_SPREAD */
	int default_fc;                 /* robust choice: the default, AQ_FC_ENSEMBLE unless learnt from
					   the population (aq_default_choose) */
};

void aq_eval_opts_default(struct aq_eval_opts *o);

enum aq_eval_status {
	AQ_EVAL_OK = 0,
	AQ_EVAL_NO_NEW_DATA,    /* nothing to score after TrainedUntil */
	AQ_EVAL_NO_MODEL,       /* readings but no model row */
	AQ_EVAL_NO_READINGS,    /* a model row but no readings */
};
const char *aq_eval_status_name(int st);

struct aq_eval_result {
	int64_t account;
	int status;
	double scale;                       /* MASE scale */
	struct aq_metrics newdata[AQ_FC_N];
	struct aq_metrics backtest[AQ_FC_N];
	int windows;                        /* backtest windows with a scored day */
	int arima_failures;                 /* origins where the model could not forecast */
	int served, combo_ref;
	double served_margin;
	double wmae[AQ_EVAL_MAXWIN][AQ_FC_N];   /* backtest MAE of window k + 1 (origin n - (k+1) h); NaN: none */
	struct aq_anomaly anomaly;
	int anomaly_origin;                 /* first day of the anomaly's window or flat run (= anomaly.start) */
	/*
	 * Period totals (lib/metrics.h) of h = aq_tot_horizons[j] days from the
	 * origin: new data (from n_train, when the new days cover h) and the
	 * backtest windows pooled (h <= the window's horizon). The intervals of a
	 * total: arima Gaussian with the sd of the sum (model->sdsum); a
	 * reference F -/+ the root sum of squares of its daily half-widths (days
	 * independent); combo the average of arima's and its reference's bounds;
	 * ensemble the median of its members' bounds. Points: the sums of the
	 * daily point forecasts.
	 */
	struct aq_total_metrics newtot[AQ_FC_N][AQ_TOT_NH];
	struct aq_total_metrics bttot[AQ_FC_N][AQ_TOT_NH];
	/*
	 * The served forecaster's backtest errors standardised by the model's sd
	 * (lib/calib.h): every scored day (kind 0) and the 7- and 30-day totals
	 * from each window's origin (kinds 1, 2), oldest window first.
	 */
	struct aq_cal_sample cal;
};

/*
 * The choice of the served forecaster from an account's backtest (the rule
 * of opts->choice, above): pooled[f] the MAE of f over all scored backtest
 * days, wmae[k][f] (k < nwin) per window, NaN when not scored. Returns the
 * forecaster and *margin, or -1 without any finite pooled MAE (no evidence:
 * aq_eval_account then serves the default).
 */
int aq_eval_choose(const struct aq_eval_opts *o, const double pooled[AQ_FC_N], const double (*wmae)[AQ_FC_N],
		   int nwin, double *margin);

/*
 * The population default of the robust choice (docs/accuracy.md): over a
 * sample of accounts, each account's pooled backtest MAE of every forecaster
 * relative to its ensemble's, g_i(f) = 1 - MAE_i(f) / MAE_i(ensemble). The
 * default is the forecaster with the largest mean gain among those whose
 * mean gain exceeds AQ_DEFAULT_Z standard errors (over accounts) — else the
 * ensemble. A departure from the ensemble needs evidence from many accounts
 * (hundreds of accounts x 120 days), not from one account's 4 windows; each
 * account still departs from the default only by the hysteresis above.
 */
#define AQ_DEFAULT_Z 2.0
#define AQ_DEFAULT_MIN 30   /* accounts with a backtest needed to move the default */
struct aq_default_acc {
	long n[AQ_FC_N];
	double sum[AQ_FC_N], sumsq[AQ_FC_N];
};
void aq_default_acc_init(struct aq_default_acc *a);
/* Add an evaluated account (its backtest); accounts without an ensemble MAE > 0 are skipped. */
void aq_default_acc_add(struct aq_default_acc *a, const struct aq_eval_result *r);
void aq_default_acc_merge(struct aq_default_acc *dst, const struct aq_default_acc *src);
/* The default forecaster; *gain its mean gain over the ensemble (0 for the ensemble), *n the accounts. */
int aq_default_choose(const struct aq_default_acc *a, double *gain, long *n);

/*
 * What the served choice decides besides the forecaster, for every candidate
 * f (as if f were served): its calibration sample and its anomaly. With it
 * aq_eval_rechoose applies another default (the population default learnt
 * after the account was evaluated) without forecasting again: the choice
 * reads only the backtest MAEs (result backtest[f].mae pooled, wmae per
 * window), which do not depend on the default. ~14 KB: for a sample of
 * accounts, not a whole utility.
 */
struct aq_eval_alts {
	struct aq_cal_sample cal[AQ_FC_N];
	struct aq_anomaly anomaly[AQ_FC_N];
};

/* Scratch buffers, reused across accounts (one per thread). */
struct aq_eval_ws {
	size_t cap;
	double *buf;
};
void aq_eval_ws_init(struct aq_eval_ws *ws);
void aq_eval_ws_release(struct aq_eval_ws *ws);

int aq_eval_account(const double *y, const double *actual, size_t n, size_t n_train,
		    const struct aq_eval_model *model, const struct aq_eval_opts *o, struct aq_eval_ws *ws,
		    struct aq_eval_result *r, struct aq_err *e);

/* aq_eval_account that also fills alts (may be NULL: aq_eval_account). */
int aq_eval_account_alts(const double *y, const double *actual, size_t n, size_t n_train,
			 const struct aq_eval_model *model, const struct aq_eval_opts *o, struct aq_eval_ws *ws,
			 struct aq_eval_result *r, struct aq_eval_alts *alts, struct aq_err *e);
/*
 * r (from aq_eval_account_alts with alts) as aq_eval_account would have
 * made it with options o: served, served_margin, cal, anomaly re-chosen,
 * everything else as it is (it does not depend on the choice).
 */
void aq_eval_rechoose(const struct aq_eval_opts *o, const struct aq_eval_alts *alts, struct aq_eval_result *r);

/*
 * Every forecaster from origin o (y[0..o) known) over h days, as
 * aq_eval_account computes them: block has aq_eval_block_size(h) doubles
 * (the caller's); paths[f] point into it, *sd and *sdsum (the model's daily
 * sd and the sd of its cumulative totals, NaN when the model failed) too.
 * Returns 0, or the model's failure (the reference paths are still there).
 * aq_eval_block_totals: tot[f] = {F, lo80, hi80, lo95, hi95} of the first
 * L <= h days of such a block (the rules of newtot).
 */
size_t aq_eval_block_size(int h);
int aq_eval_paths(const double *y, size_t o, int h, const struct aq_eval_model *model, int combo_ref, double *block,
		  struct aq_path paths[AQ_FC_N], const double **sd, const double **sdsum);
void aq_eval_block_totals(const double *block, int h, int L, int combo_ref, double tot[AQ_FC_N][5]);

/*
 * Forecast of the served forecaster (fc, combo_ref) h days after y[0..n):
 * the ARIMA part (arima_mean, arima_sd; NULL when fc uses none) is given by
 * the caller; intervals from the ARIMA sd (normal, lower bound clipped at 0)
 * or lib/reference.h; combo averages the two paths.
 */
int aq_served_forecast(int fc, int combo_ref, const double *y, size_t n, int h, const double *arima_mean,
		       const double *arima_sd, const struct aq_path *out, struct aq_err *e);
/*
 * The same with the ARIMA part given as a path (points >= 0 and bounds, e.g.
 * the back-transformed quantiles of a transformed row, aq_model_forecast_path;
 * NULL when fc uses none). out may not alias arima.
 */
int aq_served_forecast_path(int fc, int combo_ref, const double *y, size_t n, int h, const struct aq_path *arima,
			    const struct aq_path *out, struct aq_err *e);

/*
 * Champion/challenger on the same new days, per account: the challenger
 * replaces the champion when its MAE is lower by at least replace_margin
 * (relative; default 0.02). It is "worse" when its MAE is higher by more
 * than worse_margin (default 0.05). The set is promoted when (1) the mean
 * MASE of the challenger over the accounts scored by both is at most the
 * champion's times (1 + agg_tolerance) (default 0: no worse), and (2) the
 * share of worse accounts is at most max_worse_share (default 0.35).
 */
struct aq_gate_opts {
	double replace_margin, worse_margin, agg_tolerance, max_worse_share;
};
void aq_gate_opts_default(struct aq_gate_opts *o);

struct aq_gate_account {
	int compared;       /* both scored on >= 1 common day */
	int replace, worse;
	double champion_mae, challenger_mae;
};
void aq_gate_account_decide(double champion_mae, double challenger_mae, const struct aq_gate_opts *o,
			    struct aq_gate_account *out);

struct aq_gate {
	long compared, replace, worse;
	double champion_mase_mean, challenger_mase_mean;
	double worse_share;
	int agg_ok, share_ok, promoted;
};
/* Fold per-account MASE pairs (NaN = not compared) into the decision. */
void aq_gate_decide(const double *champion_mase, const double *challenger_mase, const struct aq_gate_account *acc,
		    size_t n, const struct aq_gate_opts *o, struct aq_gate *g);

#endif
