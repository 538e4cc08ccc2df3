"""The generated case-format page lists exactly what the validator accepts."""
from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

import measureopt as mo
from docs import case_format
from measureopt.settings import Settings
from tests.conftest import CASES

PAGE = case_format.page()


def _documented_columns(table: str) -> list[str]:
    section = PAGE.split(f"## {table}.csv")[1].split("\n## ")[0]
    return re.findall(r"^\| `([^`]+)` \|", section, re.M)


def _schema_paths(schema: dict, node: dict, prefix: str = "") -> set[str]:
    """Every setting path of pydantic's own JSON schema (a second reading of the same model)."""
    paths = set()
    for name, prop in node.get("properties", {}).items():
        paths.add(prefix + name)
        refs = [prop] + prop.get("anyOf", [])
        for ref in (r["$ref"] for r in refs if "$ref" in r):
            paths |= _schema_paths(schema, schema["$defs"][ref.split("/")[-1]], f"{prefix}{name}.")
    return paths


@pytest.mark.parametrize("table", ["municipalities", "measures", "programmes"])
def test_every_documented_column_is_accepted_and_no_other(table, tmp_path):
    case_dir = tmp_path / "case"
    shutil.copytree(CASES / "region-44", case_dir)
    path = case_dir / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    documented = _documented_columns(table)
    for column in documented:
        if column not in frame.columns:
            frame[column] = ""  # blank: "not given"
    frame.to_csv(path, index=False)
    mo.load(case_dir)  # every documented column is accepted
    frame["not_documented"] = ""
    frame.to_csv(path, index=False)
    with pytest.raises(mo.CaseError) as caught:
        mo.load(case_dir)
    assert [p.column for p in caught.value.problems] == ["not_documented"]
    assert "unknown column" in caught.value.problems[0].message


def test_every_setting_of_the_schema_is_documented_and_no_other():
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", PAGE.split("## case.yaml settings")[1].split("\n## ")[0], re.M))
    assert documented == _schema_paths(Settings.model_json_schema(), Settings.model_json_schema())


def test_every_documented_section_is_accepted_by_the_validator():
    sections = {path.split(".")[0] for path, kind, _, _ in case_format.setting_rows() if kind == "section"}
    for section in sections:
        with pytest.raises(mo.CaseError) as caught:
            mo.load(CASES / "rural-cluster", overrides={section: {"no_such_key": 1}})
        assert any("unknown setting" in p.message for p in caught.value.problems), section
