"""register_check.py — what the MLflow Python client sees after aquacast-register (run by tests/integration/register.sh).

venv: requirements/mlflow.txt (tests/services/mlflow.sh python), not the test venv
usage: register_check.py URI SUMMARY_JSON EVAL_DIR ALIAS TRAIN_FORECASTS_JSON [TRAIN_OUT]
Prints TAP lines; TRAIN_FORECASTS_JSON maps account -> train --forecast's JSON object (30 days) with "first_date";
TRAIN_OUT is train's stdout (its summary line carries the search space logged as params).
"""
import hashlib
import json
import os
import sys
import tempfile

import math

import mlflow
import pandas as pd
import pyarrow.dataset as pads

uri, summary, eval_dir, alias, forecasts = sys.argv[1:6]
train_out = sys.argv[6] if len(sys.argv) > 6 else None
fails = 0


def check(name, cond):
    global fails
    print(("ok - " if cond else "not ok - ") + name, flush=True)
    fails += 0 if cond else 1


mlflow.set_tracking_uri(uri)
c = mlflow.MlflowClient()
s = json.load(open(summary))
run = c.get_run(s["run_id"])
check("%s: run finished" % alias, run.info.status == "FINISHED")
m, p, t = run.data.metrics, run.data.params, run.data.tags
check("%s: the three timings are metrics" % alias,
      all(k in m for k in ("fetch_seconds", "train_seconds", "evaluate_seconds")))
check("%s: rows/accounts and rates" % alias,
      m.get("fetch_rows", 0) > 0 and m.get("train_accounts", 0) > 0 and "train_accounts_per_s" in m)
check("%s: accounts ok/fallback/failed and MASE" % alias,
      m["accounts"] == m["accounts_ok"] + m["accounts_fallback"] + m["accounts_failed"] and "mase_served_mean" in m)
check("%s: params (mode, season, series rule, gate)" % alias,
      "train.mode" in p and "train.season" in p and "series.clean_rule" in p and "gate.max_worse_share" in p)
# WAPE and coverage of the served forecaster on the new days, recomputed from the metrics Parquet
mt = pads.dataset(os.path.join(eval_dir, "metrics"), format="parquet").to_table().to_pandas()
sel = mt[(mt.Scope == "new") & (mt.Status == "ok") & (mt.Forecaster == mt.Served)]
want = {"wape_served_mean": sel.WAPE.mean(), "wape_served_median": sel.WAPE.median(),
        "cov80_served_mean": sel.Cov80.mean(), "cov95_served_mean": sel.Cov95.mean()}
check("%s: WAPE and coverage metrics equal the metrics dataset's (%d accounts)" % (alias, len(sel)),
      len(sel) > 0 and all(k in m and math.isclose(m[k], v, rel_tol=1e-9) for k, v in want.items()))
if train_out:
    tr = json.loads(open(train_out).read().splitlines()[-1])
    space = ("max_p", "max_q", "max_P", "max_Q", "min_obs", "window", "hampel_t")
    check("%s: the search space and series rule are params (%s)" % (alias, ", ".join(space)),
          all(float(p.get("train." + k, "nan")) == float(tr[k]) for k in space))
check("%s: tags (revision, trained-until, host, key)" % alias,
      all(k in t for k in ("aquacast.git_revision", "aquacast.trained_until", "aquacast.host", "aquacast.register_key")))
check("%s: no credential in params or tags" % alias,
      not any("secret-token" in str(v) for v in list(p.values()) + list(t.values())))

mv = c.get_model_version_by_alias("aquacast-water-forecast", alias)
check("%s: alias points at the run's version" % alias, mv.version == s["version"] and mv.run_id == s["run_id"])
check("%s: version tags carry the decision" % alias, mv.tags.get("aquacast.promoted") == str(s["promoted"]).lower())
check("%s: version linked to a LoggedModel" % alias, mv.source.startswith("models:/m-"))
versions = c.search_model_versions("name='aquacast-water-forecast' and tags.`aquacast.register_key`='%s'" % s["key"])
check("%s: exactly one version of the key" % alias, len(versions) == 1)

with tempfile.TemporaryDirectory() as d:
    local = mlflow.artifacts.download_artifacts("models:/aquacast-water-forecast@%s" % alias, dst_path=d)
    man = json.load(open(os.path.join(local, "aquacast-manifest.json")))
    same = True
    for f in man["files"]:
        data = open(os.path.join(local, f["path"]), "rb").read()
        same &= hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
    check("%s: downloaded artifacts match the manifest" % alias, same and len(man["files"]) > 10)
    ident = True
    for f in man["files"]:
        if f["path"].startswith("data/") and not f["path"].startswith("data/lib/"):
            orig = os.path.join(eval_dir, f["path"][5:])
            ident &= open(orig, "rb").read() == open(os.path.join(local, f["path"]), "rb").read()
    check("%s: artifacts byte-identical to the evaluation's files" % alias, ident)
    run_files = {a.path for a in c.list_artifacts(s["run_id"])}
    check("%s: summary, decision and manifest on the run" % alias,
          {"summary.json", "decision.json", "aquacast-manifest.json"} <= run_files)

model = mlflow.pyfunc.load_model("models:/aquacast-water-forecast@%s" % alias)
fc = json.load(open(forecasts))
good = True
for acc, want in fc.items():
    first = pd.Timestamp(want["first_date"])
    end = first + pd.Timedelta(days=want["days"] - 1)
    out = model.predict(pd.DataFrame({"account_oid": [int(acc)], "start_date": [first.strftime("%Y-%m-%d")],
                                      "end_date": [end.strftime("%Y-%m-%d")]}))
    days = out[out.kind == "day"]
    tot = out[out.kind == "total"].iloc[0]
    close = lambda a, b: abs(a - b) <= 1e-5 * max(1.0, abs(b))
    good &= len(days) == want["days"] and all(close(a, b) for a, b in zip(days["mean"], want["mean"]))
    good &= close(tot["mean"], want["total"]) and close(tot["lo80"], want["total80"][0]) and \
        close(tot["hi95"], want["total95"][1])
check("%s: pyfunc predict equals train --forecast on %d accounts" % (alias, len(fc)), good and len(fc) >= 3)
sys.exit(1 if fails else 0)
