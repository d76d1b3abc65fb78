/* forecast.h — forecast one account of a model set over a date range: the entry point of train --forecast, the pyfunc and serving. */
#ifndef AQ_FORECAST_H
#define AQ_FORECAST_H

#include <stdint.h>

#include "dataset.h"
#include "err.h"
#include "model.h"
#include "reference.h"

/*
 * A model set opened for forecasting: parts are read on first use and kept
 * (a 27,000-account set is a few MB). Forecasts start the day after the
 * account's TrainedUntil; a range [from, to] (dates, days since 1970-01-01,
 * inclusive) must start on or after that day. Values are those of
 * aquacast-train --forecast: the row's served forecast, aq_forecast_row.
 * Also the C ABI of the Python pyfunc (ctypes on libaquacast.so): plain
 * pointers and integers only.
 */
struct aq_forecaster {
	struct aq_dataset ds;
	struct aq_model_part *parts;   /* ds.parts entries */
	unsigned char *loaded;
};

struct aq_forecast_info {
	int64_t account;
	int32_t trained_until;         /* the first forecastable day is trained_until + 1 */
	int32_t status;                /* enum aq_model_status */
	char spec[96];                 /* "ARIMA(1,0,1)(0,1,1)[7]", truncated */
};

/*
 * The served forecast of one row (what serving shows), h days after
 * TrainedUntil: the row's Served forecaster (lib/evaluate.h
 * aq_served_forecast: arima, a reference from Recent, their combination or
 * the ensemble; a Served value it cannot compute is served as arima), point
 * forecasts >= 0. Intervals of each day and of the total of days [from, to)
 * (0 <= from < to <= h, ahead of TrainedUntil) are the calibrated ones of
 * lib/calib.h when the row carries Calib (F + q S, S the model's sd of the
 * day or of the total: aq_model_forecast, aq_model_forecast_total), else
 * the forecaster's own (arima: Gaussian, clipped at 0; the total: Gaussian
 * with the model's sd of the sum around the sum of the points). out: the
 * caller's 5 arrays of h days; tot = {sum, lo80, hi80, lo95, hi95}.
 */
int aq_forecast_row(const struct aq_model_row *r, int h, int from, int to, const struct aq_path *out, double tot[5],
		    struct aq_err *e);

int aq_forecaster_open(struct aq_forecaster *f, const char *set, struct aq_err *e);
void aq_forecaster_release(struct aq_forecaster *f);
/* malloc'd and opened, for ctypes (NULL on failure, e filled); aq_forecaster_free releases and frees. */
struct aq_forecaster *aq_forecaster_new(const char *set, struct aq_err *e);
void aq_forecaster_free(struct aq_forecaster *f);

/*
 * Read every part now: the in-memory index of all accounts (serving). Once
 * loaded the forecaster is read-only, so any number of threads may call
 * _info, _range, _row and _accounts on it at once.
 */
int aq_forecaster_load_all(struct aq_forecaster *f, struct aq_err *e);
/* The account's model row (valid until release); AQ_ENOTFOUND when absent. */
int aq_forecaster_row(struct aq_forecaster *f, int64_t account, const struct aq_model_row **row, struct aq_err *e);
/* After load_all: the number of accounts, and their ids into out (may be NULL), in part order. */
size_t aq_forecaster_accounts(const struct aq_forecaster *f, int64_t *out);

/* The account's row summary; AQ_ENOTFOUND when the set has no row for it. */
int aq_forecaster_info(struct aq_forecaster *f, int64_t account, struct aq_forecast_info *out, struct aq_err *e);
/*
 * Daily forecasts of [from, to]: n = to - from + 1 values into each of
 * mean, lo80, hi80, lo95, hi95 (caller's arrays); total[5] = the period's
 * sum with its intervals in the same order.
 */
int aq_forecaster_range(struct aq_forecaster *f, int64_t account, int32_t from, int32_t to, double *mean,
			double *lo80, double *hi80, double *lo95, double *hi95, double total[5], struct aq_err *e);

#endif
