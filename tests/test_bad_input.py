"""Broken cases are refused cleanly (SPEC 3.5): exit code 2, no traceback, every problem reported as
`file:line: column: what is wrong (value)`, and nothing written by `solve`.

Each test copies the valid example `cases/rural-cluster` into a temporary directory, applies one
corruption and runs the command line in-process.  Line numbers are physical source lines (the CSV
header is line 1; for case.yaml the line of the offending key).  A few valid variants (BOM, CRLF,
quoted line breaks, leading-zero ids) must be accepted.
"""
from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from measureopt.cli import main

CASE = Path(__file__).resolve().parents[1] / "cases" / "rural-cluster"

# Lines of cases/rural-cluster used below (the header is line 1).
#   municipalities.csv: 2 GR-001, 3 GR-002, 4 IT-001, 5 IT-002, 6 PT-001, 7 PT-002, 8 ES-001, 9 ES-002
#   measures.csv: 2 GR-001-AUDIT, 3 GR-001-BLDG (requires GR-001-AUDIT), 4/5 GR-001-LED1/2 (group
#   GR-001-LED), 6 GR-001-RETRO, 10 GR-001-PVR, 15 GR-002-BLDG, 16 GR-002-LED1, 27 IT-001-BLDG
#   case.yaml: 12 budget, 13 total_eur, 14 target, 15 reduction, 16 scope, 20 scenarios, 28-41 the
#   five-year-plan scenario (appended settings start at line 42)


# ----------------------------------------------------------------------------- editing helpers

def read_rows(case: Path, file: str) -> list[list[str]]:
    with open(case / file, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(case: Path, file: str, rows: list[list[str]]) -> None:
    with open(case / file, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def set_cell(file: str, key: str, column: str, value: str) -> Callable[[Path], None]:
    """A corruption: the cell of `column` in the row whose first field is `key` set to `value`."""

    def corrupt(case: Path) -> None:
        rows = read_rows(case, file)
        col = rows[0].index(column)
        hits = [row for row in rows[1:] if row[0] == key]
        assert len(hits) == 1, f"{key} not found in {file}"
        hits[0][col] = value
        write_rows(case, file, rows)

    return corrupt


def rename_column(file: str, old: str, new: str) -> Callable[[Path], None]:
    def corrupt(case: Path) -> None:
        rows = read_rows(case, file)
        rows[0][rows[0].index(old)] = new
        write_rows(case, file, rows)

    return corrupt


def drop_column(file: str, column: str) -> Callable[[Path], None]:
    def corrupt(case: Path) -> None:
        rows = read_rows(case, file)
        col = rows[0].index(column)
        write_rows(case, file, [row[:col] + row[col + 1:] for row in rows])

    return corrupt


def write_text(file: str, text: str | bytes) -> Callable[[Path], None]:
    def corrupt(case: Path) -> None:
        if isinstance(text, bytes):
            (case / file).write_bytes(text)
        else:
            (case / file).write_text(text, encoding="utf-8")

    return corrupt


def replace_text(file: str, old: str | bytes, new: str | bytes, count: int = 1) -> Callable[[Path], None]:
    def corrupt(case: Path) -> None:
        data = (case / file).read_bytes()
        old_b = old.encode() if isinstance(old, str) else old
        new_b = new.encode() if isinstance(new, str) else new
        assert old_b in data, f"{old!r} not in {file}"
        (case / file).write_bytes(data.replace(old_b, new_b, count))

    return corrupt


def append_yaml(text: str) -> Callable[[Path], None]:
    def corrupt(case: Path) -> None:
        with open(case / "case.yaml", "a", encoding="utf-8") as handle:
            handle.write(text)

    return corrupt


def both(*corruptions: Callable[[Path], None]) -> Callable[[Path], None]:
    def corrupt(case: Path) -> None:
        for step in corruptions:
            step(case)

    return corrupt


PROGRAMMES = "programme,name,cluster,min_members,admin_cost_eur,capex_discount\nPV-EAST,Joint PV purchase,east,2,50000,0.1\n"


# ----------------------------------------------------------------------------- the table of broken cases

M, MU = "measures.csv", "municipalities.csv"

BROKEN = [
    # --- columns
    pytest.param(rename_column(M, "fixed_capex_eur", "fixed_capex_euro"),
                 r"measures\.csv:1: fixed_capex_euro: unknown column \(did you mean 'fixed_capex_eur'\?\)",
                 id="unknown-column-with-hint"),
    pytest.param(drop_column(M, "lifetime_years"),
                 r"measures\.csv:1: lifetime_years: required column is missing", id="missing-required-column"),
    pytest.param(drop_column(MU, "population"),
                 r"municipalities\.csv:1: population: required column is missing", id="missing-population-column"),
    pytest.param(rename_column(M, "unit", "name"),
                 r"measures\.csv:1: name: column appears twice", id="duplicate-column"),
    # --- ids
    pytest.param(set_cell(MU, "ES-002", "municipality", "ES-001"),
                 r"municipalities\.csv:9: municipality: duplicate id \(ES-001\)", id="duplicate-municipality-id"),
    pytest.param(set_cell(M, "GR-001-LED2", "measure", "GR-001-LED1"),
                 r"measures\.csv:5: measure: duplicate id \(GR-001-LED1\)", id="duplicate-measure-id"),
    pytest.param(set_cell(M, "GR-001-AUDIT", "measure", "GR 001 AUDIT"),
                 r"measures\.csv:2: measure: ids may not contain spaces or control characters \('GR 001 AUDIT'\)",
                 id="id-with-space"),
    pytest.param(set_cell(M, "GR-001-RETRO", "measure", ""),
                 r"measures\.csv:6: measure: required value is blank", id="blank-required-id"),
    # --- dangling references
    pytest.param(set_cell(M, "GR-001-RETRO", "municipality", "GR-009"),
                 r"measures\.csv:6: municipality: unknown municipality \(did you mean 'GR-00\d'\?\) \(GR-009\)",
                 id="dangling-municipality"),
    pytest.param(set_cell(M, "GR-001-BLDG", "requires", "GR-001-AUDT"),
                 r"measures\.csv:3: requires: unknown measure \(did you mean 'GR-001-AUDIT'\?\) \(GR-001-AUDT\)",
                 id="dangling-requires"),
    pytest.param(set_cell(M, "GR-001-PVR", "programme", "PV-JOINT"),
                 r"measures\.csv:10: programme: unknown programme \(PV-JOINT\)", id="dangling-programme-no-file"),
    pytest.param(both(write_text("programmes.csv", PROGRAMMES), set_cell(M, "GR-001-PVR", "programme", "PV-EST")),
                 r"measures\.csv:10: programme: unknown programme \(did you mean 'PV-EAST'\?\) \(PV-EST\)",
                 id="dangling-programme"),
    pytest.param(write_text("programmes.csv", PROGRAMMES.replace(",east,", ",eats,")),
                 r"programmes\.csv:2: cluster: unknown cluster \(did you mean 'east'\?\) \(eats\)",
                 id="dangling-cluster-in-programmes"),
    pytest.param(replace_text("case.yaml", "  total_eur: 113700000\n", "  total_eur: 113700000\n  cluster_eur:\n    east: 1000000\n    north: 5000000\n"),
                 r"case\.yaml:16: budget\.cluster_eur\.north: unknown cluster \(north\)", id="dangling-cluster-in-budget"),
    # --- requires graph, groups
    pytest.param(set_cell(M, "GR-001-AUDIT", "requires", "GR-001-BLDG"),
                 r"measures\.csv:2: requires: prerequisites form a cycle \(GR-001-BLDG\)", id="requires-2-cycle"),
    pytest.param(set_cell(M, "GR-001-RETRO", "requires", "GR-001-RETRO"),
                 r"measures\.csv:6: requires: .*(itself|cycle).* \(GR-001-RETRO\)", id="requires-self"),
    pytest.param(set_cell(M, "GR-002-BLDG", "requires", "GR-001-AUDIT"),
                 r"measures\.csv:15: requires: must name a measure of the same municipality \(GR-001-AUDIT\)",
                 id="requires-across-municipalities"),
    pytest.param(set_cell(M, "GR-002-LED1", "group", "GR-001-LED"),
                 r"measures\.csv:16: group: group spans municipalities GR-001, GR-002 \(GR-001-LED\)",
                 id="group-spans-municipalities"),
    # --- numbers
    pytest.param(set_cell(M, "GR-001-BLDG", "capex_eur", "nan"),
                 r"measures\.csv:3: capex_eur: must be a finite number \(nan\)", id="nan"),
    pytest.param(set_cell(M, "GR-001-BLDG", "co2_reduction_t", "inf"),
                 r"measures\.csv:3: co2_reduction_t: must be a finite number \(inf\)", id="inf"),
    pytest.param(set_cell(MU, "IT-001", "baseline_emissions_t", "1e999"),
                 r"municipalities\.csv:4: baseline_emissions_t: must be a finite number \(1e999\)", id="overflow-to-inf"),
    pytest.param(set_cell(M, "GR-001-BLDG", "capex_eur", "abc"),
                 r"measures\.csv:3: capex_eur: must be a number \(abc\)", id="not-a-number-abc"),
    pytest.param(set_cell(M, "GR-001-BLDG", "opex_eur", "1.2.3"),
                 r"measures\.csv:3: opex_eur: must be a number \(1\.2\.3\)", id="not-a-number-1.2.3"),
    pytest.param(set_cell(MU, "GR-002", "population", "12,5"),
                 r"municipalities\.csv:3: population: must be a number \(12,5\)", id="decimal-comma"),
    pytest.param(set_cell(M, "GR-001-BLDG", "capex_eur", ""),
                 r"measures\.csv:3: capex_eur: required value is blank", id="blank-required-number"),
    pytest.param(set_cell(M, "GR-001-BLDG", "capex_eur", "-1200"),
                 r"measures\.csv:3: capex_eur: must be >= 0 \(-1200\)", id="negative-capex"),
    pytest.param(set_cell(M, "GR-001-RETRO", "co2_reduction_t", "-0.5"),
                 r"measures\.csv:6: co2_reduction_t: must be >= 0 \(-0.5\)", id="negative-co2"),
    pytest.param(set_cell(M, "GR-001-RETRO", "lifetime_years", "0"),
                 r"measures\.csv:6: lifetime_years: must be > 0 \(0\)", id="lifetime-zero"),
    pytest.param(set_cell(MU, "PT-001", "population", "0"),
                 r"municipalities\.csv:6: population: must be > 0 \(0\)", id="population-zero"),
    pytest.param(set_cell(MU, "PT-002", "households", "0"),
                 r"municipalities\.csv:7: households: must be > 0 \(0\)", id="households-zero"),
    pytest.param(set_cell(MU, "IT-002", "vulnerable_households", "4000"),
                 r"municipalities\.csv:5: vulnerable_households: must be <= households \(3263\) \(4000\)",
                 id="vulnerable-above-households"),
    pytest.param(set_cell(M, "GR-001-LED1", "min_units", "2000"),
                 r"measures\.csv:4: min_units: must be <= max_units \(1637\) \(2000\)", id="min-above-max-units"),
    pytest.param(set_cell(M, "GR-001-RETRO", "max_units", "2.5"),
                 r"measures\.csv:6: max_units: must be a whole number for an integer measure .*\(2\.5\)",
                 id="fractional-units-of-integer-measure"),
    pytest.param(set_cell(M, "GR-001-PVR", "vulnerable_share", "1.5"),
                 r"measures\.csv:10: vulnerable_share: must be <= 1 \(1\.5\)", id="vulnerable-share-above-1"),
    pytest.param(set_cell(M, "GR-001-PVR", "earliest_year", "2027.5"),
                 r"measures\.csv:10: earliest_year: must be a whole year \(2027\.5\)", id="fractional-year"),
    # --- enums, booleans, codes
    pytest.param(set_cell(M, "GR-001-RETRO", "sector", "residental"),
                 r"measures\.csv:6: sector: must be one of .*\(did you mean 'residential'\?\) \(residental\)",
                 id="sector-typo-with-hint"),
    pytest.param(set_cell(M, "GR-001-RETRO", "status", "comitted"),
                 r"measures\.csv:6: status: must be one of candidate, committed, excluded \(did you mean 'committed'\?\) \(comitted\)",
                 id="status-typo"),
    pytest.param(set_cell(M, "GR-001-RETRO", "integer", "maybe"),
                 r"measures\.csv:6: integer: must be true or false \(maybe\)", id="integer-maybe"),
    pytest.param(set_cell(MU, "ES-001", "country", "Spain"),
                 r"municipalities\.csv:8: country: must be an ISO 3166 alpha-2 code such as ES \(Spain\)",
                 id="country-not-iso2"),
    # --- file structure
    pytest.param(write_text(M, b""), r"measures\.csv:1: -: file is empty", id="empty-measures-file"),
    pytest.param(write_text(MU, (CASE / MU).read_text().splitlines()[0] + "\n"),
                 r"municipalities\.csv:1: -: no municipalities", id="header-only-municipalities"),
    pytest.param(lambda case: (case / MU).write_text((CASE / MU).read_text().replace(",", ";")),
                 r"municipalities\.csv:1: -: only one column found: the delimiter must be a comma \(municipality;name",
                 id="semicolon-delimiter"),
    pytest.param(lambda case: (case / M).write_text((CASE / M).read_text().replace(",", "\t")),
                 r"measures\.csv:1: -: only one column found: the delimiter must be a comma \(measure\tmunicipality",
                 id="tab-delimiter"),
    pytest.param(replace_text(M, "GR-001-RETRO,GR-001,", "GR-001-RETRO,GR-001,extra,"),
                 r"measures\.csv:6: -: row has 24 fields, the header has 23", id="too-many-fields"),
    pytest.param(replace_text(M, ",false,480,,-8,52,0.26,,0.1976,20,,,GR-001-LED,,,,\n", ",false,480,,-8\n"),
                 r"measures\.csv:5: -: row has 11 fields, the header has 23", id="too-few-fields"),
    pytest.param(replace_text(M, "GR-001-RETRO,GR-001,\"Residential", "GR-001-RETRO,GR-001,\"\"Residential"),
                 r"measures\.csv:6: -: malformed CSV", id="stray-quote"),
    pytest.param(replace_text(M, "GR-001-RETRO,GR-001,\"Residential deep retrofit (envelope, >60 % saved)\"",
                              "GR-001-RETRO,GR-001,\"Residential deep retrofit (envelope, >60 % saved)"),
                 r"measures\.csv:6: -: .*(quote|malformed CSV)", id="unclosed-quote"),
    pytest.param(replace_text(MU, b"Vila Nova", b"Vila \xffNova"),
                 r"municipalities\.csv:6: -: not valid UTF-8 \(byte 0xff\)", id="broken-utf8-byte"),
    pytest.param(lambda case: (case / M).unlink(), r"measures\.csv: -: (measures )?table not found", id="missing-measures-csv"),
    # --- case.yaml
    pytest.param(lambda case: (case / "case.yaml").unlink(), r"case\.yaml: -: file not found", id="missing-case-yaml"),
    pytest.param(replace_text("case.yaml", "  scope: joint\n", "  scope: [joint\n"),
                 r"case\.yaml:1[67]: -: YAML syntax error", id="yaml-syntax-error"),
    pytest.param(write_text("case.yaml", "- name\n- budget\n"),
                 r"case\.yaml:1: -: must be a mapping of settings \(list\)", id="yaml-not-a-mapping"),
    pytest.param(replace_text("case.yaml", "budget:", "budjet:"),
                 r"case\.yaml:12: budjet: unknown setting \(did you mean 'budget'\?\)", id="unknown-setting-budjet"),
    pytest.param(replace_text("case.yaml", "  vulnerable_share_min: 0.4", "  vulnerable_share_mn: 0.4"),
                 r"case\.yaml:23: (scenarios\.justice40\.)?justice\.vulnerable_share_mn: unknown setting \(did you mean 'vulnerable_share_min'\?\)",
                 id="unknown-setting-in-scenario"),
    pytest.param(append_yaml("justice:\n  vulnerable_share_mn: 0.4\n"),
                 r"case\.yaml:42: justice\.vulnerable_share_mn: unknown setting \(did you mean 'vulnerable_share_min'\?\)",
                 id="unknown-justice-setting"),
    pytest.param(replace_text("case.yaml", "reduction: 0.4", "reduction: lots"),
                 r"case\.yaml:15: target\.reduction: .*number.* \(lots\)", id="wrong-type-setting"),
    pytest.param(replace_text("case.yaml", "reduction: 0.4", "reduction: 1.4"),
                 r"case\.yaml:15: target\.reduction: .*less than or equal to 1.* \(1\.4\)", id="setting-out-of-range"),
    pytest.param(replace_text("case.yaml", "scope: joint", "scope: regional"),
                 r"case\.yaml:16: target\.scope: .*'joint', 'cluster' or 'each'.* \(regional\)", id="setting-bad-choice"),
    pytest.param(replace_text("case.yaml", "name: Mediterranean rural cluster (ENTRACK-like)\n", ""),
                 r"case\.yaml:1: name: (Field required|.*required)", id="missing-name"),
    pytest.param(append_yaml("periods:\n  years: [2026, 2028, 2030]\n  trajectory:\n    2028: 0.2\n    2031: 0.3\n"),
                 r"case\.yaml:45: periods\.trajectory\.2031: year is not in periods\.years \(2031\)",
                 id="trajectory-year-outside-periods"),
    pytest.param(both(replace_text("case.yaml", "scope: joint", "scope: cluster"), set_cell(MU, "ES-002", "cluster", "")),
                 r"municipalities\.csv:9: cluster: .*target\.scope is cluster", id="scope-cluster-without-cluster"),
    pytest.param(append_yaml("tables:\n  measures: ../../etc/passwd\n"),
                 r"case\.yaml:42: tables\.measures: table path leaves the case directory \(\.\./\.\./etc/passwd\)",
                 id="table-path-escapes-case"),
    pytest.param(append_yaml("periods:\n  years: [2026, 2030]\n  budget_eur: {2026: 1000000, 2027: 5}\n"),
                 r"case\.yaml:43: periods\.budget_eur\.2027: year is not in periods\.years \(2027\)",
                 id="period-budget-year-outside-periods"),
    pytest.param(replace_text("case.yaml", "      population_floor: 0.5", "      population_floor: 5"),
                 r"case\.yaml:26: scenarios\.fair-floor\.justice\.population_floor: .*less than or equal to 1 \(5\)",
                 id="bad-value-in-scenario"),
    pytest.param(replace_text("case.yaml", "  fair-floor:\n", "  fair-floor: strict\n  unused:\n"),
                 r"case\.yaml:24: scenarios\.fair-floor: .*dictionary.* \(strict\)", id="scenario-not-a-mapping"),
    pytest.param(append_yaml("tables:\n  measures: .\n"),
                 r"case\.yaml:42: tables\.measures: cannot read the file: .*\(\.\)", id="table-path-is-a-directory"),
    pytest.param(both(append_yaml("tables:\n  measures: measures.xlsx sheet=measures\n"),
                      write_text("measures.xlsx", b"this is not a workbook")),
                 r"case\.yaml:42: tables\.measures: cannot read sheet: .*\(measures\.xlsx sheet=measures\)", id="corrupt-xlsx"),
    pytest.param(append_yaml("tables:\n  programmes: programs.csv\n"),
                 r"case\.yaml:42: tables\.programmes: table not found \(programs\.csv\)", id="named-programmes-missing"),
    pytest.param(append_yaml("tables:\n  measures: measurez.csv\n"),
                 r"case\.yaml:42: tables\.measures: table not found \(measurez\.csv\)", id="table-path-missing"),
]


# ----------------------------------------------------------------------------- running the CLI

@pytest.fixture
def case(tmp_path: Path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(CASE, target)
    return target


def _invoke(args: list[str]):
    return CliRunner().invoke(main, args)


def _assert_refused(result, pattern: str) -> None:
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output, output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert re.search(r"^  " + pattern, output, re.MULTILINE), f"no line matching {pattern!r} in:\n{output}"
    for line in output.splitlines()[1:]:  # every problem names the file (and a column)
        assert re.match(r"^  \S+(:\d+)?: \S.*: ", line), f"badly formatted problem line: {line!r}"


@pytest.mark.parametrize(("corrupt", "pattern"), BROKEN)
def test_broken_case_is_refused(case: Path, tmp_path: Path, corrupt, pattern: str) -> None:
    corrupt(case)
    _assert_refused(_invoke(["validate", str(case)]), pattern)
    out = tmp_path / "out"
    _assert_refused(_invoke(["solve", str(case), "--out", str(out), "--quiet"]), pattern)
    assert not out.exists(), "solve wrote results for an invalid case"


def test_at_least_30_kinds() -> None:
    assert len(BROKEN) >= 30


def test_unknown_scenario(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke(["solve", str(case), "--scenario", "justice41", "--out", str(out)])
    _assert_refused(result, r"case\.yaml:20: scenarios: no such scenario \(did you mean 'justice40'\?\); known: justice40, fair-floor, five-year-plan \(justice41\)")
    assert not out.exists()


def test_bad_set_value(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke(["solve", str(case), "--set", "target.reduction=lots", "--out", str(out)])
    _assert_refused(result, r"--set: target\.reduction: .*number.* \(lots\)")
    assert not out.exists()


def test_scenario_that_is_not_a_mapping_chosen(case: Path, tmp_path: Path) -> None:
    replace_text("case.yaml", "  fair-floor:\n", "  fair-floor: strict\n  unused:\n")(case)
    out = tmp_path / "out"
    result = _invoke(["solve", str(case), "--scenario", "fair-floor", "--out", str(out)])
    _assert_refused(result, r"case\.yaml:24: scenarios\.fair-floor: .*(mapping|dictionary).* \(strict\)")
    assert not out.exists()


def test_bad_preset_names_the_preset(case: Path, tmp_path: Path) -> None:
    preset = tmp_path / "bad-preset.yaml"
    preset.write_text("objective: max_abatement\njustice:\n  gini_mx: 0.3\n")
    out = tmp_path / "out"
    result = _invoke(["solve", str(case), "--model", str(preset), "--out", str(out)])
    _assert_refused(result, r"bad-preset\.yaml:3: justice\.gini_mx: unknown setting \(did you mean 'gini_max'\?\)")
    assert not out.exists()


def test_all_problems_reported_at_once(case: Path) -> None:
    set_cell(M, "GR-001-BLDG", "capex_eur", "-1200")(case)
    set_cell(M, "GR-001-RETRO", "sector", "residental")(case)
    set_cell(M, "GR-002-LED1", "integer", "maybe")(case)
    result = _invoke(["validate", str(case)])
    _assert_refused(result, r"measures\.csv:3: capex_eur: must be >= 0 \(-1200\)")
    problems = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert len(problems) == 3, result.output
    assert "3 problem(s)" in result.output
    assert re.search(r"^  measures\.csv:6: sector: ", result.output, re.MULTILINE)
    assert re.search(r"^  measures\.csv:16: integer: must be true or false \(maybe\)", result.output, re.MULTILINE)


def test_problems_of_every_file_reported_together(case: Path) -> None:
    replace_text("case.yaml", "budget:", "budjet:")(case)
    set_cell(MU, "PT-001", "population", "0")(case)
    set_cell(M, "GR-001-BLDG", "capex_eur", "abc")(case)
    result = _invoke(["validate", str(case)])
    _assert_refused(result, r"case\.yaml:12: budjet: unknown setting")
    assert re.search(r"^  municipalities\.csv:6: population: must be > 0 \(0\)", result.output, re.MULTILINE), result.output
    assert re.search(r"^  measures\.csv:3: capex_eur: must be a number \(abc\)", result.output, re.MULTILINE), result.output


def test_lines_are_physical_after_quoted_line_breaks(case: Path) -> None:
    """A quoted line break earlier in the file shifts the reported line of a later error."""
    set_cell(M, "GR-001-AUDIT", "name", "Energy audit,\nof public buildings")(case)
    set_cell(M, "GR-001-RETRO", "capex_eur", "-5")(case)
    _assert_refused(_invoke(["validate", str(case)]), r"measures\.csv:7: capex_eur: must be >= 0 \(-5\)")


def test_excel_problems_name_sheet_and_row(case: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(case / M, dtype=str, keep_default_na=False)
    frame.loc[frame["measure"] == "GR-001-BLDG", "capex_eur"] = "-1200"
    frame.to_excel(case / "measures.xlsx", sheet_name="measures", index=False)
    (case / M).unlink()
    append_yaml("tables:\n  measures: measures.xlsx sheet=measures\n")(case)
    _assert_refused(_invoke(["validate", str(case)]), r"measures\.xlsx\[measures\]:3: capex_eur: must be >= 0 \(-1200\)")


# ----------------------------------------------------------------------------- valid variants

def _accepted(case: Path) -> None:
    result = _invoke(["validate", str(case)])
    assert result.exit_code == 0, result.output
    assert "measures: 96" in result.output, result.output


def test_utf8_bom_is_accepted(case: Path) -> None:
    for file in (M, MU):
        (case / file).write_bytes(b"\xef\xbb\xbf" + (case / file).read_bytes())
    _accepted(case)


def test_crlf_line_endings_are_accepted(case: Path) -> None:
    for file in (M, MU, "case.yaml"):
        (case / file).write_bytes((case / file).read_bytes().replace(b"\n", b"\r\n"))
    _accepted(case)


def test_quoted_comma_quote_and_line_break_are_accepted(case: Path) -> None:
    set_cell(M, "GR-001-AUDIT", "name", 'Energy audit, "deep",\r\nof public buildings')(case)
    set_cell(MU, "GR-001", "name", "Ano Platanos,\nupper village")(case)
    _accepted(case)
    from measureopt.api import load

    loaded = load(case)
    assert loaded.measures["name"].iat[0] == 'Energy audit, "deep",\r\nof public buildings'
    assert loaded.municipalities["name"].iat[0] == "Ano Platanos,\nupper village"


def test_numeric_looking_text_settings_stay_text(case: Path) -> None:
    replace_text("case.yaml", "name: Mediterranean rural cluster (ENTRACK-like)", "name: '2030'")(case)
    result = _invoke(["validate", str(case)])
    assert result.exit_code == 0, result.output
    assert "case: 2030 (" in result.output


def test_ids_with_leading_zeros_stay_text(case: Path) -> None:
    for file in (M, MU):
        (case / file).write_text((case / file).read_text().replace("ES-002", "05016"))
    set_cell(M, "05016-AUDIT", "measure", "00017")(case)
    set_cell(M, "05016-BLDG", "requires", "00017")(case)
    _accepted(case)
    from measureopt.api import load

    loaded = load(case)
    assert "05016" in loaded.municipalities.index
    assert set(loaded.measures.loc[loaded.measures["municipality"] == "05016", "measure"]) >= {"00017", "05016-BLDG"}
    assert loaded.measures.loc[loaded.measures["measure"] == "05016-BLDG", "requires"].tolist() == ["00017"]


def test_id_check_refuses_exactly_whitespace_and_control_characters() -> None:
    """The id check (pyarrow's RE2) refuses a character iff Python's Unicode whitespace or a control
    character \\x00-\\x1f is it: every code point, against `str.isspace`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from measureopt.case import ID_BREAKER

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    refused = np.asarray(pc.match_substring_regex(pa.array(chars, type=pa.string()), ID_BREAKER))
    expected = np.array([ch.isspace() or ord(ch) < 0x20 for ch in chars])
    assert refused.sum() == expected.sum() > 30
    np.testing.assert_array_equal(refused, expected)
    assert not pc.any(pc.match_substring_regex(pa.array(["GR-001", "Ærø_07", "市-3"]), ID_BREAKER)).as_py()


def test_many_dangling_references_are_capped_and_the_first_get_hints(case: Path) -> None:
    """250 measures requiring unknown ids: the first 200 are reported, the first HINTED_ROWS of them
    with a "did you mean" (each hint reads every measure id)."""
    from measureopt.case import HINTED_ROWS

    rows = read_rows(case, M)
    header, template = rows[0], rows[2]
    for k in range(250):
        row = list(template)
        row[header.index("measure")] = f"GR-001-EXTRA{k:03d}"
        row[header.index("requires")] = f"GR-001-AUDT{k:03d}"
        row[header.index("group")] = ""
        rows.append(row)
    write_rows(case, M, rows)
    result = _invoke(["validate", str(case)])
    _assert_refused(result, r"measures\.csv:\d+: requires: unknown measure \(did you mean 'GR-001-AUDIT'\?\)")
    dangling = [line for line in result.output.splitlines() if "requires: unknown measure" in line]
    assert len(dangling) == 200
    assert sum("did you mean" in line for line in dangling) == HINTED_ROWS
    assert all("did you mean" in line for line in dangling[:HINTED_ROWS])
