/* register.h — the register job: one evaluated model set tracked as a run and versioned as a model (MLflow or file:). */
#ifndef AQ_REGISTER_H
#define AQ_REGISTER_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "http.h"

/*
 * aq_register_run takes evaluate's output directory E (E/models, E/metrics,
 * E/summary.json, E/decision.json; docs/formats.md) and the JSON summary
 * lines of the pipeline's jobs, and in the registry at uri:
 *   1. finds the run of the key (default: sha256 over the paths and sha256s
 *      of the model set, the metrics set and decision.json) or creates it,
 *      with tags (git revision, trained-until, watermark, mode, host,
 *      Airflow run id, promoted);
 *   2. logs params (train mode and season, the series rule, the gate's
 *      thresholds) and metrics: the three timings (fetch_*, train_*,
 *      evaluate_*: seconds, rows/accounts, rates), the accounts ok /
 *      fallback / failed, MASE per forecaster, anomalies, the gate figures;
 *   3. uploads the version's files (lib/pyfunc.h layout) and
 *      aquacast-manifest.json last; summary.json, decision.json and the
 *      manifest also as run artifacts;
 *   4. creates the version (once per key) tagged with the decision's
 *      figures, then moves alias "champion" to it when decision.json says
 *      promoted, else "challenger"; finishes the run FINISHED (FAILED on error).
 * A rerun with the same key completes the same run and version.
 */
struct aq_register_opts {
	const char *uri;           /* http(s)://… or file:DIR */
	const char *eval_dir;      /* evaluate --out */
	const char *experiment;    /* default "aquacast" */
	const char *model;         /* default "aquacast-water-forecast" */
	const char *key;           /* NULL: from the files */
	const char *summary_names[8], *summary_files[8];
	int nsummaries;
	const char *airflow_run_id;/* NULL: $AIRFLOW_CTX_DAG_RUN_ID */
	const char *libso;         /* libaquacast.so shipped in the version; NULL: none */
	const char *git_revision;  /* of the binaries */
	const char *mlflow_req;    /* requirements.txt of the pyfunc */
	struct aq_http_opts http;
};

struct aq_register_stats {
	char run_id[64], version[32], alias[32], key[65];
	int promoted, resumed;
	uint64_t files, bytes;
	double seconds;
};

void aq_register_opts_default(struct aq_register_opts *o);
int aq_register_run(const struct aq_register_opts *o, struct aq_register_stats *st, struct aq_err *e);

/*
 * --resolve: the version an alias points at (*out: {"alias","version","run_id",
 * "source","location","tags"}). --download: its files into dir (must not
 * exist; made atomically by renaming a sibling temp dir), each checked
 * against aquacast-manifest.json (bytes, sha256).
 */
int aq_register_resolve(const char *uri, const char *model, const char *alias, const struct aq_http_opts *h,
			json_t **out, struct aq_err *e);
int aq_register_download(const char *uri, const char *model, const char *alias, const char *dir,
			 const struct aq_http_opts *h, json_t **out, struct aq_err *e);

#define AQ_REGISTER_MANIFEST "aquacast-manifest.json"

#endif
