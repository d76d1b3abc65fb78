"""aquacast_common — the task factory shared by the aquacast DAGs (docs/airflow.md).

One task = one aquacast binary run by `AquacastOperator` (a BashOperator): its last output
line, the binary's JSON summary, becomes the task's XCom through `output_processor`;
exit 0 succeeds, 1 fails and is retried (`retries`), 2 (usage) fails at once with
AirflowFailException (never retried), and the codes in `ok_codes` (evaluate's 3,
"evaluated, not promoted") succeed so that a branch downstream reads the decision.

Where things are comes from Airflow at render time, never at parse time:
  Variable  aquacast_home   data root: readings/, runs/<dag>/<run>/, the local registry
            aquacast_bin    directory of the aquacast-<name> binaries
            aquacast_feed   the utility's feed CSV (bootstrap seed, stream replay)
            aquacast_sql    the sql/ directory (schema created by seed --schema)
  Connection aquacast_odbc  extra {"connstr": "DRIVER=...;..."} (or host/port/schema/login
                            and extra {"driver": ...}); the password field is added as PWD=
            aquacast_kafka  host:port (or extra {"brokers": "a:9092,b:9092"})
            aquacast_mlflow extra {"tracking_uri": "http://..."} or host/port; password = token
Secrets travel only in `env=` (AQUACAST_ODBC, MLFLOW_TRACKING_TOKEN): Airflow masks a
Connection's password in the rendered fields and the logs, and the binaries never print them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Container, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import Asset, Connection, Variable
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

DEFAULT_HOME = "/var/lib/aquacast"
DEFAULT_BIN = "/usr/local/bin"
TRAIN_TASKS = 4  # default number of mapped train tasks (part ranges)
# updated by aquacast_stream's ingest rounds that landed readings; triggers aquacast_retrain.
# The "x-" scheme is passed through as it is: any other scheme makes Asset() look for a provider's
# URI normaliser, which imports the providers' asset modules and Airflow's ORM models on every
# parse of every DAG file (2.2 s of a 4.9 s parse of the three files on a loaded machine).
READINGS_ASSET = Asset(name="aquacast_readings", uri="x-aquacast://readings")


def _var(key: str, env: str, default: str) -> str:
    return str(Variable.get(key, default=os.environ.get(env, default)))


def home() -> str:
    return _var("aquacast_home", "AQUACAST_HOME", DEFAULT_HOME)


def bin_dir() -> str:
    return _var("aquacast_bin", "AQUACAST_BIN", DEFAULT_BIN)


def feed_csv() -> str:
    return _var("aquacast_feed", "AQUACAST_FEED", os.path.join(home(), "feed.csv"))


def sql_dir() -> str:
    return _var("aquacast_sql", "AQUACAST_SQL", "/usr/local/share/aquacast/sql")


def _conn(conn_id: str) -> Any | None:
    try:
        return Connection.get(conn_id)
    except Exception:  # not defined: the embedded default
        return None


def odbc_connstr(conn_id: str = "aquacast_odbc") -> str:
    """The ODBC connection string of the source database (SQLite file under home by default)."""
    c = _conn(conn_id)
    if c is None:
        return f"DRIVER=SQLite3;Database={home()}/portal.db"
    extra = c.extra_dejson or {}
    if extra.get("connstr"):
        s = str(extra["connstr"]).rstrip(";")
    else:
        parts = [f"DRIVER={{{extra.get('driver', 'PostgreSQL Unicode')}}}"]
        if c.host:
            parts.append(f"Server={c.host}")
        if c.port:
            parts.append(f"Port={c.port}")
        if c.schema:
            parts.append(f"Database={c.schema}")
        s = ";".join(parts)
    if c.login:
        s += f";UID={c.login}"
    if c.password:
        s += f";PWD={c.password}"
    return s


def kafka_brokers(conn_id: str = "aquacast_kafka") -> str:
    c = _conn(conn_id)
    if c is None:
        return os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092")
    extra = c.extra_dejson or {}
    if extra.get("brokers"):
        return str(extra["brokers"])
    return f"{c.host}:{c.port or 9092}"


def tracking_uri(conn_id: str = "aquacast_mlflow") -> str:
    c = _conn(conn_id)
    if c is None:
        return f"file:{home()}/registry"
    extra = c.extra_dejson or {}
    if extra.get("tracking_uri"):
        return str(extra["tracking_uri"])
    scheme = c.schema or "http"
    return f"{scheme}://{c.host}:{c.port or 5000}"


def tracking_token(conn_id: str = "aquacast_mlflow") -> str:
    c = _conn(conn_id)
    return str(c.password) if c is not None and c.password else ""


def run_key(run_id: str) -> str:
    """A run id as a directory name: the outputs of a run are named by it (idempotent reruns)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", run_id)


def run_dir(dag_id: str, run_id: str) -> str:
    return os.path.join(home(), "runs", dag_id, run_key(run_id))


def train_mode(params: Any, dag_run: Any) -> str:
    """params.mode: update, auto, refit, full; "daily" = update, and auto on the 1st of a month."""
    mode = str(params.get("mode", "daily"))
    if mode != "daily":
        return mode
    when = getattr(dag_run, "run_after", None) or getattr(dag_run, "logical_date", None)
    return "auto" if when is not None and when.day == 1 else "update"


def source(params: Any, dag_run: Any) -> str:
    """params.source: db, kafka, or auto (kafka when an asset event started the run, else db)."""
    src = str(params.get("source", "auto"))
    if src != "auto":
        return src
    # the Task SDK's run_type is an enum whose str() is "DagRunType.ASSET_TRIGGERED": compare its value
    run_type = getattr(dag_run, "run_type", "")
    return "kafka" if str(getattr(run_type, "value", run_type)) == "asset_triggered" else "db"


MACROS = {
    "aq_home": home,
    "aq_bin": bin_dir,
    "aq_feed": feed_csv,
    "aq_sql": sql_dir,
    "aq_odbc": odbc_connstr,
    "aq_kafka": kafka_brokers,
    "aq_tracking_uri": tracking_uri,
    "aq_tracking_token": tracking_token,
    "aq_run_key": run_key,
    "aq_run_hash": lambda dag_id, run_id: hashlib.sha256(f"{dag_id}/{run_id}".encode()).hexdigest()[:32],
    "aq_train_mode": lambda params, dag_run: train_mode(params, dag_run),
    "aq_source": lambda params, dag_run: source(params, dag_run),
}

# Jinja fragments used in the commands
RUN = "{{ aq_home() }}/runs/{{ dag.dag_id }}/{{ aq_run_key(run_id) }}"
READINGS = "{{ aq_home() }}/readings"


def parse_summary(line: str) -> dict[str, Any]:
    """output_processor: the binary's last line, its JSON summary (an object)."""
    try:
        value = json.loads(line)
    except ValueError:
        return {"ok": False, "error": f"no JSON summary in the last output line '{line[:200]}'"}
    return value if isinstance(value, dict) else {"ok": False, "error": "the summary is not an object"}


class AquacastOperator(BashOperator):
    """A BashOperator for one aquacast binary: exit codes mapped to Airflow's outcomes."""

    def __init__(
        self,
        *,
        ok_codes: Container[int] = (0,),
        skip_when_zero: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("output_processor", parse_summary)
        kwargs.setdefault("append_env", True)
        super().__init__(skip_on_exit_code=None, **kwargs)
        self.ok_codes = ok_codes
        self.skip_when_zero = skip_when_zero

    def execute(self, context: Any) -> Any:
        bash = shutil.which("bash") or "bash"
        result = self.subprocess_hook.run_command(
            command=[bash, "-c", self.bash_command], env=self.get_env(context), cwd=self.cwd
        )
        summary = self.output_processor(result.output)
        rc = result.exit_code
        if rc == 0 or rc in self.ok_codes:
            if self.skip_when_zero and isinstance(summary, dict) and not summary.get(self.skip_when_zero):
                raise AirflowSkipException(f"no new data ('{self.skip_when_zero}' is 0): no asset event")
            return summary
        error = summary.get("error") if isinstance(summary, dict) else None
        msg = f"exit {rc}: {error or 'see the log above'}"
        if rc == 2:
            raise AirflowFailException(f"usage error, not retried: {msg}")
        raise AirflowException(msg)


def binary(program: str) -> str:
    return '"{{ aq_bin() }}/aquacast-' + program + '"'


def aq_task(task_id: str, program: str, args: str, **kwargs: Any) -> AquacastOperator:
    """One task running bin/aquacast-<program> <args> (a Jinja template; quote paths)."""
    return AquacastOperator(task_id=task_id, bash_command=f"exec {binary(program)} {args}", **kwargs)


def default_args() -> dict[str, Any]:
    return {
        "owner": "aquacast",
        "retries": int(os.environ.get("AQUACAST_RETRIES", "2")),
        "retry_delay": timedelta(seconds=float(os.environ.get("AQUACAST_RETRY_DELAY", "60"))),
        "execution_timeout": timedelta(hours=2),
    }


def dag_kwargs(**overrides: Any) -> dict[str, Any]:
    """What every aquacast DAG shares: DAG(dag_id=..., schedule=..., params=..., **dag_kwargs())."""
    kwargs: dict[str, Any] = {
        "start_date": datetime(2026, 1, 1),
        "catchup": False,
        "max_active_runs": 1,  # two runs of one DAG would write the same readings and registry
        "default_args": default_args(),
        "user_defined_macros": MACROS,
        "tags": ["aquacast"],
    }
    kwargs.update(overrides)
    return kwargs


def part_ranges(parts: int, tasks: int) -> list[str]:
    """Split parts 0..P-1 into at most `tasks` contiguous ranges "A-B" of nearly equal size."""
    tasks = max(1, min(tasks, parts))
    out, start = [], 0
    for i in range(tasks):
        n = parts // tasks + (1 if i < parts % tasks else 0)
        out.append(f"{start}-{start + n - 1}")
        start += n
    return out


def dataset_parts(readings: str) -> int:
    with open(os.path.join(readings, "_dataset.json"), encoding="utf-8") as f:
        return int(json.load(f)["parts"])


def train_summary(trains: Sequence[dict[str, Any]], seal: dict[str, Any]) -> dict[str, Any]:
    """The run's train summary for register: seal's counts, the binaries' time summed over ranges."""
    out = dict(seal)
    secs = [float(t.get("seconds") or 0) for t in trains if isinstance(t, dict)]
    out["program"] = "aquacast-train"
    out["seconds"] = sum(secs) + float(seal.get("seconds") or 0)
    out["range_tasks"] = len(secs)
    out["range_seconds_max"] = max(secs, default=0.0)
    out["seal_seconds"] = float(seal.get("seconds") or 0)
    return out


def write_summaries(run: str, summaries: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Write each job's summary as a one-line file for `aquacast-register --summary NAME=FILE`."""
    d = Path(run) / "summaries"
    d.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, s in summaries.items():
        p = d / f"{name}.json"
        tmp = d / f".{name}.json.tmp"
        tmp.write_text(json.dumps(s, separators=(",", ":")) + "\n", encoding="utf-8")
        os.replace(tmp, p)
        paths[name] = str(p)
    return paths


def decision(run: str) -> dict[str, Any]:
    with open(os.path.join(run, "eval", "decision.json"), encoding="utf-8") as f:
        return dict(json.load(f))


# ---- the model pipeline shared by bootstrap and retrain ---------------------------------------

def model_pipeline(
    fetch: AquacastOperator, *, mode: str, prev: str = "", champion: str = "", after: Sequence[Any] = ()
) -> None:
    """fetch → plan (part ranges) → train mapped over them → seal → evaluate → summaries →
    decide (branch on decision.json) → register_champion | register_challenger.

    mode, prev, champion: Jinja fragments (prev/champion: model-set paths or ""); after: the
    tasks plan waits for (default: fetch)."""
    from airflow.sdk import get_current_context, task

    @task
    def plan(params: dict[str, Any] | None = None) -> list[dict[str, str]]:
        ctx = get_current_context()
        parts = dataset_parts(os.path.join(home(), "readings"))
        tasks = int((params or ctx["params"]).get("train_tasks", TRAIN_TASKS))
        return [{"AQ_PARTS": r} for r in part_ranges(parts, tasks)]

    models = f"{RUN}/models"
    prev_opt = f'--prev "{prev}" ' if prev else ""
    until = "{% if params.until %}--until {{ params.until }} {% endif %}"
    train_cmd = (
        f'mkdir -p "{RUN}" && if [ -f "{models}/_manifest.json" ]; then '
        f'exec {binary("train")} --seal "{models}"; fi; '  # a cleared rerun of a sealed run: no-op
        f'exec {binary("train")} --readings "{READINGS}" --out "{models}" --parts "$AQ_PARTS" '
        f"--mode {mode} {prev_opt}--season {{{{ params.season }}}} --threads {{{{ params.threads }}}} {until}"
    )
    ranges = plan()
    train = AquacastOperator.partial(
        task_id="train",
        bash_command=train_cmd,
        map_index_template="parts {{ task.env['AQ_PARTS'] }}",
        execution_timeout=timedelta(hours=4),
    ).expand(env=ranges)
    seal = aq_task("seal", "train", f'--seal "{models}"')
    champ_opt = f'--champion "{champion}" ' if champion else ""
    evaluate = aq_task(
        "evaluate",
        "evaluate",
        f'--models "{models}" --readings "{READINGS}" {champ_opt}--out "{RUN}/eval" --force '
        "--threads {{ params.threads }}",
        ok_codes=(0, 3),
    )

    @task
    def summaries(extract: dict[str, Any], trains: Sequence[dict[str, Any]], sealed: dict[str, Any],
                  evaluated: dict[str, Any]) -> dict[str, str]:
        ctx = get_current_context()
        run = run_dir(ctx["dag"].dag_id, ctx["run_id"])
        return write_summaries(run, {
            "extract": extract,
            "train": train_summary(list(trains), sealed),
            "evaluate": evaluated,
        })

    @task.branch
    def decide() -> str:
        ctx = get_current_context()
        d = decision(run_dir(ctx["dag"].dag_id, ctx["run_id"]))
        return "register_champion" if d.get("promoted") else "register_challenger"

    sums = summaries(fetch.output, train.output, seal.output, evaluate.output)
    register_args = (
        f'--eval "{RUN}/eval" --summary extract="{RUN}/summaries/extract.json" '
        f'--summary train="{RUN}/summaries/train.json" --summary evaluate="{RUN}/summaries/evaluate.json" '
        '--key "{{ aq_run_hash(dag.dag_id, run_id) }}" --airflow-run-id "{{ run_id }}"'
    )
    env = {"MLFLOW_TRACKING_URI": "{{ aq_tracking_uri() }}", "MLFLOW_TRACKING_TOKEN": "{{ aq_tracking_token() }}"}
    reg_ok = aq_task("register_champion", "register", register_args, env=env)
    reg_no = aq_task("register_challenger", "register", register_args, env=env)
    branch = decide()
    for t in after or [fetch]:
        t >> ranges
    train >> seal >> evaluate >> sums >> branch >> [reg_ok, reg_no]
