"""The command line end to end: example cases, result files, exit codes, determinism, atomicity."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from measureopt.cli import main
from tests.conftest import CASES, EXAMPLE_CASES

SUMMARY_KEYS = {
    "case", "scenario", "status", "objective", "mip_gap", "investment_eur", "annual_abatement_t",
    "reduction_share", "eac_eur", "cost_per_t", "vulnerable_benefit_share", "gini", "min_per_capita_ratio",
    "target_met", "build_seconds", "solve_seconds", "variables", "constraints", "binding", "settings",
}
PORTFOLIO_COLUMNS = ["measure", "municipality", "sector", "units", "investment_eur", "annual_abatement_t",
                     "eac_eur", "cost_per_t", "vulnerable_benefit", "programme"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("name", EXAMPLE_CASES)
def test_example_case_solves_and_writes_spec_files(name, tmp_path):
    out = tmp_path / "out"
    result = invoke("solve", CASES / name, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["status"] == "optimal" and summary["target_met"] is True
    portfolio = pd.read_csv(out / "portfolio.csv", dtype={"measure": str, "municipality": str})
    assert list(portfolio.columns) == PORTFOLIO_COLUMNS
    assert portfolio["investment_eur"].sum() <= summary["investment_eur"] + 1e-6
    assert portfolio["annual_abatement_t"].sum() == pytest.approx(summary["annual_abatement_t"], rel=1e-9)
    munis = pd.read_csv(out / "municipalities.csv", dtype={"municipality": str})
    source = pd.read_csv(CASES / name / "municipalities.csv", dtype={"municipality": str})
    assert list(munis["municipality"]) == list(source["municipality"])  # ids stay text, file order kept
    settings = yaml.safe_load((out / "settings.yaml").read_text())
    assert settings == summary["settings"]


def test_same_case_gives_byte_identical_portfolio(tmp_path):
    for run in ("a", "b"):
        assert invoke("solve", CASES / "rural-cluster", "--out", tmp_path / run, "-q").exit_code == 0
    for name in ("portfolio.csv", "municipalities.csv", "settings.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_scenarios_and_set_layering_are_saved(tmp_path):
    out = tmp_path / "j40"
    result = invoke("solve", CASES / "rural-cluster", "--scenario", "justice40", "--set", "solver.mip_gap=1e-4", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "justice40"
    assert summary["settings"]["justice"]["vulnerable_share_min"] == 0.4
    assert summary["settings"]["solver"]["mip_gap"] == 1e-4
    assert summary["vulnerable_benefit_share"] >= 0.4 - 1e-9


def test_infeasible_case_explains_and_exits_3(tiny_case, tmp_path):
    case_dir = tiny_case(5, target_scope="joint", budget_total=True, objective="max_abatement", justice={},
                         groups=False, requires=False, statuses=False, programmes=False)
    measures = pd.read_csv(case_dir / "measures.csv")
    munis = pd.read_csv(case_dir / "municipalities.csv").fillna({"achieved_t": 0})
    potential = float((measures["co2_reduction_t"] * measures["max_units"].fillna(1)).sum())
    reduction = (0.8 * potential + munis["achieved_t"].sum()) / munis["baseline_emissions_t"].sum()
    out = tmp_path / "out"
    result = invoke("solve", case_dir, "--set", f"target.reduction={reduction:.6f}", "--set", "budget.total_eur=1000",
                    "--out", out, "-q")
    assert result.exit_code == 3, result.output
    assert "the case is infeasible" in result.output
    assert re.search(r"lower target\.reduction to 0\.\d{3}", result.output)
    assert re.search(r"raise budget\.total_eur by EUR [\d,.]+", result.output)
    assert "Traceback" not in result.output
    assert json.loads((out / "summary.json").read_text())["status"] == "infeasible"
    assert not (out / "portfolio.csv").exists()


def test_structural_conflict_is_named(tiny_case, tmp_path):
    case_dir = tiny_case(6)
    measures = pd.read_csv(case_dir / "measures.csv", dtype=str, keep_default_na=False)
    measures.loc[measures.index[:2], "municipality"] = measures.at[measures.index[0], "municipality"]
    measures.loc[measures.index[:2], "group"] = "pair"
    measures.loc[measures.index[:2], "requires"] = ""
    measures.loc[measures.index[:2], "status"] = "committed"
    measures["requires"] = measures["requires"].where(~measures["requires"].isin(measures["measure"][:2]), "")
    measures.to_csv(case_dir / "measures.csv", index=False)
    result = invoke("solve", case_dir, "--out", tmp_path / "out", "-q")
    assert result.exit_code == 3, result.output
    assert "alternatives of group pair" in result.output


def test_failed_run_leaves_previous_results_untouched(tmp_path):
    out = tmp_path / "out"
    assert invoke("solve", CASES / "rural-cluster", "--out", out, "-q").exit_code == 0
    before = (out / "portfolio.csv").read_bytes()
    result = invoke("solve", CASES / "rural-cluster", "--set", "objective=max_everything", "--out", out, "-q")
    assert result.exit_code == 2
    assert (out / "portfolio.csv").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folders left behind


@pytest.mark.parametrize("command", ["validate", "solve"])
def test_help_has_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Example: measureopt " + command in result.output


def test_validate_prints_size_and_totals():
    result = invoke("validate", CASES / "region-44")
    assert result.exit_code == 0, result.output
    assert "municipalities: 44" in result.output and "programmes: 2" in result.output


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "measureopt", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "0.1.0" in done.stdout


def test_results_carry_provenance_and_neutralise_formulas(tmp_path):
    case_dir = tmp_path / "case"
    import shutil

    shutil.copytree(CASES / "rural-cluster", case_dir)
    measures = pd.read_csv(case_dir / "measures.csv", dtype=str, keep_default_na=False)
    committed = measures.index[measures["status"] == "committed"][0]
    old = measures.at[committed, "measure"]
    measures.loc[measures["requires"] == old, "requires"] = "=HYPERLINK(1)"
    measures.at[committed, "measure"] = "=HYPERLINK(1)"
    measures.to_csv(case_dir / "measures.csv", index=False)
    out = tmp_path / "out"
    assert invoke("solve", case_dir, "--out", out, "-q").exit_code == 0
    text = (out / "portfolio.csv").read_text()
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
    summary = json.loads((out / "summary.json").read_text())
    import hashlib

    assert summary["provenance"]["inputs_sha256"]["measures.csv"] == hashlib.sha256((case_dir / "measures.csv").read_bytes()).hexdigest()
    assert summary["provenance"]["measureopt_version"] == "0.1.0"
