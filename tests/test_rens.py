"""RENS around the LP relaxation (`heuristics.rens`) and the LP rounded and re-solved
(`heuristics.rounded`) give portfolios of the whole model: integer columns integral, every row
met (checked against the matrix and by the independent verification), never better than the
MIP's optimum; RENS keeps the LP's integral values, rounding selects only measures the LP uses."""
from __future__ import annotations

import numpy as np
import pytest

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt.engine import portfolio_from, solver_settings
from measureopt.formulation import build, gini_ordered
from measureopt.heuristics import rens, rounded
from measureopt.solver import Status, solve
from measureopt.verify import verify
from tests.reference.tiny_cases import write_tiny_case


def _check(form, case, point, optimum):
    integer = form.integrality
    assert np.allclose(point[integer], np.round(point[integer]), rtol=0, atol=1e-6)
    assert np.all(point >= form.col_lower - 1e-9) and np.all(point <= form.col_upper + 1e-9)
    activity, size = form.matrix @ point, abs(form.matrix) @ np.abs(point)
    assert np.all(activity >= form.row_lower - 1e-7 * (1 + size)) and np.all(activity <= form.row_upper + 1e-7 * (1 + size))
    assert verify(case, portfolio_from(form, point)).violations == []
    assert form.sense * (form.objective @ point - optimum) >= -1e-7 * max(1.0, abs(optimum))


def _keeps_integral_values(form, relaxed_x, point):
    kept = form.integrality & (np.abs(relaxed_x - np.round(relaxed_x)) <= 1e-6)
    assert np.allclose(point[kept], np.round(relaxed_x[kept]))


def _selects_only_what_the_lp_uses(form, relaxed_x, point):
    selected = point[form.cols.y] > 0.5
    assert np.all(relaxed_x[form.cols.y][selected] > 1e-6)


def _rens_point(form, relaxed_x, options):
    around = rens(form, relaxed_x, options)
    return around.x if around.status.has_solution else None


def _rounded_point(form, relaxed_x, options):
    point = rounded(form, relaxed_x, options)
    return None if point is None else point.x


@pytest.mark.parametrize("heuristic, keeps", [(_rens_point, _keeps_integral_values), (_rounded_point, _selects_only_what_the_lp_uses)],
                         ids=["rens", "rounded"])
def test_portfolios_of_tiny_cases_meet_every_row(tmp_path, heuristic, keeps):
    checked = 0
    for seed in range(12):
        case = mo.load(write_tiny_case(tmp_path / str(seed), seed, budget_total=True, justice={"vulnerable_share_min": 0.3}))
        form = build(case)
        relaxed = solve(form, solver_settings(case), relax=True)
        if relaxed.status == Status.INFEASIBLE:
            continue
        point = heuristic(form, relaxed.x, solver_settings(case))
        if point is not None:
            _check(form, case, point, solve(form, solver_settings(case)).objective)
            keeps(form, relaxed.x, point)
            checked += 1
    assert checked >= 4


def test_rens_and_rounding_find_a_ranked_portfolio_of_a_generated_justice_case(tmp_path):
    """44 x 50 with a vulnerable share and a Gini cap, ranked by the LP (formulation.gini_ordered)."""
    case = mo.load(generate_case(tmp_path / "c", 44, 50, seed=0, justice={"vulnerable_share_min": 0.3, "gini_max": 0.4}))
    form = build(case)
    relaxed = solve(form, solver_settings(case), relax=True)
    ranked = gini_ordered(form, relaxed.x[form.cols.benefit])
    ranked_lp = solve(ranked, solver_settings(case), relax=True)
    around = rens(ranked, ranked_lp.x, solver_settings(case))
    assert around.status.has_solution
    _check(ranked, case, around.x, ranked_lp.objective)
    _keeps_integral_values(ranked, ranked_lp.x, around.x)
    point = rounded(ranked, ranked_lp.x, solver_settings(case))
    assert point is not None
    _check(ranked, case, point.x, ranked_lp.objective)
    _selects_only_what_the_lp_uses(ranked, ranked_lp.x, point.x)
