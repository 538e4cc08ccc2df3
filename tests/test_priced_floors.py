"""`heuristics.priced_floors`: portfolios for a Gini cap at national size, built from prices alone.

Every portfolio it returns keeps what it builds in (total budget, one measure per group,
prerequisites, committed measures, whole units, the Gini cap, the vulnerable share), checked by
`verify` on generated cases; the rules it leaves to the caller (target, municipal and cluster
budgets, population floors) are verified by the engine, which reports such a portfolio only when
they hold and only when it beats what the core's search found.
"""
from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest

import numpy as np
import scipy.optimize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import engine
from measureopt.heuristics import priced_floors
from measureopt.relaxation import picks_benefit_per_head, relax_budget
from measureopt.heuristics import _lifts, with_programmes
from measureopt.verify import verify

#: violations of the rules `priced_floors` leaves to the caller, as `verify` words them
LEFT_TO_THE_CALLER = re.compile(r"^(target \(|municipality \S+ investment .* exceeds its budget_eur|"
                                r"cluster \S+ investment .* exceeds its budget|municipality \S+ benefit .* below its population floor)")


def _portfolios(case):
    relaxation = relax_budget(case)
    for portfolio in priced_floors(case, relaxation.vulnerable_multiplier, picks_benefit_per_head(case, relaxation)):
        yield portfolio, verify(case, portfolio)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), municipalities=st.integers(20, 80), gini=st.sampled_from([0.3, 0.4, 0.5]),
       share=st.sampled_from([None, 0.2]), measures=st.sampled_from([12, 30]), programmes=st.booleans())
def test_every_priced_portfolio_keeps_what_it_builds_in(tmp_path_factory, seed, municipalities, gini, share, measures,
                                                        programmes):
    """With 30 measures some require another; without programmes, nothing is bought through one."""
    justice = {"gini_max": gini, **({} if share is None else {"vulnerable_share_min": share})}
    case = mo.load(generate_case(tmp_path_factory.mktemp("g"), municipalities, measures, seed=seed, justice=justice))
    if not programmes:
        case = replace(case, programmes=case.programmes.iloc[:0], measures=case.measures.assign(programme=None))
    abatement = []
    for _, checked in _portfolios(case):
        broken = [v for v in checked.violations if not LEFT_TO_THE_CALLER.match(v)]
        assert not broken, broken[:3]
        assert checked.gini is None or checked.gini <= gini + 1e-9
        abatement.append(checked.annual_abatement_t)
    assert abatement == sorted(abatement, reverse=True)


def test_no_portfolio_breaks_a_demanding_vulnerable_share(tmp_path):
    """A share of 0.45 that the portfolios meeting the cap here would break (all four, were they
    not filtered): whatever is returned meets it, so the engine verifies nothing in vain."""
    case = mo.load(generate_case(tmp_path / "g", 300, 12, seed=3, justice={"gini_max": 0.4, "vulnerable_share_min": 0.45}))
    assert not [v for _, checked in _portfolios(case) for v in checked.violations if v.startswith("vulnerable benefit")]


def test_a_gini_cap_alone_gets_a_verified_portfolio(tmp_path):
    """Without a vulnerable-share rule the first portfolio meets every rule of a generated case;
    priced with no time left, there is none (the search stops at its deadline)."""
    case = mo.load(generate_case(tmp_path / "g", 300, 12, seed=3, justice={"gini_max": 0.4}))
    found = list(_portfolios(case))
    assert found and not found[0][1].violations
    assert found[0][1].gini <= 0.4
    relaxation = relax_budget(case)
    assert priced_floors(case, relaxation.vulnerable_multiplier, picks_benefit_per_head(case, relaxation), time.perf_counter()) == []


@pytest.mark.parametrize("justice", [{"gini_max": 0.4}, {"gini_max": 0.4, "vulnerable_share_min": 0.3}])
def test_the_engine_reports_the_better_of_the_core_search_and_the_priced_portfolio(tmp_path, monkeypatch, justice):
    """With the core path forced on a small case (thresholds lowered, nothing mocked), the answer is
    verified and at least as good as the best priced portfolio that meets every rule."""
    monkeypatch.setattr(engine, "GINI_FLOOR_MIN_MUNICIPALITIES", 10)
    monkeypatch.setattr(engine, "GINI_CORE_MIN_MEASURES", 100)
    case = mo.load(generate_case(tmp_path / "g", 300, 12, seed=3, justice=justice),
                   overrides={"solver": {"time_limit_s": 20}})
    priced = next(checked for _, checked in _portfolios(case) if not checked.violations)
    result = engine.run_case(case)
    assert not result.verified.violations
    assert result.objective_value >= priced.annual_abatement_t - 1e-6 * priced.annual_abatement_t
    assert result.dual_bound >= result.objective_value


def test_a_priced_portfolio_reports_when_it_was_found(tmp_path, monkeypatch):
    """When the core's search finds nothing in time (fault injection: it times out), the priced
    portfolio is reported, and its gap trajectory is the one point of when it was found: its
    value, the Lagrangian bound and the gap reported."""
    from measureopt.errors import SolverError

    def nothing_in_time(*args, **kwargs):
        raise SolverError("HiGHS found no solution (Time limit reached)")

    monkeypatch.setattr(engine, "GINI_FLOOR_MIN_MUNICIPALITIES", 10)
    monkeypatch.setattr(engine, "GINI_CORE_MIN_MEASURES", 100)
    monkeypatch.setattr(engine, "_solved", nothing_in_time)
    case = mo.load(generate_case(tmp_path / "g", 300, 12, seed=3, justice={"gini_max": 0.4}),
                   overrides={"solver": {"time_limit_s": 20}})
    result = engine.run_case(case)
    assert engine.PRICED in result.notes[-1] and not result.verified.violations
    [(seconds, value, bound, gap)] = result.trajectory
    assert 0 < seconds < 20
    assert (value, bound, gap) == (result.objective_value, result.dual_bound, result.mip_gap)


def test_nothing_without_a_gini_cap(tmp_path):
    case = mo.load(generate_case(tmp_path / "g", 30, 12, seed=1))
    assert engine._priced_portfolio(case, case, np.arange(len(case.measures)), relax_budget(case), float("inf")) is None


@settings(max_examples=60, deadline=None)
@given(data=st.data(), sizes=st.lists(st.integers(1, 4), min_size=1, max_size=5), share=st.floats(0.0, 1.2))
def test_lifts_solve_each_municipalitys_linear_relaxation(data, sizes, share):
    """One municipality's groups (lines of value and worth): the lifted picks, the last move in
    part, are worth at least the deficit (or all the groups can give) and as valuable as the
    optimum of the linear relaxation max sum value.x, sum worth.x >= deficit, sum over a group's
    x <= 1, x >= 0, solved by HiGHS through scipy."""
    n = sum(sizes)
    value = np.array(data.draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n))) / 100  # away from HiGHS's tolerances
    worth = np.array(data.draw(st.lists(st.integers(0, 500), min_size=n, max_size=n))) / 100
    group_of = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    best = np.maximum.reduceat(value, starts)
    pick = np.array([start + int(np.argmax(value[start:start + size])) if top > 0 else -1
                     for start, size, top in zip(starts, sizes, best)])
    start_worth = sum(worth[p] for p in pick if p >= 0)
    most = float(np.sum(np.maximum.reduceat(worth, starts)))
    deficit = start_worth + share * (most - start_worth) + (1e-3 if share > 1 else 0.0)
    x = np.zeros(n)
    lifted = pick.copy()
    partial, needed = _lifts(value, worth, group_of, starts, np.zeros(len(sizes), np.int64), lifted, np.array([deficit - start_worth]))
    x[lifted[lifted >= 0]] = 1.0
    for j, target in zip(partial, needed):  # mixed with the line before it on its group's envelope
        lower = [k for k in range(starts[group_of[j]], starts[group_of[j]] + sizes[group_of[j]]) if worth[k] < worth[j]]
        lines = [(0.0, 0.0, None)] + [(value[k], worth[k], k) for k in lower]  # (value, worth, measure); first: none
        _, w0, before = max(lines, key=lambda line: (line[0] - value[j]) / (worth[j] - line[1]))
        t = (target - w0) / (worth[j] - w0)
        x[j] = t
        if before is not None:
            x[before] = 1 - t
    reached = min(deficit, most)
    assert worth @ x >= reached - 1e-6 * max(1.0, reached)
    rows = np.zeros((len(sizes), n))
    rows[group_of, np.arange(n)] = 1.0
    lp = scipy.optimize.linprog(-value, A_ub=np.vstack([-worth, rows]), b_ub=np.r_[-reached, np.ones(len(sizes))],
                                bounds=(0, None), method="highs")
    assert lp.status == 0
    assert value @ x == pytest.approx(-lp.fun, abs=1e-6 * max(1.0, abs(lp.fun)))


def test_a_measure_whose_prerequisite_is_free_is_offered_with_it(tmp_path):
    """With 30 measures per municipality some require another (advice plus after basic advice,
    e-buses after a depot): portfolios take them, with what they require, which the rule needs."""
    case = mo.load(generate_case(tmp_path / "g", 150, 30, seed=1, justice={"gini_max": 0.4, "vulnerable_share_min": 0.3}))
    dependent = case.links.requires >= 0
    found = list(_portfolios(case))
    assert found
    for portfolio, checked in found:
        assert (portfolio.selected & dependent).any()
        assert not [v for v in checked.violations if "prerequisite" in v]


def test_programmes_run_where_their_discount_outweighs_their_admin_cost(tmp_path):
    """`with_programmes` on a priced portfolio: both programmes of a generated case run, every unit
    their members select is bought through them, and verify charges what the discounts leave;
    a programme runs no more once one member short of min_members or once its admin cost
    exceeds its discount (hand-set)."""
    case = mo.load(generate_case(tmp_path / "g", 300, 12, seed=3, justice={"gini_max": 0.4}))
    portfolio, checked = next(_portfolios(case))
    assert portfolio.running == {"LED-JP", "PV-JP"} and not checked.violations
    through = portfolio.programme_units > 0
    assert np.array_equal(portfolio.programme_units[through], portfolio.units[through])
    mt = case.measures
    discount = mt["programme"].map(case.programmes["capex_discount"]).fillna(0.0).to_numpy()
    saved = discount * mt["capex_eur"].to_numpy() * portfolio.programme_units
    full_price = verify(case, with_programmes(replace(case, programmes=case.programmes.assign(min_members=10**6)),
                                              portfolio.units, portfolio.selected))
    assert full_price.investment_eur == pytest.approx(checked.investment_eur - checked.admin_eur + saved.sum())
    for programme in ("LED-JP", "PV-JP"):
        members = sum(1 for _, p in portfolio.members if p == programme)
        saving = saved[(mt["programme"] == programme).to_numpy()].sum()
        for column, level in (("min_members", members + 1), ("admin_cost_eur", saving * 1.01)):
            programmes = case.programmes.copy()
            programmes.loc[programme, column] = level
            assert programme not in with_programmes(replace(case, programmes=programmes), portfolio.units, portfolio.selected).running
        assert saving > case.programmes.at[programme, "admin_cost_eur"]


def test_a_priced_portfolio_is_a_solution_of_the_model(tmp_path):
    """`engine.portfolio_x` of a priced portfolio (the inverse of `portfolio_from`) meets every row
    of the formulation, reads back as the same portfolio, and gives the binding requirements the
    report lists for it (the total budget, spent to its last percent)."""
    from measureopt.engine import binding_requirements, portfolio_from, portfolio_x
    from measureopt.formulation import build

    case = mo.load(generate_case(tmp_path / "g", 300, 12, seed=3, justice={"gini_max": 0.4, "vulnerable_share_min": 0.3}))
    portfolio, checked = next(_portfolios(case))
    form = build(case)
    x = portfolio_x(form, portfolio)
    activity = form.matrix @ x
    slack = 1e-6 * np.maximum(1.0, np.abs(activity))
    assert (activity >= form.row_lower - slack).all() and (activity <= form.row_upper + slack).all()
    assert ((x >= form.col_lower - 1e-9) & (x <= form.col_upper + 1e-9)).all()
    back = portfolio_from(form, x)
    assert np.array_equal(back.units, portfolio.units) and np.array_equal(back.selected, portfolio.selected)
    assert np.array_equal(back.programme_units, portfolio.programme_units)
    assert (back.running, back.members) == (portfolio.running, portfolio.members)
    binding = {row["constraint"] for row in binding_requirements(form, x, None, checked)}
    assert ("budget_total" in binding) == (checked.investment_eur >= case.settings.budget.total_eur * (1 - 1e-6))
    assert checked.investment_eur >= 0.99 * case.settings.budget.total_eur
