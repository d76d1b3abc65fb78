/* serveset.h — one loaded champion for serving: the model set indexed in memory, its anomalies and accuracy, refcounted. */
#ifndef AQ_SERVESET_H
#define AQ_SERVESET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "accuracy.h"
#include "err.h"
#include "forecast.h"

/*
 * dir is any of: a sealed model set (_dataset.json of kind models), an
 * evaluation directory E (E/models, E/metrics, E/summary.json), or a model
 * version downloaded by aquacast-register (data/models, data/metrics,
 * data/summary.json). Every part is read at load (aq_forecaster_load_all):
 * afterwards the set is read-only and shared by all request threads.
 * refs starts at 1 (the owner's); the last aq_serveset_unref frees it.
 */
struct aq_serve_anomaly {
	int64_t account;
	char kind[16];                 /* level_up (leak), level_down, flat (stuck meter) */
	int32_t since;
	int days;
	double magnitude, relative, baseline;
};

struct aq_serveset {
	atomic_int refs;
	struct aq_forecaster f;
	char dir[1024];
	char version[80];              /* the registry's version, else "sha256-" + 12 hex of _manifest.json */
	double loaded_at;              /* unix time */
	double load_seconds;
	int64_t *accounts;             /* sorted */
	size_t n;
	struct aq_serve_anomaly *anomalies; /* sorted by account */
	size_t nanomalies;
	struct aq_accuracy *acc;
	size_t nacc;
};

/* version NULL: from the manifest's hash. */
int aq_serveset_load(const char *dir, const char *version, struct aq_serveset **out, struct aq_err *e);
void aq_serveset_ref(struct aq_serveset *s);
void aq_serveset_unref(struct aq_serveset *s);
int aq_serveset_has(const struct aq_serveset *s, int64_t account);
const struct aq_serve_anomaly *aq_serveset_anomaly(const struct aq_serveset *s, int64_t account);

#endif
