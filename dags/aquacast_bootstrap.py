"""aquacast_bootstrap (manual): seed the history into the database, extract it in full, train
every account (full search, mapped over part ranges), evaluate, register the first champion."""

from __future__ import annotations

from airflow.sdk import DAG, Param

from aquacast_common import READINGS, aq_task, dag_kwargs, fetch_task, model_pipeline

with DAG(
    dag_id="aquacast_bootstrap",
    description="seed → extract full → train full (mapped) → seal → evaluate → register",
    schedule=None,
    params={
        "table": Param("PORTAL.ConsumptionDaily", type="string", description="source table"),
        "history": Param(0.2, type="number", minimum=0, maximum=1, description="fraction of the feed seeded"),
        "parts": Param(32, type="integer", minimum=1, maximum=4096, description="parts of a new readings dataset"),
        "train_tasks": Param(4, type="integer", minimum=1, maximum=4096, description="mapped train tasks"),
        "season": Param(7, type="integer", enum=[0, 7]),
        "threads": Param(0, type="integer", minimum=0, maximum=1024, description="0: all cores"),
        "until": Param("", type="string", description="train on readings up to this date (YYYY-MM-DD); empty: all"),
    },
    doc_md=__doc__,
    **dag_kwargs(),
) as dag:
    odbc_env = {"AQUACAST_ODBC": "{{ aq_odbc() }}"}
    # seed --schema creates the table if it is missing (sql/<dialect>/*.sql are idempotent);
    # --replace deletes the seeded days' rows first, so a rerun does not duplicate readings.
    seed = aq_task(
        "seed",
        "stream-replay",
        'seed --csv "{{ aq_feed() }}" --db-table "{{ params.table }}" --schema "{{ aq_sql() }}" '
        "--history {{ params.history }} --replace",
        env=odbc_env,
    )
    extract = fetch_task(
        "extract",
        "extract",
        f'--table "{{{{ params.table }}}}" --out "{READINGS}" --parts {{{{ params.parts }}}} --mode full',
        env=odbc_env,
        mode="full",
    )
    seed >> extract
    model_pipeline(extract, mode="full")
