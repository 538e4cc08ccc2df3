"""The marginal abatement cost curve: LCOA against hand-computed values, order, highlighting, CLI."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import measureopt as mo
from measureopt.cli import main
from tests.conftest import CASES

MUNICIPALITIES = [
    {"municipality": "A", "name": "Alpha", "population": 1000, "households": 400, "vulnerable_households": 100,
     "baseline_emissions_t": 5000},
    {"municipality": "B", "name": "Beta", "population": 3000, "households": 1000, "vulnerable_households": 500,
     "baseline_emissions_t": 9000},
]
MEASURES = [
    # LCOA at r = 5 %: CRF(0.05, 10) = 0.05 * 1.05^10 / (1.05^10 - 1) = 0.1295045750;
    # (0.1295045750 * 1000 + 20 - 120) / 2 = 14.75228750 EUR/t
    {"measure": "A-HP", "municipality": "A", "sector": "residential", "max_units": 10, "capex_eur": 1000,
     "fixed_capex_eur": 5000, "opex_eur": 20, "bill_savings_eur": 120, "co2_reduction_t": 2, "lifetime_years": 10},
    # CRF(0.05, 20) = 0.0802425872; (0.0802425872 * 400 - 100) / 4 = -16.97574128 EUR/t (saves money)
    {"measure": "B-LED", "municipality": "B", "sector": "public_lighting", "max_units": 50, "capex_eur": 400,
     "bill_savings_eur": 100, "co2_reduction_t": 4, "lifetime_years": 20},
    # no abatement: no LCOA, listed last
    {"measure": "B-ADV", "municipality": "B", "sector": "residential", "max_units": 1, "capex_eur": 1000,
     "co2_reduction_t": 0, "lifetime_years": 5},
    # excluded: not a candidate, not on the curve
    {"measure": "B-X", "municipality": "B", "sector": "transport", "max_units": 1, "capex_eur": 1,
     "co2_reduction_t": 1, "lifetime_years": 5, "status": "excluded"},
    # CRF(0.05, 25) = 0.0709524573; (0.0709524573 * 8000 + 50) / 10 = 61.76196584 EUR/t
    {"measure": "B-PV", "municipality": "B", "sector": "local_electricity", "max_units": 3, "capex_eur": 8000,
     "opex_eur": 50, "co2_reduction_t": 10, "lifetime_years": 25},
]


def write_case(directory: Path, case_yaml: str, municipalities: list[dict] = MUNICIPALITIES,
               measures: list[dict] = MEASURES) -> Path:
    """A case directory from rows (missing cells blank)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "case.yaml").write_text(case_yaml, encoding="utf-8")
    for name, rows in (("municipalities.csv", municipalities), ("measures.csv", measures)):
        columns = list(dict.fromkeys(k for row in rows for k in row))
        with open(directory / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return directory


CASE_YAML = "name: MACC check\neconomics: {discount_rate: 0.05}\nbudget: {total_eur: 30000}\n"


def test_lcoa_equals_hand_computed_values_in_curve_order(tmp_path):
    table = mo.macc(mo.load(write_case(tmp_path / "case", CASE_YAML)))
    assert table["measure"].tolist() == ["B-LED", "A-HP", "B-PV", "B-ADV"]
    assert table["lcoa_eur_per_t"].iloc[:3].tolist() == pytest.approx([-16.97574128, 14.75228750, 61.76196584], rel=1e-8)
    assert pd.isna(table["lcoa_eur_per_t"].iloc[3])
    assert table["potential_t"].tolist() == [200, 20, 30, 0]
    assert table["cumulative_t"].tolist() == [200, 220, 250, 250]
    assert table.loc[table["measure"] == "A-HP", "potential_investment_eur"].item() == 15000


def test_zero_discount_rate_uses_one_over_lifetime(tmp_path):
    table = mo.macc(mo.load(write_case(tmp_path / "case", "name: r0\neconomics: {discount_rate: 0}\n")))
    lcoa = dict(zip(table["measure"], table["lcoa_eur_per_t"]))
    assert lcoa["A-HP"] == pytest.approx((1000 / 10 + 20 - 120) / 2)  # 0
    assert lcoa["B-LED"] == pytest.approx((400 / 20 - 100) / 4)  # -20
    assert lcoa["B-PV"] == pytest.approx((8000 / 25 + 50) / 10)  # 37


def test_selected_portfolio_is_highlighted_and_files_are_reproducible(tmp_path):
    case_dir = write_case(tmp_path / "case", CASE_YAML)
    runner = CliRunner()
    done = runner.invoke(main, ["solve", str(case_dir), "--out", str(tmp_path / "res"), "-q"])
    assert done.exit_code == 0, done.output
    chosen = set(pd.read_csv(tmp_path / "res" / "portfolio.csv", dtype=str)["measure"])
    for out in ("m1", "m2"):
        done = runner.invoke(main, ["macc", str(case_dir), "--result", str(tmp_path / "res"), "--out", str(tmp_path / out)])
        assert done.exit_code == 0, done.output
    table = pd.read_csv(tmp_path / "m1" / "macc.csv", dtype={"measure": str})
    assert set(table.loc[table["selected"], "measure"]) == chosen
    assert chosen  # the budget buys something, so the highlight is not vacuous
    for name in ("macc.csv", "macc.svg"):
        assert (tmp_path / "m1" / name).read_bytes() == (tmp_path / "m2" / name).read_bytes()
    svg = (tmp_path / "m1" / "macc.svg").read_text()
    assert svg.startswith("<svg") and "#1b7837" in svg and "#bdbdbd" in svg


def test_result_of_another_case_is_rejected(tmp_path):
    case_dir = write_case(tmp_path / "case", CASE_YAML)
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "portfolio.csv").write_text("measure,municipality\nGR-001-LED1,GR-001\n")
    done = CliRunner().invoke(main, ["macc", str(case_dir), "--result", str(tmp_path / "res"), "--out", str(tmp_path / "m")])
    assert done.exit_code == 2 and "GR-001-LED1" in done.output
    assert not (tmp_path / "m").exists()


def test_example_case_curve_covers_every_candidate():
    case = mo.load(CASES / "rural-cluster")
    table = mo.macc(case)
    candidates = case.measures[case.measures["status"] != "excluded"]
    assert len(table) == len(candidates)
    assert table["cumulative_t"].iloc[-1] == pytest.approx((candidates["co2_reduction_t"] * candidates["max_units"]).sum())
    costs = table["lcoa_eur_per_t"].dropna().to_numpy()
    assert (costs[:-1] <= costs[1:]).all()


def test_macc_help_has_an_example():
    done = CliRunner().invoke(main, ["macc", "--help"])
    assert done.exit_code == 0 and "Example: measureopt macc" in done.output
