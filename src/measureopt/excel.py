"""Excel in and out (SPEC 3.5, SPEC 6 `--excel`): a case as one workbook, its template, results.xlsx.

A case workbook has the sheets `case` (settings as `key` / `value` rows, dotted keys such as
`budget.total_eur` or `scenarios.justice40.justice.vulnerable_share_min`), `municipalities`,
`measures` and, optionally, `programmes` (the tables of SPEC 3.2-3.4, one header row). It is read
into the same raw settings mapping as case.yaml and the same text tables as the CSV files, so
every check of `case.py` applies and every problem names the sheet and the Excel row.

Only `errors`, `settings` and `tables` are imported at module level: `case.py` imports this
module, so the writers import the case and result modules when they run.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import CaseError, Problem
from .settings import _LineDict, parse_scalar
from .tables import read_excel_sheet

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
TABLE_SHEETS = ("municipalities", "measures", "programmes")
#: Settings read as text whatever they look like (a case named "2030" stays "2030").
TEXT_KEYS = {"name", "description", "currency"}
#: A fixed timestamp inside written workbooks, so the same input gives the same bytes.
FIXED_TIME = datetime(2000, 1, 1)


def is_workbook(path: Path) -> bool:
    """Whether a case path is one Excel workbook rather than a case directory."""
    return Path(path).suffix.lower() in WORKBOOK_SUFFIXES and Path(path).is_file()


def workbook_label(path: Path) -> str:
    """How problems of the `case` sheet name their place: `case.xlsx[case]`."""
    return f"{Path(path).name}[case]"


def workbook_source(path: Path) -> tuple[dict, list[Problem]]:
    """The `case` sheet of a workbook as the raw settings mapping case.yaml would give (each key
    remembering its Excel row), with `tables:` pointing at the workbook's sheets, and the problems
    of the sheet's layout (reported with the tables' problems; a row with a problem is left out)."""
    label = workbook_label(path)
    raw = read_excel_sheet(Path(path), "case", label)
    problems: list[Problem] = []
    missing = [c for c in ("key", "value") if c not in raw.frame.columns]
    if missing:
        raise CaseError([Problem(label, raw.header_line, c, "required column is missing (the sheet has key, value)") for c in missing])
    source = _LineDict()
    seen: dict[str, int] = {}
    for key, text, row in zip(raw.frame["key"], raw.frame["value"], raw.lines):
        key = str(key).strip()
        if not key:
            problems.append(Problem(label, int(row), "key", "blank key with a value", text))
            continue
        if key in seen:
            problems.append(Problem(label, int(row), "key", f"given twice (first on row {seen[key]})", key))
            continue
        seen[key] = int(row)
        if not str(text).strip():
            continue  # a blank value means "not given", as a blank cell does in the tables
        value = str(text) if key.split(".")[-1] in TEXT_KEYS else parse_scalar(str(text))
        node = source
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = _LineDict()
                node.lines[part] = int(row)
            if not isinstance(child, dict):
                problems.append(Problem(label, int(row), "key", f"{part} already has a value, it cannot also have keys", key))
                break
            node = child
        else:
            if isinstance(node.get(parts[-1]), dict):
                problems.append(Problem(label, int(row), "key", "already has keys below it, it cannot also have a value", key))
                continue
            node[parts[-1]] = value
            node.lines[parts[-1]] = int(row)
    sheets = _sheet_names(path)
    tables = source.setdefault("tables", _LineDict())
    if isinstance(tables, dict):
        for sheet in TABLE_SHEETS:
            if sheet in sheets and sheet not in tables:
                tables[sheet] = f"{Path(path).name} sheet={sheet}"
    return source, problems


def _sheet_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


# --- writing ----------------------------------------------------------------------------------

def _reproducible(workbook) -> bytes:
    """The workbook's bytes with fixed timestamps (document properties and zip entries)."""
    workbook.properties.created = FIXED_TIME
    workbook.properties.creator = "measureopt"
    buffer = io.BytesIO()
    workbook.save(buffer)  # stamps the modification time: replaced below
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
            entry = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            target.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _save(workbook, path: Path) -> Path:
    """Written atomically: a temporary sibling renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(_reproducible(workbook))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def _style_header(sheet, widths: list[int]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E8EEF2")
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"


#: Starter rows of the template's `case` sheet: key, value, what it means.
CASE_KEYS = (
    ("name", "", "required: the case's name"),
    ("description", "", "free text"),
    ("currency", "EUR", "label only"),
    ("baseline_year", "", "Baseline Emission Inventory year (label)"),
    ("target_year", "", "label"),
    ("economics.discount_rate", 0.04, "real discount rate, 0 <= r < 1"),
    ("economics.horizon_years", 20, "appraisal period for programme admin costs (years)"),
    ("objective", "max_abatement", "max_abatement | min_investment | min_net_cost | max_weighted_benefit"),
    ("budget.total_eur", "", "cap on total investment (EUR); blank = none"),
    ("target.reduction", "", "share of baseline emissions to abate, e.g. 0.4; blank = no target"),
    ("target.scope", "", "joint | cluster | each (default joint)"),
    ("justice.benefit", "", "abatement | investment | bill_savings | households (default abatement)"),
    ("justice.vulnerable_share_min", "", "e.g. 0.4: share of the benefit for vulnerable households"),
    ("justice.population_floor", "", "e.g. 0.5"),
    ("justice.gini_max", "", "e.g. 0.3"),
    ("solver.mip_gap", "", "relative gap (default 0.001)"),
    ("solver.time_limit_s", "", "seconds (default 600)"),
)


def write_template(path: str | Path, from_case: str | Path | None = None) -> Path:
    """A documented case workbook: a README sheet, the `case` sheet, and one sheet per table with
    its headers (unit and meaning as header comments) and drop-down lists for the enum and
    true/false columns. Empty with starter keys, or filled from a case directory `from_case`
    (its case.yaml flattened into dotted keys, its tables cell by cell)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from .case import MEASURE_COLUMNS, MUNICIPALITY_COLUMNS, PROGRAMME_COLUMNS
    from .settings import OBJECTIVES

    if Path(path).suffix.lower() != ".xlsx":
        raise CaseError([Problem(str(path), None, "-", "a case workbook must be an .xlsx file")])
    workbook = Workbook()
    readme = workbook.active
    readme.title = "README"
    readme.append(["measureopt case workbook"])
    for line in (
        "Fill the sheets `case`, `municipalities`, `measures` and (optional) `programmes`, then run:",
        "    measureopt validate THIS_FILE.xlsx      and      measureopt solve THIS_FILE.xlsx",
        "`case` holds the settings as key/value rows; dotted keys nest (budget.total_eur). A blank value is not given.",
        "Each table sheet has one header row; a blank cell takes the column's default. Ids are text: 05016 stays 05016.",
        "Errors are reported as workbook[sheet]:row: column: what is wrong (value).",
        "",
    ):
        readme.append([line])
    readme.append(["sheet", "column", "unit", "required", "default", "meaning"])
    header_row = readme.max_row
    for sheet_name, columns in (("municipalities", MUNICIPALITY_COLUMNS), ("measures", MEASURE_COLUMNS), ("programmes", PROGRAMME_COLUMNS)):
        for col in columns:
            allowed = f" ({', '.join(col.choices)})" if col.choices else ""
            readme.append([sheet_name, col.name, col.unit, "yes" if col.required else "no", _default_text(col.default),
                           col.meaning + allowed])
    from openpyxl.styles import Font
    readme["A1"].font = Font(bold=True, size=14)
    for cell in readme[header_row]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEF", (16, 24, 18, 10, 10, 90)):
        readme.column_dimensions[letter].width = width

    source = _case_rows(Path(from_case)) if from_case is not None else None
    case_sheet = workbook.create_sheet("case")
    case_sheet.append(["key", "value", "meaning"])
    for key, value, meaning in source[0] if source else CASE_KEYS:
        case_sheet.append([key, value if value != "" else None, meaning])
    _style_header(case_sheet, [32, 22, 80])
    keys = [k for k, _, _ in (source[0] if source else CASE_KEYS)]
    if "objective" in keys:
        _list_validation(case_sheet, f"B{2 + keys.index('objective')}", OBJECTIVES)

    for sheet_name, columns in (("municipalities", MUNICIPALITY_COLUMNS), ("measures", MEASURE_COLUMNS), ("programmes", PROGRAMME_COLUMNS)):
        sheet = workbook.create_sheet(sheet_name)
        table = source[1].get(sheet_name) if source else None
        sheet.append([c.name for c in columns] if table is None else list(table.columns))
        if table is not None:
            kinds = {c.name: c.kind for c in columns}
            for record in table.itertuples(index=False):
                sheet.append([_typed_cell(v, kinds.get(name)) for name, v in zip(table.columns, record)])
        for index, col in enumerate(columns, start=1):
            cell = sheet.cell(row=1, column=index)
            cell.comment = Comment(f"{col.unit}{' (required)' if col.required else ''}: {col.meaning}", "measureopt")
            letter = get_column_letter(index)
            if col.kind == "enum":
                _list_validation(sheet, f"{letter}2:{letter}5000", col.choices)
            elif col.kind == "bool":
                _list_validation(sheet, f"{letter}2:{letter}5000", ("true", "false"))
            elif col.kind == "number" and col.minimum is not None:
                rule = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1=str(col.minimum), allow_blank=True,
                                      error=f"{col.name} must be {'>' if col.strict_min else '>='} {col.minimum:g}",
                                      errorTitle="measureopt", showErrorMessage=True)
                sheet.add_data_validation(rule)
                rule.add(f"{letter}2:{letter}5000")
            if col.kind in ("id", "text", "iso2"):
                sheet.column_dimensions[letter].number_format = "@"  # ids typed in stay text: 05016
        _style_header(sheet, [max(12, len(c.name) + 3) for c in columns])
    return _save(workbook, Path(path))


def _case_rows(case_dir: Path) -> tuple[list[tuple[str, object, str]], dict[str, pd.DataFrame]]:
    """A case directory as workbook content: case.yaml as (dotted key, value, '') rows (lists and
    empty mappings as YAML flow text), and each table as text cells."""
    import yaml

    from .settings import read_yaml

    source = read_yaml(case_dir / "case.yaml")
    tables_given = source.get("tables") or {}

    def flat(node: dict, prefix: str = ""):
        for key, value in node.items():
            if isinstance(value, dict) and value:
                yield from flat(value, f"{prefix}{key}.")
            elif isinstance(value, (list, dict)):
                yield f"{prefix}{key}", yaml.safe_dump(value, default_flow_style=True).strip(), ""
            elif value is not None:
                yield f"{prefix}{key}", value, ""

    rows = [row for row in flat({k: v for k, v in source.items() if k != "tables"})]
    tables = {}
    for sheet in TABLE_SHEETS:
        path = case_dir / str(tables_given.get(sheet, f"{sheet}.csv"))
        if path.is_file():
            tables[sheet] = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return rows, tables


def _typed_cell(text: str, kind: str | None) -> object:
    """A CSV cell for the workbook: numbers as numbers in number columns, everything else as text."""
    if text == "":
        return None
    if kind in ("number", "year"):
        try:
            number = float(text)
        except ValueError:
            return text
        return (int(number) if number.is_integer() and "." not in text else number) if np.isfinite(number) else text
    return text


def _default_text(default: object) -> str:
    if default is None or (isinstance(default, float) and np.isnan(default)):
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    return f"{default:g}" if isinstance(default, float) else str(default)


def _list_validation(sheet, cells: str, choices) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    rule = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                          error="choose a value from the list", errorTitle="measureopt", showErrorMessage=True)
    sheet.add_data_validation(rule)
    rule.add(cells)


#: Number formats of results.xlsx columns, by column name.
FORMATS = {
    "investment_eur": "#,##0", "eac_eur": "#,##0", "annual_abatement_t": "#,##0.0", "cost_per_t": "#,##0.0",
    "vulnerable_benefit": "#,##0.0", "benefit": "#,##0.0", "benefit_per_capita": "0.0000",
    "reduction_share": "0.0%", "vulnerable_benefit_share": "0.0%", "budget_used_share": "0.0%",
    "bound": "#,##0.####", "activity": "#,##0.####", "shadow_price": "0.000000",
}


def _frame_sheet(workbook, title: str, frame: pd.DataFrame) -> None:
    """One formatted sheet from a table: bold frozen header, widths, number formats, text formula-safe."""
    from .results import neutralise

    sheet = workbook.create_sheet(title)
    frame = neutralise(frame)
    sheet.append(list(frame.columns))
    for record in frame.itertuples(index=False):
        sheet.append([_cell(v) for v in record])
    for index, column in enumerate(frame.columns, start=1):
        if column in FORMATS:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = FORMATS[column]
    widths = [min(48, max([len(str(c))] + [len(str(v)) for v in frame[c].head(200)]) + 2) for c in frame.columns]
    _style_header(sheet, widths)
    if len(frame):
        sheet.auto_filter.ref = sheet.dimensions


def _cell(value: object) -> object:
    """A table value as an Excel cell: NaN/None blank, numpy scalars as Python numbers."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_results_workbook(results_dir: str | Path) -> Path:
    """results.xlsx in a result folder: sheets summary, portfolio, municipalities and binding
    (constraints with their shadow prices and what they mean in words), read from the folder."""
    import json

    from openpyxl import Workbook

    from .report import shadow_sentences

    folder = Path(results_dir)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    portfolio = pd.read_csv(folder / "portfolio.csv", dtype={"measure": str, "municipality": str, "programme": str, "units": str},
                            keep_default_na=False, na_values=[""])
    portfolio["units"] = pd.to_numeric(portfolio["units"])
    munis = pd.read_csv(folder / "municipalities.csv", dtype={"municipality": str}, keep_default_na=False, na_values=[""])
    workbook = Workbook()
    workbook.remove(workbook.active)
    objective = summary.get("objective") or {}
    rows = [("case", summary.get("case")), ("scenario", summary.get("scenario")), ("status", summary.get("status")),
            ("objective", objective.get("name")), ("objective value", objective.get("value"))]
    rows += [(key, summary.get(key)) for key in ("mip_gap", "investment_eur", "annual_abatement_t", "reduction_share", "eac_eur",
                                                  "cost_per_t", "vulnerable_benefit_share", "gini", "min_per_capita_ratio",
                                                  "maxmin_t", "target_met") if key in summary]
    frame = pd.DataFrame(rows, columns=["figure", "value"])
    frame["value"] = frame["value"].map(lambda v: str(v).lower() if isinstance(v, bool) else v).astype(object)
    _frame_sheet(workbook, "summary", frame)
    sheet = workbook["summary"]
    for row in sheet.iter_rows(min_row=2):
        fmt = FORMATS.get(str(row[0].value))
        if fmt:
            row[1].number_format = fmt
    _frame_sheet(workbook, "portfolio", portfolio)
    _frame_sheet(workbook, "municipalities", munis)
    binding = pd.DataFrame(summary.get("binding") or [], columns=["constraint", "key", "bound", "activity", "shadow_price"])
    _frame_sheet(workbook, "binding constraints", binding)
    words = shadow_sentences(summary, munis, None)
    if words:
        sheet = workbook["binding constraints"]
        sheet.append([])
        sheet.append(["in plain words"])
        for sentence in words:
            sheet.append([_neutral_text(sentence)])
    return _save(workbook, folder / "results.xlsx")


def _neutral_text(text: str) -> str:
    from .results import _FORMULA_START

    return "'" + text if text.startswith(_FORMULA_START) else text
