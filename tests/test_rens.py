"""RENS around the LP relaxation (`heuristics.rens`) gives a portfolio of the whole model: integer
columns integral, every row met (checked against the matrix and by the independent verification),
the LP's integral values kept, and never better than the MIP's optimum."""
from __future__ import annotations

import numpy as np

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt.engine import portfolio_from, solver_settings
from measureopt.formulation import build, gini_ordered
from measureopt.heuristics import rens
from measureopt.solver import Status, solve
from measureopt.verify import verify
from tests.reference.tiny_cases import write_tiny_case


def _check(form, case, relaxed_x, point, optimum):
    integer = form.integrality
    assert np.allclose(point[integer], np.round(point[integer]), rtol=0, atol=1e-6)
    kept = integer & (np.abs(relaxed_x - np.round(relaxed_x)) <= 1e-6)
    assert np.allclose(point[kept], np.round(relaxed_x[kept]))
    assert np.all(point >= form.col_lower - 1e-9) and np.all(point <= form.col_upper + 1e-9)
    activity, size = form.matrix @ point, abs(form.matrix) @ np.abs(point)
    assert np.all(activity >= form.row_lower - 1e-7 * (1 + size)) and np.all(activity <= form.row_upper + 1e-7 * (1 + size))
    assert verify(case, portfolio_from(form, point)).violations == []
    assert form.sense * (form.objective @ point - optimum) >= -1e-7 * max(1.0, abs(optimum))


def test_rens_portfolios_of_tiny_cases_meet_every_row(tmp_path):
    checked = 0
    for seed in range(12):
        case = mo.load(write_tiny_case(tmp_path / str(seed), seed, budget_total=True, justice={"vulnerable_share_min": 0.3}))
        form = build(case)
        relaxed = solve(form, solver_settings(case), relax=True)
        if relaxed.status == Status.INFEASIBLE:
            continue
        around = rens(form, relaxed.x, solver_settings(case))
        if around.status.has_solution:
            _check(form, case, relaxed.x, around.x, solve(form, solver_settings(case)).objective)
            checked += 1
    assert checked >= 4


def test_rens_finds_a_ranked_portfolio_of_a_generated_justice_case(tmp_path):
    """44 x 50 with a vulnerable share and a Gini cap, ranked by the LP (formulation.gini_ordered)."""
    case = mo.load(generate_case(tmp_path / "c", 44, 50, seed=0, justice={"vulnerable_share_min": 0.3, "gini_max": 0.4}))
    form = build(case)
    relaxed = solve(form, solver_settings(case), relax=True)
    ranked = gini_ordered(form, relaxed.x[form.cols.benefit])
    ranked_lp = solve(ranked, solver_settings(case), relax=True)
    around = rens(ranked, ranked_lp.x, solver_settings(case))
    assert around.status.has_solution
    _check(ranked, case, ranked_lp.x, around.x, ranked_lp.objective)
