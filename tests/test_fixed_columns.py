"""Taking fixed columns out before HiGHS (large models, presolve off) changes nothing but the size."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import solver
from measureopt.relaxation import core_case, relax_budget
from measureopt.solver import without_fixed_columns

INF = np.inf


def _arrays(cost, lower, upper, row_lower, row_upper, dense, integrality):
    dense = np.asarray(dense, float)
    start = np.r_[0, np.cumsum((dense != 0).sum(axis=1))]
    rows, cols = np.nonzero(dense)
    return (np.asarray(cost, float), np.asarray(lower, float), np.asarray(upper, float), np.asarray(row_lower, float),
            np.asarray(row_upper, float), start, cols, dense[rows, cols], np.asarray(integrality))


def test_a_fixed_column_moves_into_the_bounds_and_the_offset():
    # min -x0 - 2 x1 - 3 x2, x1 fixed at 2; rows: x0 + x1 <= 3, x1 + x2 in [1, 4], 2 x1 <= 5 (x1 only)
    arrays = _arrays([-1, -2, -3], [0, 2, 0], [5, 2, 5], [-INF, 1, -INF], [3, 4, 5],
                     [[1, 1, 0], [0, 1, 1], [0, 2, 0]], [1, 1, 0])
    reduction = without_fixed_columns(arrays)
    cost, lower, upper, row_lower, row_upper, start, index, value, integrality = reduction.arrays
    assert list(reduction.kept) == [0, 2] and reduction.offset == -4.0
    assert list(cost) == [-1, -3] and list(integrality) == [1, 0]
    assert list(row_lower) == [-INF, -1] and list(row_upper) == [1, 2]  # the x1-only row is gone
    assert list(start) == [0, 1, 2] and list(index) == [0, 1] and list(value) == [1, 1]
    assert list(reduction.full(np.array([1.0, 2.0]))) == [1.0, 2.0, 2.0]
    assert [list(a) for a in reduction.start((np.array([1, 2]), np.array([2.0, 0.5])))] == [[1], [0.5]]


def test_nothing_or_everything_fixed_or_a_broken_row_leaves_the_model_to_highs():
    free = _arrays([-1, -1], [0, 0], [1, 1], [-INF], [1], [[1, 1]], [1, 1])
    assert without_fixed_columns(free) is None
    all_fixed = _arrays([-1, -1], [1, 0], [1, 0], [-INF], [1], [[1, 1]], [1, 1])
    assert without_fixed_columns(all_fixed) is None
    broken = _arrays([-1, -1], [0, 3], [1, 3], [-INF, -INF], [1, 2], [[1, 1], [0, 1]], [1, 1])  # x1 = 3 > 2 alone
    assert without_fixed_columns(broken) is None


@pytest.mark.parametrize("seed", [1, 5])
def test_the_reduced_model_reaches_the_same_optimum(tmp_path, monkeypatch, seed):
    """A core case (many measures made committed) solved with and without the reduction."""
    case = mo.load(generate_case(tmp_path / "g", 30, 30, seed=seed))
    core, _ = core_case(case, relax_budget(case))
    assert (core.measures["status"] == "committed").sum() > 0
    plain = mo.solve(core)
    monkeypatch.setattr(solver, "PRESOLVE_MAX_COLUMNS", 0)  # reduction on (and HiGHS's presolve off)
    reduced = mo.solve(core)
    assert not reduced.verified.violations
    assert reduced.objective_value == pytest.approx(plain.objective_value, rel=1e-6)
    assert list(reduced.portfolio.selected[core.measures["status"].to_numpy() == "committed"]) == \
        [True] * int((core.measures["status"] == "committed").sum())


def _optimum(arrays, offset=0.0):
    highs = solver.highs_with(arrays)
    highs.changeObjectiveOffset(offset)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.run()
    status = highs.getModelStatus()
    return None if status != solver.highspy.HighsModelStatus.kOptimal else highs.getInfo().objective_function_value


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_models_keep_their_optimum(seed):
    """Random small MIPs with some fixed columns: the reduction has the optimum of the full model
    (or is declined, when a row of fixed columns alone is broken)."""
    rng = np.random.default_rng(seed)
    n, m = rng.integers(2, 7), rng.integers(1, 6)
    dense = np.where(rng.random((m, n)) < 0.6, rng.integers(-3, 4, (m, n)), 0)
    upper = rng.integers(1, 4, n).astype(float)
    fixed = rng.random(n) < 0.4
    lower = np.where(fixed, np.minimum(upper, rng.integers(0, 3, n)), 0.0)
    upper = np.where(fixed, lower, upper)
    row_upper = rng.integers(0, 6, m).astype(float)
    row_lower = np.where(rng.random(m) < 0.5, -INF, row_upper - rng.integers(0, 4, m))
    arrays = _arrays(rng.integers(-5, 3, n), lower, upper, row_lower, row_upper, dense, rng.integers(0, 2, n))
    reduction = without_fixed_columns(arrays)
    full = _optimum(arrays)
    if reduction is None:
        assert not fixed.any() or fixed.all() or full is None
        return
    reduced = _optimum(reduction.arrays, reduction.offset)
    assert (full is None) == (reduced is None)
    if full is not None:
        assert reduced == pytest.approx(full, abs=1e-9)


def test_presolve_can_be_kept_on_for_a_large_lp(tmp_path, monkeypatch):
    """Above PRESOLVE_MAX_COLUMNS HiGHS's presolve is off unless asked for (`solve(presolve=True)`,
    the LP of `heuristics.rounded`); either way the LP reaches the same optimum."""
    from measureopt.engine import solver_settings
    from measureopt.formulation import build

    case = mo.load(generate_case(tmp_path / "g", 30, 30, seed=1))
    form, options = build(case), solver_settings(case)
    monkeypatch.setattr(solver, "PRESOLVE_MAX_COLUMNS", 0)
    run, seen = solver.run, []

    def recorded(highs, time_limit_s):
        seen.append(highs.getOptionValue("presolve")[1])  # (status, value)
        return run(highs, time_limit_s)

    monkeypatch.setattr(solver, "run", recorded)
    off = solver.solve(form, options, relax=True)
    on = solver.solve(form, options, relax=True, presolve=True)
    assert seen == ["off", "choose"]
    assert on.status == off.status == solver.Status.OPTIMAL
    assert on.objective == pytest.approx(off.objective, rel=1e-9)
