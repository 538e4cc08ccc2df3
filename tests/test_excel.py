"""Excel in and out: a workbook case gives exactly its CSV twin's result, problems name sheet and
row, the template is documented and fillable, results.xlsx is formatted, formula-safe, reproducible."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from measureopt.case import MEASURE_COLUMNS, MUNICIPALITY_COLUMNS
from measureopt.cli import main
from tests.conftest import CASES
from tests.test_macc import CASE_YAML, MEASURES, MUNICIPALITIES, write_case


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize(("name", "scenario"), [("rural-cluster", "justice40"), ("region-44", "least-cost")])
def test_workbook_twin_gives_exactly_the_csv_result(name, scenario, tmp_path):
    book = tmp_path / f"{name}.xlsx"
    assert invoke("template", book, "--from", CASES / name).exit_code == 0
    for case, out in ((book, "xlsx"), (CASES / name, "csv")):
        done = invoke("solve", case, "-s", scenario, "--out", tmp_path / out, "-q")
        assert done.exit_code == 0, done.output
    for table in ("portfolio.csv", "municipalities.csv"):
        assert (tmp_path / "xlsx" / table).read_bytes() == (tmp_path / "csv" / table).read_bytes()
    summaries = [json.loads((tmp_path / out / "summary.json").read_text()) for out in ("xlsx", "csv")]
    for key in ("objective", "investment_eur", "annual_abatement_t", "gini", "binding"):
        assert summaries[0][key] == summaries[1][key]
    tables = summaries[0]["settings"].pop("tables")
    assert tables["measures"] == f"{name}.xlsx sheet=measures"  # the only difference: where the tables are
    summaries[1]["settings"].pop("tables")
    assert summaries[0]["settings"] == summaries[1]["settings"]
    assert f"{name}.xlsx" in summaries[0]["provenance"]["inputs_sha256"]


def test_problems_name_the_sheet_and_the_excel_row(tmp_path):
    case_dir = write_case(tmp_path / "case", CASE_YAML + "objective: max_abatement\n")
    book = tmp_path / "bad.xlsx"
    assert invoke("template", book, "--from", case_dir).exit_code == 0
    workbook = load_workbook(book)
    measures = workbook["measures"]
    header = [c.value for c in measures[1]]
    measures.cell(row=4, column=header.index("capex_eur") + 1, value=-1200)  # B-ADV, Excel row 4
    measures.cell(row=3, column=header.index("sector") + 1, value="residental")
    case_sheet = workbook["case"]
    for row in case_sheet.iter_rows(min_row=2):
        if row[0].value == "objective":
            row[1].value = "max_abatment"
            objective_row = row[0].row
    case_sheet.append(["budget.total_eur.north", 5])  # total_eur already has a value
    workbook.save(book)
    done = invoke("validate", book)
    assert done.exit_code == 2
    assert "bad.xlsx[measures]:4: capex_eur: must be >= 0 (-1200)" in done.output
    assert "bad.xlsx[measures]:3: sector: must be one of" in done.output and "did you mean 'residential'" in done.output
    assert "bad.xlsx[case]" in done.output and "total_eur already has a value" in done.output
    case_sheet.delete_rows(case_sheet.max_row)
    workbook.save(book)
    done = invoke("validate", book)
    assert done.exit_code == 2 and f"bad.xlsx[case]:{objective_row}: objective" in done.output


def test_template_is_documented_with_validation_and_solves_once_filled(tmp_path):
    book = tmp_path / "new.xlsx"
    assert invoke("template", book).exit_code == 0
    workbook = load_workbook(book)
    assert workbook.sheetnames == ["README", "case", "municipalities", "measures", "programmes"]
    measures = workbook["measures"]
    assert [c.value for c in measures[1]] == [c.name for c in MEASURE_COLUMNS]
    assert "tCO2/yr/unit" in measures.cell(row=1, column=[c.name for c in MEASURE_COLUMNS].index("co2_reduction_t") + 1).comment.text
    lists = {dv.formula1 for dv in measures.data_validations.dataValidation if dv.type == "list"}
    assert '"municipal_buildings,tertiary,residential,public_lighting,transport,local_electricity,local_heat,other"' in lists
    assert '"candidate,committed,excluded"' in lists and '"true,false"' in lists
    readme = [r[1] for r in workbook["README"].iter_rows(values_only=True)]
    assert all(c.name in readme for c in MUNICIPALITY_COLUMNS + MEASURE_COLUMNS)
    assert invoke("validate", book).exit_code == 2  # empty: no name, no municipalities
    # a planner fills it in
    for row in workbook["case"].iter_rows(min_row=2):
        if row[0].value == "name":
            row[1].value = "Filled in Excel"
        if row[0].value == "budget.total_eur":
            row[1].value = 30000
    for sheet, rows, columns in (("municipalities", MUNICIPALITIES, MUNICIPALITY_COLUMNS), ("measures", MEASURES, MEASURE_COLUMNS)):
        names = [c.name for c in columns]
        for record in rows:
            workbook[sheet].append([record.get(n) for n in names])
    workbook.save(book)
    twin = write_case(tmp_path / "twin", "name: Filled in Excel\nbudget: {total_eur: 30000}\n")
    done = invoke("solve", book, "--out", tmp_path / "a", "-q")
    assert done.exit_code == 0, done.output
    assert invoke("solve", twin, "--out", tmp_path / "b", "-q").exit_code == 0
    assert (tmp_path / "a" / "portfolio.csv").read_bytes() == (tmp_path / "b" / "portfolio.csv").read_bytes()


def test_results_workbook_is_formatted_formula_safe_and_reproducible(tmp_path):
    munis = [dict(m) for m in MUNICIPALITIES]
    munis[0]["municipality"] = "=HYPERLINK(evil)"
    measures = [dict(m, municipality="=HYPERLINK(evil)") if m["municipality"] == "A" else m for m in MEASURES]
    # at EUR 26,000 the optimum is unique and spends it all (B-LED's 50 units and one A-HP unit:
    # 202 t/yr); at the EUR 30,000 of CASE_YAML two optima tie at 210 t/yr, one with EUR 2,000 left
    case_dir = write_case(tmp_path / "case", CASE_YAML.replace("30000", "26000"), munis, measures)
    for out in ("a", "b"):
        done = invoke("solve", case_dir, "--out", tmp_path / out, "-q", "--excel")
        assert done.exit_code == 0, done.output
    assert (tmp_path / "a" / "results.xlsx").read_bytes() == (tmp_path / "b" / "results.xlsx").read_bytes()
    workbook = load_workbook(tmp_path / "a" / "results.xlsx")
    assert workbook.sheetnames == ["summary", "portfolio", "municipalities", "binding constraints"]
    portfolio = pd.read_excel(tmp_path / "a" / "results.xlsx", sheet_name="portfolio", dtype={"measure": str, "municipality": str})
    csv = pd.read_csv(tmp_path / "a" / "portfolio.csv", dtype={"measure": str, "municipality": str})
    assert portfolio["measure"].tolist() == csv["measure"].tolist()
    assert portfolio["investment_eur"].tolist() == pytest.approx(csv["investment_eur"].tolist())
    cells = [c.value for row in workbook["municipalities"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "'=HYPERLINK(evil)" in cells and "=HYPERLINK(evil)" not in cells
    assert not any(c.data_type == "f" for sheet in workbook for row in sheet.iter_rows() for c in row)
    sheet = workbook["municipalities"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("reduction_share") + 1).number_format == "0.0%"
    summary = {r[0]: r[1] for r in workbook["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["investment_eur"] == pytest.approx(json.loads((tmp_path / "a" / "summary.json").read_text())["investment_eur"])
    words = [r[0] for r in workbook["binding constraints"].iter_rows(values_only=True) if r[0]]
    assert any(str(w).startswith("The total budget (EUR 26,000) is fully used") for w in words)


def test_a_template_must_be_xlsx(tmp_path):
    done = invoke("template", tmp_path / "case.csv")
    assert done.exit_code == 2 and ".xlsx" in done.output


def test_template_help_has_an_example():
    done = CliRunner().invoke(main, ["template", "--help"])
    assert done.exit_code == 0 and "Example: measureopt template" in done.output
