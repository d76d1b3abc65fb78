/* model.c — model-set rows: schema, ARIMA (de)serialisation, forecasts from a row, Parquet write/read. */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

static const struct aq_pq_column model_cols[] = {
	{"AccountOID", AQ_PQ_INT64, AQ_PQ_NONE},
	{"Status", AQ_PQ_BYTES, AQ_PQ_STRING},
	{"Reason", AQ_PQ_BYTES, AQ_PQ_STRING},
	{"Spec", AQ_PQ_BYTES, AQ_PQ_STRING},
	{"p", AQ_PQ_INT32, AQ_PQ_NONE},
	{"d", AQ_PQ_INT32, AQ_PQ_NONE},
	{"q", AQ_PQ_INT32, AQ_PQ_NONE},
	{"P", AQ_PQ_INT32, AQ_PQ_NONE},
	{"D", AQ_PQ_INT32, AQ_PQ_NONE},
	{"Q", AQ_PQ_INT32, AQ_PQ_NONE},
	{"s", AQ_PQ_INT32, AQ_PQ_NONE},
	{"Constant", AQ_PQ_INT32, AQ_PQ_NONE},
	{"Coef", AQ_PQ_BYTES, AQ_PQ_NONE},
	{"Sigma2", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"LogLik", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"AICc", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"FirstDate", AQ_PQ_INT32, AQ_PQ_DATE},
	{"TrainedUntil", AQ_PQ_INT32, AQ_PQ_DATE},
	{"NObs", AQ_PQ_INT32, AQ_PQ_NONE},
	{"N", AQ_PQ_INT32, AQ_PQ_NONE},
	{"FitSeconds", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"State", AQ_PQ_BYTES, AQ_PQ_NONE},
	{"StateT", AQ_PQ_INT64, AQ_PQ_NONE},
	{"CleanRule", AQ_PQ_BYTES, AQ_PQ_STRING},
	{"Recent", AQ_PQ_BYTES, AQ_PQ_NONE},
	{"Served", AQ_PQ_BYTES, AQ_PQ_STRING},
	{"ServedMargin", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"Calib", AQ_PQ_BYTES, AQ_PQ_NONE},
	{"Lambda", AQ_PQ_DOUBLE, AQ_PQ_NONE},
	{"LambdaShift", AQ_PQ_DOUBLE, AQ_PQ_NONE},
};

enum {
	C_ACCOUNT, C_STATUS, C_REASON, C_SPEC, C_P, C_D, C_Q, C_SP, C_SD, C_SQ, C_S, C_CONST, C_COEF,
	C_SIGMA2, C_LOGLIK, C_AICC, C_FIRST, C_UNTIL, C_NOBS, C_N, C_FITSEC, C_STATE, C_STATET, C_RULE,
	C_RECENT, C_SERVED, C_MARGIN, C_CALIB, C_LAMBDA, C_LSHIFT, C_NCOLS
};

const struct aq_pq_schema aq_models_schema = {
	"aquacast.models", 3, C_NCOLS, model_cols,
};
/* v2: the same columns without Lambda, LambdaShift (read as not transformed) */
static const struct aq_pq_schema models_v2_schema = {
	"aquacast.models", 2, C_LAMBDA, model_cols,
};
/* v1: the same columns without Calib (read as not calibrated) */
static const struct aq_pq_schema models_v1_schema = {
	"aquacast.models", 1, C_CALIB, model_cols,
};

static const char *status_names[] = {"ok", "fallback", "failed"};

const char *aq_model_status_name(enum aq_model_status s)
{
	return (unsigned)s < 3 ? status_names[s] : "failed";
}

int aq_model_status_parse(const char *s, enum aq_model_status *out)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum aq_model_status)i;
			return 0;
		}
	return AQ_EFORMAT;
}

void aq_model_row_init(struct aq_model_row *r)
{
	memset(r, 0, sizeof *r);
	r->sigma2 = r->loglik = r->aicc = NAN;
	r->served_margin = NAN;
	r->bc = aq_bc_none();
	for (int i = 0; i < AQ_MODEL_RECENT; i++)
		r->recent[i] = NAN;
}

void aq_model_row_release(struct aq_model_row *r)
{
	free(r->reason);
	free(r->spec_str);
	free(r->coef);
	free(r->state);
	free(r->clean_rule);
	free(r->served);
	aq_model_row_init(r);
}

int aq_model_row_set_str(char **field, const char *s, struct aq_err *e)
{
	char *c = strdup(s ? s : "");
	if (!c)
		return aq_err_set(e, AQ_ENOMEM, "cannot copy string");
	free(*field);
	*field = c;
	return 0;
}

static int dup_doubles(double **dst, const double *src, int n, struct aq_err *e)
{
	*dst = NULL;
	if (n <= 0)
		return 0;
	*dst = malloc((size_t)n * sizeof **dst);
	if (!*dst)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate %d doubles", n);
	memcpy(*dst, src, (size_t)n * sizeof **dst);
	return 0;
}

int aq_model_row_copy(struct aq_model_row *dst, const struct aq_model_row *src, struct aq_err *e)
{
	*dst = *src;
	dst->reason = dst->spec_str = dst->clean_rule = dst->served = NULL;
	dst->coef = dst->state = NULL;
	int rc = 0;
	if ((src->reason && (rc = aq_model_row_set_str(&dst->reason, src->reason, e))) ||
	    (src->spec_str && (rc = aq_model_row_set_str(&dst->spec_str, src->spec_str, e))) ||
	    (src->clean_rule && (rc = aq_model_row_set_str(&dst->clean_rule, src->clean_rule, e))) ||
	    (src->served && (rc = aq_model_row_set_str(&dst->served, src->served, e))) ||
	    (rc = dup_doubles(&dst->coef, src->coef, src->ncoef, e)) ||
	    (rc = dup_doubles(&dst->state, src->state, src->nstate, e))) {
		aq_model_row_release(dst);
		return rc;
	}
	return 0;
}

int aq_model_row_from_arima(struct aq_model_row *r, const struct aq_arima_model *m, struct aq_err *e)
{
	char buf[128];
	int rc = aq_model_row_set_str(&r->spec_str, aq_arima_spec_str(&m->spec, buf, sizeof buf), e);
	if (rc)
		return rc;
	free(r->coef);
	free(r->state);
	r->coef = r->state = NULL;
	r->spec = m->spec;
	r->ncoef = m->ncoef;
	if ((rc = dup_doubles(&r->coef, m->coef, m->ncoef, e)))
		return rc;
	r->nstate = m->state.len;
	if ((rc = dup_doubles(&r->state, m->state.v, m->state.len, e)))
		return rc;
	r->state_t = m->state.t;
	r->sigma2 = m->sigma2;
	r->loglik = m->loglik;
	r->aicc = m->aicc;
	r->nobs = m->nobs;
	r->n = m->n;
	return 0;
}

int aq_model_row_is_arima(const struct aq_model_row *r)
{
	return r->spec_str && strncmp(r->spec_str, "ARIMA", 5) == 0 && r->nstate > 0 && r->state;
}

int aq_model_row_to_arima(const struct aq_model_row *r, struct aq_arima_model *m, struct aq_err *e)
{
	if (!aq_model_row_is_arima(r))
		return aq_err_set(e, AQ_EINVAL, "account %lld has no ARIMA model (spec '%s')", (long long)r->account,
				  r->spec_str ? r->spec_str : "");
	if (aq_arima_ncoef(&r->spec) != r->ncoef)
		return aq_err_set(e, AQ_EFORMAT, "account %lld: %d coefficients for '%s'", (long long)r->account,
				  r->ncoef, r->spec_str);
	aq_arima_model_release(m);
	aq_arima_model_init(m);
	m->spec = r->spec;
	m->ncoef = r->ncoef;
	int rc;
	if ((rc = dup_doubles(&m->coef, r->coef, r->ncoef, e)) ||
	    (rc = dup_doubles(&m->state.v, r->state, r->nstate, e))) {
		aq_arima_model_release(m);
		return rc;
	}
	m->state.len = r->nstate;
	m->state.t = r->state_t;
	m->sigma2 = r->sigma2;
	m->loglik = r->loglik;
	m->aicc = r->aicc;
	m->nobs = r->nobs;
	m->n = r->n;
	m->converged = 1;
	return 0;
}

int aq_model_row_set_mean(struct aq_model_row *r, double mean, double sigma2, enum aq_model_status st,
			  const char *reason, struct aq_err *e)
{
	int rc;
	if ((rc = aq_model_row_set_str(&r->spec_str, "MEAN", e)) ||
	    (rc = aq_model_row_set_str(&r->reason, reason, e)))
		return rc;
	free(r->coef);
	free(r->state);
	r->state = NULL;
	r->nstate = 0;
	r->state_t = 0;
	r->coef = malloc(sizeof *r->coef);
	if (!r->coef)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate coefficient");
	r->coef[0] = isfinite(mean) ? mean : 0;
	r->ncoef = 1;
	memset(&r->spec, 0, sizeof r->spec);
	r->spec.constant = 1;
	r->sigma2 = isfinite(sigma2) && sigma2 >= 0 ? sigma2 : 0;
	r->loglik = r->aicc = NAN;
	r->status = st;
	r->bc = aq_bc_none();   /* a mean is on the readings' scale */
	return 0;
}

/* Mean and variance of the finite Recent values (the last-resort forecast). */
static void recent_moments(const struct aq_model_row *r, double *mean, double *var)
{
	double s = 0, ss = 0;
	int k = 0;
	for (int i = 0; i < AQ_MODEL_RECENT; i++)
		if (isfinite(r->recent[i])) {
			s += r->recent[i];
			ss += r->recent[i] * r->recent[i];
			k++;
		}
	*mean = k ? s / k : 0;
	*var = k > 1 ? fmax(0, (ss - k * *mean * *mean) / (k - 1)) : 0;
}

static void mean_model(const struct aq_model_row *r, double *mu, double *var)
{
	if (!aq_model_row_is_arima(r) && r->ncoef >= 1 && r->coef && isfinite(r->coef[0]) &&
	    isfinite(r->sigma2)) {
		*mu = r->coef[0];
		*var = r->sigma2;
	} else {
		recent_moments(r, mu, var);
	}
}

/* 1 when r is an ARIMA row fitted on a transformed scale. */
static int row_bc(const struct aq_model_row *r)
{
	return aq_bc_active(&r->bc) && aq_model_row_is_arima(r);
}

/* The ARIMA of the row and its z-scale forecast mu, sd over h days (finite), or an error. */
static int arima_z(const struct aq_model_row *r, int h, struct aq_arima_model *m, double *mu, double *sd,
		   struct aq_err *e)
{
	aq_arima_model_init(m);
	int rc = aq_model_row_to_arima(r, m, e);
	if (!rc)
		rc = aq_arima_forecast(m, h, mu, sd, e);
	for (int i = 0; !rc && i < h; i++)
		if (!isfinite(mu[i]) || !isfinite(sd[i]))
			rc = aq_err_set(e, AQ_ENUMERIC, "non-finite forecast");
	if (rc)
		aq_arima_model_release(m);
	return rc;
}

/*
 * Transformed row: days (Gaussian approximation, model.h) and, when to > from, the total of [from, to).
 * mean/sd may be NULL (total only). Returns non-zero when the model cannot forecast.
 */
static int bc_forecast(const struct aq_model_row *r, int h, double *mean, double *sd, int from, int to, double *sum,
		       double *sdsum)
{
	struct aq_err e2 = {0};
	double *mu = malloc(2 * (size_t)h * sizeof *mu), *sz = mu ? mu + h : NULL;
	if (!mu)
		return AQ_ENOMEM;
	struct aq_arima_model m;
	int rc = arima_z(r, h, &m, mu, sz, &e2);
	if (rc) {
		free(mu);
		return rc;
	}
	for (int i = 0; mean && i < h; i++) {
		mean[i] = aq_bc_mean(&r->bc, mu[i], sz[i] * sz[i]);
		sd[i] = aq_bc_dinv(&r->bc, mu[i]) * sz[i];
	}
	if (to > from) {
		double tot[5];
		rc = aq_bc_total(&r->bc, &m, mu, sz, from, to, tot, sdsum, NULL, &e2);
		*sum = tot[0];
		if (!rc && (!isfinite(*sum) || !isfinite(*sdsum)))
			rc = AQ_ENUMERIC;
	}
	aq_arima_model_release(&m);
	free(mu);
	return rc;
}

/*
 * The row's ARIMA forecast (on the row's scale: bc_forecast for a
 * transformed row): days [0, h) into mean, sd (NULL: not wanted) and the
 * total of days [from, to) into sum, sdsum (NULL: not wanted; both wanted:
 * to == h, one Kalman pass). 0 when the row is an ARIMA row, its model
 * rebuilds and every value asked for is finite; else nonzero, and the
 * caller serves the mean model (mean_days, mean_total).
 */
static int arima_of_row(const struct aq_model_row *r, int h, int from, int to, double *mean, double *sd, double *sum,
			double *sdsum)
{
	if (!aq_model_row_is_arima(r))
		return AQ_EINVAL;
	if (row_bc(r))
		return bc_forecast(r, h, mean, sd, sum ? from : 0, sum ? to : 0, sum, sdsum);
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	struct aq_err e2 = {0};
	int rc = aq_model_row_to_arima(r, &m, &e2);
	if (!rc && mean && sum)
		rc = aq_arima_forecast_window(&m, h, from, mean, sd, sum, sdsum, &e2);
	else if (!rc && mean)
		rc = aq_arima_forecast(&m, h, mean, sd, &e2);
	else if (!rc)
		rc = aq_arima_forecast_total(&m, from, to, sum, sdsum, &e2);
	aq_arima_model_release(&m);
	for (int i = 0; !rc && mean && i < h; i++)
		if (!isfinite(mean[i]) || !isfinite(sd[i]))
			rc = AQ_ENUMERIC;
	if (!rc && sum && (!isfinite(*sum) || !isfinite(*sdsum)))
		rc = AQ_ENUMERIC;
	return rc;
}

/* The mean model's days (white noise) and total of to - from days. */
static void mean_days(const struct aq_model_row *r, int h, double *mean, double *sd)
{
	double mu, var;
	mean_model(r, &mu, &var);
	for (int i = 0; i < h; i++) {
		mean[i] = mu;
		sd[i] = sqrt(var);
	}
}

static void mean_total(const struct aq_model_row *r, int from, int to, double *sum, double *sd)
{
	double mu, var;
	mean_model(r, &mu, &var);
	*sum = mu * (to - from);
	*sd = sqrt(var * (to - from));
}

int aq_model_forecast(const struct aq_model_row *r, int h, double *mean, double *sd, struct aq_err *e)
{
	if (h <= 0)
		return aq_err_set(e, AQ_EINVAL, "forecast horizon %d is not positive", h);
	if (arima_of_row(r, h, 0, h, mean, sd, NULL, NULL))
		mean_days(r, h, mean, sd);
	return 0;
}

int aq_model_forecast_total(const struct aq_model_row *r, int from, int to, double *sum, double *sd,
			    struct aq_err *e)
{
	if (from < 0 || to <= from)
		return aq_err_set(e, AQ_EINVAL, "bad forecast period [%d, %d)", from, to);
	if (arima_of_row(r, to, from, to, NULL, NULL, sum, sd))
		mean_total(r, from, to, sum, sd);
	return 0;
}

int aq_model_forecast_window(const struct aq_model_row *r, int h, int from, double *mean, double *sd, double *sum,
			     double *sdsum, struct aq_err *e)
{
	if (from < 0 || h <= from)
		return aq_err_set(e, AQ_EINVAL, "bad forecast period [%d, %d)", from, h);
	if (arima_of_row(r, h, from, h, mean, sd, sum, sdsum)) {   /* each as the two calls would give it */
		if (arima_of_row(r, h, 0, h, mean, sd, NULL, NULL))
			mean_days(r, h, mean, sd);
		if (arima_of_row(r, h, from, h, NULL, NULL, sum, sdsum))
			mean_total(r, from, h, sum, sdsum);
	}
	return 0;
}


int aq_model_forecast_path(const struct aq_model_row *r, int h, int from, int to, const struct aq_path *out,
			   double tot[5], double *sd, double *tsd, struct aq_err *e)
{
	if (h <= 0 || from < 0 || to <= from || to > h)
		return aq_err_set(e, AQ_EINVAL, "bad forecast period [%d, %d) of %d days", from, to, h);
	if (row_bc(r)) {
		double *mu = malloc(2 * (size_t)h * sizeof *mu), *sz = mu ? mu + h : NULL, ts;
		if (!mu)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		struct aq_arima_model m;
		struct aq_err e2 = {0};
		int rc = arima_z(r, h, &m, mu, sz, &e2);
		if (!rc) {
			aq_bc_path(&r->bc, mu, sz, h, 0, out);
			rc = aq_bc_total(&r->bc, &m, mu, sz, from, to, tot, &ts, NULL, &e2);
			aq_arima_model_release(&m);
		}
		free(mu);
		if (!rc && isfinite(tot[0]) && isfinite(tot[4])) {
			for (int i = 0; sd && i < h; i++)
				sd[i] = (out->hi95[i] - out->lo95[i]) / (2 * AQ_Z95);
			if (tsd)
				*tsd = (tot[4] - tot[3]) / (2 * AQ_Z95);
			return 0;
		}
		/* the model cannot forecast: the fallback of aq_model_forecast below (Gaussian) */
	}
	double *m = malloc(2 * (size_t)h * sizeof *m), *s = m ? m + h : NULL, tsum, ts;
	if (!m)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	int rc;
	if (row_bc(r)) {   /* only after a failure above: the mean of Recent */
		struct aq_model_row plain = *r;
		plain.bc = aq_bc_none();
		plain.nstate = 0;   /* not an ARIMA nor a MEAN row (coef is z-scale): the mean of Recent */
		plain.ncoef = 0;
		rc = aq_model_forecast(&plain, h, m, s, e);
		if (!rc)
			rc = aq_model_forecast_total(&plain, from, to, &tsum, &ts, e);
	} else if (to == h) {
		rc = aq_model_forecast_window(r, h, from, m, s, &tsum, &ts, e);
	} else if (!(rc = aq_model_forecast(r, h, m, s, e))) {
		rc = aq_model_forecast_total(r, from, to, &tsum, &ts, e);
	}
	if (!rc) {
		double F = 0, z80 = aq_qnorm(0.9);
		for (int i = 0; i < h; i++) {
			out->mean[i] = m[i];
			aq_model_clip_z(&out->mean[i], s[i], z80, &out->lo80[i], &out->hi80[i]);
			double m2 = m[i];
			aq_model_clip_z(&m2, s[i], AQ_Z95, &out->lo95[i], &out->hi95[i]);
			if (sd)
				sd[i] = s[i];
			if (i >= from && i < to)
				F += out->mean[i];
		}
		tot[0] = F;
		double F2 = F;
		aq_model_clip_z(&F2, ts, z80, &tot[1], &tot[2]);
		F2 = F;
		aq_model_clip_z(&F2, ts, AQ_Z95, &tot[3], &tot[4]);
		if (tsd)
			*tsd = ts;
	}
	free(m);
	return rc;
}

int aq_model_row_update(const struct aq_model_row *r, struct aq_arima_model *m, const double *v, size_t k,
			struct aq_err *e)
{
	if (!aq_bc_active(&r->bc))
		return aq_arima_update(m, v, k, e);
	double *z = malloc((k ? k : 1) * sizeof *z);
	if (!z)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate %zu days", k);
	aq_bc_apply(&r->bc, v, k, z);
	int rc = aq_arima_update(m, z, k, e);
	free(z);
	return rc;
}

void aq_model_clip(double *mean, double sd, double level, double *lo, double *hi)
{
	aq_model_clip_z(mean, sd, aq_qnorm(0.5 + level / 2), lo, hi);
}

void aq_model_clip_z(double *mean, double sd, double z, double *lo, double *hi)
{
	double m = *mean;
	*lo = fmax(0, m - z * sd);
	*hi = fmax(0, m + z * sd);
	*mean = fmax(0, m);
}

/* ------------------------------------------------------------------ parts */

void aq_model_part_init(struct aq_model_part *p)
{
	memset(p, 0, sizeof *p);
}

void aq_model_part_release(struct aq_model_part *p)
{
	for (size_t i = 0; i < p->n; i++)
		aq_model_row_release(&p->rows[i]);
	free(p->rows);
	aq_model_part_init(p);
}

int aq_model_part_push(struct aq_model_part *p, struct aq_model_row *src, struct aq_err *e)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct aq_model_row *r = realloc(p->rows, cap * sizeof *r);
		if (!r)
			return aq_err_set(e, AQ_ENOMEM, "cannot grow model rows to %zu", cap);
		p->rows = r;
		p->cap = cap;
	}
	p->rows[p->n++] = *src;
	aq_model_row_init(src);
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct aq_model_row *x = a, *y = b;
	return (x->account > y->account) - (x->account < y->account);
}

void aq_model_part_sort(struct aq_model_part *p)
{
	if (p->n > 1)
		qsort(p->rows, p->n, sizeof *p->rows, cmp_row);
}

struct aq_model_row *aq_model_part_find(const struct aq_model_part *p, int64_t account)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->rows[mid].account < account)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n && p->rows[lo].account == account ? &p->rows[lo] : NULL;
}

/* ------------------------------------------------------------------ parquet */

/* Little-endian doubles into a byte buffer (the machines aquacast runs on are LE; this is explicit anyway). */
static void put_le_doubles(uint8_t *dst, const double *v, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t u;
		memcpy(&u, &v[i], 8);
		for (int b = 0; b < 8; b++)
			dst[8 * i + b] = (uint8_t)(u >> (8 * b));
	}
}

static void get_le_doubles(double *v, const uint8_t *src, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t u = 0;
		for (int b = 0; b < 8; b++)
			u |= (uint64_t)src[8 * i + b] << (8 * b);
		memcpy(&v[i], &u, 8);
	}
}

struct bytes_col {
	uint8_t *data;
	uint64_t *off;
	size_t len, cap;
};

static int bc_add(struct bytes_col *c, size_t i, const void *p, size_t len, int le_doubles)
{
	if (c->len + len > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + len)
			cap *= 2;
		uint8_t *d = realloc(c->data, cap);
		if (!d)
			return AQ_ENOMEM;
		c->data = d;
		c->cap = cap;
	}
	if (le_doubles)
		put_le_doubles(c->data + c->len, p, (int)(len / 8));
	else if (len)
		memcpy(c->data + c->len, p, len);
	c->len += len;
	c->off[i + 1] = c->len;
	return 0;
}

#define NBYTECOLS 10

int aq_model_write_file(const char *path, const struct aq_model_row *rows, size_t n,
			const struct aq_pq_write_opts *o, struct aq_err *e)
{
	struct aq_pq_writer w;
	int rc = aq_pq_writer_open(&w, path, &aq_models_schema, o, e);
	if (rc)
		return rc;
	const size_t rg = 1 << 20;
	int32_t *i32[10] = {0};
	int64_t *acc = NULL, *st = NULL;
	double *dbl[7] = {0};
	struct bytes_col bc[NBYTECOLS];
	memset(bc, 0, sizeof bc);
	size_t cap = n < rg ? n : rg;
	if (cap == 0)
		cap = 1;
	int oom = 0;
	for (int i = 0; i < 10; i++)
		oom |= !(i32[i] = malloc(cap * sizeof(int32_t)));
	for (int i = 0; i < 7; i++)
		oom |= !(dbl[i] = malloc(cap * sizeof(double)));
	for (int i = 0; i < NBYTECOLS; i++)
		oom |= !(bc[i].off = malloc((cap + 1) * sizeof(uint64_t)));
	oom |= !(acc = malloc(cap * sizeof *acc)) || !(st = malloc(cap * sizeof *st));
	if (oom) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate model columns");
		goto fail;
	}
	for (size_t r0 = 0; r0 < n || (n == 0 && r0 == 0); r0 += rg) {
		size_t m = n - r0 < rg ? n - r0 : rg;
		for (int i = 0; i < NBYTECOLS; i++) {
			bc[i].len = 0;
			bc[i].off[0] = 0;
		}
		for (size_t j = 0; j < m; j++) {
			const struct aq_model_row *r = &rows[r0 + j];
			acc[j] = r->account;
			const char *status = aq_model_status_name(r->status);
			const char *s[5] = {status, r->reason ? r->reason : "", r->spec_str ? r->spec_str : "",
					    r->clean_rule ? r->clean_rule : "", r->served ? r->served : "arima"};
			int sc[5] = {0, 1, 2, 6, 8};
			for (int k = 0; k < 5; k++)
				if (bc_add(&bc[sc[k]], j, s[k], strlen(s[k]), 0))
					goto oomrow;
			if (bc_add(&bc[3], j, r->coef, (size_t)r->ncoef * 8, 1) ||
			    bc_add(&bc[4], j, r->state, (size_t)r->nstate * 8, 1) ||
			    bc_add(&bc[5], j, r->recent, AQ_MODEL_RECENT * 8, 1))
				goto oomrow;
			bc[7].off[j + 1] = 0;   /* slot 7 unused */
			if (bc_add(&bc[9], j, r->cal.q, r->cal.ok ? AQ_CAL_NVALUES * 8 : 0, 1))
				goto oomrow;
			i32[0][j] = r->spec.p;
			i32[1][j] = r->spec.d;
			i32[2][j] = r->spec.q;
			i32[3][j] = r->spec.P;
			i32[4][j] = r->spec.D;
			i32[5][j] = r->spec.Q;
			i32[6][j] = r->spec.s;
			i32[7][j] = r->spec.constant;
			i32[8][j] = r->first_date;
			i32[9][j] = r->trained_until;
			dbl[0][j] = r->sigma2;
			dbl[1][j] = r->loglik;
			dbl[2][j] = r->aicc;
			dbl[3][j] = r->fit_seconds;
			dbl[4][j] = r->served_margin;
			dbl[5][j] = aq_bc_active(&r->bc) ? r->bc.lambda : NAN;
			dbl[6][j] = aq_bc_active(&r->bc) ? r->bc.shift : 0;
			st[j] = r->state_t;
			continue;
oomrow:
			rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate model byte columns");
			goto fail;
		}
		int32_t *nobs = malloc((m ? m : 1) * sizeof *nobs), *nn = malloc((m ? m : 1) * sizeof *nn);
		if (!nobs || !nn) {
			free(nobs);
			free(nn);
			rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate model columns");
			goto fail;
		}
		for (size_t j = 0; j < m; j++) {
			nobs[j] = rows[r0 + j].nobs;
			nn[j] = rows[r0 + j].n;
		}
		struct aq_pq_bytes pb[NBYTECOLS];
		for (int i = 0; i < NBYTECOLS; i++) {
			pb[i].data = bc[i].data;
			pb[i].off = bc[i].off;
		}
		const void *cols[C_NCOLS] = {
			[C_ACCOUNT] = acc, [C_STATUS] = &pb[0], [C_REASON] = &pb[1], [C_SPEC] = &pb[2],
			[C_P] = i32[0], [C_D] = i32[1], [C_Q] = i32[2], [C_SP] = i32[3], [C_SD] = i32[4],
			[C_SQ] = i32[5], [C_S] = i32[6], [C_CONST] = i32[7], [C_COEF] = &pb[3],
			[C_SIGMA2] = dbl[0], [C_LOGLIK] = dbl[1], [C_AICC] = dbl[2], [C_FIRST] = i32[8],
			[C_UNTIL] = i32[9], [C_NOBS] = nobs, [C_N] = nn, [C_FITSEC] = dbl[3], [C_STATE] = &pb[4],
			[C_STATET] = st, [C_RULE] = &pb[6], [C_RECENT] = &pb[5], [C_SERVED] = &pb[8],
			[C_MARGIN] = dbl[4], [C_CALIB] = &pb[9], [C_LAMBDA] = dbl[5], [C_LSHIFT] = dbl[6],
		};
		rc = m ? aq_pq_writer_write(&w, m, cols, e) : 0;
		free(nobs);
		free(nn);
		if (rc)
			goto fail;
		if (n == 0)
			break;
	}
	for (int i = 0; i < 10; i++)
		free(i32[i]);
	for (int i = 0; i < 7; i++)
		free(dbl[i]);
	for (int i = 0; i < NBYTECOLS; i++) {
		free(bc[i].data);
		free(bc[i].off);
	}
	free(acc);
	free(st);
	return aq_pq_writer_close(&w, e);
fail:
	aq_pq_writer_abort(&w);
	for (int i = 0; i < 10; i++)
		free(i32[i]);
	for (int i = 0; i < 7; i++)
		free(dbl[i]);
	for (int i = 0; i < NBYTECOLS; i++) {
		free(bc[i].data);
		free(bc[i].off);
	}
	free(acc);
	free(st);
	return rc;
}

int aq_model_write_part(const struct aq_dataset *ds, int part, uint64_t key, const char *label,
			const struct aq_model_row *rows, size_t n, const struct aq_pq_write_opts *o,
			struct aq_err *e)
{
	char *dir = aq_dataset_part_dir(ds, part);
	char *path = aq_dataset_batch_path(ds, part, key, label);
	int rc = 0;
	if (!dir || !path)
		rc = aq_err_set(e, AQ_ENOMEM, "cannot build model path");
	else if (!(rc = aq_fs_mkdir_p(dir, e)))
		rc = aq_model_write_file(path, rows, n, o, e);
	free(dir);
	free(path);
	return rc;
}

static char *bytes_str(const struct aq_pq_bytes *b, size_t i)
{
	size_t len = b->off[i + 1] - b->off[i];
	char *s = malloc(len + 1);
	if (s) {
		memcpy(s, b->data + b->off[i], len);
		s[len] = 0;
	}
	return s;
}

static int bytes_doubles(const struct aq_pq_bytes *b, size_t i, double **out, int *n)
{
	size_t len = b->off[i + 1] - b->off[i];
	if (len % 8)
		return AQ_EFORMAT;
	*n = (int)(len / 8);
	*out = NULL;
	if (*n == 0)
		return 0;
	*out = malloc(len);
	if (!*out)
		return AQ_ENOMEM;
	get_le_doubles(*out, b->data + b->off[i], *n);
	return 0;
}

/* Calib bytes of row j: empty (not calibrated) or AQ_CAL_NVALUES doubles. */
static int read_calib(const struct aq_pq_bytes *b, size_t j, struct aq_cal *cal)
{
	size_t len = b->off[j + 1] - b->off[j];
	memset(cal, 0, sizeof *cal);
	if (len == 0)
		return 0;
	if (len != AQ_CAL_NVALUES * 8)
		return AQ_EFORMAT;
	get_le_doubles(&cal->q[0][0], b->data + b->off[j], AQ_CAL_NVALUES);
	for (int k = 0; k < AQ_CAL_NVALUES; k++)
		if (!isfinite((&cal->q[0][0])[k]))
			return AQ_EFORMAT;
	cal->ok = 1;
	return 0;
}

/* Value j of an INT32 column decoded by the reader. */
static inline int32_t i32_at(void *const *col, int c, size_t j)
{
	return ((const int32_t *)col[c])[j];
}

int aq_model_read_file(const char *path, struct aq_model_part *out, struct aq_err *e)
{
	struct aq_pq_reader r;
	int rc = aq_pq_reader_open(&r, path, e);
	if (rc)
		return rc;
	const struct aq_pq_schema *sch = r.ncols == models_v1_schema.ncols && r.schema_version <= 1 ? &models_v1_schema
					 : r.ncols == models_v2_schema.ncols && r.schema_version == 2 ? &models_v2_schema
												       : &aq_models_schema;
	if ((rc = aq_pq_reader_expect(&r, sch, e))) {
		aq_pq_reader_release(&r);
		return rc;
	}
	int ncols = sch->ncols;
	for (int g = 0; g < r.nrow_groups && !rc; g++) {
		size_t m = aq_pq_reader_rg_rows(&r, g);
		void *col[C_NCOLS] = {0};
		struct aq_pq_bytes pb[C_NCOLS];
		memset(pb, 0, sizeof pb);
		for (int c = 0; c < ncols && !rc; c++) {
			enum aq_pq_type t = model_cols[c].type;
			if (t == AQ_PQ_BYTES) {
				col[c] = &pb[c];
			} else {
				size_t sz = t == AQ_PQ_INT32 ? 4 : 8;
				col[c] = malloc((m ? m : 1) * sz);
				if (!col[c]) {
					rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate model column");
					break;
				}
			}
			rc = aq_pq_reader_read(&r, g, c, col[c], e);
		}
		for (size_t j = 0; j < m && !rc; j++) {
			struct aq_model_row row;
			aq_model_row_init(&row);
			row.account = ((const int64_t *)col[C_ACCOUNT])[j];
			char *status = bytes_str(&pb[C_STATUS], j);
			row.reason = bytes_str(&pb[C_REASON], j);
			row.spec_str = bytes_str(&pb[C_SPEC], j);
			row.clean_rule = bytes_str(&pb[C_RULE], j);
			row.served = bytes_str(&pb[C_SERVED], j);
			int bad = !status || !row.reason || !row.spec_str || !row.clean_rule || !row.served;
			if (!bad && aq_model_status_parse(status, &row.status))
				rc = aq_err_set(e, AQ_EFORMAT, "bad status '%s' in '%s'", status, path);
			free(status);
			row.spec.p = i32_at(col, C_P, j);
			row.spec.d = i32_at(col, C_D, j);
			row.spec.q = i32_at(col, C_Q, j);
			row.spec.P = i32_at(col, C_SP, j);
			row.spec.D = i32_at(col, C_SD, j);
			row.spec.Q = i32_at(col, C_SQ, j);
			row.spec.s = i32_at(col, C_S, j);
			row.spec.constant = i32_at(col, C_CONST, j);
			row.first_date = i32_at(col, C_FIRST, j);
			row.trained_until = i32_at(col, C_UNTIL, j);
			row.nobs = i32_at(col, C_NOBS, j);
			row.n = i32_at(col, C_N, j);
			row.sigma2 = ((const double *)col[C_SIGMA2])[j];
			row.loglik = ((const double *)col[C_LOGLIK])[j];
			row.aicc = ((const double *)col[C_AICC])[j];
			row.fit_seconds = ((const double *)col[C_FITSEC])[j];
			row.served_margin = ((const double *)col[C_MARGIN])[j];
			row.state_t = ((const int64_t *)col[C_STATET])[j];
			if (ncols > C_LSHIFT && isfinite(((const double *)col[C_LAMBDA])[j])) {
				row.bc.lambda = ((const double *)col[C_LAMBDA])[j];
				row.bc.shift = ((const double *)col[C_LSHIFT])[j];
				if (!isfinite(row.bc.shift) || row.bc.shift < 0)
					rc = aq_err_set(e, AQ_EFORMAT, "bad LambdaShift in '%s' (account %lld)", path,
							(long long)row.account);
			}
			double *rec = NULL;
			int nrec = 0, brc = 0;
			if (!bad && !rc) {
				brc = bytes_doubles(&pb[C_COEF], j, &row.coef, &row.ncoef);
				if (!brc)
					brc = bytes_doubles(&pb[C_STATE], j, &row.state, &row.nstate);
				if (!brc)
					brc = bytes_doubles(&pb[C_RECENT], j, &rec, &nrec);
				if (!brc && nrec != AQ_MODEL_RECENT)
					brc = AQ_EFORMAT;
				if (!brc)
					memcpy(row.recent, rec, sizeof row.recent);
				free(rec);
				if (!brc && ncols > C_CALIB)
					brc = read_calib(&pb[C_CALIB], j, &row.cal);
				if (brc == AQ_ENOMEM)
					rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate model arrays");
				else if (brc)
					rc = aq_err_set(e, AQ_EFORMAT, "malformed coefficient/state/recent bytes in '%s' (account %lld)",
							path, (long long)row.account);
			} else if (bad && !rc) {
				rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate model strings");
			}
			if (!rc)
				rc = aq_model_part_push(out, &row, e);
			aq_model_row_release(&row);
		}
		for (int c = 0; c < C_NCOLS; c++) {
			if (model_cols[c].type == AQ_PQ_BYTES)
				aq_pq_bytes_free(&pb[c]);
			else
				free(col[c]);
		}
	}
	aq_pq_reader_release(&r);
	return rc;
}

int aq_model_read_part(const struct aq_dataset *ds, int part, struct aq_model_part *out, struct aq_err *e)
{
	char **paths = NULL;
	int np = 0;
	int rc = aq_dataset_list_part(ds, part, &paths, &np, e);
	if (rc)
		return rc;
	size_t start = out->n;
	for (int i = 0; i < np && !rc; i++)
		rc = aq_model_read_file(paths[i], out, e);
	aq_paths_free(paths, np);
	if (rc)
		return rc;
	/* stable order by account, then keep the last (latest batch) of each account */
	struct aq_model_row *rows = out->rows + start;
	size_t n = out->n - start;
	if (n > 1) {
		/* insertion order within equal accounts must be kept: sort (index, account) pairs */
		size_t *idx = malloc(n * sizeof *idx);
		struct aq_model_row *tmp = malloc(n * sizeof *tmp);
		if (!idx || !tmp) {
			free(idx);
			free(tmp);
			return aq_err_set(e, AQ_ENOMEM, "cannot sort model rows");
		}
		memcpy(tmp, rows, n * sizeof *tmp);
		/* merge sort on indices by (account, position) */
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		for (size_t w = 1; w < n; w *= 2) {
			size_t *buf = malloc(n * sizeof *buf);
			if (!buf) {
				free(idx);
				free(tmp);
				return aq_err_set(e, AQ_ENOMEM, "cannot sort model rows");
			}
			for (size_t lo = 0; lo < n; lo += 2 * w) {
				size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
				size_t a = lo, b = mid, k = lo;
				while (a < mid && b < hi)
					buf[k++] = tmp[idx[b]].account < tmp[idx[a]].account ? idx[b++] : idx[a++];
				while (a < mid)
					buf[k++] = idx[a++];
				while (b < hi)
					buf[k++] = idx[b++];
			}
			memcpy(idx, buf, n * sizeof *idx);
			free(buf);
		}
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (i + 1 < n && tmp[idx[i + 1]].account == tmp[idx[i]].account) {
				aq_model_row_release(&tmp[idx[i]]);   /* an earlier batch's row */
				continue;
			}
			rows[k++] = tmp[idx[i]];
		}
		out->n = start + k;
		free(idx);
		free(tmp);
	}
	return 0;
}

int aq_modelset_open(struct aq_dataset *ds, const char *root, uint64_t *accounts, struct aq_err *e)
{
	int rc = aq_dataset_open(ds, root, e);
	if (rc)
		return rc;
	if (strcmp(ds->kind, "models") != 0)
		rc = aq_err_set(e, AQ_EFORMAT, "'%s' is a '%s' dataset, not a model set", root, ds->kind);
	struct aq_manifest m;
	if (!rc && !(rc = aq_manifest_check(root, "models", 0, &m, e))) {
		if (accounts)
			*accounts = m.accounts;
		aq_manifest_release(&m);
	}
	if (rc)
		aq_dataset_release(ds);
	return rc;
}
