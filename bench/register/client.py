"""client.py — the MLflow Python client doing what aquacast-register does: same params, metrics, tags, files, one run.

usage: client.py URI REFERENCE_RUN_ID VERSION_DIR   (prints one JSON line: seconds)
The params/metrics/tags are read from the run aquacast-register made (so both log the same);
the files are those of the version (downloaded and verified by aquacast-register --download),
uploaded as a LoggedModel of the run and registered as a version with an alias, as register does.
"""
import json
import sys
import time

import mlflow
from mlflow.entities import Metric, Param, RunTag

uri, ref, vdir = sys.argv[1:4]
c = mlflow.MlflowClient(uri)
r = c.get_run(ref)
params, metrics = r.data.params, r.data.metrics
tags = {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.") and k != "aquacast.register_key"}
t0 = time.time()
exp = c.get_experiment_by_name("aquacast-bench-python") or None
exp_id = exp.experiment_id if exp else c.create_experiment("aquacast-bench-python")
run = c.create_run(exp_id, tags=tags)
rid = run.info.run_id
ts = int(time.time() * 1000)
c.log_batch(rid, metrics=[Metric(k, v, ts, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()], tags=[])
lm = c.create_logged_model(exp_id, name="aquacast-water-forecast-py", source_run_id=rid)
c.log_model_artifacts(lm.model_id, vdir)
c.finalize_logged_model(lm.model_id, "READY")
try:
    c.create_registered_model("aquacast-water-forecast-py")
except mlflow.exceptions.MlflowException:
    pass
mv = c.create_model_version("aquacast-water-forecast-py", "models:/%s" % lm.model_id, run_id=rid, model_id=lm.model_id)
c.set_registered_model_alias("aquacast-water-forecast-py", "challenger", mv.version)
c.set_terminated(rid, "FINISHED")
print(json.dumps({"seconds": time.time() - t0, "metrics": len(metrics), "params": len(params)}))
