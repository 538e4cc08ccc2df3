"""Splitting a joint programme's least cost c(N) among its members (SPEC 5 `allocate`).

The cooperative cost game: players are municipalities (or clusters), c(S) the least investment of
coalition S meeting its members' target (`coalitions.py`). Rules:

- shapley: phi_i = sum_{S not containing i} |S|!(n-|S|-1)!/n! (c(S+i) - c(S)), exact up to
  `EXACT_PLAYERS` players, else the mean marginal cost over sampled orders of arrival, with a 95 %
  confidence interval (fixed seed);
- owen: the Shapley value of a game whose players arrive union by union (clusters as unions,
  in random order, then members in random order inside each): exact when the coalitions it needs
  are few, else sampled orders consistent with the unions;
- proportional: c(N) in proportion to population or baseline emissions;
- benefit: c(N) in proportion to the benefit (`justice.benefit`) each member gets from the joint
  least-cost portfolio;
- least-core: min eps s.t. x(S) <= c(S) + eps for every coalition S, x(N) = c(N) (one LP, HiGHS).

Every rule reports each member's stand-alone cost, its share, its saving, and whether the
allocation is in the core (no coalition pays more than on its own), naming the worst coalition.
"""
from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np
import pandas as pd

from .case import Case
from .charts import pyplot, save
from .coalitions import CoalitionCosts, stand_alone_infeasible
from .errors import CaseError, InfeasibleError, Problem, SolverError
from .results import atomic_folder, write_csv
from .settings import settings_dict

RULES = ("shapley", "owen", "proportional", "benefit", "least-core")
EXACT_PLAYERS = 12
Z_95 = 1.959963984540054
CORE_TOLERANCE = 1e-6

Cost = Callable[[frozenset], float]


# --- the cooperative game -------------------------------------------------------------------------

def all_coalitions(players: Sequence) -> list[frozenset]:
    """Every non-empty coalition of `players`, smallest first."""
    return [frozenset(c) for size in range(1, len(players) + 1) for c in itertools.combinations(players, size)]


def _weights(n: int) -> np.ndarray:
    """s!(n-s-1)!/n! for s = 0..n-1: the chance that exactly the s players before i are a given set."""
    return np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)])


def shapley_exact(players: Sequence, cost: Cost) -> dict:
    """The Shapley value by the subset formula (2^(n-1) marginal costs per player)."""
    n = len(players)
    weight = _weights(n)
    value = {}
    for i in players:
        others = [p for p in players if p != i]
        total = 0.0
        for size in range(n):
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                total += weight[size] * (cost(s | {i}) - cost(s))
        value[i] = total
    return value


def owen_exact(unions: Sequence[Sequence], cost: Cost) -> dict:
    """The Owen value: for i in union k, the sum over unions R (not k) and T in k without i of
    |R|!(u-|R|-1)!/u! * |T|!(b-|T|-1)!/b! * (c(Q_R + T + i) - c(Q_R + T))."""
    u = len(unions)
    union_weight = _weights(u)
    value = {}
    for k, union in enumerate(unions):
        other_unions = [frozenset(x) for j, x in enumerate(unions) if j != k]
        inner_weight = _weights(len(union))
        for i in union:
            mates = [p for p in union if p != i]
            total = 0.0
            for r in range(u):
                for chosen in itertools.combinations(other_unions, r):
                    q = frozenset().union(*chosen)
                    for t in range(len(union)):
                        for inner in itertools.combinations(mates, t):
                            s = q | frozenset(inner)
                            total += union_weight[r] * inner_weight[t] * (cost(s | {i}) - cost(s))
            value[i] = total
    return value


def owen_coalitions(unions: Sequence[Sequence]) -> set[frozenset]:
    """The coalitions the exact Owen value needs: unions of whole other unions plus part of one."""
    needed = set()
    for k, union in enumerate(unions):
        others = [frozenset(x) for j, x in enumerate(unions) if j != k]
        for r in range(len(others) + 1):
            for chosen in itertools.combinations(others, r):
                q = frozenset().union(*chosen)
                needed.update(q | frozenset(inner) for t in range(len(union) + 1) for inner in itertools.combinations(union, t))
    return needed


def owen_coalition_count(unions: Sequence[Sequence]) -> int:
    """How many coalitions (at most) the exact Owen value needs, without listing them."""
    return sum(2 ** (len(unions) - 1) * 2 ** len(union) for union in unions)


def sample_orders(players: Sequence, samples: int, seed: int, unions: Sequence[Sequence] | None = None) -> list[tuple]:
    """`samples` random orders of arrival (seeded); with `unions`, whole unions arrive one after
    another in random order, members in random order inside each (orders consistent with unions)."""
    rng = np.random.default_rng(seed)
    orders = []
    for _ in range(samples):
        if unions is None:
            orders.append(tuple(players[k] for k in rng.permutation(len(players))))
        else:
            order: list = []
            for k in rng.permutation(len(unions)):
                union = list(unions[k])
                order.extend(union[j] for j in rng.permutation(len(union)))
            orders.append(tuple(order))
    return orders


def prefixes(orders: Iterable[tuple]) -> set[frozenset]:
    """Every coalition formed by the first players of an order."""
    return {frozenset(order[:k]) for order in orders for k in range(1, len(order) + 1)}


def sampled_value(orders: Sequence[tuple], cost: Cost) -> tuple[dict, dict]:
    """Mean marginal cost of every player over the orders, and the half-width of its 95 % CI."""
    players = orders[0]
    marginals = {p: [] for p in players}
    for order in orders:
        before = frozenset()
        for player in order:
            after = before | {player}
            marginals[player].append(cost(after) - cost(before))
            before = after
    mean = {p: float(np.mean(v)) for p, v in marginals.items()}
    half = {p: float(Z_95 * np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.inf for p, v in marginals.items()}
    return mean, half


def least_core(players: Sequence, cost: Cost, coalitions: Iterable[frozenset]) -> tuple[dict, float]:
    """min eps s.t. x(S) - eps <= c(S) for every proper coalition with finite c(S), x(N) = c(N)."""
    n = len(players)
    grand = frozenset(players)
    index = {p: k for k, p in enumerate(players)}
    rows = [s for s in coalitions if s and s != grand and math.isfinite(cost(s))]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n + 1, len(rows) + 1
    lp.col_cost_ = np.r_[np.zeros(n), 1.0]
    lp.col_lower_, lp.col_upper_ = np.full(n + 1, -inf), np.full(n + 1, inf)
    starts, indices, values = [0], [], []
    for s in rows + [grand]:
        cols = sorted(index[p] for p in s)
        indices += cols + ([n] if s != grand else [])
        values += [1.0] * len(cols) + ([-1.0] if s != grand else [])
        starts.append(len(indices))
    lp.row_lower_ = np.r_[np.full(len(rows), -inf), cost(grand)]
    lp.row_upper_ = np.r_[[cost(s) for s in rows], cost(grand)]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = starts, indices, values
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise SolverError(f"the least-core LP was not solved ({h.modelStatusToString(h.getModelStatus())})")
    x = list(h.getSolution().col_value)
    return {p: x[index[p]] for p in players}, x[n]


def worst_coalition(allocation: Mapping, cost: Cost, coalitions: Iterable[frozenset]) -> tuple[frozenset | None, float]:
    """The coalition whose members pay most above what they would pay on their own: max x(S) - c(S)
    over the proper coalitions with finite c(S) (the allocation is in the core iff that is <= 0)."""
    grand = frozenset(allocation)
    worst, excess = None, -math.inf
    for s in sorted(coalitions, key=lambda c: (len(c), sorted(c))):
        if not s or s == grand or not math.isfinite(cost(s)):
            continue
        e = sum(allocation[p] for p in s) - cost(s)
        if e > excess + 1e-9:
            worst, excess = s, e
    return worst, excess


# --- the game of a case ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Players:
    """Who shares the cost: labels, the municipalities each stands for, and the unions (clusters)."""

    kind: str  # municipalities | clusters
    members: dict  # label -> frozenset of municipality ids
    unions: tuple  # tuple of tuples of labels (clusters; a municipality without one is its own)

    @property
    def labels(self) -> list[str]:
        return list(self.members)

    def municipalities(self, coalition: Iterable[str]) -> frozenset:
        """The municipalities of a coalition of players."""
        return frozenset().union(*(self.members[p] for p in coalition))


def players_of(case: Case, kind: str = "municipalities") -> Players:
    """The players of a case, in file order, and the clusters as unions."""
    munis = case.municipalities
    cluster = munis["cluster"].where(munis["cluster"].notna(), munis.index.to_series())
    if kind == "municipalities":
        members = {m: frozenset([m]) for m in munis.index}
        unions = tuple(tuple(str(m) for m in ms) for ms in cluster.groupby(cluster, sort=False).groups.values())
    elif kind == "clusters":
        members = {str(c): frozenset(ms) for c, ms in cluster.groupby(cluster, sort=False).groups.items()}
        unions = tuple((c,) for c in members)
    else:
        raise CaseError([Problem("--players", None, "players", "must be municipalities or clusters", kind)])
    return Players(kind, members, unions)


@dataclass(frozen=True)
class Cooperation:
    """The value of cooperation: sum of stand-alone least costs minus the joint least cost c(N)."""

    stand_alone: dict  # player -> c({i}) (inf when it cannot meet its own target)
    joint_eur: float
    stand_alone_total_eur: float

    @property
    def value_eur(self) -> float:
        return self.stand_alone_total_eur - self.joint_eur


def cooperation(costs: CoalitionCosts, players: Players) -> Cooperation:
    """Stand-alone and joint least costs of the players (solving what is missing)."""
    singles = [players.members[p] for p in players.labels]
    grand = players.municipalities(players.labels)
    costs.solve(singles + [grand], label="stand-alone")
    if not math.isfinite(costs[grand]):
        raise InfeasibleError([f"the coalition of all {len(players.labels)} {players.kind} cannot meet its target with the programmes it can run "
                               "(the total budget does not apply here); `measureopt solve` with objective min_investment explains why"])
    stand_alone = {p: costs[players.members[p]] for p in players.labels}
    return Cooperation(stand_alone, costs[grand], float(sum(stand_alone.values())))


@dataclass
class Allocation:
    """The split of c(N): per player table, and the run's summary (rule, method, core check)."""

    table: pd.DataFrame
    summary: dict


def _need_finite(costs: CoalitionCosts, coalitions: Iterable[frozenset], rule: str) -> None:
    blocked = stand_alone_infeasible(costs, coalitions)
    if blocked:
        raise InfeasibleError([f"{rule} needs c(S) of every coalition it uses, but {len(blocked)} cannot meet their target on their own, "
                               f"e.g. {', '.join(blocked[:3])}; use --rule least-core or proportional, or lower target.reduction"])


def _cost_of(costs: CoalitionCosts, players: Players) -> Cost:
    return lambda coalition: costs[players.municipalities(coalition)]


def _shapley(costs: CoalitionCosts, players: Players, samples: int, seed: int, unions: bool,
             exact_players: int) -> tuple[dict, dict | None, dict]:
    """Shapley (or, with unions, Owen) value: exact when affordable, else sampled with a CI."""
    labels, cost = players.labels, _cost_of(costs, players)
    groups = [list(u) for u in players.unions]
    if unions:
        exact = owen_coalition_count(groups) <= 2 ** exact_players
        needed = owen_coalitions(groups) if exact else None
    else:
        exact = len(labels) <= exact_players
        needed = all_coalitions(labels) if exact else None
    if exact:
        _solve_players(costs, players, needed, "coalitions")
        _need_finite(costs, [players.municipalities(s) for s in needed], "the exact value")
        value = owen_exact(groups, cost) if unions else shapley_exact(labels, cost)
        return value, None, {"method": "exact"}
    orders = sample_orders(labels, samples, seed, groups if unions else None)
    needed = prefixes(orders)
    _solve_players(costs, players, needed, "sampled coalitions")
    _need_finite(costs, [players.municipalities(s) for s in needed], "the sampled value")
    value, half = sampled_value(orders, cost)
    return value, half, {"method": "sampled", "samples": samples, "seed": seed, "confidence": 0.95}


def _solve_players(costs: CoalitionCosts, players: Players, coalitions: Iterable[frozenset], label: str) -> None:
    costs.solve([players.municipalities(s) for s in coalitions], label=label)


def _proportional(players: Players, weight: pd.Series, total: float, what: str) -> dict:
    by_player = {p: float(weight.reindex(list(players.members[p])).sum()) for p in players.labels}
    whole = sum(by_player.values())
    if whole <= 0:
        raise CaseError([Problem("--rule", None, "rule", f"cannot split in proportion to {what}: it is zero for every member")])
    return {p: total * w / whole for p, w in by_player.items()}


def _core_coalitions(costs: CoalitionCosts, players: Players, exact_players: int) -> tuple[list[frozenset], str]:
    """The coalitions the core check covers: all of them up to `exact_players` players; beyond, the
    singletons, the unions, every 'all but one', and every coalition this run solved."""
    labels = players.labels
    if len(labels) <= exact_players:
        checked = all_coalitions(labels)
        _solve_players(costs, players, checked, "core check")
        return checked, "all coalitions"
    grand = frozenset(labels)
    checked = {frozenset([p]) for p in labels} | {frozenset(u) for u in players.unions} | {grand - {p} for p in labels}
    _solve_players(costs, players, checked, "core check")
    owner = {m: p for p, ms in players.members.items() for m in ms}
    for s in costs:
        coalition = {owner[m] for m in s}
        if s and players.municipalities(coalition) == s:
            checked.add(frozenset(coalition))
    return sorted(checked, key=lambda c: (len(c), sorted(c))), "singletons, unions, all-but-one and every coalition solved"


def allocate(case: Case, rule: str, *, players: str = "municipalities", by: str = "population",
             samples: int = 200, seed: int | None = None, costs: CoalitionCosts | None = None,
             exact_players: int = EXACT_PLAYERS) -> Allocation:
    """Split the joint least cost c(N) among the players by `rule` (see module doc).

    `costs` carries the coalition cache between calls (a new one is made if not given); `seed`
    defaults to the case's solver.seed. Up to `exact_players` players every coalition is solved
    (exact values, full core check); beyond, Shapley and Owen are sampled.
    """
    if rule not in RULES:
        raise CaseError([Problem("--rule", None, "rule", f"must be one of {', '.join(RULES)}", rule)])
    costs = costs or CoalitionCosts(case)
    group = players_of(case, players)
    labels = group.labels
    seed = case.settings.solver.seed if seed is None else seed
    coop = cooperation(costs, group)
    cost = _cost_of(costs, group)
    grand = frozenset(labels)
    half = None
    details: dict = {"method": "exact"}
    if rule in ("shapley", "owen"):
        share, half, details = _shapley(costs, group, samples, seed, unions=rule == "owen", exact_players=exact_players)
    elif rule == "proportional":
        column = {"population": "population", "baseline": "baseline_emissions_t"}.get(by)
        if column is None:
            raise CaseError([Problem("--by", None, "by", "must be population or baseline", by)])
        share = _proportional(group, case.municipalities[column], coop.joint_eur, by)
        details["by"] = by
    elif rule == "benefit":
        benefit = pd.Series(costs.results[group.municipalities(labels)].benefit_by_municipality, dtype=float)
        share = _proportional(group, benefit, coop.joint_eur, f"the {case.settings.justice.benefit} benefit of the joint portfolio")
        details["benefit"] = case.settings.justice.benefit
    if rule == "least-core" and len(labels) > exact_players:
        raise CaseError([Problem("--rule", None, "rule", f"least-core enumerates every coalition: at most {exact_players} players "
                                 f"(this case has {len(labels)}); use --players clusters, owen or shapley")])
    checked, coverage = _core_coalitions(costs, group, exact_players)
    if rule == "least-core":
        share, epsilon = least_core(labels, cost, checked)
        details["epsilon_eur"] = epsilon
    worst, excess = worst_coalition(share, cost, checked)
    table = _table(case, group, coop, share, half)
    summary = {
        "case": case.name, "rule": rule, "players": players, "player_count": len(labels), **details,
        "joint_cost_eur": coop.joint_eur,
        "stand_alone_total_eur": coop.stand_alone_total_eur if math.isfinite(coop.stand_alone_total_eur) else None,
        "value_of_cooperation_eur": coop.value_eur if math.isfinite(coop.value_eur) else None,
        "in_core": bool(excess <= CORE_TOLERANCE * max(1.0, abs(coop.joint_eur))),
        "worst_coalition": None if worst is None else {
            "members": sorted(worst), "excess_eur": float(excess), "cost_eur": float(cost(worst)),
            "allocated_eur": float(sum(share[p] for p in worst))},
        "core_check": {"coalitions": sum(1 for c in checked if c != grand), "of": 2 ** len(labels) - 2, "which": coverage},
        "coalitions_solved": costs.solved,
        "settings": settings_dict(case.settings),
    }
    return Allocation(table, summary)


def _table(case: Case, group: Players, coop: Cooperation, share: dict, half: dict | None) -> pd.DataFrame:
    """One row per player: stand-alone cost, share, saving (and the CI of a sampled share)."""
    munis = case.municipalities
    rows = []
    for p in group.labels:
        alone = coop.stand_alone[p]
        finite = math.isfinite(alone)
        row = {
            "player": p,
            "name": munis.at[p, "name"] if group.kind == "municipalities" else None,
            "cluster": munis.at[p, "cluster"] if group.kind == "municipalities" else p,
            "municipalities": len(group.members[p]),
            "stand_alone_eur": alone if finite else None,
            "share_eur": share[p],
            "share_of_joint": share[p] / coop.joint_eur if coop.joint_eur else None,
            "saving_eur": alone - share[p] if finite else None,
            "saving_share": (alone - share[p]) / alone if finite and alone else None,
        }
        if half is not None:
            row["ci_low_eur"], row["ci_high_eur"] = share[p] - half[p], share[p] + half[p]
        rows.append(row)
    return pd.DataFrame(rows)


def share_chart(allocation: Allocation, path_stem: Path) -> None:
    """Share vs stand-alone cost per player (PNG and SVG); points below the diagonal save."""
    plt = pyplot()
    table = allocation.table
    fig, ax = plt.subplots(figsize=(7, 6))
    alone = table["stand_alone_eur"].astype(float) / 1e6
    share = table["share_eur"].astype(float) / 1e6
    if "ci_low_eur" in table:
        err = (table["ci_high_eur"] - table["share_eur"]).astype(float) / 1e6
        ax.errorbar(alone, share, yerr=err, fmt="o", color="tab:blue", ecolor="0.6", capsize=2, label="share (95 % CI)")
    else:
        ax.plot(alone, share, "o", color="tab:blue", label="share")
    top = float(np.nanmax(np.r_[alone.to_numpy(), share.to_numpy(), 0.0])) * 1.05 or 1.0
    ax.plot([0, top], [0, top], "--", color="0.5", label="pays its stand-alone cost")
    if len(table) <= 15:
        for label, x, y in zip(table["player"], alone, share):
            if np.isfinite(x):
                ax.annotate(str(label), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    s = allocation.summary
    ax.set_xlabel("stand-alone least cost, M EUR")
    ax.set_ylabel("allocated share, M EUR")
    ax.set_title(f"{s['rule']} allocation of {s['joint_cost_eur'] / 1e6:,.2f} M EUR among {s['player_count']} {s['players']}")
    ax.legend(loc="upper left")
    save(fig, path_stem)


def write_allocation(allocation: Allocation, out: str | Path) -> Path:
    """allocation.csv, allocation.json and the chart (PNG, SVG), written atomically."""
    with atomic_folder(Path(out)) as staging:
        write_csv(allocation.table, staging / "allocation.csv")
        (staging / "allocation.json").write_text(json.dumps(allocation.summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        share_chart(allocation, staging / "allocation")
    return Path(out)


def allocation_headline(allocation: Allocation, out: str | Path) -> str:
    """The lines `allocate` prints: c(N), the value of cooperation, the core check."""
    s = allocation.summary
    value = s["value_of_cooperation_eur"]
    worst = s["worst_coalition"]
    lines = [
        f"{s['rule']} ({s['method']}{', %d sampled orders' % s['samples'] if s['method'] == 'sampled' else ''}): "
        f"EUR {s['joint_cost_eur']:,.0f} split among {s['player_count']} {s['players']}",
        "value of cooperation: " + ("n/a (some member cannot meet its target alone)" if value is None else f"EUR {value:,.0f}"),
        ("in the core" if s["in_core"] else "NOT in the core")
        + (f"; worst coalition {'+'.join(worst['members'])} (pays EUR {abs(worst['excess_eur']):,.0f} "
           f"{'more' if worst['excess_eur'] > 0 else 'less'} than on its own)" if worst else "")
        + f"; checked {s['core_check']['coalitions']:,} of {s['core_check']['of']:,} coalitions",
        f"allocation.csv and the chart written to {out}",
    ]
    return "\n".join(lines)
