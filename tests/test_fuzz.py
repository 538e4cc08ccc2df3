"""Fuzzing the loader (issue 9.1): valid example cases, corrupted at random, are always refused cleanly.

Each kind of corruption below takes the shipped case `cases/rural-cluster` (plus a small
programmes.csv), breaks it in one way drawn by hypothesis and says where the problem is. The case
is then run through the command line in-process (`measureopt solve CASE --out OUT`), and every run
must end in exit 2, without a traceback, with a problem line naming that file, line and column
(`file:line: column: what is wrong (value)`; the column is `-` only for problems of a whole row or
file), every problem line short enough to read, and nothing written.

The examples per kind are `FUZZ_EXAMPLES` (environment variable `MEASUREOPT_FUZZ_EXAMPLES`, default
50, so about 2,000 runs in CI, as issue 9 asks); `test_bad_input_kinds_are_counted` counts and prints the distinct
kinds of bad input tried here and in tests/test_bad_input.py.
"""
from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from measureopt.case import MEASURE_COLUMNS, MUNICIPALITY_COLUMNS, PROGRAMME_COLUMNS
from measureopt.cli import main

CASE = Path(__file__).resolve().parents[1] / "cases" / "rural-cluster"
FUZZ_EXAMPLES = int(os.environ.get("MEASUREOPT_FUZZ_EXAMPLES", "50"))
#: A problem line longer than this is unreadable (a huge cell must not be echoed in full).
MAX_PROBLEM_LINE = 400
M, MU, P, Y = "measures.csv", "municipalities.csv", "programmes.csv", "case.yaml"
PROGRAMMES = "programme,name,cluster,min_members,admin_cost_eur,capex_discount\nPV-EAST,Joint PV purchase,east,2,50000,0.1\n"
COLUMNS = {M: MEASURE_COLUMNS, MU: MUNICIPALITY_COLUMNS, P: PROGRAMME_COLUMNS}
#: A plain decimal number, the only text a numeric cell may hold (besides blank): the fuzzer's own
#: definition, independent of the loader's parsing.
PLAIN_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


# ----------------------------------------------------------------------------- the case as tables

def _base() -> dict[str, bytes]:
    files = {name: (CASE / name).read_bytes() for name in (Y, M, MU)}
    files[P] = PROGRAMMES.encode()
    return files


BASE = _base()


def rows_of(files: dict[str, bytes], name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(files[name].decode("utf-8"), newline="")))


def csv_bytes(rows: list[list[str]]) -> bytes:
    """Rows as RFC 4180 text with LF line ends; every field quoted when one holds a carriage return
    (which the minimal quoting of a "\n" writer would leave bare, a line break of its own)."""
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if any("\r" in cell for row in rows for cell in row) else csv.QUOTE_MINIMAL
    csv.writer(out, lineterminator="\n", quoting=quoting).writerows(rows)
    return out.getvalue().encode("utf-8")


@dataclass(frozen=True)
class Expected:
    """Where the problem must be reported: file, line, and a regex for the column."""

    file: str
    line: int
    column: str  # a regular expression
    or_later: bool = False  # the problem may be reported further on (a YAML parser notices late)

    def matches(self, problem: str) -> bool:
        found = re.match(rf"^  {re.escape(self.file)}:(\d+): {self.column}: ", problem)
        return bool(found) and (int(found[1]) == self.line or (self.or_later and int(found[1]) > self.line))


def columns_where(file: str, test: Callable) -> list[str]:
    return [c.name for c in COLUMNS[file] if test(c)]


def _set_cell(draw, file: str, column: str, value: str, files: dict[str, bytes], row: int | None = None) -> Expected:
    rows = rows_of(files, file)
    row = draw(st.integers(1, len(rows) - 1)) if row is None else row
    rows[row][rows[0].index(column)] = value
    files[file] = csv_bytes(rows)
    return Expected(file, row + 1, re.escape(column))


TABLES = st.sampled_from([M, MU, P])


def _numeric_cell(draw, files, value_strategy, test=lambda c: True) -> Expected:
    file = draw(st.sampled_from([f for f in (M, MU, P) if columns_where(f, lambda c: c.kind in ("number", "year") and test(c))]))
    column = draw(st.sampled_from(columns_where(file, lambda c: c.kind in ("number", "year") and test(c))))
    return _set_cell(draw, file, column, draw(value_strategy), files)


def _number_text(x: float) -> str:
    return repr(x)


# ----------------------------------------------------------------------------- kinds of corruption
# Each kind: (draw, files) -> Expected; it edits `files` (name -> bytes) in place.

KINDS: dict[str, Callable] = {}


def kind(name: str):
    def register(function):
        KINDS[name] = function
        return function
    return register


@kind("text-in-numeric-cell")
def _(draw, files):
    text = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() and not PLAIN_NUMBER.match(s)
                                                   and s.strip().lower().lstrip("+-") not in ("nan", "inf", "infinity"))
    return _numeric_cell(draw, files, text)


@kind("nan-in-numeric-cell")
def _(draw, files):
    return _numeric_cell(draw, files, st.sampled_from(["nan", "NaN", "-nan", "+NaN", "NAN", " nan "]))


@kind("inf-in-numeric-cell")
def _(draw, files):
    return _numeric_cell(draw, files, st.sampled_from(["inf", "-inf", "+Infinity", "INF", "1e999", "-1e400", "9" * 400]))


@kind("negative-number")
def _(draw, files):
    value = st.floats(min_value=1e-300, max_value=1e300).map(lambda x: _number_text(-x))
    return _numeric_cell(draw, files, value, lambda c: c.minimum is not None and c.minimum >= 0)


@kind("huge-number")
def _(draw, files):
    value = st.floats(min_value=1e16, max_value=1e308).map(lambda x: _number_text(x * draw(st.sampled_from([1, -1]))))
    return _numeric_cell(draw, files, value)


@kind("zero-where-positive-required")
def _(draw, files):
    return _numeric_cell(draw, files, st.sampled_from(["0", "0.0", "-0", "0e5"]), lambda c: c.strict_min and c.minimum == 0)


@kind("share-above-one")
def _(draw, files):
    value = st.floats(min_value=1.0, max_value=1e6, exclude_min=True).filter(lambda x: repr(x) != "1.0").map(_number_text)
    return _numeric_cell(draw, files, value, lambda c: c.maximum == 1)


@kind("blank-required-cell")
def _(draw, files):
    file = draw(TABLES)
    column = draw(st.sampled_from(columns_where(file, lambda c: c.required)))
    return _set_cell(draw, file, column, draw(st.sampled_from(["", " ", "\t", "  "])), files)


@kind("unknown-enum-value")
def _(draw, files):
    column = draw(st.sampled_from(["sector", "status"]))
    choices = next(c.choices for c in MEASURE_COLUMNS if c.name == column)
    value = draw(st.text(min_size=1, max_size=20).filter(lambda s: s.strip() and s.strip() not in choices))
    return _set_cell(draw, M, column, value, files)


@kind("not-a-boolean")
def _(draw, files):
    value = draw(st.text(min_size=1, max_size=10).filter(
        lambda s: s.strip() and s.strip().lower() not in {"true", "false", "1", "0", "yes", "no", "y", "n", "t", "f"}))
    return _set_cell(draw, M, "integer", value, files)


@kind("id-with-space-or-control")
def _(draw, files):
    file = draw(st.sampled_from([M, MU]))
    column = draw(st.sampled_from(columns_where(file, lambda c: c.kind == "id")))
    bad = draw(st.sampled_from([" ", "\x01", "\x1f", "\x00", "\x0b", "\x0c"]))
    value = draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=6)) + bad + "x"
    return _set_cell(draw, file, column, value, files)


@kind("country-not-iso2")
def _(draw, files):
    value = draw(st.text(min_size=1, max_size=6).filter(lambda s: s.strip() and not re.fullmatch(r"[A-Z]{2}", s.strip())))
    return _set_cell(draw, MU, "country", value, files)


@kind("fractional-year")
def _(draw, files):
    value = draw(st.floats(min_value=1900, max_value=2100).filter(lambda x: not x.is_integer()).map(_number_text))
    return _set_cell(draw, M, "earliest_year", value, files)


@kind("fractional-units-of-integer-measure")
def _(draw, files):
    rows = rows_of(files, M)
    integer = [k for k in range(1, len(rows)) if rows[k][rows[0].index("integer")] == "true"]
    row = draw(st.sampled_from(integer))
    value = draw(st.floats(min_value=1.0, max_value=500).filter(lambda x: not x.is_integer()).map(_number_text))
    return _set_cell(draw, M, "max_units", value, files, row)


@kind("min-units-above-max-units")
def _(draw, files):
    rows = rows_of(files, M)
    row = draw(st.integers(1, len(rows) - 1))
    top = float(rows[row][rows[0].index("max_units")] or 1)
    return _set_cell(draw, M, "min_units", str(int(top) + draw(st.integers(1, 10**6))), files, row)


@kind("vulnerable-households-above-households")
def _(draw, files):
    rows = rows_of(files, MU)
    row = draw(st.integers(1, len(rows) - 1))
    households = int(rows[row][rows[0].index("households")])
    return _set_cell(draw, MU, "vulnerable_households", str(households + draw(st.integers(1, 10**6))), files, row)


def _ids(files, file, column):
    rows = rows_of(files, file)
    return [r[rows[0].index(column)] for r in rows[1:]]


@kind("duplicate-id")
def _(draw, files):
    file, column = draw(st.sampled_from([(M, "measure"), (MU, "municipality"), (P, "programme")]))
    rows = rows_of(files, file)
    if len(rows) < 3:  # one programme: add a copy of it
        rows.append(list(rows[1]))
        files[file] = csv_bytes(rows)
        return Expected(file, 3, column)
    first = draw(st.integers(1, len(rows) - 2))
    second = draw(st.integers(first + 1, len(rows) - 1))
    return _set_cell(draw, file, column, rows[first][rows[0].index(column)], files, second)


ID_TEXT = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
                  min_size=1, max_size=12)


@kind("dangling-reference")
def _(draw, files):
    column, known = draw(st.sampled_from([("municipality", _ids(files, MU, "municipality")),
                                          ("requires", _ids(files, M, "measure")),
                                          ("programme", _ids(files, P, "programme"))]))
    value = draw(ID_TEXT.filter(lambda s: s not in known and s.strip() == s))
    return _set_cell(draw, M, column, value, files)


def _measures_by_municipality(files) -> dict[str, list[int]]:
    rows = rows_of(files, M)
    by: dict[str, list[int]] = {}
    for k, row in enumerate(rows[1:], start=1):
        by.setdefault(row[1], []).append(k)
    return by


@kind("requires-cycle")
def _(draw, files):
    rows = rows_of(files, M)
    column = rows[0].index("requires")
    members = draw(st.sampled_from(list(_measures_by_municipality(files).values())))
    cycle = draw(st.lists(st.sampled_from(members), min_size=1, max_size=5, unique=True))
    for k, row in enumerate(cycle):  # each requires the next, the last the first (or itself)
        rows[row][column] = rows[cycle[(k + 1) % len(cycle)]][0]
    files[M] = csv_bytes(rows)
    return Expected(M, min(cycle) + 1, "requires")


@kind("requires-other-municipality")
def _(draw, files):
    rows = rows_of(files, M)
    row = draw(st.integers(1, len(rows) - 1))
    other = draw(st.sampled_from([r[0] for r in rows[1:] if r[1] != rows[row][1]]))
    return _set_cell(draw, M, "requires", other, files, row)


@kind("group-spans-municipalities")
def _(draw, files):
    rows = rows_of(files, M)
    column = rows[0].index("group")
    groups = {}
    for k, row in enumerate(rows[1:], start=1):
        if row[column]:
            groups.setdefault(row[column], k)
    later = {g: [k for k in range(first + 1, len(rows)) if rows[k][1] != rows[first][1]] for g, first in groups.items()}
    group = draw(st.sampled_from(sorted(g for g in later if later[g])))
    return _set_cell(draw, M, "group", group, files, draw(st.sampled_from(later[group])))


@kind("dangling-cluster")
def _(draw, files):
    clusters = set(_ids(files, MU, "cluster"))
    return _set_cell(draw, P, "cluster", draw(ID_TEXT.filter(lambda s: s not in clusters)), files, 1)


@kind("delete-required-column")
def _(draw, files):
    file = draw(TABLES)
    column = draw(st.sampled_from(columns_where(file, lambda c: c.required)))
    rows = rows_of(files, file)
    at = rows[0].index(column)
    files[file] = csv_bytes([r[:at] + r[at + 1:] for r in rows])
    return Expected(file, 1, re.escape(column))


@kind("unknown-column")
def _(draw, files):
    file = draw(TABLES)
    known = {c.name for c in COLUMNS[file]}
    rows = rows_of(files, file)
    required = {c.name for c in COLUMNS[file] if c.required}
    at = draw(st.sampled_from([k for k, name in enumerate(rows[0]) if name not in required]))
    name = draw(st.from_regex(r"[a-z][a-z0-9_]{0,30}", fullmatch=True).filter(lambda s: s not in known))
    rows[0][at] = name
    files[file] = csv_bytes(rows)
    return Expected(file, 1, re.escape(name))


@kind("duplicate-column")
def _(draw, files):
    file = draw(TABLES)
    rows = rows_of(files, file)
    first = draw(st.integers(0, len(rows[0]) - 2))
    second = draw(st.integers(first + 1, len(rows[0]) - 1))
    name = rows[0][first]
    rows[0][second] = name + draw(st.sampled_from(["", " "]))
    files[file] = csv_bytes(rows)
    return Expected(file, 1, "(" + re.escape(name) + "|" + re.escape(rows[0][second].strip()) + ")")


@kind("swap-columns")
def _(draw, files):
    """The data of a text column and a numeric one swapped under their headers."""
    text_column = draw(st.sampled_from(["measure", "municipality", "sector", "unit"]))
    number_column = draw(st.sampled_from(["capex_eur", "co2_reduction_t", "lifetime_years"]))
    rows = rows_of(files, M)
    a, b = rows[0].index(text_column), rows[0].index(number_column)
    for row in rows[1:]:
        row[a], row[b] = row[b], row[a]
    files[M] = csv_bytes(rows)
    return Expected(M, 2, re.escape(number_column))


@kind("too-few-fields")
def _(draw, files):
    file = draw(TABLES)
    rows = rows_of(files, file)
    row = draw(st.integers(1, len(rows) - 1))
    rows[row] = rows[row][:draw(st.integers(1, len(rows[0]) - 1))]
    files[file] = csv_bytes(rows)
    return Expected(file, row + 1, "-")


@kind("too-many-fields")
def _(draw, files):
    file = draw(TABLES)
    rows = rows_of(files, file)
    row = draw(st.integers(1, len(rows) - 1))
    rows[row] = rows[row] + draw(st.lists(st.text(max_size=5), min_size=1, max_size=5))
    files[file] = csv_bytes(rows)
    return Expected(file, row + 1, "-")


@kind("truncated-file")
def _(draw, files):
    """Cut inside a data line, before its last separator: the last row is short (or a quote open)."""
    file = draw(st.sampled_from([M, MU]))
    data = files[file]
    starts = [0] + [k + 1 for k, byte in enumerate(data) if byte == ord("\n")][:-1]
    line = draw(st.integers(2, len(starts)))
    start = starts[line - 1]
    last_comma = data.rindex(b",", start, starts[line] if line < len(starts) else len(data))
    files[file] = data[:draw(st.integers(start + 1, last_comma))]
    return Expected(file, line, "-")


@kind("broken-utf8")
def _(draw, files):
    file = draw(st.sampled_from([M, MU]))
    data = files[file]
    at = draw(st.integers(data.index(b"\n") + 1, len(data) - 1))
    bad = draw(st.sampled_from([b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
    files[file] = data[:at] + bad + data[at:]
    return Expected(file, data[:at].count(b"\n") + 1, r"\S+")


@kind("empty-file")
def _(draw, files):
    file = draw(TABLES)
    files[file] = draw(st.sampled_from([b"", b"\n", b"\n\n", b"   \n", b"\xef\xbb\xbf", b"\r\n"]))
    return Expected(file, 1, "-")


@kind("header-only-municipalities")
def _(draw, files):
    files[MU] = files[MU].split(b"\n", 1)[0] + draw(st.sampled_from([b"", b"\n", b"\n\n"]))
    return Expected(MU, 1, "-")


@kind("very-long-cell")
def _(draw, files):
    length = draw(st.integers(10_000, 200_000))
    filler = draw(st.sampled_from(["9", "x", "1,", "é"]))
    file = draw(st.sampled_from([M, MU]))
    column = draw(st.sampled_from(columns_where(file, lambda c: c.kind in ("number", "enum", "iso2", "bool"))))
    return _set_cell(draw, file, column, "-" + (filler * length)[:length], files)


@kind("very-long-header")
def _(draw, files):
    file = draw(st.sampled_from([M, MU]))
    rows = rows_of(files, file)
    name = "c" * draw(st.integers(10_000, 100_000))
    rows[0].append(name)
    for row in rows[1:]:
        row.append("")
    files[file] = csv_bytes(rows)
    return Expected(file, 1, r"c+(\.\.\. \([\d,]+ characters\))?")


@kind("wrong-delimiter")
def _(draw, files):
    file = draw(st.sampled_from([M, MU]))
    files[file] = files[file].replace(b",", draw(st.sampled_from([b";", b"\t", b"|"])))
    return Expected(file, 1, "-")


# --- case.yaml

def _yaml_line(files, key: str) -> int:
    lines = files[Y].decode().splitlines()
    return next(k for k, line in enumerate(lines, start=1) if line.startswith(key))


@kind("setting-not-a-number")
def _(draw, files):
    key, line_key = draw(st.sampled_from([("  total_eur: 113700000", "  total_eur"), ("  reduction: 0.4", "  reduction"),
                                          ("  mip_gap: 0.001", "  mip_gap"), ("  discount_rate: 0.04", "  discount_rate")]))
    value = draw(st.from_regex(r"[a-zA-Z][a-zA-Z ]{0,15}", fullmatch=True).filter(
        lambda s: s.strip().lower() not in ("y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf")))
    line = _yaml_line(files, key)
    files[Y] = files[Y].decode().replace(key, f"{line_key}: {value}", 1).encode()
    return Expected(Y, line, r"\S*" + re.escape(line_key.strip()))


@kind("setting-out-of-range")
def _(draw, files):
    key, line_key, value = draw(st.sampled_from([
        ("  total_eur: 113700000", "  total_eur", st.floats(max_value=-1e-9, min_value=-1e300)),
        ("  reduction: 0.4", "  reduction", st.floats(min_value=1.0001, max_value=1e300)),
        ("  discount_rate: 0.04", "  discount_rate", st.floats(min_value=1.0, max_value=1e300)),
        ("  time_limit_s: 120", "  time_limit_s", st.floats(max_value=0.0, min_value=-1e300)),
    ]))
    line = _yaml_line(files, key)
    files[Y] = files[Y].decode().replace(key, f"{line_key}: {draw(value)!r}", 1).encode()
    return Expected(Y, line, r"\S*" + re.escape(line_key.strip()))


@kind("unknown-setting")
def _(draw, files):
    name = draw(st.from_regex(r"[a-z][a-z_]{2,20}", fullmatch=True).filter(
        lambda s: s not in {"name", "description", "currency", "baseline_year", "target_year", "tables", "economics",
                            "objective", "budget", "target", "justice", "weights", "periods", "solver", "scenarios"}))
    lines = files[Y].decode().splitlines(keepends=True)
    at = draw(st.integers(1, len(lines)))
    while at < len(lines) and lines[at].startswith(" "):
        at += 1  # a top-level key goes between top-level blocks
    lines.insert(at, f"{name}: 1\n")
    files[Y] = "".join(lines).encode()
    return Expected(Y, at + 1, re.escape(name))


@kind("yaml-object-construction")
def _(draw, files):
    tag = draw(st.sampled_from(["!!python/object/apply:os.system [\"echo pwned\"]", "!!python/name:os.system",
                                "!!python/object/new:subprocess.Popen [[\"true\"]]", "!!python/module:os",
                                "!!python/object:measureopt.case.Case {}"]))
    line = _yaml_line(files, "currency")
    files[Y] = files[Y].decode().replace("currency: EUR", f"currency: {tag}", 1).encode()
    return Expected(Y, line, r"\S+")


@kind("yaml-syntax-error")
def _(draw, files):
    broken = draw(st.sampled_from(["  scope: [joint", "  scope: {joint", "  scope: 'joint", "\tscope: joint", "  scope: joint: x"]))
    line = _yaml_line(files, "  scope: joint")
    files[Y] = files[Y].decode().replace("  scope: joint", broken, 1).encode()
    return Expected(Y, line, "-", or_later=True)


@kind("table-path-leaves-case")
def _(draw, files):
    table = draw(st.sampled_from(["measures", "municipalities", "programmes"]))
    path = draw(st.sampled_from(["../", "../../", "/", "sub/../../"])) + draw(st.from_regex(r"[a-z]{1,8}(\.csv)?", fullmatch=True))
    lines = files[Y].decode().splitlines(keepends=True)
    files[Y] = "".join(lines).encode() + f"tables:\n  {table}: {path}\n".encode()
    return Expected(Y, len(lines) + 2, re.escape(f"tables.{table}"))


# ----------------------------------------------------------------------------- running a corrupted case

def _write(directory: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (directory / name).write_bytes(data)


def assert_refused(files: dict[str, bytes], expected: Expected) -> None:
    with tempfile.TemporaryDirectory() as temp:
        case, out = Path(temp) / "case", Path(temp) / "results" / "out"
        case.mkdir()
        _write(case, files)
        result = CliRunner().invoke(main, ["solve", str(case), "--out", str(out), "--quiet"])
        output = result.output
        assert result.exit_code == 2, output[:3000]
        assert isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in output
        assert not (Path(temp) / "results").exists(), "solve wrote something for an invalid case"
        problems = output.splitlines()[1:]
        assert problems, output
        for line in problems:
            assert len(line) <= MAX_PROBLEM_LINE, f"problem line of {len(line)} characters: {line[:200]}..."
            assert re.match(r"^  \S+(:\d+)?: \S.*: ", line), f"badly formatted problem line: {line!r}"
        assert any(expected.matches(line) for line in problems), \
            f"no problem at {expected} in:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("name", list(KINDS))
def test_corrupted_case_is_refused(name):
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        files = dict(BASE)
        expected = KINDS[name](data.draw, files)
        assert_refused(files, expected)

    run()


def test_the_uncorrupted_base_case_is_valid(tmp_path):
    """The fuzzer's starting point (with its programmes.csv) passes validation, so every refusal
    above comes from the corruption."""
    _write(tmp_path, BASE)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "programmes: 1" in result.output


def test_table_linked_outside_the_case_is_refused(tmp_path):
    """A table that is a symbolic link to a file outside the case directory is not read."""
    outside = tmp_path / "secret.csv"
    outside.write_bytes(BASE[M])
    case = tmp_path / "case"
    case.mkdir()
    _write(case, {k: v for k, v in BASE.items() if k != M})
    (case / M).symlink_to(outside)
    result = CliRunner().invoke(main, ["validate", str(case)])
    assert result.exit_code == 2, result.output
    assert re.search(r"^  (case\.yaml|measures\.csv)(:\d+)?: \S+: table path leaves the case directory", result.output, re.MULTILINE), result.output


def test_bad_input_kinds_are_counted(capsys):
    """At least 40 distinct kinds of bad input are tried (issue 9): the fuzz kinds above and the
    table of tests/test_bad_input.py (its pytest ids), printed for the record."""
    from tests.test_bad_input import BROKEN

    kinds = sorted(set(KINDS) | {param.id for param in BROKEN} | {"table-linked-outside-case"})
    with capsys.disabled():
        print(f"\n{len(kinds)} kinds of bad input tried ({len(KINDS)} fuzzed x {FUZZ_EXAMPLES} examples, "
              f"{len(BROKEN)} in the table): " + ", ".join(kinds))
    assert len(kinds) >= 40
