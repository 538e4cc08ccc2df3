"""Above 60 municipalities the Gini cap is cut; when the cuts find no portfolio meeting it in
time, the population floor that implies the cap gives one, bounded by the cuts' relaxations."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import engine, formulation
from measureopt.engine import implied_floor, run_case
from measureopt.solver import Status
from measureopt.verify import population_gini


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**6), st.just(0.0) | st.floats(1e-3, 1e3)), min_size=2, max_size=40),
       st.floats(0.05, 0.95))
def test_a_population_floor_f_caps_the_gini_at_1_minus_f(municipalities, gini_max):
    """Benefits per head x_m = f * average + r_m with any r_m >= 0 (every municipality at the
    floor f = 1 - gini_max or above it): their Gini never exceeds gini_max."""
    population = np.array([p for p, _ in municipalities], float)
    above = np.array([r for _, r in municipalities])
    floor = implied_floor(gini_max, None)
    if not above.any():
        return
    average = np.sum(population * above) / population.sum() / (1 - floor)  # the average of x below
    per_head = floor * average + above
    assert np.sum(population * per_head) / population.sum() == pytest.approx(average)
    assert population_gini(per_head * population, population) <= gini_max + 1e-9


def test_when_the_cuts_end_without_a_portfolio_the_implied_floor_gives_one_within_a_valid_bound(tmp_path, monkeypatch):
    """62 municipalities, the cuts made to give up at once: the fallback's portfolio meets every
    rule (verified), and checked against the pairwise Gini rows (an independent formulation, run
    for 10 s), its value is below their bound and its bound above their portfolio's value."""
    directory = generate_case(tmp_path / "g", 62, 2, seed=1, justice={"gini_max": 0.5})
    with monkeypatch.context() as pairwise:
        pairwise.setattr(formulation, "GINI_PAIRWISE_MAX", 100)
        exact = run_case(mo.load(directory, overrides={"solver": {"time_limit_s": 10}}))
    monkeypatch.setattr(engine, "MAX_CUT_ROUNDS", 1)
    result = run_case(mo.load(directory, overrides={"solver": {"time_limit_s": 30}}))
    assert any("population floor 0.5, which implies it" in note for note in result.notes)
    assert result.verified.gini <= 0.5 + 1e-7 and not result.verified.violations
    assert result.objective_value <= exact.dual_bound * (1 + 1e-6)
    assert result.dual_bound >= exact.objective_value * (1 - 1e-6)
    assert result.mip_gap == pytest.approx((result.dual_bound - result.objective_value) / result.objective_value)
    assert result.status == (Status.OPTIMAL if result.mip_gap <= 1e-3 else Status.TIME_LIMIT)
