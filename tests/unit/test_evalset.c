/* test_evalset.c — a whole evaluate run on a small trained set: the population default's sample is evaluated once, outputs as with a fixed default's lifecycle. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evalset.h"
#include "readings_writer.h"
#include "train.h"
#include "test.h"

#define NACC 90
#define DAYS 280
#define NEW 30
#define PARTS 4

static char root[512];

/* Readings of NACC accounts, days [0, days): a weekly pattern with noise, the accounts' levels apart. */
static int write_readings(const char *dir, int days, struct aq_err *e)
{
	struct aq_dataset ds;
	int rc = aq_dataset_create(&ds, dir, "readings", PARTS, e);
	if (rc)
		return rc;
	struct aq_readings_writer w;
	if (!(rc = aq_readings_writer_open(&w, &ds, aq_dataset_next_key(&ds), "t", NULL, e))) {
		t_rng_state = T_RNG_SEED;
		for (int a = 0; a < NACC && !rc; a++) {
			double level = 0.2 + 0.01 * a, wk = a % 3 ? 1.5 : 1.0;
			for (int d = 0; d < DAYS && !rc; d++) {
				double v = level * ((d % 7) >= 5 ? wk : 1.0) * (1 + 0.3 * t_gauss());
				if (d < days)
					rc = aq_readings_writer_add(&w, 19000 + d, 7000000 + a, fmax(v, 0), e);
			}
		}
		rc = rc ? (aq_readings_writer_abort(&w), rc) : aq_readings_writer_close(&w, e);
	}
	aq_dataset_release(&ds);
	return rc;
}

static int run(const char *out, int fixed_default, struct aq_evalset_stats *st, json_t **sum, struct aq_err *e)
{
	char models[600], readings[600], dir[600];
	snprintf(models, sizeof models, "%s/models", root);
	snprintf(readings, sizeof readings, "%s/all", root);
	snprintf(dir, sizeof dir, "%s/%s", root, out);
	struct aq_evalset_opts o;
	aq_evalset_opts_default(&o);
	o.models = models;
	o.readings = readings;
	o.out = dir;
	o.threads = 2;
	o.fixed_default = fixed_default;
	o.stats = st;
	int promoted;
	return aq_evalset_run(&o, sum, &promoted, e);
}

/*
 * Under AQ_EVALSET_DEFAULT_SAMPLE accounts every part is the default's
 * sample: it used to be evaluated twice (learning pass, then again in the
 * full pass); now once, re-chosen with the learnt default.
 */
static void test_default_sample_evaluated_once(void)
{
	struct aq_err e = { 0 };
	char hist[600], all[600], models[600];
	snprintf(hist, sizeof hist, "%s/hist", root);
	snprintf(all, sizeof all, "%s/all", root);
	snprintf(models, sizeof models, "%s/models", root);
	T_OK(write_readings(hist, DAYS - NEW, &e));
	T_OK(write_readings(all, DAYS, &e));
	struct aq_train_opts to;
	aq_train_opts_default(&to);
	to.mode = AQ_TRAIN_FULL;
	to.threads = 2;
	to.search.season = 7;
	to.search.max_p = to.search.max_q = to.search.max_P = to.search.max_Q = 1;
	struct aq_train_stats ts;
	T_OK(aq_train_run(hist, models, NULL, &to, &ts, &e));
	T_EQ_INT(ts.accounts, NACC);

	struct aq_evalset_stats learnt, fixed;
	json_t *s1 = NULL, *s2 = NULL;
	T_OK(run("eval-learnt", 0, &learnt, &s1, &e));
	T_OK(run("eval-fixed", 1, &fixed, &s2, &e));
	T_ASSERT(s1 && s2);
	/* the fixed default: no sample, every account evaluated once */
	T_EQ_INT(fixed.default_parts, 0);
	T_EQ_INT(fixed.evaluated, NACC);
	T_EQ_INT(fixed.reused, 0);
	/* the learnt default: all PARTS sampled (NACC < the sample), still each account evaluated once */
	T_EQ_INT(learnt.default_parts, PARTS);
	T_EQ_INT(learnt.evaluated, NACC);
	T_EQ_INT(learnt.reused, NACC);
	json_t *d = json_object_get(s1, "served_default");
	T_EQ_INT(json_integer_value(json_object_get(d, "parts")), PARTS);
	T_EQ_INT(json_integer_value(json_object_get(s1, "accounts")), NACC);
	T_EQ_INT(json_integer_value(json_object_get(s1, "scored")), NACC);
	json_decref(s1);
	json_decref(s2);
}

int main(void)
{
	const char *tmp = getenv("AQ_TEST_TMP");
	snprintf(root, sizeof root, "%s/evalset.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		return 1;
	T_RUN(test_default_sample_evaluated_once);
	if (!t_failed_cases) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove '%s'\n", root);
	}
	T_DONE();
}
