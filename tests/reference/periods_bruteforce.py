"""Brute-force reference for multi-year plans (SPEC 3.1 `periods`, 4.1, 4.3, 4.4).

Independent of ``src/measureopt``: it reuses only the single-period reference (``bruteforce.py``)
for the portfolio of the target year, and enumerates on top of it every implementation year of
every selected measure. The rules, written from the SPEC and the README's decisions:

- every selected measure is implemented in exactly one plan year, not before its
  ``earliest_year`` and not before the year of the measure it ``requires`` (the same year is fine);
- every plan year is <= target_year, so the target year's portfolio is everything selected: the
  target, the justice rules, the total budgets and every objective but max_cumulative_abatement
  are those of the single-period reference on that portfolio;
- the investment of year t is the investment of the measures implemented in t (after programme
  discounts); programme admin costs are paid in the first plan year. Caps: periods.budget_eur[t]
  (total; with periods.carry_over the spending up to t is capped by the budgets up to t instead),
  periods.cluster_budget_eur[c][t] (cluster, with its programmes' admin) and the
  municipalities.csv column budget_eur_<t> (municipality);
- periods.trajectory[tau] is a reduction share: over each scope of target.scope (joint without a
  target), the abatement of the measures implemented in years <= tau must reach
  max(0, share * baseline_S - achieved_S);
- max_cumulative_abatement = sum over plan years tau of the abatement reached by tau.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

from tests.reference import bruteforce as single

MAX_SCHEDULES = 400_000


def _years(case: single.Case) -> list[int]:
    return [int(y) for y in case.setting("periods.years")]


def _measure_extras(case_dir: Path, case: single.Case) -> tuple[dict[str, int | None], dict[tuple[str, int], float]]:
    """earliest_year per measure and the per-year municipal caps {(municipality, year): cap}."""
    tables = {"municipalities": "municipalities.csv", "measures": "measures.csv"}
    tables.update(case.setting("tables", {}) or {})
    earliest: dict[str, int | None] = {}
    with open(case_dir / tables["measures"], newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            text = (row.get("earliest_year") or "").strip()
            earliest[row["measure"].strip()] = int(float(text)) if text else None
    caps: dict[tuple[str, int], float] = {}
    with open(case_dir / tables["municipalities"], newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            for column, text in row.items():
                if column.startswith("budget_eur_") and text and text.strip():
                    caps[(row["municipality"].strip(), int(column[len("budget_eur_"):]))] = float(text)
    return earliest, caps


def _trajectory_scopes(case: single.Case) -> list[tuple[int, list[tuple[list[single.Municipality], float]]]]:
    """[(tau, [(members of S, required R_S(tau))])] for every trajectory entry."""
    out = []
    for tau, share in sorted((case.setting("periods.trajectory", {}) or {}).items()):
        scopes = []
        for members in single.target_scopes(case):
            need = float(share) * sum(m.baseline_t for m in members) - sum(m.achieved_t for m in members)
            scopes.append((members, max(0.0, need)))
        out.append((int(tau), scopes))
    return out


def _schedules(case: single.Case, units: tuple[int, ...], years: list[int], earliest: dict) -> list[tuple]:
    """Every assignment of a plan year to each selected measure, within earliest_year and
    prerequisite order (None for unselected measures)."""
    index = {j.id: i for i, j in enumerate(case.measures)}
    choices = []
    for i, j in enumerate(case.measures):
        if units[i] == 0:
            choices.append([None])
        else:
            choices.append([y for y in years if earliest[j.id] is None or y >= earliest[j.id]])
    out = []
    for assignment in itertools.product(*choices):
        ok = all(j.requires is None or assignment[i] is None or assignment[index[j.requires]] <= assignment[i]
                 for i, j in enumerate(case.measures))
        if ok:
            out.append(assignment)
    return out


def _annual_ok(case: single.Case, pf: single.Portfolio, assignment: tuple, years: list[int], muni_caps: dict) -> bool:
    """Every annual cap: total, cluster and municipality."""
    w = single.through_programme(case, pf)
    total_caps = {int(k): float(v) for k, v in (case.setting("periods.budget_eur", {}) or {}).items()}
    cluster_caps = {str(c): {int(k): float(v) for k, v in by_year.items()}
                    for c, by_year in (case.setting("periods.cluster_budget_eur", {}) or {}).items()}
    carry_over = bool(case.setting("periods.carry_over", False))
    spent_so_far = arrived_so_far = 0.0
    for t in years:
        by_muni = {m: 0.0 for m in case.municipalities}
        for i, j in enumerate(case.measures):
            if assignment[i] == t:
                by_muni[j.municipality] += single.measure_capital(case, pf, w, i)
        admin = single.admin_total(case, pf) if t == years[0] else 0.0
        spent = sum(by_muni.values()) + admin
        if carry_over:  # money arrives year by year; what is not spent stays available
            spent_so_far += spent
            arrived_so_far += total_caps[t]
            if not single.leq(spent_so_far, arrived_so_far):
                return False
        elif t in total_caps and not single.leq(spent, total_caps[t]):
            return False
        for c, by_year in cluster_caps.items():
            if t not in by_year:
                continue
            spent = sum(v for m, v in by_muni.items() if case.municipalities[m].cluster == c)
            if t == years[0]:
                spent += sum(case.programmes[p].admin_cost for p in pf.running if case.programmes[p].cluster == c)
            if not single.leq(spent, by_year[t]):
                return False
        for (m, year), cap in muni_caps.items():
            if year == t and not single.leq(by_muni[m], cap):
                return False
    return True


def _reached(case: single.Case, pf: single.Portfolio, assignment: tuple, tau: int, members) -> float:
    """Abatement of the measures of `members` implemented in years <= tau."""
    ids = {m.id for m in members}
    return sum(j.co2 * pf.units[i] for i, j in enumerate(case.measures)
               if assignment[i] is not None and assignment[i] <= tau and j.municipality in ids)


def solve_case(case_dir: str | Path) -> dict:
    """The optimum over every portfolio and every schedule: {"status", "objective", "units",
    "years" ({measure: year or None})}. Raises ValueError when too large to enumerate."""
    case_dir = Path(case_dir)
    case = single.load_case(case_dir, allow_periods=True)
    years = _years(case)
    earliest, muni_caps = _measure_extras(case_dir, case)
    name = case.setting("objective")
    if name != "max_cumulative_abatement" and name not in single.OBJECTIVE_SENSE:
        raise ValueError(f"objective {name!r} not supported")
    if single.count_portfolios(case) * len(years) ** len(case.measures) > MAX_SCHEDULES * 50:
        raise ValueError("too many schedules for the brute-force reference")
    scopes = None
    if case.setting("target.reduction") is not None:
        scopes = [(members, single.required_reduction(case, members)) for members in single.target_scopes(case)]
    trajectory = _trajectory_scopes(case)

    candidates = []  # (figures, assignment)
    enumerated = 0
    for pf in single.portfolios(case):
        figures = single.evaluate(case, pf)
        if not single.feasible(case, figures, scopes):
            continue
        for assignment in _schedules(case, pf.units, years, earliest):
            enumerated += 1
            if enumerated > MAX_SCHEDULES:
                raise ValueError("too many schedules for the brute-force reference")
            if not _annual_ok(case, pf, assignment, years, muni_caps):
                continue
            if not all(single.leq(need, _reached(case, pf, assignment, tau, members))
                       for tau, per_scope in trajectory for members, need in per_scope):
                continue
            candidates.append((figures, assignment))
    if not candidates:
        return {"status": "infeasible", "objective": None, "units": {}, "years": {}}

    if bool(case.setting("justice.maxmin", False)):
        t_star = max(single.per_capita_min(case, f.municipal_benefit) for f, _ in candidates)
        bound = t_star * (1.0 - float(case.setting("justice.maxmin_tolerance", 0.0)))
        candidates = [(f, a) for f, a in candidates if single.maxmin_ok(case, f, bound)]

    everyone = list(case.municipalities.values())

    def value(item) -> float:
        figures, assignment = item
        if name == "max_cumulative_abatement":
            return math.fsum(_reached(case, figures.portfolio, assignment, tau, everyone) for tau in years)
        return single.objective_value(case, figures)

    sense = "max" if name == "max_cumulative_abatement" else single.OBJECTIVE_SENSE[name]
    best = (max if sense == "max" else min)(candidates, key=value)
    return {
        "status": "optimal",
        "objective": value(best),
        "units": {j.id: best[0].portfolio.units[i] for i, j in enumerate(case.measures)},
        "years": {j.id: best[1][i] for i, j in enumerate(case.measures)},
    }
