"""Reading data tables (CSV per RFC 4180, or Excel sheets) into text columns with source lines.

Every cell is read as text; typing and checks happen in `case.py`, so that every problem can be
reported with its file, line and column.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import CaseError, Problem

#: Longest CSV field read: Python's default limit (131,072 characters) would stop the reader
#: before a huge cell could be checked and its column named.
FIELD_LIMIT = 1 << 26


@dataclass(frozen=True)
class RawTable:
    """A table as text cells, with the source label and the line (or sheet row) of every row."""

    label: str
    frame: pd.DataFrame  # all columns str, blank cells ""
    lines: np.ndarray  # line number of each row in the source
    header_line: int = 1


def _decode(path: Path, label: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CaseError([Problem(label, None, "-", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CaseError([Problem(label, line, "-", f"not valid UTF-8 (byte {data[exc.start]:#04x})")]) from None


def _read_csv_fast(path: Path, label: str, numeric: frozenset) -> RawTable | None:
    """A clean CSV read by pyarrow's typed, multi-threaded reader; None sends it to `read_csv`'s
    careful path, which reports every problem with its line.

    Clean means: more than one column, no BOM, blank lines or line breaks inside quotes (one row per
    line), valid UTF-8, every `numeric` cell blank or a finite number. Then row k is on line k + 2,
    and a blank numeric cell arrives as NaN.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    blank_line = b"\n\n" in data or b"\n\r\n" in data or data.startswith((b"\n", b"\r\n"))
    if not data.strip() or blank_line or data.startswith(b"\xef\xbb\xbf") or (b"\r" in data and b"\r\n" not in data):
        return None
    try:
        names = [n.strip() for n in data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8").split(",")]
    except UnicodeDecodeError:
        return None
    if len(names) < 2 or len(set(names)) != len(names):
        return None
    types = {n: pa.float64() if n in numeric else pa.string() for n in names}
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if list(table.column_names) != names or table.num_rows != lines - 1:
        return None
    for name in numeric.intersection(names):
        column = table[name]
        if pc.any(pc.is_nan(column)).as_py() or pc.any(pc.is_inf(column)).as_py():
            return None
    frame = table.to_pandas()
    return RawTable(label, frame, np.arange(len(frame), dtype=np.int64) + 2)


def read_csv(path: Path, label: str | None = None, numeric: frozenset = frozenset()) -> RawTable:
    """A CSV file as text cells (`numeric` columns possibly already parsed, see `_read_csv_fast`);
    blank lines are skipped, each row keeps its first source line."""
    label = label or path.name
    fast = _read_csv_fast(path, label, numeric) if numeric else None
    if fast is not None:
        return fast
    text = _decode(path, label)
    if not text.strip():
        raise CaseError([Problem(label, 1, "-", "file is empty: a header row is required")])
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    previous_limit = csv.field_size_limit(FIELD_LIMIT)
    try:
        for row in reader:
            if row and "".join(row).strip():
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        # the row that broke started at `start` (an unclosed quote runs on to the end of the file)
        reason = "a quoted field is never closed" if "end of data" in str(exc) else str(exc)
        raise CaseError([Problem(label, start, "-", f"malformed CSV: {reason}")]) from None
    finally:
        csv.field_size_limit(previous_limit)
    header = [name.strip() for name in rows[0]]
    problems = []
    width = len(header)
    body, body_lines = rows[1:], lines[1:]
    for row, line in zip(body, body_lines):
        if len(row) != width:
            problems.append(Problem(label, line, "-", f"row has {len(row)} fields, the header has {width}"))
    if width == 1 and any(sep in rows[0][0] for sep in ";\t|"):
        problems.insert(0, Problem(label, lines[0], "-", "only one column found: the delimiter must be a comma", rows[0][0][:60]))
    if problems:
        raise CaseError(problems[:50])
    frame = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header, dtype=object)
    return RawTable(label, frame, np.asarray(body_lines, dtype=np.int64))


def read_excel_sheet(path: Path, sheet: str, label: str | None = None) -> RawTable:
    """One sheet of an .xlsx workbook as text cells; rows are numbered as Excel shows them."""
    label = label or f"{path.name}[{sheet}]"
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=object, header=0, engine="openpyxl")
    except ImportError:
        raise CaseError([Problem(label, None, "-", "reading Excel needs openpyxl: pip install openpyxl")]) from None
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - a missing sheet, a corrupt or non-Excel file: all input errors
        raise CaseError([Problem(label, None, "-", f"cannot read sheet: {exc}")]) from None
    excel_rows = np.arange(len(frame), dtype=np.int64) + 2
    frame = frame.map(_cell_text)
    keep = frame.apply(lambda row: any(str(c).strip() for c in row), axis=1).to_numpy(dtype=bool) if len(frame) else np.array([], bool)
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(label, frame[keep].reset_index(drop=True), excel_rows[keep])


def _cell_text(value: object) -> str:
    """An Excel cell as the text a CSV would hold (whole floats without '.0')."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(case_dir: Path, spec: str, default_label: str, numeric: frozenset = frozenset()) -> RawTable:
    """The table a `tables:` entry names: `file.csv`, or `file.xlsx` with `sheet=NAME`."""
    name, _, sheet = spec.partition(" sheet=")
    if "sheet=" in name:
        name, _, sheet = spec.partition("sheet=")
    name = name.strip().rstrip(",;")
    path = (case_dir / name).resolve()
    if not path.is_relative_to(case_dir.resolve()):
        raise CaseError([Problem("case.yaml", None, f"tables.{default_label}", "table path leaves the case directory", name)])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_excel_sheet(path, sheet.strip() or default_label)
    return read_csv(path, name, numeric)
