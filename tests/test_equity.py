"""Equity views: the Lorenz curve and the fairness metrics, against hand-computed values and the
pairwise definition of the population-weighted Gini (SPEC 4.3)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import measureopt as mo
from measureopt.equity import fairness_metrics, gini_from_lorenz, lorenz_curve, lorenz_table, share_at
from measureopt.verify import population_gini
from tests.conftest import CASES


def pairwise_gini(benefit, population) -> float:
    """sum_{m<n} |p_n B_m - p_m B_n| / (P B), pair by pair (SPEC 4.3)."""
    total = sum(benefit)
    pairs = sum(abs(population[n] * benefit[m] - population[m] * benefit[n])
                for m in range(len(benefit)) for n in range(m + 1, len(benefit)))
    return pairs / (sum(population) * total)


def test_lorenz_curve_by_hand():
    # per capita 0, 2, 1: ordered m0, m2, m1; population shares 1/4, 2/4, 1/4; benefit shares 0, 1/2, 1/2
    curve = lorenz_curve(np.array([0.0, 2.0, 2.0]), np.array([1.0, 1.0, 2.0]))
    assert list(curve["position"]) == [-1, 0, 2, 1]
    assert list(curve["population_share"]) == [0.0, 0.25, 0.75, 1.0]
    assert list(curve["benefit_share"]) == [0.0, 0.0, 0.5, 1.0]
    assert gini_from_lorenz(curve) == pytest.approx(0.375)  # pairs: |0-2| + |0-2| + |4-2| = 6, over P B = 16
    assert share_at(curve, 0.4) == pytest.approx(0.5 * 0.15 / 0.5)  # interpolated between 0.25 and 0.75


def test_no_benefit_has_no_curve_and_no_gini():
    curve = lorenz_curve(np.zeros(3), np.ones(3))
    assert gini_from_lorenz(curve) is None and share_at(curve, 0.4) is None


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 30)), min_size=1, max_size=12).filter(lambda r: sum(b for b, _ in r) > 0))
def test_gini_from_the_lorenz_curve_equals_the_pairwise_definition(rows):
    benefit = np.array([float(b) for b, _ in rows])
    population = np.array([float(p) for _, p in rows])
    curve = lorenz_curve(benefit, population)
    assert np.all(np.diff(curve["population_share"]) > 0) and np.all(np.diff(curve["benefit_share"]) >= -1e-12)
    assert curve["benefit_share"].iloc[-1] == pytest.approx(1.0)
    expected = pairwise_gini(list(benefit), list(population))
    assert gini_from_lorenz(curve) == pytest.approx(expected, abs=1e-12)
    assert population_gini(benefit, population) == pytest.approx(expected, abs=1e-12)


@pytest.fixture(scope="module")
def solved():
    return mo.solve(mo.load(CASES / "rural-cluster", scenario="justice40"))


def test_fairness_metrics_of_a_solve(solved):
    metrics = fairness_metrics(solved)
    table = solved.municipalities_table
    population = solved.case.municipalities["population"].to_numpy(dtype=float)
    benefit = table["benefit"].to_numpy(dtype=float)
    per_capita = benefit / population
    average = benefit.sum() / population.sum()
    assert metrics["gini"] == pytest.approx(pairwise_gini(list(benefit), list(population)), abs=1e-12)
    assert metrics["vulnerable_benefit_share"] == pytest.approx(0.4, abs=1e-6)  # justice40 binds here
    assert metrics["min_per_capita_ratio"] == pytest.approx(per_capita.min() / average)
    assert metrics["max_per_capita_ratio"] == pytest.approx(per_capita.max() / average)
    # bottom 40 % by hand: walk municipalities by per-capita benefit until 40 % of the population
    order = np.argsort(per_capita)
    need, got = 0.4 * population.sum(), 0.0
    for m in order:
        take = min(population[m], need)
        got += take * per_capita[m]
        need -= take
    assert metrics["bottom_40_benefit_share"] == pytest.approx(got / benefit.sum())
    assert metrics["population_without_benefit_share"] == pytest.approx(population[benefit <= 0].sum() / population.sum())


def test_lorenz_table_names_each_municipality_once(solved):
    table = lorenz_table(solved)
    ids = list(solved.case.municipalities.index)
    assert table["municipality"].iloc[0] == "" and sorted(table["municipality"].iloc[1:]) == sorted(ids)
    assert table["benefit_per_capita"].iloc[1:].is_monotonic_increasing
    assert gini_from_lorenz(table) == pytest.approx(solved.verified.gini, abs=1e-12)
