"""Starting portfolios for large models: greedy (the cheapest abatement first), the LP relaxation
rounded and re-solved (`rounded`), RENS around it (`rens`), and for a Gini cap at national size,
where no LP is quick, portfolios built from the Lagrangian relaxation's prices (`priced_floors`).

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
from .formulation import Formulation, benefit, crf
from .solver import SolveResult, SolverSettings, Status, solve
from .verify import population_gini

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


#: bisection steps of `priced_floors` on the budget's price (per floor tried) and on the floor
PRICE_STEPS = 30
FLOOR_STEPS = 8


def priced_floors(case: Case, vulnerable_multiplier: float, per_head: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Portfolios (units, selection per measure) meant to meet a Gini cap where no LP is quick
    (max_abatement with budget.total_eur at national size), built from prices alone, the one of
    most abatement first; each meets the cap by `verify.population_gini` and the vulnerable-share
    rule, the rest of the rules are for the caller to verify (SPEC 4.5).

    At a floor F per head and a budget price lam, each group (or ungrouped measure) gets the
    measure of highest abatement + vulnerable_multiplier * surplus - lam * investment, if positive,
    at max_units; every municipality whose benefit stays below F times its population is lifted
    by its other measures (groups not yet used) of least priced loss per unit of benefit, the last
    in part (whole units where integer). lam is bisected for the least that keeps the total budget,
    F (as a share of `per_head`) for the least that meets the cap: lower floors leave more to
    abatement. Committed measures and what they require are in; measures that require another
    one not in, and groups holding one that is in, are left out; programme discounts are not
    used. On 8,000 x 50 with a Gini cap of 0.4 alone: 31.63M t/yr at Gini 0.397 in 41 s
    (Lagrangian bound 34.52M)."""
    s = case.settings
    mt, links = case.measures, case.links
    most = mt["max_units"].to_numpy(dtype=float)
    integer = mt["integer"].to_numpy(dtype=bool)
    least = np.minimum(most, np.maximum(np.nan_to_num(mt["min_units"].to_numpy(dtype=float)), integer.astype(float)))
    capex, fixed = mt["capex_eur"].to_numpy(), mt["fixed_capex_eur"].to_numpy()
    abatement = mt["co2_reduction_t"].to_numpy()
    ben = benefit(case)
    share = s.justice.vulnerable_share_min
    v = mt["v"].to_numpy()
    m = mt["m"].to_numpy()
    population = case.municipalities["population"].to_numpy(dtype=float)
    forced = with_prerequisites(mt, links.committed)
    forced_units = np.where(links.committed, most, np.where(forced, least, 0.0))
    grouped = links.group >= 0
    blocked = grouped & np.isin(links.group, links.group[forced & grouped])
    required = links.requires
    open_ = ((mt["status"] == "candidate").to_numpy() & ~forced & ~blocked
             & ((required < 0) | forced[np.maximum(required, 0)]))
    choice = np.where(grouped, links.group, links.group.max(initial=-1) + 1 + np.arange(len(mt)))
    cand = np.flatnonzero(open_)
    cand = cand[np.argsort(choice[cand], kind="stable")]  # group by group, in file order within
    group_of = np.cumsum(np.r_[True, np.diff(choice[cand]) != 0]) - 1 if len(cand) else np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(group_of) != 0]) if len(cand) else np.zeros(0, np.int64)
    muni = m[cand]
    gain, whole_benefit = abatement[cand] * most[cand], ben.y[cand] + ben.u[cand] * most[cand]
    price = gain + vulnerable_multiplier * ((v[cand] - share) * whole_benefit if share is not None else 0.0)
    cost = fixed[cand] + capex[cand] * most[cand]
    forced_benefit = np.bincount(m, ben.y * forced + ben.u * forced_units, len(population))
    forced_cost = float(np.sum(fixed * forced + capex * forced_units))

    def units_at(lam: float, floor: float) -> np.ndarray:
        """Units over `cand`: each group's priced pick, then lifts where a municipality is below the floor."""
        value = price - lam * cost
        units = np.zeros(len(cand))
        if not len(cand):
            return units
        best = np.maximum.reduceat(value, starts)
        top = np.flatnonzero((value >= best[group_of]) & (value > 0))
        picks = top[np.r_[True, group_of[top][1:] != group_of[top][:-1]]] if len(top) else top
        units[picks] = most[cand[picks]]
        used = np.zeros(len(starts), bool)
        used[group_of[picks]] = True
        deficit = floor * population - forced_benefit - np.bincount(muni[picks], whole_benefit[picks], len(population))
        lift = np.flatnonzero(~used[group_of] & (deficit[muni] > 0) & (whole_benefit > 0))
        loss = np.maximum(-value[lift], 0.0) / whole_benefit[lift]
        lift = lift[np.lexsort((loss, group_of[lift]))]
        lift = lift[np.r_[True, group_of[lift][1:] != group_of[lift][:-1]]] if len(lift) else lift  # one per group
        lift = lift[np.lexsort((np.maximum(-value[lift], 0.0) / whole_benefit[lift], muni[lift]))]
        reach = np.cumsum(whole_benefit[lift])
        first = np.flatnonzero(np.r_[True, np.diff(muni[lift]) != 0]) if len(lift) else np.zeros(0, np.int64)
        before = reach - whole_benefit[lift] - np.repeat(reach[first] - whole_benefit[lift][first], np.diff(np.r_[first, len(lift)]))
        need = deficit[muni[lift]]
        j = cand[lift]
        per_unit = np.where(ben.u[j] > 0, ben.u[j], 1.0)
        wanted = np.where(ben.u[j] > 0, (need - before - ben.y[j]) / per_unit, most[j])
        wanted = np.clip(np.where(integer[j], np.ceil(wanted - 1e-9), wanted), least[j], most[j])
        taken = before < need
        units[lift[taken]] = np.where(before + whole_benefit[lift] <= need, most[j], wanted)[taken]
        return units

    def spent(units: np.ndarray) -> float:
        return forced_cost + float(np.sum(fixed[cand] * (units > 0) + capex[cand] * units))

    def within_budget(floor: float) -> np.ndarray | None:
        low, high = 0.0, float(np.max(np.maximum(price, 0.0) / np.maximum(cost, 1e-9), initial=0.0))
        found = None
        for _ in range(PRICE_STEPS):
            lam = (low + high) / 2
            units = units_at(lam, floor)
            if spent(units) <= s.budget.total_eur:
                high, found = lam, units
            else:
                low = lam
        return found

    found, low, high = [], 0.0, 1.0
    for _ in range(FLOOR_STEPS):
        floor = (low + high) / 2
        units = within_budget(floor * per_head)
        if units is None:  # the floor costs more than the budget
            high = floor
            continue
        full = forced_units.copy()
        full[cand] = units
        selected = forced | (full > 0)
        delivered = ben.y * selected + ben.u * full
        gini = population_gini(np.bincount(m, delivered, len(population)), population)
        if gini is not None and gini > s.justice.gini_max:
            low = floor
            continue
        high = floor
        if share is None or np.sum(v * delivered) >= share * np.sum(delivered):
            found.append((float(np.sum(abatement * full)), full, selected))
    found.sort(key=lambda point: -point[0])
    return [(units, selected) for _, units, selected in found]
