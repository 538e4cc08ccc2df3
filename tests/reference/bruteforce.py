"""Brute-force reference solver for the single-period measureopt model (SPEC 4.1-4.4).

This is an *independent* implementation used to test the MIP engine: it reads a case directory
directly (``csv`` + ``yaml.safe_load``), enumerates every integer unit vector u and every subset of
programmes that run, checks every constraint of SPEC 4.3 on each portfolio and keeps the best one
for the objective of SPEC 4.4.  It shares no code with ``src/measureopt``.

Supported: integer measures only, no ``periods``, every objective except
``max_cumulative_abatement``, CSV tables only.  Anything else raises ``ValueError``.

Programmes are enumerated exactly: for a chosen set of running programmes (z_P = 1), every eligible
municipality takes part (pi_mP = 1) and buys all units of its measures in P through P (w_j = u_j).
Taking part only lowers costs and changes no benefit, so this is without loss of optimality.
"""

from __future__ import annotations

import copy
import csv
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

MAX_PORTFOLIOS = 200_000
TOL = 1e-9

OBJECTIVE_SENSE = {
    "max_abatement": "max",
    "min_investment": "min",
    "min_net_cost": "min",
    "max_weighted_benefit": "max",
}
BENEFIT_KINDS = ("abatement", "investment", "bill_savings", "households")

# SPEC 3.1: "Settings that are left out take these defaults".
DEFAULT_SETTINGS: dict[str, Any] = {
    "objective": "max_abatement",
    "economics": {"discount_rate": 0.04, "horizon_years": 20},
    "justice": {"benefit": "abatement", "maxmin": False, "maxmin_tolerance": 0.0},
    "weights": {"vulnerable_bonus": 1.0, "equity_elasticity": 1.3},
}


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Municipality:
    id: str
    cluster: str | None
    population: float
    households: float
    vulnerable_households: float
    baseline_t: float
    achieved_t: float
    budget_eur: float | None
    income_index: float


@dataclass(frozen=True)
class Measure:
    id: str
    municipality: str
    max_units: int  # U_j
    min_units: int  # N_j
    capex: float  # c_j
    fixed_capex: float  # f_j
    opex: float  # o_j
    bill_savings: float  # s_j
    co2: float  # a_j
    lifetime: float  # L_j
    households_served: float  # h_j
    vulnerable_share: float  # v_j
    group: str | None
    requires: str | None
    status: str
    programme: str | None


@dataclass(frozen=True)
class Programme:
    id: str
    cluster: str | None
    min_members: int
    admin_cost: float  # admin_P
    capex_discount: float  # d_P


@dataclass
class Case:
    settings: dict
    municipalities: dict[str, Municipality]
    measures: list[Measure]
    programmes: dict[str, Programme]

    def setting(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.settings
        for key in dotted.split("."):
            if not isinstance(node, dict) or key not in node or node[key] is None:
                return default
            node = node[key]
        return node


def deep_merge(base: dict, override: dict | None) -> dict:
    """SPEC 2 layering: nested dicts are merged, later wins."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_rows(path: Path) -> list[dict[str, str]]:
    """RFC 4180 CSV, UTF-8 with optional BOM, any line ending."""
    if path.suffix.lower() != ".csv":
        raise ValueError(f"reference solver reads CSV tables only, not {path.name}")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _cell(row: dict, column: str) -> str | None:
    """A blank (or absent) cell means 'not given' (SPEC 3.1)."""
    value = row.get(column)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _text(row: dict, column: str, default: str | None = None) -> str | None:
    value = _cell(row, column)
    return default if value is None else value


def _float(row: dict, column: str, default: float | None = None) -> float | None:
    value = _cell(row, column)
    return default if value is None else float(value)


def _int(row: dict, column: str, default: int) -> int:
    value = _float(row, column, None)
    if value is None:
        return default
    if value != int(value):
        raise ValueError(f"{column}: expected a whole number, got {value}")
    return int(value)


def _bool(row: dict, column: str, default: bool) -> bool:
    value = _cell(row, column)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("true", "yes", "1", "y", "t"):
        return True
    if lowered in ("false", "no", "0", "n", "f"):
        return False
    raise ValueError(f"{column}: not a boolean ({value})")


def _number(value: Any) -> float:
    """Numbers in settings may arrive as YAML text ('1e-9'); SPEC 2 says accept both."""
    return float(value)


def load_case(case_dir: str | Path, overrides: dict | None = None, allow_periods: bool = False) -> Case:
    """The case read from its files; `periods` only when the caller handles them (periods_bruteforce)."""
    case_dir = Path(case_dir)
    with open(case_dir / "case.yaml", encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    settings = deep_merge(DEFAULT_SETTINGS, deep_merge(raw, overrides))
    if settings.get("periods") and not allow_periods:
        raise ValueError("reference solver handles the single-period model only (no periods)")
    tables = {"municipalities": "municipalities.csv", "measures": "measures.csv",
              "programmes": "programmes.csv"}
    tables.update(settings.get("tables") or {})

    municipalities: dict[str, Municipality] = {}
    for row in _read_rows(case_dir / tables["municipalities"]):
        m = Municipality(
            id=_text(row, "municipality"),
            cluster=_text(row, "cluster"),
            population=_float(row, "population"),
            households=_float(row, "households"),
            vulnerable_households=_float(row, "vulnerable_households", 0.0),
            baseline_t=_float(row, "baseline_emissions_t"),
            achieved_t=_float(row, "achieved_t", 0.0),
            budget_eur=_float(row, "budget_eur", None),
            income_index=_float(row, "income_index", 1.0),
        )
        municipalities[m.id] = m

    measures: list[Measure] = []
    for row in _read_rows(case_dir / tables["measures"]):
        mun = municipalities[_text(row, "municipality")]
        if not _bool(row, "integer", True):
            raise ValueError("reference solver supports integer measures only")
        vshare = _float(row, "vulnerable_share", None)
        if vshare is None:  # SPEC 3.3: blank = vulnerable_households / households
            vshare = mun.vulnerable_households / mun.households
        measures.append(Measure(
            id=_text(row, "measure"),
            municipality=mun.id,
            max_units=_int(row, "max_units", 1),
            min_units=_int(row, "min_units", 0),
            capex=_float(row, "capex_eur"),
            fixed_capex=_float(row, "fixed_capex_eur", 0.0),
            opex=_float(row, "opex_eur", 0.0),
            bill_savings=_float(row, "bill_savings_eur", 0.0),
            co2=_float(row, "co2_reduction_t"),
            lifetime=_float(row, "lifetime_years"),
            households_served=_float(row, "households_served", 0.0),
            vulnerable_share=vshare,
            group=_text(row, "group"),
            requires=_text(row, "requires"),
            status=_text(row, "status", "candidate"),
            programme=_text(row, "programme"),
        ))

    programmes: dict[str, Programme] = {}
    prog_path = case_dir / tables["programmes"]
    if prog_path.exists():
        for row in _read_rows(prog_path):
            p = Programme(
                id=_text(row, "programme"),
                cluster=_text(row, "cluster"),
                min_members=_int(row, "min_members", 2),
                admin_cost=_float(row, "admin_cost_eur", 0.0),
                capex_discount=_float(row, "capex_discount", 0.0),
            )
            programmes[p.id] = p
    return Case(settings, municipalities, measures, programmes)


# --------------------------------------------------------------------------------------------
# Derived quantities (SPEC 4.2)
# --------------------------------------------------------------------------------------------


def crf(r: float, lifetime: float) -> float:
    """CRF(r, L) = r(1+r)^L / ((1+r)^L - 1), and 1/L when r = 0."""
    if r == 0:
        return 1.0 / lifetime
    g = (1.0 + r) ** lifetime
    return r * g / (g - 1.0)


@dataclass(frozen=True)
class Portfolio:
    """u (units per measure, in case order) and the set of running programmes {P : z_P = 1}."""
    units: tuple[int, ...]
    running: frozenset[str]


def selected(units: tuple[int, ...], i: int) -> int:
    """y_j = 1 iff u_j > 0 (integer measures: y_j <= u_j)."""
    return 1 if units[i] > 0 else 0


def participants(case: Case, units: tuple[int, ...], pid: str) -> set[str]:
    """pi_mP = 1 for every m with a selected measure in P (and, if P has a cluster, m in it)."""
    prog = case.programmes[pid]
    out = set()
    for i, j in enumerate(case.measures):
        if j.programme != pid or not selected(units, i):
            continue
        if prog.cluster is not None and case.municipalities[j.municipality].cluster != prog.cluster:
            continue
        out.add(j.municipality)
    return out


def programmes_can_run(case: Case, pf: Portfolio) -> bool:
    """sum_m pi_mP >= min_members_P z_P for every running P."""
    return all(len(participants(case, pf.units, pid)) >= case.programmes[pid].min_members
               for pid in pf.running)


def through_programme(case: Case, pf: Portfolio) -> list[int]:
    """w_j: units of j bought through P(j) = u_j if P(j) runs and m(j) takes part, else 0."""
    members = {pid: participants(case, pf.units, pid) for pid in pf.running}
    w = []
    for i, j in enumerate(case.measures):
        takes_part = j.programme in pf.running and j.municipality in members[j.programme]
        w.append(pf.units[i] if takes_part else 0)
    return w


def measure_capital(case: Case, pf: Portfolio, w: list[int], i: int) -> float:
    """f_j y_j + c_j u_j - d_P(j) c_j w_j."""
    j = case.measures[i]
    d = case.programmes[j.programme].capex_discount if w[i] else 0.0
    return j.fixed_capex * selected(pf.units, i) + j.capex * pf.units[i] - d * j.capex * w[i]


def municipal_investment(case: Case, pf: Portfolio, w: list[int]) -> dict[str, float]:
    """I_m: sum over m's measures after the programme discount, no admin cost."""
    out = {m: 0.0 for m in case.municipalities}
    for i, j in enumerate(case.measures):
        out[j.municipality] += measure_capital(case, pf, w, i)
    return out


def admin_total(case: Case, pf: Portfolio) -> float:
    """sum_P admin_P z_P."""
    return sum(case.programmes[pid].admin_cost for pid in pf.running)


def investment(case: Case, pf: Portfolio, i_m: dict[str, float]) -> float:
    """I = sum_j (f_j y_j + c_j u_j - d c_j w_j) + sum_P admin_P z_P."""
    return sum(i_m.values()) + admin_total(case, pf)


def cluster_investment(case: Case, pf: Portfolio, i_m: dict[str, float]) -> dict[str, float]:
    """Sum of I_m over the cluster + admin of running programmes whose cluster is that cluster."""
    out: dict[str, float] = {}
    for m in case.municipalities.values():
        if m.cluster is not None:
            out[m.cluster] = out.get(m.cluster, 0.0) + i_m[m.id]
    for pid in pf.running:
        prog = case.programmes[pid]
        if prog.cluster is not None:
            out[prog.cluster] = out.get(prog.cluster, 0.0) + prog.admin_cost
    return out


def municipal_abatement(case: Case, pf: Portfolio) -> dict[str, float]:
    """A_m = sum over m's measures of a_j u_j."""
    out = {m: 0.0 for m in case.municipalities}
    for i, j in enumerate(case.measures):
        out[j.municipality] += j.co2 * pf.units[i]
    return out


def eac(case: Case, pf: Portfolio, w: list[int]) -> float:
    """EAC = sum_j [CRF(r,L_j)(f y + c u - d c w) + (o_j - s_j) u_j] + sum_P CRF(r,H) admin_P z_P."""
    r = _number(case.setting("economics.discount_rate", 0.04))
    horizon = _number(case.setting("economics.horizon_years", 20))
    total = 0.0
    for i, j in enumerate(case.measures):
        total += crf(r, j.lifetime) * measure_capital(case, pf, w, i)
        total += (j.opex - j.bill_savings) * pf.units[i]
    return total + crf(r, horizon) * admin_total(case, pf)


def measure_benefit(case: Case, pf: Portfolio, i: int) -> float:
    """b_j u_j by justice.benefit: a_j | c_j | s_j | h_j; for investment f_j y_j + c_j u_j (gross)."""
    kind = case.setting("justice.benefit", "abatement")
    j, u = case.measures[i], pf.units[i]
    if kind == "abatement":
        return j.co2 * u
    if kind == "investment":
        return j.fixed_capex * selected(pf.units, i) + j.capex * u
    if kind == "bill_savings":
        return j.bill_savings * u
    if kind == "households":
        return j.households_served * u
    raise ValueError(f"unknown justice.benefit {kind!r}")


def municipal_benefit(case: Case, pf: Portfolio) -> dict[str, float]:
    """B_m = sum of benefit over m's measures (every municipality present, possibly 0)."""
    out = {m: 0.0 for m in case.municipalities}
    for i, j in enumerate(case.measures):
        out[j.municipality] += measure_benefit(case, pf, i)
    return out


def vulnerable_benefit(case: Case, pf: Portfolio) -> float:
    """V = sum_j v_j b_j u_j."""
    return sum(j.vulnerable_share * measure_benefit(case, pf, i)
               for i, j in enumerate(case.measures))


def equity_weight(case: Case, mid: str) -> float:
    """omega_m = income_index_m ^ (-eta)."""
    eta = _number(case.setting("weights.equity_elasticity", 1.3))
    return case.municipalities[mid].income_index ** (-eta)


def weighted_benefit(case: Case, pf: Portfolio) -> float:
    """sum_j omega_m(j) (1 + lambda v_j) b_j u_j."""
    lam = _number(case.setting("weights.vulnerable_bonus", 1.0))
    return sum(equity_weight(case, j.municipality) * (1.0 + lam * j.vulnerable_share)
               * measure_benefit(case, pf, i) for i, j in enumerate(case.measures))


def per_capita_min(case: Case, b_m: dict[str, float]) -> float:
    """min_m B_m / pop_m over every municipality (the maxmin t)."""
    return min(b_m[m.id] / m.population for m in case.municipalities.values())


@dataclass
class Figures:
    portfolio: Portfolio
    investment: float
    municipal_investment: dict[str, float]
    cluster_investment: dict[str, float]
    abatement: float
    municipal_abatement: dict[str, float]
    eac: float
    municipal_benefit: dict[str, float]
    benefit: float
    vulnerable: float


def evaluate(case: Case, pf: Portfolio) -> Figures:
    w = through_programme(case, pf)
    i_m = municipal_investment(case, pf, w)
    a_m = municipal_abatement(case, pf)
    b_m = municipal_benefit(case, pf)
    return Figures(
        portfolio=pf,
        investment=investment(case, pf, i_m),
        municipal_investment=i_m,
        cluster_investment=cluster_investment(case, pf, i_m),
        abatement=sum(a_m.values()),
        municipal_abatement=a_m,
        eac=eac(case, pf, w),
        municipal_benefit=b_m,
        benefit=sum(b_m.values()),
        vulnerable=vulnerable_benefit(case, pf),
    )


# --------------------------------------------------------------------------------------------
# Constraints (SPEC 4.3)
# --------------------------------------------------------------------------------------------


def leq(lhs: float, rhs: float) -> bool:
    """lhs <= rhs with a tiny absolute/relative tolerance."""
    return lhs <= rhs + TOL * max(1.0, abs(lhs), abs(rhs))


def unit_choices(j: Measure) -> list[int]:
    """0 <= u_j <= U_j; u_j = 0 or u_j >= N_j; committed: u_j = U_j; excluded: u_j = 0."""
    if j.status == "excluded":
        return [0]
    if j.status == "committed":
        return [j.max_units]
    return [0] + list(range(max(1, j.min_units), j.max_units + 1))


def groups_ok(case: Case, units: tuple[int, ...]) -> bool:
    """sum over a group's measures of y_j <= 1 (groups live inside one municipality)."""
    seen: set[tuple[str, str]] = set()
    for i, j in enumerate(case.measures):
        if j.group is None or not selected(units, i):
            continue
        key = (j.municipality, j.group)
        if key in seen:
            return False
        seen.add(key)
    return True


def requires_ok(case: Case, units: tuple[int, ...]) -> bool:
    """y_j <= y_requires(j)."""
    index = {j.id: i for i, j in enumerate(case.measures)}
    return all(not selected(units, i) or selected(units, index[j.requires])
               for i, j in enumerate(case.measures) if j.requires is not None)


def total_budget_ok(case: Case, f: Figures) -> bool:
    """I <= budget.total_eur."""
    cap = case.setting("budget.total_eur")
    return cap is None or leq(f.investment, _number(cap))


def municipal_budgets_ok(case: Case, f: Figures) -> bool:
    """I_m <= budget_eur_m."""
    return all(m.budget_eur is None or leq(f.municipal_investment[m.id], m.budget_eur)
               for m in case.municipalities.values())


def cluster_budgets_ok(case: Case, f: Figures) -> bool:
    """cluster investment <= budget.cluster_eur[c]."""
    caps = case.setting("budget.cluster_eur") or {}
    return all(leq(f.cluster_investment.get(str(c), 0.0), _number(cap))
               for c, cap in caps.items() if cap is not None)


def required_reduction(case: Case, members: Iterable[Municipality]) -> float:
    """R_S = max(0, reduction * sum_{m in S} baseline_m - sum_{m in S} achieved_m)."""
    members = list(members)
    reduction = _number(case.setting("target.reduction"))
    return max(0.0, reduction * sum(m.baseline_t for m in members)
               - sum(m.achieved_t for m in members))


def target_scopes(case: Case) -> list[list[Municipality]]:
    """The scopes S of the target: joint = all; cluster = each cluster; each = each municipality."""
    scope = case.setting("target.scope", "joint")
    muns = list(case.municipalities.values())
    if scope == "joint":
        return [muns]
    if scope == "each":
        return [[m] for m in muns]
    if scope == "cluster":
        if any(m.cluster is None for m in muns):
            raise ValueError("target.scope cluster with a municipality without a cluster")
        clusters = sorted({m.cluster for m in muns})
        return [[m for m in muns if m.cluster == c] for c in clusters]
    raise ValueError(f"unknown target.scope {scope!r}")


def target_ok(case: Case, f: Figures, scopes: list[tuple[list[Municipality], float]] | None) -> bool:
    """A_S >= R_S for every scope S (scopes: [(members of S, R_S)], None = no target)."""
    if scopes is None:
        return True
    return all(leq(required, sum(f.municipal_abatement[m.id] for m in members))
               for members, required in scopes)


def vulnerable_share_ok(case: Case, f: Figures) -> bool:
    """V >= vulnerable_share_min * B."""
    share = case.setting("justice.vulnerable_share_min")
    return share is None or leq(_number(share) * f.benefit, f.vulnerable)


def population_floor_ok(case: Case, f: Figures) -> bool:
    """B_m >= population_floor * (pop_m / pop_total) * B for every m."""
    floor = case.setting("justice.population_floor")
    if floor is None:
        return True
    pop_total = sum(m.population for m in case.municipalities.values())
    return all(leq(_number(floor) * m.population / pop_total * f.benefit, f.municipal_benefit[m.id])
               for m in case.municipalities.values())


def gini_lhs(case: Case, b_m: dict[str, float]) -> float:
    """sum_{m<n} |pop_n B_m - pop_m B_n|."""
    muns = list(case.municipalities.values())
    return sum(abs(n.population * b_m[m.id] - m.population * b_m[n.id])
               for m, n in itertools.combinations(muns, 2))


def gini(case: Case, b_m: dict[str, float]) -> float | None:
    """Population-weighted Gini of x_m = B_m/pop_m: gini_lhs / (pop_total * B); None if B = 0."""
    pop_total = sum(m.population for m in case.municipalities.values())
    total = sum(b_m.values())
    return None if total == 0 else gini_lhs(case, b_m) / (pop_total * total)


def gini_ok(case: Case, f: Figures) -> bool:
    """sum_{m<n} |pop_n B_m - pop_m B_n| <= gini_max * pop_total * B."""
    cap = case.setting("justice.gini_max")
    if cap is None:
        return True
    pop_total = sum(m.population for m in case.municipalities.values())
    return leq(gini_lhs(case, f.municipal_benefit), _number(cap) * pop_total * f.benefit)


def maxmin_ok(case: Case, f: Figures, bound: float) -> bool:
    """Stage 2: B_m / pop_m >= t* (1 - maxmin_tolerance) for every m."""
    return all(leq(bound, f.municipal_benefit[m.id] / m.population)
               for m in case.municipalities.values())


# --------------------------------------------------------------------------------------------
# Objectives (SPEC 4.4) and search
# --------------------------------------------------------------------------------------------


def objective_value(case: Case, f: Figures) -> float:
    name = case.setting("objective")
    if name == "max_abatement":
        return f.abatement
    if name == "min_investment":
        return f.investment
    if name == "min_net_cost":
        return f.eac
    if name == "max_weighted_benefit":
        return weighted_benefit(case, f.portfolio)
    raise ValueError(f"objective {name!r} not supported by the reference solver")


def count_portfolios(case: Case) -> int:
    """Size of the enumeration: prod_j |unit choices| * 2^|programmes|."""
    return math.prod(len(unit_choices(j)) for j in case.measures) * 2 ** len(case.programmes)


def portfolios(case: Case) -> Iterator[Portfolio]:
    """Every u satisfying status/min_units/groups/requires, with every valid set of running P."""
    pids = sorted(case.programmes)
    subsets = [frozenset(c) for k in range(len(pids) + 1) for c in itertools.combinations(pids, k)]
    for units in itertools.product(*(unit_choices(j) for j in case.measures)):
        if not (groups_ok(case, units) and requires_ok(case, units)):
            continue
        for running in subsets:
            pf = Portfolio(tuple(units), running)
            if programmes_can_run(case, pf):
                yield pf


def feasible(case: Case, f: Figures, scopes) -> bool:
    """All constraints of SPEC 4.3 except the maxmin bound."""
    return (total_budget_ok(case, f) and municipal_budgets_ok(case, f)
            and cluster_budgets_ok(case, f) and target_ok(case, f, scopes)
            and vulnerable_share_ok(case, f) and population_floor_ok(case, f)
            and gini_ok(case, f))


def _infeasible() -> dict:
    return {"status": "infeasible", "objective": None, "investment_eur": None,
            "annual_abatement_t": None, "eac_eur": None, "units": {}, "maxmin_t": None}


def solve_case(case_dir: str | Path, overrides: dict | None = None) -> dict:
    """Solve the case at ``case_dir`` exactly by enumeration.

    Returns {"status", "objective", "investment_eur", "annual_abatement_t", "eac_eur",
    "units" ({measure_id: units} for every measure, 0 if not selected), "maxmin_t"}.
    """
    case = load_case(case_dir, overrides)
    name = case.setting("objective")
    if name not in OBJECTIVE_SENSE:
        raise ValueError(f"objective {name!r} not supported by the reference solver")
    if case.setting("justice.benefit", "abatement") not in BENEFIT_KINDS:
        raise ValueError(f"unknown justice.benefit {case.setting('justice.benefit')!r}")
    size = count_portfolios(case)
    if size > MAX_PORTFOLIOS:
        raise ValueError(f"{size} portfolios: too many for the brute-force reference")

    scopes = None
    if case.setting("target.reduction") is not None:
        scopes = [(members, required_reduction(case, members)) for members in target_scopes(case)]

    candidates = [f for f in (evaluate(case, pf) for pf in portfolios(case))
                  if feasible(case, f, scopes)]
    if not candidates:
        return _infeasible()

    t_star = None
    if bool(case.setting("justice.maxmin", False)):
        t_star = max(per_capita_min(case, f.municipal_benefit) for f in candidates)
        tol = _number(case.setting("justice.maxmin_tolerance", 0.0))
        bound = t_star * (1.0 - tol)
        candidates = [f for f in candidates if maxmin_ok(case, f, bound)]

    pick = max if OBJECTIVE_SENSE[name] == "max" else min
    best = pick(candidates, key=lambda f: objective_value(case, f))
    return {
        "status": "optimal",
        "objective": objective_value(case, best),
        "investment_eur": best.investment,
        "annual_abatement_t": best.abatement,
        "eac_eur": best.eac,
        "units": {j.id: best.portfolio.units[i] for i, j in enumerate(case.measures)},
        "maxmin_t": t_star,
    }
