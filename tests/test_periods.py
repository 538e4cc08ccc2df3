"""Multi-year plans (SPEC `periods`): the single-period model is untouched, a one-year plan is
the single-period model, inputs are validated, results carry the schedule, and the verification
catches schedules that break the rules."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import measureopt as mo
from measureopt.cli import main
from measureopt import formulation
from measureopt.formulation import build
from measureopt.solver import Status
from measureopt.verify import verify
from tests.conftest import CASES, EXAMPLE_CASES
from tests.reference.tiny_cases import write_tiny_case
from tests.reference.tiny_periods import add_periods

SNAPSHOT = Path(__file__).parent / "data" / "single_period_arrays.json"
HEAVY = {"network-100/fair-floor", "network-100/gini-025", "network-100/maxmin"}


def _digest(form) -> dict:
    """SHA-256 of every array of a formulation (as captured before `periods` existed)."""
    parts = {}
    matrix = form.matrix.tocsr()
    matrix.sort_indices()
    for name, arr in (("indptr", matrix.indptr), ("indices", matrix.indices), ("data", matrix.data),
                      ("col_lower", form.col_lower), ("col_upper", form.col_upper), ("integrality", form.integrality),
                      ("row_lower", form.row_lower), ("row_upper", form.row_upper), ("objective", form.objective)):
        typed = np.ascontiguousarray(arr).astype(np.float64 if arr.dtype.kind == "f" else np.int64)
        parts[name] = hashlib.sha256(typed.tobytes()).hexdigest()
    for name, arr in (("row_family", form.row_family), ("row_key", form.row_key)):
        parts[name] = hashlib.sha256("\n".join(map(str, arr)).encode()).hexdigest()
    parts["shape"] = list(form.shape)
    return parts


def _single_period_runs() -> list[str]:
    """case/scenario of every example run without periods."""
    runs = []
    for name in EXAMPLE_CASES:
        case = mo.load(CASES / name)
        for scenario in [None, *(case.source.get("scenarios") or {})]:
            if "periods" not in ((case.source.get("scenarios") or {}).get(scenario) or {}):
                runs.append(f"{name}/{scenario or 'base'}")
    return runs


RUNS = _single_period_runs()


def _load(run: str, **overrides) -> mo.Case:
    name, scenario = run.split("/")
    return mo.load(CASES / name, scenario=None if scenario == "base" else scenario, overrides=overrides or None)


def _one_year(run: str, **periods) -> mo.Case:
    case = _load(run)
    return _load(run, periods={"years": [case.settings.target_year], **periods})


def test_single_period_arrays_are_unchanged():
    """Without periods, every example builds exactly the arrays captured before periods existed."""
    expected = json.loads(SNAPSHOT.read_text())
    assert set(expected) <= set(RUNS) and len(expected) >= 13
    for run, digest in expected.items():
        assert _digest(build(_load(run))) == digest, run


@pytest.mark.parametrize("run", RUNS)
def test_one_year_plan_builds_the_single_period_model(run):
    single, one_year = build(_load(run)), build(_one_year(run))
    assert _digest(one_year) == _digest(single)


@pytest.mark.parametrize("run", [pytest.param(r, marks=pytest.mark.slow) if r in HEAVY else r for r in RUNS])
def test_one_year_plan_gives_the_single_period_result(run):
    """The same optimum, and the same portfolio, except under a Gini cap enforced by cuts: there a
    single period's search also rounds points of the LP (`engine._mixed_portfolio`, which
    `heuristics.rounded` does for one period only), and the two may end at different portfolios
    of the same abatement (network-100/gini-025: the budget spent either way, 0.5 % apart in
    vulnerable benefit)."""
    single, one_year = mo.solve(_load(run)), mo.solve(_one_year(run))
    assert one_year.objective_value == pytest.approx(single.objective_value, rel=1e-9)
    assert one_year.verified.violations == [] and single.verified.violations == []
    if not formulation.needs_gini_cuts(single.case):
        np.testing.assert_array_equal(one_year.portfolio.units, single.portfolio.units)
        for figure in ("investment_eur", "annual_abatement_t", "eac_eur", "benefit", "vulnerable_benefit"):
            assert getattr(one_year.verified, figure) == pytest.approx(getattr(single.verified, figure), rel=1e-9)
    else:
        assert one_year.status == single.status == Status.OPTIMAL
    selected = one_year.verified.measures["selected"]
    assert (one_year.verified.measures.loc[selected, "year"] == one_year.case.settings.target_year).all()


def test_one_year_with_annual_budget_and_trajectory_equals_single_period():
    """A one-year budget equal to the total and a trajectory equal to the target change nothing;
    cumulative abatement over one year is the annual abatement."""
    run = "rural-cluster/base"
    single = mo.solve(_load(run))
    s = single.case.settings
    one_year = _one_year(run, budget_eur={s.target_year: s.budget.total_eur}, trajectory={s.target_year: s.target.reduction})
    result = mo.solve(one_year)
    assert result.objective_value == pytest.approx(single.objective_value, rel=1e-9)
    cumulative = mo.solve(mo.load(CASES / "rural-cluster", overrides=[
        {"periods": {"years": [s.target_year]}}, {"objective": "max_cumulative_abatement"}]))
    assert cumulative.objective_value == pytest.approx(single.objective_value, rel=1e-9)
    assert cumulative.verified.cumulative_abatement_t == pytest.approx(single.verified.annual_abatement_t, rel=1e-9)


# --- validation -------------------------------------------------------------------------------

def _case_with(tmp_path, seed=1, yaml_extra: dict | None = None, muni_columns: dict | None = None,
               measure_cells: dict | None = None) -> Path:
    directory = add_periods(write_tiny_case(tmp_path / "case", seed, n_measures=4, clusters=True), seed, n_years=3,
                            annual_budget=True, municipal_years=False, cluster_years=False)
    import yaml

    settings = yaml.safe_load((directory / "case.yaml").read_text())
    for key, value in (yaml_extra or {}).items():
        node = settings
        *path, last = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    (directory / "case.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    munis = pd.read_csv(directory / "municipalities.csv", dtype=str, keep_default_na=False)
    for column, value in (muni_columns or {}).items():
        munis[column] = value
    munis.to_csv(directory / "municipalities.csv", index=False)
    measures = pd.read_csv(directory / "measures.csv", dtype=str, keep_default_na=False)
    for column, value in (measure_cells or {}).items():
        measures.loc[0, column] = value
    measures.to_csv(directory / "measures.csv", index=False)
    return directory


def _problems(directory) -> list[str]:
    with pytest.raises(mo.CaseError) as error:
        mo.load(directory)
    return [str(p) for p in error.value.problems]


@pytest.mark.parametrize("change, pattern", [
    ({"muni_columns": {"budget_eur_2031": "5000"}}, r"municipalities\.csv:1: budget_eur_2031: year is not in periods\.years \(2031\)"),
    ({"muni_columns": {"budget_eur_2027": "-5"}}, r"municipalities\.csv:2: budget_eur_2027: must be >= 0 \(-5\)"),
    ({"muni_columns": {"budget_eur_2027": "lots"}}, r"municipalities\.csv:2: budget_eur_2027: must be a number \(lots\)"),
    ({"yaml_extra": {"target_year": 2027}}, r"case\.yaml:\d+: periods\.years: year is after target_year 2027 \(2028\)"),
    ({"yaml_extra": {"periods.cluster_budget_eur": {"nowhere": {2026: 5}}}}, r"periods\.cluster_budget_eur\.nowhere: unknown cluster"),
    ({"yaml_extra": {"periods.cluster_budget_eur": {"north": {2040: 5}}}}, r"periods\.cluster_budget_eur\.north\.2040: year is not in periods\.years"),
    ({"yaml_extra": {"periods.carry_over": True, "periods.budget_eur": {2026: 1000}}},
     r"periods\.carry_over: carry_over needs a budget_eur for every plan year; missing \(2027\)"),
    ({"yaml_extra": {"periods.trajectory": {2027: 1.5}}}, r"case\.yaml:\d+: periods\.trajectory\.2027: Input should be less than or equal to 1 \(1\.5\)"),
    ({"yaml_extra": {"periods.years": [2027, 2026]}}, r"periods\.years: .*strictly increasing"),
    ({"measure_cells": {"status": "committed", "earliest_year": "2029"}},
     r"measures\.csv:2: earliest_year: a committed measure must be possible by the last plan year 2028 \(2029\)"),
], ids=["column-year", "column-negative", "column-text", "after-target-year", "cluster-unknown", "cluster-year",
        "carry-over-gap", "trajectory-share", "years-order", "committed-too-late"])
def test_invalid_periods_are_reported_at_file_line_column(tmp_path, change, pattern):
    problems = _problems(_case_with(tmp_path, **change))
    assert any(re.search(pattern, p) for p in problems), problems


def test_per_year_column_without_periods_is_an_error(tmp_path):
    directory = write_tiny_case(tmp_path / "case", 3)
    munis = pd.read_csv(directory / "municipalities.csv", dtype=str, keep_default_na=False)
    munis["budget_eur_2027"] = "1000"
    munis.to_csv(directory / "municipalities.csv", index=False)
    outcome = CliRunner().invoke(main, ["validate", str(directory)])
    assert outcome.exit_code == 2
    assert "municipalities.csv:1: budget_eur_2027: a per-year budget column needs `periods` in case.yaml" in outcome.output


# --- results and verification --------------------------------------------------------------

@pytest.fixture(scope="module")
def five_year(tmp_path_factory):
    """The example five-year plan, solved and written twice through the command line."""
    runner = CliRunner()
    outs = [tmp_path_factory.mktemp("plan") / "out" for _ in range(2)]
    for out in outs:
        outcome = runner.invoke(main, ["solve", str(CASES / "rural-cluster"), "--scenario", "five-year-plan", "--out", str(out), "--quiet"])
        assert outcome.exit_code == 0, outcome.output
    return outs


def test_five_year_plan_results(five_year):
    out = five_year[0]
    portfolio = pd.read_csv(out / "portfolio.csv", dtype={"measure": str})
    assert list(portfolio.columns[:5]) == ["measure", "municipality", "sector", "units", "year"]
    schedule = pd.read_csv(out / "schedule.csv")
    summary = json.loads((out / "summary.json").read_text())
    case = mo.load(CASES / "rural-cluster", scenario="five-year-plan")
    periods = case.settings.periods
    total = schedule[schedule["level"] == "total"].set_index("year")
    assert list(total.index) == periods.years
    # recomputed from portfolio.csv: spending per year, abatement reached, cumulative objective
    spent = portfolio.groupby("year")["investment_eur"].sum().reindex(periods.years, fill_value=0.0)
    np.testing.assert_allclose(total["investment_eur"], spent, rtol=1e-9)
    reached = [portfolio.loc[portfolio["year"] <= t, "annual_abatement_t"].sum() for t in periods.years]
    np.testing.assert_allclose(total["annual_abatement_t"], reached, rtol=1e-9)
    assert summary["objective"]["value"] == pytest.approx(sum(reached), rel=1e-9)
    assert summary["cumulative_abatement_t"] == pytest.approx(sum(reached), rel=1e-9)
    for year, cap in periods.budget_eur.items():
        assert spent[year] <= cap * (1 + 1e-9)
    baseline = case.municipalities["baseline_emissions_t"].sum()
    achieved = case.municipalities["achieved_t"].sum()
    for year, share in periods.trajectory.items():
        assert total.at[year, "annual_abatement_t"] >= share * baseline - achieved
    # timing: earliest_year and prerequisites, from the input table
    measures = case.measures.set_index("measure")
    chosen = measures.loc[portfolio["measure"]]
    assert (chosen["earliest_year"].isna().to_numpy() | (portfolio["year"].to_numpy() >= chosen["earliest_year"].to_numpy())).all()
    year_of = dict(zip(portfolio["measure"], portfolio["year"]))
    for measure, year in year_of.items():
        required = measures.at[measure, "requires"]
        if isinstance(required, str):
            assert year_of[required] <= year
    # levels: clusters and municipalities add up to the total
    for level in ("cluster", "municipality"):
        part = schedule[schedule["level"] == level].groupby("year")["investment_eur"].sum()
        np.testing.assert_allclose(part.reindex(periods.years), total["investment_eur"], rtol=1e-9)
    assert (out / "schedule.png").stat().st_size > 10_000
    assert (out / "schedule.svg").read_text().lstrip().startswith("<svg")


def test_five_year_plan_outputs_are_deterministic(five_year):
    first, second = five_year
    for name in ("portfolio.csv", "schedule.csv", "municipalities.csv", "schedule.svg", "schedule.png"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_verification_catches_bad_schedules(tiny_case):
    """Schedules that break the timing or the annual budgets are reported by verify.py."""
    case = mo.load(add_periods(tiny_case(2, n_measures=5, requires=True, statuses=False), 2, n_years=3,
                               annual_budget=True, earliest=True, objective="max_cumulative_abatement"))
    result = mo.solve(case)
    portfolio = result.portfolio
    assert verify(case, portfolio).violations == []
    years = case.settings.periods.years
    selected = np.flatnonzero(portfolio.selected)
    assert len(selected) >= 2

    def broken(year, on=case):
        return verify(on, replace(portfolio, year=year)).violations

    assert any("not a plan year" in v for v in broken(np.where(portfolio.selected, years[0] - 1, np.nan)))
    lost = portfolio.year.copy()
    lost[selected[0]] = np.nan
    assert any("without an implementation year" in v for v in broken(lost))
    assert result.verified.investment_eur > case.settings.periods.budget_eur[years[0]]
    assert any("over its annual budget" in v for v in broken(np.where(portfolio.selected, years[0], np.nan)))
    late = np.flatnonzero(case.measures["earliest_year"].to_numpy() > years[0])
    late = late[portfolio.selected[late]]
    assert len(late)
    early = portfolio.year.copy()
    early[late[0]] = years[0]
    assert any("before its earliest_year" in v for v in broken(early))
    # the first selected measure requires the second: implementing it earlier breaks the order
    first, second = selected[:2]
    measures = case.measures.copy()
    measures.loc[first, "requires"] = measures.at[second, "measure"]
    linked = replace(case, measures=measures)
    order = portfolio.year.copy()
    order[first], order[second] = years[-1], years[-1]
    assert not any("prerequisite" in v for v in broken(order, linked))
    order[first] = years[0]
    assert any("before its prerequisite" in v for v in broken(order, linked))


def test_infeasible_plan_names_the_annual_budget(tmp_path):
    """A committed measure that fits no year's budget: exit 3, and the fix names periods.budget_eur."""
    directory = write_tiny_case(tmp_path / "case", 4, n_measures=4, statuses=True, target_scope=None,
                                budget_total=False, municipal_budgets=False, programmes=False, justice={})
    measures = pd.read_csv(directory / "measures.csv", dtype=str, keep_default_na=False)
    measures["status"] = ""
    measures.loc[0, "status"], measures.loc[0, "requires"] = "committed", ""
    measures.to_csv(directory / "measures.csv", index=False)
    row = measures.iloc[0]
    cost = float(row["capex_eur"]) * float(row["max_units"] or 1) + float(row["fixed_capex_eur"] or 0)
    add_periods(directory, 4, n_years=2, annual_budget=False, trajectory=False, earliest=False,
                municipal_years=False, cluster_years=False)
    outcome = CliRunner().invoke(main, ["solve", str(directory), "--out", str(tmp_path / "out"), "--quiet",
                                        "--set", f"periods.budget_eur.2026={cost / 2:.0f}",
                                        "--set", f"periods.budget_eur.2027={cost / 2:.0f}"])
    assert outcome.exit_code == 3, outcome.output
    assert "raise periods.budget_eur.202" in outcome.output
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["status"] == "infeasible"
