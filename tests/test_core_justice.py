"""The core with justice rules: it holds the measures the rules need, it ends on time, and the
whole model is never started when it is too large to be stopped at the time limit."""
from __future__ import annotations

import time

import numpy as np
import pytest

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import engine, formulation, relaxation
from measureopt.errors import SolverError
from measureopt.relaxation import core_case, relax_budget
from measureopt.solver import Status, solve

def _share(case, chosen: np.ndarray) -> float:
    """Vulnerable share of the abatement of the measures `chosen`, at max_units (computed here)."""
    mt = case.measures
    benefit = (mt["co2_reduction_t"] * mt["max_units"]).to_numpy()[chosen]
    return float(np.sum(mt["v"].to_numpy()[chosen] * benefit) / np.sum(benefit))


def test_a_vulnerable_share_the_budget_picks_break_is_met_from_the_core(tmp_path, monkeypatch):
    """The budget alone prices in picks below the vulnerable share; the old core took them for
    sure and was infeasible. Priced with the rule, the core holds what it needs: the run returns
    a verified portfolio meeting it, within solver.mip_gap of the whole model's optimum."""
    directory = generate_case(tmp_path / "g", 20, 20, seed=3, justice={"vulnerable_share_min": 0.4})
    case = mo.load(directory)
    plain = relax_budget(mo.load(directory, overrides={"justice": {"vulnerable_share_min": None}}))
    assert _share(case, plain.group_best) < 0.35
    with monkeypatch.context() as old:  # the core as it was: budget prices, every settled pick sure
        old.setattr(relaxation, "_safe_to_commit", lambda c: np.ones(len(c.measures), bool))
        old_core, _ = core_case(case, plain)
    assert solve(formulation.build(old_core), engine.solver_settings(case)).status == Status.INFEASIBLE

    priced = relax_budget(case)
    assert priced.vulnerable_multiplier > 0
    assert _share(case, priced.group_best) == pytest.approx(0.4, abs=0.03)  # the rule's price moves the picks to it
    core, _ = core_case(case, priced)
    sure = (core.measures["status"] == "committed").to_numpy()
    assert sure.any() and (core.measures["v"].to_numpy()[sure] >= 0.4).all()

    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    monkeypatch.setattr(engine, "WHOLE_MODEL_MAX_MEASURES", 0)  # the core's answer, never the whole model's
    monkeypatch.setattr(engine, "POLISH_CORE_MAX_MEASURES", 0)
    result = mo.solve(case)
    verified = result.verified
    assert not verified.violations and "core" in " ".join(result.notes)
    assert verified.vulnerable_benefit >= 0.4 * verified.benefit * (1 - 1e-9)
    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 10**9)
    whole = mo.solve(case)
    gap = case.settings.solver.mip_gap
    assert whole.objective_value * (1 - gap) <= result.objective_value <= whole.objective_value * (1 + 1e-6)
    assert result.dual_bound >= whole.objective_value * (1 - 1e-9)  # the bound with the rule's multiplier is valid
    assert result.dual_bound < plain.bound  # ... and tighter than the budget's alone


def test_without_justice_rules_the_relaxation_and_core_are_the_budgets_alone(tmp_path):
    """A vulnerable share the budget's picks already meet prices nothing: the same multiplier,
    bound, picks and core (sure picks included) as with no rule at all."""
    directory = generate_case(tmp_path / "g", 30, 20, seed=1)
    base = mo.load(directory)
    relaxed = relax_budget(base)
    lenient = mo.load(directory, overrides={"justice": {"vulnerable_share_min": 0.0}})
    priced = relax_budget(lenient)
    assert relaxed.vulnerable_multiplier == 0.0 and priced.vulnerable_multiplier == 0.0
    assert priced.bound == relaxed.bound and priced.multiplier == relaxed.multiplier
    assert (priced.group_best == relaxed.group_best).all()
    core, positions = core_case(base, relaxed)
    same, same_positions = core_case(lenient, priced)
    assert (positions == same_positions).all()
    assert (core.measures["status"] == same.measures["status"]).all()
    assert (core.measures["status"] == "committed").any()  # picks are taken for sure without justice rules
    assert core.settings == base.settings


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """100 x 50 generated with gini_max 0.4: each municipality's best few candidates per euro
    cannot meet the cap."""
    justice = {"vulnerable_share_min": 0.3, "gini_max": 0.4}
    return mo.load(generate_case(tmp_path_factory.mktemp("capped") / "g", 100, 50, seed=0, justice=justice))


def test_under_a_gini_cap_nothing_is_sure_and_every_municipality_keeps_the_means_to_its_share(capped):
    """More benefit anywhere can break a Gini cap, so no pick is taken for sure; each municipality
    keeps its CORE_PER_MUNICIPALITY best candidates per euro, and enough of them to give it
    CORE_COVER times the relaxation's benefit per head, or all it has (recomputed here)."""
    from measureopt.relaxation import CORE_COVER, CORE_PER_MUNICIPALITY

    case = capped
    relaxation = relax_budget(case)
    core, positions = core_case(case, relaxation)
    assert not (core.measures["status"] == "committed").any()
    mt = case.measures
    most = (mt["co2_reduction_t"] * mt["max_units"]).to_numpy()  # the benefit is abatement here
    population = case.municipalities["population"].to_numpy()
    level = CORE_COVER * most[relaxation.group_best].sum() / population.sum()
    kept = np.isin(np.arange(len(mt)), positions)
    groups = mt["group"].fillna(mt["measure"]).to_numpy()
    per_euro = relaxation.worth / relaxation.cost
    covered = 0
    for m in range(len(case.municipalities)):
        own = np.flatnonzero((mt["m"].to_numpy() == m) & (relaxation.worth > 0))
        best = own[np.argsort(-per_euro[own], kind="stable")[:CORE_PER_MUNICIPALITY]]
        assert set(best) <= set(positions)

        def means(chosen: np.ndarray) -> float:  # one measure per group of alternatives, the largest
            return sum(max(most[j] for j in chosen if groups[j] == g) for g in set(groups[chosen]))

        assert means(own[kept[own]]) >= min(level * population[m], means(own)) * (1 - 1e-12)
        covered += means(best) < min(level * population[m], means(own))
    assert covered > 0  # somewhere the best few were not enough


def test_a_gini_cap_the_best_few_per_municipality_cannot_meet_is_met_by_the_cover(capped, monkeypatch):
    """With pairwise Gini rows (exact): with only each municipality's best few candidates per
    euro the core's LP is infeasible; with the cover it is feasible, and no better than the
    whole case's."""
    monkeypatch.setattr(formulation, "GINI_PAIRWISE_MAX", 100)
    case = capped
    bound = relax_budget(case)
    options = engine.solver_settings(case)
    monkeypatch.setattr(relaxation, "CORE_COVER", 0.0)
    few, _ = core_case(case, bound)
    assert solve(formulation.build(few), options, relax=True).status == Status.INFEASIBLE
    monkeypatch.setattr(relaxation, "CORE_COVER", 1.0)
    covered, _ = core_case(case, bound)
    core_lp = solve(formulation.build(covered), options, relax=True)
    assert core_lp.status == Status.OPTIMAL
    assert core_lp.objective <= solve(formulation.build(case), options, relax=True).objective * (1 + 1e-9)


def test_no_core_portfolio_and_a_too_large_whole_model_is_a_quick_solver_error(tmp_path, monkeypatch):
    """A rule the core cannot meet, on a case above WHOLE_MODEL_MAX_MEASURES: a SolverError that
    says what was tried and what to change, without starting the whole model."""
    directory = generate_case(tmp_path / "g", 20, 20, seed=0, justice={"vulnerable_share_min": 0.6})
    case = mo.load(directory)
    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    monkeypatch.setattr(engine, "WHOLE_MODEL_MAX_MEASURES", len(case.measures) - 1)
    built = []
    monkeypatch.setattr(engine, "build", lambda core, *a: built.append(len(core.measures)) or formulation.build(core, *a))
    started = time.perf_counter()
    with pytest.raises(SolverError, match="was not started; loosen the rule"):
        mo.solve(case)
    assert time.perf_counter() - started < 20
    assert built and max(built) < len(case.measures)  # only the core was built


def test_a_core_portfolio_outside_the_gap_is_reported_when_the_whole_model_is_too_large(tmp_path, monkeypatch):
    """Above WHOLE_MODEL_MAX_MEASURES, a core portfolio the bound does not certify within
    solver.mip_gap is reported as it is (time_limit, its gap, a note why); below it, the whole
    model runs from it and does at least as well."""
    case = mo.load(generate_case(tmp_path / "g", 20, 20, seed=2, justice={"vulnerable_share_min": 0.38}))
    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    monkeypatch.setattr(engine, "WHOLE_MODEL_MAX_MEASURES", len(case.measures) - 1)
    reported = mo.solve(case)
    assert reported.status == Status.TIME_LIMIT and not reported.verified.violations
    assert reported.mip_gap > case.settings.solver.mip_gap
    assert reported.mip_gap == pytest.approx((reported.dual_bound - reported.objective_value) / reported.objective_value)
    assert "so the core's portfolio is reported" in reported.notes[-1]
    monkeypatch.setattr(engine, "WHOLE_MODEL_MAX_MEASURES", len(case.measures))
    whole = mo.solve(case)
    assert whole.status == Status.OPTIMAL and whole.objective_value >= reported.objective_value * (1 - 1e-9)


def test_a_core_without_a_portfolio_in_time_says_where_and_why(tmp_path, monkeypatch):
    """No core portfolio in time and a greedy one that breaks the Gini cap: the error names the
    core and the slow Gini cuts, and what to change."""
    case = mo.load(generate_case(tmp_path / "g", 70, 8, seed=0, justice={"vulnerable_share_min": 0.3, "gini_max": 0.4}))

    def nothing_in_time(*args, **kwargs):
        raise SolverError("HiGHS found no solution (Time limit reached)")

    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    monkeypatch.setattr(engine, "GINI_CORE_MIN_MEASURES", 0)
    monkeypatch.setattr(engine, "_solved", nothing_in_time)  # fault injection: the core solve times out
    with pytest.raises(SolverError, match=r"on the core of .* measures.*Gini cap is enforced by cuts"):
        mo.solve(case)


def test_under_a_gini_cap_the_core_waits_for_its_own_threshold(tmp_path, monkeypatch):
    """Between CORE_MIN_MEASURES and GINI_CORE_MIN_MEASURES a Gini-capped case is solved whole,
    where cut rounds bound the cap (the core's Lagrangian bound ignores it); a case without the
    cap is solved on its core."""
    directory = generate_case(tmp_path / "g", 20, 20, seed=2, justice={"vulnerable_share_min": 0.3})
    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    monkeypatch.setattr(engine, "GINI_CORE_MIN_MEASURES", 10**9)
    cores = []
    monkeypatch.setattr(engine, "core_case", lambda case, *a: cores.append(case) or core_case(case, *a))
    assert not mo.solve(mo.load(directory)).verified.violations and len(cores) == 1
    capped = mo.solve(mo.load(directory, overrides={"justice": {"gini_max": 0.45}}))
    assert len(cores) == 1 and not capped.verified.violations


def test_a_core_portfolio_is_the_answer_when_the_whole_model_then_finds_none(tmp_path, monkeypatch):
    """Below WHOLE_MODEL_MAX_MEASURES the whole model runs from a core portfolio the bound does not
    certify; when it ends without one (a time limit, here forced), the core's verified portfolio
    is reported, not an error."""
    case = mo.load(generate_case(tmp_path / "g", 20, 20, seed=2, justice={"vulnerable_share_min": 0.38}))
    monkeypatch.setattr(engine, "CORE_MIN_MEASURES", 0)
    solved, whole = engine._solved, []

    def whole_model_finds_none(form, *args, **kwargs):
        if len(form.case.measures) == len(case.measures):
            whole.append(form.shape)
            raise SolverError("HiGHS found no solution (Time limit reached); try a longer solver.time_limit_s")
        return solved(form, *args, **kwargs)

    monkeypatch.setattr(engine, "_solved", whole_model_finds_none)
    result = mo.solve(case)
    assert whole, "the whole model was not started"
    assert result.status == Status.TIME_LIMIT and not result.verified.violations
    assert result.mip_gap > case.settings.solver.mip_gap
    assert "found none in the time left" in " ".join(result.notes)


def test_maxmin_keeps_the_time_limit_over_both_stages(tmp_path):
    """maxmin's stage 1 gets at most half of solver.time_limit_s and stage 2 what is left, starting
    from stage 1's portfolio (which meets the floor). On 100 x 50 stage 1 cannot prove its t* in
    5 s: the run ends near the limit (each stage used to get all of it, the run twice as long),
    says so, and its portfolio meets the floor t* of stage 1."""
    limit = 10.0
    case = mo.load(generate_case(tmp_path / "g", 100, 50, seed=0),
                   overrides={"justice": {"maxmin": True}, "solver": {"time_limit_s": limit}})
    clock = time.perf_counter()
    result = mo.solve(case)
    assert time.perf_counter() - clock < 1.5 * limit
    assert result.status == Status.TIME_LIMIT and "maxmin stage 1" in result.notes[-1]
    assert result.verified.min_per_capita >= result.maxmin_t * (1 - 1e-6)
    assert not result.verified.violations
