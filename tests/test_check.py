"""Trust in results (issue 9.5): `measureopt solve CASE --check RESULTS_DIR`.

A fresh results folder matches its inputs (exit 0); a tampered portfolio.csv or summary.json, a
changed input file or another measureopt version is caught (exit 5, with what differs); a folder
that is not a results folder is exit 2. Every shipped example case and scenario is solved (the
engine verifies every solve independently) and its results folder passes the check.
"""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from measureopt.cli import main
from tests.conftest import CASES, EXAMPLE_CASES

#: Scenarios that take HiGHS several seconds (network-100's fairness rules).
SLOW = {("network-100", "fair-floor"), ("network-100", "gini-025"), ("network-100", "maxmin")}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _runs():
    for name in EXAMPLE_CASES:
        scenarios = yaml.safe_load((CASES / name / "case.yaml").read_text()).get("scenarios") or {}
        for scenario in [None, *scenarios]:
            marks = [pytest.mark.slow] if (name, scenario) in SLOW else []
            yield pytest.param(name, scenario, id=f"{name}-{scenario or 'base'}", marks=marks)


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """region-44 (with joint procurement programmes) copied and solved once: (case dir, results dir)."""
    root = tmp_path_factory.mktemp("check")
    case = root / "region-44"
    shutil.copytree(CASES / "region-44", case)
    result = invoke("solve", case, "--out", root / "results", "-q")
    assert result.exit_code == 0, result.output
    return case, root / "results"


@pytest.fixture
def copy(solved, tmp_path):
    """A fresh copy of the solved case and its results, to tamper with."""
    case, results = tmp_path / "case", tmp_path / "results"
    shutil.copytree(solved[0], case)
    shutil.copytree(solved[1], results)
    return case, results


def _refused(result, *fragments: str) -> None:
    assert result.exit_code == 5, result.output
    assert "results do not match the inputs" in result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, f"{fragment!r} not in:\n{result.output}"


def test_fresh_results_match_their_inputs(solved):
    result = invoke("solve", solved[0], "--check", solved[1])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("results match the inputs")
    portfolio = pd.read_csv(solved[1] / "portfolio.csv", dtype=str, keep_default_na=False)
    assert (portfolio["programme"] != "").any(), "the check should see units bought through a programme"


def test_tampered_portfolio_is_caught(copy):
    case, results = copy
    portfolio = pd.read_csv(results / "portfolio.csv", dtype=str, keep_default_na=False)
    row = int((portfolio["annual_abatement_t"].astype(float) > 0).to_numpy().argmax())
    portfolio.loc[row, "annual_abatement_t"] = repr(float(portfolio.loc[row, "annual_abatement_t"]) * 1.5)
    portfolio.to_csv(results / "portfolio.csv", index=False)
    _refused(invoke("solve", case, "--check", results),
             f"portfolio.csv:{row + 2}: annual_abatement_t of {portfolio.loc[row, 'measure']}")


def test_measure_added_to_the_portfolio_is_caught(copy):
    """One more measure bought: its row is consistent, but the budget or the totals are not."""
    case, results = copy
    portfolio = pd.read_csv(results / "portfolio.csv", dtype=str, keep_default_na=False)
    measures = pd.read_csv(case / "measures.csv", dtype=str, keep_default_na=False)
    extra = measures[~measures["measure"].isin(portfolio["measure"]) & (measures["status"] != "excluded")].iloc[0]
    row = {c: "" for c in portfolio.columns} | {"measure": extra["measure"], "municipality": extra["municipality"], "units": "1"}
    pd.concat([portfolio, pd.DataFrame([row])]).to_csv(results / "portfolio.csv", index=False)
    _refused(invoke("solve", case, "--check", results), f"of {extra['measure']} is")


def test_tampered_summary_is_caught(copy):
    case, results = copy
    summary = json.loads((results / "summary.json").read_text())
    summary["investment_eur"] *= 0.9
    (results / "summary.json").write_text(json.dumps(summary))
    _refused(invoke("solve", case, "--check", results), "summary.json: investment_eur is")


def test_changed_input_file_is_caught(copy):
    case, results = copy
    portfolio = pd.read_csv(results / "portfolio.csv", dtype=str, keep_default_na=False)
    chosen = portfolio["measure"][portfolio["annual_abatement_t"].astype(float) > 0].iloc[0]
    measures = pd.read_csv(case / "measures.csv", dtype=str, keep_default_na=False)
    measures.loc[measures["measure"] == chosen, "co2_reduction_t"] = "0.001"
    measures.to_csv(case / "measures.csv", index=False)
    _refused(invoke("solve", case, "--check", results), "measures.csv: changed since the results were made",
             f"annual_abatement_t of {chosen} is")


def test_other_version_is_caught(copy):
    case, results = copy
    summary = json.loads((results / "summary.json").read_text())
    summary["provenance"]["measureopt_version"] = "0.0.1"
    (results / "summary.json").write_text(json.dumps(summary))
    _refused(invoke("solve", case, "--check", results), "made by measureopt 0.0.1")


def test_not_a_results_folder_is_exit_2(solved, tmp_path):
    result = invoke("solve", solved[0], "--check", tmp_path)
    assert result.exit_code == 2, result.output
    assert "summary.json: -: not found: not a results folder" in result.output


@pytest.mark.parametrize(("name", "scenario"), list(_runs()))
def test_every_example_case_and_scenario_is_verified(name, scenario, tmp_path):
    """Solving runs the independent verification (a violation fails the run with exit 4); the
    results folder then passes the check against the shipped inputs."""
    out = tmp_path / "out"
    result = invoke("solve", CASES / name, *(["--scenario", scenario] if scenario else []), "--out", out, "-q")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text())["status"] == "optimal"
    checked = invoke("solve", CASES / name, "--check", out)
    assert checked.exit_code == 0, checked.output
