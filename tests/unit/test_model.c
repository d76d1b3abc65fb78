/* test_model.c — model-set round trip through Parquet, ARIMA rebuild from a row, fallback forecasts, clipping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "evalmodel.h"
#include "forecast.h"
#include "model.h"
#include "parquet.h"
#include "test.h"

static char root[256];

static void ar1(double *y, int n)
{
	uint64_t s = 12345;
	double a = 0;
	for (int i = 0; i < n; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		double u1 = ((s >> 11) + 0.5) / 9007199254740992.0;
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		double u2 = ((s >> 11) + 0.5) / 9007199254740992.0;
		a = 0.6 * a + sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		y[i] = 3 + a;
	}
}

static void fitted_row(struct aq_model_row *r, struct aq_arima_model *m)
{
	enum { N = 300 };
	double y[N];
	ar1(y, N);
	y[17] = NAN;
	struct aq_arima_spec sp = {1, 0, 1, 0, 0, 1, 7, 1};
	struct aq_arima_fit_opts fo = {0};
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_err e = {0};
	T_OK(aq_arima_fit(y, N, &sp, &fo, m, ws, &e));
	aq_arima_ws_free(ws);
	r->account = 4242;
	T_OK(aq_model_row_from_arima(r, m, &e));
	r->status = AQ_MODEL_OK;
	aq_model_row_set_str(&r->reason, "", &e);
	aq_model_row_set_str(&r->clean_rule, "{\"rule\":\"hampel-log1p\"}", &e);
	aq_model_row_set_str(&r->served, "arima", &e);
	r->first_date = 19000;
	r->trained_until = 19000 + N - 1;
	r->fit_seconds = 0.012;
	for (int i = 0; i < AQ_MODEL_RECENT; i++)
		r->recent[i] = i == 3 ? NAN : y[N - AQ_MODEL_RECENT + i];
}

static void test_round_trip(void)
{
	struct aq_model_row rows[3];
	struct aq_arima_model m;
	aq_arima_model_init(&m);
	for (int i = 0; i < 3; i++)
		aq_model_row_init(&rows[i]);
	fitted_row(&rows[0], &m);
	struct aq_err e = {0};
	rows[1].account = 7;
	T_OK(aq_model_row_set_mean(&rows[1], 0.0, 0.0, AQ_MODEL_FALLBACK, "all zero", &e));
	rows[1].trained_until = 19100;
	rows[2].account = 99999999999LL;
	T_OK(aq_model_row_set_mean(&rows[2], 1.5, 0.25, AQ_MODEL_FAILED, "search failed: \"x\", ünïcode", &e));
	aq_model_row_set_str(&rows[2].served, "median28", &e);
	rows[2].served_margin = 0.125;

	struct aq_dataset ds;
	T_OK(aq_dataset_create(&ds, root, "models", 4, &e));
	/* all three go into one part's file here (the writer does not route) */
	T_OK(aq_model_write_part(&ds, 1, aq_dataset_next_key(&ds), "train", rows, 3, NULL, &e));
	struct aq_model_part p;
	aq_model_part_init(&p);
	T_OK(aq_model_read_part(&ds, 1, &p, &e));
	T_EQ_INT(p.n, 3);
	T_EQ_INT(p.rows[0].account, 7);   /* sorted by account */
	struct aq_model_row *a = aq_model_part_find(&p, 4242), *f = aq_model_part_find(&p, 99999999999LL);
	T_ASSERT(a && f);
	T_CHECK(aq_model_part_find(&p, 5) == NULL);
	T_CHECK(strcmp(a->spec_str, rows[0].spec_str) == 0);
	T_EQ_INT(a->spec.p, 1);
	T_EQ_INT(a->spec.Q, 1);
	T_EQ_INT(a->spec.s, 7);
	T_EQ_INT(a->ncoef, rows[0].ncoef);
	for (int i = 0; i < a->ncoef; i++)
		T_NEAR(a->coef[i], rows[0].coef[i], 0);
	T_EQ_INT(a->nstate, rows[0].nstate);
	for (int i = 0; i < a->nstate; i++)
		T_NEAR(a->state[i], rows[0].state[i], 0);
	T_EQ_INT(a->state_t, rows[0].state_t);
	T_NEAR(a->sigma2, rows[0].sigma2, 0);
	T_NEAR(a->loglik, rows[0].loglik, 0);
	T_EQ_INT(a->trained_until, rows[0].trained_until);
	T_CHECK(isnan(a->recent[3]));
	T_NEAR(a->recent[27], rows[0].recent[27], 0);
	T_CHECK(isnan(a->served_margin));
	T_CHECK(strcmp(f->reason, rows[2].reason) == 0);
	T_EQ_INT(f->status, AQ_MODEL_FAILED);
	T_CHECK(strcmp(f->served, "median28") == 0);
	T_NEAR(f->served_margin, 0.125, 0);

	/* the rebuilt model forecasts exactly as the original */
	struct aq_arima_model m2;
	aq_arima_model_init(&m2);
	T_OK(aq_model_row_to_arima(a, &m2, &e));
	double m1[10], s1[10], mm2[10], s2[10];
	T_OK(aq_arima_forecast(&m, 10, m1, s1, &e));
	T_OK(aq_arima_forecast(&m2, 10, mm2, s2, &e));
	for (int i = 0; i < 10; i++) {
		T_NEAR(mm2[i], m1[i], 1e-12);
		T_NEAR(s2[i], s1[i], 1e-12);
	}
	/* through the row API too */
	T_OK(aq_model_forecast(a, 10, mm2, s2, &e));
	T_NEAR(mm2[9], m1[9], 1e-12);
	/* a later batch wins per account */
	aq_model_row_set_str(&rows[1].served, "snaive7", &e);
	T_OK(aq_model_write_part(&ds, 1, aq_dataset_next_key(&ds), "evaluate", &rows[1], 1, NULL, &e));
	aq_model_part_release(&p);
	T_OK(aq_model_read_part(&ds, 1, &p, &e));
	T_EQ_INT(p.n, 3);
	T_CHECK(strcmp(aq_model_part_find(&p, 7)->served, "snaive7") == 0);

	aq_model_part_release(&p);
	aq_arima_model_release(&m);
	aq_arima_model_release(&m2);
	for (int i = 0; i < 3; i++)
		aq_model_row_release(&rows[i]);
	aq_dataset_release(&ds);
}

/* The one-pass window (serving) gives bit for bit the values of aq_model_forecast + aq_model_forecast_total. */
static void test_forecast_window(void)
{
	struct aq_model_row r, mean_row;
	struct aq_arima_model m;
	struct aq_err e = {0};
	aq_model_row_init(&r);
	aq_model_row_init(&mean_row);
	aq_arima_model_init(&m);
	fitted_row(&r, &m);
	T_OK(aq_model_row_set_mean(&mean_row, 2.5, 0.3, AQ_MODEL_FALLBACK, "too short", &e));
	const struct aq_model_row *rows[2] = {&r, &mean_row};
	for (int k = 0; k < 2; k++)
		for (int from = 0; from < 40; from += 9)
			for (int h = from + 1; h <= 120; h += 17) {
				double m1[120], s1[120], m2[120], s2[120], t1, d1, t2, d2;
				T_OK(aq_model_forecast(rows[k], h, m1, s1, &e));
				T_OK(aq_model_forecast_total(rows[k], from, h, &t1, &d1, &e));
				T_OK(aq_model_forecast_window(rows[k], h, from, m2, s2, &t2, &d2, &e));
				if (memcmp(m1, m2, sizeof(double) * (size_t)h) || memcmp(s1, s2, sizeof(double) * (size_t)h) ||
				    t1 != t2 || d1 != d2)
					T_FAIL("row %d window [%d, %d) differs", k, from, h);
			}
	T_CHECK(aq_model_forecast_window(&r, 5, 5, NULL, NULL, NULL, NULL, &e) == AQ_EINVAL);
	aq_arima_model_release(&m);
	aq_model_row_release(&r);
	aq_model_row_release(&mean_row);
}

static void test_fallback_forecast_and_clip(void)
{
	struct aq_model_row r;
	aq_model_row_init(&r);
	struct aq_err e = {0};
	T_OK(aq_model_row_set_mean(&r, 0.3, 0.04, AQ_MODEL_FALLBACK, "too short", &e));
	double mean[30], sd[30], tot, tsd;
	T_OK(aq_model_forecast(&r, 30, mean, sd, &e));
	T_NEAR(mean[29], 0.3, 0);
	T_NEAR(sd[0], 0.2, 1e-15);
	T_OK(aq_model_forecast_total(&r, 0, 30, &tot, &tsd, &e));
	T_NEAR(tot, 9.0, 1e-12);
	T_NEAR(tsd, sqrt(30 * 0.04), 1e-12);
	double mu = 0.3, lo, hi;
	aq_model_clip(&mu, 0.2, 0.95, &lo, &hi);
	T_NEAR(lo, 0.0, 0);   /* 0.3 - 1.96*0.2 < 0 -> clipped */
	T_NEAR(hi, 0.3 + 1.959963985 * 0.2, 1e-8);
	mu = -0.1;
	aq_model_clip(&mu, 0.01, 0.8, &lo, &hi);
	T_NEAR(mu, 0, 0);
	/* a row with nothing usable still forecasts (mean of Recent, here all NaN -> 0) */
	struct aq_model_row z;
	aq_model_row_init(&z);
	T_OK(aq_model_forecast(&z, 5, mean, sd, &e));
	T_NEAR(mean[4], 0, 0);
	T_CHECK(isfinite(sd[4]));
	aq_model_row_release(&r);
	aq_model_row_release(&z);
}


/* A row fitted on log1p of a positive series (exp of an AR(1) around 3, minus 1), and its z-scale model. */
static void log1p_row(struct aq_model_row *r, struct aq_arima_model *m, double *z, int n)
{
	double *x = malloc((size_t)n * sizeof *x);
	ar1(x, n);
	struct aq_bc bc = {0, 1};
	for (int i = 0; i < n; i++)
		x[i] = expm1(x[i] / 3);
	x[20] = NAN;
	aq_bc_apply(&bc, x, (size_t)n, z);
	T_CHECK(isnan(z[20]));
	struct aq_arima_spec sp = {1, 0, 0, 0, 0, 0, 0, 1};
	struct aq_arima_fit_opts fo = {0};
	struct aq_arima_ws *ws = aq_arima_ws_new();
	struct aq_err e = {0};
	T_OK(aq_arima_fit(z, (size_t)n, &sp, &fo, m, ws, &e));
	aq_arima_ws_free(ws);
	r->account = 77;
	T_OK(aq_model_row_from_arima(r, m, &e));
	r->bc = bc;
	aq_model_row_set_str(&r->served, "arima", &e);
	aq_model_row_set_str(&r->reason, "", &e);
	aq_model_row_set_str(&r->clean_rule, "{}", &e);
	r->trained_until = 19000 + n - 1;
	for (int i = 0; i < AQ_MODEL_RECENT; i++)
		r->recent[i] = x[n - AQ_MODEL_RECENT + i];
	free(x);
}

/*
 * A transformed row: Lambda/LambdaShift round trip (an untransformed row reads as none), its served
 * forecast is the back-transformed median with back-transformed quantiles, its total the sum of the
 * bias-adjusted means, its Gaussian approximation the mean, and an update transforms the new days.
 */
static void test_transformed_row(void)
{
	enum { N = 200, H = 30 };
	double z[N];
	struct aq_model_row rows[2];
	struct aq_arima_model m;
	struct aq_err e = {0};
	aq_arima_model_init(&m);
	aq_model_row_init(&rows[0]);
	aq_model_row_init(&rows[1]);
	T_CHECK(!aq_bc_active(&rows[0].bc));
	log1p_row(&rows[0], &m, z, N);
	T_OK(aq_model_row_set_mean(&rows[1], 1.5, 0.25, AQ_MODEL_FALLBACK, "too short", &e));
	rows[1].account = 78;

	char path[300];
	snprintf(path, sizeof path, "%s/bc.parquet", root);
	T_OK(aq_model_write_file(path, rows, 2, NULL, &e));
	struct aq_model_part p;
	aq_model_part_init(&p);
	T_OK(aq_model_read_file(path, &p, &e));
	T_EQ_INT(p.n, 2);
	const struct aq_model_row *a = aq_model_part_find(&p, 77), *b = aq_model_part_find(&p, 78);
	T_ASSERT(a && b);
	T_CHECK(aq_bc_active(&a->bc));
	T_NEAR(a->bc.lambda, 0, 0);
	T_NEAR(a->bc.shift, 1, 0);
	T_CHECK(!aq_bc_active(&b->bc));

	/* the z-scale forecast of the model, back-transformed by hand */
	double mu[H], sd[H];
	T_OK(aq_arima_forecast(&m, H, mu, sd, &e));
	double buf[5 * H], tot[5], dsd[H], tsd, sum_mean = 0;
	struct aq_path out = {buf, buf + H, buf + 2 * H, buf + 3 * H, buf + 4 * H};
	T_OK(aq_model_forecast_path(a, H, 0, H, &out, tot, dsd, &tsd, &e));
	for (int i = 0; i < H; i++) {
		T_RNEAR(out.mean[i], expm1(mu[i]), 1e-12);
		T_RNEAR(out.lo80[i], fmax(0, expm1(mu[i] - 1.2815515655446004 * sd[i])), 1e-12);
		T_RNEAR(out.hi95[i], expm1(mu[i] + 1.959963984540054 * sd[i]), 1e-12);
		T_CHECK(out.hi95[i] - out.mean[i] > out.mean[i] - out.lo95[i]);   /* right-skewed */
		sum_mean += exp(mu[i]) * (1 + sd[i] * sd[i] / 2) - 1;
	}
	T_RNEAR(tot[0], sum_mean, 1e-12);
	T_CHECK(tot[3] < tot[1] && tot[1] < tot[0] && tot[0] < tot[2] && tot[2] < tot[4]);
	T_RNEAR(tsd, (tot[4] - tot[3]) / (2 * 1.959963984540054), 1e-12);
	/* serving (aq_forecast_row, Served arima) shows exactly that path and total */
	double buf2[5 * H], tot2[5];
	struct aq_path out2 = {buf2, buf2 + H, buf2 + 2 * H, buf2 + 3 * H, buf2 + 4 * H};
	T_OK(aq_forecast_row(a, H, 0, H, &out2, tot2, &e));
	T_CHECK(memcmp(buf, buf2, sizeof buf) == 0);
	for (int k = 0; k < 5; k++)
		T_NEAR(tot2[k], tot[k], 0);
	/* the Gaussian approximation: bias-adjusted means, the total's mean the same as the path's */
	double gm[H], gs[H], t, ts;
	T_OK(aq_model_forecast(a, H, gm, gs, &e));
	T_RNEAR(gm[4], exp(mu[4]) * (1 + sd[4] * sd[4] / 2) - 1, 1e-12);
	T_RNEAR(gs[4], exp(mu[4]) * sd[4], 1e-12);
	T_OK(aq_model_forecast_total(a, 0, H, &t, &ts, &e));
	T_RNEAR(t, tot[0], 1e-12);
	double wm[H], ws2[H], wt, wts;
	T_OK(aq_model_forecast_window(a, H, 0, wm, ws2, &wt, &wts, &e));
	T_CHECK(memcmp(gm, wm, sizeof gm) == 0 && wt == t && wts == ts);
	/* an update filters the transformed days; a NaN day stays missing */
	double v[3] = {0.5, NAN, 0.0}, zv[3] = {log1p(0.5), NAN, 0.0};
	struct aq_arima_model m1, m2;
	aq_arima_model_init(&m1);
	aq_arima_model_init(&m2);
	T_OK(aq_model_row_to_arima(a, &m1, &e));
	T_OK(aq_model_row_to_arima(a, &m2, &e));
	T_OK(aq_model_row_update(a, &m1, v, 3, &e));
	T_OK(aq_arima_update(&m2, zv, 3, &e));
	double f1[2], s1[2], f2[2], s2[2];
	T_OK(aq_arima_forecast(&m1, 2, f1, s1, &e));
	T_OK(aq_arima_forecast(&m2, 2, f2, s2, &e));
	T_NEAR(f1[1], f2[1], 0);
	T_NEAR(s1[1], s2[1], 0);
	/* evaluate's model of the row: the median at TrainedUntil, and after new days (original scale) as the update */
	struct aq_evmodel em;
	T_OK(aq_evmodel_from_row(&em, a, N, 0, NULL, &e));
	double yy[N + 3], em_m[H], em_s[H];
	for (int i = 0; i < N; i++)
		yy[i] = isfinite(z[i]) ? expm1(z[i]) : NAN;
	memcpy(yy + N, v, sizeof v);
	T_OK(aq_evmodel_forecast(&em, yy, N, H, em_m, em_s, &e));
	for (int i = 0; i < H; i++)
		T_RNEAR(em_m[i], out.mean[i], 1e-12);
	T_RNEAR(em_s[3], (out.hi95[3] - out.lo95[3]) / (2 * 1.959963984540054), 1e-9);
	T_OK(aq_evmodel_forecast(&em, yy, N + 3, 2, em_m, em_s, &e));
	T_RNEAR(em_m[1], expm1(f2[1]), 1e-12);
	double ssum[H];
	T_OK(aq_evmodel_forecast(&em, yy, N, H, em_m, em_s, &e));
	T_OK(aq_evmodel_sdsum(&em, H, ssum, &e));
	T_RNEAR(ssum[H - 1], tsd, 1e-9);
	/* an earlier origin filters the transformed history: close to the stored state's forecast at N */
	T_OK(aq_evmodel_forecast(&em, yy, N - 1, 2, em_m, em_s, &e));
	T_CHECK(isfinite(em_m[1]) && em_m[1] > 0 && em_m[1] < 10 * out.hi95[0]);
	aq_evmodel_release(&em);
	/* a copy keeps the transform; a mean fallback drops it */
	struct aq_model_row c;
	aq_model_row_init(&c);
	T_OK(aq_model_row_copy(&c, a, &e));
	T_CHECK(aq_bc_active(&c.bc));
	/* a transformed model that cannot forecast (here a NaN coefficient) serves the mean of Recent */
	c.coef[0] = NAN;
	double rm = 0;
	int rk = 0;
	for (int i = 0; i < AQ_MODEL_RECENT; i++)
		if (isfinite(c.recent[i])) {
			rm += c.recent[i];
			rk++;
		}
	T_OK(aq_model_forecast_path(&c, H, 0, H, &out, tot, NULL, NULL, &e));
	T_RNEAR(out.mean[5], rm / rk, 1e-12);
	T_RNEAR(tot[0], 30 * rm / rk, 1e-9);
	T_OK(aq_model_row_set_mean(&c, 1, 0, AQ_MODEL_FAILED, "x", &e));
	T_CHECK(!aq_bc_active(&c.bc));
	aq_model_row_release(&c);
	aq_arima_model_release(&m1);
	aq_arima_model_release(&m2);
	aq_model_part_release(&p);
	aq_arima_model_release(&m);
	aq_model_row_release(&rows[0]);
	aq_model_row_release(&rows[1]);
}

/* One row of a v2 file (no Lambda, LambdaShift) written column by column, as the v2 writer did. */
static int write_v2_file(const char *path, const struct aq_model_row *r, struct aq_err *e)
{
	struct aq_pq_schema v2 = aq_models_schema;
	v2.version = 2;
	v2.ncols = aq_models_schema.ncols - 2;
	T_CHECK(strcmp(aq_models_schema.cols[v2.ncols].name, "Lambda") == 0);
	int64_t acc = r->account, st = r->state_t;
	int32_t i32[10] = {r->spec.p, r->spec.d, r->spec.q, r->spec.P, r->spec.D, r->spec.Q, r->spec.s,
			   r->spec.constant, r->first_date, r->trained_until};
	int32_t nobs = r->nobs, n = r->n;
	double dbl[5] = {r->sigma2, r->loglik, r->aicc, r->fit_seconds, r->served_margin};
	/* BYTES in schema order: Status Reason Spec Coef State CleanRule Recent Served Calib */
	uint8_t data[8192];
	uint64_t off[9][2];
	struct aq_pq_bytes pb[9];
	size_t len = 0;
	const void *src[9] = {"ok", "", r->spec_str, r->coef, r->state, "{}", r->recent, "arima", ""};
	size_t sz[9] = {2, 0, strlen(r->spec_str), 8 * (size_t)r->ncoef, 8 * (size_t)r->nstate, 2,
			8 * AQ_MODEL_RECENT, 5, 0};
	for (int k = 0; k < 9; k++) {
		off[k][0] = len;
		memcpy(data + len, src[k], sz[k]);   /* the test machine is little-endian, as the format */
		len += sz[k];
		off[k][1] = len;
		pb[k].data = data;
		pb[k].off = off[k];
	}
	const void *cols[28] = {&acc, &pb[0], &pb[1], &pb[2], &i32[0], &i32[1], &i32[2], &i32[3], &i32[4], &i32[5],
				&i32[6], &i32[7], &pb[3], &dbl[0], &dbl[1], &dbl[2], &i32[8], &i32[9], &nobs, &n,
				&dbl[3], &pb[4], &st, &pb[5], &pb[6], &pb[7], &dbl[4], &pb[8]};
	struct aq_pq_writer w;
	int rc = aq_pq_writer_open(&w, path, &v2, NULL, e);
	if (!rc && (rc = aq_pq_writer_write(&w, 1, cols, e)))
		aq_pq_writer_abort(&w);
	return rc ? rc : aq_pq_writer_close(&w, e);
}

/* A model set written before v3 is read as not transformed, and forecasts as it did. */
static void test_v2_file_read_untransformed(void)
{
	struct aq_model_row r;
	struct aq_arima_model m;
	struct aq_err e = {0};
	aq_model_row_init(&r);
	aq_arima_model_init(&m);
	fitted_row(&r, &m);
	char path[300];
	snprintf(path, sizeof path, "%s/v2.parquet", root);
	T_OK(write_v2_file(path, &r, &e));
	struct aq_model_part p;
	aq_model_part_init(&p);
	T_OK(aq_model_read_file(path, &p, &e));
	T_ASSERT(p.n == 1);
	const struct aq_model_row *a = &p.rows[0];
	T_CHECK(!aq_bc_active(&a->bc));
	T_CHECK(!a->cal.ok);
	T_EQ_INT(a->account, r.account);
	double m1[10], s1[10], m2[10], s2[10];
	T_OK(aq_model_forecast(a, 10, m1, s1, &e));
	T_OK(aq_model_forecast(&r, 10, m2, s2, &e));
	T_CHECK(memcmp(m1, m2, sizeof m1) == 0 && memcmp(s1, s2, sizeof s1) == 0);
	aq_model_part_release(&p);
	aq_arima_model_release(&m);
	aq_model_row_release(&r);
}

int main(void)
{
	const char *tmp = getenv("AQ_TEST_TMP");
	snprintf(root, sizeof root, "%s/model.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		return 1;
	T_RUN(test_round_trip);
	T_RUN(test_fallback_forecast_and_clip);
	T_RUN(test_forecast_window);
	T_RUN(test_transformed_row);
	T_RUN(test_v2_file_read_untransformed);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove '%s'\n", root);
	T_DONE();
}
