"""Starting portfolios for large models: greedy (the cheapest abatement first), the LP relaxation
rounded and re-solved (`rounded`) and RENS around it (`rens`).

Handed to HiGHS as a start (it checks it and completes the auxiliary columns), a start gives large
solves an incumbent from the first second, so a time limit still returns a usable, verified answer.
The greedy portfolio keeps every budget by construction; targets and justice rules are left to
HiGHS (a start that breaks them is simply not used).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .case import Case, required_positions
from .formulation import Formulation, crf
from .solver import SolveResult, SolverSettings, Status, solve

#: how far from an integer an integer column of an LP solution may be and count as integral
INTEGRAL_TOLERANCE = 1e-6


def greedy_portfolio(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """Units and selection per measure: committed measures, then whole measures by cost per
    tonne (levelised cost of abatement for min_net_cost, investment per t/yr otherwise), one per
    group, none that needs a prerequisite, within every budget."""
    mt = case.measures
    units = mt["max_units"].to_numpy(dtype=float)
    cost = mt["fixed_capex_eur"].to_numpy() + mt["capex_eur"].to_numpy() * units
    abatement = mt["co2_reduction_t"].to_numpy() * units
    annual = crf(case.settings.economics.discount_rate, mt["lifetime_years"].to_numpy()) * cost \
        + (mt["opex_eur"] - mt["bill_savings_eur"]).to_numpy() * units
    committed = (mt["status"] == "committed").to_numpy()
    per_tonne = annual if case.settings.objective == "min_net_cost" else cost
    lcoa = np.divide(per_tonne, abatement, out=np.full(len(mt), np.inf), where=abatement > 0)
    candidate = committed | ((mt["status"] == "candidate").to_numpy() & mt["requires"].isna().to_numpy() & (abatement > 0))
    order = pd.DataFrame({"rank": np.where(committed, -np.inf, lcoa), "group": mt["group"], "m": mt["m"],
                          "cost": cost})[candidate].sort_values("rank", kind="stable")
    has_group = order["group"].notna()
    order = order[~has_group | ~order["group"].duplicated()]  # the best of each group
    munis = case.municipalities
    keep = np.ones(len(order), bool)
    caps = munis["budget_eur"].to_numpy()[order["m"].to_numpy()]
    keep &= ~(order.groupby("m")["cost"].cumsum().to_numpy() > np.nan_to_num(caps, nan=np.inf))
    budget = case.settings.budget
    if budget is not None and budget.cluster_eur:
        kept = order[keep]
        cluster = munis["cluster"].to_numpy(dtype=object)[kept["m"].to_numpy()]
        cap = np.array([budget.cluster_eur.get(c, np.inf) for c in cluster])
        spent = kept["cost"].groupby(pd.Series(cluster, index=kept.index)).cumsum().to_numpy()
        keep[np.flatnonzero(keep)[spent > cap]] = False
    if budget is not None and budget.total_eur is not None:
        within = order["cost"][keep].cumsum().to_numpy() <= budget.total_eur
        keep[np.flatnonzero(keep)[~within]] = False
    chosen = np.zeros(len(mt), bool)
    chosen[order.index[keep]] = True
    chosen |= with_prerequisites(mt, committed)
    return np.where(chosen, units, 0.0), chosen


def prerequisite_positions(mt: pd.DataFrame) -> np.ndarray:
    """The position of each measure's prerequisite in a validated measure table (every prerequisite
    is in it), -1 when it has none."""
    positions = np.full(len(mt), -1)
    j, required = required_positions(mt)
    positions[j] = required
    return positions


def with_prerequisites(mt: pd.DataFrame, forced: np.ndarray) -> np.ndarray:
    """`forced` measures and, transitively, the measures they require."""
    required = prerequisite_positions(mt)
    closure = forced.copy()
    frontier = forced & (required >= 0)
    while frontier.any():
        new = np.zeros_like(closure)
        new[required[frontier]] = True
        new &= ~closure
        closure |= new
        frontier = new & (required >= 0)
    return closure


def rens(form: Formulation, x: np.ndarray, options: SolverSettings, objective: np.ndarray | None = None) -> SolveResult:
    """RENS (relaxation enforced neighbourhood search): the MIP with every integer column that is
    integral in the LP solution `x` fixed there. What is left is small enough for HiGHS's presolve
    and search; a solution is one of `form`, a start for its whole MIP."""
    integer = form.integrality
    integral = integer & (np.abs(x - np.round(x)) <= INTEGRAL_TOLERANCE)
    lower, upper = form.col_lower.copy(), form.col_upper.copy()
    lower[integral] = upper[integral] = np.clip(np.round(x[integral]), form.col_lower[integral], form.col_upper[integral])
    return solve(replace(form, col_lower=lower, col_upper=upper), options, objective)


def rounded(form: Formulation, x: np.ndarray, options: SolverSettings, objective: np.ndarray | None = None) -> SolveResult | None:
    """The LP solution `x` made a portfolio of `form` by two re-solves: every measure with units in
    `x` stays selected (a yes/no measure from half a unit; one per group, the most selected; none
    whose prerequisite is not), and the LP sizes them within every row; then integer units are
    rounded down and the continuous columns (and programme memberships, a small MIP) take up what
    that lost. None when either re-solve has no solution (one plan year only).

    Under a Gini cap's ranked rows HiGHS's own search found its first portfolio after 80 s on
    1,000 x 50's core; this one took 3 s there and was 0.7 % below the ranked LP's optimum.
    """
    cols, mt = form.cols, form.case.measures
    if form.case.settings.periods is not None:
        return None
    selection = x[cols.y]
    yes_no = ~cols.own_y
    chosen = np.where(yes_no, selection >= 0.5 - INTEGRAL_TOLERANCE, selection > INTEGRAL_TOLERANCE)
    groups = form.case.links.group
    grouped = np.flatnonzero(chosen & (groups >= 0))
    most = grouped[np.lexsort((-selection[grouped], groups[grouped]))]  # by group, the most selected first
    repeated = np.zeros(len(most), bool)
    repeated[1:] = groups[most][1:] == groups[most][:-1]
    chosen[most[repeated]] = False
    required = prerequisite_positions(mt)
    while True:
        orphan = chosen & (required >= 0) & ~chosen[np.maximum(required, 0)]
        if not orphan.any():
            break
        chosen[orphan] = False
    lower, upper = form.col_lower.copy(), form.col_upper.copy()
    lower[cols.y] = upper[cols.y] = np.clip(chosen.astype(float), form.col_lower[cols.y], form.col_upper[cols.y])
    sized = solve(replace(form, col_lower=lower, col_upper=upper), options, objective, relax=True)
    if sized.status != Status.OPTIMAL:
        return None
    units = cols.u[cols.own_y & form.integrality[cols.u]]
    lower[units] = upper[units] = np.clip(np.floor(sized.x[units] + INTEGRAL_TOLERANCE), lower[units], upper[units])
    left = replace(options, time_limit_s=max(1.0, options.time_limit_s - sized.seconds))
    result = solve(replace(form, col_lower=lower, col_upper=upper), left, objective)
    return replace(result, seconds=result.seconds + sized.seconds) if result.status.has_solution else None
