"""Result tables and files (SPEC 6): summary.json, portfolio.csv, municipalities.csv, settings.yaml.

Every figure comes from the verification (`verify.py`). Folders are written atomically: into a
temporary sibling first, renamed into place at the end, so a failed run leaves nothing half-written.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import yaml

from .engine import Result
from .equity import lorenz_table
from .schedule import draw_schedule
from .settings import settings_dict


def _number(value: float | None) -> float | None:
    """JSON-safe: NaN and inf become null."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def summary(result: Result, scenario: str | None = None) -> dict:
    """summary.json of SPEC 6 (scenario defaults to the one the case was loaded with)."""
    v = result.verified
    scenario = scenario or result.case.scenario
    baseline = float(result.case.municipalities["baseline_emissions_t"].sum())
    data = {
        "case": result.case.name,
        "scenario": scenario or "base",
        "status": result.status.value,
        "objective": {"name": result.objective_name, "sense": result.sense, "value": _number(result.objective_value)},
        "mip_gap": _number(result.mip_gap),
        "dual_bound": _number(result.dual_bound),
        "investment_eur": _number(v.investment_eur),
        "annual_abatement_t": _number(v.annual_abatement_t),
        "reduction_share": _number(_ratio(v.annual_abatement_t, baseline)),
        "eac_eur": _number(v.eac_eur),
        "cost_per_t": _number(_ratio(v.eac_eur, v.annual_abatement_t)),
        "vulnerable_benefit_share": _number(_ratio(v.vulnerable_benefit, v.benefit)),
        "gini": _number(v.gini),
        "min_per_capita_ratio": _number(v.min_per_capita_ratio),
        "target_met": v.target_met,
        "build_seconds": round(result.build_seconds, 4),
        "solve_seconds": round(result.solve_seconds, 4),
        "variables": result.variables,
        "constraints": result.constraints,
        "binding": result.binding,
    }
    if result.maxmin_t is not None:
        data["maxmin_t"] = _number(result.maxmin_t)
    if v.cumulative_abatement_t is not None:  # a multi-year plan: sum over plan years of A_tau
        data["cumulative_abatement_t"] = _number(v.cumulative_abatement_t)
    if result.trajectory:
        data["gap_trajectory"] = [dict(zip(("seconds", "primal", "dual", "gap"), map(_number, point))) for point in result.trajectory]
    if result.notes:
        data["notes"] = result.notes
    data["settings"] = settings_dict(result.case.settings)
    data["provenance"] = provenance(result.case)
    return data


def provenance(case) -> dict:
    """What the result was computed from: measureopt's version, the SHA-256 of every input file and
    the case directory (so that `report` can find the candidate measures for its MACC)."""
    from . import __version__

    files = ["case.yaml"] + [getattr(case.settings.tables, t).split(" sheet=")[0].strip() for t in ("municipalities", "measures", "programmes")]
    digests = {}
    for name in dict.fromkeys(files):
        path = (case.directory if case.directory.is_dir() else case.directory.parent) / name  # a case workbook: beside it
        if path.is_file():
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"measureopt_version": __version__, "inputs_sha256": digests, "case_directory": str(case.directory.resolve())}


def _units_text(units: np.ndarray, integer: np.ndarray) -> list[str]:
    """Units at full precision; integers written exactly."""
    return [str(int(u)) if is_int else repr(float(u)) for u, is_int in zip(units, integer)]


def portfolio_table(result: Result) -> pd.DataFrame:
    """portfolio.csv: one row per selected measure."""
    mt = result.case.measures
    per = result.verified.measures
    chosen = per["selected"].to_numpy()
    rows = mt[chosen]
    sel = per[chosen]
    abatement = sel["annual_abatement_t"].to_numpy()
    eac = sel["eac_eur"].to_numpy()
    cost_per_t = np.divide(eac, abatement, out=np.full(len(eac), np.nan), where=abatement != 0)
    through = sel["through_programme"].to_numpy() > 0
    table = pd.DataFrame({
        "measure": rows["measure"].to_numpy(),
        "municipality": rows["municipality"].to_numpy(),
        "sector": rows["sector"].to_numpy(),
        "units": _units_text(sel["units"].to_numpy(), rows["integer"].to_numpy(dtype=bool)),
        "investment_eur": sel["investment_eur"].to_numpy(),
        "annual_abatement_t": abatement,
        "eac_eur": eac,
        "cost_per_t": cost_per_t,
        "vulnerable_benefit": sel["vulnerable_benefit"].to_numpy(),
        "programme": np.where(through, rows["programme"].fillna("").to_numpy(dtype=object), ""),
    })
    if "year" in sel:  # with periods: the implementation year
        table.insert(4, "year", sel["year"].to_numpy().astype(int))
    return table


def municipalities_table(result: Result) -> pd.DataFrame:
    """municipalities.csv: per municipality figures (SPEC 6).

    target_met per municipality compares its abatement with its own share of the target
    (reduction * baseline - achieved), whatever the target's scope; blank without a target.
    """
    munis = result.case.municipalities
    v = result.verified.municipalities
    baseline = munis["baseline_emissions_t"]
    target = result.case.settings.target
    met = (v["annual_abatement_t"] + 1e-9 >= v["required_t"]) if target is not None else pd.Series(None, index=munis.index)
    return pd.DataFrame({
        "municipality": munis.index.to_numpy(),
        "investment_eur": v["investment_eur"].to_numpy(),
        "annual_abatement_t": v["annual_abatement_t"].to_numpy(),
        "reduction_share": (v["annual_abatement_t"] / baseline.where(baseline > 0)).to_numpy(),
        "benefit": v["benefit"].to_numpy(),
        "benefit_per_capita": (v["benefit"] / munis["population"]).to_numpy(),
        "vulnerable_benefit_share": (v["vulnerable_benefit"] / v["benefit"].where(v["benefit"] != 0)).to_numpy(),
        "measures": v["measures"].astype(int).to_numpy(),
        "budget_used_share": (v["investment_eur"] / munis["budget_eur"].where(munis["budget_eur"] > 0)).to_numpy(),
        "target_met": met.to_numpy(dtype=object),
    })


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """A temporary folder next to `out`, moved into place only if the block succeeds."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield staging
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula (=, +, -, @ first) prefixed with '."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column].dtype):
            text = safe[column]
            risky = text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
            safe[column] = text.where(~risky, "'" + text.astype(str))
    return safe


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A CSV with deterministic formatting (full float precision, blank for undefined), formula-safe."""
    neutralise(frame).to_csv(path, index=False, float_format="%.12g", lineterminator="\n")


def write_result(result: Result, out: Path, scenario: str | None = None) -> Path:
    """The result folder of SPEC 6, written atomically (scenario as in `summary`)."""
    with atomic_folder(out) as staging:
        (staging / "summary.json").write_text(json.dumps(summary(result, scenario), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        write_csv(portfolio_table(result), staging / "portfolio.csv")
        write_csv(municipalities_table(result), staging / "municipalities.csv")
        write_csv(lorenz_table(result), staging / "lorenz.csv")  # the equity view of every result
        if result.verified.schedule is not None:  # a multi-year plan
            write_csv(result.verified.schedule, staging / "schedule.csv")
            draw_schedule(result.verified.schedule, result.case.name, staging)
        (staging / "settings.yaml").write_text(yaml.safe_dump(settings_dict(result.case.settings), sort_keys=False), encoding="utf-8")
    return Path(out)


def write_infeasible(summary_data: dict, out: Path) -> Path:
    """An infeasible run's folder: summary.json with status infeasible and the explanation only."""
    with atomic_folder(out) as staging:
        (staging / "summary.json").write_text(json.dumps(summary_data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return Path(out)


@dataclass(frozen=True)
class Summary:
    """The headline figures of summary.json (SPEC 6) as typed fields; None where undefined."""

    case: str
    scenario: str
    status: str
    objective_name: str
    objective_sense: str
    objective_value: float | None
    mip_gap: float | None
    dual_bound: float | None
    investment_eur: float | None
    annual_abatement_t: float | None
    reduction_share: float | None
    eac_eur: float | None
    cost_per_t: float | None
    vulnerable_benefit_share: float | None
    gini: float | None
    min_per_capita_ratio: float | None
    target_met: bool | None
    build_seconds: float
    solve_seconds: float
    variables: int
    constraints: int
    maxmin_t: float | None = None


class Solution(Result):
    """A solved, verified case with its figures as typed fields and its tables as DataFrames."""

    @classmethod
    def of(cls, result: Result) -> Solution:
        return cls(**{f.name: getattr(result, f.name) for f in fields(result)})

    @property
    def summary(self) -> Summary:
        data = summary(self)
        objective = data.pop("objective")
        known = {f.name for f in fields(Summary)}
        return Summary(objective_name=objective["name"], objective_sense=objective["sense"],
                       objective_value=objective["value"], **{k: v for k, v in data.items() if k in known})

    @property
    def portfolio_table(self) -> pd.DataFrame:
        """portfolio.csv as a DataFrame."""
        return portfolio_table(self)

    @property
    def municipalities_table(self) -> pd.DataFrame:
        """municipalities.csv as a DataFrame."""
        return municipalities_table(self)

    @property
    def binding_table(self) -> pd.DataFrame:
        """The binding requirements with their shadow prices, one row each."""
        return pd.DataFrame(self.binding, columns=["constraint", "key", "bound", "activity", "shadow_price"])

    def write(self, out: str | Path) -> Path:
        """The result folder, exactly as `measureopt solve` writes it."""
        return write_result(self, Path(out))
