"""Re-use between the points of a sweep: the HiGHS model edited in place, the previous portfolio as a
start, chains of points. None of it may change an optimum; the model must really be edited."""
from __future__ import annotations

import pytest

import measureopt as mo
from measureopt.engine import run_case
from measureopt.runner import attempt, run_tasks
from measureopt.solver import Reuse
from tests.conftest import CASES

NETWORK = CASES / "network-100"


def _points(key: str, values) -> list:
    section, name = key.split(".")
    return [mo.load(NETWORK, scenario="unconstrained", overrides={section: {name: v}}) for v in values]


@pytest.mark.parametrize("key, values, edited", [
    ("budget.total_eur", [1.9e9, 2.2e9, 2.5e9, 2.2e9], 3),  # row bounds only: the model is edited
    ("justice.vulnerable_share_min", [0.1, 0.2, 0.3], 0),  # a whole row of coefficients: passed again
])
def test_an_edited_model_and_a_warm_start_give_the_fresh_optimum(key, values, edited):
    reuse, previous = Reuse(), None
    for case in _points(key, values):
        fresh = run_case(case)
        warm = run_case(case, start=previous, reuse=reuse)
        assert not warm.verified.violations
        assert warm.status == fresh.status
        assert warm.objective_value == pytest.approx(fresh.objective_value, rel=1e-6)
        previous = warm.portfolio
    assert reuse.updates == edited


def test_edited_coefficients_reach_highs(monkeypatch):
    """Forced to edit a whole row, the edited model has the optimum of a fresh one."""
    from measureopt import solver
    monkeypatch.setattr(solver, "REUSE_MAX_CHANGED_SHARE", 1.0)
    reuse, optima = Reuse(), set()
    for case in _points("justice.vulnerable_share_min", [0.35, 0.4, 0.45]):  # same pattern, the rule binds
        edited = run_case(case, reuse=reuse)
        assert edited.objective_value == pytest.approx(run_case(case).objective_value, rel=1e-6)
        optima.add(round(edited.objective_value, 3))
    assert reuse.updates == 2 and len(optima) == 3


def test_a_model_of_another_shape_is_passed_again():
    reuse = Reuse()
    run_case(mo.load(NETWORK, scenario="unconstrained"), reuse=reuse)
    run_case(mo.load(CASES / "rural-cluster"), reuse=reuse)
    assert reuse.updates == 0


def _chain(args: list) -> list:
    """A chained task: each value added to the running total of the chain so far (fails on 0)."""
    total, results = 0, []
    for value in args:
        def add(v):
            if v == 0:
                raise mo.InfeasibleError("zero")
            return total + v
        results.append(attempt(add, value))
        if results[-1][0] == "done":
            total = results[-1][1]
    return results


@pytest.mark.parametrize("workers", [1, 2])
def test_chains_are_cut_from_the_tasks_not_from_the_workers(workers):
    tasks = [(i, v) for i, v in enumerate([1, 2, 0, 4, 5, 6, 7])]
    outcomes = run_tasks(_chain, tasks, workers=workers, progress=False, chain=3)
    assert [o.key for o in outcomes] == list(range(7))
    assert [o.value for o in outcomes] == [1, 3, None, 4, 9, 15, 7]  # chains: [1 2 0] [4 5 6] [7]
    assert [o.status for o in outcomes].count("failed") == 1 and "infeasible" in outcomes[2].error


def test_a_reused_model_gets_its_whole_time_limit_at_every_solve():
    """HiGHS sums the run time of all LP solves of one instance against its time limit: solves of a
    kept model (edited between budgets) whose times together pass solver.time_limit_s must each
    still get all of it and end optimal, as a fresh model does."""
    from dataclasses import replace

    from measureopt.engine import solver_settings
    from measureopt.formulation import build
    from measureopt.solver import Status, solve

    cases = _points("budget.total_eur", [1.9e9, 2.5e9])
    forms = [build(case) for case in cases]
    fresh = [solve(form, solver_settings(case), relax=True) for form, case in zip(forms, cases)]
    # ten fresh solves' time each (a margin for a loaded machine); the kept model's solves take
    # about a tenth of a fresh one, so 200 of them sum past it
    options = replace(solver_settings(cases[0]), time_limit_s=10 * max(r.seconds for r in fresh) + 0.01)
    reuse = Reuse()
    results = [solve(forms[i % 2], options, relax=True, reuse=reuse) for i in range(200)]
    assert reuse.updates == 199 and reuse.highs.getRunTime() > options.time_limit_s  # summed past the limit
    assert [r.status for r in results] == [Status.OPTIMAL] * 200
    assert [r.objective for r in results] == pytest.approx([fresh[i % 2].objective for i in range(200)], rel=1e-6)


def test_a_cut_appended_to_the_kept_model_gives_the_fresh_optimum(tmp_path):
    """The Gini cap's cut rounds: the kept LP gets the new row (addRows, HiGHS keeps its basis)
    rather than the whole model again, and every round has the optimum of a fresh solve."""
    import numpy as np

    from benchmarks.generate import generate_case
    from measureopt.formulation import build, gini_cut
    from measureopt.solver import SolverSettings, Status, solve

    case = mo.load(generate_case(tmp_path / "g", 80, 10, seed=3, justice={"gini_max": 0.4}))
    form, reuse, options = build(case), Reuse(), SolverSettings(time_limit_s=60)
    kept = solve(form, options, relax=True, reuse=reuse)
    for _ in range(3):
        form = gini_cut(form, kept.x[form.cols.benefit])
        kept = solve(form, options, relax=True, reuse=reuse)
        fresh = solve(form, options, relax=True)
        assert kept.status == fresh.status == Status.OPTIMAL
        assert kept.objective == pytest.approx(fresh.objective, rel=1e-7)
        activity = form.matrix @ kept.x  # the kept model's answer holds in the whole cut model
        assert np.all(activity >= form.row_lower - 1e-6 * (1 + np.abs(form.row_lower)))
        assert np.all(activity <= form.row_upper + 1e-6 * (1 + np.abs(form.row_upper)))
    assert reuse.updates == 3 and reuse.highs.getNumRow() == form.shape[0]
