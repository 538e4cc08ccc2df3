"""Plain-language explanations of infeasible cases, from elastic re-solves (SPEC 6).

Each requirement family (targets, budgets, justice rules) is relaxed in turn with a slack column
per row, the total relative slack is minimised, and the slack says by how much that requirement
must give way: "raise budget.total_eur by EUR 3.1 M or lower target.reduction to 0.32".
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from .errors import SolverError
from .formulation import Formulation
from .solver import SolverSettings, solve

TARGETS = ("target_joint", "target_cluster", "target_each")
BUDGETS = ("budget_total", "budget_cluster", "budget_municipality",
           "budget_year", "budget_year_cluster", "budget_year_municipality")
TRAJECTORY = ("trajectory",)
JUSTICE = ("vulnerable_share", "population_floor", "gini_max")
RULE_NAMES = {
    "vulnerable_share": "the vulnerable-share rule (justice.vulnerable_share_min)",
    "population_floor": "the population floor (justice.population_floor)",
    "gini_max": "the Gini cap (justice.gini_max)",
}


def elastic_slack(form: Formulation, families: tuple[str, ...], options: SolverSettings) -> np.ndarray | None:
    """Least relative slack per row of `families` that makes the model feasible (None: still infeasible)."""
    rows = np.flatnonzero(np.isin(form.row_family, families))
    if len(rows) == 0:
        return None
    lower_side = np.isfinite(form.row_lower[rows])
    sign = np.where(lower_side, 1.0, -1.0)
    bound = np.where(lower_side, form.row_lower[rows], form.row_upper[rows])
    n_rows, n_cols = form.matrix.shape
    slack = sp.csr_matrix((sign, (rows, np.arange(len(rows)))), shape=(n_rows, len(rows)))
    elastic = replace(
        form,
        matrix=sp.hstack([form.matrix, slack], format="csr"),
        col_lower=np.r_[form.col_lower, np.zeros(len(rows))],
        col_upper=np.r_[form.col_upper, np.full(len(rows), np.inf)],
        integrality=np.r_[form.integrality, np.zeros(len(rows), bool)],
        objective=np.r_[np.zeros(n_cols), 1.0 / np.maximum(1.0, np.abs(bound))],
        sense=1,
    )
    result = solve(elastic, options)
    if not result.status.has_solution:
        return None
    values = np.zeros(n_rows)
    values[rows] = result.x[n_cols:]
    return values


def _money(eur: float) -> str:
    return f"EUR {eur / 1e6:,.2f} M" if eur >= 1e6 else f"EUR {eur:,.0f}"


def _target_lines(form: Formulation, slack: np.ndarray, others: str) -> list[str]:
    case = form.case
    target = case.settings.target
    munis = case.municipalities
    lines = []
    for row in np.flatnonzero(np.isin(form.row_family, TARGETS) & (slack > 1e-6)):
        need = form.row_lower[row]
        reach = max(0.0, need - slack[row])
        key = str(form.row_key[row])
        if target.scope == "joint":
            scope, members = "joint", munis.index
        elif target.scope == "cluster":
            scope, members = f"cluster {key}", munis.index[munis["cluster"] == key]
        else:
            scope, members = f"municipality {key}", [key]
        baseline = munis.loc[members, "baseline_emissions_t"].sum()
        achieved = munis.loc[members, "achieved_t"].sum()
        level = (reach + achieved) / baseline if baseline > 0 else 0.0
        lines.append(
            f"the {scope} {target.reduction:.0%} target needs {need:,.0f} t/yr; {others} allow at most "
            f"{reach:,.0f} t/yr ({level:.0%} of the baseline counting achieved reductions); "
            f"lower target.reduction to {np.floor(level * 1000) / 1000:.3f}")
    return lines


def _budget_lines(form: Formulation, slack: np.ndarray) -> list[str]:
    lines = []
    for row in np.flatnonzero(np.isin(form.row_family, BUDGETS) & (slack > 1e-6)):
        family, key = str(form.row_family[row]), str(form.row_key[row])
        first, _, year = key.partition("/")
        setting = {"budget_total": "budget.total_eur", "budget_cluster": f"budget.cluster_eur.{key}",
                   "budget_municipality": f"budget_eur of municipality {key}",
                   "budget_year": f"periods.budget_eur.{key}", "budget_year_cluster": f"periods.cluster_budget_eur.{first}.{year}",
                   "budget_year_municipality": f"budget_eur_{year} of municipality {first}"}[family]
        lines.append(f"raise {setting} by {_money(slack[row])} (from {_money(form.row_upper[row])})")
    return lines


def _trajectory_lines(form: Formulation, slack: np.ndarray) -> list[str]:
    """A multi-year plan's interim milestones (rows keyed scope/year) that cannot be reached."""
    lines = []
    for row in np.flatnonzero(np.isin(form.row_family, TRAJECTORY) & (slack > 1e-6)):
        need = form.row_lower[row]
        scope, _, year = str(form.row_key[row]).rpartition("/")
        lines.append(f"the {year} milestone ({scope}) needs {need:,.0f} t/yr; at most {max(0.0, need - slack[row]):,.0f} t/yr "
                     f"can be reached by then; lower periods.trajectory.{year} or move budget earlier")
    return lines


def _structural(form: Formulation) -> list[str]:
    """Conflicts among committed, excluded, alternative and prerequisite measures."""
    m = form.case.measures
    requires = dict(zip(m["measure"], m["requires"]))
    forced: dict[str, str] = {}
    for measure in m.loc[m["status"] == "committed", "measure"]:
        node = measure
        while isinstance(node, str) and node not in forced:
            forced[node] = measure
            node = requires.get(node)
    lines = []
    status = dict(zip(m["measure"], m["status"]))
    for measure, origin in forced.items():
        if status.get(measure) == "excluded":
            lines.append(f"committed measure {origin} needs measure {measure}, which is excluded")
    group = m.set_index("measure")["group"]
    chosen = group.reindex(list(forced)).dropna()
    for g, members in chosen.groupby(chosen).groups.items():
        if len(members) > 1:
            lines.append(f"committed measures {', '.join(sorted(members))} are alternatives of group {g}: at most one can be selected")
    return lines


def explain(form: Formulation, options: SolverSettings) -> list[str]:
    """Why no portfolio meets every requirement, and what change would make one possible."""
    structural = _structural(form)
    if structural:
        return ["the case is infeasible: " + line for line in structural]
    present = set(form.row_family)
    has = {name: bool(present & set(group)) for name, group in
           (("targets", TARGETS), ("budgets", BUDGETS), ("justice", JUSTICE), ("trajectory", TRAJECTORY))}
    others = " and ".join(n for n, flag in (("the budgets", has["budgets"]), ("the justice rules", has["justice"])) if flag) or "the measures available"
    lines: list[str] = []
    if has["targets"]:
        slack = elastic_slack(form, TARGETS, options)
        if slack is not None:
            lines += _target_lines(form, slack, others)
    if has["trajectory"]:
        slack = elastic_slack(form, TRAJECTORY, options)
        if slack is not None:
            lines += _trajectory_lines(form, slack)
    if has["budgets"]:
        slack = elastic_slack(form, BUDGETS, options)
        if slack is not None:
            lines += _budget_lines(form, slack)
    if has["justice"]:
        slack = elastic_slack(form, JUSTICE, options)
        if slack is not None:
            for family in JUSTICE:
                if np.any(slack[form.row_family == family] > 1e-6):
                    lines.append(f"{RULE_NAMES[family]} cannot be met together with the other requirements: relax or drop it")
    if not lines:
        slack = elastic_slack(form, TARGETS + BUDGETS + JUSTICE + TRAJECTORY, options)
        if slack is None:
            return ["the case is infeasible even without its targets, budgets and justice rules: "
                    "check committed measures, min_units, alternatives and prerequisites"]
        names = sorted({str(f) for f in form.row_family[slack > 1e-6]})
        if not names:  # no requirement needs to give way: the model is feasible, the verdict was wrong
            raise SolverError("HiGHS reported the model infeasible, but with every requirement elastic none needs to "
                              "give way, so the case is feasible: a solver fault; try another solver.seed")
        lines.append("no single requirement is to blame; together these conflict: " + ", ".join(names))
        lines += _budget_lines(form, slack) + _target_lines(form, slack, others) + _trajectory_lines(form, slack)
    return ["the case is infeasible: " + lines[0]] + [f"or: {line}" for line in lines[1:]]
