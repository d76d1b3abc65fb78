"""aquacast_common — the task factory shared by the aquacast DAGs (docs/airflow.md).

One task = one aquacast binary run by `AquacastOperator` (a BashOperator): its last output
line, the binary's JSON summary, becomes the task's XCom through `output_processor`;
exit 0 succeeds, 1 fails and is retried (`retries`), 2 (usage) fails at once with
AirflowFailException (never retried), and the codes in `ok_codes` (evaluate's 3,
"evaluated, not promoted") succeed; `AquacastBranchOperator` (evaluate) is the branch itself,
its exit code choosing the downstream task. The fetch task also plans the mapped train tasks
(its XCom), and fetch, seal and evaluate write the summaries register reads.

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

import functools
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Container, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import Asset, BranchMixIn, Connection, Variable
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

DEFAULT_HOME = "/var/lib/aquacast"
DEFAULT_BIN = "/usr/local/bin"
TRAIN_TASKS = 4  # mapped train tasks (part ranges) of auto, refit, full when params.train_tasks is 0
# updated by aquacast_stream's ingest rounds that landed readings; triggers aquacast_retrain.
# The "x-" scheme is passed through as it is: any other scheme makes Asset() look for a provider's
# URI normaliser, which imports the providers' asset modules and Airflow's ORM models on every
# parse of every DAG file (2.2 s of a 4.9 s parse of the three files on a loaded machine).
READINGS_ASSET = Asset(name="aquacast_readings", uri="x-aquacast://readings")


# Each lookup is a call to the Execution API (a Connection that is not defined: one per secrets
# backend); a command renders aq_home() up to seven times. They are looked up once per process: a
# task's process renders one task (a value changed meanwhile is seen by the next task), and
# `airflow dags test` runs one DAG run.
@functools.cache
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


@functools.cache
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
    """A BashOperator for one aquacast binary: exit codes mapped to Airflow's outcomes.

    summary_file (templated): on success the summary is also written there, one line, atomically
    (the files `aquacast-register --summary NAME=FILE` reads); summarise(context, summary) first
    turns it into what is written (seal: the train summary of the whole run). plan_mode (templated,
    a train mode): the task plans the mapped train tasks after its binary: its XCom is the list of
    part ranges [{"AQ_PARTS": "A-B"}, ...] that train expands over, and the summary goes to the
    XCom key "summary" (and summary_file)."""

    template_fields = (*BashOperator.template_fields, "summary_file", "plan_mode")

    def __init__(
        self,
        *,
        ok_codes: Container[int] = (0,),
        skip_when_zero: str | None = None,
        summary_file: str | None = None,
        summarise: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None,
        plan_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("output_processor", parse_summary)
        kwargs.setdefault("append_env", True)
        super().__init__(skip_on_exit_code=None, **kwargs)
        self.ok_codes = ok_codes
        self.skip_when_zero = skip_when_zero
        self.summary_file = summary_file
        self.summarise = summarise
        self.plan_mode = plan_mode

    def run_binary(self, context: Any) -> tuple[int, Any]:
        """Run the command; exit codes 1, 2 and those not in ok_codes raise; → (exit code, summary)."""
        bash = shutil.which("bash") or "bash"
        result = self.subprocess_hook.run_command(
            command=[bash, "-c", self.bash_command], env=self.get_env(context), cwd=self.cwd
        )
        summary = self.output_processor(result.output)
        rc = result.exit_code
        if rc == 0 or rc in self.ok_codes:
            if self.skip_when_zero and isinstance(summary, dict) and not summary.get(self.skip_when_zero):
                raise AirflowSkipException(f"no new data ('{self.skip_when_zero}' is 0): no asset event")
            if self.summary_file and isinstance(summary, dict):
                write_json_line(self.summary_file, self.summarise(context, summary) if self.summarise else summary)
            return rc, summary
        error = summary.get("error") if isinstance(summary, dict) else None
        msg = f"exit {rc}: {error or 'see the log above'}"
        if rc == 2:
            raise AirflowFailException(f"usage error, not retried: {msg}")
        raise AirflowException(msg)

    def execute(self, context: Any) -> Any:
        _, summary = self.run_binary(context)
        if self.plan_mode:
            context["ti"].xcom_push(key="summary", value=summary)
            return plan(context["params"], self.plan_mode)
        return summary


class AquacastBranchOperator(AquacastOperator, BranchMixIn):
    """An AquacastOperator that is also the branch: `branches` maps the binary's exit code (in
    ok_codes) to the downstream task to run; the others downstream are skipped. Its XCom is still
    the binary's summary."""

    inherits_from_skipmixin = True

    def __init__(self, *, branches: dict[int, str], **kwargs: Any) -> None:
        kwargs.setdefault("ok_codes", tuple(branches))
        super().__init__(**kwargs)
        self.branches = branches

    def execute(self, context: Any) -> Any:
        rc, summary = self.run_binary(context)
        # do_branch raises DownstreamTasksSkipped, which ends execute: push the summary first
        context["ti"].xcom_push(key="return_value", value=summary)
        self.do_branch(context, self.branches[rc])
        return summary


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


def write_json_line(path: str, value: dict[str, Any]) -> None:
    """One JSON line to path: temp file, fsync, rename, fsync the directory (a reader sees the
    old file or the new, never half of one)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(value, separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)
    fd = os.open(p.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def train_tasks(params: Any, mode: str) -> int:
    """params.train_tasks, or when 0 by mode: the daily update (seconds of work) in one task, the
    longer searches (auto, refit, full) over TRAIN_TASKS."""
    n = int(params.get("train_tasks", 0) or 0)
    if n > 0:
        return n
    return 1 if mode == "update" else TRAIN_TASKS


def plan(params: Any, mode: str) -> list[dict[str, str]]:
    """The mapped train tasks of a run: the readings' parts split into train_tasks ranges."""
    parts = dataset_parts(os.path.join(home(), "readings"))
    return [{"AQ_PARTS": r} for r in part_ranges(parts, train_tasks(params, mode))]


def seal_summary(context: Any, seal: dict[str, Any]) -> dict[str, Any]:
    """summarise of the seal task: the run's train summary from the seal and every train range."""
    trains = context["ti"].xcom_pull(task_ids=["train"]) or []  # a list: every map index
    return train_summary(list(trains), seal)


# ---- the model pipeline shared by bootstrap and retrain ---------------------------------------

def model_pipeline(
    fetch: AquacastOperator, *, mode: str, prev: str = "", champion: str = "", after: Sequence[Any] = ()
) -> None:
    """fetch (its binary, then the plan: part ranges) → train mapped over them → seal (and the
    train summary) → evaluate, the branch on its exit code → register_champion | register_challenger.

    fetch: made by fetch_task (plans the train ranges, writes summaries/extract.json); mode, prev,
    champion: Jinja fragments (prev/champion: model-set paths or ""); after: other tasks train
    waits for."""
    models = f"{RUN}/models"
    prev_opt = f'--prev "{prev}" ' if prev else ""
    until = "{% if params.until %}--until {{ params.until }} {% endif %}"
    train_cmd = (
        f'mkdir -p "{RUN}" && if [ -f "{models}/_manifest.json" ]; then '
        f'exec {binary("train")} --seal "{models}"; fi; '  # a cleared rerun of a sealed run: no-op
        f'exec {binary("train")} --readings "{READINGS}" --out "{models}" --parts "$AQ_PARTS" '
        f"--mode {mode} {prev_opt}--season {{{{ params.season }}}} --threads {{{{ params.threads }}}} {until}"
    )
    train = AquacastOperator.partial(
        task_id="train",
        bash_command=train_cmd,
        map_index_template="parts {{ task.env['AQ_PARTS'] }}",
        execution_timeout=timedelta(hours=4),
    ).expand(env=fetch.output)
    seal = aq_task("seal", "train", f'--seal "{models}"', summary_file=f"{RUN}/summaries/train.json",
                   summarise=seal_summary)
    champ_opt = f'--champion "{champion}" ' if champion else ""
    # evaluate exits 0 (promoted) or 3 (not promoted): the branch is evaluate itself
    evaluate = AquacastBranchOperator(
        task_id="evaluate",
        bash_command=f"exec {binary('evaluate')} "
        f'--models "{models}" --readings "{READINGS}" {champ_opt}--out "{RUN}/eval" --force '
        "--threads {{ params.threads }}",
        branches={0: "register_champion", 3: "register_challenger"},
        summary_file=f"{RUN}/summaries/evaluate.json",
    )
    register_args = (
        f'--eval "{RUN}/eval" --summary extract="{RUN}/summaries/extract.json" '
        f'--summary train="{RUN}/summaries/train.json" --summary evaluate="{RUN}/summaries/evaluate.json" '
        '--key "{{ aq_run_hash(dag.dag_id, run_id) }}" --airflow-run-id "{{ run_id }}"'
    )
    env = {"MLFLOW_TRACKING_URI": "{{ aq_tracking_uri() }}", "MLFLOW_TRACKING_TOKEN": "{{ aq_tracking_token() }}"}
    reg_ok = aq_task("register_champion", "register", register_args, env=env)
    reg_no = aq_task("register_challenger", "register", register_args, env=env)
    for t in after:
        t >> train
    train >> seal >> evaluate >> [reg_ok, reg_no]


def fetch_task(task_id: str, program: str, args: str, *, mode: str, **kwargs: Any) -> AquacastOperator:
    """The task that brings the readings (extract, ingest): its binary, then the plan of the train
    ranges for mode (its XCom); its summary to summaries/extract.json for register."""
    return aq_task(task_id, program, args, plan_mode=mode, summary_file=f"{RUN}/summaries/extract.json", **kwargs)
