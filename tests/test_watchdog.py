"""The watchdog's last resort: a HiGHS solve that does not stop when cancelled (some of its phases
do not heed a cancel) is left running in its thread and reported from what its callbacks saw;
the command line then ends its process with os._exit, its results written, its exit code kept."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import highspy
import numpy as np
import pytest

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import solver
from measureopt.formulation import build
from measureopt.solver import SolverSettings, Status


@pytest.fixture
def deaf_highs(monkeypatch):
    """HiGHS as in the phases that ignore a cancel; the watchdog fires at once and gives up at once."""
    monkeypatch.setattr(highspy.Highs, "cancelSolve", lambda self: None)
    monkeypatch.setattr(solver, "WATCHDOG_GRACE_S", -1e9)
    monkeypatch.setattr(solver, "ABANDON_AFTER_S", 0.0)
    left: list = []
    monkeypatch.setattr(solver, "_LEFT_RUNNING", left)
    yield left
    for highs in left:  # the solves finish by themselves before this process may end
        highs.HandleKeyboardInterrupt = False
        highs.wait()


def test_a_solve_that_ignores_the_cancel_is_left_running_and_reported(tmp_path, deaf_highs):
    case = mo.load(generate_case(tmp_path / "g", 300, 50, seed=1))
    form = build(case)
    reuse = solver.Reuse()
    result = solver.solve(form, SolverSettings(time_limit_s=60), reuse=reuse)
    assert len(deaf_highs) == 1
    assert reuse.highs is None  # the kept model is busy: never edited again
    assert "left running" in result.highs_status
    if result.status == Status.TIME_LIMIT:  # the last improving solution HiGHS reported
        assert result.x is not None and result.objective == pytest.approx(form.objective @ result.x)
        assert result.dual_bound >= result.objective - 1e-6  # a maximisation: the bound lies above
    else:
        assert result.status == Status.NO_SOLUTION and result.x is None


SCRIPT = """
import sys
import highspy
from measureopt import cli, solver
highspy.Highs.cancelSolve = lambda self: None
solver.WATCHDOG_GRACE_S, solver.ABANDON_AFTER_S = -1e9, 0.0
sys.argv = ["measureopt", "solve", {case!r}, "--out", {out!r}, "--quiet"]
cli.entry()
"""


def test_the_command_line_still_writes_its_results_and_exit_code(tmp_path):
    case, out = generate_case(tmp_path / "g", 300, 50, seed=1), tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT.format(case=str(case), out=str(out)))],
                          capture_output=True, text=True, timeout=300)
    assert "terminate called" not in done.stderr and done.returncode in (0, 4), done.stderr
    if done.returncode == 0:  # the incumbent, verified, with its gap
        summary = json.loads((out / "summary.json").read_text())
        assert summary["status"] == "time_limit" and summary["mip_gap"] is not None
    else:
        assert "no solution" in done.stderr and not out.exists()


def test_no_other_solve_starts_while_one_is_left_running(tmp_path, deaf_highs):
    """highspy lets one solve run at a time in a process: the next one says so (exit 4) rather
    than fail with highspy's bare exception, and no shadow prices are computed meanwhile."""
    case = mo.load(generate_case(tmp_path / "g", 600, 50, seed=1))  # a MIP HiGHS takes seconds over
    form = build(case)
    solver.solve(form, SolverSettings(time_limit_s=60))
    assert solver.left_running() == 1
    with pytest.raises(mo.SolverError, match="left running"):
        solver.solve(form, SolverSettings(time_limit_s=60), relax=True)
    assert solver.fixed_integer_duals(form, np.zeros(form.shape[1])) is None
