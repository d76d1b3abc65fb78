"""aquacast_retrain (daily at 03:00 UTC, and whenever aquacast_stream lands new readings):
fetch the new readings (extract incremental from the database, or a bounded Kafka ingest),
retrain from the current champion (update daily, auto on the 1st, or params.mode) mapped over
part ranges, seal, evaluate against the champion, register (promoted or not)."""

from __future__ import annotations

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, Param

from aquacast_common import (
    READINGS,
    READINGS_ASSET,
    RUN,
    AquacastOperator,
    binary,
    dag_kwargs,
    fetch_task,
    model_pipeline,
)

with DAG(
    dag_id="aquacast_retrain",
    description="fetch → train (mapped) from the champion → seal → evaluate (the branch) → register",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * *", timezone="UTC"), assets=[READINGS_ASSET]
    ),
    params={
        "source": Param("auto", type="string", enum=["auto", "db", "kafka"],
                        description="auto: kafka when an asset event started the run, else db"),
        "mode": Param("daily", type="string", enum=["daily", "update", "auto", "refit", "full"],
                      description="daily: update, and auto on the 1st of the month"),
        "champion": Param("registry", type="string",
                          description="'registry': download the champion alias; else a model-set path"),
        "table": Param("PORTAL.ConsumptionDaily", type="string"),
        "topic": Param("water.readings.daily", type="string"),
        "group": Param("aquacast", type="string", description="Kafka consumer group"),
        "idle_timeout": Param(10, type="number", minimum=0.1),
        "max_messages": Param(10_000_000, type="integer", minimum=1),
        "train_tasks": Param(0, type="integer", minimum=0, maximum=4096,
                             description="mapped train tasks; 0: 1 for update, 4 for auto/refit/full"),
        "season": Param(7, type="integer", enum=[0, 7]),
        "threads": Param(0, type="integer", minimum=0, maximum=1024),
        "until": Param("", type="string", description="train on readings up to this date; empty: all"),
    },
    doc_md=__doc__,
    **dag_kwargs(),
) as dag:
    mode = "{{ aq_train_mode(params, dag_run) }}"
    fetch = fetch_task(
        "fetch",
        "extract",
        "{% if aq_source(params, dag_run) == 'kafka' %}"
        '--kafka "$KAFKA_BROKERS" --topic "{{ params.topic }}" --group "{{ params.group }}" '
        f'--out "{READINGS}" '
        "--idle-timeout {{ params.idle_timeout }} --max-messages {{ params.max_messages }}"
        "{% else %}"
        f'--table "{{{{ params.table }}}}" --out "{READINGS}" --mode incremental'
        "{% endif %}",
        env={"AQUACAST_ODBC": "{{ aq_odbc() }}", "KAFKA_BROKERS": "{{ aq_kafka() }}"},
        mode=mode,
    )
    # The champion the run starts from and is gated against: downloaded from the registry into
    # the run's directory (a rerun resolves it again instead), or a model set given by path.
    champion_dir = f"{RUN}/champion"
    champion = AquacastOperator(
        task_id="champion",
        bash_command=(
            f'mkdir -p "{RUN}" && '
            "{% if params.champion == 'registry' %}"
            f'if [ -f "{champion_dir}/aquacast-manifest.json" ]; then '
            f'exec {binary("register")} --resolve champion; fi; '
            f'exec {binary("register")} --download champion "{champion_dir}"'
            "{% else %}"
            f'exec {binary("shard")} verify "{{{{ params.champion }}}}"'
            "{% endif %}"
        ),
        env={"MLFLOW_TRACKING_URI": "{{ aq_tracking_uri() }}", "MLFLOW_TRACKING_TOKEN": "{{ aq_tracking_token() }}"},
    )
    champ_set = (
        "{% if params.champion == 'registry' %}" + champion_dir + "/data/models"
        "{% else %}{{ params.champion }}{% endif %}"
    )
    model_pipeline(fetch, after=[champion], mode=mode, prev=champ_set, champion=champ_set)
