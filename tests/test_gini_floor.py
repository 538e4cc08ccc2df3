"""From GINI_FLOOR_MIN_MUNICIPALITIES municipalities the Gini cap's first portfolio comes from a
floor on every municipality's benefit per head (`engine._floored_portfolio`), checked against the
cap, before the cut rounds bound it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import engine, formulation
from measureopt.engine import objective_value, portfolio_from, run_case, solver_settings
from measureopt.formulation import build
from measureopt.verify import population_gini, verify
from tests.reference.agreement import agree, feasible_cases
from tests.reference.tiny_cases import write_tiny_case


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(2, 30), floor=st.floats(0.0, 1.0))
def test_a_floor_on_shares_bounds_the_gini(data, n, floor):
    """What `formulation.benefit_floor` relies on: if every municipality's share of the benefit is
    at least floor times its share of the population, the population-weighted Gini is at most
    1 - floor (Gini recomputed by `verify.population_gini`)."""
    population = np.array(data.draw(st.lists(st.floats(1.0, 1e6), min_size=n, max_size=n)))
    extra = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    if extra.sum() == 0:
        extra[0] = 1.0
    share = population / population.sum()
    benefit = floor * share + (1 - floor) * extra / extra.sum()  # shares >= floor * population shares
    assert population_gini(benefit, population) <= 1 - floor + 1e-9


def _floored(case):
    """The floored search alone on `case`'s model (no Gini rows): the search after it."""
    search = engine._GiniSearch(build(case))
    engine._floored_portfolio(search, replace(solver_settings(case), time_limit_s=20), None, explained=False)
    return search


@pytest.mark.parametrize("justice", [{"gini_max": 0.25}, {"gini_max": 0.15, "benefit": "households"},
                                     {"gini_max": 0.3, "vulnerable_share_min": 0.3}])
def test_the_floored_portfolio_meets_every_rule_and_is_no_better_than_brute_force(justice, tmp_path, monkeypatch):
    """On tiny cases with no Gini rows at all, the floored portfolio passes the independent check,
    cap included, and is no better than the optimum of brute-force enumeration."""
    monkeypatch.setattr(formulation, "GINI_PAIRWISE_MAX", 0)
    found = 0
    for _, directory, reference in feasible_cases(lambda seed: write_tiny_case(tmp_path / str(seed), seed, justice=justice),
                                                  range(30)):
        case = mo.load(directory)
        search = _floored(case)
        if search.best is None:
            continue
        found += 1
        verified = verify(case, portfolio_from(search.form, search.best.x))
        assert verified.violations == []
        assert verified.gini is None or verified.gini <= justice["gini_max"] + 1e-7
        value = objective_value(case, search.form.objective_name, verified)
        assert value == pytest.approx(search.best.objective, rel=1e-6, abs=1e-6)
        assert search.form.sense * (value - reference["objective"]) >= -1e-6 * max(1.0, abs(reference["objective"]))
    assert found >= 3, found


def test_started_from_the_floor_the_cut_rounds_reach_the_brute_force_optimum(tmp_path, monkeypatch):
    """With the floor used from one municipality on and the cap cut, the optimum is brute force's."""
    monkeypatch.setattr(formulation, "GINI_PAIRWISE_MAX", 0)
    monkeypatch.setattr(engine, "GINI_FLOOR_MIN_MUNICIPALITIES", 1)
    outcomes = [agree(write_tiny_case(tmp_path / str(seed), seed, justice={"gini_max": 0.25, "vulnerable_share_min": 0.2}))
                for seed in range(10)]
    assert outcomes.count("optimal") >= 2, outcomes


def test_when_the_cuts_give_up_the_floored_portfolio_is_reported_within_a_valid_bound(tmp_path, monkeypatch):
    """62 municipalities, the floor used and the cuts made to give up after one round: the floored
    portfolio is reported, meets every rule (verified), and its value is below the bound of the
    pairwise Gini rows (an independent formulation) and its bound above their portfolio's value."""
    directory = generate_case(tmp_path / "g", 62, 2, seed=1, justice={"gini_max": 0.5})
    with monkeypatch.context() as pairwise:
        pairwise.setattr(formulation, "GINI_PAIRWISE_MAX", 100)
        exact = run_case(mo.load(directory, overrides={"solver": {"time_limit_s": 20}}))
    monkeypatch.setattr(engine, "MAX_CUT_ROUNDS", 1)
    monkeypatch.setattr(engine, "GINI_FLOOR_MIN_MUNICIPALITIES", 62)
    result = run_case(mo.load(directory, overrides={"solver": {"time_limit_s": 20}}))
    assert any("a floor on every municipality's benefit per head" in note and "did not converge in 1 rounds" in note
               for note in result.notes)
    assert result.verified.gini <= 0.5 + 1e-7 and not result.verified.violations
    assert result.objective_value <= exact.dual_bound * (1 + 1e-6)
    assert result.dual_bound >= exact.objective_value * (1 - 1e-6)


def test_the_bisection_goes_down_from_a_floor_with_no_feasible_lp(tmp_path, monkeypatch):
    """A floor whose LP is infeasible is too high: the next floor tried is lower (on tiny cases
    whose floors at half the mean benefit per head cannot all be met)."""
    monkeypatch.setattr(formulation, "GINI_PAIRWISE_MAX", 0)
    tried = []
    floor, solve = engine.benefit_floor, engine.solve

    def recorded_floor(form, per_head):
        tried.append([per_head, None])
        return floor(form, per_head)

    def recorded_solve(form, options, objective=None, relax=False, **kw):
        result = solve(form, options, objective, relax=relax, **kw)
        if relax and tried and tried[-1][1] is None:
            tried[-1][1] = result.status.value
        return result

    monkeypatch.setattr(engine, "benefit_floor", recorded_floor)
    monkeypatch.setattr(engine, "solve", recorded_solve)
    descents = 0
    for seed in range(30):
        tried.clear()
        try:
            _floored(mo.load(write_tiny_case(tmp_path / str(seed), seed, justice={"gini_max": 0.15, "benefit": "households"})))
        except mo.InfeasibleError:  # infeasible even without the cap
            continue
        lps = [(per_head, status) for per_head, status in tried if status is not None]
        for (per_head, status), (following, _) in zip(lps, lps[1:]):
            if status == "infeasible":
                assert following < per_head
                descents += 1
    assert descents >= 3


def _capped_80(tmp_path):
    """80 x 12 generated under a Gini cap of 0.3, 20 s: the floored path's cut rounds cross the cap there."""
    return mo.load(generate_case(tmp_path / "g", 80, 12, seed=1, justice={"gini_max": 0.3}),
                   overrides={"solver": {"time_limit_s": 20}})


def test_after_the_floor_the_cut_rounds_round_their_in_out_points_too(tmp_path, monkeypatch):
    """On the floored path (national size, here from 60 municipalities) the cut rounds make
    portfolios of their in-out points as below it (`engine._mixed_portfolio`): they run after the
    floored portfolio, one beats it, and the reported portfolio meets every rule (verified)."""
    monkeypatch.setattr(engine, "GINI_FLOOR_MIN_MUNICIPALITIES", 60)
    floored, mixed, seen = engine._floored_portfolio, engine._mixed_portfolio, []

    def recorded_floor(search, *args, **kwargs):
        seen.append(("floor", None))
        return floored(search, *args, **kwargs)

    def recorded_mix(search, *args, **kwargs):
        before = search.best.objective
        mixed(search, *args, **kwargs)
        seen.append((before, search.best.objective))

    monkeypatch.setattr(engine, "_floored_portfolio", recorded_floor)
    monkeypatch.setattr(engine, "_mixed_portfolio", recorded_mix)
    case = _capped_80(tmp_path)
    result = run_case(case)
    assert seen[0] == ("floor", None) and len(seen) > 1
    assert any(after > before for before, after in seen[1:]), seen
    assert result.objective_value >= seen[-1][1] * (1 - 1e-9)
    assert not result.verified.violations and result.verified.gini <= 0.3 + 1e-7


@pytest.mark.parametrize("core", [False, True])
def test_on_a_core_every_cut_round_rounds_its_in_out_point(tmp_path, monkeypatch, core):
    """A core's cut rounds do not bound the case, so there each round whose way from the best
    portfolio crosses the cap rounds its in-out point; elsewhere MIXED_SHARE limits them (here 0:
    the first one only)."""
    monkeypatch.setattr(engine, "GINI_FLOOR_MIN_MUNICIPALITIES", 60)
    monkeypatch.setattr(engine, "MIXED_SHARE", 0.0)
    crossing, mixed, crossings, mixes = engine._crossing, engine._mixed_portfolio, [], []

    def recorded_crossing(*args):
        within, past = crossing(*args)
        crossings.append(within > 0)
        return within, past

    def recorded_mix(*args, **kwargs):
        mixes.append(True)
        return mixed(*args, **kwargs)

    monkeypatch.setattr(engine, "_crossing", recorded_crossing)
    monkeypatch.setattr(engine, "_mixed_portfolio", recorded_mix)
    case = _capped_80(tmp_path)
    engine._solved(build(case), solver_settings(case), core=core)
    assert sum(crossings) >= 2, crossings
    assert len(mixes) == (sum(crossings) if core else 1)
