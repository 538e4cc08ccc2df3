"""The parallel runner: order, failures, bugs, Ctrl-C, and the same outcomes in-process and on local
processes (the Dask LocalCluster run is in test_sweep.py, on a whole sweep)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import measureopt as mo
from measureopt.runner import SCHEDULER_ENV, Outcome, run_tasks
from tests.conftest import CASES, ROOT


def abatement_with_budget(budget: float) -> float:
    """Max abatement of rural-cluster (joint -40 % target) under a total budget: a real solve,
    infeasible when the budget cannot pay for the target."""
    case = mo.load(CASES / "rural-cluster", overrides={"budget": {"total_eur": budget}})
    return mo.solve(case).objective_value


def not_a_measureopt_error(arg):
    raise ValueError(f"bug {arg}")


BUDGETS = [("tiny", 1_000.0), ("half", 60e6), ("full", 113.7e6), ("zero", 0.0)]


def expected_outcomes() -> list[Outcome]:
    """The same tasks solved one by one, without the runner."""
    outcomes = []
    for key, budget in BUDGETS:
        try:
            outcomes.append(Outcome(key, "done", abatement_with_budget(budget)))
        except mo.InfeasibleError as error:
            outcomes.append(Outcome(key, "failed", None, "infeasible: " + " ".join(str(error).split())))
    return outcomes


@pytest.fixture(scope="module")
def expected():
    return expected_outcomes()


def test_in_process_keeps_task_order_and_records_failures(expected):
    outcomes = run_tasks(abatement_with_budget, BUDGETS, workers=1, progress=False)
    assert [o.key for o in outcomes] == ["tiny", "half", "full", "zero"]
    assert [o.status for o in outcomes] == ["failed", "failed", "done", "failed"]
    assert outcomes[0].error.startswith("infeasible: ") and "\n" not in outcomes[0].error
    for got, want in zip(outcomes, expected):  # the same as solving each task alone
        assert (got.key, got.status, got.value) == (want.key, want.status, want.value)
        assert got.error == want.error or got.error[:-3] == want.error[:len(got.error) - 3]  # long reasons are cut


def test_local_processes_give_the_same_outcomes_as_in_process(expected):
    serial = run_tasks(abatement_with_budget, BUDGETS, workers=1, progress=False)
    parallel = run_tasks(abatement_with_budget, BUDGETS, workers=2, progress=False)
    assert parallel == serial


def test_a_bug_in_a_task_is_raised_not_recorded():
    with pytest.raises(ValueError, match="bug 1"):
        run_tasks(not_a_measureopt_error, [("a", 1)], workers=1, progress=False)
    with pytest.raises(ValueError, match="bug"):
        run_tasks(not_a_measureopt_error, [("a", 1), ("b", 2)], workers=2, progress=False)


def sleep_and_mark(arg: tuple[str, float]) -> None:
    """Sleep, then append a line to a file: the test sees from it that tasks finish."""
    marker, seconds = arg
    time.sleep(seconds)
    with open(marker, "a", encoding="utf-8") as out:
        out.write("done\n")


INTERRUPTED_RUN = textwrap.dedent("""
    import json, sys
    from measureopt.runner import run_tasks
    from tests.test_runner import sleep_and_mark
    tasks = [(i, (sys.argv[2], 0.3)) for i in range(40)]
    outcomes = run_tasks(sleep_and_mark, tasks, workers=int(sys.argv[1]), progress=False)
    print(json.dumps([o.status for o in outcomes]))
""")


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_keeps_finished_tasks_and_cancels_the_rest(workers, tmp_path):
    env = dict(os.environ)
    env.pop(SCHEDULER_ENV, None)
    marker = tmp_path / "finished.txt"
    process = subprocess.Popen([sys.executable, "-c", INTERRUPTED_RUN, str(workers), str(marker)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (marker.exists() and marker.read_text().count("done") >= 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    statuses = json.loads(out)
    assert len(statuses) == 40
    assert 1 <= statuses.count("done") < 40, statuses
    assert set(statuses) == {"done", "cancelled"}
