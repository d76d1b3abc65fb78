"""Run one DAG run in-process as `airflow dags test` does, but with a fixed run_after, so that a
second call reruns the SAME run id (dag.test deletes the old run first: a cleared run, rerun).

    python run_dag.py DAG_ID RUN_AFTER_ISO CONF_JSON      exit 0 when the run succeeded

$AQ_MARK_SUCCESS: a task-id regex marked success without running (as dags test --mark-success-pattern).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path

DAGS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(DAGS))

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

dag_id, when, conf = sys.argv[1], datetime.fromisoformat(sys.argv[2]), json.loads(sys.argv[3])
dag = DagBag(dag_folder=str(DAGS)).dags[dag_id]
dr = dag.test(run_after=when, logical_date=when, run_conf=conf, mark_success_pattern=os.environ.get("AQ_MARK_SUCCESS") or None)
print(f"run {dr.run_id}: {dr.state}")
sys.exit(0 if str(dr.state).endswith("success") else 1)
