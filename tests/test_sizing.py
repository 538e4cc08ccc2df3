"""The programme sizing curve (`size`): hand-computed levels and marginal costs, monotonicity, the
highest reachable level, the inverse budget curve, and the command end to end."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import measureopt as mo
from measureopt.cli import main
from measureopt.errors import CaseError
from measureopt.sizing import parse_levels
from tests.test_allocation import write_three_towns


def test_levels_of_the_hand_case(tmp_path):
    """Three towns, 100 t/yr baseline each; A and B abate 1 t per EUR 1,000 unit, C per EUR 2,000; the
    programme halves capex for EUR 1,000 once two towns take part.
    5 %: 15 t through the programme, 15 x 500 + 1,000 = 8,500; 10 %: 30 x 500 + 1,000 = 16,000;
    15 %: A and B at their 20 units, 5 units in C at 1,000: 20,000 + 5,000 + 1,000 = 26,000;
    25 %: 75 t, but A, B and C hold only 60 t (20 %)."""
    case = mo.load(write_three_towns(tmp_path / "towns", reduction=0.1))
    sizing = mo.size(case, [0.05, 0.15, 0.25], workers=1, progress=False)
    curve = sizing.curve.set_index("level")
    assert list(curve.index) == [0.05, 0.1, 0.15, 0.25]  # the case's own 10 % is added
    assert list(curve["required_t"]) == pytest.approx([15, 30, 45, 75])
    assert list(curve["investment_eur"][:3]) == pytest.approx([8500, 16000, 26000])
    assert list(curve["reduction_with_achieved"][:3]) == pytest.approx([0.05, 0.1, 0.15])  # nothing achieved before
    assert list(curve["reachable"]) == [True, True, True, False] and curve.at[0.25, "status"] == "unreachable"
    assert np.isnan(curve.at[0.05, "marginal_eur_per_t"])
    assert curve.at[0.1, "marginal_eur_per_t"] == pytest.approx((16000 - 8500) / 15)
    assert curve.at[0.15, "marginal_eur_per_t"] == pytest.approx((26000 - 16000) / 15)
    assert list(curve["case_target"]) == [False, True, False, False]
    assert sizing.highest_level == pytest.approx(0.2)
    shares = sizing.shares[(sizing.shares["level"] == 0.15) & (sizing.shares["kind"] == "municipality")].set_index("id")
    assert shares.loc["C", "investment_eur"] == pytest.approx(5000)
    assert shares["share_of_investment"].sum() == pytest.approx(25000 / 26000)  # the rest is the programme's admin
    assert set(sizing.portfolios["level"]) == {0.05, 0.1, 0.15}


def test_the_case_target_level_matches_a_direct_min_investment_solve(tmp_path):
    directory = write_three_towns(tmp_path / "towns", reduction=0.12)
    sizing = mo.size(mo.load(directory), [0.1, 0.2], workers=1, progress=False)
    direct = mo.solve(mo.load(directory, overrides={"objective": "min_investment"}))
    row = sizing.curve[sizing.curve["case_target"]].iloc[0]
    assert row["level"] == 0.12 and row["investment_eur"] == pytest.approx(direct.verified.investment_eur)


def test_scope_each_makes_every_town_meet_its_own_share(tmp_path):
    # 10 t each: A and B through the programme (10 x 500 each), C 10 units at 1,000, admin 1,000
    case = mo.load(write_three_towns(tmp_path / "towns"))
    curve = mo.size(case, [0.1], scope="each", workers=1, progress=False).curve
    assert curve["investment_eur"].iloc[0] == pytest.approx(21000)


def test_inverse_curve_gives_max_abatement_per_budget(tmp_path):
    # EUR 11,000: 20 units through the programme (1,000 + 20 x 500); EUR 21,000: 40 units
    case = mo.load(write_three_towns(tmp_path / "towns"))
    table = mo.size(case, [0.1], budgets=[500, 11000, 21000], workers=1, progress=False).budget_curve
    assert list(table["annual_abatement_t"]) == pytest.approx([0, 20, 40])


@pytest.mark.parametrize("seed,workers", [(0, 2), (3, 1)])  # 2: through the runner's worker processes
def test_sizing_curve_is_monotone_and_reachable_up_to_the_highest_level(tmp_path, seed, workers):
    from benchmarks.generate import generate_case

    case = mo.load(generate_case(tmp_path / f"g{seed}", 3, 8, seed=seed))
    levels = parse_levels("0:0.4:0.05")
    sizing = mo.size(case, levels, workers=workers, progress=False)
    curve = sizing.curve
    ok = curve[curve["reachable"]]
    assert np.all(np.diff(ok["investment_eur"].to_numpy()) >= -1e-6)  # more reduction never costs less
    assert (curve["reachable"] == (curve["level"] <= sizing.highest_level + 1e-9)).all()
    assert not curve["reachable"].all()  # the grid reaches beyond what the measures can do
    just_below = mo.size(case, [round(sizing.highest_level - 1e-7, 9)], workers=1, progress=False).curve
    assert bool(just_below.loc[just_below["level"] < sizing.highest_level, "reachable"].iloc[0])


def test_size_command_writes_the_curve_and_charts(tmp_path):
    case = write_three_towns(tmp_path / "towns")
    out = tmp_path / "out"
    args = ["size", str(case), "--levels", "0.05:0.25:0.05", "--budgets", "5000,11000", "--out", str(out), "-j", "1", "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "highest reachable level 20.00%" in result.output
    assert sorted(p.name for p in out.iterdir()) == sorted([
        "sizing.csv", "sizing_shares.csv", "sizing_portfolios.csv", "sizing.json", "sizing.png", "sizing.svg",
        "budget_curve.csv", "budget_curve.png", "budget_curve.svg"])
    csv = pd.read_csv(out / "sizing.csv")
    assert list(csv["status"]) == ["optimal"] * 4 + ["unreachable"]
    summary = json.loads((out / "sizing.json").read_text())
    assert summary["case_target_investment_eur"] == pytest.approx(16000) and summary["unreachable_levels"] == [0.25]
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert CliRunner().invoke(main, args).exit_code == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first  # same input, same bytes


@pytest.mark.parametrize("text", ["0.5:0.1:0.1", "a:b:c", "0.1:0.5:0", "-0.1,0.2"])
def test_bad_levels_are_input_errors(text):
    with pytest.raises(CaseError):
        parse_levels(text)


def test_levels_above_one_exit_2(tmp_path):
    case = write_three_towns(tmp_path / "towns")
    assert CliRunner().invoke(main, ["size", str(case), "--levels", "0.5,1.5", "-q"]).exit_code == 2
