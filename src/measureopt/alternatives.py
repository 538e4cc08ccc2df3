"""Near-optimal alternatives for co-design (SPEC 5 `alternatives`): portfolios whose objective is
within a slack of the optimum and which differ from each other as much as possible.

Modelling to generate alternatives, on the arrays of `formulation.build` (nothing is added to the
core model; the rows below go on a copy):
- slack row: the objective stays within `slack` of the optimum z*:
  c.x >= z* - slack |z*| (maximising) or c.x <= z* + slack |z*| (minimising);
- diversity objective of alternative k: maximise sum_{j not in U} y_j - sum_{j in U} y_j, with U
  the measures selected by the optimum or any earlier alternative (bring in unused measures, leave
  used ones out);
- no-good cut per earlier portfolio S: sum_{j in S} (1 - y_j) + sum_{j not in S} y_j >= 1, so every
  portfolio's selection differs from every other's;
- a measure is in a portfolio when it has units: a continuous measure selected here takes at least
  max(min_units, 0.001 U_j) units (u_j >= delta_j y_j), so that an empty "selection" cannot count
  as a difference.
Every portfolio is then verified independently (`verify.py`) and its objective recomputed from the
tables and checked against the slack. When no further distinct portfolio fits in the slack, fewer
than `count` are returned, with a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .case import Case
from .engine import Result, objective_value, portfolio_from, run_case, solver_settings
from .errors import CaseError, Problem, SolverError, VerificationError
from .formulation import Formulation, build, gini_cut, needs_gini_cuts
from .results import atomic_folder, write_csv
from .solver import Status, solve
from .verify import Verified, verify

#: Relative tolerance of the slack check on verified objectives.
SLACK_TOLERANCE = 1e-7
MAX_CUT_ROUNDS = 200


@dataclass
class Alternative:
    """One portfolio: its name, the verified figures, and which measures it selects."""

    name: str
    objective_value: float
    verified: Verified
    selected: np.ndarray  # bool per measure (case.measures order): it has units
    units: np.ndarray


@dataclass
class Alternatives:
    """The optimum and its near-optimal alternatives, with the tables `alternatives` writes."""

    case: Case
    slack: float
    optimum: float
    objective_name: str
    sense: str
    portfolios: list[Alternative]
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per portfolio: objective, its distance to the optimum, headline figures, novelty."""
        rows, used = [], np.zeros(len(self.case.measures), bool)
        for p in self.portfolios:
            v = p.verified
            rows.append({
                "portfolio": p.name, "objective_value": p.objective_value,
                "below_optimum_share": self.shortfall(p.objective_value),
                "investment_eur": v.investment_eur, "annual_abatement_t": v.annual_abatement_t, "eac_eur": v.eac_eur,
                "vulnerable_benefit_share": v.vulnerable_benefit / v.benefit if v.benefit else None, "gini": v.gini,
                "measures": int(p.selected.sum()), "new_measures": int((p.selected & ~used).sum()),
            })
            used |= p.selected
        return pd.DataFrame(rows)

    @property
    def membership(self) -> pd.DataFrame:
        """Per measure: its units in each portfolio (blank if not selected), in how many it is, and
        whether it is a must-have (in all), a real choice (in some) or never chosen (in none)."""
        mt = self.case.measures
        table = pd.DataFrame({"measure": mt["measure"].to_numpy(), "municipality": mt["municipality"].to_numpy(),
                              "name": mt["name"].fillna("").to_numpy(dtype=object), "sector": mt["sector"].to_numpy()})
        for p in self.portfolios:
            table[p.name] = np.where(p.selected, p.units, np.nan)
        count = np.sum([p.selected for p in self.portfolios], axis=0)
        table["in_portfolios"] = count
        table["role"] = np.select([count == len(self.portfolios), count > 0], ["must-have", "real choice"], "never chosen")
        return table

    def shortfall(self, value: float) -> float:
        """How far a value is from the optimum, as a share of |optimum| (0 = optimal)."""
        gap = self.optimum - value if self.sense == "max" else value - self.optimum
        return gap / abs(self.optimum) if self.optimum else gap


def _slack_row(form: Formulation, optimum: float, slack: float) -> Formulation:
    """The objective kept within `slack` of the optimum, as one more row."""
    allowed = slack * abs(optimum)
    lower, upper = (optimum - allowed, np.inf) if form.sense < 0 else (-np.inf, optimum + allowed)
    return _with_row(form, form.objective, lower, upper, "alternatives_slack", "objective")


def _with_row(form: Formulation, coefficients: np.ndarray, lower: float, upper: float, family: str, key: str) -> Formulation:
    row = sp.csr_matrix(coefficients.reshape(1, -1))
    return replace(form, matrix=sp.vstack([form.matrix, row], format="csr"),
                   row_lower=np.r_[form.row_lower, lower], row_upper=np.r_[form.row_upper, upper],
                   row_family=np.r_[form.row_family, np.array([family], dtype=object)],
                   row_key=np.r_[form.row_key, np.array([key], dtype=object)])


#: Least share of max_units a selected continuous measure takes in an alternative.
LEAST_UNITS_SHARE = 1e-3


def _real_selection(form: Formulation) -> Formulation:
    """u_j >= delta_j y_j for continuous measures, delta_j = max(N_j, 0.001 U_j): selected means used."""
    m = form.case.measures
    continuous = np.flatnonzero(~m["integer"].to_numpy(dtype=bool))
    if len(continuous) == 0:
        return form
    delta = np.maximum(m["min_units"].to_numpy()[continuous], LEAST_UNITS_SHARE * m["max_units"].to_numpy()[continuous])
    k = np.arange(len(continuous))
    block = sp.csr_matrix((np.r_[np.ones(len(k)), -delta], (np.r_[k, k], np.r_[form.cols.u[continuous], form.cols.y[continuous]])),
                          shape=(len(k), form.shape[1]))
    return replace(form, matrix=sp.vstack([form.matrix, block], format="csr"),
                   row_lower=np.r_[form.row_lower, np.zeros(len(k))], row_upper=np.r_[form.row_upper, np.full(len(k), np.inf)],
                   row_family=np.r_[form.row_family, np.full(len(k), "alternatives_least_units", dtype=object)],
                   row_key=np.r_[form.row_key, m["measure"].to_numpy()[continuous].astype(object)])


def _no_good(form: Formulation, selected: np.ndarray, key: str) -> Formulation:
    """sum_{j in S} (1 - y_j) + sum_{j not in S} y_j >= 1: the next selection differs from S."""
    coefficients = np.zeros(form.shape[1])
    np.add.at(coefficients, form.cols.y, np.where(selected, -1.0, 1.0))
    return _with_row(form, coefficients, 1.0 - selected.sum(), np.inf, "alternatives_differ", key)


def _diversity(form: Formulation, used: np.ndarray) -> np.ndarray:
    """+1 on the selection of every measure not used yet, -1 on every used one (to be maximised)."""
    vector = np.zeros(form.shape[1])
    np.add.at(vector, form.cols.y, np.where(used, -1.0, 1.0))
    return vector


def _solve_alternative(case: Case, form: Formulation, objective: np.ndarray, floor: float | None, options):
    """The most diverse portfolio left (None if there is none), with Gini cuts added while violated;
    the case's time limit holds for all rounds together, as in `solve`."""
    seconds = 0.0
    for _ in range(MAX_CUT_ROUNDS):
        if seconds >= options.time_limit_s:
            raise SolverError("time limit reached before an alternative met the Gini cap; try a longer solver.time_limit_s")
        result = solve(replace(form, sense=-1), options.after(seconds), objective)
        seconds += result.seconds
        if result.status == Status.INFEASIBLE:
            return form, None
        if result.status == Status.INTERRUPTED:
            raise KeyboardInterrupt
        if not result.status.has_solution:
            raise SolverError(f"HiGHS found no alternative portfolio ({result.highs_status}); try a longer solver.time_limit_s")
        portfolio = portfolio_from(form, result.x)
        verified = verify(case, portfolio, floor)
        gini_max = case.settings.justice.gini_max
        if needs_gini_cuts(case) and verified.gini is not None and verified.gini > gini_max + 1e-7:
            form = gini_cut(form, result.x[form.cols.benefit])
            continue
        return form, (portfolio, verified, result.status)
    raise SolverError(f"the Gini cap did not converge in {MAX_CUT_ROUNDS} rounds of cuts")


def alternatives(case: Case, count: int = 3, slack: float = 0.05, optimum: Result | None = None) -> Alternatives:
    """The optimum and up to `count` alternatives within `slack` of it, as different as possible."""
    if count < 1:
        raise CaseError([Problem("--count", None, "count", "must be at least 1", count)])
    if not 0 <= slack < 1:
        raise CaseError([Problem("--slack", None, "slack", "must be in [0, 1)", slack)])
    best = optimum or run_case(case)
    sense = best.sense
    options = solver_settings(case)
    form = build(case)
    floor = None
    if best.maxmin_t is not None:  # keep the maxmin floor of the optimum, as its stage 2 did
        floor = best.maxmin_t * (1 - case.settings.justice.maxmin_tolerance)
        lower = form.col_lower.copy()
        lower[form.cols.t] = floor * (1 - 1e-9)
        form = replace(form, col_lower=lower)
    form = _real_selection(_slack_row(form, best.objective_value, slack))
    first = Alternative("optimum", best.objective_value, best.verified, best.portfolio.units > 0, best.portfolio.units.copy())
    found = Alternatives(case, slack, best.objective_value, best.objective_name, sense, [first])
    used = first.selected.copy()
    form = _no_good(form, first.selected, "optimum")
    for k in range(1, count + 1):
        form, answer = _solve_alternative(case, form, _diversity(form, used), floor, options)
        if answer is None:
            found.notes.append(f"only {k - 1} alternative(s) differ from the others within a {slack:.1%} slack")
            break
        portfolio, verified, status = answer
        name = f"alternative-{k}"
        if status == Status.TIME_LIMIT:
            found.notes.append(f"{name}: the time limit stopped the search; it is feasible and within the slack, "
                               "but a more different portfolio may exist")
        value = objective_value(case, best.objective_name, verified)
        alternative = Alternative(name, value, verified, portfolio.units > 0, portfolio.units.copy())
        _check(found, alternative)
        found.portfolios.append(alternative)
        used |= alternative.selected
        form = _no_good(form, alternative.selected, name)
    return found


def _check(found: Alternatives, alternative: Alternative) -> None:
    """An alternative must pass verification, stay within the slack and differ from every other."""
    if alternative.verified.violations:
        raise VerificationError(f"{alternative.name} breaks the input's constraints (a bug in measureopt):\n  "
                                + "\n  ".join(alternative.verified.violations))
    if found.shortfall(alternative.objective_value) > found.slack + SLACK_TOLERANCE:
        raise VerificationError(f"{alternative.name} is {found.shortfall(alternative.objective_value):.4%} from the optimum, "
                                f"beyond the {found.slack:.2%} slack (a bug in measureopt)")
    for other in found.portfolios:
        if np.array_equal(other.selected, alternative.selected):
            raise VerificationError(f"{alternative.name} selects the same measures as {other.name} (a bug in measureopt)")


def write_alternatives(found: Alternatives, out) -> None:
    """alternatives.csv (one row per portfolio) and membership.csv (must-haves vs real choices), atomically."""
    with atomic_folder(out) as staging:
        write_csv(found.summary, staging / "alternatives.csv")
        write_csv(found.membership, staging / "membership.csv")


def headline(found: Alternatives, out) -> str:
    """What `alternatives` prints: the portfolios and how many measures are must-haves or choices."""
    roles = found.membership["role"].value_counts()
    lines = [f"{len(found.portfolios) - 1} alternative(s) within {found.slack:.1%} of the optimum "
             f"({found.objective_name} = {found.optimum:,.4f}):"]
    for row in found.summary.itertuples(index=False):
        lines.append(f"  {row.portfolio}: {row.objective_value:,.4f} ({row.below_optimum_share:.2%} below the optimum), "
                     f"{row.measures} measures, {row.new_measures} new")
    lines.append(f"must-haves: {roles.get('must-have', 0)}; real choices: {roles.get('real choice', 0)}; "
                 f"never chosen: {roles.get('never chosen', 0)}")
    lines += [f"note: {n}" for n in found.notes]
    lines.append(f"written to {out}")
    return "\n".join(lines)
