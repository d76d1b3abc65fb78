"""DagBag import and the documented task graphs of the aquacast DAGs; the exit-code mapping of
AquacastOperator on real subprocesses. TAP lines; run in the Airflow venv (requirements/airflow.txt)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

DAGS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(DAGS))

from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException  # noqa: E402

import aquacast_common as aq  # noqa: E402

fails = 0


def check(name: str, cond: bool, detail: str = "") -> None:
    global fails
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else f" ({detail})"))
    fails += 0 if cond else 1


bag = DagBag(dag_folder=str(DAGS))
check("DagBag imports dags/ without errors", bag.import_errors == {}, str(bag.import_errors))
check("three DAGs", sorted(bag.dags) == ["aquacast_bootstrap", "aquacast_retrain", "aquacast_stream"], str(sorted(bag.dags)))

PIPE = {
    "train": ["seal"], "seal": ["evaluate"], "evaluate": ["register_challenger", "register_champion"],
    "register_champion": [], "register_challenger": [],
}
GRAPHS = {
    "aquacast_bootstrap": {"seed": ["extract"], "extract": ["train"], **PIPE},
    "aquacast_retrain": {"fetch": ["train"], "champion": ["train"], **PIPE},
    "aquacast_stream": {"replay": [], "rounds": ["ingest"], "ingest": []},
}
for dag_id, want in GRAPHS.items():
    dag = bag.dags.get(dag_id)
    if dag is None:
        check(f"{dag_id}: task graph", False, "missing")
        continue
    got = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    check(f"{dag_id}: task graph as in docs/airflow.md", got == want, f"{got}")
    check(f"{dag_id}: max_active_runs=1", dag.max_active_runs == 1)
    if "train" in dag.task_dict:
        check(f"{dag_id}: train is mapped (.partial().expand())", type(dag.task_dict["train"]).__name__ == "MappedOperator")
        ev = dag.task_dict["evaluate"]
        check(f"{dag_id}: evaluate is the branch (exit 0 → register_champion, 3 → register_challenger)",
              isinstance(ev, aq.AquacastBranchOperator) and ev.inherits_from_skipmixin
              and ev.branches == {0: "register_champion", 3: "register_challenger"}, repr(getattr(ev, "branches", None)))
        up = [t for t in dag.tasks if t.task_id in ("fetch", "extract")][0]
        check(f"{dag_id}: {up.task_id} plans the train ranges and writes summaries/extract.json",
              bool(up.plan_mode) and str(up.summary_file).endswith("/summaries/extract.json"))
retrain = bag.dags.get("aquacast_retrain")
check("aquacast_retrain: daily cron or the readings asset",
      retrain is not None and "AssetOrTimeSchedule" in type(retrain.timetable).__name__
      and "aquacast_readings" in repr(retrain.timetable), repr(getattr(retrain, "timetable", None)))
stream = bag.dags.get("aquacast_stream")
check("aquacast_stream: ingest's outlet is the readings asset",
      stream is not None and any(getattr(o, "name", "") == "aquacast_readings" for o in stream.task_dict["ingest"].partial_kwargs.get("outlets", [])))
check("part ranges cover 0..P-1", aq.part_ranges(8, 3) == ["0-2", "3-5", "6-7"] and aq.part_ranges(2, 5) == ["0-0", "1-1"])
check("train tasks by mode (train_tasks 0): update 1, auto/refit/full 4; a given number wins",
      [aq.train_tasks({"train_tasks": 0}, m) for m in ("update", "auto", "refit", "full")] == [1, 4, 4, 4]
      and aq.train_tasks({}, "update") == 1 and aq.train_tasks({"train_tasks": 3}, "update") == 3)


def run(cmd: str, **kw: object) -> object:
    op = aq.AquacastOperator(task_id="t", bash_command=cmd, **kw)
    return op.execute({})


def raises(cmd: str, exc: type[BaseException], **kw: object) -> str:
    try:
        run(cmd, **kw)
    except exc as e:  # the most specific first: AirflowFailException is an AirflowException
        return str(e)
    except BaseException as e:  # noqa: BLE001
        return f"wrong exception {type(e).__name__}: {e}"
    return "no exception"


s = run("echo log >&2; echo '{\"ok\":true,\"rows\":3,\"exit_code\":0}'")
check("exit 0: the summary line is the XCom", s == {"ok": True, "rows": 3, "exit_code": 0}, str(s))
m = raises("echo \"aquacast-x: error: cannot open 'f'\" >&2; echo '{\"ok\":false,\"exit_code\":1,\"error\":\"cannot open f\"}'; exit 1",
           AirflowException)
check("exit 1: AirflowException (retried) carrying the error", "exit 1: cannot open f" in m, m)
check("exit 1 is not AirflowFailException",
      "no exception" not in raises("exit 1", AirflowFailException) and "wrong exception AirflowException" in raises("exit 1", AirflowFailException))
m = raises("echo '{\"ok\":false,\"exit_code\":2,\"error\":\"bad --x\"}'; exit 2", AirflowFailException)
check("exit 2: AirflowFailException (never retried)", "usage error, not retried: exit 2: bad --x" in m, m)
s = run("echo '{\"ok\":true,\"promoted\":false,\"exit_code\":3}'; exit 3", ok_codes=(0, 3))
check("exit 3 in ok_codes succeeds with the summary (the branch reads the decision)", s.get("promoted") is False, str(s))
check("exit 3 not in ok_codes fails", "exit 3" in raises("exit 3", AirflowException))
m = raises("echo '{\"ok\":true,\"rows\":0}'", AirflowSkipException, skip_when_zero="rows")
check("skip_when_zero: nothing new → skipped (no asset event)", "no new data" in m, m)


class FakeTI:
    """What the operators use of a task instance: xcom_push, xcom_pull, map_index, task."""

    def __init__(self, task: object = None, pulls: object = None) -> None:
        self.task, self.map_index, self.pushed, self.pulls = task, -1, {}, pulls

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value

    def xcom_pull(self, task_ids: object = None, **kw: object) -> object:
        return self.pulls


with tempfile.TemporaryDirectory() as d:
    os.environ["AQUACAST_HOME"] = os.environ["AIRFLOW_VAR_AQUACAST_HOME"] = d  # home(): the Variable first
    os.makedirs(f"{d}/readings")
    Path(f"{d}/readings/_dataset.json").write_text('{"parts": 8}')
    ti = FakeTI()
    op = aq.AquacastOperator(task_id="f", bash_command="echo '{\"ok\":true,\"rows\":5,\"seconds\":1.5}'",
                             plan_mode="auto", summary_file=f"{d}/run/summaries/extract.json")
    out = op.execute({"ti": ti, "params": {"train_tasks": 0}})
    check("plan_mode: the XCom is the part ranges (auto: 4 of 8 parts), the summary under key 'summary'",
          out == [{"AQ_PARTS": r} for r in ("0-1", "2-3", "4-5", "6-7")] and ti.pushed.get("summary", {}).get("rows") == 5,
          f"{out} {ti.pushed}")
    check("summary_file: the summary written as one JSON line",
          json.loads(Path(f"{d}/run/summaries/extract.json").read_text()) == {"ok": True, "rows": 5, "seconds": 1.5})
    out = aq.AquacastOperator(task_id="f", bash_command="echo '{}'", plan_mode="update").execute({"ti": FakeTI(), "params": {}})
    check("plan_mode update: one range over every part", out == [{"AQ_PARTS": "0-7"}], str(out))
    ti = FakeTI(pulls=[{"seconds": 2.0}, {"seconds": 3.0}])
    aq.AquacastOperator(task_id="s", bash_command="echo '{\"ok\":true,\"accounts\":9,\"seconds\":0.5}'",
                        summary_file=f"{d}/run/summaries/train.json", summarise=aq.seal_summary).execute({"ti": ti})
    t = json.loads(Path(f"{d}/run/summaries/train.json").read_text())
    check("seal's summary for register: the ranges' seconds summed plus the seal's",
          t["seconds"] == 5.5 and t["range_tasks"] == 2 and t["range_seconds_max"] == 3.0 and t["accounts"] == 9, str(t))

from airflow.sdk import DAG  # noqa: E402
from airflow.sdk.exceptions import DownstreamTasksSkipped  # noqa: E402

with DAG(dag_id="branch_check", schedule=None) as bdag:
    ev = aq.AquacastBranchOperator(task_id="ev", bash_command="echo '{\"promoted\":false}'; exit 3",
                                   branches={0: "yes", 3: "no"})
    ev >> [aq.AquacastOperator(task_id="yes", bash_command="true"), aq.AquacastOperator(task_id="no", bash_command="true")]
for rc, follow, skipped in ((3, "no", "yes"), (0, "yes", "no")):
    ev.bash_command = f"echo '{{\"promoted\":{str(rc == 0).lower()}}}'; exit {rc}"
    ti = FakeTI(task=ev)
    try:
        ev.execute({"ti": ti})
        got = "no skip"
    except DownstreamTasksSkipped as e:
        got = str(e.tasks)
    check(f"the branch: exit {rc} follows {follow}, skips {skipped}, the summary is still the XCom",
          got == str([(skipped, -1)]) and ti.pushed.get("return_value") == {"promoted": rc == 0}, f"{got} {ti.pushed}")
ev.bash_command = "echo '{\"error\":\"x\"}'; exit 1"
try:
    ev.execute({"ti": FakeTI(task=ev)})
    got = "no exception"
except AirflowFailException as e:
    got = f"AirflowFailException {e}"
except AirflowException as e:
    got = str(e)
check("the branch: exit 1 still fails with the error (retried)", got == "exit 1: x", got)
sys.exit(1 if fails else 0)
