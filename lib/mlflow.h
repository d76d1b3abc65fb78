/* mlflow.h — the MLflow 3 tracking and model-registry REST calls used by register (jansson payloads). */
#ifndef AQ_MLFLOW_H
#define AQ_MLFLOW_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "http.h"

/*
 * Endpoints under <uri>/api/2.0/mlflow/ (and the artifact proxy
 * <uri>/api/2.0/mlflow-artifacts/artifacts/<path>), as served by MLflow
 * 3.17 (checked against a real server, tests/services/mlflow.sh). A 4xx
 * answer becomes AQ_EHTTP (AQ_ENOTFOUND for RESOURCE_DOES_NOT_EXIST or a
 * 404) with "mlflow: <ERROR_CODE>: <message>"; the error code is kept in
 * m->error_code for callers that branch on it.
 *
 * Limits of runs/log-batch (mlflow/utils/validation.py, verified): 1000
 * metrics, 100 params, 100 tags and 1000 entities in all per call; a
 * param's value cannot change (re-logging the same value is accepted).
 */
#define AQ_MLFLOW_BATCH_METRICS 1000
#define AQ_MLFLOW_BATCH_PARAMS 100
#define AQ_MLFLOW_BATCH_TAGS 100
#define AQ_MLFLOW_BATCH_ENTITIES 1000

struct aq_mlflow {
	struct aq_http http;
	char error_code[64];       /* of the last failed call, "" otherwise */
};

/* uri "http(s)://host:port[/prefix]"; credentials from MLFLOW_TRACKING_TOKEN or _USERNAME/_PASSWORD. */
int aq_mlflow_open(struct aq_mlflow *m, const char *uri, const struct aq_http_opts *o, struct aq_err *e);
void aq_mlflow_release(struct aq_mlflow *m);

/* One call: method, endpoint relative to /api/2.0/mlflow/ (with query), body (stolen; may be NULL). */
int aq_mlflow_call(struct aq_mlflow *m, const char *method, const char *endpoint, json_t *body, json_t **out,
		   struct aq_err *e);

/* Experiment id by name, created when missing (*created says which). */
int aq_mlflow_experiment_ensure(struct aq_mlflow *m, const char *name, char **id, int *created, struct aq_err *e);

struct aq_mlflow_run {
	char *run_id, *artifact_uri, *status;
	int64_t start_time;
	json_t *tags;              /* object key -> value (strings) */
};
void aq_mlflow_run_init(struct aq_mlflow_run *r);
void aq_mlflow_run_release(struct aq_mlflow_run *r);
/* Active run of the experiment whose tag key == value; AQ_ENOTFOUND when none. */
int aq_mlflow_run_find(struct aq_mlflow *m, const char *exp, const char *key, const char *value,
		       struct aq_mlflow_run *r, struct aq_err *e);
/* tags: array of {"key","value"}, stolen. */
int aq_mlflow_run_create(struct aq_mlflow *m, const char *exp, const char *name, int64_t start_ms, json_t *tags,
			 struct aq_mlflow_run *r, struct aq_err *e);
/* status RUNNING | FINISHED | FAILED | KILLED; end_ms 0 = none. */
int aq_mlflow_run_update(struct aq_mlflow *m, const char *run_id, const char *status, int64_t end_ms,
			 struct aq_err *e);
/* metrics [{key,value,timestamp,step}], params and tags [{key,value}] (all borrowed), split to the limits. */
int aq_mlflow_log_batch(struct aq_mlflow *m, const char *run_id, json_t *metrics, json_t *params, json_t *tags,
			struct aq_err *e);

/* Artifacts through the proxy: uri "mlflow-artifacts:/<path>" (a run's or a LoggedModel's), rel path below it. */
int aq_mlflow_artifact_put(struct aq_mlflow *m, const char *uri, const char *rel, const char *file,
			   struct aq_err *e);
int aq_mlflow_artifact_get(struct aq_mlflow *m, const char *uri, const char *rel, const char *file,
			   struct aq_err *e);

/* LoggedModel (MLflow 3): create for a run; AQ_EUNSUPPORTED when the server has no logged-models API. */
int aq_mlflow_logged_model_create(struct aq_mlflow *m, const char *exp, const char *name, const char *run_id,
				  json_t *tags, char **model_id, char **artifact_uri, struct aq_err *e);
/* Its artifact_uri and status (LOGGED_MODEL_PENDING | _READY | _UPLOAD_FAILED). */
int aq_mlflow_logged_model_get(struct aq_mlflow *m, const char *model_id, char **artifact_uri, char **status,
			       struct aq_err *e);
int aq_mlflow_logged_model_finalize(struct aq_mlflow *m, const char *model_id, int ready, struct aq_err *e);

/* Registered model, created when missing. */
int aq_mlflow_registered_model_ensure(struct aq_mlflow *m, const char *name, struct aq_err *e);
/* The version of name whose tag key == value; AQ_ENOTFOUND when none. */
int aq_mlflow_version_find(struct aq_mlflow *m, const char *name, const char *key, const char *value,
			   json_t **mv, struct aq_err *e);
/* A new version; model_id (MLflow 3 LoggedModel) may be NULL; tags stolen. *mv: the model_version object. */
int aq_mlflow_version_create(struct aq_mlflow *m, const char *name, const char *source, const char *run_id,
			     const char *model_id, json_t *tags, json_t **mv, struct aq_err *e);
int aq_mlflow_version_get(struct aq_mlflow *m, const char *name, const char *version, json_t **mv,
			  struct aq_err *e);
int aq_mlflow_version_set_tag(struct aq_mlflow *m, const char *name, const char *version, const char *key,
			      const char *value, struct aq_err *e);

/* Aliases: set (moves it), delete, get (the model_version object; AQ_ENOTFOUND for an unknown alias). */
int aq_mlflow_alias_set(struct aq_mlflow *m, const char *name, const char *alias, const char *version,
			struct aq_err *e);
int aq_mlflow_alias_delete(struct aq_mlflow *m, const char *name, const char *alias, struct aq_err *e);
int aq_mlflow_alias_get(struct aq_mlflow *m, const char *name, const char *alias, json_t **mv, struct aq_err *e);

#endif
