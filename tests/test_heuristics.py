"""The greedy starting portfolio keeps every budget, and large solves still verify with it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import engine, solver
from measureopt.heuristics import greedy_portfolio, with_programmes
from measureopt.verify import Portfolio, verify
from tests.conftest import CASES


def test_greedy_portfolio_keeps_every_budget(tmp_path):
    for case_dir in (CASES / "region-44", CASES / "rural-cluster", generate_case(tmp_path / "g", 30, 40, seed=2)):
        case = mo.load(case_dir)
        units, selected = greedy_portfolio(case)
        checked = verify(case, Portfolio(units, selected, np.zeros(len(units)), frozenset(), frozenset()))
        assert not [v for v in checked.violations if "exceeds" in v or "group" in v or "prerequisite" in v]
        assert checked.annual_abatement_t > 0
        # with the programmes worth running (the core's fallback): no programme rule broken, and less spent
        joined = verify(case, with_programmes(case, units, selected))
        assert not [v for v in joined.violations if "exceeds" in v or "programme" in v]
        assert joined.investment_eur <= checked.investment_eur
        assert joined.annual_abatement_t == checked.annual_abatement_t


def test_solve_with_greedy_start_verifies_and_records_a_trajectory(tmp_path, monkeypatch):
    monkeypatch.setattr(solver, "SMALL_MODEL_INTEGERS", 0)  # force the start on a small case
    case = mo.load(generate_case(tmp_path / "g", 20, 30, seed=4))
    with_start = mo.solve(case)
    monkeypatch.setattr(engine, "_start", lambda form, options, objective: (None, 0.0))
    without = mo.solve(case)
    assert with_start.objective_value == without.objective_value or abs(with_start.objective_value - without.objective_value) <= 1e-3 * without.objective_value
    assert with_start.trajectory and with_start.trajectory[-1][3] <= 1e-3


def test_abatement_bound_is_valid_and_tight_enough(tmp_path, tiny_case):
    from measureopt.relaxation import relax_budget

    checked = 0
    for seed in range(40):
        case = mo.load(tiny_case(seed, budget_total=True, objective="max_abatement", justice={}))
        try:
            optimum = mo.solve(case).objective_value
        except mo.InfeasibleError:
            continue
        assert relax_budget(case).bound >= optimum * (1 - 1e-9)
        checked += 1
    assert checked >= 10
    case = mo.load(generate_case(tmp_path / "g", 30, 40, seed=5))
    optimum = mo.solve(case).objective_value
    assert optimum <= relax_budget(case).bound <= 1.05 * optimum  # within 5 % on a realistic case


def test_time_limit_gap_uses_the_tighter_certified_bound(tmp_path):
    from measureopt.relaxation import relax_budget
    from measureopt.solver import SolveResult, Status

    case = mo.load(generate_case(tmp_path / "g", 30, 40, seed=5))
    bound = relax_budget(case).bound
    value = 0.9 * bound
    loose = SolveResult(Status.TIME_LIMIT, None, value, 0.5, 1.5 * value, 1.0, "time limit")
    assert engine.certified_gap(case, loose, value) == ((bound - value) / value, bound)
    tight = replace(loose, dual_bound=1.01 * value, mip_gap=0.01)
    assert engine.certified_gap(case, tight, value) == (0.01, 1.01 * value)
    optimal = replace(loose, status=Status.OPTIMAL)
    assert engine.certified_gap(case, optimal, value) == (0.5, 1.5 * value)  # only a time limit is re-certified


def test_a_greedy_start_that_breaks_a_rule_gives_way_to_rens(tmp_path):
    """Above 2,000 integer columns HiGHS starts from the greedy portfolio when it meets every rule;
    under a population floor, which greedy ignores, it starts from RENS's portfolio around the LP
    relaxation (engine._start), which meets every rule, and never reports a worse one."""
    from measureopt.engine import _start, greedy_start, portfolio_from, solver_settings
    from measureopt.formulation import build

    directory = generate_case(tmp_path / "g", 100, 50, seed=0)
    plain = mo.load(directory)
    form = build(plain)
    start, _ = _start(form, solver_settings(plain), None)
    assert [list(part) for part in start] == [list(part) for part in greedy_start(form)]

    floored = mo.load(directory, overrides={"justice": {"population_floor": 0.5}, "solver": {"time_limit_s": 10}})
    assert verify(floored, with_programmes(floored, *greedy_portfolio(floored))).violations  # greedy breaks the floor
    form = build(floored)
    (columns, values), _ = _start(form, solver_settings(floored), None)
    assert list(columns) == list(range(form.shape[1]))
    rens = verify(floored, portfolio_from(form, values))
    assert not rens.violations
    result = mo.solve(floored)
    assert result.objective_value >= rens.annual_abatement_t * (1 - 1e-9)
