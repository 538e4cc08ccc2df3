"""Cost allocation (`allocate`): game theory checked against hand-computed games and brute force,
coalition costs against the independent brute-force solver, and the command end to end."""
from __future__ import annotations

import csv
import itertools
import json
import math
import random

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import measureopt as mo
from measureopt.allocation import (
    all_coalitions, allocate, least_core, owen_exact, players_of, prefixes, sample_orders, sampled_value,
    shapley_exact, worst_coalition,
)
from measureopt.cli import main
from measureopt.coalitions import CoalitionCosts
from tests.reference.bruteforce import solve_case

# --- a hand-computed 3-player game ------------------------------------------------------------------
HAND = {(): 0, ("1",): 10, ("2",): 12, ("3",): 8, ("1", "2"): 18, ("1", "3"): 15, ("2", "3"): 16, ("1", "2", "3"): 22}


def hand_cost(coalition) -> float:
    return HAND[tuple(sorted(coalition))]


def test_shapley_of_a_hand_computed_three_player_game():
    # player 1's marginal costs over the 6 orders: 10, 10, 6, 6, 7, 6 -> 45 / 6 = 7.5
    # player 2's: 8, 7, 12, 12, 7, 8 -> 54 / 6 = 9; player 3: 22 - 16.5 = 5.5
    value = shapley_exact(["1", "2", "3"], hand_cost)
    assert value == pytest.approx({"1": 7.5, "2": 9.0, "3": 5.5})


def test_least_core_of_the_hand_game():
    # pairs give x1 >= 6 - e, x2 >= 7 - e, x3 >= 4 - e; with x(N) = 22: 17 - 3e <= 22, so e* = -5/3
    x, eps = least_core(["1", "2", "3"], hand_cost, all_coalitions(["1", "2", "3"]))
    assert eps == pytest.approx(-5 / 3)
    assert [x[p] for p in "123"] == pytest.approx([6 + 5 / 3, 7 + 5 / 3, 4 + 5 / 3])


def _random_game(players, seed, symmetric=(), null=None):
    """Subadditive-ish random cost game; `symmetric` players are interchangeable, `null` adds nothing."""
    rng = random.Random(seed)
    table = {}

    def key(coalition):
        s = set(coalition) - {null}
        if symmetric and symmetric[1] in s and symmetric[0] not in s:
            s = (s - {symmetric[1]}) | {symmetric[0]}
        return frozenset(s)

    def cost(coalition):
        k = key(coalition)
        if not k:
            return 0.0
        if k not in table:
            table[k] = round(rng.uniform(5, 10) * len(k) ** 0.8, 3)
        return table[k]
    return cost


def _brute_force_value(orders, cost):
    total = {}
    for order in orders:
        before = frozenset()
        for p in order:
            total[p] = total.get(p, 0.0) + cost(before | {p}) - cost(before)
            before = before | {p}
    return {p: v / len(orders) for p, v in total.items()}


@pytest.mark.parametrize("seed", range(3))
def test_exact_shapley_is_the_average_over_every_order(seed):
    players = list("abcde")
    cost = _random_game(players, seed)
    exact = shapley_exact(players, cost)
    assert exact == pytest.approx(_brute_force_value(list(itertools.permutations(players)), cost))
    assert sum(exact.values()) == pytest.approx(cost(frozenset(players)))  # efficiency


def test_symmetric_players_pay_the_same_and_a_null_player_nothing():
    players = list("abcde")
    cost = _random_game(players, 7, symmetric=("a", "b"), null="e")
    value = shapley_exact(players, cost)
    assert value["a"] == pytest.approx(value["b"])
    assert value["e"] == pytest.approx(0.0, abs=1e-9)


def test_owen_is_shapley_with_singleton_unions_or_one_union():
    players = list("abcde")
    cost = _random_game(players, 3)
    shapley = shapley_exact(players, cost)
    assert owen_exact([[p] for p in players], cost) == pytest.approx(shapley)
    assert owen_exact([players], cost) == pytest.approx(shapley)


def test_owen_is_the_average_over_union_consistent_orders():
    unions = [["a", "b"], ["c"], ["d", "e", "f"]]
    players = [p for u in unions for p in u]
    cost = _random_game(players, 11)
    orders = [tuple(p for k in union_order for p in inner[k])
              for union_order in itertools.permutations(range(3))
              for inner in ({0: a, 1: b, 2: c} for a in itertools.permutations(unions[0])
                            for b in itertools.permutations(unions[1]) for c in itertools.permutations(unions[2]))]
    assert len(orders) == 6 * 2 * 1 * 6
    owen = owen_exact(unions, cost)
    assert owen == pytest.approx(_brute_force_value(orders, cost))
    assert owen != pytest.approx(shapley_exact(players, cost))  # the unions matter here


@pytest.mark.parametrize("unions", [None, [["a", "b", "c"], ["d", "e"], ["f", "g", "h"]]])
def test_sampled_values_converge_to_the_exact_ones_within_their_ci(unions):
    players = list("abcdefgh")
    cost = _random_game(players, 5)
    exact = owen_exact(unions, cost) if unions else shapley_exact(players, cost)
    mean, half = sampled_value(sample_orders(players, 3000, seed=0, unions=unions), cost)
    assert sum(mean.values()) == pytest.approx(cost(frozenset(players)))  # every order adds up to c(N)
    assert all(abs(mean[p] - exact[p]) <= 1.5 * half[p] for p in players)  # 95 % CI, with slack for 8 at once
    small_mean, small_half = sampled_value(sample_orders(players, 100, seed=0, unions=unions), cost)
    assert max(small_half.values()) > max(half.values()) * 3  # the CI narrows like 1/sqrt(samples)
    if unions:
        for order in sample_orders(players, 50, seed=1, unions=unions):
            positions = [sorted(order.index(p) for p in u) for u in unions]
            assert all(pos == list(range(pos[0], pos[0] + len(pos))) for pos in positions)  # unions stay together


def test_least_core_epsilon_matches_a_grid_enumeration():
    players = ["1", "2", "3"]
    for seed in range(3):
        cost = _random_game(players, seed)
        coalitions = all_coalitions(players)
        x, eps = least_core(players, cost, coalitions)
        grand = cost(frozenset(players))
        _, excess = worst_coalition(x, cost, coalitions)
        assert excess == pytest.approx(eps, abs=1e-7)
        step = grand / 600
        a, b = np.meshgrid(np.arange(-grand, 2 * grand, step), np.arange(-grand, 2 * grand, step))
        shares = {"1": a, "2": b, "3": grand - a - b}
        worst = np.max([sum(shares[p] for p in s) - cost(s) for s in coalitions if len(s) < 3], axis=0)
        best = float(worst.min())  # the least core's epsilon, by enumerating a grid of allocations
        assert best - 2 * step <= eps <= best + 1e-9


# --- coalition costs of a hand-computed case ----------------------------------------------------------

def write_three_towns(directory, reduction=0.1, extra=None):
    """A, B: 1 t/yr per EUR 1,000 unit (up to 20); C: EUR 2,000 per unit; all through a programme that
    halves capex, needs 2 members and costs EUR 1,000 to run. Baselines 100 t/yr each, nothing achieved."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = {"name": "three towns", "objective": "min_investment", "target": {"reduction": reduction, "scope": "joint"},
                **(extra or {})}
    (directory / "case.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    with open(directory / "municipalities.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["municipality", "cluster", "population", "households", "baseline_emissions_t"])
        w.writerows([["A", "hills", 1000, 400, 100], ["B", "hills", 3000, 1200, 100], ["C", "valley", 2000, 800, 100]])
    with open(directory / "measures.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["measure", "municipality", "sector", "max_units", "capex_eur", "co2_reduction_t", "lifetime_years", "programme"])
        w.writerows([["A-LED", "A", "public_lighting", 20, 1000, 1, 20, "JP"], ["B-LED", "B", "public_lighting", 20, 1000, 1, 20, "JP"],
                     ["C-LED", "C", "public_lighting", 20, 2000, 1, 20, "JP"]])
    with open(directory / "programmes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["programme", "min_members", "admin_cost_eur", "capex_discount"])
        w.writerow(["JP", 2, 1000, 0.5])
    return directory


THREE_TOWNS = {"A": 10000, "B": 10000, "C": 20000, "AB": 11000, "AC": 11500, "BC": 11500, "ABC": 16000}


def test_coalition_costs_of_the_hand_case(tmp_path):
    # AC: 20 t with the programme, both members buying: 500 x + 1000 y + 1000, x + y = 20, y >= 1 -> 11,500
    case = mo.load(write_three_towns(tmp_path / "towns"))
    costs = CoalitionCosts(case, workers=1, progress=False)
    coalitions = [frozenset(k) for k in THREE_TOWNS]
    costs.solve(coalitions)
    assert {"".join(sorted(s)): costs[s] for s in coalitions} == pytest.approx(THREE_TOWNS)


def test_every_rule_on_the_hand_case(tmp_path):
    case = mo.load(write_three_towns(tmp_path / "towns"))
    costs = CoalitionCosts(case, workers=1, progress=False)
    shapley = allocate(case, "shapley", costs=costs)
    solved = costs.solved
    # orders ABC ACB BAC BCA CAB CBA give A: 10000 10000 1000 4500 -8500 4500 -> 3583.33; C: 53000 / 6
    assert dict(zip(shapley.table["player"], shapley.table["share_eur"])) == pytest.approx(
        {"A": 21500 / 6, "B": 21500 / 6, "C": 53000 / 6})
    s = shapley.summary
    assert s["value_of_cooperation_eur"] == pytest.approx(40000 - 16000)
    assert s["in_core"] is False  # A and C pay 12,416.67 together, 11,500 on their own
    assert s["worst_coalition"]["members"] == ["A", "C"] and s["worst_coalition"]["excess_eur"] == pytest.approx(21500 / 6 + 53000 / 6 - 11500)
    assert list(shapley.table["saving_eur"]) == pytest.approx([10000 - 21500 / 6, 10000 - 21500 / 6, 20000 - 53000 / 6])

    owen = allocate(case, "owen", costs=costs)  # unions {A, B} (hills) and {C}: see test_owen_union_game_by_hand
    assert dict(zip(owen.table["player"], owen.table["share_eur"])) == pytest.approx({"A": 1750, "B": 1750, "C": 12500})
    proportional = allocate(case, "proportional", by="population", costs=costs)
    assert list(proportional.table["share_eur"]) == pytest.approx([16000 / 6, 16000 / 2, 16000 / 3])
    baseline = allocate(case, "proportional", by="baseline", costs=costs)
    assert list(baseline.table["share_eur"]) == pytest.approx([16000 / 3] * 3)
    benefit = allocate(case, "benefit", costs=costs)  # the joint portfolio abates 30 t in A and B, none in C
    abated = costs.results[frozenset("ABC")].benefit_by_municipality
    assert sum(abated.values()) == pytest.approx(30) and abated["C"] == 0
    assert list(benefit.table["share_eur"]) == pytest.approx([16000 * abated[m] / 30 for m in "ABC"])
    core = allocate(case, "least-core", costs=costs)
    assert core.summary["in_core"] is True and core.summary["epsilon_eur"] <= 0
    assert core.table["share_eur"].sum() == pytest.approx(16000)
    assert costs.solved == solved  # no rule solved a coalition twice


def test_owen_union_game_by_hand():
    """The Owen figures used above: the union game gives hills (11000 + 16000 - 20000) / 2 = 3500 and
    the valley 12500; inside hills A pays 1/2 (10000 + 1000) / 2 + 1/2 (-8500 + 4500) / 2 = 1750."""
    cost = lambda s: THREE_TOWNS.get("".join(sorted(s)), 0)  # noqa: E731
    assert owen_exact([["A", "B"], ["C"]], cost) == pytest.approx({"A": 1750, "B": 1750, "C": 12500})


def test_sampling_beyond_the_exact_limit_agrees_with_exact(tmp_path):
    case = mo.load(write_three_towns(tmp_path / "towns"))
    costs = CoalitionCosts(case, workers=1, progress=False)
    exact = allocate(case, "shapley", costs=costs)
    sampled = allocate(case, "shapley", costs=costs, samples=400, seed=3, exact_players=0)
    assert sampled.summary["method"] == "sampled" and sampled.summary["samples"] == 400
    t = sampled.table
    assert ((t["ci_low_eur"] <= exact.table["share_eur"] + 1e-6) & (exact.table["share_eur"] <= t["ci_high_eur"] + 1e-6)).all()
    again = allocate(case, "shapley", costs=costs, samples=400, seed=3, exact_players=0)
    assert again.table.equals(t)  # fixed seed, same answer


@pytest.mark.parametrize("seed", [2, 5])
def test_coalition_costs_match_the_brute_force_solver_on_restricted_files(tiny_case, tmp_path, seed):
    """c(S) against the reference solver run on case files holding only S's rows (no total budget)."""
    directory = tiny_case(seed, n_municipalities=3, target_scope="joint", programmes=True, justice={},
                          cluster_budget=False, statuses=False)
    case = mo.load(directory)
    costs = CoalitionCosts(case, workers=1, progress=False)
    ids = list(case.municipalities.index)
    coalitions = all_coalitions(ids)
    costs.solve(coalitions)
    for coalition in coalitions:
        sub = tmp_path / f"S{seed}-{'-'.join(sorted(coalition))}"
        sub.mkdir()
        settings = yaml.safe_load((directory / "case.yaml").read_text())
        settings.get("budget", {}).pop("total_eur", None)
        settings["budget"] = settings.get("budget") or None
        settings["objective"] = "min_investment"
        (sub / "case.yaml").write_text(yaml.safe_dump({k: v for k, v in settings.items() if v is not None}))
        for table, column in (("municipalities.csv", "municipality"), ("measures.csv", "municipality")):
            rows = list(csv.DictReader(open(directory / table, newline="", encoding="utf-8")))
            with open(sub / table, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(r for r in rows if r[column] in coalition)
        if (directory / "programmes.csv").exists():
            (sub / "programmes.csv").write_text((directory / "programmes.csv").read_text())
        reference = solve_case(sub)
        if reference["status"] == "infeasible":
            assert math.isinf(costs[coalition])
        else:
            assert costs[coalition] == pytest.approx(reference["investment_eur"], rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_of_cooperation_is_not_negative_when_programmes_give_discounts(tmp_path, seed):
    from benchmarks.generate import generate_case

    case = mo.load(generate_case(tmp_path / f"g{seed}", 4, 6, seed=seed))
    assert len(case.programmes) and (case.programmes["capex_discount"] > 0).all()
    coop = mo.cooperation(case, workers=1, progress=False)
    assert coop.value_eur >= -1e-6 * coop.joint_eur


def test_players_can_be_clusters(tmp_path):
    case = mo.load(write_three_towns(tmp_path / "towns"))
    group = players_of(case, "clusters")
    assert group.members == {"hills": frozenset("AB"), "valley": frozenset("C")}
    result = allocate(case, "shapley", players="clusters", costs=CoalitionCosts(case, workers=1, progress=False))
    assert dict(zip(result.table["player"], result.table["share_eur"])) == pytest.approx({"hills": 3500, "valley": 12500})


def test_allocate_command_writes_csv_json_and_charts(tmp_path):
    case = write_three_towns(tmp_path / "towns")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["allocate", str(case), "--rule", "shapley", "--out", str(out), "--workers", "1",
                                       "--quiet", "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["allocation.csv", "allocation.json", "allocation.png", "allocation.svg"]
    summary = json.loads((out / "allocation.json").read_text())
    assert summary["joint_cost_eur"] == pytest.approx(16000) and summary["coalitions_solved"] == 7
    first = (out / "allocation.csv").read_bytes(), (out / "allocation.svg").read_bytes()
    again = CliRunner().invoke(main, ["allocate", str(case), "--rule", "shapley", "--out", str(out), "--workers", "1",
                                      "--quiet", "--cache", str(tmp_path / "cache")])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "allocation.json").read_text())["coalitions_solved"] == 0  # all from the disk cache
    assert ((out / "allocation.csv").read_bytes(), (out / "allocation.svg").read_bytes()) == first


def test_allocate_errors_map_to_exit_codes(tmp_path):
    case = write_three_towns(tmp_path / "towns", reduction=0.5)  # 150 t/yr: A, B and C can give only 60
    assert CliRunner().invoke(main, ["allocate", str(case), "--rule", "shapley", "--workers", "1", "-q",
                                     "--out", str(tmp_path / "o")]).exit_code == 3
    no_target = write_three_towns(tmp_path / "t2")
    text = (no_target / "case.yaml").read_text().replace("target:", "old_target:")
    (no_target / "case.yaml").write_text(yaml.safe_dump({k: v for k, v in yaml.safe_load(text).items() if k != "old_target"}))
    assert CliRunner().invoke(main, ["allocate", str(no_target), "--rule", "owen", "-q", "--out", str(tmp_path / "o")]).exit_code == 2
    assert CliRunner().invoke(main, ["allocate", str(case), "--rule", "nucleolus", "-q"]).exit_code == 2


def test_sampled_prefixes_are_the_coalitions_needed():
    orders = sample_orders(list("abcd"), 5, seed=0)
    assert all(frozenset(o[:2]) in prefixes(orders) for o in orders)


@pytest.mark.parametrize("stored", ['{"A": {"investment_eur": 1.0, "status": "optimal"}}', "not json", '[{"members": ["A"]}]'])
def test_a_cache_from_another_version_is_solved_again(tmp_path, stored):
    """A cache file this version cannot read (an older format, a broken file) is ignored, not a crash."""
    from measureopt.coalitions import case_hash

    case = mo.load(write_three_towns(tmp_path / "towns"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"{case_hash(case)}.json").write_text(stored)
    costs = CoalitionCosts(case, cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert len(costs.results) == 1  # the empty coalition only
    result = allocate(case, "shapley", players="clusters", costs=costs)
    assert result.summary["joint_cost_eur"] == pytest.approx(16000)
