"""Binding requirements and their shadow prices, against values computed by hand."""
from __future__ import annotations

import pytest

import measureopt as mo


def _case(tmp_path, budget_eur: float, extra: str = ""):
    (tmp_path / "case.yaml").write_text(f"name: hand\nbudget: {{total_eur: {budget_eur}}}\n{extra}")
    (tmp_path / "municipalities.csv").write_text(
        "municipality,population,households,baseline_emissions_t\nA,1000,400,500\nB,3000,1200,900\n")
    (tmp_path / "measures.csv").write_text(
        "measure,municipality,sector,max_units,integer,capex_eur,co2_reduction_t,lifetime_years\n"
        "pv,A,local_electricity,100,false,100,2,25\n"  # 0.02 t per EUR: the better buy
        "led,B,public_lighting,100,false,100,1,20\n")  # 0.01 t per EUR
    return mo.load(tmp_path)


def test_budget_shadow_price_is_abatement_per_marginal_euro(tmp_path):
    result = mo.solve(_case(tmp_path, 1000))  # 10 units of pv: A = 20 t/yr
    assert result.objective_value == pytest.approx(20.0)
    (budget,) = [b for b in result.binding if b["constraint"] == "budget_total"]
    assert budget["bound"] == 1000 and budget["shadow_price"] == pytest.approx(0.02)


def test_target_shadow_price_under_min_investment(tmp_path):
    extra = "objective: min_investment\ntarget: {reduction: 0.03}\n"  # R = 0.03 * 1400 = 42 t/yr
    result = mo.solve(_case(tmp_path, 1e6, extra))
    assert result.objective_value == pytest.approx(42 / 2 * 100)  # 21 units of pv
    (target,) = [b for b in result.binding if b["constraint"] == "target_joint"]
    assert target["bound"] == pytest.approx(42) and target["shadow_price"] == pytest.approx(50.0)  # EUR per t/yr
