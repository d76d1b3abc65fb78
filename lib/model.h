/* model.h — the model set: one row per account (order, coefficients, filter state, cleaning rule), as Parquet shards. */
#ifndef AQ_MODEL_H
#define AQ_MODEL_H

/*
 * A model set is a dataset (lib/dataset.h) of kind "models" with the same P
 * (and so the same part of every account) as the readings it was trained
 * on. aquacast-train writes one file per part, "<key>-train.parquet", into
 * a fresh directory per run; a model set is never modified in place —
 * evaluate writes a new set (copy rows, change Served/ServedMargin,
 * aq_model_write_part into the new set). Schema "aquacast.models" v2,
 * columns in this order (docs/formats.md, section "Model sets"):
 *
 *   AccountOID INT64, Status STRING (ok|fallback|failed), Reason STRING,
 *   Spec STRING ("ARIMA(1,0,1)(0,0,1)[7] with non-zero mean", "MEAN" for a
 *   fallback), p d q P D Q s Constant INT32, Coef BYTES (ncoef LE doubles,
 *   arima.h layout), Sigma2 LogLik AICc DOUBLE, FirstDate TrainedUntil
 *   DATE, NObs N INT32, FitSeconds DOUBLE, State BYTES (LE doubles, opaque
 *   aq_arima_state.v), StateT INT64, CleanRule STRING (JSON), Recent BYTES
 *   (28 LE doubles: cleaned values of the last 28 days up to TrainedUntil,
 *   NaN = missing), Served STRING, ServedMargin DOUBLE, Calib BYTES (v2:
 *   AQ_CAL_NVALUES LE doubles, the calibrated quantiles of lib/calib.h set
 *   by evaluate; empty = not calibrated, Gaussian intervals), Lambda
 *   LambdaShift DOUBLE (v3: the transform the ARIMA was fitted on,
 *   lib/boxcox.h: Box–Cox of x + LambdaShift; Lambda NaN = none). v1 files
 *   (no Calib) are read as not calibrated, v1 and v2 files (no Lambda) as
 *   not transformed.
 *
 * A transformed row (Lambda finite) holds coefficients, Sigma2 and State on
 * the transformed scale; every forecast from the row is back-transformed
 * (aq_model_forecast*), and the new days of an update are transformed
 * before they are filtered (aq_model_row_update).
 *
 * Fallback rows (Status fallback, or failed) have Spec "MEAN": p=d=q=P=D=Q=s=0,
 * Constant 1, Coef = {mean}, Sigma2 the variance of the data (0 for
 * constant/all-zero series), empty State: their forecast is the mean with
 * a constant standard deviation sqrt(Sigma2) (white noise).
 */

#include <stddef.h>
#include <stdint.h>

#include "arima.h"
#include "boxcox.h"
#include "calib.h"
#include "dataset.h"
#include "err.h"
#include "parquet.h"

#define AQ_MODEL_RECENT 28

extern const struct aq_pq_schema aq_models_schema;

enum aq_model_status { AQ_MODEL_OK = 0, AQ_MODEL_FALLBACK, AQ_MODEL_FAILED };

const char *aq_model_status_name(enum aq_model_status s);
int aq_model_status_parse(const char *s, enum aq_model_status *out);

struct aq_model_row {
	int64_t account;
	enum aq_model_status status;
	char *reason;                  /* "" when ok */
	char *spec_str;
	struct aq_arima_spec spec;
	int ncoef;
	double *coef;
	double sigma2, loglik, aicc;
	int32_t first_date;            /* date of the first fitted day */
	int32_t trained_until;         /* last day the model has seen (state end) */
	int32_t nobs, n;               /* non-missing / calendar days fitted */
	double fit_seconds;
	int nstate;
	double *state;
	int64_t state_t;
	char *clean_rule;
	double recent[AQ_MODEL_RECENT];
	char *served;                  /* "arima" unless evaluate chose otherwise */
	double served_margin;          /* NaN until evaluated */
	struct aq_cal cal;             /* calibrated intervals (cal.ok = 0: none, Gaussian) */
	struct aq_bc bc;               /* transform of the ARIMA's scale (bc.lambda NaN: none) */
};

void aq_model_row_init(struct aq_model_row *r);
void aq_model_row_release(struct aq_model_row *r);
int aq_model_row_copy(struct aq_model_row *dst, const struct aq_model_row *src, struct aq_err *e);
/* Replace a string field (reason, spec_str, clean_rule, served) with a copy of s. */
int aq_model_row_set_str(char **field, const char *s, struct aq_err *e);

/* Fill the ARIMA part of r (spec, Spec string, coef, sigma2, loglik, aicc, state) from m. */
int aq_model_row_from_arima(struct aq_model_row *r, const struct aq_arima_model *m, struct aq_err *e);
/* Rebuild an ARIMA model (with state, ready for aq_arima_update/forecast) from an ARIMA row. */
int aq_model_row_to_arima(const struct aq_model_row *r, struct aq_arima_model *m, struct aq_err *e);
/* Make r a mean fallback: Spec "MEAN", coef {mean}, sigma2, status and reason. */
int aq_model_row_set_mean(struct aq_model_row *r, double mean, double sigma2, enum aq_model_status st,
			  const char *reason, struct aq_err *e);
/* 1 when r carries an ARIMA model with a usable state. */
int aq_model_row_is_arima(const struct aq_model_row *r);

/*
 * Forecast h days after TrainedUntil from a row, whatever its kind: ARIMA
 * rows through aq_arima_forecast, mean rows as white noise. Never NaN: an
 * ARIMA failure or non-finite output falls back to the mean of Recent.
 * Unclipped; aq_model_clip() applies the water rule. A transformed row
 * (bc) gives its Gaussian approximation on the original scale: mean = the
 * bias-adjusted mean (lib/boxcox.h), sd = the delta-method sd g'(mu) sd_z;
 * the total: the sum of the means and the sd of aq_bc_total. Its exact
 * quantiles and median are aq_model_forecast_path's.
 */
int aq_model_forecast(const struct aq_model_row *r, int h, double *mean, double *sd, struct aq_err *e);
/* Sum over days [from, to) ahead and its standard deviation, same rules. */
int aq_model_forecast_total(const struct aq_model_row *r, int from, int to, double *sum, double *sd,
			    struct aq_err *e);
/* aq_model_forecast over h days and aq_model_forecast_total over [from, h), in one pass (serving). */
int aq_model_forecast_window(const struct aq_model_row *r, int h, int from, double *mean, double *sd, double *sum,
			     double *sdsum, struct aq_err *e);
/*
 * The row's own forecast as a path (what serving shows for Served arima):
 * untransformed rows the Gaussian mean -/+ z sd clipped at 0 and the total
 * Gaussian with the sd of the sum; transformed rows the median as the point,
 * the back-transformed quantiles as bounds, the total from aq_bc_total
 * (its mean, the lognormal bounds). Days [from, to) of h (to <= h); out:
 * 5 arrays of h days, tot = {sum, lo80, hi80, lo95, hi95}. sd, tsd (may be
 * NULL): the sd of each day (h values) and of the total — for a transformed
 * row the Gaussian equivalent of the 95 % interval, (hi95 - lo95) / (2 z95)
 * — the scale of calibrated intervals (lib/calib.h).
 */
int aq_model_forecast_path(const struct aq_model_row *r, int h, int from, int to, const struct aq_path *out,
			   double tot[5], double *sd, double *tsd, struct aq_err *e);
/*
 * Filter k new days (original scale, NaN = missing) through the ARIMA m of
 * row r (aq_model_row_to_arima): transformed first when r is.
 */
int aq_model_row_update(const struct aq_model_row *r, struct aq_arima_model *m, const double *v, size_t k,
			struct aq_err *e);

/*
 * Interval [lo, hi] of a Gaussian forecast at coverage `level` (0.8, 0.95),
 * clipped at 0 (consumption is never negative); the point forecast is
 * clipped too (*mean = max(mean, 0)).
 */
void aq_model_clip(double *mean, double sd, double level, double *lo, double *hi);
/* The normal quantiles of the 80 % and 95 % intervals, qnorm(0.9) and qnorm(0.975). */
#define AQ_Z80 1.2815515655446004
#define AQ_Z95 1.959963984540054
/* The same with z = aq_qnorm(0.5 + level / 2) given (computed once by a caller that clips many values). */
void aq_model_clip_z(double *mean, double sd, double z, double *lo, double *hi);


/* All rows of one part, sorted by account. */
struct aq_model_part {
	size_t n, cap;
	struct aq_model_row *rows;
};

void aq_model_part_init(struct aq_model_part *p);
void aq_model_part_release(struct aq_model_part *p);
/* Append a row (moved: src is left initialised and empty). */
int aq_model_part_push(struct aq_model_part *p, struct aq_model_row *src, struct aq_err *e);
void aq_model_part_sort(struct aq_model_part *p);
/* Binary search in a sorted part; NULL when absent. */
struct aq_model_row *aq_model_part_find(const struct aq_model_part *p, int64_t account);

/* Write rows (any order; sorted on write) as one batch file of the part: "<key>-<label>.parquet". */
int aq_model_write_part(const struct aq_dataset *ds, int part, uint64_t key, const char *label,
			const struct aq_model_row *rows, size_t n, const struct aq_pq_write_opts *o,
			struct aq_err *e);
int aq_model_write_file(const char *path, const struct aq_model_row *rows, size_t n,
			const struct aq_pq_write_opts *o, struct aq_err *e);
/* Read every batch of a part (a later batch wins per account), sorted by account. */
int aq_model_read_part(const struct aq_dataset *ds, int part, struct aq_model_part *out, struct aq_err *e);
/*
 * Open a model set for reading: it must be sealed (lib/manifest.h, kind
 * "models", sizes checked) and a dataset of kind "models". accounts (may be
 * NULL) = the account count its manifest records.
 */
int aq_modelset_open(struct aq_dataset *ds, const char *root, uint64_t *accounts, struct aq_err *e);
int aq_model_read_file(const char *path, struct aq_model_part *out, struct aq_err *e);

#endif
