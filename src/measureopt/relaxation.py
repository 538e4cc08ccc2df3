"""The Lagrangian relaxation of the total budget, for max_abatement at national size.

It gives two things the plain MIP cannot give in minutes at 8,000+ municipalities (SCALE-NOTES):
a certified upper bound on the optimum, computed in milliseconds, and the *core* of the problem:
the measures whose abatement per euro is near the budget's marginal rate. Measures far above it
are taken for sure, measures far below it are left out, and HiGHS solves the much smaller core.
The core's portfolio is a feasible portfolio of the whole case (it is verified as such), and the
bound certifies how far from the optimum it can be at most.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .case import Case
from .formulation import programme_discount, programme_eligible
from .heuristics import prerequisite_positions, with_prerequisites

#: measures whose abatement per euro is within this factor of the marginal rate stay free
CORE_BAND = 0.1
#: ... but at most about this many of them (the band narrows at national size)
CORE_MAX_FREE = 20_000


@dataclass(frozen=True)
class BudgetRelaxation:
    """The relaxation's optimum: bound >= the case's optimum; multiplier = t/yr per EUR at the margin."""

    bound: float
    multiplier: float
    gain: np.ndarray  # abatement of each measure at max_units, t/yr
    cost: np.ndarray  # its investment at max_units, programme discounts granted, EUR
    group_best: np.ndarray  # whether the measure is the relaxation's pick in its group at the multiplier


def _choice_keys(measures: pd.DataFrame) -> pd.Series:
    """What each measure competes within: its group, or itself when it has none."""
    group = measures["group"].to_numpy(dtype=object)
    return pd.Series(np.where(pd.isna(group), measures["measure"].to_numpy(dtype=object), group))


def relax_budget(case: Case) -> BudgetRelaxation | None:
    """The Lagrangian relaxation of budget.total_eur (None unless max_abatement with a total budget,
    one period and no maxmin).

    Every other coupling (targets, cluster and municipal budgets, justice rules, prerequisites,
    programme admin costs) is dropped, which only loosens a maximisation, and programme discounts
    are granted wherever they could apply. For a multiplier lam >= 0,
    L(lam) = lam * total_eur + sum over committed measures of (A_j - lam * I_j)
             + sum over groups and ungrouped measures of max(0, max_j (A_j - lam * I_j)),
    with A_j, I_j the abatement and investment of measure j at max_units (a measure's best
    number of units in the relaxation is 0 or max_units: its value is linear in the units).
    Any lam gives a valid bound; L is convex in lam and is minimised by a ternary search.
    """
    s = case.settings
    if (s.objective != "max_abatement" or s.budget is None or s.budget.total_eur is None or s.justice.maxmin
            or s.periods is not None):
        return None
    mt = case.measures
    units = mt["max_units"].to_numpy(dtype=float)
    discount = programme_discount(case, programme_eligible(case))
    cost = mt["fixed_capex_eur"].to_numpy() + (1 - discount) * mt["capex_eur"].to_numpy() * units
    gain = mt["co2_reduction_t"].to_numpy() * units
    status = mt["status"].to_numpy()
    committed, free = status == "committed", status == "candidate"
    codes, _ = pd.factorize(_choice_keys(mt))
    codes = np.where(free, codes, -1)
    order = np.flatnonzero(free)[np.argsort(codes[free], kind="stable")]  # free measures, group by group
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0]) if len(order) else np.zeros(0, np.int64)
    group_of = np.full(len(mt), -1)
    group_of[order] = np.cumsum(np.r_[True, np.diff(codes[order]) != 0]) - 1 if len(order) else 0

    def best_per_group(lam: float) -> np.ndarray:
        return np.maximum.reduceat((gain - lam * cost)[order], starts) if len(order) else np.zeros(0)

    def lagrangian(lam: float) -> float:
        fixed = float(np.sum(gain[committed] - lam * cost[committed]))
        return lam * s.budget.total_eur + fixed + float(np.sum(np.maximum(best_per_group(lam), 0.0)))

    positive = cost > 0
    low, high = 0.0, float(np.max(gain[positive] / cost[positive])) if positive.any() else 0.0
    for _ in range(60):  # (2/3)^60 ~ 3e-11 of the initial interval
        a, b = low + (high - low) / 3, high - (high - low) / 3
        if lagrangian(a) <= lagrangian(b):
            high = b
        else:
            low = a
    lam = min((low, high, 0.0), key=lagrangian)
    profit = gain - lam * cost
    best = best_per_group(lam)
    picked = free & (profit > 0) & (profit >= (best[np.maximum(group_of, 0)] if len(best) else profit))
    return BudgetRelaxation(lagrangian(lam), lam, gain, cost, picked)


def core_case(case: Case, relaxation: BudgetRelaxation, band: float = CORE_BAND) -> tuple[Case, np.ndarray]:
    """The case restricted to its core, and the positions of the core's measures in the case.

    The core of a multiple-choice knapsack: each measure is compared with its group's pick in the
    relaxation (or with nothing, when the group has no pick or the measure has no group) by its
    *incremental* abatement per euro, (A_j - A_pick) / (I_j - I_pick). A measure stays free when
    that rate is within the band around the marginal rate: a pick that is nearly not worth its
    cost, a dearer alternative nearly worth the upgrade, a cheaper one nearly worth the saving.
    The band narrows so that at most about CORE_MAX_FREE candidates are free. A pick with no free
    rival in its group is taken for sure (made committed) once its prerequisite, if any, is
    committed or sure; other picks stay free, every other candidate is left out. Committed
    measures and the prerequisites of kept measures always stay.
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
    gain, cost = relaxation.gain, relaxation.cost
    extra_gain = gain - np.where(has_pick, gain[np.maximum(pick, 0)], 0.0)
    extra_cost = cost - np.where(has_pick, cost[np.maximum(pick, 0)], 0.0)
    rate = np.divide(extra_gain, extra_cost, out=np.where(extra_gain >= 0, np.inf, -np.inf), where=extra_cost != 0)
    distance = np.abs(rate / lam - 1) if lam > 0 else np.where(extra_gain > 0, 0.0, np.inf)
    in_band = np.sort(distance[candidate])
    if len(in_band) > CORE_MAX_FREE:
        band = min(band, float(in_band[CORE_MAX_FREE]))
    free = candidate & (distance <= band)
    rivals = np.bincount(codes[free], minlength=len(pick_of_group))[codes] - free
    sure = _sure(mt, relaxation.group_best & ~free & (rivals == 0), status == "committed")
    keep = with_prerequisites(mt, (status == "committed") | relaxation.group_best | free)
    positions = np.flatnonzero(keep)
    measures = mt.iloc[positions].copy()
    measures.loc[sure[positions], "status"] = "committed"
    return replace(case, measures=measures.reset_index(drop=True)), positions


def _sure(mt: pd.DataFrame, settled_alone: np.ndarray, committed: np.ndarray) -> np.ndarray:
    """The measures of `settled_alone` whose chain of prerequisites is committed or sure too."""
    required = prerequisite_positions(mt)
    sure = settled_alone & (required < 0)
    while True:
        grown = sure | (settled_alone & (required >= 0) & (committed | sure)[required])
        if (grown == sure).all():
            return sure
        sure = grown
