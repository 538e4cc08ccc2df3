"""Properties of multi-year plans on random tiny cases (hypothesis), checked on real HiGHS solves.

- Moving budget earlier never lowers cumulative abatement: with `carry_over` for any amount moved
  from a year to the year before (what could be done before can still be done); with the SPEC's
  hard annual caps when a whole year's cap moves to the year before, and nothing else pins a
  measure to its year (no earliest_year, no per-year municipal or cluster caps). Solved without
  `maxmin`: its first stage gains from the moved budget too, and the floor it then sets on the
  second can cost abatement (seed 177: 430.6 -> 429.5 t, both optimal).
- No measure is implemented before its earliest_year or before the measure it requires,
  read from the input table and the portfolio.
"""
from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import measureopt as mo
from measureopt.results import portfolio_table
from tests.reference.tiny_cases import write_tiny_case
from tests.reference.tiny_periods import add_periods

PROPERTY = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _cumulative(case_dir, overrides=None) -> float | None:
    """Optimal cumulative abatement, single-stage (no `maxmin`); None if infeasible."""
    try:
        return mo.solve(mo.load(case_dir, overrides={"justice": {"maxmin": False}, **(overrides or {})})).objective_value
    except mo.InfeasibleError:
        return None


def _plan(tmp_path_factory, seed, n_years, **knobs):
    directory = write_tiny_case(tmp_path_factory.mktemp("plan"), seed, n_measures=5, target_scope=None, statuses=False)
    return add_periods(directory, seed, n_years=n_years, objective="max_cumulative_abatement",
                       trajectory=False, municipal_years=False, cluster_years=False, **knobs)


@PROPERTY
@given(seed=st.integers(0, 2**16), n_years=st.integers(2, 3), k=st.integers(0, 1), moved=st.floats(0.05, 1.0))
def test_moving_budget_earlier_with_carry_over_never_lowers_cumulative_abatement(tmp_path_factory, seed, n_years, k, moved):
    assume(k + 1 < n_years)
    directory = _plan(tmp_path_factory, seed, n_years, carry_over=True, earliest=True)
    before = _cumulative(directory)
    assume(before is not None)
    case = mo.load(directory)
    caps = dict(case.settings.periods.budget_eur)
    years = case.settings.periods.years
    amount = moved * caps[years[k + 1]]
    caps[years[k]] += amount
    caps[years[k + 1]] -= amount
    after = _cumulative(directory, {"periods": {"budget_eur": caps}})
    assert after is not None and after >= before - 1e-6 * max(1.0, before)


@PROPERTY
@given(seed=st.integers(0, 2**16), n_years=st.integers(2, 3), k=st.integers(0, 1))
def test_moving_a_whole_annual_cap_earlier_never_lowers_cumulative_abatement(tmp_path_factory, seed, n_years, k):
    assume(k + 1 < n_years)
    directory = _plan(tmp_path_factory, seed, n_years, annual_budget=True, earliest=False)
    case = mo.load(directory)
    caps = dict(case.settings.periods.budget_eur)
    years = case.settings.periods.years
    assume(years[k] in caps and years[k + 1] in caps)
    before = _cumulative(directory)
    assume(before is not None)
    caps[years[k]] += caps[years[k + 1]]
    caps[years[k + 1]] = 0.0
    after = _cumulative(directory, {"periods": {"budget_eur": caps}})
    assert after is not None and after >= before - 1e-6 * max(1.0, before)


@PROPERTY
@given(seed=st.integers(0, 2**16), n_years=st.integers(2, 3),
       objective=st.sampled_from(["max_cumulative_abatement", "max_abatement", "min_investment"]))
def test_no_measure_before_its_earliest_year_or_its_prerequisite(tmp_path_factory, seed, n_years, objective):
    directory = write_tiny_case(tmp_path_factory.mktemp("plan"), seed, n_measures=6, requires=True)
    add_periods(directory, seed, n_years=n_years, earliest=True, objective=objective)
    try:
        result = mo.solve(mo.load(directory))
    except mo.InfeasibleError:
        assume(False)
    table = pd.read_csv(directory / "measures.csv", dtype={"measure": str, "requires": str})
    portfolio = portfolio_table(result)
    years = dict(zip(result.case.measures["measure"], result.portfolio.year))
    chosen = table[table["measure"].map(lambda m: years[m] == years[m])]  # not NaN: selected
    for row in chosen.itertuples():
        year = years[row.measure]
        assert year in result.case.settings.periods.years
        if pd.notna(row.earliest_year):
            assert year >= row.earliest_year, (row.measure, year, row.earliest_year)
        if isinstance(row.requires, str):
            assert years[row.requires] <= year, (row.measure, year, row.requires, years[row.requires])
    assert dict(zip(portfolio["measure"], portfolio["year"])) == {m: y for m, y in years.items() if y == y}
