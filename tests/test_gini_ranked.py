"""Above 60 municipalities the Gini cap is met through a ranking of the municipalities
(`formulation.gini_ordered`, an inner approximation) and bounded by cuts (`engine._cut_rounds`)."""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import engine, formulation, solver
from measureopt.engine import objective_value, portfolio_from, run_case, solver_settings
from measureopt.formulation import build, gini_ordered
from measureopt.solver import Status, solve
from measureopt.verify import verify
from tests.reference.agreement import agree, enumerated
from tests.reference.tiny_cases import write_tiny_case


def _ranked_optimum(case, ranking: tuple) -> float | None:
    """The optimum with municipalities ranked as `ranking` (lowest benefit per head first),
    recomputed from the tables; its portfolio must pass the independent check, Gini cap included."""
    form = build(case)
    population = case.municipalities["population"].to_numpy()
    position = np.empty(len(ranking))
    position[list(ranking)] = np.arange(len(ranking))
    inner = gini_ordered(form, population * position)
    result = solve(inner, solver_settings(case))
    if not result.status.has_solution:
        return None
    verified = verify(case, portfolio_from(inner, result.x))
    assert verified.violations == []
    assert verified.gini is None or verified.gini <= case.settings.justice.gini_max + 1e-7  # None: no benefit
    return objective_value(case, form.objective_name, verified)


@pytest.mark.parametrize("justice", [{"gini_max": 0.25}, {"gini_max": 0.15, "benefit": "households"},
                                     {"gini_max": 0.3, "vulnerable_share_min": 0.3}])
def test_every_ranking_meets_the_cap_and_the_best_one_is_the_brute_force_optimum(justice, tmp_path, monkeypatch):
    """On tiny cases, each ranking's optimum meets the cap and is no better than the optimum of
    brute-force enumeration; the best over all rankings equals it (the optimum fits its own ranking)."""
    monkeypatch.setattr(formulation, "GINI_PAIRWISE_MAX", 0)  # no Gini rows: the ranking alone enforces the cap
    feasible = 0
    for seed in range(10):
        directory = write_tiny_case(tmp_path / str(seed), seed, justice=justice)
        reference = enumerated(directory)
        if reference is None:  # too many portfolios to enumerate
            continue
        case = mo.load(directory)
        sense = build(case).sense
        values = [v for ranking in itertools.permutations(range(len(case.municipalities)))
                  if (v := _ranked_optimum(case, ranking)) is not None]
        if reference["status"] == "infeasible":
            assert values == []
            continue
        feasible += 1
        optimum = reference["objective"]
        assert all(sense * (v - optimum) >= -1e-6 * max(1.0, abs(optimum)) for v in values)
        assert min(values, key=lambda v: sense * v) == pytest.approx(optimum, rel=1e-7, abs=1e-7)
    assert feasible >= 3


def test_when_the_cuts_give_up_the_ranked_portfolio_is_reported_within_a_valid_bound(tmp_path, monkeypatch):
    """62 municipalities, the cuts made to give up after one round: the ranked portfolio meets
    every rule (verified), and checked against the pairwise Gini rows (an independent formulation,
    run for 20 s: 10 s once found nothing with another test running), its value is below their
    bound and its bound above their portfolio's value; the gap trajectory reported is the
    search's, ending at that gap."""
    directory = generate_case(tmp_path / "g", 62, 2, seed=1, justice={"gini_max": 0.5})
    with monkeypatch.context() as pairwise:
        pairwise.setattr(formulation, "GINI_PAIRWISE_MAX", 100)
        exact = run_case(mo.load(directory, overrides={"solver": {"time_limit_s": 20}}))
    monkeypatch.setattr(engine, "MAX_CUT_ROUNDS", 1)
    result = run_case(mo.load(directory, overrides={"solver": {"time_limit_s": 30}}))
    assert any("one ranking of the municipalities" in note and "did not converge in 1 rounds" in note for note in result.notes)
    assert result.verified.gini <= 0.5 + 1e-7 and not result.verified.violations
    assert result.objective_value <= exact.dual_bound * (1 + 1e-6)
    assert result.dual_bound >= exact.objective_value * (1 - 1e-6)
    assert result.mip_gap == pytest.approx((result.dual_bound - result.objective_value) / result.objective_value)
    assert result.status == (Status.OPTIMAL if result.mip_gap <= 1e-3 else Status.TIME_LIMIT)
    # the gap trajectory is the search's own: its last point is the reported portfolio and gap,
    # and the gap only narrows (the best portfolio and the tightest bound only improve)
    seconds, primal, dual, gaps = zip(*result.trajectory)
    assert primal[-1] == pytest.approx(result.objective_value) and dual[-1] == pytest.approx(result.dual_bound)
    assert gaps[-1] == pytest.approx(result.mip_gap)
    assert all(later <= earlier for earlier, later in zip(gaps, gaps[1:])) and list(seconds) == sorted(seconds)


@pytest.mark.parametrize("pairwise_max", [60, 0])
def test_ranked_start_then_the_exact_model_agrees_with_brute_force(pairwise_max, tmp_path, monkeypatch):
    """The ranked portfolio as the start of the pairwise rows' MIP (pairwise_max 60) or of the
    cut rounds (0), forced on tiny cases: the optimum is brute force's."""
    monkeypatch.setattr(solver, "SMALL_MODEL_INTEGERS", 0)  # every Gini model is 'large'
    monkeypatch.setattr(formulation, "GINI_PAIRWISE_MAX", pairwise_max)
    outcomes = [agree(write_tiny_case(tmp_path / str(seed), seed, justice={"gini_max": 0.25}, budget_total=True))
                for seed in range(10)]
    assert outcomes.count("optimal") >= 3, outcomes


@pytest.fixture(scope="module")
def capped_case(tmp_path_factory):
    return mo.load(generate_case(tmp_path_factory.mktemp("g") / "c", 12, 5, seed=5, justice={"gini_max": 0.3}))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=100_000))
def test_the_cut_where_the_way_to_a_solution_crosses_the_cap_cuts_it_off(seed, capped_case):
    """In-out separation (`engine._crossing`): from benefits that meet the cap towards benefits
    that break it, the point found breaks the cap by a hair, and its cut keeps the first and cuts
    off the second (so every round still cuts off its own solution)."""
    from measureopt.formulation import gini_cut_coefficients
    from measureopt.verify import population_gini

    rng = np.random.default_rng(seed)
    population = capped_case.municipalities["population"].to_numpy()
    inside = population * rng.uniform(0.8, 1.2, len(population))
    outside = population * rng.lognormal(0.0, 1.5, len(population))
    cap = capped_case.settings.justice.gini_max
    assume(population_gini(inside, population) <= cap < population_gini(outside, population))
    within, past = engine._crossing(inside, outside, population, capped_case)
    assert population_gini(inside + within * (outside - inside), population) <= cap + engine.GINI_TOLERANCE < population_gini(
        inside + past * (outside - inside), population)
    point = inside + past * (outside - inside)
    assert cap < population_gini(point, population) <= cap + 1e-6
    coefficients = gini_cut_coefficients(capped_case, point)
    scale = np.abs(coefficients) @ outside
    assert coefficients @ outside > 1e-9 * scale and coefficients @ inside <= 1e-9 * scale


def test_the_last_point_of_the_way_that_meets_the_cap_is_made_a_portfolio(tmp_path):
    """In-out for portfolios (`engine._mixed_portfolio`), 100 x 12 generated with a Gini cap: on
    the way from a portfolio that meets the cap to the LP's solution, which breaks it, the last
    point that meets the cap meets every row and bound of the LP relaxation (both ends do) and is
    worth more than the portfolio; rounded on the model ranked as it, the portfolio offered to the
    search meets every rule of the case (verified) and beats the search's best."""
    from measureopt.verify import population_gini

    case = mo.load(generate_case(tmp_path / "g", 100, 12, seed=4, justice={"gini_max": 0.3}))
    options = solver_settings(case)
    form = build(case)
    population = case.municipalities["population"].to_numpy()
    lp = solve(form, options, relax=True)
    outside = lp.x[form.cols.benefit]
    cap = case.settings.justice.gini_max
    assert population_gini(outside, population) > cap
    search = engine._GiniSearch(form)
    ranked = gini_ordered(form, outside)
    first = solve(ranked, replace(options, time_limit_s=20))
    search.offer(replace(first, x=first.x[:form.shape[1]]))
    before = search.best
    inside = before.x[form.cols.benefit]
    within, _ = engine._crossing(inside, outside, population, case)
    point = before.x + within * (lp.x - before.x)
    activity = form.matrix @ point
    slack = 1e-6 * (1 + np.abs(activity))
    assert (activity >= form.row_lower - slack).all() and (activity <= form.row_upper + slack).all()
    assert (point >= form.col_lower - 1e-9).all() and (point <= form.col_upper + 1e-9).all()
    assert population_gini(point[form.cols.benefit], population) <= cap + engine.GINI_TOLERANCE
    assert form.objective @ point > form.objective @ before.x
    engine._mixed_portfolio(search, point, options, None, 0.0)
    assert search.best is not before and search.best.objective > before.objective
    verified = verify(case, portfolio_from(form, search.best.x))
    assert verified.violations == [] and verified.gini <= cap + 1e-7
