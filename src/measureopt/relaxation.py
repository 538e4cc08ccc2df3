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
import highspy
import pandas as pd

from .case import Case
from .formulation import benefit, gini_cut_coefficients, programme_discount, programme_eligible
from .heuristics import prerequisite_positions, with_prerequisites
from .solver import highs_with

#: measures whose abatement per euro is within this factor of the marginal rate stay free
CORE_BAND = 0.1
#: ... but at most about this many of them (the band narrows at national size)
CORE_MAX_FREE = 20_000
#: with a Gini cap or a population floor, each municipality's best measures per euro also stay ...
CORE_PER_MUNICIPALITY = 5
#: ... and more of them, until they could give it this multiple of the relaxation's benefit per head
CORE_COVER = 1.0
#: golden-section steps for the budget multiplier alone ((0.618)^50 ~ 4e-11 of its range)
LAM_STEPS = 50
#: further Gini cuts, each for the ranking of what attains the bound at the multipliers so far, at
#: most this many, while one lowers the bound by more than CUT_GAIN of it (8,000 x 50 justice,
#: every multiplier searched jointly: 30.51M t/yr with the first cut, then 30.20M, 30.10M, 30.04M,
#: 30.01M, 30.00M and 29.99M, the last gaining less than 0.05 %, in 5 s in all)
EXTRA_CUTS = 8
CUT_GAIN = 5e-4
#: the joint search of the multipliers with Gini cuts (`_box_step_minimum`): its first box
#: (in units of each multiplier), its evaluations at most, and what the model must still promise
BOX_START = 0.5
BOX_STEPS = 60
BOX_TOLERANCE = 1e-6


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
    that of `ranking` (a benefit per municipality) or else of what attains the relaxation
    without the cut, whose benefit the cut cuts off most (8,000 x 50 justice: 30.51M t/yr against
    32.15M without it). Then up to EXTRA_CUTS more cuts, each for the ranking of what attains the
    bound at the multipliers so far and with a multiplier of its own, while each lowers the bound
    by more than CUT_GAIN of it (29.99M there with seven cuts; a cut for the ranking of a
    portfolio that meets the cap did not lower it at all); none is started after `deadline` (a
    `time.perf_counter()` time).

    Every other coupling (targets, cluster and municipal budgets, the rest of the Gini cap, population floors,
    prerequisites, programme admin costs) is dropped, which only loosens a maximisation, and
    programme discounts are granted wherever they could apply. For multipliers lam, mu >= 0,
    L(lam, mu) = lam * total_eur + sum over committed measures of max_u (A_j - lam I_j + mu S_j)
                 + sum over groups and ungrouped measures of max(0, max_j max_u (A_j - lam I_j + mu S_j)),
    with A_j, I_j the abatement and investment of measure j and S_j = (v_j - share) times its
    benefit, the vulnerable-share row's term. A selected measure's value is linear in its units,
    so its best is at min_units or max_units. Any lam, mu, thetas >= 0 give a valid bound; L is
    convex, and piecewise linear with what attains it giving a subgradient. Without a cap it is
    minimised by a golden-section search over lam, after a joint search of lam and mu
    (`_box_step_minimum`) with a vulnerable-share rule; each cut adds theta times its term G_j
    to each value, and lam, mu and every theta are then searched jointly (before: one theta at a
    time, the others kept, in nested golden-section searches: 30.22M t/yr at 8,000 x 50 justice
    with three cuts, in 20 s instead of 5). The multipliers and picks returned are those without
    cuts (the core is chosen by them).
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

    position_group = group_of[order]  # the group of each free measure, in `order`
    least_position = np.full(len(order), -1)
    least_position[flexible_free] = least_of_free

    def lagrangian(lam: float, mu: float, cut: _Cut | None = None, choice: bool = False):
        """L(lam, mu, thetas): each measure at its best number of units, each group at its best
        measure, the Gini cuts' terms times their multipliers, `cut`, added (none without it).
        With `choice`, also what attains it (`_Choice`)."""
        def value(terms: tuple, cut_term: np.ndarray | None) -> np.ndarray:
            values = terms[0] + mu * terms[1] - lam * terms[2]
            return values if cut_term is None else values + cut_term
        free_values = value(at_max, None if cut is None else cut.free)
        least_values = value(at_least, None if cut is None else cut.least)
        least_wins = least_values[least_of_free] > free_values[flexible_free]
        free_values[flexible_free] = np.maximum(free_values[flexible_free], least_values[least_of_free])
        committed_values = value(committed_at_max, None if cut is None else cut.committed)
        fixed_values = np.maximum(committed_values, least_values[committed_in_flexible])
        best = np.maximum.reduceat(free_values, starts) if len(order) else np.zeros(0)
        total = lam * s.budget.total_eur + float(np.sum(fixed_values)) + float(np.sum(np.maximum(best, 0.0)))
        if not choice:
            return total
        top = np.flatnonzero(free_values == best[position_group]) if len(order) else np.zeros(0, np.int64)
        top = top[np.r_[True, position_group[top[1:]] != position_group[top[:-1]]]] if len(top) else top  # first of its group
        top = top[best[position_group[top]] > 0]
        wins = np.zeros(len(order), bool)
        wins[flexible_free] = least_wins
        committed_least = least_values[committed_in_flexible] > committed_values
        return total, _Choice(np.r_[order[top[~wins[top]]], np.flatnonzero(committed)[~committed_least]],
                              np.r_[least_position[top[wins[top]]], committed_in_flexible[committed_least]])

    def best_lam(mu: float) -> float:
        positive = cost > 0
        worth = gain + mu * surplus
        high = float(np.max(worth[positive] / cost[positive], initial=0.0)) if positive.any() else 0.0
        return _golden_minimum(lambda lam: lagrangian(lam, mu), high, LAM_STEPS)

    at_units = ben.y + ben.u * units

    def dual(cuts: list[_Cut]):
        """(lam, mu, theta_1..) -> L there, a subgradient of it, and what attains it."""
        no_cut = _Cut.none(len(mt), order, flexible, committed)

        def evaluate(point: np.ndarray) -> tuple[float, np.ndarray, _Choice]:
            combined = no_cut
            for theta, cut in zip(point[2:], cuts):
                combined = combined.plus(theta, cut)
            total, chosen = lagrangian(point[0], point[1], combined, choice=True)
            at, low = chosen
            slope = [s.budget.total_eur - cost[at].sum() - at_least[2][low].sum(), surplus[at].sum() + at_least[1][low].sum(),
                     *(cut.every[at].sum() + cut.least[low].sum() for cut in cuts)]
            return total, np.array(slope), chosen
        return evaluate

    mu = 0.0
    if share is not None:  # lam and mu searched jointly, then lam once more on its own
        mu = _box_step_minimum(dual([]), np.array([best_lam(0.0), 0.0]), np.zeros(2, bool))[1][1]
    lam = best_lam(mu)
    bound = lagrangian(lam, mu)
    worth = gain + mu * surplus

    profit = worth - lam * cost
    best = np.maximum.reduceat(profit[order], starts) if len(order) else np.zeros(0)
    picked = free & (profit > 0) & (profit >= (best[np.maximum(group_of, 0)] if len(best) else profit))
    if capped:
        municipality, least_benefit = mt["m"].to_numpy(), (ben.y + ben.u * least)[flexible]

        def cut_for(ranking: np.ndarray) -> _Cut:
            per_benefit = -gini_cut_coefficients(case, ranking)[municipality]
            term = per_benefit * at_units
            return _Cut(term, term[order], per_benefit[flexible] * least_benefit, term[committed])

        def chosen_ranking(chosen: _Choice) -> np.ndarray:
            """Benefit per municipality of what attains L: the ranking whose cut it breaks most."""
            n = len(case.municipalities)
            return (np.bincount(municipality[chosen.at_max], at_units[chosen.at_max], n)
                    + np.bincount(municipality[flexible[chosen.at_least]], least_benefit[chosen.at_least], n))

        point = np.array([lam, mu])
        cuts = [cut_for(chosen_ranking(dual([])(point)[2]) if ranking is None else ranking)]
        for added in range(1 + EXTRA_CUTS):
            value, point, chosen = _box_step_minimum(dual(cuts), np.r_[point, 0.0],
                                                     fixed=np.r_[False, share is None, np.zeros(len(cuts), bool)])
            gained, bound = bound - value, min(bound, value)
            if (added and gained <= CUT_GAIN * abs(bound)) or (deadline is not None and time.perf_counter() > deadline):
                break
            cuts.append(cut_for(chosen_ranking(chosen)))
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
    def none(cls, n: int, order: np.ndarray, flexible: np.ndarray, committed: np.ndarray) -> "_Cut":
        """No cut: every term of n measures zero."""
        zero = np.zeros(n)
        return cls(zero, zero[order], zero[flexible], zero[committed])

    def plus(self, theta: float, other: "_Cut") -> "_Cut":
        """This term plus theta times another cut's."""
        return _Cut(*(mine + theta * theirs for mine, theirs in zip(self, other)))


class _Choice(NamedTuple):
    """What attains the Lagrangian: measures taken at max_units (positions in the case), and
    measures taken at min_units (positions among the `flexible` ones)."""

    at_max: np.ndarray
    at_least: np.ndarray


def _box_step_minimum(evaluate, start: np.ndarray, fixed: np.ndarray) -> tuple[float, np.ndarray, object]:
    """The least value found of a convex f over points >= 0 (coordinates where `fixed` kept at
    `start`), the point and what `evaluate` found there (`evaluate(point)` is f, a subgradient
    and that). Kelley's cutting-plane model of f, from every subgradient so far, is minimised in
    a box around the best point (Marsten's box-step method): the box doubles after a step that
    gains most of what the model promised and halves after one that loses; the search stops
    when the model promises less than BOX_TOLERANCE of f, or after BOX_STEPS evaluations.
    Each coordinate is measured in its own unit: its start value, or for one at 0 the change
    that would move f by 10 % at the start's slope."""
    value, slope, found = evaluate(start)
    size = max(abs(value), 1.0)
    unit = np.where(start > 0, start, 0.1 * size / np.where(slope != 0, np.abs(slope), size))
    planes = [(start, value, slope)]  # (point, f there, subgradient there)
    best, best_value, best_found, width = start, value, found, BOX_START
    for _ in range(BOX_STEPS):
        at, values, slopes = (np.array(part) for part in zip(*planes))
        model_slopes = slopes * unit / size  # the planes in box units, f in units of `size`
        model_values = (values + np.einsum("kd,kd->k", slopes, best - at)) / size
        low = np.where(fixed, 0.0, np.maximum(-width, -best / unit))
        high = np.where(fixed, 0.0, width)
        step = _model_minimum(model_slopes, model_values, low, high)
        if step is None:
            break
        move, model_value = step
        promised = best_value / size - model_value
        if promised <= BOX_TOLERANCE:
            break
        point = np.maximum(best + move * unit, 0.0)
        value, slope, found = evaluate(point)
        planes.append((point, value, slope))
        gained = (best_value - value) / size
        if gained >= 0.1 * promised:
            if gained >= 0.75 * promised and np.max(np.abs(move)) >= 0.99 * width:
                width *= 2
            best, best_value, best_found = point, value, found
        elif gained < 0:
            width /= 2
    return best_value, best, best_found


def _model_minimum(slopes: np.ndarray, values: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The z in [low, high] minimising max_k (values_k + slopes_k . z), and that minimum, by
    HiGHS's LP in (z, eta): min eta s.t. slopes_k . z - eta <= -values_k; None if HiGHS fails."""
    planes, dimensions = slopes.shape
    matrix = np.c_[slopes, -np.ones(planes)]
    free = highspy.kHighsInf
    highs = highs_with((np.r_[np.zeros(dimensions), 1.0], np.r_[low, -free], np.r_[high, free], np.full(planes, -free), -values,
                        np.arange(planes + 1) * (dimensions + 1), np.tile(np.arange(dimensions + 1), planes), matrix.ravel(),
                        np.zeros(dimensions + 1, np.int32)))
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    solution = np.array(highs.getSolution().col_value)
    return solution[:-1], float(solution[-1])


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
