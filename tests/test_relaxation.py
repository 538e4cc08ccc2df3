"""The budget relaxation: a valid bound, and a core whose portfolio is certified within the gap."""
from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import engine
from measureopt.relaxation import core_case, relax_budget
from tests.reference.agreement import enumerated, feasible_cases

KNOBS = [
    {"budget_total": True, "objective": "max_abatement", "justice": {}},
    {"budget_total": True, "objective": "max_abatement", "groups": True, "requires": True, "statuses": True},
    {"budget_total": True, "objective": "max_abatement", "programmes": True, "municipal_budgets": True},
    {"budget_total": True, "objective": "max_abatement", "justice": {"vulnerable_share_min": 0.4}},
]


@pytest.mark.parametrize("knobs", KNOBS)
def test_core_path_agrees_with_brute_force_within_the_gap(knobs, tiny_case, monkeypatch):
    """Forced onto the core path, every tiny case still gets a verified portfolio within
    solver.mip_gap of the enumerated optimum (from the core if certified, else the full model)."""
    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    checked = 0
    for seed in range(8):
        case_dir = tiny_case(seed, **knobs)
        reference = enumerated(case_dir)
        if reference is None:  # too many portfolios to enumerate
            continue
        case = mo.load(case_dir)
        if reference["status"] == "infeasible":
            with pytest.raises(mo.InfeasibleError):
                mo.solve(case)
            continue
        result = mo.solve(case)
        assert result.objective_value <= reference["objective"] * (1 + 1e-9) + 1e-9
        assert result.objective_value >= reference["objective"] * (1 - case.settings.solver.mip_gap) - 1e-9
        assert result.dual_bound is None or result.dual_bound >= reference["objective"] * (1 - 1e-9) - 1e-9
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("justice", [{"gini_max": 0.2}, {"gini_max": 0.3, "vulnerable_share_min": 0.3},
                                     {"gini_max": 0.2, "benefit": "investment"}])
def test_the_gini_cut_tightens_the_bound_and_keeps_it_valid(justice, tiny_case, monkeypatch):
    """Relaxing the Gini cap's cut, for the ranking of the relaxation's own picks or for any other,
    keeps the bound above the optimum of brute-force enumeration and never loosens it (against the
    same case without the cap); the picks' ranking tightens it on some cases; the further cuts
    (relaxation.EXTRA_CUTS) never loosen it either."""
    from measureopt import relaxation

    checked = tightened = 0
    for seed, case_dir, reference in feasible_cases(
            lambda seed: tiny_case(seed, budget_total=True, objective="max_abatement", justice=justice), range(16)):
        case = mo.load(case_dir)
        plain = relax_budget(mo.load(case_dir, overrides={"justice": {"gini_max": None}})).bound
        optimum = reference["objective"]
        rng = np.random.default_rng(seed)
        bounds = [relax_budget(case).bound, *(relax_budget(case, rng.random(len(case.municipalities))).bound for _ in range(3))]
        for bound in bounds:
            assert bound >= optimum * (1 - 1e-9) - 1e-9
            assert bound <= plain + 1e-9 * max(1.0, abs(plain))
        tightened += bounds[0] < plain * (1 - 1e-6)
        with monkeypatch.context() as patch:
            patch.setattr(relaxation, "EXTRA_CUTS", 0)
            assert bounds[0] <= relax_budget(case).bound + 1e-9 * max(1.0, abs(plain))
        checked += 1
    assert checked >= 4 and tightened >= 1, (checked, tightened)


def test_core_is_small_and_certified_on_a_realistic_case(tmp_path, monkeypatch):
    case = mo.load(generate_case(tmp_path / "g", 60, 50, seed=3))
    relaxation = relax_budget(case)
    core, positions = core_case(case, relaxation)
    assert len(positions) < 0.6 * len(case.measures)
    assert set(core.measures["measure"]) <= set(case.measures["measure"])
    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    monkeypatch.setattr(engine, "POLISH_CORE_MAX_MEASURES", 0)  # the core's own answer, not polished whole
    from_core = mo.solve(case)
    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 10**9)
    full = mo.solve(case)
    assert any("core" in note for note in from_core.notes)
    assert from_core.status.value == "optimal" and from_core.mip_gap <= case.settings.solver.mip_gap
    assert from_core.objective_value >= full.objective_value * (1 - 2 * case.settings.solver.mip_gap)
    assert from_core.dual_bound >= full.objective_value


def test_core_without_a_solution_in_time_falls_back_to_the_greedy_incumbent(tmp_path, monkeypatch):
    """The greedy portfolio is reported with its gap to the Lagrangian bound and, as any result,
    the requirements it holds at their bound: here the joint target, set to what greedy abates."""
    from measureopt.errors import SolverError
    from measureopt.heuristics import greedy_portfolio

    directory = generate_case(tmp_path / "g", 20, 30, seed=4)
    plain = mo.load(directory)
    greedy_abatement = float(plain.measures["co2_reduction_t"].to_numpy() @ greedy_portfolio(plain)[0])
    munis = plain.municipalities
    reduction = (greedy_abatement + munis["achieved_t"].sum()) / munis["baseline_emissions_t"].sum()
    case = mo.load(directory, overrides={"target": {"reduction": reduction}})

    def nothing_in_time(*args, **kwargs):
        raise SolverError("HiGHS found no solution (Time limit reached)")

    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    monkeypatch.setattr(engine, "_solved", nothing_in_time)  # fault injection: the core solve times out
    result = mo.solve(case)
    units, _ = greedy_portfolio(case)
    bound = relax_budget(case).bound
    assert result.status.value == "time_limit" and not result.verified.violations
    assert list(result.portfolio.units) == list(units)
    assert result.mip_gap == pytest.approx((bound - result.objective_value) / result.objective_value)
    assert "greedy" in result.notes[-1]
    [target] = [row for row in result.binding if row["constraint"] == "target_joint"]
    assert target["activity"] == pytest.approx(greedy_abatement, rel=1e-9)
    assert isinstance(target["shadow_price"], float)
    [(_, value, dual, gap)] = result.trajectory  # the one point of when it was found
    assert (value, dual, gap) == (result.objective_value, result.dual_bound, result.mip_gap)


def test_the_watchdog_is_a_time_limit_not_a_ctrl_c(tmp_path, monkeypatch):
    """When the watchdog cancels HiGHS (its own time limit ignored), the run reports a time limit
    (exit 4 without a portfolio), never an interruption by the user (exit 130)."""
    from measureopt import solver
    from measureopt.errors import SolverError

    case = mo.load(generate_case(tmp_path / "g", 60, 50, seed=2))
    monkeypatch.setattr(solver, "WATCHDOG_GRACE_S", -1e9)  # the watchdog fires at once
    try:
        result = mo.solve(case)
    except SolverError as error:
        assert "no solution" in str(error)
    else:
        assert result.status.value == "time_limit"


def test_a_pick_is_sure_only_once_its_prerequisites_are():
    import numpy as np
    import pandas as pd

    from measureopt.relaxation import _sure

    mt = pd.DataFrame({"measure": ["A", "B", "C", "D", "E"], "requires": [None, "A", "B", None, "D"]})
    settled = np.array([True, True, True, False, True])  # D is not settled: E, which needs it, is not sure
    assert list(_sure(mt, settled, np.zeros(5, bool))) == [True, True, True, False, False]
    committed = np.array([False, False, False, True, False])  # ... unless D is committed
    assert list(_sure(mt, settled, committed)) == [True, True, True, False, True]


def test_no_time_left_after_the_core_is_a_time_limit_not_a_late_full_solve(tmp_path, monkeypatch):
    """If the core used up solver.time_limit_s without a portfolio, the run stops there (exit 4)
    instead of starting the whole model, which HiGHS cannot always stop in time at national size."""
    import time

    from measureopt.errors import SolverError

    case = mo.load(generate_case(tmp_path / "g", 20, 30, seed=4), overrides={"solver": {"time_limit_s": 1}})

    def slow_infeasible_core(*args):
        time.sleep(1.1)
        return None, False

    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    monkeypatch.setattr(engine, "_core_solution", slow_infeasible_core)
    with pytest.raises(SolverError, match="time limit reached on the core"):
        mo.solve(case)


def test_further_gini_cuts_tighten_the_bound_on_a_realistic_case(tmp_path, monkeypatch):
    """300 x 12 generated, Gini cap 0.4: the further cuts lower the bound by more than 1 %, and it
    stays above a portfolio that meets every rule (from `priced_floors`, verified)."""
    from measureopt import relaxation
    from measureopt.heuristics import priced_floors
    from measureopt.relaxation import picks_benefit_per_head
    from measureopt.verify import verify

    case = mo.load(generate_case(tmp_path / "g", 300, 12, seed=3, justice={"gini_max": 0.4}))
    tightened = relax_budget(case)
    monkeypatch.setattr(relaxation, "EXTRA_CUTS", 0)
    one_cut = relax_budget(case)
    assert tightened.bound < 0.99 * one_cut.bound
    feasible = verify(case, priced_floors(case, tightened.vulnerable_multiplier, picks_benefit_per_head(case, tightened))[0])
    assert not feasible.violations
    assert tightened.bound >= feasible.annual_abatement_t


def test_no_further_gini_cut_starts_after_the_deadline(tmp_path, monkeypatch):
    """With its deadline passed the relaxation keeps the first cut only (the bound of EXTRA_CUTS =
    0); with time left it adds the further ones, which lower the bound on this case."""
    from measureopt import relaxation

    case = mo.load(generate_case(tmp_path / "g", 300, 12, seed=3, justice={"gini_max": 0.4}))
    late = relax_budget(case, deadline=time.perf_counter())
    assert relax_budget(case, deadline=time.perf_counter() + 3600).bound < late.bound
    monkeypatch.setattr(relaxation, "EXTRA_CUTS", 0)
    assert late.bound == relax_budget(case).bound


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(2, 12), st.integers(0, 2**32 - 1))
def test_the_box_step_search_finds_the_minimum_of_a_convex_function(dimensions, planes, seed):
    """On a convex piecewise-linear f = max_k (a_k + g_k . v) over v >= 0 (bounded below by a
    plane that grows along every axis), the search ends within 1e-4 of the least value that
    HiGHS's LP of f finds, at a point >= 0 where f is that value, and keeps a fixed coordinate."""
    from scipy.optimize import linprog

    from measureopt.relaxation import _box_step_minimum

    rng = np.random.default_rng(seed)
    slopes = np.vstack([rng.normal(size=(planes, dimensions)), np.ones(dimensions)])
    offsets = np.r_[rng.normal(size=planes) * 3, -5.0] + 10.0

    def f(point):
        values = offsets + slopes @ point
        return float(values.max()), slopes[int(values.argmax())], None

    start = rng.uniform(0.5, 2.0, dimensions)
    value, point, _ = _box_step_minimum(f, start, np.zeros(dimensions, bool))
    lp = linprog(np.r_[np.zeros(dimensions), 1.0], A_ub=np.c_[slopes, -np.ones(len(slopes))], b_ub=-offsets,
                 bounds=[(0, None)] * dimensions + [(None, None)], method="highs")
    assert (point >= 0).all() and value == pytest.approx(f(point)[0])
    assert lp.fun - 1e-9 <= value <= lp.fun + 1e-4 * max(1.0, abs(lp.fun))
    fixed = np.r_[True, np.zeros(dimensions - 1, bool)]
    assert _box_step_minimum(f, start, fixed)[1][0] == start[0]


@pytest.mark.parametrize("seed", range(6))
def test_the_relaxation_gives_subgradients_of_its_lagrangian(seed, tiny_case, tmp_path, monkeypatch):
    """Every slope the joint search is given is a subgradient of the Lagrangian: at every pair of
    points it evaluated, L(q) >= L(p) + g(p) . (q - p). Tiny cases with committed and excluded
    measures and a benefit per pick (investment), so that measures are taken at min_units too,
    and 60 x 20 generated; each with a vulnerable share and a Gini cap, so that budget, share and
    cut multipliers all move."""
    from measureopt import relaxation

    justice = {"gini_max": 0.3, "vulnerable_share_min": 0.3}
    case = mo.load(tiny_case(seed, budget_total=True, objective="max_abatement", statuses=True, groups=True,
                             justice={**justice, "benefit": "investment"}) if seed
                   else generate_case(tmp_path / "g", 60, 20, seed=5, justice=justice))
    searched = relaxation._box_step_minimum
    seen: list[list] = []

    def recording(evaluate, start, fixed):
        points = []
        seen.append(points)

        def recorded(point):
            value, slope, found = evaluate(point)
            points.append((point, value, slope))
            return value, slope, found
        return searched(recorded, start, fixed)

    monkeypatch.setattr(relaxation, "_box_step_minimum", recording)
    relax_budget(case)
    assert len(seen) >= 2 and sum(len(points) for points in seen) >= 5
    for points in seen:
        for p, value_p, slope in points:
            for q, value_q, _ in points:
                assert value_q >= value_p + slope @ (q - p) - 1e-9 * abs(value_p)


def test_a_core_optimum_within_the_gap_is_polished_on_the_whole_model(tmp_path, monkeypatch):
    """The core's portfolio, certified within solver.mip_gap by the Lagrangian bound, is 4e-5 short
    of the optimum here; the whole model run from it (engine._polished_core) reaches the optimum
    of HiGHS at a 1e-9 gap, and the result says it was solved whole."""
    directory = generate_case(tmp_path / "g", 200, 40, seed=2)
    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    exact = mo.solve(mo.load(directory, overrides={"solver": {"mip_gap": 1e-9}}))
    polished = mo.solve(mo.load(directory))
    assert polished.status.value == "optimal" and polished.mip_gap <= 1e-6
    assert polished.objective_value == pytest.approx(exact.objective_value, rel=1e-9)
    assert not any("core" in note for note in polished.notes)
    monkeypatch.setattr(engine, "POLISH_CORE_MAX_MEASURES", 0)  # no polish: the core's portfolio stands
    core = mo.solve(mo.load(directory))
    assert core.status.value == "optimal" and "core" in core.notes[-1]
    assert core.objective_value < exact.objective_value * (1 - 1e-5)
    assert polished.variables > core.variables  # the whole model's columns, not the core's
