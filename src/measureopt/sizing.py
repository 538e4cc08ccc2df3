"""The programme sizing curve (SPEC 5 `size`): least investment per reduction level, and its inverse.

For each reduction level the case is solved with `target.reduction` set to that level (scope as
given), objective `min_investment` and every other rule kept (budgets, justice rules, programmes).
A level no portfolio reaches is marked unreachable. The highest reachable level is found exactly by
one MIP that maximises the level itself (target rows A_s >= level * baseline_s - achieved_s).
The marginal cost between two reachable levels is the extra investment per extra tonne per year of
required reduction: (I_k - I_k-1) / (R_k - R_k-1), in EUR per t/yr.

The inverse curve (`budgets`) maximises annual abatement with `budget.total_eur` set to each budget
level and no target, every other rule kept.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .case import Case
from .charts import pyplot, save
from .coalitions import with_target
from .engine import run_case, solver_settings
from .errors import CaseError, InfeasibleError, Problem, SolverError
from .formulation import build, required_reduction, target_scopes
from .results import atomic_folder, portfolio_table, write_csv
from .runner import run_tasks
from .solver import Status, solve

LEVEL_DIGITS = 10


def parse_levels(text: str, what: str = "--levels") -> list[float]:
    """`start:stop:step` (stop included) or a comma list, as sorted distinct numbers."""
    try:
        if ":" in text:
            start, stop, step = (float(part) for part in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            values = [start + k * step for k in range(count)]
        else:
            values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CaseError([Problem(what, None, what, "expected start:stop:step (step > 0, stop >= start) or a comma list", text)]) from None
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise CaseError([Problem(what, None, what, "values must be finite and >= 0", text)])
    return sorted({round(v, LEVEL_DIGITS) for v in values})


@dataclass(frozen=True)
class Point:
    """One solved point of a curve: status and the verified figures behind it."""

    status: str  # optimal | time_limit | unreachable
    investment_eur: float = math.nan
    annual_abatement_t: float = math.nan
    municipalities: pd.DataFrame | None = None  # investment_eur, annual_abatement_t per municipality
    clusters: dict | None = None  # cluster -> investment incl. its programmes' admin
    portfolio: pd.DataFrame | None = None


def solve_point(case: Case) -> Point:
    """The case solved as it is: its verified figures, or `unreachable` when infeasible."""
    try:
        result = run_case(case)
    except InfeasibleError:
        return Point("unreachable")
    v = result.verified
    return Point(result.status.value, v.investment_eur, v.annual_abatement_t,
                 v.municipalities[["investment_eur", "annual_abatement_t"]].copy(), dict(v.cluster_investment),
                 portfolio_table(result))


def required_t(case: Case) -> float:
    """Total required reduction R over the target's scopes (tCO2/yr) of a case with a target."""
    codes, names = target_scopes(case)
    return float(required_reduction(case, codes, len(names)).sum())


def highest_level(case: Case, scope: str) -> float | None:
    """The highest reduction level any portfolio reaches under every other rule (None if not even 0).

    One MIP: maximise l subject to A_s - l * baseline_s >= -achieved_s for every scope s.
    With Gini cutting planes (gini_max above 60 municipalities) the cuts are not added here, so the
    value is an upper bound; the levels themselves are always solved with every rule.
    """
    level_case = with_target(case, 0.0, scope, objective="max_abatement")
    form = build(level_case)
    codes, names = target_scopes(level_case)
    munis = level_case.municipalities
    keep = codes >= 0
    baseline = np.bincount(codes[keep], munis["baseline_emissions_t"].to_numpy()[keep], len(names))
    achieved = np.bincount(codes[keep], munis["achieved_t"].to_numpy()[keep], len(names))
    rows = np.flatnonzero(form.row_family == f"target_{scope}")
    column = sp.csr_matrix((-baseline, (rows, np.zeros(len(rows), int))), shape=(form.shape[0], 1))
    lower = form.row_lower.copy()
    lower[rows] = -achieved
    extended = replace(form, matrix=sp.hstack([form.matrix, column], format="csr"), col_lower=np.r_[form.col_lower, 0.0],
                       col_upper=np.r_[form.col_upper, 1.0], integrality=np.r_[form.integrality, False], row_lower=lower,
                       objective=np.r_[np.zeros(form.shape[1]), 1.0], sense=-1)
    result = solve(extended, solver_settings(case))
    if result.status == Status.INFEASIBLE:
        return None
    if not result.status.has_solution:
        raise SolverError(f"HiGHS found no highest reachable level ({result.highs_status})")
    return float(result.x[-1])


def _run(tasks: list, label: str, workers: int | None, scheduler: str | None, progress: bool) -> list[Point]:
    outcomes = run_tasks(solve_point, tasks, scheduler=scheduler, workers=workers, progress=progress, label=label)
    if any(o.status == "cancelled" for o in outcomes):
        raise KeyboardInterrupt
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        raise SolverError(f"{len(failed)} point(s) failed, e.g. {failed[0].key}: {failed[0].error}")
    return [o.value for o in outcomes]


@dataclass
class Sizing:
    """The sizing curve (one row per level), shares per cluster and municipality, the portfolios,
    the highest reachable level, and the inverse (budget) curve when asked for."""

    curve: pd.DataFrame
    shares: pd.DataFrame
    portfolios: pd.DataFrame
    highest_level: float | None
    scope: str
    target_level: float | None
    budget_curve: pd.DataFrame | None = None


def size(case: Case, levels: list[float], *, scope: str | None = None, budgets: list[float] | None = None,
         workers: int | None = None, scheduler: str | None = None, progress: bool = True) -> Sizing:
    """The programme sizing curve of a case over `levels` (shares of baseline emissions)."""
    scope = scope or (case.settings.target.scope if case.settings.target is not None else "joint")
    if scope not in ("joint", "cluster", "each"):
        raise CaseError([Problem("--scope", None, "scope", "must be joint, cluster or each", scope)])
    if scope == "cluster" and case.municipalities["cluster"].isna().any():
        raise CaseError([Problem("--scope", None, "scope", "every municipality needs a cluster under scope cluster")])
    if any(level > 1 for level in levels):
        raise CaseError([Problem("--levels", None, "levels", "reduction levels are shares of baseline emissions, at most 1")])
    target_level = case.settings.target.reduction if case.settings.target is not None else None
    grid = sorted(set(levels) | ({round(target_level, LEVEL_DIGITS)} if target_level is not None else set()))
    cases = [with_target(case, level, scope, objective="min_investment") for level in grid]
    points = _run([(level, c) for level, c in zip(grid, cases)], "levels", workers, scheduler, progress)
    highest = highest_level(case, scope)
    curve, shares, portfolios = _tables(case, grid, cases, points, target_level)
    budget_curve = None
    if budgets:
        budget_cases = [replace(c, settings=c.settings.model_copy(update={"target": None})) for c in
                        (with_target(case, 0.0, scope, objective="max_abatement", total_eur=b) for b in budgets)]
        budget_points = _run([(b, c) for b, c in zip(budgets, budget_cases)], "budgets", workers, scheduler, progress)
        budget_curve = _budget_table(case, budgets, budget_points)
    return Sizing(curve, shares, portfolios, highest, scope, target_level, budget_curve)


def _tables(case: Case, grid: list[float], cases: list[Case], points: list[Point], target_level: float | None):
    """sizing.csv rows (with the marginal cost between reachable levels), shares and portfolios."""
    baseline = float(case.municipalities["baseline_emissions_t"].sum())
    achieved = float(case.municipalities["achieved_t"].sum())
    rows, shares, portfolios = [], [], []
    previous = None
    for level, level_case, point in zip(grid, cases, points):
        required = required_t(level_case)
        reachable = point.status != "unreachable"
        marginal = None
        if reachable and previous is not None and required > previous[1] + 1e-9:
            marginal = (point.investment_eur - previous[0]) / (required - previous[1])
        if reachable:
            previous = (point.investment_eur, required)
        rows.append({
            "level": level, "required_t": required, "status": point.status, "reachable": reachable,
            "investment_eur": point.investment_eur if reachable else None,
            "annual_abatement_t": point.annual_abatement_t if reachable else None,
            "reduction_share": point.annual_abatement_t / baseline if reachable and baseline else None,
            "reduction_with_achieved": (point.annual_abatement_t + achieved) / baseline if reachable and baseline else None,
            "marginal_eur_per_t": marginal,
            "case_target": target_level is not None and level == round(target_level, LEVEL_DIGITS),
        })
        if not reachable:
            continue
        total = point.investment_eur
        for cluster, invest in sorted(point.clusters.items()):
            shares.append({"level": level, "kind": "cluster", "id": cluster, "investment_eur": invest,
                           "share_of_investment": invest / total if total else None, "annual_abatement_t": None})
        for muni, row in point.municipalities.iterrows():
            shares.append({"level": level, "kind": "municipality", "id": muni, "investment_eur": row["investment_eur"],
                           "share_of_investment": row["investment_eur"] / total if total else None,
                           "annual_abatement_t": row["annual_abatement_t"]})
        portfolios.append(point.portfolio.assign(level=level)[["level", *point.portfolio.columns]])
    return pd.DataFrame(rows), pd.DataFrame(shares), (pd.concat(portfolios, ignore_index=True) if portfolios else pd.DataFrame())


def _budget_table(case: Case, budgets: list[float], points: list[Point]) -> pd.DataFrame:
    """The inverse curve: max abatement per budget level."""
    baseline = float(case.municipalities["baseline_emissions_t"].sum())
    return pd.DataFrame([{
        "budget_eur": b, "status": p.status,
        "annual_abatement_t": p.annual_abatement_t if p.status != "unreachable" else None,
        "reduction_share": p.annual_abatement_t / baseline if p.status != "unreachable" and baseline else None,
        "investment_eur": p.investment_eur if p.status != "unreachable" else None,
    } for b, p in zip(budgets, points)])


def sizing_chart(sizing: Sizing, stem: Path, currency: str = "EUR") -> None:
    """Investment vs reduction level (unreachable levels marked, the case's target highlighted) and
    the marginal cost between levels, as PNG and SVG."""
    plt = pyplot()
    curve = sizing.curve
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    ok = curve[curve["reachable"]]
    top.plot(ok["level"] * 100, ok["investment_eur"] / 1e6, "o-", color="tab:blue", label="least investment")
    if sizing.highest_level is not None:
        top.axvline(sizing.highest_level * 100, color="tab:red", linestyle=":", label=f"highest reachable {sizing.highest_level:.1%}")
    unreachable = curve[~curve["reachable"]]
    if len(unreachable):
        top.plot(unreachable["level"] * 100, np.zeros(len(unreachable)), "x", color="tab:red", markersize=9, label="unreachable")
        top.axvspan(float(unreachable["level"].min()) * 100, float(curve["level"].max()) * 100, color="tab:red", alpha=0.06)
    target = ok[ok["case_target"]]
    if len(target):
        x, y = float(target["level"].iloc[0]) * 100, float(target["investment_eur"].iloc[0]) / 1e6
        top.plot([x], [y], "*", color="tab:orange", markersize=16, label="the case's target")
        top.annotate(f"{currency} {y:,.1f} M for {x:.0f} %", (x, y), textcoords="offset points", xytext=(-12, -4), ha="right", va="top")
    top.set_ylabel(f"investment, M {currency}")
    top.set_title(f"Programme sizing curve ({sizing.scope} target)")
    top.legend(loc="upper left")
    marginal = ok.dropna(subset=["marginal_eur_per_t"])
    if len(marginal):
        widths = np.diff(ok["level"].to_numpy() * 100)
        bottom.bar(marginal["level"] * 100, marginal["marginal_eur_per_t"], width=-0.9 * float(widths.min()), align="edge", color="tab:green")
    bottom.set_ylabel(f"marginal {currency} per t/yr")
    bottom.set_xlabel("reduction level, % of baseline emissions")
    save(fig, stem)


def budget_chart(table: pd.DataFrame, stem: Path, currency: str = "EUR") -> None:
    """The inverse curve: max abatement per budget level, as PNG and SVG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    ok = table[table["status"] != "unreachable"]
    ax.plot(ok["budget_eur"] / 1e6, ok["annual_abatement_t"], "o-", color="tab:blue")
    ax.set_xlabel(f"total budget, M {currency}")
    ax.set_ylabel("max annual abatement, tCO2/yr")
    ax.set_title("Abatement per budget level")
    save(fig, stem)


def write_sizing(sizing: Sizing, out: str | Path, currency: str = "EUR") -> Path:
    """sizing.csv, sizing_shares.csv, sizing_portfolios.csv, sizing.json and the charts, atomically
    (budget_curve.csv and its chart with budgets)."""
    with atomic_folder(Path(out)) as staging:
        write_csv(sizing.curve, staging / "sizing.csv")
        write_csv(sizing.shares, staging / "sizing_shares.csv")
        write_csv(sizing.portfolios, staging / "sizing_portfolios.csv")
        (staging / "sizing.json").write_text(json.dumps(sizing_summary(sizing), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        sizing_chart(sizing, staging / "sizing", currency)
        if sizing.budget_curve is not None:
            write_csv(sizing.budget_curve, staging / "budget_curve.csv")
            budget_chart(sizing.budget_curve, staging / "budget_curve", currency)
    return Path(out)


def sizing_summary(sizing: Sizing) -> dict:
    """The headline of a sizing run: scope, highest reachable level, the case's target and its cost."""
    curve = sizing.curve
    target = curve[curve["case_target"] & curve["reachable"]]
    return {
        "scope": sizing.scope,
        "highest_reachable_level": sizing.highest_level,
        "case_target_level": sizing.target_level,
        "case_target_investment_eur": float(target["investment_eur"].iloc[0]) if len(target) else None,
        "levels": len(curve), "unreachable_levels": [float(v) for v in curve.loc[~curve["reachable"], "level"]],
    }


def sizing_headline(sizing: Sizing, out: str | Path) -> str:
    """The lines `size` prints: reachable levels, the highest one, the case's target and its cost."""
    s = sizing_summary(sizing)
    reachable = int(sizing.curve["reachable"].sum())
    highest = "none (not even 0 %)" if s["highest_reachable_level"] is None else f"{s['highest_reachable_level']:.2%}"
    lines = [f"{reachable} of {s['levels']} levels reachable ({sizing.scope} target); highest reachable level {highest}"]
    if s["case_target_level"] is not None:
        cost = s["case_target_investment_eur"]
        lines.append(f"the case's target {s['case_target_level']:.0%}: " + ("unreachable" if cost is None else f"least investment EUR {cost:,.0f}"))
    lines.append(f"sizing.csv and the chart written to {out}")
    return "\n".join(lines)
