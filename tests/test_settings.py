"""Settings layering (SPEC 2): case base -> presets -> scenario -> --set, and schema errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import measureopt as mo
from measureopt.settings import deep_merge, parse_assignment, parse_scalar

ROOT = Path(__file__).resolve().parents[1]


def test_set_values_are_yaml_scalars_and_numbers_in_both_spellings():
    assert parse_scalar("1.0e-9") == 1e-9
    assert parse_scalar("1e-9") == 1e-9
    assert parse_scalar("true") is True
    assert parse_scalar("north") == "north"
    assert parse_assignment("justice.maxmin=true") == {"justice": {"maxmin": True}}
    with pytest.raises(mo.CaseError):
        parse_assignment("no-equals-sign")


def test_deep_merge_later_wins_and_keeps_siblings():
    merged = deep_merge({"justice": {"benefit": "households", "gini_max": 0.3}}, {"justice": {"gini_max": 0.2}})
    assert merged == {"justice": {"benefit": "households", "gini_max": 0.2}}


def test_layering_order(tiny_case, tmp_path):
    case_dir = tiny_case(1, justice={"population_floor": 0.5})
    source = yaml.safe_load((case_dir / "case.yaml").read_text())
    source["scenarios"] = {"strict": {"justice": {"population_floor": 0.7, "gini_max": 0.5}}}
    (case_dir / "case.yaml").write_text(yaml.safe_dump(source))
    preset = tmp_path / "preset.yaml"
    preset.write_text("justice: {population_floor: 0.6, vulnerable_share_min: 0.1}\nobjective: min_net_cost\n")
    case = mo.load(case_dir, scenario="strict", models=[preset], overrides=mo.parse_overrides(["justice.gini_max=0.45"]))
    j = case.settings.justice
    assert (j.population_floor, j.vulnerable_share_min, j.gini_max) == (0.7, 0.1, 0.45)
    assert case.settings.objective == "min_net_cost"
    assert case.settings.justice.benefit == "abatement"  # default kept


def test_presets_shipped_are_valid(tiny_case):
    case_dir = tiny_case(2)
    for preset in sorted((ROOT / "models").glob("*.yaml")):
        mo.load(case_dir, models=[preset])


def test_unknown_key_gets_a_hint(tiny_case):
    case_dir = tiny_case(3)
    with pytest.raises(mo.CaseError) as error:
        mo.load(case_dir, overrides={"justice": {"vulnerable_share_mn": 0.4}})
    assert "did you mean 'vulnerable_share_min'" in str(error.value)
