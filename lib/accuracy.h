/* accuracy.h — per-account accuracy of the served forecaster, read from an evaluation's metrics dataset. */
#ifndef AQ_ACCURACY_H
#define AQ_ACCURACY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * From E/metrics (docs/formats.md, aquacast.metrics v1): for each account
 * the rows of its Served forecaster, scope "new" (the days after training)
 * and "backtest" (the rolling windows pooled). Sorted by account.
 */
struct aq_accuracy {
	int64_t account;
	char served[24];
	int n_new, n_backtest;
	double mae_new, mase_new, wape_new;
	double mae_backtest, mase_backtest, wape_backtest, cov80_backtest, cov95_backtest;
};

int aq_accuracy_read(const char *metrics_dir, struct aq_accuracy **out, size_t *n, struct aq_err *e);
const struct aq_accuracy *aq_accuracy_find(const struct aq_accuracy *a, size_t n, int64_t account);

#endif
