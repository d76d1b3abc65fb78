/* test_model.c — model-set round trip through Parquet, ARIMA rebuild from a row, fallback forecasts, clipping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "model.h"
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

int main(void)
{
	const char *tmp = getenv("AQ_TEST_TMP");
	snprintf(root, sizeof root, "%s/model.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		return 1;
	T_RUN(test_round_trip);
	T_RUN(test_fallback_forecast_and_clip);
	T_RUN(test_forecast_window);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove '%s'\n", root);
	T_DONE();
}
