"""The public Python API; the command line is a thin layer over these functions."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .case import Case, load_case
from .allocation import Allocation, Cooperation, allocate as _allocate, cooperation as _cooperation, players_of, write_allocation
from .coalitions import CoalitionCosts
from .checks import CheckReport, check_results
from .engine import Result, run_case
from .errors import InfeasibleError
from .macc import macc_table, selected_measures, write_macc as _write_macc
from .report import write_report
from .excel import write_results_workbook, write_template
from .alternatives import Alternatives, alternatives as _alternatives, write_alternatives as _write_alternatives
from .results import Solution, write_infeasible, write_result
from .settings import deep_merge, parse_assignment, settings_dict
from .scenarios import Comparison, compare as _compare, write_comparison
from .sweep import Sweep, sweep as _sweep, write_sweep
from .sizing import Sizing, size as _size, write_sizing


def parse_overrides(assignments: Iterable[str]) -> list[dict]:
    """`key.path=value` options as override mappings."""
    return [parse_assignment(a) for a in assignments]


def load(case_dir: str | Path, scenario: str | None = None, models: list[Path] | None = None,
         overrides: list[dict] | dict | None = None) -> Case:
    """A case loaded with its layers (SPEC 2) and validated (SPEC 3.5); raises CaseError."""
    if isinstance(overrides, dict):
        overrides = [overrides]
    return load_case(case_dir, scenario, [Path(m) for m in models or []], overrides or [])


def solve(case: Case, verbose: bool = False) -> Solution:
    """The optimal, verified portfolio; raises InfeasibleError (with an explanation) or SolverError.

    If a HiGHS solve did not stop when cancelled at its time limit, it is left running in its
    thread (`solver.left_running()` counts them): end such a process with
    `solver.exit_if_left_running`, as Python's own shutdown would abort it."""
    try:
        return Solution.of(run_case(case, verbose))
    except InfeasibleError as error:
        error.summary = {"case": case.name, "scenario": case.scenario or "base", "status": "infeasible", "explanation": error.explanation,
                         "settings": settings_dict(case.settings)}
        raise


def write(result: Result, out: str | Path, scenario: str | None = None) -> Path:
    """The result folder of SPEC 6, written atomically."""
    return write_result(result, Path(out), scenario)


def write_infeasible_summary(error: InfeasibleError, out: str | Path, scenario: str | None = None) -> Path:
    """summary.json of an infeasible run (status infeasible, the explanation, no portfolio)."""
    return write_infeasible(deep_merge(error.summary or {}, {"scenario": scenario} if scenario else {}), Path(out))


def check(case_dir: str | Path, results_dir: str | Path) -> CheckReport:
    """A results folder checked against its case: input SHA-256 and version against its provenance,
    portfolio.csv re-verified against the inputs, every written figure recomputed (`.ok`, `.differences`)."""
    return check_results(case_dir, results_dir)


def describe(case: Case) -> str:
    """Size and totals of a case, as `validate` prints them."""
    munis, mt = case.municipalities, case.measures
    clusters = munis["cluster"].nunique()
    cost = float((mt["fixed_capex_eur"] + mt["capex_eur"] * mt["max_units"]).sum())
    potential = float((mt["co2_reduction_t"] * mt["max_units"]).sum())
    baseline = float(munis["baseline_emissions_t"].sum())
    status = mt["status"].value_counts()
    lines = [
        f"case: {case.name} ({case.directory})",
        f"municipalities: {len(munis):,} in {clusters} cluster(s); population {munis['population'].sum():,.0f}",
        f"measures: {len(mt):,} ({status.get('committed', 0)} committed, {status.get('excluded', 0)} excluded); programmes: {len(case.programmes)}",
        f"baseline emissions: {baseline:,.0f} t/yr; achieved: {munis['achieved_t'].sum():,.0f} t/yr",
        f"cost of every candidate unit: EUR {cost:,.0f}; potential abatement {potential:,.0f} t/yr ({potential / baseline:.1%} of baseline)" if baseline else
        f"cost of every candidate unit: EUR {cost:,.0f}; potential abatement {potential:,.0f} t/yr",
        f"scenarios: {', '.join(case.source.get('scenarios') or {}) or 'none'}",
    ]
    lines += [f"warning: {w}" for w in case.warnings]
    return "\n".join(lines)


def headline(result: Result, out: Path) -> str:
    """The few lines `solve` prints when it is done."""
    v = result.verified
    gap = "" if result.mip_gap is None else f", gap {result.mip_gap:.2e}"
    lines = [
        f"{result.status.value}{gap}: {result.objective_name} = {result.objective_value:,.4f}",
        f"investment EUR {v.investment_eur:,.0f}; abatement {v.annual_abatement_t:,.1f} t/yr; "
        f"{int(v.measures['selected'].sum())} measures selected; target met: {v.target_met}",
        f"results written to {out}",
    ]
    return "\n".join(lines)


def macc(case: Case, results_dir: str | Path | None = None) -> pd.DataFrame:
    """The marginal abatement cost curve of a case's measures (a DataFrame, cheapest first); with a
    results folder, a `selected` column marks its portfolio."""
    return macc_table(case, None if results_dir is None else selected_measures(case, Path(results_dir)))


def write_macc(case: Case, table: pd.DataFrame, out: str | Path) -> Path:
    """macc.csv and macc.svg (the chart) in `out`, written atomically."""
    return _write_macc(table, Path(out), f"Marginal abatement cost curve: {case.name}", case.settings.currency)


def report(results_dir: str | Path, case_dir: str | Path | None = None) -> Path:
    """report.html in a result (or compare/sweep) folder: self-contained, printable; returns its path."""
    return write_report(Path(results_dir), case_dir)


def template(path: str | Path, from_case: str | Path | None = None) -> Path:
    """A documented case workbook (.xlsx) to fill in, or the workbook twin of a case directory."""
    return write_template(Path(path), from_case)


def write_excel(results_dir: str | Path) -> Path:
    """results.xlsx in a result folder: formatted sheets summary, portfolio, municipalities, binding constraints."""
    return write_results_workbook(Path(results_dir))


def alternatives(case: Case, count: int = 3, slack: float = 0.05) -> Alternatives:
    """The optimum and up to `count` portfolios within `slack` of it, as different as possible, each
    verified; `.summary` (one row per portfolio) and `.membership` (must-haves vs real choices)."""
    return _alternatives(case, count, slack)


def write_alternatives(found: Alternatives, out: str | Path) -> Path:
    """alternatives.csv and membership.csv in `out`, written atomically."""
    _write_alternatives(found, Path(out))
    return Path(out)


def size(case: Case, levels: list[float], scope: str | None = None, budgets: list[float] | None = None,
         workers: int | None = None, scheduler: str | None = None, progress: bool = True) -> Sizing:
    """The programme sizing curve: least investment per reduction level (and, with `budgets`, max
    abatement per budget level); levels run in parallel through the runner."""
    return _size(case, levels, scope=scope, budgets=budgets, workers=workers, scheduler=scheduler, progress=progress)


def coalition_costs(case: Case, workers: int | None = None, scheduler: str | None = None,
                    cache: str | Path | None = None, progress: bool = True) -> CoalitionCosts:
    """The coalition cost function c(S) of a case, solved lazily and cached (on disk with `cache`)."""
    return CoalitionCosts(case, cache_dir=None if cache is None else Path(cache), workers=workers, scheduler=scheduler,
                          progress=progress)


def allocate(case: Case, rule: str = "shapley", players: str = "municipalities", by: str = "population",
             samples: int = 200, seed: int | None = None, workers: int | None = None, scheduler: str | None = None,
             cache: str | Path | None = None, progress: bool = True, costs: CoalitionCosts | None = None) -> Allocation:
    """The joint least cost split among municipalities (or clusters) by `rule`; pass `costs` (from
    `coalition_costs`) to share solved coalitions between rules."""
    costs = costs or coalition_costs(case, workers, scheduler, cache, progress)
    return _allocate(case, rule, players=players, by=by, samples=samples, seed=seed, costs=costs)


def cooperation(case: Case, players: str = "municipalities", workers: int | None = None, scheduler: str | None = None,
                cache: str | Path | None = None, progress: bool = True) -> Cooperation:
    """The value of cooperation: the players' stand-alone least costs minus the joint least cost."""
    return _cooperation(coalition_costs(case, workers, scheduler, cache, progress), players_of(case, players))


def compare(case_dir: str | Path, scenarios: Iterable[str] = (), every: bool = False, models: Iterable[Path] = (),
            overrides: Iterable[dict] = (), reference: str | None = None, scheduler: str | None = None,
            workers: int | None = None, progress: bool = True) -> Comparison:
    """Scenarios of a case solved side by side (`every`: the base case and all of case.yaml's), with
    the price of fairness against `reference` (default the first), who gains and loses, and the
    Lorenz curves; in parallel through the runner."""
    return _compare(case_dir, list(scenarios), every, list(models), list(overrides), reference, scheduler, workers, progress)


def sweep(case_dir: str | Path, ranges: Iterable[str], scenario: str | None = None, models: Iterable[Path] = (),
          overrides: Iterable[dict] = (), pareto: tuple[str, str] | str = "annual_abatement_t,vulnerable_benefit_share",
          scheduler: str | None = None, workers: int | None = None, progress: bool = True) -> Sweep:
    """Every KPI at each point of one or two `key.path=start:stop:step` ranges (stop included), the
    Pareto front of two KPIs (`pareto`, "a,b" or a pair) marked; failed points kept with their status."""
    return _sweep(case_dir, list(ranges), scenario, list(models), list(overrides), pareto, scheduler, workers, progress)
