"""Invariants of the model, stated as hypothesis properties over tiny generated cases."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import measureopt as mo
from measureopt.verify import verify

PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
seeds = st.integers(min_value=0, max_value=10_000)


def _solve(case):
    try:
        return mo.solve(case)
    except mo.InfeasibleError:
        return None


def _load(path, **overrides):
    return mo.load(path, overrides=overrides or None)


@PROPERTY
@given(seed=seeds)
def test_portfolio_never_breaks_the_budget(seed, tiny_case):
    case = _load(tiny_case(seed, budget_total=True, objective="max_abatement"))
    result = _solve(case)
    assume(result is not None)
    mt = case.measures
    units = result.portfolio.units
    gross = float((mt["capex_eur"] * units + mt["fixed_capex_eur"] * result.portfolio.selected).sum())
    assert result.verified.investment_eur <= case.settings.budget.total_eur * (1 + 1e-9)
    assert gross + result.verified.admin_eur >= result.verified.investment_eur - 1e-6  # discounts only lower it


@PROPERTY
@given(seed=seeds, factor=st.floats(min_value=1.0, max_value=3.0))
def test_more_budget_never_lowers_max_abatement(seed, factor, tiny_case):
    # without maxmin: there, more budget lifts the stage-1 floor and may lower stage 2's abatement
    path = tiny_case(seed, budget_total=True, objective="max_abatement", justice={"vulnerable_share_min": 0.2})
    base = _load(path)
    low = _solve(base)
    assume(low is not None)
    high = _solve(_load(path, budget={"total_eur": base.settings.budget.total_eur * factor}))
    assert high is not None
    assert high.objective_value >= low.objective_value - 1e-7 * max(1, low.objective_value)


@PROPERTY
@given(seed=seeds, rule=st.sampled_from([
    {"vulnerable_share_min": 0.3}, {"population_floor": 0.5}, {"gini_max": 0.35}, {"maxmin": True}]))
def test_a_justice_rule_never_improves_the_objective(seed, rule, tiny_case):
    path = tiny_case(seed, justice={})
    free = _solve(_load(path))
    assume(free is not None)
    fair = _solve(_load(path, justice=rule))
    if fair is None:
        return  # a rule may make the case infeasible: never better
    better = fair.objective_value - free.objective_value if fair.sense == "max" else free.objective_value - fair.objective_value
    assert better <= 1e-7 * max(1.0, abs(free.objective_value))


@PROPERTY
@given(seed=seeds)
def test_committed_measures_are_always_in(seed, tiny_case):
    case = _load(tiny_case(seed, statuses=True))
    result = _solve(case)
    assume(result is not None)
    committed = (case.measures["status"] == "committed").to_numpy()
    assert np.all(result.portfolio.selected[committed])
    assert np.all(result.portfolio.units[committed] == case.measures["max_units"].to_numpy()[committed])


@PROPERTY
@given(seed=seeds)
def test_verification_accepts_solver_output_and_rejects_tampering(seed, tiny_case):
    case = _load(tiny_case(seed, budget_total=True))
    result = _solve(case)
    assume(result is not None)
    assert verify(case, result.portfolio).violations == []
    mt = case.measures
    # tamper 1: every candidate at its maximum, at full price (no programme discount), breaks the
    # budget whenever that costs more than it
    everything = replace(result.portfolio, units=mt["max_units"].to_numpy(dtype=float), selected=np.ones(len(mt), bool),
                         programme_units=np.zeros(len(mt)), running=frozenset(), members=frozenset())
    full_cost = float((mt["capex_eur"] * mt["max_units"] + mt["fixed_capex_eur"]).sum())
    if full_cost > case.settings.budget.total_eur * (1 + 1e-6):
        assert verify(case, everything).violations
    # tamper 1b: one more unit than max_units
    over = result.portfolio.units.copy()
    over[0] = mt["max_units"].iat[0] + 1
    assert any("max_units" in v for v in verify(case, replace(result.portfolio, units=over)).violations)
    # tamper 2: one measure given units without being selected
    j = int(np.argmax(~result.portfolio.selected)) if (~result.portfolio.selected).any() else 0
    units = result.portfolio.units.copy()
    selected = result.portfolio.selected.copy()
    units[j] += 1
    selected[j] = False
    assert verify(case, replace(result.portfolio, units=units, selected=selected)).violations


def test_tampered_committed_measure_is_rejected(tiny_case):
    for seed in range(50):
        case = _load(tiny_case(seed, statuses=True))
        committed = np.flatnonzero((case.measures["status"] == "committed").to_numpy())
        result = _solve(case)
        if result is None or len(committed) == 0:
            continue
        units = result.portfolio.units.copy()
        units[committed[0]] = 0
        assert any("committed" in v for v in verify(case, replace(result.portfolio, units=units)).violations)
        return
    pytest.fail("no feasible case with a committed measure among 50 seeds")
