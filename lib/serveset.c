/* serveset.c — load a champion for serving: find its model set, read every part, index accounts, anomalies, accuracy. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "date.h"
#include "digest.h"
#include "log.h"
#include "serveset.h"

static int exists(const char *dir, const char *rel)
{
	char p[PATH_MAX + 64];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	return stat(p, &st) == 0;
}

/* The model set and the evaluation files around it: "" prefix, "data/", or the set itself. */
static int layout(const char *dir, char *models, char *eval, size_t n, struct aq_err *e)
{
	if (strlen(dir) > n - 32)
		return aq_err_set(e, AQ_EINVAL, "path too long '%.64s…'", dir);
	if (exists(dir, "models/_dataset.json")) {
		snprintf(models, n, "%s/models", dir);
		snprintf(eval, n, "%s", dir);
	} else if (exists(dir, "data/models/_dataset.json")) {
		snprintf(models, n, "%s/data/models", dir);
		snprintf(eval, n, "%s/data", dir);
	} else if (exists(dir, "_dataset.json")) {
		snprintf(models, n, "%s", dir);
		eval[0] = 0;
	} else {
		return aq_err_set(e, AQ_ENOTFOUND,
				  "no model set in '%s' (want a model set, an evaluation directory or a downloaded version)", dir);
	}
	return 0;
}

static int cmp_acc(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

static int cmp_anom(const void *x, const void *y)
{
	return cmp_acc(&((const struct aq_serve_anomaly *)x)->account, &((const struct aq_serve_anomaly *)y)->account);
}

static int anomalies(struct aq_serveset *s, const char *eval, struct aq_err *e)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/summary.json", eval);
	json_error_t je;
	json_t *j = json_load_file(p, 0, &je);
	if (!j)
		return aq_err_set(e, AQ_EFORMAT, "cannot read '%s': %s", p, je.text);
	json_t *list = json_object_get(j, "anomaly_list");
	size_t i, k = 0;
	json_t *a;
	s->anomalies = calloc(json_array_size(list) + 1, sizeof *s->anomalies);
	if (!s->anomalies) {
		json_decref(j);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	json_array_foreach(list, i, a)
	{
		struct aq_serve_anomaly *x = &s->anomalies[k];
		const char *kind = json_string_value(json_object_get(a, "kind"));
		const char *since = json_string_value(json_object_get(a, "since"));
		if (!kind || !since || strlen(kind) >= sizeof x->kind || aq_date_parse(since, (int)strlen(since), &x->since, NULL))
			continue;
		x->account = json_integer_value(json_object_get(a, "account"));
		strcpy(x->kind, kind);
		x->days = (int)json_integer_value(json_object_get(a, "days"));
		x->magnitude = json_number_value(json_object_get(a, "magnitude"));
		x->relative = json_number_value(json_object_get(a, "relative"));
		x->baseline = json_number_value(json_object_get(a, "baseline"));
		k++;
	}
	s->nanomalies = k;
	qsort(s->anomalies, k, sizeof *s->anomalies, cmp_anom);
	json_decref(j);
	return 0;
}

static int version_of(struct aq_serveset *s, const char *models, const char *version, struct aq_err *e)
{
	if (version) {
		snprintf(s->version, sizeof s->version, "%s", version);
		return 0;
	}
	char p[PATH_MAX + 32], hex[AQ_SHA256_HEX];
	snprintf(p, sizeof p, "%s/_manifest.json", models);
	int rc = aq_sha256_file(p, hex, NULL, e);
	if (!rc)
		snprintf(s->version, sizeof s->version, "sha256-%.12s", hex);
	return rc;
}

static int load(struct aq_serveset *s, const char *dir, const char *version, struct aq_err *e)
{
	char models[PATH_MAX], eval[PATH_MAX];
	int rc = layout(dir, models, eval, sizeof models, e);
	if (!rc)
		rc = version_of(s, models, version, e);
	if (!rc)
		rc = aq_forecaster_open(&s->f, models, e);
	if (rc)
		return rc;
	if ((rc = aq_forecaster_load_all(&s->f, e)))
		return rc;
	s->n = aq_forecaster_accounts(&s->f, NULL);
	s->accounts = malloc((s->n + 1) * sizeof *s->accounts);
	if (!s->accounts)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	aq_forecaster_accounts(&s->f, s->accounts);
	qsort(s->accounts, s->n, sizeof *s->accounts, cmp_acc);
	if (eval[0]) {
		if ((rc = anomalies(s, eval, e)))
			return rc;
		char m[PATH_MAX + 16];
		snprintf(m, sizeof m, "%s/metrics", eval);
		if (exists(eval, "metrics/_manifest.json") && (rc = aq_accuracy_read(m, &s->acc, &s->nacc, e)))
			return rc;
	}
	return 0;
}

int aq_serveset_load(const char *dir, const char *version, struct aq_serveset **out, struct aq_err *e)
{
	double t0 = aq_now();
	struct aq_serveset *s = calloc(1, sizeof *s);
	if (!s)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	atomic_init(&s->refs, 1);
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	int rc = load(s, dir, version, e);
	if (rc) {
		aq_serveset_unref(s);
		return aq_err_prefix(e, "cannot load '%s'", dir);
	}
	s->loaded_at = (double)time(NULL);
	s->load_seconds = aq_now() - t0;
	*out = s;
	return 0;
}

void aq_serveset_ref(struct aq_serveset *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void aq_serveset_unref(struct aq_serveset *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	aq_forecaster_release(&s->f);
	free(s->accounts);
	free(s->anomalies);
	free(s->acc);
	free(s);
}

int aq_serveset_has(const struct aq_serveset *s, int64_t account)
{
	return s->n && bsearch(&account, s->accounts, s->n, sizeof *s->accounts, cmp_acc) != NULL;
}

const struct aq_serve_anomaly *aq_serveset_anomaly(const struct aq_serveset *s, int64_t account)
{
	struct aq_serve_anomaly key = {.account = account};
	return s->nanomalies ? bsearch(&key, s->anomalies, s->nanomalies, sizeof key, cmp_anom) : NULL;
}
