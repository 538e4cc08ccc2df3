"""compare: every row equals `solve` alone, the price of fairness of each rule on network-100, who
gains and loses, failed scenarios kept, determinism and usage errors.

network-100's gini-025 scenario is left out: it takes ~30 s alone (Gini cuts); fair-floor and
maxmin take ~6 s each and are checked through their price of fairness."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import measureopt as mo
from measureopt.cli import main
from measureopt.equity import gini_from_lorenz
from measureopt.scenarios import scenario_names
from tests.conftest import CASES, ROOT

NETWORK = CASES / "network-100"
RURAL = CASES / "rural-cluster"
RULES = ["unconstrained", "justice40", "fair-floor", "maxmin", "equity-weighted"]
FAST = ["unconstrained", "justice40", "equity-weighted"]
SAME_AS_SOLVE = ["status", "investment_eur", "annual_abatement_t", "reduction_share", "eac_eur", "cost_per_t",
                 "vulnerable_benefit_share", "gini", "min_per_capita_ratio", "target_met", "mip_gap"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def network():
    return mo.compare(NETWORK, RULES, workers=1, progress=False)


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """summary.json and municipalities.csv of `measureopt solve` for each fast scenario, run alone."""
    runs = {}
    for name in FAST:
        out = tmp_path_factory.mktemp(name)
        assert invoke("solve", NETWORK, "--scenario", name, "--out", out, "-q").exit_code == 0
        runs[name] = (json.loads((out / "summary.json").read_text()),
                      pd.read_csv(out / "municipalities.csv", dtype={"municipality": str}))
    return runs


def test_every_row_equals_solve_alone(network, alone):
    table = network.table.set_index("scenario")
    for name, (summary, _) in alone.items():
        row = table.loc[name]
        assert row["objective_value"] == summary["objective"]["value"]
        assert row["objective"] == summary["objective"]["name"]
        for key in SAME_AS_SOLVE:
            assert row[key] == summary[key] or (summary[key] is None and pd.isna(row[key])), (name, key)


def test_each_fairness_rule_has_its_price(network):
    table = network.table.set_index("scenario")
    reference = table.loc["unconstrained", "objective_value"]
    assert network.reference == "unconstrained" and table.loc["unconstrained", "price_of_fairness"] == 0.0
    for name in ["justice40", "fair-floor", "maxmin"]:  # same objective: PoF from the two objective values
        expected = (reference - table.loc[name, "objective_value"]) / reference
        assert table.loc[name, "price_of_fairness"] == pytest.approx(expected, rel=1e-12)
    # equity-weighted maximises another objective: its portfolio is valued by the reference's (abatement)
    weighted = table.loc["equity-weighted"]
    assert weighted["objective"] == "max_weighted_benefit"
    assert weighted["reference_objective_value"] == pytest.approx(weighted["annual_abatement_t"], rel=1e-12)
    assert weighted["price_of_fairness"] == pytest.approx((reference - weighted["annual_abatement_t"]) / reference, rel=1e-12)
    # every scenario keeps the reference's budget and target, so its portfolio is feasible there: PoF >= 0
    assert (table["price_of_fairness"] >= -1e-9).all()
    assert (table.loc[["justice40", "fair-floor", "maxmin"], "price_of_fairness"] > 0).all()
    # fairness metrics are there for every scenario, constrained or not
    assert table[["vulnerable_benefit_share", "gini", "min_per_capita_ratio", "bottom_40_benefit_share"]].notna().all().all()
    assert table.loc["fair-floor", "min_per_capita_ratio"] >= 0.8 - 1e-6
    assert table.loc["justice40", "vulnerable_benefit_share"] >= 0.4 - 1e-6


def test_gains_and_losses_are_the_differences_of_the_solves(network, alone):
    gains = network.gains
    _, reference = alone["unconstrained"]
    _, justice = alone["justice40"]
    mine = gains[gains["scenario"] == "justice40"].reset_index(drop=True)
    assert list(mine["municipality"]) == list(justice["municipality"])
    assert np.allclose(mine["abatement_change_t"], justice["annual_abatement_t"] - reference["annual_abatement_t"], atol=1e-6)
    assert np.allclose(mine["investment_change_eur"], justice["investment_eur"] - reference["investment_eur"], atol=1e-4)
    assert (mine["abatement_change_t"] > 0).any() and (mine["abatement_change_t"] < 0).any()  # winners and losers
    assert (gains.loc[gains["scenario"] == "unconstrained", ["abatement_change_t", "investment_change_eur"]] == 0).all().all()


def test_lorenz_curves_match_the_reported_gini(network):
    for name, curve in network.lorenz.groupby("scenario"):
        row = network.table.set_index("scenario").loc[name]
        assert gini_from_lorenz(curve) == pytest.approx(row["gini"], abs=1e-12)


def test_minimised_objective_loss_is_positive(tmp_path):
    """With least-cost, the justice rule's price is the extra investment, as a share of the least one."""
    comparison = mo.compare(RURAL, ["base", "justice40"], models=[ROOT / "models" / "least-cost.yaml"], workers=1, progress=False)
    table = comparison.table.set_index("scenario")
    assert table.loc["base", "sense"] == "min"
    base, justice = table.loc["base", "investment_eur"], table.loc["justice40", "investment_eur"]
    assert justice > base
    assert table.loc["justice40", "price_of_fairness"] == pytest.approx((justice - base) / base, rel=1e-12)


def test_all_means_the_base_case_then_every_scenario():
    case = mo.load(RURAL)
    assert scenario_names(case, [], True) == ["base", *case.source["scenarios"]]


def test_cli_compare_writes_the_tables_deterministically(tmp_path):
    scenarios = ["-s", "base", "-s", "justice40", "-s", "fair-floor"]
    first = invoke("compare", RURAL, *scenarios, "--workers", "1", "--out", tmp_path / "a", "-q")
    assert first.exit_code == 0, first.output
    assert "price of fairness" in first.output and "justice40" in first.output
    second = invoke("compare", RURAL, *scenarios, "--workers", "2", "--out", tmp_path / "b", "-q")
    assert second.exit_code == 0, second.output
    for name in ("compare.csv", "gains_losses.csv", "lorenz.csv", "compare.md", "lorenz.svg"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    table = pd.read_csv(tmp_path / "a" / "compare.csv")
    assert list(table["scenario"]) == ["base", "justice40", "fair-floor"]
    assert (tmp_path / "a" / "lorenz.png").stat().st_size > 1000


def test_a_failed_scenario_is_a_row_and_the_others_go_on(tmp_path):
    result = invoke("compare", RURAL, "-s", "base", "-s", "justice40", "--set", "budget.total_eur=80000000",
                    "--workers", "1", "--out", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "compare.csv").set_index("scenario")
    assert table.loc["base", "status"] == "optimal"
    assert table.loc["justice40", "status"] == "infeasible" and table.loc["justice40", "error"].startswith("infeasible: ")
    assert pd.isna(table.loc["justice40", "price_of_fairness"])
    nothing = invoke("compare", RURAL, "--all", "--set", "budget.total_eur=1000", "--workers", "1", "--out", tmp_path / "none", "-q")
    assert nothing.exit_code == 3
    assert (pd.read_csv(tmp_path / "none" / "compare.csv")["status"] == "infeasible").all()


@pytest.mark.parametrize("args", [["-s", "justice41"], ["--all", "-s", "justice40"], ["-s", "base", "--reference", "fair-floor"], []])
def test_usage_errors_exit_2_and_write_nothing(tmp_path, args):
    result = invoke("compare", RURAL, *args, "--out", tmp_path / "out", "-q")
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "out").exists()
