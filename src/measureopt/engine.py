"""The solve pipeline: case -> formulation -> HiGHS -> portfolio -> verification -> result.

Reads as the SPEC does: build, (maxmin stage 1), solve, explain if infeasible, verify, find the
binding requirements with their shadow prices.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .case import Case
from .errors import InfeasibleError, SolverError, VerificationError
from .formulation import (REQUIREMENTS, Formulation, benefit, benefit_floor, build, gini_cut, gini_ordered, gini_row_scale,
                          needs_gini_cuts, objective_vector)
from .heuristics import greedy_portfolio, priced_floors, rens, rounded, with_programmes
from .infeasibility import explain
from .relaxation import BudgetRelaxation, core_case, picks_benefit_per_head, relax_budget
from .solver import (PRESOLVE_MAX_COLUMNS, Reuse, SolveResult, SolverSettings, Status, fixed_integer_duals, is_exact,
                     is_small, polish_settings, polished, solve)
from .verify import Portfolio, Verified, population_gini, verify

MAX_CUT_ROUNDS = 500
#: share of solver.time_limit_s for the Gini cap's inner approximation (`_ranked_portfolio`)
#: before the cut rounds; re-rankings of its LP at most
GINI_INNER_SHARE = 0.4
MAX_RANKINGS = 8
#: re-ranking stops when the ordered LP gains less than this (relative); 1,000 x 50 justice: +0.36 %,
#: +0.06 %, then under 0.01 % per re-ranking
RANKING_GAIN = 1e-4
#: seconds left after the exact model for which the best portfolio is re-ranked and the MIP re-solved
RERANK_MIN_SECONDS = 10.0
#: from this many municipalities the Gini cap's first portfolio comes from a floor on benefit per head
#: (`_floored_portfolio`), not from the ranked model, whose chain of one row per municipality makes its
#: LP slow: 10 s at 1,000 x 50, about 440 s on 8,000 x 50's core, where the floor's LPs take 1-22 s
GINI_FLOOR_MIN_MUNICIPALITIES = 2_000
#: the cut rounds make portfolios of their in-out points (`_mixed_portfolio`) in at most this share of
#: their time (1,000 x 50 in 300 s: justice 1.0-1.2 % instead of 1.6 %, the cap alone 2.4 % instead of
#: 2.6 %; in every round the latter ended at 2.9 %, a weaker bound from fewer rounds), and in every
#: round on a core (`_core_solution`), where their bounds do not bound the case (8,000 x 50 justice
#: in 300 s: 29.04M t/yr, 3.3 %, against 28.99M, 3.4 % with this share there)
MIXED_SHARE = 0.2
#: bisection steps on the floor, as a share of the mean benefit per head without the cap (1/64 at the end;
#: 8,000 x 50's core: 28.96M t/yr at 1/2, 28.98M at 63/128)
FLOOR_STEPS = 6
#: share of solver.time_limit_s for the floored search: the cut rounds after it seldom end at that size
#: (8,000 x 50's core: their LP with 5 cuts took the rest of 300 s)
GINI_FLOOR_SHARE = 0.8
#: floors whose LP met the cap that are made portfolios at most, the lowest first
FLOOR_ROUNDINGS = 4
#: share of the floored search's time kept for making portfolios once a floor's LP has met the cap
FLOOR_PORTFOLIO_SHARE = 0.25
#: above this many measures, max_abatement is first solved on its core (relaxation.py)
CORE_MIN_MEASURES = 25_000
#: ... with a Gini cap, above this many: the core's bound, the Lagrangian one, ignores the cap, where
#: the whole model's cut rounds bound it (1,000 x 50 justice, 300 s: the same 3.41M t/yr portfolio
#: either way, certified within 9.1 % on the core, 2.6 % on the whole model)
GINI_CORE_MIN_MEASURES = 100_000
#: the relaxation's further Gini cuts (relaxation.EXTRA_CUTS) start within this share of the time limit
#: (35,000 x 50 justice: the whole relaxation, seven cuts and more, takes 21-24 s; one cut took 61 s when
#: its multipliers were searched one at a time)
RELAXATION_CUTS_SHARE = 0.4
#: above this many measures the whole model is never started after its core. Measured: the whole
#: 8,000 x 50 model (400,000 measures, 780,712 columns) stopped 2.4 s after a 300 s time limit; the
#: whole 35,000 x 50 one (1.75M measures, 3.4M columns) ran on 12+ minutes past it, HiGHS heeding
#: neither its time limit nor the watchdog's cancel in its LP. The threshold sits between the two.
WHOLE_MODEL_MAX_MEASURES = 500_000
#: A core's optimum is polished (`_polished_core`) up to this many measures: at 1,000 x 50 the
#: whole model reached the optimum in 12 s; at 2,000 x 50 and 8,000 x 50 it did not in the 20 s
#: it was given, and the tries cost 21 s and 40 s in all.
POLISH_CORE_MAX_MEASURES = 50_000
#: Share of the time limit for maxmin's stage 1; stage 2 has what is left (both used to get all of
#: it, so a run took up to twice solver.time_limit_s)
MAXMIN_STAGE1_SHARE = 0.5
#: Share of the time limit for RENS's start when the greedy portfolio breaks a rule (`_start`)
RENS_START_SHARE = 0.2
GINI_TOLERANCE = 1e-7
#: bisection steps for where the way from the best portfolio to a cut round's solution crosses the
#: Gini cap (`_crossing`; (1/2)^30 of the way)
CROSSING_STEPS = 30
SENSES = {"max_abatement": "max", "max_cumulative_abatement": "max", "min_investment": "min",
          "min_net_cost": "min", "max_weighted_benefit": "max"}


@dataclass
class Result:
    """A solved, verified case: status, objective, verified figures, portfolio and timings."""

    case: Case
    status: Status
    objective_name: str
    objective_value: float
    mip_gap: float | None
    portfolio: Portfolio
    verified: Verified
    binding: list[dict]
    build_seconds: float
    solve_seconds: float
    variables: int
    constraints: int
    maxmin_t: float | None = None
    dual_bound: float | None = None
    notes: list[str] = field(default_factory=list)
    trajectory: tuple = ()

    @property
    def sense(self) -> str:
        return SENSES[self.objective_name]


def solver_settings(case: Case, verbose: bool = False) -> SolverSettings:
    """The solver options of a case's settings."""
    s = case.settings.solver
    return SolverSettings(s.mip_gap, s.time_limit_s, s.threads, s.seed, verbose)


def portfolio_from(form: Formulation, x: np.ndarray) -> Portfolio:
    """The decision read from a solver vector: integers rounded, tiny values cleaned. Where the
    objective does not price the units bought through programmes (max_abatement, ...), a member
    of a running programme buys all units of its measures in it through it: the solver may leave
    any share of them, even half a yes/no unit, at the full price for the same objective, and
    that is not a portfolio a planner would recognise (the discount only lowers investment, so
    every budget still holds)."""
    cols = form.cols
    integer = form.integrality
    clean = np.where(integer, np.round(x), x)
    clean = np.clip(clean, form.col_lower, form.col_upper)
    clean[np.abs(clean) < 1e-9] = 0.0
    units = clean[cols.u]
    selected = clean[cols.y] > 0.5
    through = np.zeros(len(units))
    has_w = cols.w >= 0
    through[has_w] = np.minimum(clean[cols.w[has_w]], units[has_w])
    case = form.case
    prog_ids = case.programmes.index.to_numpy()
    running = frozenset(prog_ids[clean[cols.z] > 0.5]) if len(cols.z) else frozenset()
    munis = case.municipalities.index.to_numpy()
    member = clean[cols.pi] > 0.5 if len(cols.pi) else np.zeros(0, bool)
    members = frozenset(zip(munis[cols.pi_m[member]], prog_ids[cols.pi_p[member]]))
    if member.any() and not form.objective[cols.w[has_w]].any():
        joined = np.flatnonzero(has_w)[member[cols.pi_of[has_w]]]
        through[joined] = units[joined]
    year = None
    if case.settings.periods is not None:  # the plan year whose y_jt is set
        in_year = clean[cols.y_t] > 0.5
        year = np.where(in_year.any(axis=1), np.array(cols.years, dtype=float)[in_year.argmax(axis=1)], np.nan)
    return Portfolio(units, selected, through, running, members, year)


def portfolio_x(form: Formulation, portfolio: Portfolio) -> np.ndarray:
    """The column vector of a portfolio of `form`'s case, the inverse of `portfolio_from` (one plan
    year, no maxmin): units, selection, units bought through programmes, running programmes,
    memberships and benefits per municipality, for a portfolio found without the solver."""
    cols, case = form.cols, form.case
    x = np.zeros(form.shape[1])
    x[cols.u] = portfolio.units
    x[cols.y[cols.own_y]] = portfolio.selected[cols.own_y]
    has_w = cols.w >= 0
    x[cols.w[has_w]] = portfolio.programme_units[has_w]
    x[cols.z] = case.programmes.index.isin(list(portfolio.running))
    if len(cols.pi) and portfolio.members:
        pairs = pd.MultiIndex.from_arrays([case.municipalities.index.to_numpy()[cols.pi_m], case.programmes.index.to_numpy()[cols.pi_p]])
        x[cols.pi] = pairs.isin(list(portfolio.members))
    if cols.benefit is not None:
        ben = benefit(case)
        x[cols.benefit] = np.bincount(case.measures["m"].to_numpy(), ben.u * portfolio.units + ben.y * portfolio.selected,
                                      len(case.municipalities))
        x[cols.benefit_total] = x[cols.benefit].sum()
    return x


def objective_value(case: Case, name: str, v: Verified) -> float:
    """The objective recomputed from verified figures (SPEC 4.4)."""
    if name == "max_abatement":
        return v.annual_abatement_t
    if name == "max_cumulative_abatement":
        return v.cumulative_abatement_t
    if name == "min_investment":
        return v.investment_eur
    if name == "min_net_cost":
        return v.eac_eur
    weights = case.settings.weights
    mt = case.measures
    factor = case.equity_weights()[mt["m"].to_numpy()] * (1 + weights.vulnerable_bonus * mt["v"].to_numpy())
    return float(np.sum(factor * v.measures["benefit"].to_numpy()))


def _solved(form: Formulation, options: SolverSettings, objective: np.ndarray | None = None,
            start: tuple[np.ndarray, np.ndarray] | None = None, reuse: Reuse | None = None,
            core: bool = False) -> tuple[Formulation, SolveResult]:
    """Solve; raise the typed error when there is nothing to report (an infeasible model's error
    says why unless `form` is a `core` of the case: a core's infeasibility is not the case's, and
    neither are its bounds). A Gini cap enforced by cuts, or by pairwise rows in a model of many
    integers, goes to `_gini_capped`; any other optimum but a core's is `solver.polished` (a
    core's is certified by the Lagrangian bound instead)."""
    large = not is_small(form)
    if needs_gini_cuts(form.case) or (large and form.cols.gini_pairs is not None):
        return _gini_capped(form, options, objective, greedy_start(form) if start is None and large else start, reuse, core)
    if start is None and large:
        start, spent = (greedy_start(form), 0.0) if core else _start(form, options, objective)
        if spent:  # RENS's seconds (`after` gives a second at least: not for a tiny limit's sake)
            options = options.after(spent)
    result = solve(form, options, objective, start=start, reuse=reuse)
    _raise_unless_solution(result, form, options, not core)
    return form, result if core else polished(form, options, result, objective, reuse)


def _raise_unless_solution(result: SolveResult, form: Formulation, options: SolverSettings, explained: bool) -> None:
    if result.status == Status.INFEASIBLE:
        raise InfeasibleError(explain(form, options) if explained else "the model is infeasible")
    if result.status == Status.INTERRUPTED:
        raise KeyboardInterrupt
    if not result.status.has_solution:
        raise SolverError(f"HiGHS found no solution ({result.highs_status}); try a longer solver.time_limit_s")


@dataclass
class _GiniSearch:
    """What the search under a Gini cap has: the formulation (with its cuts so far), the best
    solution that meets the cap, valid bounds on the optimum (in the model's sense), how it ended,
    and its own gap trajectory (seconds, best portfolio, tightest bound, gap), the sub-models'
    solves having gaps to bounds of their own."""

    form: Formulation
    best: SolveResult | None = None
    bounds: list = field(default_factory=list)
    seconds: float = 0.0
    ended: str = ""
    trajectory: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    mixing_seconds: float = 0.0  # spent on `_mixed_portfolio`
    core: bool = False  # `form` is a core of the case: its bounds are not the case's

    def offer(self, result: SolveResult) -> None:
        """Keep `result`, a portfolio that meets the cap (in the columns of `form`), if it beats the best."""
        if self.best is None or self.form.sense * (result.objective - self.best.objective) < 0:
            self.best = result
            self._record()

    def bound(self, value: float | None) -> None:
        """Record the optimum of a relaxation solved to its end (None or infinite: no bound)."""
        if value is not None and np.isfinite(value):
            self.bounds.append(value)
            self._record()

    def _record(self) -> None:
        bound, gap = self.gap()
        if gap is not None and (not self.trajectory or self.trajectory[-1][1:] != (self.best.objective, bound, gap)):
            self.trajectory.append((round(time.perf_counter() - self.started, 3), self.best.objective, bound, gap))

    def gap(self) -> tuple[float | None, float | None]:
        """The tightest bound and the best portfolio's relative gap to it (None when unknown)."""
        sense = self.form.sense
        bound = min(self.bounds, key=lambda b: sense * -b) if self.bounds else None
        if bound is None or self.best is None:
            return bound, None
        return bound, _gap(-sense * bound, -sense * self.best.objective)


def _gini_capped(form: Formulation, options: SolverSettings, objective: np.ndarray | None,
                 start: tuple[np.ndarray, np.ndarray] | None, reuse: Reuse | None, core: bool) -> tuple[Formulation, SolveResult]:
    """A Gini cap, exact where time allows: a portfolio that meets it from an inner approximation
    (`_ranked_portfolio` in GINI_INNER_SHARE of the time limit, or from GINI_FLOOR_MIN_MUNICIPALITIES
    municipalities `_floored_portfolio` in GINI_FLOOR_SHARE) starts the exact model, which is
    the pairwise rows' MIP up to GINI_PAIRWISE_MAX municipalities and cut rounds (`_cut_rounds`)
    above; the best portfolio meeting the cap is reported with its gap to the best valid bound.
    On a `core` the cut rounds round their in-out point in every round (see MIXED_SHARE)."""
    search = _GiniSearch(form, core=core)
    explained = not core
    floored = len(form.case.municipalities) >= GINI_FLOOR_MIN_MUNICIPALITIES
    inner = replace(options, time_limit_s=(GINI_FLOOR_SHARE if floored else GINI_INNER_SHARE) * options.time_limit_s)
    reuse = reuse or Reuse()  # the LP relaxation, then the cut rounds' LPs, each from the last one's basis
    if floored:
        relaxation = _floored_portfolio(search, inner, objective, explained, reuse)
    else:
        relaxation = _ranked_portfolio(search, inner, objective, start, explained, reuse)
    if search.best is not None:
        start = (np.arange(form.shape[1]), search.best.x)
    left = options.after(search.seconds)
    if needs_gini_cuts(form.case):
        _cut_rounds(search, left, objective, start, reuse, explained, relaxation)
    else:
        result = solve(form, left, objective, start=start, reuse=reuse)
        search.seconds += result.seconds
        if result.status.has_solution:
            search.offer(result)
            search.bound(result.dual_bound)
        elif search.best is None or result.status == Status.INFEASIBLE:
            _raise_unless_solution(result, form, options, explained)
        search.ended = f"the pairwise Gini rows' MIP ended: {result.highs_status}"
    reranked = 0
    while not floored and search.best is not None and options.time_limit_s - search.seconds >= RERANK_MIN_SECONDS:
        gap = search.gap()[1]
        if gap is not None and gap <= options.mip_gap:
            break
        best = search.best  # time left: re-rank by the best portfolio, which fits its own ranking
        left = replace(options, time_limit_s=options.time_limit_s - search.seconds)
        if not _ranked_mip(search, gini_ordered(form, best.x[form.cols.benefit]), left, objective,
                           (np.arange(form.shape[1]), best.x)):
            break
        reranked += 1
    if reranked:
        search.ended += f"; then improved by re-ranking {reranked} time(s)"
    if search.best is None:
        raise SolverError(f"no portfolio meeting the Gini cap was found in time ({search.ended}): a longer "
                          "solver.time_limit_s, a looser justice.gini_max or fewer municipalities per case can help")
    best, (bound, gap) = search.best, search.gap()
    status = Status.OPTIMAL if gap is not None and gap <= options.mip_gap else Status.TIME_LIMIT
    note = None if best.note is None and status == Status.OPTIMAL else (
        f"{best.note or 'the best portfolio of the exact model'}; {search.ended}; gap to the best valid bound "
        f"{'unknown' if gap is None else f'{gap:.2e}'}")
    return search.form, replace(best, status=status, mip_gap=gap, dual_bound=bound, seconds=search.seconds, note=note,
                                trajectory=tuple(search.trajectory))


def _left(options: SolverSettings, clock: float) -> SolverSettings:
    """`options` with what is left of its time limit since `clock` (a perf_counter), 1 s at least."""
    return options.after(time.perf_counter() - clock)


def _meets_cap(case: Case, gini: float | None) -> bool:
    """Whether a population Gini (`verify.population_gini`, None without benefit) meets justice.gini_max."""
    return gini is None or gini <= case.settings.justice.gini_max + GINI_TOLERANCE


def _mip_or_rens(form: Formulation, x: np.ndarray | None, options: SolverSettings, objective: np.ndarray | None,
                 start: tuple[np.ndarray, np.ndarray] | None = None) -> SolveResult | None:
    """The MIP of `form` (from `start`), or above PRESOLVE_MAX_COLUMNS columns, where HiGHS's own
    search found nothing in time and ran on past its time limit, RENS around the LP solution `x`
    (None without one)."""
    if form.shape[1] <= PRESOLVE_MAX_COLUMNS:
        return solve(form, options, objective, start=start)
    return None if x is None else rens(form, x, options, objective)


def _ranked_portfolio(search: _GiniSearch, options: SolverSettings, objective: np.ndarray | None,
                      start: tuple[np.ndarray, np.ndarray] | None, explained: bool, reuse: Reuse | None = None) -> SolveResult:
    """A portfolio that meets the Gini cap for sure, from `gini_ordered`: municipalities are ranked
    by the benefit per head of the LP relaxation (with the pairwise rows, or without the cap when
    it is cut), re-ranked by each ranked LP's solution while that gains RANKING_GAIN (each
    ranking keeps the last one's solution), then `_ranked_mip` for the last ranking. Returns the
    first LP, a valid bound (the cut rounds start from it and from its basis, kept in `reuse`)."""
    form, clock = search.form, time.perf_counter()
    relaxation = _relaxed(search, options, objective, explained, reuse)
    point, previous = relaxation.x, None  # an LP solution that fits the ranking of `ranked`
    for _ in range(MAX_RANKINGS):
        ranked = gini_ordered(form, point[form.cols.benefit])
        left = options.time_limit_s - (time.perf_counter() - clock)
        relaxed = solve(ranked, replace(options, time_limit_s=max(1.0, left / 2)), _extended(objective, ranked), relax=True)
        if relaxed.status != Status.OPTIMAL:
            break
        point = relaxed.x
        if previous is not None and form.sense * (previous - relaxed.objective) < RANKING_GAIN * abs(previous):
            break
        previous = relaxed.objective
    search.seconds += time.perf_counter() - clock
    _ranked_mip(search, ranked, _left(options, clock), objective, start, _extended(point, ranked))
    if search.best is None:
        search.ended = "the ranked model found no portfolio"
    return relaxation


def _relaxed(search: _GiniSearch, options: SolverSettings, objective: np.ndarray | None, explained: bool,
             reuse: Reuse | None = None) -> SolveResult:
    """The LP relaxation of `search.form` without the cap's cuts, its optimum recorded as a bound."""
    relaxation = solve(search.form, options, objective, relax=True, reuse=reuse)
    _raise_unless_solution(relaxation, search.form, options, explained)
    if relaxation.status == Status.OPTIMAL:
        search.bound(relaxation.objective)
    return relaxation


def _floored_portfolio(search: _GiniSearch, options: SolverSettings, objective: np.ndarray | None,
                       explained: bool, reuse: Reuse | None = None) -> SolveResult:
    """A portfolio that meets the Gini cap, from a floor on every municipality's benefit per head
    (`formulation.benefit_floor`): the lowest floor, as a share of the LP relaxation's mean benefit
    per head, at which the LP's solution meets the cap (bisection, FLOOR_STEPS steps, down from a
    floor with no feasible LP), made a
    portfolio by `_mip_or_rens` under that floor (rounding would break the floors the LP meets
    exactly), and kept when it meets the cap
    too (else a higher floor whose LP met the cap, FLOOR_ROUNDINGS tried at most, spread up to the
    highest, as a lumpy case can break the cap or a floor met exactly in the LP when rounded).
    Raising the floors lifts the municipalities that get least and, with the budget, takes from
    the others, so the Gini falls. The floors' LPs start each from the last one's basis.
    Returns the LP relaxation, a valid bound (the cut rounds start from it and from its basis,
    kept in `reuse`)."""
    form, clock = search.form, time.perf_counter()
    relaxation = _relaxed(search, options, objective, explained, reuse)
    population = form.case.municipalities["population"].to_numpy()
    mean = float(relaxation.x[form.cols.benefit].sum() / population.sum())

    def meets_cap(x: np.ndarray) -> bool:
        return _meets_cap(form.case, population_gini(x[form.cols.benefit], population))

    floors, low, high, met = Reuse(), 0.0, 1.0, []
    for _ in range(FLOOR_STEPS):
        spare = options.time_limit_s - (time.perf_counter() - clock) - (FLOOR_PORTFOLIO_SHARE * options.time_limit_s if met else 0.0)
        if spare < 1.0:
            break
        share = (low + high) / 2
        result = solve(benefit_floor(form, share * mean), replace(options, time_limit_s=spare), objective, relax=True, reuse=floors)
        if result.status == Status.OPTIMAL and meets_cap(result.x):
            high = share
            met.append((share, result.x))
        elif result.status == Status.INFEASIBLE:  # no room for so high a floor
            high = share
        else:
            low = share
    met.sort(key=lambda point: point[0])  # the lowest floor first: the LP's best; then spread up to the highest
    for i in np.unique(np.linspace(0, len(met) - 1, min(len(met), FLOOR_ROUNDINGS)).round().astype(int)):
        share, x = met[i]
        found = _mip_or_rens(benefit_floor(form, share * mean), x, _left(options, clock), objective)
        if found.status.has_solution and meets_cap(found.x):
            search.offer(replace(found, note=f"{FLOORED} ({share:.4f} of the mean)"))
            break
    search.seconds += time.perf_counter() - clock
    if search.best is None:
        search.ended = "no floor on benefit per head gave a portfolio that meets the Gini cap"
    return relaxation


def _ranked_mip(search: _GiniSearch, ranked: Formulation, options: SolverSettings, objective: np.ndarray | None,
                start: tuple[np.ndarray, np.ndarray] | None, relaxed_x: np.ndarray | None = None) -> bool:
    """Portfolios of `ranked` (a `gini_ordered` model of `search.form`) offered to `search`; whether
    one beat the best. First the ranked LP's solution `relaxed_x` (solved here if not given)
    rounded (`heuristics.rounded`), then, started from it, `_mip_or_rens`."""
    form, before, clock = search.form, search.best, time.perf_counter()
    cost = _extended(objective, ranked)
    if relaxed_x is None:
        relaxed = solve(ranked, options, cost, relax=True)
        relaxed_x = relaxed.x if relaxed.status == Status.OPTIMAL else None
    found = None if relaxed_x is None else rounded(ranked, relaxed_x, _left(options, clock), cost)
    if found is not None:
        search.offer(replace(found, x=found.x[:form.shape[1]], note=RANKED))
        start = (np.arange(ranked.shape[1]), found.x)
    result = _mip_or_rens(ranked, relaxed_x, _left(options, clock), cost, start)
    search.seconds += time.perf_counter() - clock
    if result is not None and result.status.has_solution:
        search.offer(replace(result, x=result.x[:form.shape[1]], note=RANKED))
    return search.best is not before


FLOORED = "a portfolio meeting the Gini cap by a floor on every municipality's benefit per head"
RANKED = "the best portfolio meeting the Gini cap for one ranking of the municipalities (formulation.gini_ordered)"


def _extended(vector: np.ndarray | None, ranked: Formulation) -> np.ndarray | None:
    """A vector over a model's columns extended by zeros to the columns `gini_ordered` added in `ranked`."""
    return None if vector is None else np.r_[vector, np.zeros(ranked.shape[1] - len(vector))]


def _cut_rounds(search: _GiniSearch, options: SolverSettings, objective: np.ndarray | None,
                start: tuple[np.ndarray, np.ndarray] | None, reuse: Reuse | None, explained: bool,
                relaxation: SolveResult | None = None) -> None:
    """The Gini cap by cuts: the LP relaxation is cut first (cheap), then the MIP is re-solved
    while its portfolio breaks the cap; every relaxation solved to its end bounds the optimum. A
    portfolio that meets the cap ends the rounds; the time limit holds for all rounds together.
    `relaxation`, the LP of `search.form` already solved, is not solved again. Each round cuts off
    its solution by the cut of its ranking and, once a portfolio meets the cap, by the cut where
    the way from that portfolio to the solution crosses the cap (`_crossing`), which follows the
    cap's own boundary and so tightens the bound faster. The last point of that way that meets the
    cap is made a portfolio too (`_mixed_portfolio`), in at most MIXED_SHARE of the rounds' time
    and in every round on a core (measured effects: MIXED_SHARE, README "At scale")."""
    started, population = search.seconds, search.form.case.municipalities["population"].to_numpy()
    share = 1.0 if search.core else MIXED_SHARE
    for relax in (True, False):
        for _ in range(MAX_CUT_ROUNDS):
            form = search.form
            if relax and relaxation is not None:
                result, relaxation = relaxation, None
            else:
                result = solve(form, options.after(search.seconds - started), objective, relax=relax, start=None if relax else start, reuse=reuse)
                search.seconds += result.seconds
            if not result.status.has_solution and result.status not in (Status.INFEASIBLE, Status.INTERRUPTED):
                cuts = int(np.sum(form.row_family == "gini_max"))
                search.ended = f"the cut rounds' {'LP' if relax else 'MIP'} ended with {cuts} cuts: {result.highs_status}"
                return
            _raise_unless_solution(result, form, options, explained)
            search.bound(result.dual_bound if not relax else result.objective if result.status == Status.OPTIMAL else None)
            benefit = result.x[form.cols.benefit]
            gini = population_gini(benefit, population)
            if _meets_cap(form.case, gini):
                if not relax:
                    search.offer(result)
                    search.ended = "a round's portfolio met the cap"
                    return
                break
            if search.seconds - started >= options.time_limit_s:
                search.ended = f"time limit reached before a round's portfolio met the Gini cap (last one: {gini:.4f})"
                return
            points = [benefit]
            if search.best is not None:
                inside = search.best.x[form.cols.benefit]
                within, past = _crossing(inside, benefit, population, form.case)
                points.append(inside + past * (benefit - inside))
                if within > 0 and search.mixing_seconds <= share * (search.seconds - started):
                    _mixed_portfolio(search, search.best.x + within * (result.x - search.best.x), options, objective, started)
            for point in points:
                form = gini_cut(form, point)
            search.form = form
        else:
            search.ended = f"the Gini cap did not converge in {MAX_CUT_ROUNDS} rounds of cuts"
            return


def _crossing(inside: np.ndarray, outside: np.ndarray, population: np.ndarray, case: Case) -> tuple[float, float]:
    """Where the way from benefits `inside` (meeting the Gini cap) to `outside` (breaking it)
    crosses the cap, by bisection: the last share t of the way at which inside + t (outside -
    inside) meets the cap, and the first past it. The cap's cut just past it (in-out separation)
    is valid like every cut, cuts off `outside` too (a row that `inside` meets and a point between
    breaks, the far end breaks more) and touches the region of the cap where Kelley's cut at
    `outside` may lie far from it."""
    low, high = 0.0, 1.0
    for _ in range(CROSSING_STEPS):
        middle = (low + high) / 2
        if _meets_cap(case, population_gini(inside + middle * (outside - inside), population)):
            low = middle
        else:
            high = middle
    return low, high


def _mixed_portfolio(search: _GiniSearch, x: np.ndarray, options: SolverSettings, objective: np.ndarray | None,
                     started: float) -> None:
    """In-out for portfolios: `x`, a point on the way from the best portfolio to a round's
    solution where it still meets the cap, meets every row of the LP relaxation (both ends do) and
    is worth more than the best; rounded (`heuristics.rounded`) on the model ranked as its
    benefits (`gini_ordered`, which it fits), it is offered to the search. On a core its LP keeps
    HiGHS's presolve on (`heuristics.rounded`)."""
    clock, form = time.perf_counter(), search.form
    ranked = gini_ordered(form, x[form.cols.benefit])
    found = rounded(ranked, _extended(x, ranked), options.after(search.seconds - started), _extended(objective, ranked), presolve=search.core)
    spent = time.perf_counter() - clock
    search.seconds += spent
    search.mixing_seconds += spent
    if found is not None:
        search.offer(replace(found, x=found.x[:form.shape[1]], note=RANKED))


def greedy_start(form: Formulation) -> tuple[np.ndarray, np.ndarray]:
    """The greedy portfolio (`heuristics.py`) as a partial start: u and y of every measure."""
    return portfolio_start(form, *greedy_portfolio(form.case))


def _start(form: Formulation, options: SolverSettings, objective: np.ndarray | None) -> tuple[tuple | None, float]:
    """A start for a model of many integers, and the seconds RENS took: the greedy portfolio if it
    meets every rule, else RENS's portfolio around the LP relaxation (`heuristics.rens`, in at most
    RENS_START_SHARE of the time limit, if that is a second), or none. Under a population floor
    on 400 x 50 HiGHS alone found no portfolio in 120 s and 1.487M t/yr in 300 s, from the greedy
    start that breaks the floor; RENS found 1.632M t/yr in 13 s (the LP's bound: 1.652M)."""
    case = form.case
    units, selected = greedy_portfolio(case)
    if not verify(case, with_programmes(case, units, selected), None).violations:
        return portfolio_start(form, units, selected), 0.0
    share = replace(options, time_limit_s=RENS_START_SHARE * options.time_limit_s)
    if share.time_limit_s < 1.0:  # the solves below get a second at least
        return None, 0.0
    clock = time.perf_counter()
    relaxed = solve(form, share, objective, relax=True)
    found = rens(form, relaxed.x, _left(share, clock), objective) if relaxed.status == Status.OPTIMAL else None
    start = (np.arange(form.shape[1]), found.x) if found is not None and found.status.has_solution else None
    return start, time.perf_counter() - clock


def portfolio_start(form: Formulation, units: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A portfolio as a partial start for HiGHS: the columns of u and y, and their values."""
    own = form.cols.own_y
    columns = np.r_[form.cols.u, form.cols.y[own]]
    return columns, np.r_[units, selected[own].astype(float)]


def _checked(case: Case, form: Formulation, x: np.ndarray, floor: float | None) -> tuple[Portfolio, Verified]:
    portfolio = portfolio_from(form, x)
    return portfolio, _verified(case, portfolio, floor)


def _verified(case: Case, portfolio: Portfolio, floor: float | None) -> Verified:
    """The independent check of a portfolio from the solver; a violation is a bug and fails the run."""
    verified = verify(case, portfolio, floor)
    if verified.violations:
        raise VerificationError("the solver's portfolio breaks the input's constraints (a bug in measureopt):\n  "
                                + "\n  ".join(verified.violations))
    return verified


def binding_requirements(form: Formulation, x: np.ndarray, duals: np.ndarray | None, verified: Verified) -> list[dict]:
    """Planner-facing requirements at their bound, with shadow prices (objective change per unit
    of the bound: per EUR of budget, per t/yr of target, per unit of a justice parameter's row).

    The Gini cap is one entry however many rows carry it; its shadow price is per unit of gini_max.
    """
    activity = form.matrix @ x
    found = []
    for row in np.flatnonzero(np.isin(form.row_family, REQUIREMENTS) & (form.row_family != "gini_max")):
        lower, upper = form.row_lower[row], form.row_upper[row]
        tol = 1e-6 * max(1.0, abs(lower) if np.isfinite(lower) else 0.0, abs(upper) if np.isfinite(upper) else 0.0)
        at_lower = np.isfinite(lower) and abs(activity[row] - lower) <= tol
        at_upper = np.isfinite(upper) and abs(activity[row] - upper) <= tol
        if not (at_lower or at_upper):
            continue
        found.append({
            "constraint": str(form.row_family[row]), "key": str(form.row_key[row]),
            "bound": float(lower if at_lower else upper), "activity": float(activity[row]),
            "shadow_price": None if duals is None else float(duals[row]) + 0.0,
        })
    gini_max = form.case.settings.justice.gini_max
    if gini_max is not None and verified.gini is not None and verified.gini >= gini_max - 1e-6:
        rows = form.row_family == "gini_max"
        price = None
        if duals is not None:
            # relaxing gini_max by one unit raises each Gini row's right-hand side by B (cuts) or k B / P (pairwise)
            per_unit = verified.benefit * (gini_row_scale(form.case) if form.cols.gini_pairs is not None else 1.0)
            price = float(np.sum(duals[rows]) * per_unit) + 0.0
        found.append({"constraint": "gini_max", "key": "gini", "bound": gini_max, "activity": verified.gini, "shadow_price": price})
    return found


def _binding_at(form: Formulation, portfolio: Portfolio, verified: Verified) -> list[dict]:
    """`binding_requirements` of a portfolio found without the solver, as one of `form`'s case."""
    x = portfolio_x(form, portfolio)
    return binding_requirements(form, x, fixed_integer_duals(form, x), verified)


def certified_gap(case: Case, result: SolveResult, value: float,
                  relaxation: BudgetRelaxation | None = None) -> tuple[float | None, float | None]:
    """The best proven gap and bound: HiGHS's, or, when a time limit stopped it, the Lagrangian
    budget bound of `relaxation.relax_budget` if that is tighter (max_abatement only)."""
    gap, bound = result.mip_gap, result.dual_bound
    if result.status != Status.TIME_LIMIT:
        return gap, bound
    relaxation = relaxation or relax_budget(case)
    if relaxation is not None and (bound is None or relaxation.bound < bound):
        bound = relaxation.bound
        gap = _gap(bound, value)
    return gap, bound


def _gap(bound: float, value: float) -> float:
    """HiGHS's relative gap |ub - lb| / |ub| for a maximisation's incumbent value and bound."""
    return max(0.0, bound - value) / max(abs(value), 1e-12)


def _core_solution(case: Case, relaxation: BudgetRelaxation, options: SolverSettings) -> tuple[Result | None, bool]:
    """max_abatement solved on the case's core (`relaxation.core_case`), and whether the time limit
    stopped it. The result is verified, with its gap to the Lagrangian bound (status optimal when
    within solver.mip_gap, else time_limit); None when the core is infeasible (a rule needs
    measures outside it). A portfolio priced before the core's search (`_priced_portfolio`) is
    reported when it is better or the search found nothing in time; failing that, the greedy
    portfolio when it meets every rule.
    """
    started = time.perf_counter()
    core, positions = core_case(case, relaxation)
    form = build(core)
    build_seconds = time.perf_counter() - started
    size = form.shape
    priced = _priced_portfolio(case, core, positions, relaxation, started + options.time_limit_s)
    priced_at = time.perf_counter() - started

    def reported_priced(why: str, seconds: float, timed_out: bool) -> tuple[Result, bool]:
        part, portfolio, verified = priced
        return _bounded(case, relaxation, options, portfolio, verified, f"{PRICED} ({why})", build_seconds, seconds, size,
                        _binding_at(form, part, verified), found_at=priced_at), timed_out

    try:
        form, result = _solved(form, _left(options, started), core=True)
    except InfeasibleError:
        return None, False
    except SolverError as error:  # nothing within the time limit: the full model would fare no better
        if priced is not None:
            return reported_priced("the core's search found none in time", options.time_limit_s, True)
        units, selected = greedy_portfolio(case)
        portfolio = with_programmes(case, units, selected)  # discounts that outweigh admin costs only lower spending
        verified = verify(case, portfolio, None)
        if verified.violations:
            cuts = ("; above 60 municipalities the Gini cap is enforced by cuts, which converge slowly: a longer "
                    "solver.time_limit_s, a looser justice.gini_max or fewer municipalities per case can help"
                    if needs_gini_cuts(case) else "")
            raise SolverError(f"{error} (on the core of {len(positions):,} of {len(case.measures):,} measures, "
                              f"relaxation.py; the greedy portfolio breaks a rule){cuts}") from error
        found_at = time.perf_counter() - started  # the whole model is built for the binding rows only
        return _bounded(case, relaxation, options, portfolio, verified, "the greedy portfolio (no core solution in time)",
                        build_seconds, options.time_limit_s, size, _binding_at(build(case), portfolio, verified),
                        found_at=found_at), True
    portfolio = _on_case(case, positions, portfolio_from(form, result.x))
    verified = _verified(case, portfolio, None)
    timed_out = result.status == Status.TIME_LIMIT
    if priced is not None and objective_value(case, "max_abatement", priced[2]) > objective_value(case, "max_abatement", verified):
        return reported_priced("better than the core's search found in time", result.seconds, timed_out)
    binding = binding_requirements(form, result.x, fixed_integer_duals(form, result.x), verified)
    where = f"the core of {len(positions):,} of {len(case.measures):,} measures (relaxation.py)"
    return _bounded(case, relaxation, options, portfolio, verified, where, build_seconds, result.seconds, size,
                    binding, result.trajectory), timed_out


def _on_case(case: Case, positions: np.ndarray, part: Portfolio) -> Portfolio:
    """A portfolio of the core (its measures at `positions` in the case) as one of the whole case."""
    n = len(case.measures)
    units, selected, through = np.zeros(n), np.zeros(n, bool), np.zeros(n)
    units[positions], selected[positions], through[positions] = part.units, part.selected, part.programme_units
    return Portfolio(units, selected, through, part.running, part.members)


PRICED = "a portfolio priced by the Lagrangian relaxation, with floors on benefit per head (heuristics.priced_floors)"
#: priced portfolios verified at most, most abatement first (each verification reads the whole
#: case: 2 s at 35,000 x 50; those after one that misses a joint target abate less and miss it too)
PRICED_TRIES = 4


def _priced_portfolio(case: Case, core: Case, positions: np.ndarray, relaxation: BudgetRelaxation,
                      deadline: float) -> tuple[Portfolio, Portfolio, Verified] | None:
    """Under a Gini cap from GINI_FLOOR_MIN_MUNICIPALITIES municipalities, the first of the
    PRICED_TRIES best portfolios of `heuristics.priced_floors` on the core (priced until
    `deadline`) that meets every rule of the case: as one of the core, as one of the case, and
    verified; None otherwise (or without a cap). Before the core's first LP: 15 s on the core of
    8,000 x 50 with a vulnerable share and a Gini cap, 71 s at 35,000 x 50 (where that LP takes
    240-330 s)."""
    if case.settings.justice.gini_max is None or len(case.municipalities) < GINI_FLOOR_MIN_MUNICIPALITIES:
        return None
    per_head = picks_benefit_per_head(case, relaxation)
    for part in priced_floors(core, relaxation.vulnerable_multiplier, per_head, deadline)[:PRICED_TRIES]:
        portfolio = _on_case(case, positions, part)
        verified = verify(case, portfolio, None)
        if not verified.violations:
            return part, portfolio, verified
    return None


def _bounded(case: Case, relaxation: BudgetRelaxation, options: SolverSettings, portfolio: Portfolio, verified: Verified,
             where: str, build_seconds: float, solve_seconds: float, size: tuple[int, int], binding: list[dict],
             trajectory: tuple = (), found_at: float | None = None) -> Result:
    """A verified portfolio with its gap to the Lagrangian bound: optimal within solver.mip_gap, else
    time_limit. Its gap trajectory is `trajectory` (the core's search), or for a portfolio found
    without HiGHS the one point (seconds, value, bound, gap) of when it was found, `found_at`."""
    value = objective_value(case, "max_abatement", verified)
    gap = _gap(relaxation.bound, value)
    if found_at is not None:
        trajectory = ((found_at, value, relaxation.bound, gap),)
    note = f"solved on {where}; gap {gap:.2e} certified by the Lagrangian bound {relaxation.bound:,.4f} (relaxation.py)"
    return Result(
        case=case, status=Status.OPTIMAL if gap <= options.mip_gap else Status.TIME_LIMIT, objective_name="max_abatement",
        objective_value=value, mip_gap=gap, dual_bound=relaxation.bound, portfolio=portfolio, verified=verified,
        binding=binding, build_seconds=build_seconds, solve_seconds=solve_seconds, variables=size[1], constraints=size[0],
        notes=[*case.warnings, note], trajectory=trajectory,
    )


def _too_large(case: Case) -> bool:
    """Whether the whole model is too large to be stopped at the time limit (WHOLE_MODEL_MAX_MEASURES)."""
    return len(case.measures) > WHOLE_MODEL_MAX_MEASURES


def _too_large_message(case: Case) -> str:
    """What was tried when neither the core nor anything smaller than the whole case gave a portfolio."""
    return (f"no portfolio meeting every rule was found on the core of the case (relaxation.py), and the whole case "
            f"({len(case.measures):,} measures) is above the {WHOLE_MODEL_MAX_MEASURES:,} that HiGHS can be relied on "
            "to stop at solver.time_limit_s, so it was not started; loosen the rule the core could not meet "
            "(justice.vulnerable_share_min, justice.gini_max, justice.population_floor or the target), "
            "or solve the case by region (fewer municipalities per case)")


def run_case(case: Case, verbose: bool = False, start: Portfolio | None = None, reuse: Reuse | None = None) -> Result:
    """Solve a validated case (SPEC 4) and verify the answer (SPEC 4.5).

    `start` (the portfolio of a sweep's previous point) is offered to HiGHS as a starting
    solution, which it uses if the portfolio is feasible here; `reuse` keeps the HiGHS model
    between calls (`solver.Reuse`). Neither changes what is optimal, only how fast it is found.
    """
    options = solver_settings(case, verbose)
    clock = time.perf_counter()  # the relaxation's seconds count towards the time limit
    core_from = CORE_MIN_MEASURES if case.settings.justice.gini_max is None else GINI_CORE_MIN_MEASURES
    cuts_until = clock + RELAXATION_CUTS_SHARE * options.time_limit_s
    relaxation = relax_budget(case, deadline=cuts_until) if len(case.measures) > core_from else None
    start = None if start is None else (start.units, start.selected)
    core = None
    if relaxation is not None:
        core, timed_out = _core_solution(case, relaxation, _left(options, clock))
        remaining = options.time_limit_s - (time.perf_counter() - clock)
        if core is not None and core.status == Status.OPTIMAL:
            return _polished_core(core, _left(options, clock), relaxation)
        if core is not None and (timed_out or remaining < 1.0):
            return core  # the whole model would fare no better in the time left
        if core is not None and _too_large(case):
            return replace(core, notes=[*core.notes, f"the whole case ({len(case.measures):,} measures) is above the "
                                        f"{WHOLE_MODEL_MAX_MEASURES:,} that HiGHS can be relied on to stop in time, so "
                                        "the core's portfolio is reported with its certified gap"])
        if remaining < 1.0:  # the whole model would only start after the time limit, and run on
            raise SolverError("time limit reached on the core of the case (relaxation.py) before a portfolio meeting every "
                              "rule was found; try a longer solver.time_limit_s")
        if _too_large(case):
            raise SolverError(_too_large_message(case))
        start = (core.portfolio.units, core.portfolio.selected) if core is not None else start
        options = replace(options, time_limit_s=remaining)
    return _whole_model(case, options, start, reuse, relaxation, core)


def _polished_core(core: Result, options: SolverSettings, relaxation: BudgetRelaxation) -> Result:
    """A core's optimum within solver.mip_gap made exact where that is cheap, as `solver.polished`
    does for a whole model: the whole model, started from the core's portfolio, to a
    SMALL_MODEL_GAP gap in the time `solver.polish_settings` gives after the core's solve, kept
    only if it gets there (1,000 x 50: 1.1e-4 short of the optimum, made exact in 12 s).
    Not under a Gini cap, whose search keeps its own gap, nor above POLISH_CORE_MAX_MEASURES."""
    case = core.case
    if is_exact(core) or case.settings.justice.gini_max is not None or len(case.measures) > POLISH_CORE_MAX_MEASURES:
        return core
    exact_options = polish_settings(options, options.time_limit_s, core.solve_seconds)
    if exact_options is None:
        return core
    clock = time.perf_counter()
    try:
        exact = _whole_model(case, exact_options, (core.portfolio.units, core.portfolio.selected), None, relaxation, None)
    except (SolverError, InfeasibleError):
        exact = None
    seconds = core.solve_seconds + time.perf_counter() - clock
    if exact is None or not is_exact(exact):
        return replace(core, solve_seconds=seconds)
    return replace(exact, solve_seconds=seconds)


def _whole_model(case: Case, options: SolverSettings, start: tuple[np.ndarray, np.ndarray] | None, reuse: Reuse | None,
                 relaxation: BudgetRelaxation | None, core: Result | None) -> Result:
    """The case solved as one model (from `start`, units and selection), maxmin's two stages
    included; the `core`'s result, if any, stands when this finds no portfolio in time."""
    started = time.perf_counter()
    form = build(case)
    build_seconds = time.perf_counter() - started
    solve_seconds = 0.0
    maxmin_t = None
    floor = None
    stage1_note = None  # why maxmin's t* may be below the best floor
    start = None if start is None else portfolio_start(form, *start)
    if case.settings.justice.maxmin:
        stage1_objective, _ = objective_vector(case, form.cols, "maxmin_t", np.zeros(len(case.measures)))
        sense, clock = form.sense, time.perf_counter()
        stage1_options = replace(options, time_limit_s=MAXMIN_STAGE1_SHARE * options.time_limit_s)
        form, stage1 = _solved(replace(form, sense=-1), stage1_options, stage1_objective, reuse=reuse)
        options = _left(options, clock)  # the time limit holds for both stages together
        form = replace(form, sense=sense)
        solve_seconds += stage1.seconds
        _, first = _checked(case, form, stage1.x, None)
        maxmin_t = first.min_per_capita
        floor = maxmin_t * (1 - case.settings.justice.maxmin_tolerance)
        lower = form.col_lower.copy()
        lower[form.cols.t] = floor * (1 - 1e-9)
        form = replace(form, col_lower=lower)
        start = (np.arange(form.shape[1]), stage1.x)  # stage 1's portfolio meets the floor: stage 2 has one in time
        if stage1.status != Status.OPTIMAL:
            stage1_note = (f"maxmin stage 1 stopped at its share of the time limit (gap {stage1.mip_gap:.2e}): t* may be "
                           "below the highest floor; a longer solver.time_limit_s can raise it")
    try:
        form, result = _solved(form, options, start=start, reuse=reuse)
    except SolverError:
        if core is None:
            raise
        return replace(core, notes=[*core.notes, "the whole case, started from the core's portfolio, found none in the time left"])
    solve_seconds += result.seconds
    portfolio, verified = _checked(case, form, result.x, floor)
    value = objective_value(case, form.objective_name, verified)
    if abs(value - result.objective) > 1e-6 * max(1.0, abs(value)):
        raise VerificationError(f"objective recomputed from the tables ({value:.6f}) differs from the solver's ({result.objective:.6f})")
    duals = fixed_integer_duals(form, result.x)
    gap, bound = certified_gap(case, result, value, relaxation)
    return Result(
        case=case, status=Status.TIME_LIMIT if stage1_note else result.status, objective_name=form.objective_name,
        objective_value=value, mip_gap=gap, dual_bound=bound, portfolio=portfolio, verified=verified,
        binding=binding_requirements(form, result.x, duals, verified), build_seconds=build_seconds,
        solve_seconds=solve_seconds, variables=form.shape[1], constraints=form.shape[0], maxmin_t=maxmin_t,
        notes=[*case.warnings, *(note for note in (result.note, stage1_note) if note)], trajectory=result.trajectory,
    )

