/* accuracy.c — the served forecaster's new-data and backtest metrics per account, from a metrics dataset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accuracy.h"
#include "manifest.h"
#include "parquet.h"
#include "dataset.h"

enum { C_ACC, C_SCOPE, C_FC, C_N, C_MAE, C_MASE, C_WAPE, C_COV80, C_COV95, C_SERVED, NC };
static const char *const names[NC] = {"AccountOID", "Scope", "Forecaster", "N", "MAE",
				      "MASE", "WAPE", "Cov80", "Cov95", "Served"};

static int streq(const struct aq_pq_bytes *b, size_t i, const char *s)
{
	size_t l = b->off[i + 1] - b->off[i];
	return l == strlen(s) && !memcmp(b->data + b->off[i], s, l);
}

static int push(struct aq_accuracy **a, size_t *n, size_t *cap, int64_t account, struct aq_err *e)
{
	if (*n && (*a)[*n - 1].account == account)
		return 0;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		struct aq_accuracy *p = realloc(*a, c * sizeof *p);
		if (!p)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		*a = p;
		*cap = c;
	}
	struct aq_accuracy *x = &(*a)[(*n)++];
	memset(x, 0, sizeof *x);
	x->account = account;
	x->mae_new = x->mase_new = x->wape_new = x->mae_backtest = x->mase_backtest = NAN;
	x->wape_backtest = x->cov80_backtest = x->cov95_backtest = NAN;
	return 0;
}

static int read_group(struct aq_pq_reader *r, int g, const int *col, struct aq_accuracy **a, size_t *n, size_t *cap,
		      struct aq_err *e)
{
	size_t rows = (size_t)aq_pq_reader_rg_rows(r, g);
	int64_t *acc = malloc((rows + 1) * sizeof *acc);
	int32_t *nn = malloc((rows + 1) * sizeof *nn);
	double *d = malloc(5 * (rows + 1) * sizeof *d);
	struct aq_pq_bytes s[3];
	memset(s, 0, sizeof s);
	int rc = (!acc || !nn || !d) ? aq_err_set(e, AQ_ENOMEM, "out of memory") : 0;
	if (!rc)
		rc = aq_pq_reader_read(r, g, col[C_ACC], acc, e);
	if (!rc)
		rc = aq_pq_reader_read(r, g, col[C_N], nn, e);
	for (int k = 0; !rc && k < 5; k++)
		rc = aq_pq_reader_read(r, g, col[C_MAE + k], d + (size_t)k * rows, e);
	for (int k = 0; !rc && k < 3; k++)
		rc = aq_pq_reader_read(r, g, col[k == 0 ? C_SCOPE : k == 1 ? C_FC : C_SERVED], &s[k], e);
	for (size_t i = 0; !rc && i < rows; i++) {
		if (!(rc = push(a, n, cap, acc[i], e))) {
			struct aq_accuracy *x = &(*a)[*n - 1];
			size_t sl = s[2].off[i + 1] - s[2].off[i];
			if (sl < sizeof x->served) {
				memcpy(x->served, s[2].data + s[2].off[i], sl);
				x->served[sl] = 0;
			}
			if (!streq(&s[1], i, x->served))
				continue;
			if (streq(&s[0], i, "new")) {
				x->n_new = nn[i];
				x->mae_new = d[i], x->mase_new = d[rows + i], x->wape_new = d[2 * rows + i];
			} else if (streq(&s[0], i, "backtest")) {
				x->n_backtest = nn[i];
				x->mae_backtest = d[i], x->mase_backtest = d[rows + i], x->wape_backtest = d[2 * rows + i];
				x->cov80_backtest = d[3 * rows + i], x->cov95_backtest = d[4 * rows + i];
			}
		}
	}
	for (int k = 0; k < 3; k++)
		aq_pq_bytes_free(&s[k]);
	free(acc);
	free(nn);
	free(d);
	return rc;
}

static int read_file(const char *path, struct aq_accuracy **a, size_t *n, size_t *cap, struct aq_err *e)
{
	struct aq_pq_reader r;
	int rc = aq_pq_reader_open(&r, path, e), col[NC];
	if (rc)
		return rc;
	for (int k = 0; k < NC && !rc; k++)
		if ((col[k] = aq_pq_reader_col(&r, names[k])) < 0)
			rc = aq_err_set(e, AQ_EFORMAT, "metrics file '%s' has no column '%s'", path, names[k]);
	for (int g = 0; !rc && g < r.nrow_groups; g++)
		rc = read_group(&r, g, col, a, n, cap, e);
	aq_pq_reader_release(&r);
	return rc;
}

static int cmp(const void *x, const void *y)
{
	int64_t a = ((const struct aq_accuracy *)x)->account, b = ((const struct aq_accuracy *)y)->account;
	return (a > b) - (a < b);
}

int aq_accuracy_read(const char *metrics_dir, struct aq_accuracy **out, size_t *n, struct aq_err *e)
{
	*out = NULL;
	*n = 0;
	struct aq_dataset ds;
	int rc = aq_manifest_check(metrics_dir, "metrics", 0, NULL, e);
	if (!rc)
		rc = aq_dataset_open(&ds, metrics_dir, e);
	if (rc)
		return rc;
	size_t cap = 0;
	for (int p = 0; !rc && p < ds.parts; p++) {
		char **paths;
		int np;
		if ((rc = aq_dataset_list_part(&ds, p, &paths, &np, e)))
			break;
		for (int i = 0; !rc && i < np; i++)
			rc = read_file(paths[i], out, n, &cap, e);
		aq_paths_free(paths, np);
	}
	aq_dataset_release(&ds);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
		return rc;
	}
	qsort(*out, *n, sizeof **out, cmp);
	return 0;
}

const struct aq_accuracy *aq_accuracy_find(const struct aq_accuracy *a, size_t n, int64_t account)
{
	struct aq_accuracy key = {.account = account};
	return n ? bsearch(&key, a, n, sizeof *a, cmp) : NULL;
}
