"""Self-checks of the brute-force reference against values computed by hand.

Run from the repository root:
    /work/venv/bin/python -m pytest tests/reference -q -p no:cacheprovider --rootdir=/work/main
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from .bruteforce import crf, gini, load_case, solve_case, unit_choices
from .tiny_cases import tiny_case_params, write_tiny_case

MUN_COLS = ["municipality", "cluster", "population", "households", "vulnerable_households",
            "baseline_emissions_t", "achieved_t", "budget_eur", "income_index"]
MEAS_COLS = ["measure", "municipality", "sector", "max_units", "min_units", "integer", "capex_eur",
             "fixed_capex_eur", "opex_eur", "bill_savings_eur", "co2_reduction_t",
             "lifetime_years", "households_served", "vulnerable_share", "group", "requires",
             "status", "programme"]
PROG_COLS = ["programme", "cluster", "min_members", "admin_cost_eur", "capex_discount"]


def _csv(path: Path, cols: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r.get(c) for c in cols])


def make_case(d: Path, settings: dict, muns: list[dict], measures: list[dict],
              programmes: list[dict] | None = None) -> Path:
    """Write a case; measures default to sector other, lifetime 20, integer true."""
    d.mkdir(parents=True, exist_ok=True)
    yaml.safe_dump({"name": "micro", **settings}, open(d / "case.yaml", "w"))
    muns = [{"population": 1000, "households": 400, "baseline_emissions_t": 1000, **m} for m in muns]
    measures = [{"sector": "other", "lifetime_years": 20, "integer": "true", **m} for m in measures]
    _csv(d / "municipalities.csv", MUN_COLS, muns)
    _csv(d / "measures.csv", MEAS_COLS, measures)
    if programmes:
        _csv(d / "programmes.csv", PROG_COLS, programmes)
    return d


# ---- 1. knapsack --------------------------------------------------------------------------------


@pytest.fixture
def knapsack(tmp_path):
    """A: 40k/30t, B: 50k/35t, C: 60k/50t, budget 100k.  A+C = 100k/80t is the optimum."""
    return make_case(tmp_path / "k", {"budget": {"total_eur": 100000}}, [{"municipality": "05016"}], [
        {"measure": "007", "municipality": "05016", "capex_eur": 40000, "co2_reduction_t": 30},
        {"measure": "B", "municipality": "05016", "capex_eur": 50000, "co2_reduction_t": 35},
        {"measure": "C", "municipality": "05016", "capex_eur": 60000, "co2_reduction_t": 50},
    ])


def test_knapsack_max_abatement(knapsack):
    r = solve_case(knapsack)
    assert r["status"] == "optimal"
    assert r["objective"] == pytest.approx(80)
    assert r["units"] == {"007": 1, "B": 0, "C": 1}  # ids stay text: "007", not 7
    assert r["investment_eur"] == pytest.approx(100000)
    assert r["maxmin_t"] is None


def test_knapsack_min_investment_with_target(knapsack):
    # R = 0.06 * 1000 = 60 t: A+B (65 t) costs 90k, A+C 100k, B+C 110k.
    r = solve_case(knapsack, {"objective": "min_investment", "target": {"reduction": 0.06}})
    assert r["objective"] == pytest.approx(90000)
    assert r["annual_abatement_t"] == pytest.approx(65)
    # 0.09 * 1000 = 90 t > 85 t possible under any budget: infeasible.
    r = solve_case(knapsack, {"objective": "min_investment", "target": {"reduction": 0.12},
                              "budget": {"total_eur": None}})
    assert r["status"] == "infeasible" and r["objective"] is None


# ---- 2. CRF and EAC -----------------------------------------------------------------------------


def test_crf_values():
    assert crf(0.04, 20) == pytest.approx(0.0735817503, rel=1e-9)
    assert crf(0.0, 20) == pytest.approx(0.05)


def test_min_net_cost_by_hand(tmp_path):
    # Y committed: 0.0735817503 * 100000 + 500 - 2000 = 5858.17503
    # X no-regret: 0.0735817503 * 10000 - 1000 = -264.18250 (selected)
    # Z: 0.0735817503 * 50000 - 1000 = +2679.09 (not selected)
    case = make_case(tmp_path / "e", {"objective": "min_net_cost",
                                      "economics": {"discount_rate": 0.04}}, [{"municipality": "a"}], [
        {"measure": "Y", "municipality": "a", "capex_eur": 100000, "opex_eur": 500,
         "bill_savings_eur": 2000, "co2_reduction_t": 1, "status": "committed"},
        {"measure": "X", "municipality": "a", "capex_eur": 10000, "bill_savings_eur": 1000,
         "co2_reduction_t": 1},
        {"measure": "Z", "municipality": "a", "capex_eur": 50000, "bill_savings_eur": 1000,
         "co2_reduction_t": 1},
    ])
    r = solve_case(case)
    assert r["objective"] == pytest.approx(5593.9925361, rel=1e-9)
    assert r["eac_eur"] == pytest.approx(5593.9925361, rel=1e-9)
    assert r["units"] == {"Y": 1, "X": 1, "Z": 0}
    # r = 0: CRF = 1/L = 0.05 -> Y: 5000 - 1500 = 3500; X: 500 - 1000 = -500
    r0 = solve_case(case, {"economics": {"discount_rate": 0}})
    assert r0["objective"] == pytest.approx(3000)


# ---- 3. Gini ------------------------------------------------------------------------------------


@pytest.fixture
def gini_case(tmp_path):
    """A (pop 1000): m1 30 t, m3 20 t; B (pop 3000): m2 10 t."""
    return make_case(tmp_path / "g", {}, [
        {"municipality": "A", "population": 1000}, {"municipality": "B", "population": 3000}], [
        {"measure": "m1", "municipality": "A", "capex_eur": 1, "co2_reduction_t": 30},
        {"measure": "m2", "municipality": "B", "capex_eur": 1, "co2_reduction_t": 10},
        {"measure": "m3", "municipality": "A", "capex_eur": 1, "co2_reduction_t": 20},
    ])


def test_gini_by_hand(gini_case):
    case = load_case(gini_case)
    # |3000*30 - 1000*10| / (4000 * 40) = 80000 / 160000
    assert gini(case, {"A": 30.0, "B": 10.0}) == pytest.approx(0.5)
    # |3000*50 - 1000*10| / (4000 * 60) = 140000 / 240000
    assert gini(case, {"A": 50.0, "B": 10.0}) == pytest.approx(7 / 12)
    assert gini(case, {"A": 0.0, "B": 0.0}) is None


def test_gini_cap_changes_the_optimum(gini_case):
    assert solve_case(gini_case)["objective"] == pytest.approx(60)  # all: Gini 0.583
    # cap 0.5: {m1, m2} has Gini exactly 0.5 (tolerance), 40 t
    assert solve_case(gini_case, {"justice": {"gini_max": 0.5}})["objective"] == pytest.approx(40)
    # cap 0.45: {m2, m3}: |60000 - 10000| / (4000 * 30) = 0.4167, 30 t
    r = solve_case(gini_case, {"justice": {"gini_max": 0.45}})
    assert r["objective"] == pytest.approx(30)
    assert r["units"] == {"m1": 0, "m2": 1, "m3": 1}


# ---- 4. programmes ------------------------------------------------------------------------------


def _programme_case(d: Path, prog_cluster, cluster_cap=None, min_members=None):
    """Each measure costs 100k > 85k municipal budget; through the programme (20 % off) 80k."""
    settings = {"budget": {"cluster_eur": {"north": cluster_cap}}} if cluster_cap else {}
    return make_case(d, settings, [
        {"municipality": "a", "cluster": "north", "budget_eur": 85000},
        {"municipality": "b", "cluster": "north", "budget_eur": 85000}], [
        {"measure": "pa", "municipality": "a", "capex_eur": 100000, "co2_reduction_t": 11,
         "programme": "P"},
        {"measure": "pb", "municipality": "b", "capex_eur": 100000, "co2_reduction_t": 13,
         "programme": "P"},
    ], [{"programme": "P", "cluster": prog_cluster, "min_members": min_members,
         "admin_cost_eur": 10000, "capex_discount": 0.2}])


def test_programme_makes_pair_affordable_only_jointly(tmp_path):
    r = solve_case(_programme_case(tmp_path / "p1", None))
    assert r["objective"] == pytest.approx(24)
    assert r["investment_eur"] == pytest.approx(170000)  # 2 * 80k + 10k admin
    # with min_members 3 the programme cannot run: nothing is affordable
    r = solve_case(_programme_case(tmp_path / "p2", None, min_members=3))
    assert r["objective"] == pytest.approx(0)


def test_programme_admin_counts_in_its_cluster_budget(tmp_path):
    # cluster programme: cluster investment 160k + 10k admin > 165k -> cannot run -> 0 t
    assert solve_case(_programme_case(tmp_path / "c1", "north", 165000))["objective"] == 0
    # programme without cluster: its admin counts only in the total -> 160k <= 165k
    assert solve_case(_programme_case(tmp_path / "c2", None, 165000))["objective"] == 24


# ---- 5. targets ---------------------------------------------------------------------------------


def test_target_scopes_clip_once(tmp_path):
    # A: baseline 100, achieved 50; B: baseline 100. reduction 0.3.
    # joint / cluster: R = max(0, 60 - 50) = 10 -> a1 (15 t, 5k). each: R_A = 0, R_B = 30 -> b2.
    case = make_case(tmp_path / "t", {"objective": "min_investment", "target": {"reduction": 0.3}}, [
        {"municipality": "A", "cluster": "c", "baseline_emissions_t": 100, "achieved_t": 50},
        {"municipality": "B", "cluster": "c", "baseline_emissions_t": 100}], [
        {"measure": "a1", "municipality": "A", "capex_eur": 5000, "co2_reduction_t": 15},
        {"measure": "b1", "municipality": "B", "capex_eur": 10000, "co2_reduction_t": 20},
        {"measure": "b2", "municipality": "B", "capex_eur": 30000, "co2_reduction_t": 35},
    ])
    assert solve_case(case)["objective"] == pytest.approx(5000)
    assert solve_case(case, {"target": {"scope": "cluster"}})["objective"] == pytest.approx(5000)
    assert solve_case(case, {"target": {"scope": "each"}})["objective"] == pytest.approx(30000)


# ---- 6. justice: maxmin, vulnerable share, weighted benefit -------------------------------------


def test_maxmin_two_stage(tmp_path):
    case = make_case(tmp_path / "mm", {"budget": {"total_eur": 20000}}, [
        {"municipality": "A"}, {"municipality": "B"}], [
        {"measure": "m1", "municipality": "A", "capex_eur": 10000, "co2_reduction_t": 10},
        {"measure": "m2", "municipality": "A", "capex_eur": 10000, "co2_reduction_t": 50},
        {"measure": "m3", "municipality": "B", "capex_eur": 10000, "co2_reduction_t": 5},
    ])
    assert solve_case(case)["objective"] == pytest.approx(60)
    r = solve_case(case, {"justice": {"maxmin": True}})
    assert r["maxmin_t"] == pytest.approx(0.005)  # 5 t / 1000 persons
    assert r["objective"] == pytest.approx(55)  # m2 + m3
    # tolerance 1: the bound is 0 -> the plain optimum again
    r = solve_case(case, {"justice": {"maxmin": True, "maxmin_tolerance": 1.0}})
    assert r["objective"] == pytest.approx(60)


def test_maxmin_counts_municipality_without_measures(tmp_path):
    case = make_case(tmp_path / "mm0", {"budget": {"total_eur": 20000},
                                        "justice": {"maxmin": True}}, [
        {"municipality": "A"}, {"municipality": "B"}, {"municipality": "C"}], [
        {"measure": "m1", "municipality": "A", "capex_eur": 10000, "co2_reduction_t": 10},
        {"measure": "m2", "municipality": "A", "capex_eur": 10000, "co2_reduction_t": 50},
        {"measure": "m3", "municipality": "B", "capex_eur": 10000, "co2_reduction_t": 5},
    ])
    r = solve_case(case)
    assert r["maxmin_t"] == 0 and r["objective"] == pytest.approx(60)


def test_vulnerable_share_and_weighted_benefit(tmp_path):
    # m1: 20 t, v = 0.1 ; m2: 15 t, v blank = 250 / 500 = 0.5 ; budget for one of them
    case = make_case(tmp_path / "v", {"budget": {"total_eur": 10000}}, [
        {"municipality": "A", "income_index": 0.5},
        {"municipality": "B", "households": 500, "vulnerable_households": 250}], [
        {"measure": "m1", "municipality": "A", "capex_eur": 10000, "co2_reduction_t": 20,
         "vulnerable_share": 0.1},
        {"measure": "m2", "municipality": "B", "capex_eur": 10000, "co2_reduction_t": 15},
    ])
    assert solve_case(case)["objective"] == pytest.approx(20)
    assert solve_case(case, {"justice": {"vulnerable_share_min": 0.4}})["objective"] == 15
    # weighted, lambda 1, eta 1: m1 = 0.5^-1 * 1.1 * 20 = 44 ; m2 = 1 * 1.5 * 15 = 22.5
    wb = {"objective": "max_weighted_benefit", "weights": {"vulnerable_bonus": 1, "equity_elasticity": 1}}
    assert solve_case(case, wb)["objective"] == pytest.approx(44)
    # eta 0, lambda 3: m1 = 1.3 * 20 = 26 ; m2 = 2.5 * 15 = 37.5
    wb["weights"] = {"vulnerable_bonus": 3, "equity_elasticity": 0}
    assert solve_case(case, wb)["objective"] == pytest.approx(37.5)
    # benefit investment is gross of fixed capex: each 10000, eta 0, lambda 0 -> 10000
    wb["weights"] = {"vulnerable_bonus": 0, "equity_elasticity": 0}
    wb["justice"] = {"benefit": "investment"}
    assert solve_case(case, wb)["objective"] == pytest.approx(10000)


# ---- 7. statuses, groups, requires, min_units ---------------------------------------------------


def test_groups_requires_statuses(tmp_path):
    # m2 requires m1; m3 is an alternative to m1 (group g); budget for two measures.
    base = [
        {"measure": "m1", "municipality": "a", "capex_eur": 10000, "co2_reduction_t": 5, "group": "g"},
        {"measure": "m2", "municipality": "a", "capex_eur": 10000, "co2_reduction_t": 50,
         "requires": "m1"},
        {"measure": "m3", "municipality": "a", "capex_eur": 10000, "co2_reduction_t": 20, "group": "g"},
    ]
    case = make_case(tmp_path / "s0", {"budget": {"total_eur": 20000}}, [{"municipality": "a"}], base)
    assert solve_case(case)["objective"] == pytest.approx(55)
    excl = [dict(m, status="excluded") if m["measure"] == "m1" else m for m in base]
    case = make_case(tmp_path / "s1", {"budget": {"total_eur": 20000}}, [{"municipality": "a"}], excl)
    assert solve_case(case)["objective"] == pytest.approx(20)  # m2 can never be selected
    comm = [dict(m, status="committed") if m["measure"] == "m3" else m for m in base]
    case = make_case(tmp_path / "s2", {"budget": {"total_eur": 20000}}, [{"municipality": "a"}], comm)
    assert solve_case(case)["units"] == {"m1": 0, "m2": 0, "m3": 1}


def test_min_units_and_max_units(tmp_path):
    case = make_case(tmp_path / "u", {"budget": {"total_eur": 25000}}, [{"municipality": "a"}], [
        {"measure": "m", "municipality": "a", "capex_eur": 10000, "co2_reduction_t": 7,
         "max_units": 3, "min_units": 2},
        {"measure": "n", "municipality": "a", "capex_eur": 10000, "co2_reduction_t": 1},
    ])
    assert unit_choices(load_case(case).measures[0]) == [0, 2, 3]
    r = solve_case(case)
    assert r["units"] == {"m": 2, "n": 0} and r["objective"] == pytest.approx(14)


# ---- 8. the generator ---------------------------------------------------------------------------


def test_generator_is_deterministic(tmp_path):
    a = write_tiny_case(tmp_path / "a", 123, programmes=True, target_scope="cluster")
    b = write_tiny_case(tmp_path / "b", 123, programmes=True, target_scope="cluster")
    for name in ("case.yaml", "municipalities.csv", "measures.csv", "programmes.csv"):
        assert (a / name).read_text() == (b / name).read_text()
    assert yaml.safe_load((a / "case.yaml").read_text())["target"]["scope"] == "cluster"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tiny_case_params())
def test_generated_cases_solve(tmp_path_factory, params):
    seed, knobs = params
    case = write_tiny_case(tmp_path_factory.mktemp("tiny"), seed, **knobs)
    r = solve_case(case)
    assert r["status"] in ("optimal", "infeasible")
    if r["status"] == "optimal":
        assert r["objective"] is not None


@settings(max_examples=30, deadline=None)
@given(tiny_case_params())
def test_relaxing_never_worsens(tmp_path_factory, params):
    """Dropping budgets, target and justice rules can only keep or improve the optimum."""
    seed, knobs = params
    case = write_tiny_case(tmp_path_factory.mktemp("relax"), seed, **knobs)
    tight = solve_case(case)
    loose = solve_case(case, {"budget": None, "target": None, "justice": {
        "vulnerable_share_min": None, "population_floor": None, "gini_max": None, "maxmin": False}})
    if tight["status"] == "infeasible":
        return
    assert loose["status"] == "optimal"
    sense = 1 if load_case(case).setting("objective").startswith("max") else -1
    assert sense * loose["objective"] >= sense * tight["objective"] - 1e-6 * max(1, abs(tight["objective"]))
