"""Checking a results folder against its inputs (`measureopt solve CASE --check RESULTS_DIR`).

A results folder is trusted only if it still matches what it claims to come from:
1. provenance: the SHA-256 of every input file and the measureopt version in summary.json equal the
   case's files and the running version;
2. the portfolio: portfolio.csv, read back into a decision, passes the independent verification
   (`verify.py`) against the input tables under the run's own settings (summary.json `settings`),
   and every figure written per measure, per municipality and in summary.json equals the recomputed
   one (relative tolerance `REL_TOL`, the files hold 12 significant digits).

portfolio.csv does not say how many units were bought through a programme, nor which municipalities
took part without buying through it, so the decision is read back as: units through the programme
from the row's investment (capex discount), and every municipality that selects a measure of a
running programme (in its cluster) taking part. A programme that ran with nothing bought through it
shows up as a difference of the summary's investment (its admin cost).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .case import Case, load_case
from .engine import objective_value
from .errors import CaseError, MeasureoptError, Problem
from .results import provenance
from .settings import Tables
from .verify import Portfolio, Verified, verify

#: Figures are compared to this relative tolerance (CSV files hold 12 significant digits).
REL_TOL = 1e-7


class ResultsMismatch(MeasureoptError):
    """A results folder does not match its inputs (exit 5); `differences` says what differs."""

    exit_code = 5

    def __init__(self, differences: list[str]):
        self.differences = list(differences)
        super().__init__("results do not match the inputs:\n  " + "\n  ".join(self.differences))


@dataclass
class CheckReport:
    """Outcome of a check: what differs (empty when the results match their inputs)."""

    results_dir: Path
    case_dir: Path
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def raise_if_different(self) -> None:
        """ResultsMismatch (exit 5) listing the differences, if there are any."""
        if self.differences:
            raise ResultsMismatch(self.differences)


def _read_results(results_dir: Path) -> tuple[dict, pd.DataFrame]:
    """summary.json and portfolio.csv of a results folder; CaseError (exit 2) if unreadable."""
    label = results_dir.name
    try:
        summary = json.loads((results_dir / "summary.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError([Problem(f"{label}/summary.json", None, "-", "not found: not a results folder")]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaseError([Problem(f"{label}/summary.json", getattr(exc, "lineno", None), "-", f"unreadable: {exc}")]) from None
    if not isinstance(summary, dict) or not isinstance(summary.get("settings"), dict):
        raise CaseError([Problem(f"{label}/summary.json", None, "settings", "missing: cannot tell which settings made these results")])
    if summary.get("status") not in ("optimal", "time_limit"):
        raise CaseError([Problem(f"{label}/summary.json", None, "status", "has no portfolio to check", summary.get("status"))])
    try:
        portfolio = pd.read_csv(results_dir / "portfolio.csv", dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise CaseError([Problem(f"{label}/portfolio.csv", None, "-", "not found")]) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CaseError([Problem(f"{label}/portfolio.csv", None, "-", f"unreadable: {exc}")]) from None
    return summary, portfolio


def _number(text: str) -> float:
    """A CSV cell as a number (blank = NaN); text a spreadsheet-safe writer prefixed with ' stays text."""
    try:
        return float(text) if text != "" else math.nan
    except ValueError:
        return math.nan


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _differs(written, expected) -> bool:
    """Whether a written figure differs from the recomputed one (None/NaN = undefined; booleans exact)."""
    if _missing(written) or _missing(expected):
        return not (_missing(written) and _missing(expected))
    if isinstance(written, bool) or isinstance(expected, bool) or not isinstance(written, (int, float)):
        return written != expected
    return abs(written - expected) > REL_TOL * max(1.0, abs(written), abs(expected))


def _unneutralised(text: str) -> str:
    """A text cell as it was before formula neutralisation (results.neutralise prefixes ')."""
    return text[1:] if text.startswith("'") else text


def read_portfolio(case: Case, table: pd.DataFrame, differences: list[str]) -> Portfolio:
    """portfolio.csv read back into a decision over the case's measures (see the module docstring);
    rows that name no measure of the case, or name one twice, are added to `differences`."""
    mt = case.measures
    position = pd.Series(np.arange(len(mt)), index=mt["measure"].to_numpy())
    units = np.zeros(len(mt))
    selected = np.zeros(len(mt), bool)
    through = np.zeros(len(mt))
    year = np.full(len(mt), np.nan) if case.settings.periods is not None else None  # implementation years
    missing = [c for c in ("measure", "municipality", "units", "investment_eur", "programme") if c not in table.columns]
    if missing:
        differences.append(f"portfolio.csv: columns missing: {', '.join(missing)}")
        return Portfolio(units, selected, through, frozenset(), frozenset(), year)
    running = set()
    for line, row in zip(range(2, len(table) + 2), table.to_dict("records")):
        measure = _unneutralised(row["measure"])
        if measure not in position.index:
            differences.append(f"portfolio.csv:{line}: measure {measure} is not in the case")
            continue
        j = int(position[measure])
        if selected[j]:
            differences.append(f"portfolio.csv:{line}: measure {measure} appears twice")
            continue
        if _unneutralised(row["municipality"]) != mt["municipality"].iat[j]:
            differences.append(f"portfolio.csv:{line}: measure {measure} is of municipality {mt['municipality'].iat[j]}, "
                               f"not {_unneutralised(row['municipality'])}")
        selected[j] = True
        units[j] = _number(row["units"])
        if year is not None:
            year[j] = _number(row.get("year", ""))
        programme = _unneutralised(row["programme"])
        if programme:
            if programme != mt["programme"].iat[j] or programme not in case.programmes.index:
                differences.append(f"portfolio.csv:{line}: measure {measure} cannot be bought through programme {programme}")
                continue
            running.add(programme)
            through[j] = _units_through(case, j, units[j], _number(row["investment_eur"]))
            if not -REL_TOL <= through[j] <= units[j] * (1 + REL_TOL) + REL_TOL:
                differences.append(f"portfolio.csv:{line}: investment_eur of {measure} does not fit its units and programme")
            through[j] = min(max(through[j], 0.0), units[j])
    members = set()
    for programme in running:
        cluster = case.programmes.at[programme, "cluster"]
        mine = selected & (mt["programme"] == programme).to_numpy()
        for m in set(mt["municipality"].to_numpy()[mine]):
            if pd.isna(cluster) or case.municipalities.at[m, "cluster"] == cluster:
                members.add((m, programme))
    return Portfolio(units, selected, through, frozenset(running), frozenset(members), year)


def _units_through(case: Case, j: int, units: float, investment: float) -> float:
    """Units of measure j bought through its programme, from its investment:
    I_j = f_j + c_j u_j - d c_j w_j (all units when the discount or the capex is zero)."""
    mt = case.measures
    capex, fixed = mt["capex_eur"].iat[j], mt["fixed_capex_eur"].iat[j]
    discount = case.programmes.at[mt["programme"].iat[j], "capex_discount"]
    if discount * capex == 0 or math.isnan(investment):
        return units
    return float((fixed + capex * units - investment) / (discount * capex))


def _compare_rows(verified: Verified, case: Case, table: pd.DataFrame, differences: list[str]) -> None:
    """Each figure of portfolio.csv equals the one recomputed for its measure."""
    mt = case.measures
    per = verified.measures
    position = pd.Series(np.arange(len(mt)), index=mt["measure"].to_numpy())
    for line, row in zip(range(2, len(table) + 2), table.to_dict("records")):
        measure = _unneutralised(row.get("measure", ""))
        if measure not in position.index:
            continue
        j = int(position[measure])
        for column in ("investment_eur", "annual_abatement_t", "eac_eur", "vulnerable_benefit"):
            if column in row and _differs(_number(row[column]), float(per[column].iat[j])):
                differences.append(f"portfolio.csv:{line}: {column} of {measure} is {row[column]}, "
                                   f"the inputs give {float(per[column].iat[j]):.12g}")


def _compare_summary(summary: dict, verified: Verified, case: Case, differences: list[str]) -> None:
    """The headline figures of summary.json equal the recomputed ones."""
    baseline = float(case.municipalities["baseline_emissions_t"].sum())
    recomputed = {
        "investment_eur": verified.investment_eur,
        "annual_abatement_t": verified.annual_abatement_t,
        "eac_eur": verified.eac_eur,
        "gini": verified.gini,
        "vulnerable_benefit_share": verified.vulnerable_benefit / verified.benefit if verified.benefit else None,
        "reduction_share": verified.annual_abatement_t / baseline if baseline else None,
        "target_met": verified.target_met,
    }
    objective = summary.get("objective") or {}
    if objective.get("name") != case.settings.objective:
        differences.append(f"summary.json: objective is {objective.get('name')}, the settings say {case.settings.objective}")
    else:
        recomputed["objective value"] = objective_value(case, case.settings.objective, verified)
    written = {**summary, "objective value": objective.get("value")}
    for key, expected in recomputed.items():
        if _differs(written.get(key), expected):
            differences.append(f"summary.json: {key} is {written.get(key)}, the inputs give {expected}")


def check_results(case_dir: str | Path, results_dir: str | Path) -> CheckReport:
    """Everything that differs between a results folder and the case it claims to come from.

    Raises CaseError when the folder or the case cannot be read at all.
    """
    from . import __version__

    case_dir, results_dir = Path(case_dir), Path(results_dir)
    report = CheckReport(results_dir, case_dir)
    differences = report.differences
    summary, table = _read_results(results_dir)
    # the run's own merged settings; default table names are left out, so that an absent optional
    # programmes.csv is not taken for a named one
    defaults = Tables().model_dump()
    stored = {**summary["settings"], "tables": {k: v for k, v in (summary["settings"].get("tables") or {}).items() if v != defaults.get(k)}}
    case = load_case(case_dir, None, [], [stored])
    settings_file = results_dir / "settings.yaml"
    if settings_file.exists() and yaml.safe_load(settings_file.read_text(encoding="utf-8")) != summary["settings"]:
        differences.append("settings.yaml differs from the settings in summary.json")
    claimed = summary.get("provenance") or {}
    if claimed.get("measureopt_version") != __version__:
        differences.append(f"made by measureopt {claimed.get('measureopt_version')}, this is {__version__}")
    actual = provenance(case)["inputs_sha256"]
    digests = claimed.get("inputs_sha256") or {}
    for name in sorted(set(actual) | set(digests)):
        if name not in digests:
            differences.append(f"{name}: not in the results' provenance")
        elif name not in actual:
            differences.append(f"{name}: in the results' provenance but not in the case")
        elif digests[name] != actual[name]:
            differences.append(f"{name}: changed since the results were made (SHA-256 {actual[name][:12]}..., "
                               f"the results say {str(digests[name])[:12]}...)")
    portfolio = read_portfolio(case, table, differences)
    floor = summary.get("maxmin_t")
    if case.settings.justice.maxmin and isinstance(floor, (int, float)):
        floor = floor * (1 - case.settings.justice.maxmin_tolerance)
    else:
        floor = None
    verified = verify(case, portfolio, floor)
    differences.extend(f"verification: {v}" for v in verified.violations)
    _compare_rows(verified, case, table, differences)
    _compare_summary(summary, verified, case, differences)
    return report
