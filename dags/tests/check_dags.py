"""DagBag import and the documented task graphs of the aquacast DAGs; the exit-code mapping of
AquacastOperator on real subprocesses. TAP lines; run in the Airflow venv (requirements/airflow.txt)."""

from __future__ import annotations

import sys
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
    "plan": ["train"], "train": ["seal", "summaries"], "seal": ["evaluate", "summaries"],
    "evaluate": ["summaries"], "summaries": ["decide"], "decide": ["register_challenger", "register_champion"],
    "register_champion": [], "register_challenger": [],
}
GRAPHS = {
    "aquacast_bootstrap": {"seed": ["extract"], "extract": ["plan", "summaries"], **PIPE},
    "aquacast_retrain": {"fetch": ["plan", "summaries"], "champion": ["plan"], **PIPE},
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
retrain = bag.dags.get("aquacast_retrain")
check("aquacast_retrain: daily cron or the readings asset",
      retrain is not None and "AssetOrTimeSchedule" in type(retrain.timetable).__name__
      and "aquacast_readings" in repr(retrain.timetable), repr(getattr(retrain, "timetable", None)))
stream = bag.dags.get("aquacast_stream")
check("aquacast_stream: ingest's outlet is the readings asset",
      stream is not None and any(getattr(o, "name", "") == "aquacast_readings" for o in stream.task_dict["ingest"].partial_kwargs.get("outlets", [])))
check("part ranges cover 0..P-1", aq.part_ranges(8, 3) == ["0-2", "3-5", "6-7"] and aq.part_ranges(2, 5) == ["0-0", "1-1"])


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
sys.exit(1 if fails else 0)
