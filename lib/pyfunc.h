/* pyfunc.h — the MLflow Model files of a model version (MLmodel, python_function flavor, env, loader code). */
#ifndef AQ_PYFUNC_H
#define AQ_PYFUNC_H

#include "err.h"

/*
 * A model version's artifact root is an MLflow Model directory:
 *
 *   MLmodel                    flavors.python_function: loader_module aquacast_pyfunc,
 *                              code "code", data "data", env python_env.yaml; a signature
 *   python_env.yaml, requirements.txt
 *   code/aquacast_pyfunc.py    python/aquacast_pyfunc.py, compiled into the library
 *   data/models/…              the served model set (evaluate's E/models)
 *   data/metrics/…, data/summary.json, data/decision.json
 *   data/lib/libaquacast.so    when given (else the loader uses $AQUACAST_LIBSO)
 *   aquacast-manifest.json     every file above with bytes and sha256, written last
 *
 * aq_pyfunc_write puts the first four into dir (created), for upload.
 * Signature: inputs account_oid long, start_date string, end_date string;
 * outputs account_oid, start_date, end_date, kind ("day"|"total"), date,
 * mean, lo80, hi80, lo95, hi95.
 */
#define AQ_PYFUNC_MLMODEL "MLmodel"
#define AQ_PYFUNC_CODE "code/aquacast_pyfunc.py"

struct aq_pyfunc_meta {
	const char *run_id;        /* may be NULL */
	const char *model_id;      /* MLflow 3 LoggedModel id; may be NULL */
	const char *mlflow_req;    /* requirements.txt line, e.g. "mlflow==3.17.2" */
	const char *python_version;/* e.g. "3.11" */
	const char *created;       /* "YYYY-MM-DD HH:MM:SS.ffffff" UTC */
};

int aq_pyfunc_write(const char *dir, const struct aq_pyfunc_meta *m, struct aq_err *e);

#endif
