"""The Lagrangian relaxation of the total budget, for max_abatement at national size.

It gives two things the plain MIP cannot give in minutes at 8,000+ municipalities (SCALE-NOTES):
a certified upper bound on the optimum, computed in seconds, and the *core* of the problem:
the measures whose abatement per euro is near the budget's marginal rate. Measures far above it
are taken for sure, measures far below it are left out, and HiGHS solves the much smaller core.
The core's portfolio is a feasible portfolio of the whole case (it is verified as such), and the
bound certifies how far from the optimum it can be at most.

With a vulnerable-share rule, that row is relaxed too, with its own multiplier, so that measures
are valued by abatement plus the rule's price on their vulnerable benefit: the core then holds
the measures the rule needs, not only the cheapest abatement.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from .case import Case
from .formulation import benefit, gini_cut_coefficients, programme_discount, programme_eligible
from .heuristics import prerequisite_positions, with_prerequisites

#: measures whose abatement per euro is within this factor of the marginal rate stay free
CORE_BAND = 0.1
#: ... but at most about this many of them (the band narrows at national size)
CORE_MAX_FREE = 20_000
#: with a Gini cap or a population floor, each municipality's best measures per euro also stay ...
CORE_PER_MUNICIPALITY = 5
#: ... and more of them, until they could give it this multiple of the relaxation's benefit per head
CORE_COVER = 1.0
#: golden-section steps for the vulnerable-share multiplier and the Gini cut's ((0.618)^30 ~ 5e-7 of its range)
VULNERABLE_STEPS = 30
#: ... each with a coarser search of the budget multiplier ((0.618)^25 ~ 6e-6 of its range)
LAM_STEPS_PER_MU = 25
#: golden-section steps for the budget multiplier at the end ((0.618)^50 ~ 4e-11 of its range)
LAM_STEPS = 50
#: further Gini cuts, each for the ranking of the picks at the last multipliers, at most this many,
#: while one lowers the bound by more than CUT_GAIN of it (8,000 x 50 justice: 30.56M t/yr with
#: the first cut, 30.30M with a second, 30.22M with a third, then 0.1 % a cut)
EXTRA_CUTS = 2
CUT_GAIN = 5e-3


@dataclass(frozen=True)
class BudgetRelaxation:
    """The relaxation's optimum: bound >= the case's optimum; multiplier = t/yr per EUR at the margin.

    `worth` is what the relaxation values a measure at: its abatement plus `vulnerable_multiplier`
    (t/yr per unit of benefit) times its surplus over the vulnerable-share rule, both at max_units.
    """

    bound: float
    multiplier: float
    worth: np.ndarray  # abatement (+ priced vulnerable surplus) of each measure at max_units, t/yr
    cost: np.ndarray  # its investment at max_units, programme discounts granted, EUR
    group_best: np.ndarray  # whether the measure is the relaxation's pick in its group at the multipliers
    vulnerable_multiplier: float = 0.0


def _choice_keys(measures: pd.DataFrame) -> pd.Series:
    """What each measure competes within: its group, or itself when it has none."""
    group = measures["group"].to_numpy(dtype=object)
    return pd.Series(np.where(pd.isna(group), measures["measure"].to_numpy(dtype=object), group))


def relax_budget(case: Case, ranking: np.ndarray | None = None, deadline: float | None = None) -> BudgetRelaxation | None:
    """The Lagrangian relaxation of budget.total_eur, and of justice.vulnerable_share_min when
    set (None unless max_abatement with a total budget, one period and no maxmin). With a Gini
    cap, the cap's cut for one ranking of the municipalities (`formulation.gini_cut`:
    sum_m (W_below(m) - W_above(m) - gini_max) B_m <= 0, met by every portfolio that meets the cap)
    is relaxed too, with multiplier theta, and the bound is the lower of the two; the ranking is
    that of `ranking` (a benefit per municipality) or else of the relaxation's own picks, whose
    benefit the cut cuts off most (8,000 x 50 justice: 30.56M t/yr against 32.15M without it).
    Then up to EXTRA_CUTS more cuts, each for the ranking of the picks at the multipliers so far
    and with a multiplier of its own, while each lowers the bound by more than CUT_GAIN of it
    (30.30M and 30.22M there; a cut for the ranking of a portfolio that meets the cap did not
    lower it at all); none is started after `deadline` (a `time.perf_counter()` time).

    Every other coupling (targets, cluster and municipal budgets, the rest of the Gini cap, population floors,
    prerequisites, programme admin costs) is dropped, which only loosens a maximisation, and
    programme discounts are granted wherever they could apply. For multipliers lam, mu >= 0,
    L(lam, mu) = lam * total_eur + sum over committed measures of max_u (A_j - lam I_j + mu S_j)
                 + sum over groups and ungrouped measures of max(0, max_j max_u (A_j - lam I_j + mu S_j)),
    with A_j, I_j the abatement and investment of measure j and S_j = (v_j - share) times its
    benefit, the vulnerable-share row's term. A selected measure's value is linear in its units,
    so its best is at min_units or max_units. Any lam, mu give a valid bound; L is convex and is
    minimised by a golden-section search over lam inside one over mu; the cut adds
    theta times its term G_j to each value, theta found the same way with mu kept.
    """
    s = case.settings
    if (s.objective != "max_abatement" or s.budget is None or s.budget.total_eur is None or s.justice.maxmin
            or s.periods is not None):
        return None
    mt = case.measures
    units = mt["max_units"].to_numpy(dtype=float)
    least = np.nan_to_num(mt["min_units"].to_numpy(dtype=float))
    discount = programme_discount(case, programme_eligible(case))
    fixed, capex = mt["fixed_capex_eur"].to_numpy(), (1 - discount) * mt["capex_eur"].to_numpy()
    a = mt["co2_reduction_t"].to_numpy()
    share = s.justice.vulnerable_share_min
    ben = benefit(case)
    per_unit = (mt["v"].to_numpy() - share) * ben.u if share is not None else np.zeros(len(mt))
    per_pick = (mt["v"].to_numpy() - share) * ben.y if share is not None else np.zeros(len(mt))
    cost, gain, surplus = fixed + capex * units, a * units, per_pick + per_unit * units
    cost_least, gain_least, surplus_least = fixed + capex * least, a * least, per_pick + per_unit * least
    status = mt["status"].to_numpy()
    committed, free = status == "committed", status == "candidate"
    codes, _ = pd.factorize(_choice_keys(mt))
    codes = np.where(free, codes, -1)
    order = np.flatnonzero(free)[np.argsort(codes[free], kind="stable")]  # free measures, group by group
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0]) if len(order) else np.zeros(0, np.int64)
    group_of = np.full(len(mt), -1)
    group_of[order] = np.cumsum(np.r_[True, np.diff(codes[order]) != 0]) - 1 if len(order) else 0
    # valued at min_units as well: where that can be worth more than max_units or than nothing
    capped = s.justice.gini_max is not None  # a benefit per pick can then be worth more than its units
    flexible = np.flatnonzero(committed | (least > 0) | (per_pick > 0) | (fixed < 0) | (capped & (ben.y != 0)))
    at_max = (gain[order], surplus[order], cost[order])
    at_least = (gain_least[flexible], surplus_least[flexible], cost_least[flexible])
    flexible_free = np.flatnonzero(np.isin(order, flexible))
    least_of_free = np.searchsorted(flexible, order[flexible_free])
    committed_at_max = (gain[committed], surplus[committed], cost[committed])
    committed_in_flexible = np.searchsorted(flexible, np.flatnonzero(committed))

    def lagrangian(lam: float, mu: float, cut: _Cut | None = None) -> float:
        """L(lam, mu, thetas): each measure at its best number of units, each group at its best
        measure, the Gini cuts' terms times their multipliers, `cut`, added (none without it)."""
        def value(terms: tuple, cut_term: np.ndarray | None) -> np.ndarray:
            values = terms[0] + mu * terms[1] - lam * terms[2]
            return values if cut_term is None else values + cut_term
        free_values = value(at_max, None if cut is None else cut.free)
        least_values = value(at_least, None if cut is None else cut.least)
        free_values[flexible_free] = np.maximum(free_values[flexible_free], least_values[least_of_free])
        fixed_values = np.maximum(value(committed_at_max, None if cut is None else cut.committed),
                                  least_values[committed_in_flexible])
        best = np.maximum.reduceat(free_values, starts) if len(order) else np.zeros(0)
        return lam * s.budget.total_eur + float(np.sum(fixed_values)) + float(np.sum(np.maximum(best, 0.0)))

    def best_lam(mu: float, steps: int = LAM_STEPS, cut: _Cut | None = None) -> float:
        positive = cost > 0
        worth = gain + mu * surplus + (0.0 if cut is None else cut.every)
        high = float(np.max(worth[positive] / cost[positive], initial=0.0)) if positive.any() else 0.0
        return _golden_minimum(lambda lam: lagrangian(lam, mu, cut), high, steps)

    mu = 0.0 if share is None else _multiplier(lambda mu: lagrangian(best_lam(mu, LAM_STEPS_PER_MU), mu), gain, surplus)
    lam = best_lam(mu)
    bound = lagrangian(lam, mu)
    worth = gain + mu * surplus

    def picks(lam: float, every: np.ndarray | float = 0.0) -> np.ndarray:
        """Each group's measure of highest value at max_units at these multipliers, if positive."""
        profit = worth + every - lam * cost
        best = np.maximum.reduceat(profit[order], starts) if len(order) else np.zeros(0)
        return free & (profit > 0) & (profit >= (best[np.maximum(group_of, 0)] if len(best) else profit))

    picked = picks(lam)
    if capped:  # the cut for the ranking given, or for that of the picks: the one their benefit breaks most
        at_units = ben.y + ben.u * units

        def cut_for(ranking: np.ndarray) -> _Cut:
            per_benefit = -gini_cut_coefficients(case, ranking)[mt["m"].to_numpy()]
            term = per_benefit * at_units
            return _Cut(term, term[order], (per_benefit * (ben.y + ben.u * least))[flexible], term[committed])

        def picks_ranking(chosen: np.ndarray) -> np.ndarray:
            return np.bincount(mt["m"].to_numpy(), np.where(chosen | committed, at_units, 0.0), len(case.municipalities))

        def tightest(cuts: _Cut, new: _Cut) -> _Cut:
            """cuts + theta new (every term), theta minimising L with the budget multiplier re-found."""
            theta = _multiplier(lambda theta: lagrangian(best_lam(mu, LAM_STEPS_PER_MU, cuts.plus(theta, new)), mu,
                                                         cuts.plus(theta, new)), gain, new.every)
            return cuts.plus(theta, new)

        def relaxed(cuts: _Cut) -> float:
            return lagrangian(best_lam(mu, cut=cuts), mu, cuts)

        cuts = tightest(_Cut.none(at_units, order, flexible, committed), cut_for(picks_ranking(picked) if ranking is None else ranking))
        bound = min(bound, relaxed(cuts))
        for _ in range(EXTRA_CUTS):  # the next cut for the ranking of the picks at the multipliers so far
            if deadline is not None and time.perf_counter() > deadline:
                break
            cuts = tightest(cuts, cut_for(picks_ranking(picks(best_lam(mu, cut=cuts), cuts.every))))
            tighter = relaxed(cuts)
            gained, bound = bound - tighter, min(bound, tighter)
            if gained <= CUT_GAIN * abs(bound):
                break
    return BudgetRelaxation(bound, lam, worth, cost, picked, mu)


class _Cut(NamedTuple):
    """The Gini cut's term G_j of each measure at max_units (`every`), and as `lagrangian` reads it:
    free measures group by group, measures valued at min_units, committed measures. Cuts with
    their multipliers add up to one such term (`plus`)."""

    every: np.ndarray
    free: np.ndarray
    least: np.ndarray
    committed: np.ndarray

    @classmethod
    def none(cls, at_units: np.ndarray, order: np.ndarray, flexible: np.ndarray, committed: np.ndarray) -> "_Cut":
        """No cut: every term zero."""
        zero = np.zeros(len(at_units))
        return cls(zero, zero[order], zero[flexible], zero[committed])

    def plus(self, theta: float, other: "_Cut") -> "_Cut":
        """This term plus theta times another cut's."""
        return _Cut(*(mine + theta * theirs for mine, theirs in zip(self, other)))


def _multiplier(dual, gain: np.ndarray, surplus: np.ndarray) -> float:
    """The multiplier >= 0 minimising the convex dual(multiplier) of a relaxed row whose term is
    `surplus` (the vulnerable-share rule's, the Gini cut's), by golden section over [0, the largest
    ratio of abatement to a deficit] (beyond it the row outweighs abatement for every measure)."""
    deficit = surplus < 0
    high = float(np.max(gain[deficit] / -surplus[deficit], initial=0.0))
    return _golden_minimum(dual, high, VULNERABLE_STEPS) if high > 0 else 0.0


def _golden_minimum(f, high: float, steps: int) -> float:
    """The x in [0, high] minimising a convex f, by `steps` steps of golden-section search (the
    interval shrinks by 0.618 per evaluation of f); 0 and both ends are candidates too."""
    ratio = (np.sqrt(5) - 1) / 2
    low = 0.0
    x, y = high - ratio * high, ratio * high
    fx, fy = f(x), f(y)
    for _ in range(steps):
        if fx <= fy:
            high, y, fy = y, x, fx
            x = high - ratio * (high - low)
            fx = f(x)
        else:
            low, x, fx = x, y, fy
            y = low + ratio * (high - low)
            fy = f(y)
    return min((low, high, 0.0, x, y), key=f)


def core_case(case: Case, relaxation: BudgetRelaxation, band: float = CORE_BAND) -> tuple[Case, np.ndarray]:
    """The case restricted to its core, and the positions of the core's measures in the case.

    The core of a multiple-choice knapsack: each measure is compared with its group's pick in the
    relaxation (or with nothing, when the group has no pick or the measure has no group) by its
    *incremental* worth per euro, (W_j - W_pick) / (I_j - I_pick). A measure stays free when
    that rate is within the band around the marginal rate: a pick that is nearly not worth its
    cost, a dearer alternative nearly worth the upgrade, a cheaper one nearly worth the saving.
    The band narrows so that at most about CORE_MAX_FREE candidates are free. A pick with no free
    rival in its group is taken for sure (made committed) once its prerequisite, if any, is
    committed or sure, and if taking it cannot break a justice rule (`_safe_to_commit`); other
    picks stay free, every other candidate is left out. With a Gini cap or a population floor,
    each municipality's best candidates per euro stay free as well (`_municipal_cover`), so that
    no municipality is left without the means to its share. Committed measures and the
    prerequisites of kept measures always stay.
    """
    mt = case.measures
    status = mt["status"].to_numpy()
    candidate = status == "candidate"
    lam = relaxation.multiplier
    codes, _ = pd.factorize(_choice_keys(mt))
    pick_of_group = np.full(codes.max() + 1 if len(codes) else 0, -1)
    pick_of_group[codes[relaxation.group_best]] = np.flatnonzero(relaxation.group_best)
    pick = pick_of_group[codes]
    has_pick = (pick >= 0) & (pick != np.arange(len(mt)))
    worth, cost = relaxation.worth, relaxation.cost
    extra_worth = worth - np.where(has_pick, worth[np.maximum(pick, 0)], 0.0)
    extra_cost = cost - np.where(has_pick, cost[np.maximum(pick, 0)], 0.0)
    rate = np.divide(extra_worth, extra_cost, out=np.where(extra_worth >= 0, np.inf, -np.inf), where=extra_cost != 0)
    distance = np.abs(rate / lam - 1) if lam > 0 else np.where(extra_worth > 0, 0.0, np.inf)
    in_band = np.sort(distance[candidate])
    if len(in_band) > CORE_MAX_FREE:
        band = min(band, float(in_band[CORE_MAX_FREE]))
    free = candidate & (distance <= band)
    justice = case.settings.justice
    if justice.gini_max is not None or justice.population_floor is not None:
        free |= candidate & _municipal_cover(case, relaxation, candidate, codes)
    rivals = np.bincount(codes[free], minlength=len(pick_of_group))[codes] - free
    settled = relaxation.group_best & ~free & (rivals == 0) & _safe_to_commit(case)
    sure = _sure(mt, settled, status == "committed")
    keep = with_prerequisites(mt, (status == "committed") | relaxation.group_best | free)
    positions = np.flatnonzero(keep)
    measures = mt.iloc[positions].copy()
    measures.loc[sure[positions], "status"] = "committed"
    return replace(case, measures=measures.reset_index(drop=True)), positions


def _safe_to_commit(case: Case) -> np.ndarray:
    """Whether taking each measure for sure can only help every justice rule: always, unless a
    rule is not monotone in it. More benefit anywhere can break a Gini cap or another
    municipality's population floor, and a measure whose vulnerable share is below
    vulnerable_share_min lowers the portfolio's share."""
    justice = case.settings.justice
    if justice.gini_max is not None or justice.population_floor is not None:
        return np.zeros(len(case.measures), bool)
    if justice.vulnerable_share_min is not None:
        return case.measures["v"].to_numpy() >= justice.vulnerable_share_min
    return np.ones(len(case.measures), bool)


def picks_benefit_per_head(case: Case, relaxation: BudgetRelaxation) -> float:
    """Benefit per head of the relaxation's picks and the committed measures, at max_units."""
    mt = case.measures
    ben = benefit(case)
    taken = relaxation.group_best | (mt["status"].to_numpy() == "committed")
    most = ben.y + ben.u * mt["max_units"].to_numpy(dtype=float)
    return float(np.sum(most[taken])) / max(float(case.municipalities["population"].sum()), 1e-12)


def _municipal_cover(case: Case, relaxation: BudgetRelaxation, candidate: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """Each municipality's candidates with the highest worth per euro: its CORE_PER_MUNICIPALITY
    best, and further ones until those before could give it CORE_COVER times the benefit per head
    of the relaxation's picks (at max_units, one measure per group counted). With the 5 best alone,
    most municipalities of 1,000 x 50 generated could give 0.03-0.2 t/yr per head at most (the
    whole case: 3.8-9), and the core could not meet a Gini cap of 0.4."""
    mt = case.measures
    worth, cost = relaxation.worth, relaxation.cost
    ben = benefit(case)
    most = ben.y + ben.u * mt["max_units"].to_numpy(dtype=float)
    population = case.municipalities["population"].to_numpy(dtype=float)
    per_head = picks_benefit_per_head(case, relaxation)
    rate = np.divide(worth, cost, out=np.where(worth > 0, np.inf, 0.0), where=cost > 0)
    ranked = pd.DataFrame({"m": mt["m"].to_numpy(), "rate": rate, "choice": choices})[candidate & (worth > 0)]
    ranked = ranked.sort_values("rate", ascending=False, kind="stable")
    ranked["counted"] = np.where(ranked.duplicated(["m", "choice"]).to_numpy(), 0.0, most[ranked.index.to_numpy()])
    by_municipality = ranked.groupby("m", sort=False)
    before = by_municipality["counted"].cumsum().to_numpy() - ranked["counted"].to_numpy()
    level = CORE_COVER * per_head * population[ranked["m"].to_numpy()]
    keep = (by_municipality.cumcount().to_numpy() < CORE_PER_MUNICIPALITY) | (before < level)
    chosen = np.zeros(len(mt), bool)
    chosen[ranked.index.to_numpy()[keep]] = True
    return chosen


def _sure(mt: pd.DataFrame, settled_alone: np.ndarray, committed: np.ndarray) -> np.ndarray:
    """The measures of `settled_alone` whose chain of prerequisites is committed or sure too."""
    required = prerequisite_positions(mt)
    sure = settled_alone & (required < 0)
    while True:
        grown = sure | (settled_alone & (required >= 0) & (committed | sure)[required])
        if (grown == sure).all():
            return sure
        sure = grown
