"""`sweep`: a trade-off curve over one or two numeric settings, with the Pareto front of two KPIs.

Points are the product of the ranges (the first range outermost), each solved as `solve` would
solve the case with that point's `--set` overrides, as tasks of the parallel runner. Re-use: a
worker reads and validates the case's tables once and keeps them; each point only layers its
settings again (the tables of a case cannot depend on a numeric setting). Points run in chains
of CHAIN_POINTS consecutive points on one HiGHS model, each from the previous portfolio
(`solve_chain`). A point that fails is a row with its status (infeasible, time_limit, ...) and
the sweep goes on.
"""
from __future__ import annotations

import functools
import itertools
import json
import re
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from .case import Case, load_case
from .engine import run_case
from .charts import pyplot, save
from .errors import CaseError, Problem
from .results import atomic_folder, write_csv
from .runner import attempt, run_tasks
from .scenarios import KPI_COLUMNS, Setup, kpis, typed
from .settings import deep_merge, layer, parse_assignment
from .solver import Reuse

#: At most this many points in one sweep.
MAX_POINTS = 10_000
#: KPIs where less is better, for the Pareto front; every other KPI is better when larger.
LOWER_IS_BETTER = {"investment_eur", "eac_eur", "cost_per_t", "gini", "max_per_capita_ratio",
                   "population_without_benefit_share", "mip_gap"}
DEFAULT_PARETO = ("annual_abatement_t", "vulnerable_benefit_share")
#: Consecutive points solved by one worker, each from the one before (warm start, model reused);
#: fixed, so that the chains, hence the results, do not depend on the number of workers.
CHAIN_POINTS = 5


@dataclass(frozen=True)
class Range:
    """One swept setting: its key path and its values, stop included when the steps reach it."""

    key: str
    values: tuple


@dataclass(frozen=True)
class Sweep:
    """sweep.csv as a table (one row per finished point), the ranges and the Pareto KPIs."""

    table: pd.DataFrame
    ranges: tuple[Range, ...]
    pareto: tuple[str, str]
    objective: str
    cancelled: int = 0


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_range(text: str) -> Range:
    """`key.path=start:stop:step` as a Range; decimal arithmetic, so 0:0.8:0.1 gives exactly
    0, 0.1, ..., 0.8. Values are whole numbers when start and step are written as whole numbers."""
    key, sep, spec = text.partition("=")
    parts = spec.split(":")
    def bad(message: str) -> CaseError:
        return CaseError([Problem("--range", None, key.strip() or "-", message, text)])
    if not sep or not key.strip() or len(parts) != 3 or not all(_NUMBER.match(p.strip()) for p in parts):
        raise bad("expected key.path=start:stop:step with three numbers, e.g. justice.vulnerable_share_min=0:0.8:0.1")
    try:
        start, stop, step = (Decimal(p.strip()) for p in parts)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only numbers
        raise bad("not a number") from None
    if step == 0 or (stop - start) * step < 0:
        raise bad("the step must be non-zero and go from start towards stop")
    count = int((stop - start) / step) + 1
    if count > MAX_POINTS:
        raise bad(f"{count:,} values; at most {MAX_POINTS:,} per sweep")
    whole = all(re.fullmatch(r"[+-]?\d+", p.strip()) for p in parts)
    values = tuple(int(start + i * step) if whole else float(start + i * step) for i in range(count))
    return Range(key.strip(), values)


def points(ranges: tuple[Range, ...]) -> list[tuple]:
    """Every combination of the ranges' values, the first range outermost."""
    return list(itertools.product(*(r.values for r in ranges)))


def point_overrides(ranges: tuple[Range, ...], values: tuple) -> dict:
    """A point's settings as one override mapping (read as `--set key.path=value` would be)."""
    merged: dict = {}
    for r, value in zip(ranges, values):
        merged = deep_merge(merged, parse_assignment(f"{r.key}={value!r}"))
    return merged


def _tables(setup: Setup) -> Case:
    """The case of a setup, read and validated once per process (the re-use between points)."""
    return _cached_case(json.dumps(asdict(setup), sort_keys=True))


@functools.lru_cache(maxsize=4)
def _cached_case(setup_json: str) -> Case:
    data = json.loads(setup_json)
    return Setup(data["case_dir"], data["scenario"], tuple(data["models"]), tuple(data["overrides"])).load()


def point_case(setup: Setup, overrides: dict) -> Case:
    """The setup's case with a point's overrides layered on top; the tables are not read again."""
    base = _tables(setup)
    presets = [Path(m) for m in setup.models]
    return replace(base, settings=layer(base.source, presets, setup.scenario, [*setup.overrides, overrides]))


def solve_chain(tasks: list[tuple[Setup, dict]]) -> list[tuple]:
    """Solve a chain of consecutive points (runner tasks: (the sweep's setup, the point's
    overrides)) in order, each from the previous solved point's portfolio and HiGHS model
    (`engine.run_case`'s start and reuse); the runner's attempt at each point, KPIs when done."""
    reuse, previous, attempts = Reuse(), None, []
    for setup, overrides in tasks:
        status, result, error = attempt(lambda o: run_case(point_case(setup, o), start=previous, reuse=reuse), overrides)
        if status == "done":
            previous = result.portfolio
        attempts.append((status, None if result is None else kpis(result), error))
    return attempts


def sweep(case_dir: str | Path, ranges: list[str] | list[Range], scenario: str | None = None, models: list[Path] = (),
          overrides: list[dict] = (), pareto: tuple[str, str] | str = DEFAULT_PARETO, scheduler: str | None = None,
          workers: int | None = None, progress: bool = True, chain: int = CHAIN_POINTS) -> Sweep:
    """Solve the case at every point of one or two ranges (in parallel), in chains of `chain`
    points (`solve_chain`). Bad ranges or settings raise CaseError before anything is solved; a
    failed point is a row with its status."""
    parsed = tuple(r if isinstance(r, Range) else parse_range(r) for r in ranges)
    pareto = tuple(k.strip() for k in pareto.split(",")) if isinstance(pareto, str) else tuple(pareto)
    problems = []
    if len(pareto) != 2:
        problems.append(Problem("--pareto", None, "pareto", "give two KPIs, e.g. annual_abatement_t,vulnerable_benefit_share", ",".join(pareto)))
    if not 1 <= len(parsed) <= 2:
        problems.append(Problem("--range", None, "range", "give one or two ranges", len(parsed)))
    if len({r.key for r in parsed}) != len(parsed):
        problems.append(Problem("--range", None, "range", "the same setting is swept twice"))
    for kpi in pareto:
        if kpi not in KPI_COLUMNS[4:]:
            problems.append(Problem("--pareto", None, "pareto", f"unknown KPI; one of {', '.join(KPI_COLUMNS[4:])}", kpi))
    if problems:
        raise CaseError(problems)
    setup = Setup(str(Path(case_dir).resolve()), scenario, tuple(str(Path(m).resolve()) for m in models),
                  tuple(json.loads(json.dumps(o)) for o in overrides))
    grid = points(parsed)
    first = load_case(setup.case_dir, scenario, [Path(m) for m in setup.models], [*setup.overrides, point_overrides(parsed, grid[0])])
    tasks = [(index, (setup, point_overrides(parsed, values))) for index, values in enumerate(grid)]
    for _, (_, point) in tasks:  # every point's settings valid before any is solved
        layer(first.source, [Path(m) for m in setup.models], scenario, [*setup.overrides, point])
    outcomes = run_tasks(solve_chain, tasks, scheduler=scheduler, workers=workers, progress=progress, label="points",
                         chain=chain)
    rows = []
    for outcome in outcomes:
        if outcome.status == "cancelled":
            continue
        row = {"point": outcome.key, **dict(zip((r.key for r in parsed), grid[outcome.key]))}
        row.update(outcome.value if outcome.status == "done" else {c: None for c in KPI_COLUMNS})
        if outcome.status == "failed":
            row["status"] = outcome.error.split(":", 1)[0]
        row["error"] = outcome.error or ""
        rows.append(row)
    table = typed(pd.DataFrame(rows, columns=["point", *(r.key for r in parsed), *KPI_COLUMNS, "error"]))
    table["pareto"] = pareto_front(table, pareto)
    return Sweep(table, parsed, tuple(pareto), first.settings.objective, sum(o.status == "cancelled" for o in outcomes))


def pareto_front(table: pd.DataFrame, kpis: tuple[str, str]) -> np.ndarray:
    """True for the solved points that no other solved point dominates on the two KPIs (at least
    as good on both, better on one; `LOWER_IS_BETTER` says the direction of each)."""
    if table.empty:
        return np.zeros(0, dtype=bool)
    signs = np.array([-1.0 if k in LOWER_IS_BETTER else 1.0 for k in kpis])
    values = table[list(kpis)].to_numpy(dtype=float) * signs  # larger is better on both
    solved = table["status"].isin(["optimal", "time_limit"]).to_numpy() & np.isfinite(values).all(axis=1)
    front = np.zeros(len(table), dtype=bool)
    candidates = np.flatnonzero(solved)
    # sort by the first KPI (best first), then the second: a point is on the front when its second
    # KPI beats every point before it
    order = candidates[np.lexsort((-values[candidates, 1], -values[candidates, 0]))]
    best_second = -np.inf
    previous = None
    for i in order:
        if values[i, 1] > best_second or (previous is not None and (values[i] == values[previous]).all() and front[previous]):
            front[i] = True
            best_second = max(best_second, values[i, 1])
            previous = i
    return front


def write_sweep(result: Sweep, out: str | Path) -> Path:
    """sweep.csv and the trade-off chart (sweep.png, sweep.svg), atomically."""
    with atomic_folder(Path(out)) as staging:
        write_csv(result.table, staging / "sweep.csv")
        tradeoff_chart(result, staging / "sweep")
    return Path(out)


def tradeoff_chart(result: Sweep, stem: Path) -> None:
    """Left: the objective against the first swept setting (one line per value of the second),
    infeasible or failed points as red crosses on the axis. Right: the two Pareto KPIs of every
    solved point, the front joined."""
    plt = pyplot()
    table = result.table
    solved = table["status"].isin(["optimal", "time_limit"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.6))
    first = result.ranges[0].key
    groups = table.groupby(result.ranges[1].key, sort=False) if len(result.ranges) == 2 else [(None, table)]
    for value, group in groups:
        ok = group[solved[group.index]]
        label = "objective" if value is None else f"{result.ranges[1].key} = {value:g}"
        left.plot(ok[first], ok["objective_value"].astype(float), marker="o", markersize=3, linewidth=1.2, label=label)
    failed = table[~solved]
    if len(failed):
        left.scatter(failed[first], np.full(len(failed), 0.03), transform=left.get_xaxis_transform(), marker="x", color="red",
                     zorder=3, label=f"infeasible / failed ({len(failed)})")
    low, high = float(table[first].min()), float(table[first].max())
    pad = 0.04 * (high - low) or 0.5
    left.set_xlim(low - pad, high + pad)  # failed points too, which do not count in autoscaling
    left.set_xlabel(first)
    left.set_ylabel(f"{result.objective} (objective)")
    left.legend(fontsize=7, frameon=False)
    x_kpi, y_kpi = result.pareto
    ok = table[solved]
    right.scatter(ok[x_kpi].astype(float), ok[y_kpi].astype(float), s=12, color="0.6", label="solved points")
    front = ok[ok["pareto"]].sort_values([x_kpi, y_kpi])
    right.plot(front[x_kpi].astype(float), front[y_kpi].astype(float), marker="o", markersize=4, color="C3", label="Pareto front")
    right.set_xlabel(x_kpi)
    right.set_ylabel(y_kpi)
    right.set_title(f"{len(failed)} infeasible or failed point(s) not shown" if len(failed) else "")
    right.legend(fontsize=7, frameon=False)
    save(fig, stem)


def sweep_headline(result: Sweep, out: Path) -> str:
    """What `sweep` prints: how many points solved, failed and were cancelled, and the best one."""
    table = result.table
    solved = table[table["status"].isin(["optimal", "time_limit"])]
    lines = [f"{len(solved)} of {len(table) + result.cancelled} point(s) solved, {len(table) - len(solved)} infeasible or failed"
             + (f", {result.cancelled} cancelled" if result.cancelled else "")]
    if len(solved):
        sense = solved["sense"].iloc[0]
        best = solved.loc[solved["objective_value"].astype(float).idxmax() if sense == "max" else solved["objective_value"].astype(float).idxmin()]
        at = ", ".join(f"{r.key} = {best[r.key]:g}" for r in result.ranges)
        lines.append(f"best {result.objective}: {best['objective_value']:,.4f} at {at}; "
                     f"{int(table['pareto'].sum())} point(s) on the Pareto front of {' vs '.join(result.pareto)}")
    lines.append(f"results written to {out}")
    return "\n".join(lines)
