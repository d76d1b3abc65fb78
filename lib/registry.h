/* registry.h — where register records runs and model versions: an MLflow 3 server, or a local folder (file:DIR). */
#ifndef AQ_REGISTRY_H
#define AQ_REGISTRY_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "http.h"
#include "mlflow.h"

/*
 * One interface, two backends chosen by the URI's scheme:
 *
 *   http(s)://host:port   MLflow 3 REST (lib/mlflow.h): an experiment, a run, a
 *                         LoggedModel of the run holding the version's files,
 *                         a registered-model version linked to it, aliases;
 *   file:DIR              DIR/<model>/runs/<key>.json (tags, params, metrics,
 *                         status), DIR/<model>/runs/<key>.artifacts/,
 *                         DIR/<model>/staging/<key>/ (a version being filled),
 *                         DIR/<model>/versions/<N>/ (renamed from staging when
 *                         complete, with version.json), DIR/<model>/aliases/<alias>
 *                         ({"version":"N"}, replaced atomically).
 *
 * Idempotency: a run carries the tag AQ_REGISTRY_KEY = the caller's key (the
 * identity of what is registered); begin() finds a run with that key and
 * resumes it, and a version carrying the key is never created twice. A
 * version is created only after all its files are in place, so an alias
 * set afterwards never points at an incomplete version.
 */
#define AQ_REGISTRY_KEY "aquacast.register_key"
#define AQ_REGISTRY_MODEL_ID "aquacast.logged_model_id"

struct aq_registry {
	int local;
	char *dir;                 /* local: DIR/<model> */
	struct aq_mlflow m;
	char *exp_id;
	char *model;               /* registered model name */
	char *uri;                 /* as given (no credentials: refused by lib/http.h) */
};

struct aq_registry_run {
	char *key;
	char *run_id;
	char *run_uri;             /* run artifacts: mlflow-artifacts:/… or a local dir */
	char *model_uri;           /* the version's files: LoggedModel artifacts or the staging dir */
	char *model_id;            /* LoggedModel id (MLflow 3), else NULL */
	char *version;             /* set once the version exists (maybe by an earlier attempt) */
	int resumed;
	int64_t start_ms;
	json_t *record;            /* local: the run record */
};

struct aq_registry_version {
	char *version, *run_id, *source, *location;
	json_t *tags;              /* object key -> string value */
};

int aq_registry_open(struct aq_registry *r, const char *uri, const char *experiment, const char *model,
		     const struct aq_http_opts *o, struct aq_err *e);
void aq_registry_release(struct aq_registry *r);
void aq_registry_run_init(struct aq_registry_run *run);
void aq_registry_run_release(struct aq_registry_run *run);
void aq_registry_version_init(struct aq_registry_version *v);
void aq_registry_version_release(struct aq_registry_version *v);

/* Find the run of key, or create it with tags (object key -> string; borrowed). */
int aq_registry_begin(struct aq_registry *r, const char *key, const char *run_name, json_t *tags, int64_t start_ms,
		      struct aq_registry_run *run, struct aq_err *e);
/* metrics: object key -> number; params, tags: object key -> string (borrowed); ts = metric timestamp (ms). */
int aq_registry_log(struct aq_registry *r, struct aq_registry_run *run, json_t *metrics, json_t *params,
		    json_t *tags, struct aq_err *e);
/* A file into the version's artifacts (to_model) or the run's. */
int aq_registry_put(struct aq_registry *r, struct aq_registry_run *run, int to_model, const char *rel,
		    const char *file, struct aq_err *e);
/* Make the version (or find the one of this key): run->version. vtags: object (borrowed). */
int aq_registry_commit(struct aq_registry *r, struct aq_registry_run *run, json_t *vtags, struct aq_err *e);
int aq_registry_alias_set(struct aq_registry *r, const char *alias, const char *version, struct aq_err *e);
/* FINISHED when ok, else FAILED. */
int aq_registry_finish(struct aq_registry *r, struct aq_registry_run *run, int ok, struct aq_err *e);
/* The version an alias points at; AQ_ENOTFOUND for an unknown alias. */
int aq_registry_resolve(struct aq_registry *r, const char *alias, struct aq_registry_version *v, struct aq_err *e);
/* One file of a resolved version into a local file (written atomically). */
int aq_registry_fetch(struct aq_registry *r, const struct aq_registry_version *v, const char *rel, const char *file,
		      struct aq_err *e);

/* Local backend (lib/localreg.c), called through the functions above. */
int aq_localreg_open(struct aq_registry *r, const char *dir, struct aq_err *e);
int aq_localreg_begin(struct aq_registry *r, const char *key, json_t *tags, int64_t start_ms,
		      struct aq_registry_run *run, struct aq_err *e);
int aq_localreg_log(struct aq_registry *r, struct aq_registry_run *run, json_t *metrics, json_t *params,
		    json_t *tags, struct aq_err *e);
int aq_localreg_put(struct aq_registry *r, struct aq_registry_run *run, int to_model, const char *rel,
		    const char *file, struct aq_err *e);
int aq_localreg_commit(struct aq_registry *r, struct aq_registry_run *run, json_t *vtags, struct aq_err *e);
int aq_localreg_alias_set(struct aq_registry *r, const char *alias, const char *version, struct aq_err *e);
int aq_localreg_finish(struct aq_registry *r, struct aq_registry_run *run, int ok, struct aq_err *e);
int aq_localreg_resolve(struct aq_registry *r, const char *alias, struct aq_registry_version *v, struct aq_err *e);
int aq_localreg_fetch(struct aq_registry *r, const struct aq_registry_version *v, const char *rel, const char *file,
		      struct aq_err *e);
/* Copy a file atomically (parent directories made). */
int aq_localreg_copy(const char *from, const char *to, struct aq_err *e);

#endif
