"""aquacast_stream (manual, long-running): stream-replay produces the feed after the seeded
history to Kafka (resuming from its checkpoint) while bounded ingest rounds (Kafka → the
readings shards) run one after the other; a round that landed readings updates the asset
aquacast_readings, which triggers aquacast_retrain."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param, get_current_context, task

from aquacast_common import READINGS, READINGS_ASSET, AquacastOperator, binary, dag_kwargs, kafka_brokers

with DAG(
    dag_id="aquacast_stream",
    description="stream-replay run ∥ bounded Kafka ingest rounds → asset aquacast_readings",
    schedule=None,
    params={
        "topic": Param("water.readings.daily", type="string"),
        "group": Param("aquacast", type="string", description="Kafka consumer group of the ingest"),
        "history": Param(0.2, type="number", minimum=0, maximum=1),
        "speed": Param("max", type="string", description="simulated days per second, or max"),
        "until": Param("", type="string", description="last day to produce (YYYY-MM-DD); empty: the end"),
        "rounds": Param(24, type="integer", minimum=1, maximum=10_000, description="ingest rounds"),
        "idle_timeout": Param(30, type="number", minimum=0.1, description="a round ends after S s idle"),
        "max_messages": Param(1_000_000, type="integer", minimum=1, description="a round's bound"),
    },
    doc_md=__doc__,
    **dag_kwargs(),
) as dag:
    kafka_env = {"KAFKA_BROKERS": "{{ aq_kafka() }}"}
    replay = AquacastOperator(
        task_id="replay",
        bash_command=(
            'mkdir -p "{{ aq_home() }}/stream" && '
            f'exec {binary("stream-replay")} run --csv "{{{{ aq_feed() }}}}" --topic "{{{{ params.topic }}}}" '
            '--history {{ params.history }} --speed {{ params.speed }} '
            '--state "{{ aq_home() }}/stream/replay.state" '
            "{% if params.until %}--until {{ params.until }}{% endif %}"
        ),
        env=kafka_env,
        execution_timeout=timedelta(days=2),
    )

    @task
    def rounds() -> list[dict[str, str]]:
        n = int(get_current_context()["params"]["rounds"])
        brokers = kafka_brokers()  # resolved here: values mapped from an XCom are not templated
        return [{"AQ_ROUND": str(i), "KAFKA_BROKERS": brokers} for i in range(n)]

    ingest = AquacastOperator.partial(
        task_id="ingest",
        bash_command=(
            f'exec {binary("extract")} --kafka "$KAFKA_BROKERS" --topic "{{{{ params.topic }}}}" '
            f'--group "{{{{ params.group }}}}" --out "{READINGS}" '
            "--idle-timeout {{ params.idle_timeout }} --max-messages {{ params.max_messages }}"
        ),
        # one round at a time; a round that read nothing is skipped: no asset event
        max_active_tis_per_dagrun=1,
        skip_when_zero="rows",
        outlets=[READINGS_ASSET],
        map_index_template="round {{ task.env['AQ_ROUND'] }}",
    ).expand(env=rounds())
