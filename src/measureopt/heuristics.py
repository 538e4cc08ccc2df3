"""Starting portfolios for large models: greedy (the cheapest abatement first), the LP relaxation
rounded and re-solved (`rounded`), RENS around it (`rens`), and for a Gini cap at national size,
where no LP is quick, portfolios built from the Lagrangian relaxation's prices (`priced_floors`).

Handed to HiGHS as a start (it checks it and completes the auxiliary columns), a start gives large
solves an incumbent from the first second, so a time limit still returns a usable, verified answer.
The greedy portfolio keeps every budget by construction; targets and justice rules are left to
HiGHS (a start that breaks them is simply not used).
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from .case import Case, required_positions
from .formulation import Formulation, benefit, crf, programme_discount, programme_eligible
from .solver import SolveResult, SolverSettings, Status, solve
from .verify import Portfolio, population_gini

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


def rounded(form: Formulation, x: np.ndarray, options: SolverSettings, objective: np.ndarray | None = None,
            presolve: bool = False) -> SolveResult | None:
    """The LP solution `x` made a portfolio of `form` by two re-solves: every measure with units in
    `x` stays selected (a yes/no measure from half a unit; one per group, the most selected; none
    whose prerequisite is not), and the LP sizes them within every row; then integer units are
    rounded down and the continuous columns (and programme memberships, a small MIP) take up what
    that lost. None when either re-solve has no solution (one plan year only). `presolve` keeps
    HiGHS's presolve on for the first, whatever its size: with the selections fixed it turns their
    rows into bounds, 41 s instead of 87 s on 8,000 x 50's core (at 1,000 x 50 `justice` it did
    not help: 1.3 % in 300 s, against 1.0-1.2 % without it from run to run).

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
    sized = solve(replace(form, col_lower=lower, col_upper=upper), options, objective, relax=True, presolve=presolve)
    if sized.status != Status.OPTIMAL:
        return None
    units = cols.u[cols.own_y & form.integrality[cols.u]]
    lower[units] = upper[units] = np.clip(np.floor(sized.x[units] + INTEGRAL_TOLERANCE), lower[units], upper[units])
    left = options.after(sized.seconds)
    result = solve(replace(form, col_lower=lower, col_upper=upper), left, objective)
    return replace(result, seconds=result.seconds + sized.seconds) if result.status.has_solution else None


#: bisection steps of `priced_floors`: on the budget's price inside a bracket around the last
#: one found (per floor tried), on the floor, and on the vulnerable-share rule's price
PRICE_STEPS = 14
FLOOR_STEPS = 8
SHARE_STEPS = 6
#: once a floor is found, the next searches look within FLOOR_NEAR of it, in NEAR_STEPS steps
FLOOR_NEAR = 1 / 32
NEAR_STEPS = 4


def worth_running(case: Case, units: np.ndarray, selected: np.ndarray, discount: np.ndarray) -> np.ndarray:
    """Per programme, whether it is worth running for a selection (units per measure, `discount`
    d_P(j) where the measure may be bought through its programme, else 0): its eligible selected
    measures come from at least min_members municipalities and the discount on their units
    exceeds its admin cost."""
    programmes = case.programmes
    n = len(programmes)
    j = np.flatnonzero(selected & (discount > 0))
    p = case.links.programme[j]
    member = np.zeros(len(case.municipalities) * n, bool)
    member[case.measures["m"].to_numpy()[j] * n + p] = True
    members = member.reshape(-1, n).sum(axis=0) if n else np.zeros(0)
    saving = np.bincount(p, discount[j] * case.measures["capex_eur"].to_numpy()[j] * units[j], n)
    return (members >= programmes["min_members"].to_numpy()) & (saving > programmes["admin_cost_eur"].to_numpy())


def with_programmes(case: Case, units: np.ndarray, selected: np.ndarray, discount: np.ndarray | None = None) -> Portfolio:
    """The portfolio of a selection with the programmes worth running (`worth_running`; `discount`
    as there, found here when not given): every unit of a selected measure that may be bought
    through a running programme is bought through it, and its municipality takes part."""
    discount = programme_discount(case, programme_eligible(case)) if discount is None else discount
    running = worth_running(case, units, selected, discount)
    programme = case.links.programme
    through = selected & (discount > 0) & np.append(running, False)[programme]  # -1 (no programme): False
    ids = case.programmes.index.to_numpy(dtype=object)
    munis = case.municipalities.index.to_numpy(dtype=object)[case.measures["m"].to_numpy()[through]]
    return Portfolio(units, selected, np.where(through, units, 0.0), frozenset(ids[running]),
                     frozenset(zip(munis, ids[programme[through]])))


def priced_floors(case: Case, vulnerable_multiplier: float, per_head: float, deadline: float | None = None) -> list[Portfolio]:
    """Portfolios meant to meet a Gini cap where no LP is quick (max_abatement with
    budget.total_eur at national size), built from prices alone, the one of most abatement first;
    each keeps the total budget and meets the cap by `verify.population_gini` and the
    vulnerable-share rule, the rest of the rules are for the caller to verify (SPEC 4.5).

    At a floor F per head, a budget price lam and a share price mu, each group (or ungrouped
    measure) gets the measure of highest abatement + mu * surplus over the share - lam *
    investment, if positive, at max_units. Every municipality whose benefit stays below F times
    its population then takes the picks that are best when benefit there is worth rho_m more,
    for the least rho_m that lifts it to the floor (`_lifts`: its linear relaxation's solution,
    the last change in part, whole units where integer). lam is bisected for the least that keeps
    the total budget, F (as a share of `per_head`) for the least that meets the cap (lower floors
    leave more to abatement), and mu, from `vulnerable_multiplier` (the relaxation's) up, for the
    least at which a floor meeting the cap meets the share too: lifts made where benefit is short
    rather than where vulnerable households are lower the share. The search stops at `deadline`
    (a `time.perf_counter()` time) with the portfolios found by then.

    Investment is priced with the programme discounts, and the programmes worth running run
    (`with_programmes`). Committed measures and what they require are in; a measure whose
    prerequisite is a free measure in no group is offered together with it, as one option of its
    group; other measures that require one not in, and groups holding one that is in, are left out.

    8,000 x 50 justice (share 0.3, Gini cap 0.4): 28.70M t/yr in 15 s, where the core's MIP found
    28.77M in 300 s, the LP at that floor is worth 28.96M and the Lagrangian bound is 29.99M.
    Before these three parts the portfolio meeting the share there had 26.0M, below the target
    (28.35M): 26.5M with the discounts, 26.77M with the lifts by rho_m as well (instead of each
    unused group's cheapest addition), and the pairs with prerequisites did the rest (the floored
    LP takes 0.63M t/yr from measures with one, 82 % of it for vulnerable households)."""
    s = case.settings
    mt, links = case.measures, case.links
    most = mt["max_units"].to_numpy(dtype=float)
    integer = mt["integer"].to_numpy(dtype=bool)
    least = np.minimum(most, np.maximum(np.nan_to_num(mt["min_units"].to_numpy(dtype=float)), integer.astype(float)))
    discount = programme_discount(case, programme_eligible(case))
    capex, fixed = mt["capex_eur"].to_numpy(), mt["fixed_capex_eur"].to_numpy()
    admin = case.programmes["admin_cost_eur"].to_numpy()
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
    free = (mt["status"] == "candidate").to_numpy() & ~forced & ~blocked
    ready = (required < 0) | forced[np.maximum(required, 0)]
    # a measure whose prerequisite is free, ready and in no group is offered with it, as one option
    dependent = np.flatnonzero(free & ~ready)
    offered = free[required[dependent]] & ready[required[dependent]] & ~grouped[required[dependent]]
    partner = np.full(len(mt), -1)
    partner[dependent[offered]] = required[dependent[offered]]
    choice = np.where(grouped, links.group, links.group.max(initial=-1) + 1 + np.arange(len(mt)))
    cand = np.flatnonzero(free & (ready | (partner >= 0)))
    cand = cand[np.argsort(choice[cand], kind="stable")]  # group by group, in file order within
    group_of = np.cumsum(np.r_[True, np.diff(choice[cand]) != 0]) - 1 if len(cand) else np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(group_of) != 0]) if len(cand) else np.zeros(0, np.int64)
    muni, group_muni = m[cand], m[cand[starts]]
    alone = (abatement * most, ben.y + ben.u * most, fixed + (1 - discount) * capex * most)
    gain, whole_benefit, cost = (quantity[cand] for quantity in alone)
    surplus = (v[cand] - share) * whole_benefit if share is not None else np.zeros(len(cand))
    bundled = np.flatnonzero(partner[cand] >= 0)
    with_ = partner[cand[bundled]]
    partner_benefit = np.zeros(len(cand))
    partner_benefit[bundled] = alone[1][with_]
    gain[bundled] += alone[0][with_]
    cost[bundled] += alone[2][with_]
    surplus[bundled] += (v[with_] - share) * alone[1][with_] if share is not None else 0.0
    whole_benefit += partner_benefit
    forced_benefit = np.bincount(m, ben.y * forced + ben.u * forced_units, len(population))

    def units_at(mu: float, lam: float, floor: float) -> np.ndarray:
        """Units over `cand` at prices mu and lam: each group's priced pick, and where a
        municipality's benefit stays below the floor, its picks at the least floor price rho_m that
        lifts it there, valuing benefit at rho_m too (`_lifts`), the last change in part."""
        value = gain + mu * surplus - lam * cost
        units = np.zeros(len(cand))
        if not len(cand):
            return units
        best = np.maximum.reduceat(value, starts)
        top = np.flatnonzero((value >= best[group_of]) & (value > 0))
        first = top[np.r_[True, group_of[top][1:] != group_of[top][:-1]]] if len(top) else top
        pick = np.full(len(starts), -1)
        pick[group_of[first]] = first
        deficit = floor * population - forced_benefit - np.bincount(muni[first], whole_benefit[first], len(population))
        partial, partial_benefit = _lifts(value, whole_benefit, group_of, starts, group_muni, pick, deficit)
        chosen = pick[pick >= 0]
        units[chosen] = most[cand[chosen]]
        j = cand[partial]
        per_unit = np.where(ben.u[j] > 0, ben.u[j], 1.0)
        wanted = np.where(ben.u[j] > 0, (partial_benefit - partner_benefit[partial] - ben.y[j]) / per_unit, most[j])
        units[partial] = np.clip(np.where(integer[j], np.ceil(wanted - 1e-9), wanted), least[j], most[j])
        return units

    def completed(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Units and selection of every measure: the committed ones and what they need, and `units` over `cand`."""
        full = forced_units.copy()
        full[cand] = units
        needed = partner[cand[units > 0]]
        needed = needed[needed >= 0]
        full[needed] = most[needed]
        return full, forced | (full > 0)

    def spent(units: np.ndarray) -> float:
        """Investment of a portfolio, with the discounts and admin costs of the programmes worth running."""
        full, selected = completed(units)
        running = worth_running(case, full, selected, discount)
        granted = np.where(np.append(running, False)[links.programme], discount, 0.0)
        return float(np.sum(fixed * selected + (1 - granted) * capex * full) + np.sum(admin[running]))

    def within_budget(mu: float, floor: float, guess: float | None) -> tuple[float, np.ndarray] | None:
        """The least budget price (searched around `guess` when given) whose portfolio keeps the budget."""
        top = float(np.max(np.maximum(gain + mu * surplus, 0.0) / np.maximum(cost, 1e-9), initial=0.0))
        low, high, steps = 0.0, top, 2 * PRICE_STEPS
        if guess is not None:
            low, high, steps = guess / 2, min(2 * guess, top), PRICE_STEPS
            if spent(units_at(mu, low, floor)) <= s.budget.total_eur:
                low, high, steps = 0.0, low, 2 * PRICE_STEPS
            elif spent(units_at(mu, high, floor)) > s.budget.total_eur:
                low, high, steps = high, top, 2 * PRICE_STEPS
        found = None
        for _ in range(steps):
            lam = (low + high) / 2
            units = units_at(mu, lam, floor)
            if spent(units) <= s.budget.total_eur:
                high, found = lam, (lam, units)
            else:
                low = lam
        return found

    last_price = None  # the budget price last found: the next search starts around it
    meeting = []  # every portfolio priced that meets the cap and the share

    def portfolio_at(mu: float, floor: float) -> tuple[float, np.ndarray, np.ndarray, bool, bool] | None:
        """(abatement, units, selection, whether it meets the cap, whether it meets the share) at
        share price mu and a floor (a share of `per_head`); None if the floor costs more than the budget."""
        nonlocal last_price
        if deadline is not None and time.perf_counter() > deadline:
            raise _PastDeadline
        priced = within_budget(mu, floor * per_head, last_price)
        if priced is None:
            return None
        last_price, units = priced
        full, selected = completed(units)
        delivered = ben.y * selected + ben.u * full
        gini = population_gini(np.bincount(m, delivered, len(population)), population)
        point = (float(np.sum(abatement * full)), full, selected, gini is None or gini <= s.justice.gini_max,
                 share is None or np.sum(v * delivered) >= share * np.sum(delivered))
        if point[3] and point[4]:
            meeting.append(point)
        return point

    def floors(mu: float, low: float, high: float, steps: int) -> tuple[bool, float, bool]:
        """Whether some floor in [low, high] meets the cap at share price mu, and the least that
        does (bisected; high if none does), and whether one of those meets the share too."""
        capped = shared = False
        for _ in range(steps):
            floor = (low + high) / 2
            point = portfolio_at(mu, floor)
            if point is not None and not point[3]:
                low = floor
                continue
            high = floor
            if point is not None:
                capped, shared = True, shared or point[4]
        return capped, high, shared

    def near(mu: float, floor: float) -> tuple[bool, float, bool]:
        """`floors` within FLOOR_NEAR of a floor (all of [0, 1] if none there meets the cap)."""
        found = floors(mu, max(0.0, floor - FLOOR_NEAR), min(1.0, floor + FLOOR_NEAR), NEAR_STEPS)
        return found if found[0] else floors(mu, 0.0, 1.0, FLOOR_STEPS)

    def search() -> None:
        """The floor at the relaxation's share price, then, if no floor meeting the cap meets the
        share, the least share price at which one does: doubled, then bisected."""
        capped, floor, shared = floors(vulnerable_multiplier, 0.0, 1.0, FLOOR_STEPS)
        if share is None or not capped or shared:
            return
        low, high = vulnerable_multiplier, 2 * vulnerable_multiplier + 1.0
        for _ in range(SHARE_STEPS):
            _, floor, shared = near(high, floor)
            if shared:
                break
            low, high = high, 2 * high
        for _ in range(SHARE_STEPS if shared else 0):
            mu = (low + high) / 2
            _, at, shared = near(mu, floor)
            low, high, floor = (low, mu, at) if shared else (mu, high, floor)

    try:
        search()
    except _PastDeadline:
        pass
    meeting.sort(key=lambda point: -point[0])
    return [with_programmes(case, full, selected, discount) for _, full, selected, _, _ in meeting]


class _PastDeadline(Exception):
    """`priced_floors` ran out of time: it returns what it has found."""


def _lifts(value: np.ndarray, worth: np.ndarray, group_of: np.ndarray, starts: np.ndarray, group_muni: np.ndarray,
           pick: np.ndarray, deficit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The picks of every municipality short of its floor (deficit > 0) moved, in place in `pick`
    (per group, a position in `value` or -1), to the best at value + rho_m * worth for the least
    rho_m >= 0 at which its groups' worth covers the deficit (or all it can give): the solution of
    its linear relaxation, each group stepping along the upper envelope of its lines value_j +
    rho * worth_j. Returns the last move of each municipality made in part: the measures
    (positions) and the worth they must give."""
    short = np.flatnonzero(deficit[group_muni] > 0)  # groups of short municipalities
    if not len(short):
        return short, np.zeros(0)
    member = np.flatnonzero(np.isin(group_of, short))  # their measures, group by group
    local = np.searchsorted(short, group_of[member])
    line_value, line_worth = value[member], worth[member]
    current = pick[short].copy()
    held = current >= 0
    cur_value = np.where(held, value[np.maximum(current, 0)], 0.0)
    cur_worth = np.where(held, worth[np.maximum(current, 0)], 0.0)
    moves = []  # (group in short, rho, from, to), step by step along the envelopes
    while True:
        higher = line_worth > cur_worth[local]  # only lines of more worth can come next
        member, local, line_value, line_worth = member[higher], local[higher], line_value[higher], line_worth[higher]
        if not len(member):
            break
        cross = (cur_value[local] - line_value) / (line_worth - cur_worth[local])
        bounds = np.flatnonzero(np.r_[True, local[1:] != local[:-1]])
        lengths = np.diff(np.r_[bounds, len(local)])
        at_least = cross <= np.repeat(np.minimum.reduceat(cross, bounds), lengths)
        most_worth = np.maximum.reduceat(np.where(at_least, line_worth, -np.inf), bounds)
        best = np.flatnonzero(at_least & (line_worth >= np.repeat(most_worth, lengths)))
        best = best[np.r_[True, local[best][1:] != local[best][:-1]]]  # one per group: its next line
        groups = local[best]
        moves.append((groups, np.maximum(cross[best], 0.0), current[groups], member[best]))
        current[groups], cur_value[groups], cur_worth[groups] = member[best], line_value[best], line_worth[best]
    if not moves:
        return np.zeros(0, np.int64), np.zeros(0)
    group, rho, before, after = (np.concatenate(parts) for parts in zip(*moves))
    gained = worth[after] - np.where(before >= 0, worth[np.maximum(before, 0)], 0.0)
    owner = group_muni[short[group]]
    order = np.lexsort((rho, owner))  # stable: a group's moves stay in their order
    group, before, after, gained, owner = group[order], before[order], after[order], gained[order], owner[order]
    reach = np.cumsum(gained)
    first = np.flatnonzero(np.r_[True, np.diff(owner) != 0])
    lengths = np.diff(np.r_[first, len(owner)])
    covered = reach - gained - np.repeat(reach[first] - gained[first], lengths)  # worth gained before each move
    need = deficit[owner]
    made = covered < need
    group, before, after, gained, owner, covered, need = (a[made] for a in (group, before, after, gained, owner, covered, need))
    by_group = np.argsort(group, kind="stable")
    final = by_group[np.r_[group[by_group][1:] != group[by_group][:-1], True]] if len(group) else by_group
    pick[short[group[final]]] = after[final]
    ends = np.r_[owner[1:] != owner[:-1], True] if len(owner) else np.zeros(0, bool)
    partial = np.flatnonzero(ends & (covered + gained > need))
    start_worth = np.where(before[partial] >= 0, worth[np.maximum(before[partial], 0)], 0.0)
    return after[partial], start_worth + need[partial] - covered[partial]
