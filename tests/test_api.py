"""The Python API is the product; the CLI is a thin layer over it and writes the same files."""
from __future__ import annotations

import inspect
import json

import pytest
from click.testing import CliRunner

import measureopt as mo
from measureopt.cli import main
from tests.conftest import CASES

SHIPPED = sorted(p.name for p in CASES.iterdir() if (p / "case.yaml").is_file())
TIMINGS = ("build_seconds", "solve_seconds", "gap_trajectory")


def _comparable(folder):
    summary = json.loads((folder / "summary.json").read_text())
    for key in TIMINGS:
        summary.pop(key, None)
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "summary.json"}
    return summary, files


@pytest.mark.parametrize("name", SHIPPED)
def test_api_and_cli_write_the_same_result_folder(name, tmp_path):
    solution = mo.solve(mo.load(CASES / name))
    solution.write(tmp_path / "api")
    run = CliRunner().invoke(main, ["solve", str(CASES / name), "--out", str(tmp_path / "cli"), "--quiet"])
    assert run.exit_code == 0, run.output
    assert _comparable(tmp_path / "api") == _comparable(tmp_path / "cli")
    written = json.loads((tmp_path / "api" / "summary.json").read_text())
    summary = solution.summary
    assert summary.objective_value == written["objective"]["value"]
    assert (summary.investment_eur, summary.gini, summary.target_met) == (written["investment_eur"], written["gini"], written["target_met"])
    assert len(solution.portfolio_table) == len((tmp_path / "cli" / "portfolio.csv").read_text().splitlines()) - 1
    assert list(solution.municipalities_table["municipality"]) == list(solution.case.municipalities.index)


def test_scenario_travels_with_the_case(tmp_path):
    solution = mo.solve(mo.load(CASES / "rural-cluster", scenario="justice40"))
    assert solution.summary.scenario == "justice40"
    assert json.loads((solution.write(tmp_path / "r") / "summary.json").read_text())["scenario"] == "justice40"
    binding = solution.binding_table
    assert "vulnerable_share" in set(binding["constraint"]) and binding["shadow_price"].notna().all()


def test_overrides_as_a_dict_and_typed_errors():
    case = mo.load(CASES / "rural-cluster", overrides={"justice": {"population_floor": 0.5}})
    assert case.settings.justice.population_floor == 0.5
    with pytest.raises(mo.CaseError) as caught:
        mo.load(CASES / "rural-cluster", overrides={"budget": {"total_eur": "lots"}})
    problem = caught.value.problems[0]
    assert (problem.file, problem.column) == ("--set", "budget.total_eur") and "lots" in str(problem)


def test_public_names_are_documented_and_typed():
    for name in mo.__all__:
        thing = getattr(mo, name)
        assert inspect.getdoc(thing), f"{name} has no docstring"
        if inspect.isfunction(thing):
            signature = inspect.signature(thing)
            assert signature.return_annotation is not inspect.Signature.empty, name
            assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values()), name
