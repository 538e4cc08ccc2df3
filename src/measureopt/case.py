"""Loading and validating a case directory (SPEC 3) into immutable, typed case data.

Every rule of SPEC 3.5 is checked before any model is built, and every problem is reported at once
as `file:line: column: what is wrong (value)`.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from .errors import CaseError, Problem
from .excel import is_workbook, workbook_label, workbook_source
from .periods import check_periods, year_budget_columns
from .settings import SettingLayer, Settings, Tables, is_set, layer, locate, read_yaml, setting_layers
from .tables import RawTable, read_table

SECTORS = (
    "municipal_buildings", "tertiary", "residential", "public_lighting",
    "transport", "local_electricity", "local_heat", "other",
)
STATUSES = ("candidate", "committed", "excluded")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
#: A character no id may contain: whitespace or a control character (Python's Unicode \s and
#: \x00-\x1f), spelled for pyarrow's RE2, whose \s is ASCII only: Unicode separators \p{Z}, \x85
#: and the ASCII controls (checked against Python's reading for every character)
ID_BREAKER = r"[\p{Z}\x00-\x1f\x85]"
_ISO2 = re.compile(r"^[A-Z]{2}$")
#: Largest magnitude a table number may have: far above any plausible cost, count or abatement, and
#: far below HiGHS's infinity (1e20), so that a typo such as 1e300 cannot pass for a number.
MAX_MAGNITUDE = 1e15


@dataclass(frozen=True)
class Column:
    """One column of a case table: its kind, whether it is required, its default and its range."""

    name: str
    kind: str  # id | text | number | bool | enum | year | iso2
    required: bool = False
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    strict_min: bool = False  # "> minimum" instead of ">= minimum"
    choices: tuple[str, ...] = ()
    unit: str = ""
    meaning: str = ""


MUNICIPALITY_COLUMNS = (
    Column("municipality", "id", required=True, unit="id", meaning="unique id"),
    Column("name", "text", unit="text", meaning="display name"),
    Column("cluster", "id", unit="id", meaning="joint-programme cluster (joint SECAP group)"),
    Column("country", "iso2", unit="ISO 3166 alpha-2", meaning="country code"),
    Column("population", "number", required=True, minimum=0, strict_min=True, unit="persons", meaning="inhabitants"),
    Column("households", "number", required=True, minimum=0, strict_min=True, unit="count", meaning="households"),
    Column("vulnerable_households", "number", default=0.0, minimum=0, unit="count", meaning="energy-poor households, 0..households"),
    Column("baseline_emissions_t", "number", required=True, minimum=0, unit="tCO2/yr", meaning="the Baseline Emission Inventory"),
    Column("achieved_t", "number", default=0.0, unit="tCO2/yr", meaning="reductions already achieved since the baseline"),
    Column("budget_eur", "number", default=np.nan, minimum=0, unit="EUR", meaning="cap on this municipality's investment (blank: none)"),
    Column("income_index", "number", default=1.0, minimum=0, strict_min=True, unit="ratio", meaning="mean income / regional reference income"),
)

MEASURE_COLUMNS = (
    Column("measure", "id", required=True, unit="id", meaning="unique within the case"),
    Column("municipality", "id", required=True, unit="id", meaning="must exist in municipalities"),
    Column("name", "text", unit="text", meaning="display name"),
    Column("sector", "enum", required=True, choices=SECTORS, unit="enum", meaning="Covenant of Mayors sector"),
    Column("unit", "text", unit="text", meaning="e.g. building, kWp, household, luminaire"),
    Column("max_units", "number", default=1.0, minimum=0, strict_min=True, unit="count", meaning="most units that can be bought"),
    Column("min_units", "number", default=0.0, minimum=0, unit="count", meaning="if selected, at least this many units"),
    Column("integer", "bool", default=True, unit="bool", meaning="units integer; max_units = 1 and integer means a yes/no choice"),
    Column("capex_eur", "number", required=True, minimum=0, unit="EUR/unit", meaning="investment per unit"),
    Column("fixed_capex_eur", "number", default=0.0, minimum=0, unit="EUR", meaning="one-off cost if selected at all (design, permits)"),
    Column("opex_eur", "number", default=0.0, unit="EUR/yr/unit", meaning="change in operating cost, may be negative"),
    Column("bill_savings_eur", "number", default=0.0, unit="EUR/yr/unit", meaning="energy bill savings for the beneficiaries"),
    Column("energy_savings_mwh", "number", default=0.0, unit="MWh/yr/unit", meaning="final energy saved"),
    Column("renewable_mwh", "number", default=0.0, unit="MWh/yr/unit", meaning="local renewable production"),
    Column("co2_reduction_t", "number", required=True, minimum=0, unit="tCO2/yr/unit", meaning="annual abatement per unit"),
    Column("lifetime_years", "number", required=True, minimum=0, strict_min=True, unit="years", meaning="technical lifetime"),
    Column("households_served", "number", default=0.0, minimum=0, unit="count/unit", meaning="households reached per unit"),
    Column("vulnerable_share", "number", default=np.nan, minimum=0, maximum=1, unit="0..1", meaning="share of the benefit reaching vulnerable households; blank = the municipality's vulnerable_households / households"),
    Column("group", "id", unit="id", meaning="alternatives: at most one measure of a group is selected, per municipality"),
    Column("requires", "id", unit="measure id", meaning="may only be selected if that measure (same municipality) is selected"),
    Column("earliest_year", "year", unit="year", meaning="with periods: not before this year"),
    Column("status", "enum", default="candidate", choices=STATUSES, unit="enum", meaning="candidate; committed (forced in at max_units); excluded (forced out)"),
    Column("programme", "id", unit="id", meaning="the joint programme through which it may be bought"),
)

PROGRAMME_COLUMNS = (
    Column("programme", "id", required=True, unit="id", meaning="unique"),
    Column("name", "text", unit="text", meaning="display name"),
    Column("cluster", "id", unit="id", meaning="restricts members to one cluster; blank = any municipality"),
    Column("min_members", "number", default=2.0, minimum=1, unit="count", meaning="the programme runs only if at least this many municipalities take part"),
    Column("admin_cost_eur", "number", default=0.0, minimum=0, unit="EUR", meaning="one-off cost of running it, paid from the total (and its cluster's) budget"),
    Column("capex_discount", "number", default=0.0, minimum=0, maximum=1, unit="0..1", meaning="reduction of capex_eur on units bought through it"),
)


@dataclass(frozen=True)
class Case:
    """A validated case: settings and typed tables, ready to build a model from.

    `municipalities` is indexed by municipality id in file order; `measures` keeps file order and
    adds `m` (position of its municipality) and `v` (vulnerable share with the blank filled in);
    `programmes` is indexed by programme id.
    """

    directory: Path
    settings: Settings
    municipalities: pd.DataFrame
    measures: pd.DataFrame
    programmes: pd.DataFrame
    source: dict = field(default_factory=dict, compare=False)  # raw case.yaml, for re-layering
    warnings: tuple[str, ...] = ()
    scenario: str | None = None  # the case.yaml scenario applied, None for the base

    @property
    def name(self) -> str:
        return self.settings.name

    def equity_weights(self) -> np.ndarray:
        """omega_m = income_index_m ^ (-eta) per municipality (SPEC 4.2), with the C library's pow:
        numpy's vectorised pow differs from it in the last bit on some versions and processors,
        and the same case must give the same model everywhere."""
        eta = self.settings.weights.equity_elasticity
        return np.array([math.pow(x, -eta) for x in self.municipalities["income_index"].to_numpy()], dtype=float)

    @cached_property
    def links(self) -> Links:
        """The measures' references as positions, resolved once per case (on loading)."""
        return measure_links(self.measures, self.programmes)


@dataclass(frozen=True)
class Links:
    """What each measure refers to, as integer positions rather than ids: what the model reads."""

    requires: np.ndarray  # position of the measure it requires, -1 for none
    group: np.ndarray  # number of its group (groups numbered in order of first appearance), -1 for none
    group_ids: np.ndarray  # the group ids by number
    programme: np.ndarray  # position of its programme in the programme table, -1 for none
    committed: np.ndarray  # status committed
    excluded: np.ndarray  # status excluded

    def prerequisites(self) -> tuple[np.ndarray, np.ndarray]:
        """Measures with a prerequisite, and the position of the measure each requires."""
        j = np.flatnonzero(self.requires >= 0)
        return j, self.requires[j]


def required_positions(mt: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Measures with a prerequisite, and the position of the measure each requires (validated to
    exist): looked up among the measures that are required at all, a small index."""
    j = np.flatnonzero(mt["requires"].notna().to_numpy())
    required = mt["requires"].to_numpy()[j]
    candidates = np.flatnonzero(mt["measure"].isin(required).to_numpy())
    return j, candidates[pd.Index(mt["measure"].to_numpy()[candidates]).get_indexer(required)]


def measure_links(mt: pd.DataFrame, programmes: pd.DataFrame) -> Links:
    """The `Links` of a validated measure table (every id it names exists)."""
    requires = np.full(len(mt), -1, dtype=np.int64)
    j, required = required_positions(mt)
    requires[j] = required
    group = np.full(len(mt), -1, dtype=np.int64)
    grouped = np.flatnonzero(mt["group"].notna().to_numpy())
    group[grouped], group_ids = pd.factorize(mt["group"].to_numpy()[grouped])
    programme = np.full(len(mt), -1, dtype=np.int64)
    joined = np.flatnonzero(mt["programme"].notna().to_numpy())
    programme[joined] = programmes.index.get_indexer(mt["programme"].to_numpy()[joined])
    status = mt["status"].to_numpy()
    special = np.flatnonzero(status != "candidate")
    committed, excluded = np.zeros(len(mt), bool), np.zeros(len(mt), bool)
    committed[special], excluded[special] = status[special] == "committed", status[special] == "excluded"
    return Links(requires, group, np.asarray(group_ids, dtype=object), programme, committed, excluded)


class _Collector:
    """Gathers problems of one table; cells are addressed by row positions."""

    def __init__(self, table: RawTable):
        self.table = table
        self.problems: list[Problem] = []

    def add(self, rows: np.ndarray, column: str, message: str, values=None) -> None:
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        for k, row in enumerate(rows[:200]):
            value = None if values is None else (values[k] if not np.isscalar(values) else values)
            self.problems.append(Problem(self.table.label, int(self.table.lines[row]), column, message, value))


def _typed_column(col: Column, text: pd.Series, out: _Collector) -> pd.Series:
    """One column parsed into its type, blanks filled with the default; problems collected.

    A numeric column may arrive already parsed (float, NaN = blank) from the fast CSV reader.
    """
    if pd.api.types.is_float_dtype(text.dtype):
        return _numeric_column(col, text.to_numpy(dtype=float), None, out)
    text = text.fillna("")
    cells = text.astype(str).str.strip()
    blank = (cells == "").to_numpy()
    if col.required and blank.any():
        out.add(blank, col.name, "required value is blank")
    if col.kind in ("id", "text"):
        if col.kind == "id":
            bad = ~blank & np.asarray(pc.match_substring_regex(pa.array(cells, type=pa.string()), ID_BREAKER), dtype=bool)
            out.add(bad, col.name, "ids may not contain spaces or control characters", [repr(v) for v in text[bad]])
            cells = cells.where(~blank, None) if not col.required else cells
        return cells.where(~blank, None) if col.kind == "text" else cells
    if col.kind == "enum":
        bad = ~blank & ~cells.isin(col.choices).to_numpy()
        for row in np.flatnonzero(bad):
            hint = difflib.get_close_matches(cells.iat[row], col.choices, n=1)
            message = "must be one of " + ", ".join(col.choices) + (f" (did you mean '{hint[0]}'?)" if hint else "")
            out.add(np.array([row]), col.name, message, cells.iat[row])
        return cells.where(~blank, col.default)
    if col.kind == "bool":
        lowered = cells.str.lower()
        bad = ~blank & ~lowered.isin(_TRUE | _FALSE).to_numpy()
        out.add(bad, col.name, "must be true or false", cells[bad].tolist())
        return pd.Series(np.where(blank, col.default, lowered.isin(_TRUE).to_numpy()), index=text.index, dtype=bool)
    if col.kind == "iso2":
        bad = ~blank & ~cells.str.match(_ISO2).to_numpy()
        out.add(bad, col.name, "must be an ISO 3166 alpha-2 code such as ES", cells[bad].tolist())
        return cells.where(~blank, None)
    numbers = pd.to_numeric(cells.where(~blank, "0"), errors="coerce").to_numpy(dtype=float, copy=True)
    numbers[blank] = np.nan
    return _numeric_column(col, numbers, cells, out)


def _numeric_column(col: Column, numbers: np.ndarray, cells: pd.Series | None, out: _Collector) -> pd.Series:
    """Range checks of a numeric column (NaN = blank unless `cells` says the text was 'nan')."""
    if cells is None:
        blank = np.isnan(numbers)
        not_number = np.zeros(len(numbers), bool)

        def shown(mask):
            return [f"{v:g}" for v in numbers[mask]]
        if col.required and blank.any():
            out.add(blank, col.name, "required value is blank")
    else:
        blank = (cells == "").to_numpy()
        not_number = ~blank & np.isnan(numbers) & ~cells.str.lower().isin(["nan", "+nan", "-nan"]).to_numpy()

        def shown(mask):
            return cells[mask].tolist()
        out.add(not_number, col.name, "must be a number", shown(not_number))
    not_finite = ~blank & ~not_number & ~np.isfinite(numbers)
    out.add(not_finite, col.name, "must be a finite number", shown(not_finite))
    huge = ~blank & np.isfinite(numbers) & (np.abs(numbers) > MAX_MAGNITUDE)
    out.add(huge, col.name, f"must be at most {MAX_MAGNITUDE:.0e} in magnitude", shown(huge))
    ok = ~blank & np.isfinite(numbers)
    if col.kind == "year":
        bad = ok & (numbers != np.round(numbers))
        out.add(bad, col.name, "must be a whole year", shown(bad))
    if col.minimum is not None:
        low = ok & ((numbers <= col.minimum) if col.strict_min else (numbers < col.minimum))
        op = ">" if col.strict_min else ">="
        out.add(low, col.name, f"must be {op} {col.minimum:g}", shown(low))
    if col.maximum is not None:
        high = ok & (numbers > col.maximum)
        out.add(high, col.name, f"must be <= {col.maximum:g}", shown(high))
    default = np.nan if col.default is None else col.default
    return pd.Series(np.where(blank | ~np.isfinite(numbers), default, numbers), dtype=float)


def _parse_table(table: RawTable, columns: tuple[Column, ...], out: _Collector) -> pd.DataFrame:
    """A raw table typed column by column; unknown and missing columns reported."""
    known = {c.name: c for c in columns}
    for position, name in enumerate(table.frame.columns):
        if name not in known:
            hint = difflib.get_close_matches(name, list(known), n=1)
            message = "unknown column" + (f" (did you mean '{hint[0]}'?)" if hint else "")
            out.problems.append(Problem(table.label, table.header_line, name or f"column {position + 1}", message))
    duplicated = table.frame.columns[table.frame.columns.duplicated()]
    for name in duplicated:
        out.problems.append(Problem(table.label, table.header_line, name, "column appears twice"))
    typed = {}
    blank = pd.Series([""] * len(table.frame), index=table.frame.index, dtype=object)
    for col in columns:
        if col.name not in table.frame.columns:
            if col.required:
                out.problems.append(Problem(table.label, table.header_line, col.name, "required column is missing"))
            text = blank
        elif col.name in duplicated:
            text = table.frame.loc[:, col.name].iloc[:, 0]
        else:
            text = table.frame[col.name]
        typed[col.name] = _typed_column(col, text, out).set_axis(table.frame.index)
    return pd.DataFrame(typed, index=table.frame.index)


def _unique(frame: pd.DataFrame, column: str, out: _Collector) -> None:
    ids = frame[column]
    dup = (ids.duplicated(keep="first") & ids.notna() & (ids != "")).to_numpy()
    out.add(dup, column, "duplicate id", ids[dup].tolist())


#: dangling references that get a "did you mean" hint (the first ones of a column)
HINTED_ROWS = 20


def _exists(frame: pd.DataFrame, column: str, known, out: _Collector, what: str) -> np.ndarray:
    """Rows whose `column` names none of `known` (a set or a column of ids), each reported."""
    values = frame[column]
    known = pa.array(list(known) if isinstance(known, (set, frozenset)) else known, type=pa.string())
    # pyarrow's hash lookup: pandas' isin of its pyarrow strings makes a Python scalar of every known id
    found = np.asarray(pc.fill_null(pc.is_in(pa.array(values, type=pa.string()), value_set=known), False))
    dangling = values.notna().to_numpy() & (values != "").to_numpy() & ~found
    names = sorted(known.drop_null().to_pylist()) if dangling.any() else []  # in one order: hints tie
    for k, row in enumerate(np.flatnonzero(dangling)[:200]):  # a hint for the first few: each reads every id
        hint = difflib.get_close_matches(str(values.iat[row]), names, n=1) if k < HINTED_ROWS else []
        message = f"unknown {what}" + (f" (did you mean '{hint[0]}'?)" if hint else "")
        out.add(np.array([row]), column, message, values.iat[row])
    return dangling


def _number(value: float) -> str:
    return f"{value:g}"


def _check_municipalities(frame: pd.DataFrame, out: _Collector) -> None:
    if len(frame) == 0:
        out.problems.append(Problem(out.table.label, out.table.header_line, "-", "no municipalities: the table has a header but no rows"))
    _unique(frame, "municipality", out)
    too_many = (frame["vulnerable_households"] > frame["households"]).to_numpy()
    for row in np.flatnonzero(too_many)[:200]:
        out.add(np.array([row]), "vulnerable_households", f"must be <= households ({_number(frame['households'].iat[row])})",
                _number(frame["vulnerable_households"].iat[row]))


def _check_measures(frame: pd.DataFrame, muni_ids: set | None, programme_ids: set | None, out: _Collector) -> None:
    """Checks within measures.csv, and its references (skipped when the referenced table is unreadable or empty)."""
    _unique(frame, "measure", out)
    if muni_ids:
        _exists(frame, "municipality", muni_ids, out, "municipality")
    if programme_ids is not None:
        _exists(frame, "programme", programme_ids, out, "programme")
    inverted = (frame["min_units"] > frame["max_units"]).to_numpy()
    for row in np.flatnonzero(inverted)[:200]:
        out.add(np.array([row]), "min_units", f"must be <= max_units ({_number(frame['max_units'].iat[row])})",
                _number(frame["min_units"].iat[row]))
    integer = frame["integer"].to_numpy(dtype=bool)
    for col in ("max_units", "min_units"):
        fractional = integer & (frame[col].to_numpy() != np.round(frame[col].to_numpy()))
        out.add(fractional, col, "must be a whole number for an integer measure (integer is true)", frame[col][fractional].tolist())
    # groups stay inside one municipality
    # (reported on every row outside the municipality of the group's first row)
    grouped = frame["group"].notna().to_numpy()
    owner = frame["municipality"].where(grouped).groupby(frame["group"]).transform("first")
    stray = grouped & (owner.reindex(frame.index).to_numpy() != frame["municipality"].to_numpy())
    for row in np.flatnonzero(stray)[:200]:
        group = frame["group"].iat[row]
        owners = sorted(frame.loc[(frame["group"] == group).to_numpy(), "municipality"].unique())
        out.add(np.array([row]), "group", f"group spans municipalities {', '.join(owners)}", group)
    # prerequisites: existing, same municipality, not self, no cycles
    ids = frame["measure"]
    position = pd.Series(np.arange(len(frame)), index=ids.where(~ids.duplicated(), None))
    position = position[position.index.notna()]
    has_req = frame["requires"].notna().to_numpy()
    dangling = _exists(frame, "requires", ids, out, "measure")
    linked = has_req & ~dangling
    req_pos = np.full(len(frame), -1)
    req_pos[linked] = position.reindex(frame["requires"][linked]).to_numpy()
    linked &= req_pos >= 0
    other = np.zeros(len(frame), bool)
    other[linked] = frame["municipality"].to_numpy()[req_pos[linked]] != frame["municipality"].to_numpy()[linked]
    out.add(other, "requires", "must name a measure of the same municipality", frame["requires"][other].tolist())
    for row in _cycle_rows(req_pos):
        out.add(np.array([row]), "requires", "prerequisites form a cycle", frame["requires"].iat[row])


def _cycle_rows(req_pos: np.ndarray) -> list[int]:
    """Rows on a cycle of the prerequisite graph (each row has at most one prerequisite)."""
    state = np.zeros(len(req_pos), np.int8)  # 0 new, 1 on path, 2 done
    on_cycle: list[int] = []
    for start in np.flatnonzero(req_pos >= 0):
        path = []
        node = start
        while node >= 0 and state[node] == 0:
            state[node] = 1
            path.append(node)
            node = req_pos[node]
        if node >= 0 and state[node] == 1:
            on_cycle.extend(path[path.index(node):])
        state[path] = 2
    return sorted(int(r) for r in on_cycle)


def _check_programmes(frame: pd.DataFrame, clusters: set, out: _Collector) -> None:
    _unique(frame, "programme", out)
    _exists(frame, "cluster", clusters, out, "cluster")
    fractional = (frame["min_members"] != np.round(frame["min_members"])).to_numpy()
    out.add(fractional, "min_members", "must be a whole number", frame["min_members"][fractional].tolist())


def _check_settings(settings: Settings, layers: list[SettingLayer], munis: pd.DataFrame | None,
                    munis_out: _Collector | None) -> list[Problem]:
    """Cross-checks of settings against the tables (clusters, scopes, periods), each reported at the
    file and line of the layer that set it; a blank cluster under scope cluster at its table row."""
    problems = []

    def add(loc: tuple, message: str, value: object = None) -> None:
        label, line, path = locate(loc, layers)
        problems.append(Problem(label, line, path, message, value))

    if munis is not None and munis_out is not None:
        clusters = set(munis["cluster"].dropna())
        if settings.budget is not None:
            for cluster in settings.budget.cluster_eur:
                if cluster not in clusters:
                    hint = difflib.get_close_matches(cluster, sorted(clusters), n=1)
                    add(("budget", "cluster_eur", cluster), "unknown cluster" + (f" (did you mean '{hint[0]}'?)" if hint else ""), cluster)
        if settings.target is not None and settings.target.scope == "cluster":
            label, line, _ = locate(("target", "scope"), layers)
            where = f"{label}:{line}" if line is not None else label
            out_of_cluster = munis["cluster"].isna().to_numpy()
            munis_out.add(out_of_cluster, "cluster", f"blank, but target.scope is cluster ({where}): every municipality needs a cluster")
    if settings.periods is not None:
        years = set(settings.periods.years)
        for key in ("trajectory", "budget_eur"):
            for year in getattr(settings.periods, key):
                if year not in years:
                    add(("periods", key, year), "year is not in periods.years", year)
    return problems


def _fallback_tables(source: dict) -> Tables:
    """Table paths of case.yaml when the settings as a whole are invalid (so that the tables are
    still checked and every problem is reported at once)."""
    try:
        return Tables.model_validate(source.get("tables") or {})
    except (ValidationError, TypeError, AttributeError):
        return Tables()


def _load_settings(source: dict, scenario, presets, overrides) -> tuple[Settings | None, list[Problem]]:
    """The settings of this run, and every problem of them and of every other scenario."""
    problems: list[Problem] = []
    settings = None
    try:
        settings = layer(source, presets, scenario, overrides)
    except CaseError as exc:
        problems.extend(exc.problems)
    scenarios = source.get("scenarios")
    for name in scenarios if isinstance(scenarios, dict) else {}:
        if name != scenario:
            try:
                layer(source, (), name, ())  # every scenario must be valid, not only the one run
            except CaseError as exc:
                problems.extend(p for p in exc.problems if p not in problems)
    return settings, problems


def load_case(
    case_dir: str | Path,
    scenario: str | None = None,
    presets: list[Path] = (),  # type: ignore[assignment]
    overrides: list[dict] = (),  # type: ignore[assignment]
) -> Case:
    """The case directory read, layered (SPEC 2) and validated (SPEC 3.5); raises CaseError.

    Problems of case.yaml and of every table are collected and raised together.
    """
    directory = Path(case_dir)
    workbook = is_workbook(directory)  # a case as one .xlsx workbook (excel.py)
    if not workbook and not directory.is_dir():
        raise CaseError([Problem(str(directory), None, "-", "case directory not found")])
    source, layout_problems = workbook_source(directory) if workbook else (read_yaml(directory / "case.yaml"), [])
    tables_dir = directory.parent if workbook else directory
    settings, problems = _load_settings(source, scenario, presets, overrides)
    problems = layout_problems + problems
    try:
        layers = setting_layers(source, presets, scenario, overrides)
    except CaseError:  # an unreadable preset, already reported
        layers = [SettingLayer("case.yaml", source)]
    specs = settings.tables if settings is not None else _fallback_tables(source)
    parsed: dict[str, tuple[pd.DataFrame, _Collector | None]] = {}
    for key, columns in (("municipalities", MUNICIPALITY_COLUMNS), ("measures", MEASURE_COLUMNS), ("programmes", PROGRAMME_COLUMNS)):
        spec = getattr(specs, key)
        given = is_set(("tables", key), layers)
        label, line, path_key = locate(("tables", key), layers)
        path = tables_dir / spec.partition(" sheet=")[0].partition("sheet=")[0].strip()
        if key == "programmes" and not given and not path.exists():
            empty = pd.DataFrame({c.name: pd.Series(dtype=object if c.kind in ("id", "text", "enum") else float) for c in columns})
            parsed[key] = (empty, None)
            continue
        try:
            raw = read_table(tables_dir, spec, key, frozenset(c.name for c in columns if c.kind in ("number", "year")))
        except CaseError as exc:
            # a table that cannot be opened at all is reported at its `tables:` entry, when it has one
            problems.extend(
                replace(p, file=label, line=line, column=path_key) if p.file == "case.yaml" and p.line is None
                else replace(p, file=label, line=line, column=path_key, value=spec) if given and p.line is None
                else p
                for p in exc.problems)
            continue
        except FileNotFoundError:
            if given:
                problems.append(Problem(label, line, path_key, "table not found", spec))
            else:
                problems.append(Problem(spec, None, "-", f"{key} table not found"))
            continue
        out = _Collector(raw)
        if key == "municipalities":  # per-year caps of a multi-year plan (periods.py)
            columns = columns + tuple(Column(name, "number", default=np.nan, minimum=0) for name in year_budget_columns(raw.frame.columns))
        parsed[key] = (_parse_table(raw, columns, out), out)
    munis, munis_out = parsed.get("municipalities", (None, None))
    measures, measures_out = parsed.get("measures", (None, None))
    programmes, programmes_out = parsed.get("programmes", (None, None))
    if munis is not None:
        _check_municipalities(munis, munis_out)
        if programmes_out is not None:
            _check_programmes(programmes, set(munis["cluster"].dropna()), programmes_out)
    if measures is not None:
        _check_measures(measures, None if munis is None else set(munis["municipality"]),
                        None if programmes is None else set(programmes["programme"]), measures_out)
    if settings is not None:
        problems += _check_settings(settings, layers, munis, munis_out)
        problems += check_periods(settings, layers, munis, munis_out, measures, measures_out)
    for out in (munis_out, measures_out, programmes_out):
        problems += out.problems if out is not None else []
    if workbook:  # settings problems name the workbook's `case` sheet, not case.yaml
        problems = [replace(p, file=workbook_label(directory)) if p.file == "case.yaml" else p for p in problems]
    if problems:
        raise CaseError(_in_order(problems))
    return _assemble(directory, settings, source, munis, measures, programmes, scenario)


def _in_order(problems: list[Problem]) -> list[Problem]:
    """case.yaml (and presets, --set) first, then the tables; each file by line."""
    files = list(dict.fromkeys(p.file for p in problems))
    return sorted(problems, key=lambda p: (files.index(p.file), p.line if p.line is not None else -1))


def _assemble(directory, settings, source, munis, measures, programmes, scenario) -> Case:
    """Typed tables joined into the immutable case (positions, filled vulnerable shares)."""
    munis = munis.set_index("municipality", drop=False)
    munis.index.name = None
    position = pd.Series(np.arange(len(munis)), index=munis.index)
    measures = measures.reset_index(drop=True)
    measures["m"] = position.reindex(measures["municipality"]).to_numpy()
    muni_share = (munis["vulnerable_households"] / munis["households"]).to_numpy()
    measures["v"] = measures["vulnerable_share"].fillna(pd.Series(muni_share[measures["m"].to_numpy()])).to_numpy()
    programmes = programmes.set_index("programme", drop=False)
    programmes.index.name = None
    warnings = _warnings(measures)
    for frame in (munis, measures, programmes):
        frame.flags.allows_duplicate_labels = True
        frame.index = frame.index.astype(object) if pd.api.types.is_string_dtype(frame.index.dtype) else frame.index
        for column in frame.columns:  # text as Python objects: the model build reads them as numpy arrays
            if pd.api.types.is_string_dtype(frame[column].dtype) and frame[column].dtype != object:
                frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    case = Case(directory, settings, munis, measures, programmes, source, tuple(warnings), scenario)
    case.links  # resolved here, with the tables, rather than in every model build
    return case


def _warnings(measures: pd.DataFrame) -> list[str]:
    """Legal but suspicious input: measures that require an excluded measure can never be selected."""
    excluded = set(measures.loc[measures["status"] == "excluded", "measure"])
    blocked = measures[measures["requires"].isin(excluded)]
    return [f"measure {m} requires excluded measure {r}: it can never be selected" for m, r in zip(blocked["measure"], blocked["requires"])]
