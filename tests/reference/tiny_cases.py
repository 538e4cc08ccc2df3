"""Random but valid tiny cases in the exact case format of SPEC 3, for the brute-force reference.

``write_tiny_case(directory, seed, **knobs)`` writes case.yaml, municipalities.csv, measures.csv
and (sometimes) programmes.csv.  Every random draw is made in a fixed order whatever the knobs, so
the same seed gives the same case, and forcing a knob changes only what that knob controls.

Knobs (absent = decided by the seed):
    n_municipalities: 2..3            n_measures: 3..7
    programmes: bool (one programme)  clusters: bool (forced on by target_scope="cluster")
    target_scope: None | "joint" | "cluster" | "each"    (None = no target)
    objective: max_abatement | min_investment | min_net_cost | max_weighted_benefit
    justice: dict written as-is as the `justice:` section ({} = none)
    weights: dict written as-is as the `weights:` section
    budget_total / cluster_budget / municipal_budgets: bool
    statuses: bool (one committed or excluded measure)   groups: bool   requires: bool
    numeric_ids: bool (ids such as "00017", to check ids stay text)
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml

OBJECTIVES = ("max_abatement", "min_investment", "min_net_cost", "max_weighted_benefit")
BENEFITS = ("abatement", "investment", "bill_savings", "households")
SECTORS = ("municipal_buildings", "tertiary", "residential", "public_lighting", "transport",
           "local_electricity", "local_heat", "other")
KNOBS = {"n_municipalities", "n_measures", "programmes", "clusters", "target_scope", "objective",
         "justice", "weights", "budget_total", "cluster_budget", "municipal_budgets", "statuses",
         "groups", "requires", "numeric_ids"}

MUNICIPALITY_COLUMNS = ["municipality", "name", "cluster", "country", "population", "households",
                        "vulnerable_households", "baseline_emissions_t", "achieved_t", "budget_eur",
                        "income_index"]
MEASURE_COLUMNS = ["measure", "municipality", "name", "sector", "unit", "max_units", "min_units",
                   "integer", "capex_eur", "fixed_capex_eur", "opex_eur", "bill_savings_eur",
                   "energy_savings_mwh", "renewable_mwh", "co2_reduction_t", "lifetime_years",
                   "households_served", "vulnerable_share", "group", "requires", "earliest_year",
                   "status", "programme"]
PROGRAMME_COLUMNS = ["programme", "name", "cluster", "min_members", "admin_cost_eur",
                     "capex_discount"]


def _fmt(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_fmt(row.get(c)) for c in columns])


def _choose(knobs: dict, name: str, drawn):
    """The knob's value if forced, else the value drawn from the seed."""
    return knobs[name] if name in knobs else drawn


def _unit_cost(m: dict, units: int) -> float:
    return (m["fixed_capex_eur"] or 0) + m["capex_eur"] * units if units else 0


def write_tiny_case(directory, seed: int, **knobs) -> Path:
    """Write a random tiny case into ``directory`` (created if needed) and return its path."""
    unknown = set(knobs) - KNOBS
    if unknown:
        raise TypeError(f"unknown knobs: {sorted(unknown)}")
    rng = random.Random(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    # ---- top-level draws, always in this order ------------------------------------------------
    n_mun = _choose(knobs, "n_municipalities", rng.randint(2, 3))
    n_meas = _choose(knobs, "n_measures", rng.randint(3, 7))
    target_scope = _choose(knobs, "target_scope", rng.choice([None, None, "joint", "cluster", "each"]))
    clusters = _choose(knobs, "clusters", rng.random() < 0.5) or target_scope == "cluster"
    with_programme = _choose(knobs, "programmes", rng.random() < 0.5)
    objective = _choose(knobs, "objective", rng.choice(OBJECTIVES))
    statuses = _choose(knobs, "statuses", rng.random() < 0.35)
    groups = _choose(knobs, "groups", rng.random() < 0.6)
    requires = _choose(knobs, "requires", rng.random() < 0.6)
    numeric_ids = _choose(knobs, "numeric_ids", rng.random() < 0.5)
    budget_total = _choose(knobs, "budget_total", rng.random() < 0.8)
    cluster_budget = _choose(knobs, "cluster_budget", rng.random() < 0.4) and clusters
    municipal_budgets = _choose(knobs, "municipal_budgets", rng.random() < 0.4)

    # ---- municipalities -----------------------------------------------------------------------
    if numeric_ids:
        mun_ids = [f"{code:05d}" for code in rng.sample(range(1, 99999), n_mun)]
    else:
        mun_ids = [f"mun-{chr(ord('a') + k)}" for k in range(n_mun)]
    cluster_names = ["north", "south"]
    municipalities = []
    for k, mid in enumerate(mun_ids):
        households = rng.randint(200, 5000)
        cluster = cluster_names[k % 2] if k < 2 else rng.choice(cluster_names)
        blank_cluster = target_scope != "cluster" and rng.random() < 0.2
        municipalities.append({
            "municipality": mid,
            "name": f"Town, {mid}",  # a comma inside a quoted field
            "cluster": None if (not clusters or blank_cluster) else cluster,
            "country": "ES",
            "population": households * rng.randint(2, 3),
            "households": households,
            "vulnerable_households": rng.choice([None, rng.randint(0, households // 2)]),
            "achieved_frac": rng.choice([None, 0.0, round(rng.uniform(0, 0.15), 2)]),
            "income_index": rng.choice([None, round(rng.uniform(0.6, 1.4), 2)]),
            "budget_frac": round(rng.uniform(0.3, 0.9), 2) if municipal_budgets and rng.random() < 0.6 else None,
            "baseline_factor": rng.uniform(2.0, 5.0),
        })

    # ---- measures -----------------------------------------------------------------------------
    measures = []
    for k in range(n_meas):
        owner = k if k < n_mun and rng.random() < 0.9 else rng.randrange(n_mun)
        mid = f"{k + 1:03d}" if numeric_ids else f"M{k + 1}"
        max_units = rng.randint(1, 3)
        min_units = rng.choice([None, 0, 2]) if max_units == 3 else rng.choice([None, 0])
        vshare = rng.choice([None, round(rng.uniform(0, 1), 2)])
        measures.append({
            "measure": mid,
            "municipality": mun_ids[owner],
            "name": f"measure {mid}",
            "sector": rng.choice(SECTORS),
            "unit": "unit",
            "max_units": max_units,
            "min_units": min_units,
            "integer": True,
            "capex_eur": rng.randint(10, 100) * 1000,
            "fixed_capex_eur": rng.choice([None, 0, rng.randint(1, 20) * 1000]),
            "opex_eur": rng.choice([None, rng.randint(-20, 20) * 100]),
            "bill_savings_eur": rng.choice([None, rng.randint(0, 40) * 100]),
            "energy_savings_mwh": round(rng.uniform(0, 100), 1),
            "renewable_mwh": rng.choice([None, round(rng.uniform(0, 50), 1)]),
            "co2_reduction_t": round(rng.uniform(1, 50), 1),
            "lifetime_years": rng.choice([10, 15, 20, 25, 30]),
            "households_served": rng.choice([None, rng.randint(0, 60)]),
            "vulnerable_share": vshare,
            "group": None, "requires": None, "status": None, "programme": None,
            "_owner": owner,
        })

    for k, m in enumerate(measures):
        same = [e for e in measures[:k] if e["_owner"] == m["_owner"]]
        draw_req = rng.random()
        draw_grp = rng.random()
        draw_grp_name = rng.choice("ab")
        if requires and same and draw_req < 0.35:  # earlier measure only: acyclic
            m["requires"] = rng.choice(same)["measure"]
        if groups and draw_grp < 0.45:
            m["group"] = f"g{m['_owner']}{draw_grp_name}"  # never spans municipalities

    draw_status = rng.random()
    status_idx = rng.randrange(n_meas)
    if statuses:
        measures[status_idx]["status"] = "committed" if draw_status < 0.5 else "excluded"

    # ---- programme ----------------------------------------------------------------------------
    programme_rows = []
    prog_draws = [rng.random() for _ in measures]
    prog_cluster_draw = rng.random()
    prog = {
        "programme": "JP01" if not numeric_ids else "001",
        "name": "Joint procurement",
        "cluster": None,
        "min_members": rng.choice([None, 2]),
        "admin_cost_eur": rng.randint(0, 30) * 1000,
        "capex_discount": rng.choice([0.1, 0.2, 0.3, 0.5]),
    }
    if with_programme:
        cluster_sizes = {}
        for mu in municipalities:
            if mu["cluster"] is not None:
                cluster_sizes[mu["cluster"]] = cluster_sizes.get(mu["cluster"], 0) + 1
        big = sorted(c for c, n in cluster_sizes.items() if n >= 2)
        if big and prog_cluster_draw < 0.5:
            prog["cluster"] = big[0]
        for m, draw in zip(measures, prog_draws):
            if draw < 0.55:
                m["programme"] = prog["programme"]
        # make sure at least two municipalities can take part
        owners_seen = set()
        for m in measures:
            if m["_owner"] not in owners_seen and len(owners_seen) < 2:
                owners_seen.add(m["_owner"])
                m["programme"] = prog["programme"]
        programme_rows.append(prog)

    # ---- budgets and targets sized from the data ----------------------------------------------
    def full_cost(ms):
        return sum(_unit_cost(m, m["max_units"]) for m in ms if m["status"] != "excluded")

    def forced_cost(ms):
        """Cost of committed measures at max_units plus their requires chain at minimum units."""
        by_id = {m["measure"]: m for m in measures}
        total, seen = 0.0, set()
        for m in ms:
            if m["status"] != "committed":
                continue
            total += _unit_cost(m, m["max_units"])
            req = m["requires"]
            while req is not None and req not in seen:
                seen.add(req)
                r = by_id[req]
                total += _unit_cost(r, max(1, r["min_units"] or 0))
                req = r["requires"]
        return total

    total_frac = rng.uniform(0.25, 0.7)
    cluster_frac = rng.uniform(0.3, 0.8)
    reduction = round(rng.uniform(0.03, 0.12), 2)

    for k, mu in enumerate(municipalities):
        own = [m for m in measures if m["_owner"] == k]
        potential = sum(m["co2_reduction_t"] * m["max_units"] for m in own)
        baseline = round(max(potential, 20.0) * mu.pop("baseline_factor"), 1)
        mu["baseline_emissions_t"] = baseline
        frac = mu.pop("achieved_frac")
        mu["achieved_t"] = None if frac is None else round(frac * baseline, 1)
        bfrac = mu.pop("budget_frac")
        if bfrac is not None:
            cap = max(full_cost(own) * bfrac, forced_cost(own) * 1.1, 1000.0)
            mu["budget_eur"] = int(round(cap, -2))

    settings: dict = {"name": f"tiny case {seed}", "description": "generated by tests.reference",
                      "currency": "EUR"}
    econ_draw = rng.random()
    rate = rng.choice([0.0, 0.03, 0.04, 0.06])
    horizon = rng.choice([15, 20, 25])
    if econ_draw < 0.7:
        settings["economics"] = {"discount_rate": rate, "horizon_years": horizon}
    settings["objective"] = objective

    budget: dict = {}
    if budget_total:
        cap = max(full_cost(measures) * total_frac, forced_cost(measures) * 1.2, 1000.0)
        budget["total_eur"] = int(round(cap, -3))
    used_clusters = sorted({mu["cluster"] for mu in municipalities if mu["cluster"]})
    if cluster_budget and used_clusters:
        c = used_clusters[0]
        members = [k for k, mu in enumerate(municipalities) if mu["cluster"] == c]
        own = [m for m in measures if m["_owner"] in members]
        cap = max(full_cost(own) * cluster_frac, forced_cost(own) * 1.1, 1000.0)
        budget["cluster_eur"] = {c: int(round(cap, -2))}
    if budget:
        settings["budget"] = budget
    if target_scope is not None:
        settings["target"] = {"reduction": reduction, "scope": target_scope}

    justice_draw = rng.random()
    rule = rng.choice(["vulnerable_share_min", "population_floor", "gini_max", "maxmin"])
    rule_values = {
        "vulnerable_share_min": round(rng.uniform(0.1, 0.5), 2),
        "population_floor": round(rng.uniform(0.2, 0.8), 2),
        "gini_max": round(rng.uniform(0.1, 0.5), 2),
    }
    tolerance = rng.choice([0.0, 0.1, 0.25])
    benefit = rng.choice(BENEFITS)
    drawn_justice: dict = {}
    if justice_draw < 0.6:
        drawn_justice["benefit"] = benefit
        if rule == "maxmin":
            drawn_justice.update({"maxmin": True, "maxmin_tolerance": tolerance})
        else:
            drawn_justice[rule] = rule_values[rule]
    justice = _choose(knobs, "justice", drawn_justice)
    if justice:
        settings["justice"] = dict(justice)

    weights_draw = rng.random()
    drawn_weights = ({"vulnerable_bonus": rng.choice([0.0, 0.5, 1.0, 2.0]),
                      "equity_elasticity": rng.choice([0.0, 1.0, 1.3, 2.0])}
                     if weights_draw < 0.5 else {})
    weights = _choose(knobs, "weights", drawn_weights)
    if weights:
        settings["weights"] = dict(weights)

    # ---- write --------------------------------------------------------------------------------
    with open(directory / "case.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(settings, fh, sort_keys=False)
    _write_csv(directory / "municipalities.csv", MUNICIPALITY_COLUMNS, municipalities)
    _write_csv(directory / "measures.csv", MEASURE_COLUMNS, measures)
    if programme_rows:
        _write_csv(directory / "programmes.csv", PROGRAMME_COLUMNS, programme_rows)
    return directory


def tiny_case_params():
    """Hypothesis strategy of (seed, knobs) tuples for ``write_tiny_case``."""
    from hypothesis import strategies as st

    justice = st.one_of(
        st.just({}),
        st.fixed_dictionaries(
            {"benefit": st.sampled_from(BENEFITS)},
            optional={
                "vulnerable_share_min": st.sampled_from([0.1, 0.25, 0.4]),
                "population_floor": st.sampled_from([0.2, 0.5, 0.8]),
                "gini_max": st.sampled_from([0.1, 0.3, 0.5]),
                "maxmin": st.booleans(),
                "maxmin_tolerance": st.sampled_from([0.0, 0.1, 0.25]),
            },
        ),
    )
    knobs = st.fixed_dictionaries({}, optional={
        "n_municipalities": st.integers(2, 3),
        "n_measures": st.integers(3, 7),
        "programmes": st.booleans(),
        "clusters": st.booleans(),
        "target_scope": st.sampled_from([None, "joint", "cluster", "each"]),
        "objective": st.sampled_from(OBJECTIVES),
        "justice": justice,
        "statuses": st.booleans(),
        "groups": st.booleans(),
        "requires": st.booleans(),
        "budget_total": st.booleans(),
        "municipal_budgets": st.booleans(),
        "numeric_ids": st.booleans(),
    })
    return st.tuples(st.integers(0, 2**32 - 1), knobs)
