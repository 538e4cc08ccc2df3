"""Seeded synthetic case generator for benchmarks (SPEC section 3 format).

    python -m benchmarks.generate OUT_DIR --municipalities 35000 --measures 50 --seed 0

writes ``case.yaml``, ``municipalities.csv``, ``measures.csv`` and ``programmes.csv`` into OUT_DIR.
The same arguments always give byte-identical files. Everything is vectorised (numpy), one
``to_csv`` per table, so 35,000 municipalities x 50 measures (1.75 M rows) take seconds.

Where the figures come from (see /work/shared/REFERENCE-DATA.md): grid emission factors are the
JRC Covenant of Mayors defaults (Koffi et al. 2017), fuel factors IPCC 2006; LED street lighting
152-480 EUR per point and 0.20-0.41 MWh/yr saved (Alexandroupolis, Alona & Polystipos, Ontario LAS);
deep retrofit 35-60 kEUR per dwelling; heat pumps 1,196 / 1,937 EUR per kW_th (SPF 3.5 / 3.85) and
biomass heat plants 1,141 EUR per kW_th (Danish Energy Agency catalogue); rooftop PV 1,309 / 904 EUR
per kWp; e-bus 410,284 vs 189,551 EUR, 0.92 vs 2.28 kWh/km at 50,000 km/yr; energy advice ~0.248 t
and >90 EUR per household per year (ACHIEVE). Everything else (advice cost, network costs, energy
prices, cycling lanes, car sharing, organic waste, PV yields per country, ...) is *indicative* only:
the cases are benchmark subjects, not planning data.

Structure per municipality (template of 50 slots, repeated for more measures, truncated for fewer):
five groups of five alternatives (LED variants, residential retrofit depth, heat-pump technology,
public building bundle, district-heating supply), 25 stand-alone measures; four slots may require an
earlier stand-alone slot of the same municipality (so ``requires`` is acyclic by construction).
Integer measures whose natural count exceeds 500 are sold in lots ("20 luminaires"), so integer
``max_units`` never exceeds 500.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

__all__ = ["generate_case", "main"]

# --------------------------------------------------------------------------------------------------
# Reference figures
# --------------------------------------------------------------------------------------------------
COUNTRIES = np.array(["IT", "ES", "FR", "GR", "PT", "HR", "CY"])
COUNTRY_WEIGHTS = np.array([0.25, 0.25, 0.25, 0.08, 0.08, 0.05, 0.04])
# JRC Covenant of Mayors default factors for electricity (tCO2/MWh, 2013)
GRID_FACTOR = np.array([0.344, 0.298, 0.083, 0.760, 0.316, 0.205, 0.709])
# Heating fuel displaced: natural gas (0.202 t/MWh, boiler 0.975) or heating oil (0.267, 0.90)
# where oil heating dominates (GR, CY).  Price EUR/MWh (indicative).
_OIL = np.array([False, False, False, True, False, False, True])
HEAT_FACTOR = np.where(_OIL, 0.267, 0.202)
HEAT_EFFICIENCY = np.where(_OIL, 0.90, 0.975)
HEAT_PRICE = np.where(_OIL, 110.0, 95.0)
# Rooftop PV yield, MWh/kWp/yr (indicative, PVGIS ranges)
PV_YIELD = np.array([1.40, 1.55, 1.20, 1.55, 1.55, 1.30, 1.65])
DIESEL_FACTOR, PETROL_FACTOR, MOTOR_FUEL_PRICE = 0.267, 0.249, 140.0
ELECTRICITY_PRICE = 220.0  # EUR/MWh, indicative

MAX_INTEGER_UNITS = 500
LOT_SIZES = np.array([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000])
NOISE_SIGMA = 0.15          # multiplicative log-normal noise on costs and effects
FIXED_CAPEX_SHARE = 0.30    # share of measures with a fixed (one-off) cost
PROGRAMME_SHARE = 0.5       # share of LED / PV measures offered through the joint programme
REQUIRES_SHARE = 0.5        # share of dependent-slot measures that actually carry `requires`
BUDGET_SHARE = 0.02         # budget.total_eur = 2 % of the cost of all candidate units
TARGET_SHARE_OF_GREEDY = 0.8

JUSTICE_KEYS = {"benefit", "vulnerable_share_min", "population_floor", "gini_max", "maxmin",
                "maxmin_tolerance"}

MEASURE_COLUMNS = [
    "measure", "municipality", "name", "sector", "unit", "max_units", "min_units", "integer",
    "capex_eur", "fixed_capex_eur", "opex_eur", "bill_savings_eur", "energy_savings_mwh",
    "renewable_mwh", "co2_reduction_t", "lifetime_years", "households_served", "vulnerable_share",
    "group", "requires", "programme",
]
MUNICIPALITY_COLUMNS = [
    "municipality", "name", "cluster", "country", "population", "households",
    "vulnerable_households", "baseline_emissions_t", "achieved_t", "income_index",
]
PROGRAMMES = pd.DataFrame({
    "programme": ["LED-JP", "PV-JP"],
    "name": ["Joint procurement of LED street lighting", "Joint procurement of rooftop PV"],
    "cluster": ["", ""],
    "min_members": [3, 3],
    "admin_cost_eur": [100000, 100000],
    "capex_discount": [0.15, 0.15],
})
PROGRAMME_INDEX = {"LED": 0, "PV": 1}

# --------------------------------------------------------------------------------------------------
# Measure template: one entry per slot, in slot order
# --------------------------------------------------------------------------------------------------
# mode: int (integer units, lots above 500), cont (continuous, min_units), yesno (max_units 1; the
#       per-unit figures are multiplied by `per` x driver, e.g. EUR per inhabitant x population)
# driver: pop | hh | vuln | bldg (public buildings ~ pop/2000) | one; per: units per driver unit
# heat: useful heat displaced (MWh, country heating fuel); diesel/petrol: motor fuel displaced (MWh)
# el: electricity saved (negative = added), ren: electricity produced; ren="pv" uses PV_YIELD
# direct: other tCO2 per unit; bill: share of the energy-cost change that reaches the beneficiaries
# supply: renewable supply measure (no final-energy saving; heat counted as renewable_mwh)
_D = dict(heat=0.0, diesel=0.0, petrol=0.0, el=0.0, ren=0.0, direct=0.0, opex=0.0, bill=1.0,
          min_units=0.0, hh=0, vshare=np.nan, group=-1, req=None, prog=None, supply=False)


def _m(key, name, sector, unit, units, mode, driver, per, capex, lifetime, **kw):
    spec = dict(_D, key=key, name=name, sector=sector, unit=unit, units=units, mode=mode,
                driver=driver, per=per, capex=capex, lifetime=lifetime)
    unknown = set(kw) - set(_D)
    if unknown:
        raise TypeError(f"unknown template fields {unknown}")
    spec.update(kw)
    return spec


_LED = dict(group=0, prog="LED")
_RES = dict(group=1, hh=1)
_HP = dict(group=2, hh=1)
_MB = dict(group=3)
_DH = dict(group=4, min_units=100.0, supply=True, bill=0.15)
_PV = dict(ren="pv", bill=0.6, prog="PV")

TEMPLATE = [
    _m("led_large", "LED street lighting, 1:1 replacement (large contract)", "public_lighting",
       "luminaire", "luminaires", "int", "pop", 0.25, 152, 20, el=0.20, opex=-4, **_LED),
    _m("res_light", "Residential retrofit, light (roof and windows)", "residential",
       "dwelling", "dwellings", "int", "hh", 0.25, 12000, 30, heat=3.0, **_RES),
    _m("hp_air", "Air-to-water heat pump replacing boiler (8 kW_th)", "residential",
       "household", "households", "int", "hh", 0.30, 11000, 18, heat=12.0, el=-12 / 3.5, **_HP),
    _m("mb_lighting", "Public buildings: LED lighting and controls", "municipal_buildings",
       "building", "buildings", "int", "bldg", 1.0, 45000, 15, el=25.0, **_MB),
    _m("pv_res", "Rooftop PV, residential", "local_electricity", "kWp", "kWp", "cont", "hh", 0.6,
       1309, 30, opex=20, min_units=3.0, **_PV),
    _m("advice_basic", "Energy advice visits for vulnerable households", "residential",
       "vulnerable household", "vulnerable households", "int", "vuln", 1.0, 160, 5,
       heat=0.6, el=0.35, hh=1, vshare=1.0),
    _m("bus_depot", "E-bus depot charging infrastructure", "transport", "depot", "depots",
       "yesno", "one", 1.0, 350000, 20),
    _m("dh_biomass", "District heating: biomass heat-only plant and network", "local_heat",
       "kW_th", "kW_th", "cont", "hh", 2.0, 1841, 25, heat=2.0, el=-0.03, opex=75, **_DH),
    _m("tert_retrofit", "Tertiary building retrofit", "tertiary", "building", "buildings", "int",
       "pop", 1 / 400, 180000, 20, heat=60.0, el=30.0),
    _m("water_pumping", "Water and wastewater pumping efficiency", "other", "pumping station",
       "pumping stations", "int", "pop", 1 / 8000, 60000, 15, el=60.0),
    # 11-20
    _m("led_maint", "LED street lighting incl. 10-year maintenance", "public_lighting",
       "luminaire", "luminaires", "int", "pop", 0.25, 480, 20, el=0.22, opex=-15, **_LED),
    _m("res_medium", "Residential retrofit, medium (envelope insulation)", "residential",
       "dwelling", "dwellings", "int", "hh", 0.25, 22000, 30, heat=5.5, **_RES),
    _m("hp_ground", "Ground-source heat pump (8 kW_th)", "residential", "household",
       "households", "int", "hh", 0.30, 18500, 20, heat=12.0, el=-12 / 3.85, **_HP),
    _m("mb_envelope", "Public buildings: envelope insulation and boiler upgrade",
       "municipal_buildings", "building", "buildings", "int", "bldg", 1.0, 260000, 30,
       heat=110.0, **_MB),
    _m("pv_comm", "Rooftop PV, commercial and industrial", "local_electricity", "kWp", "kWp",
       "cont", "pop", 0.1, 904, 30, opex=12, min_units=20.0, **_PV),
    _m("advice_plus", "Energy advice plus free efficiency kit (ACHIEVE-type)", "residential",
       "vulnerable household", "vulnerable households", "int", "vuln", 0.6, 420, 8,
       heat=1.0, el=0.5, hh=1, vshare=1.0, req="advice_basic"),
    _m("ebus", "Electric city bus (12 m) replacing diesel", "transport", "bus", "buses", "int",
       "pop", 1 / 6000, 220733, 12, diesel=114.0, el=-46.0, opex=-6000, req="bus_depot"),
    _m("dh_heatpump", "District heating: large heat pump and network", "local_heat", "kW_th",
       "kW_th", "cont", "hh", 2.0, 1700, 25, heat=2.0, el=-2 / 3.0, opex=10, **_DH),
    _m("tert_led", "Tertiary LED lighting and controls", "tertiary", "building", "buildings",
       "int", "pop", 1 / 300, 25000, 15, el=20.0),
    _m("organic_waste", "Separate collection and composting of organic waste", "other",
       "scheme", "schemes", "yesno", "pop", 1.0, 12, 15, opex=2, direct=0.015),
    # 21-30
    _m("led_dimming", "LED street lighting with adaptive dimming", "public_lighting",
       "luminaire", "luminaires", "int", "pop", 0.25, 260, 20, el=0.30, opex=-5, **_LED),
    _m("res_deep", "Residential deep retrofit (>60 % primary energy saved)", "residential",
       "dwelling", "dwellings", "int", "hh", 0.25, 47500, 30, heat=8.5, el=0.3, **_RES),
    _m("hp_hybrid", "Hybrid heat pump (boiler kept for peaks)", "residential", "household",
       "households", "int", "hh", 0.30, 7500, 18, heat=8.4, el=-8.4 / 3.3, **_HP),
    _m("mb_deep", "Public buildings: deep retrofit (~50 % saved)", "municipal_buildings",
       "building", "buildings", "int", "bldg", 1.0, 480000, 30, heat=160.0, el=58.0, **_MB),
    _m("bms", "Energy management system for municipal buildings", "municipal_buildings",
       "system", "systems", "yesno", "bldg", 1.0, 15000, 10, heat=12.0, el=8.0),
    _m("pv_muni", "Rooftop PV on municipal buildings", "local_electricity", "kWp", "kWp", "cont",
       "bldg", 40.0, 1100, 30, opex=15, min_units=10.0, req="bms", **_PV),
    _m("ev_chargers", "Public EV charging points (22 kW)", "transport", "charging point",
       "charging points", "int", "pop", 1 / 250, 8000, 10, petrol=7.2, el=-2.16, bill=0.5),
    _m("dh_solar", "District heating: solar thermal field with storage", "local_heat", "kW_th",
       "kW_th", "cont", "hh", 2.0, 1500, 25, heat=0.6, opex=8, **_DH),
    _m("tert_hp", "Tertiary heat pump replacing boiler", "tertiary", "building", "buildings",
       "int", "pop", 1 / 800, 60000, 18, heat=80.0, el=-23.0),
    _m("biogas_wwtp", "Biogas CHP at the wastewater treatment plant", "other", "plant", "plants",
       "yesno", "pop", 1.0, 25, 20, ren=0.012, opex=1),
    # 31-40
    _m("led_smart", "LED street lighting with smart controls and remote monitoring",
       "public_lighting", "luminaire", "luminaires", "int", "pop", 0.25, 340, 20, el=0.41,
       opex=-8, **_LED),
    _m("res_deep_hp", "Residential deep retrofit with heat pump", "residential", "dwelling",
       "dwellings", "int", "hh", 0.25, 58000, 30, heat=12.0, el=-1.4, **_RES),
    _m("hp_pellet", "Wood pellet boiler replacing fossil boiler", "residential", "household",
       "households", "int", "hh", 0.30, 9000, 20, heat=12.0, opex=150, supply=True, **_HP),
    _m("mb_deep_hp", "Public buildings: deep retrofit with heat pump", "municipal_buildings",
       "building", "buildings", "int", "bldg", 1.0, 560000, 30, heat=220.0, el=-45.0, **_MB),
    _m("social_housing", "Deep retrofit of social housing", "residential", "dwelling",
       "dwellings", "int", "vuln", 0.3, 42000, 30, heat=8.0, el=0.3, hh=1, vshare=0.9),
    _m("fleet_ev", "Municipal fleet: electric vehicles replacing petrol cars", "transport",
       "vehicle", "vehicles", "int", "pop", 1 / 800, 12000, 10, petrol=9.0, el=-2.7, opex=-400,
       req="ev_chargers"),
    _m("cycling", "Protected cycling lanes", "transport", "km", "km", "cont", "pop", 1 / 3000,
       250000, 25, petrol=60.0, bill=0.5, min_units=1.0),
    _m("dh_biogas_chp", "District heating: biogas CHP and network", "local_heat", "kW_th",
       "kW_th", "cont", "hh", 2.0, 2300, 25, heat=2.0, ren=1.6, opex=60, **_DH),
    _m("thermostats", "Smart thermostats and radiator valves", "residential", "dwelling",
       "dwellings", "int", "hh", 0.30, 250, 10, heat=1.0, hh=1),
    _m("solar_thermal", "Solar thermal collectors for hot water", "local_heat", "m2", "m2",
       "cont", "hh", 0.8, 750, 20, heat=0.5, min_units=4.0, supply=True),
    # 41-50
    _m("led_main_roads", "LED street lighting, main roads only", "public_lighting", "luminaire",
       "luminaires", "int", "pop", 0.10, 175, 20, el=0.26, opex=-4, **_LED),
    _m("res_nzeb", "Residential nZEB renovation with rooftop PV", "residential", "dwelling",
       "dwellings", "int", "hh", 0.25, 66000, 30, heat=12.0, el=-1.2, ren=4.2, **_RES),
    _m("hp_pv", "Heat pump with 4 kWp rooftop PV", "residential", "household", "households",
       "int", "hh", 0.30, 16500, 18, heat=12.0, el=-12 / 3.5, ren=5.6, **_HP),
    _m("mb_nzeb", "Public buildings: nZEB renovation with PV", "municipal_buildings",
       "building", "buildings", "int", "bldg", 1.0, 650000, 30, heat=220.0, el=-45.0, ren=60.0,
       **_MB),
    _m("community_pv", "Community solar for energy-poor households", "local_electricity", "kWp",
       "kWp", "cont", "vuln", 1.0, 1250, 30, opex=18, min_units=20.0, vshare=0.7, **_PV),
    _m("car_sharing", "Car-sharing scheme", "transport", "scheme", "schemes", "yesno", "pop", 1.0,
       4, 10, petrol=0.05, opex=0.5, bill=0.5),
    _m("traffic_lights", "LED traffic lights", "public_lighting", "intersection",
       "intersections", "int", "pop", 1 / 2500, 8000, 15, el=3.5, opex=-200),
    _m("dh_geothermal", "District heating: deep geothermal and network", "local_heat", "kW_th",
       "kW_th", "cont", "hh", 2.0, 2900, 30, heat=2.4, el=-0.15, opex=15, **_DH),
    _m("hh_led_swap", "Household LED and efficient appliance swap", "residential", "household",
       "households", "int", "hh", 0.5, 120, 8, el=0.25, hh=1),
    _m("solar_street_lights", "Solar-powered street lights (rural roads)", "public_lighting",
       "luminaire", "luminaires", "int", "pop", 1 / 50, 1500, 15, el=0.12),
]
N_GROUPS_IN_TEMPLATE = 5
_KEYS = [t["key"] for t in TEMPLATE]
assert len(TEMPLATE) == 50 and len(set(_KEYS)) == 50
_DRIVERS = ["pop", "hh", "vuln", "bldg", "one"]
_MODES = ["int", "cont", "yesno"]


def _template_arrays():
    """The template as numpy arrays indexed by template slot."""
    col = lambda k: np.array([t[k] for t in TEMPLATE])  # noqa: E731
    tpl = {k: col(k).astype(float) for k in
           ("per", "capex", "lifetime", "heat", "diesel", "petrol", "el", "direct", "opex",
            "bill", "min_units", "hh", "vshare")}
    tpl["ren_pv"] = np.array([t["ren"] == "pv" for t in TEMPLATE])
    tpl["ren"] = np.array([0.0 if t["ren"] == "pv" else float(t["ren"]) for t in TEMPLATE])
    tpl["driver"] = np.array([_DRIVERS.index(t["driver"]) for t in TEMPLATE])
    tpl["mode"] = np.array([_MODES.index(t["mode"]) for t in TEMPLATE])
    tpl["group"] = col("group").astype(int)
    tpl["supply"] = col("supply").astype(bool)
    tpl["req"] = np.array([-1 if t["req"] is None else _KEYS.index(t["req"]) for t in TEMPLATE])
    tpl["prog"] = np.array([-1 if t["prog"] is None else PROGRAMME_INDEX[t["prog"]]
                            for t in TEMPLATE])
    for i, r in enumerate(tpl["req"]):  # acyclic by construction: prerequisite comes first,
        assert r < i and (r < 0 or tpl["group"][r] < 0)  # and is never one of a group
    return tpl


_TPL = _template_arrays()


# --------------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------------
def _ids(prefix: str, count: int, width: int, start: int = 1) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(start, start + count)], dtype=object)


def _cat(*parts) -> np.ndarray:
    """Element-wise string concatenation of equal-length arrays / scalars (object result)."""
    out = np.asarray(parts[0]).astype(str)
    for p in parts[1:]:
        out = np.strings.add(out, np.asarray(p).astype(str))
    return out.astype(object)


def _nullable_int(values: np.ndarray, blank: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.where(blank, 0, values).astype(np.int64), blank.copy())


def _municipalities(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    width = max(6, len(str(n)))
    mid = _ids("", n, width)
    n_clusters = max(1, n // 20)
    # every cluster gets at least one member; members of a cluster are contiguous ids
    cluster_of = np.sort(np.concatenate([np.arange(n_clusters),
                                         rng.integers(0, n_clusters, n - n_clusters)]))
    cluster_ids = _ids("C", n_clusters, max(3, len(str(n_clusters))))
    country_of_cluster = rng.choice(len(COUNTRIES), size=n_clusters, p=COUNTRY_WEIGHTS)
    country = country_of_cluster[cluster_of]

    population = np.clip(np.round(rng.lognormal(np.log(3500.0), 1.2, n)), 500, 2_000_000)
    households = np.maximum(1, np.round(population / 2.3 * rng.uniform(0.93, 1.07, n)))
    vulnerable = np.round(households * rng.uniform(0.05, 0.30, n))
    income = np.round(np.clip(rng.lognormal(0.0, 0.25, n), 0.5, 2.0), 3)
    baseline = np.round(population * rng.uniform(4.0, 8.0, n), 1)
    achieved = np.round(baseline * rng.uniform(0.10, 0.25, n), 1)
    return pd.DataFrame({
        "municipality": mid,
        "name": _cat("Municipality ", mid),
        "cluster": cluster_ids[cluster_of],
        "country": COUNTRIES[country].astype(object),
        "population": population.astype(np.int64),
        "households": households.astype(np.int64),
        "vulnerable_households": vulnerable.astype(np.int64),
        "baseline_emissions_t": baseline,
        "achieved_t": achieved,
        "income_index": income,
    }), country


def _measures(rng: np.random.Generator, mun: pd.DataFrame, country: np.ndarray, k: int):
    n = len(mun)
    N = n * k
    T = len(TEMPLATE)
    mi = np.repeat(np.arange(n), k)                 # municipality index per row
    si = np.tile(np.arange(k), n)                   # slot within the municipality
    ti = si % T                                     # template entry
    rep = si // T                                   # repetition of the template (k > 50)
    tp = {key: v[ti] for key, v in _TPL.items()}

    pop = mun["population"].to_numpy(float)
    hh = mun["households"].to_numpy(float)
    vuln = mun["vulnerable_households"].to_numpy(float)
    drivers = np.stack([pop, hh, vuln, np.maximum(1.0, np.round(pop / 2000.0)), np.ones(n)], 1)
    c = country[mi]

    # ---- sizes ------------------------------------------------------------------------------
    natural = tp["per"] * drivers[mi, tp["driver"]] * rng.uniform(0.8, 1.2, N)
    mode = tp["mode"]
    is_int, is_cont, is_yesno = mode == 0, mode == 1, mode == 2
    count = np.maximum(1.0, np.round(natural))
    lot_index = np.searchsorted(LOT_SIZES, count / MAX_INTEGER_UNITS, side="left")
    lot = LOT_SIZES[np.minimum(lot_index, len(LOT_SIZES) - 1)]
    max_units = np.where(is_int, np.ceil(count / lot), 1.0)
    min_units = tp["min_units"]
    max_units = np.where(is_cont, np.maximum(np.round(natural), 2.0 * min_units), max_units)
    # multiplier of the per-unit template figures
    mult = np.where(is_int, lot, np.where(is_yesno, natural, 1.0))

    # ---- costs and effects ------------------------------------------------------------------
    cost_noise = rng.lognormal(0.0, NOISE_SIGMA, N)
    effect_noise = rng.lognormal(0.0, NOISE_SIGMA, N)
    grid = GRID_FACTOR[c]
    fuel = tp["heat"] / HEAT_EFFICIENCY[c]
    ren = tp["ren"] + np.where(tp["ren_pv"], PV_YIELD[c], 0.0)
    el, motor = tp["el"], tp["diesel"] + tp["petrol"]
    co2 = (fuel * HEAT_FACTOR[c] + tp["diesel"] * DIESEL_FACTOR + tp["petrol"] * PETROL_FACTOR
           + (el + ren) * grid + tp["direct"])
    bill = tp["bill"] * (fuel * HEAT_PRICE[c] + motor * MOTOR_FUEL_PRICE
                         + (el + ren) * ELECTRICITY_PRICE)
    saved = np.where(tp["supply"], 0.0, fuel + motor + el)
    renewable = ren + np.where(tp["supply"], tp["heat"], 0.0)

    f = mult * effect_noise
    co2_unit = np.round(np.maximum(co2, 0.0) * f, 5)
    bill_unit = np.round(np.maximum(bill, 0.0) * f).astype(np.int64)       # whole euros
    saved_unit = np.round(np.maximum(saved, 0.0) * f, 4)
    renewable_unit = np.round(renewable * f, 4)
    capex_unit = np.round(tp["capex"] * mult * cost_noise).astype(np.int64)  # whole euros
    opex_unit = np.round(tp["opex"] * mult * cost_noise).astype(np.int64)

    has_fixed = rng.random(N) < FIXED_CAPEX_SHARE
    fixed = np.maximum(2000.0, rng.uniform(0.02, 0.10, N) * capex_unit * max_units)
    fixed = np.where(has_fixed, np.round(fixed, -2), 0.0)

    # ---- ids and references -----------------------------------------------------------------
    mid = mun["municipality"].to_numpy(object)
    slot_ids = _ids("", k, max(2, len(str(k))))
    measure_ids = _cat("M", mid[mi], "-", slot_ids[si])

    grouped = tp["group"] >= 0
    group_no = rep * N_GROUPS_IN_TEMPLATE + tp["group"] + 1
    n_group_ids = (k - 1) // T * N_GROUPS_IN_TEMPLATE + N_GROUPS_IN_TEMPLATE
    group_str = _ids("", n_group_ids, max(2, len(str(n_group_ids))))
    group = np.full(N, "", dtype=object)
    group[grouped] = _cat("G", mid[mi[grouped]], "-", group_str[group_no[grouped] - 1])

    has_req = (tp["req"] >= 0) & (rng.random(N) < REQUIRES_SHARE)
    req_row = np.arange(N) - (ti - tp["req"])     # same municipality, same template repetition
    requires = np.full(N, "", dtype=object)
    requires[has_req] = measure_ids[req_row[has_req]]

    in_prog = (tp["prog"] >= 0) & (rng.random(N) < PROGRAMME_SHARE)
    programme = np.full(N, "", dtype=object)
    programme[in_prog] = PROGRAMMES["programme"].to_numpy(object)[tp["prog"][in_prog]]

    # ---- text columns -----------------------------------------------------------------------
    names = np.array([TEMPLATE[s % T]["name"] + (f" (package {s // T + 1})" if s >= T else "")
                      for s in range(k)], dtype=object)[si]
    sectors = np.array([t["sector"] for t in TEMPLATE], dtype=object)[ti]
    # unit text per (template, lot size): "luminaire" or "20 luminaires"
    li = np.searchsorted(LOT_SIZES, np.where(is_int, lot, 1))
    unit_table = np.array([[t["unit"] if size == 1 else f"{size} {t['units']}" for size in LOT_SIZES]
                           for t in TEMPLATE], dtype=object)
    units = unit_table[ti, li]

    hh_served = np.round(tp["hh"] * mult).astype(np.int64)
    vshare = tp["vshare"]
    table = pd.DataFrame({
        "measure": measure_ids,
        "municipality": mid[mi],
        "name": names,
        "sector": sectors,
        "unit": units,
        "max_units": max_units.astype(np.int64),
        "min_units": _nullable_int(min_units.astype(np.int64), ~is_cont | (min_units <= 0)),
        "integer": np.where(is_cont, "false", "true").astype(object),
        "capex_eur": capex_unit,
        "fixed_capex_eur": _nullable_int(fixed.astype(np.int64), ~has_fixed),
        "opex_eur": _nullable_int(opex_unit, opex_unit == 0),
        "bill_savings_eur": _nullable_int(bill_unit, bill_unit == 0),
        "energy_savings_mwh": np.where(saved_unit != 0, saved_unit, np.nan),
        "renewable_mwh": np.where(renewable_unit != 0, renewable_unit, np.nan),
        "co2_reduction_t": co2_unit,
        "lifetime_years": tp["lifetime"].astype(np.int64),
        "households_served": _nullable_int(hh_served, hh_served <= 0),
        "vulnerable_share": vshare,
        "group": group,
        "requires": requires,
        "programme": programme,
    })
    assert list(table.columns) == MEASURE_COLUMNS
    greedy_input = dict(cost=fixed + capex_unit * max_units, abatement=co2_unit * max_units,
                        grouped=grouped, group_key=mi.astype(np.int64) * (n_group_ids + 1)
                        + np.where(grouped, group_no, 0), has_req=has_req)
    return table, greedy_input


def greedy_fill(cost: np.ndarray, abatement: np.ndarray, budget: float, *, grouped: np.ndarray,
                group_key: np.ndarray, has_req: np.ndarray, max_rounds: int = 200) -> np.ndarray:
    """A feasible portfolio (boolean mask, every measure at max_units) filled by cost per t.

    Conservative on purpose: measures carrying ``requires`` are left out, at most one measure per
    group is considered (its cheapest per t), programme discounts are ignored, whole measures only.
    Measures are visited in increasing cost per annual t; one that does not fit the remaining
    budget is skipped (it never fits later), so this is the classic greedy, vectorised in rounds.
    """
    n = len(cost)
    ok = (abatement > 0) & ~has_req
    ratio = np.where(ok, cost / np.where(ok, abatement, 1.0), np.inf)
    # best member of each group
    order = np.lexsort((np.arange(n), ratio, group_key))
    first = np.ones(n, bool)
    first[1:] = group_key[order][1:] != group_key[order][:-1]
    best = np.zeros(n, bool)
    best[order[first]] = True
    ok &= ~grouped | best
    cand = np.flatnonzero(ok)
    cand = cand[np.lexsort((cand, ratio[cand]))]
    chosen = np.zeros(n, bool)
    remaining = float(budget)
    for _ in range(max_rounds):
        cand = cand[cost[cand] <= remaining]
        if len(cand) == 0:
            break
        csum = np.cumsum(cost[cand])
        take = int(np.searchsorted(csum, remaining, side="right"))
        chosen[cand[:take]] = True
        remaining -= float(csum[take - 1]) if take else 0.0
        cand = cand[take + 1:]  # cand[take] does not fit now, so never will
    return chosen


def generate_case(directory, municipalities: int, measures_per_municipality: int = 50,
                  seed: int = 0, justice: dict | None = None) -> Path:
    """Write a synthetic case (SPEC section 3) into ``directory`` and return its path.

    Deterministic: the same arguments give byte-identical files.
    """
    n, k = int(municipalities), int(measures_per_municipality)
    if n < 1 or k < 1:
        raise ValueError("municipalities and measures_per_municipality must be >= 1")
    if justice is not None:
        unknown = set(justice) - JUSTICE_KEYS
        if unknown:
            raise ValueError(f"unknown justice keys {sorted(unknown)}; allowed: "
                             f"{sorted(JUSTICE_KEYS)}")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    mun, country = _municipalities(rng, n)
    meas, g = _measures(rng, mun, country, k)

    total_cost = float(g["cost"].sum())
    budget = int(round(BUDGET_SHARE * total_cost))
    chosen = greedy_fill(g["cost"], g["abatement"], budget, grouped=g["grouped"],
                         group_key=g["group_key"], has_req=g["has_req"])
    greedy_t = float(g["abatement"][chosen].sum())
    greedy_eur = float(g["cost"][chosen].sum())
    baseline = float(mun["baseline_emissions_t"].sum())
    achieved = float(mun["achieved_t"].sum())
    # joint target: R = reduction * baseline - achieved = 80 % of what the greedy abates
    reduction = math.floor((achieved + TARGET_SHARE_OF_GREEDY * greedy_t) / baseline * 1e4) / 1e4

    case = {
        "name": f"Synthetic benchmark {n} x {k} (seed {seed})",
        "description": (
            f"Generated by benchmarks.generate: {n} municipalities x {k} candidate measures, "
            f"seed {seed}. Budget = {BUDGET_SHARE:.0%} of the cost of all candidate units "
            f"(EUR {total_cost:,.0f}). A greedy fill by cost per t reaches {greedy_t:,.0f} t/yr "
            f"for EUR {greedy_eur:,.0f}; the joint target asks for "
            f"{TARGET_SHARE_OF_GREEDY:.0%} of it on top of the {achieved:,.0f} t/yr achieved."),
        "currency": "EUR",
        "baseline_year": 2015,
        "target_year": 2030,
        "tables": {"municipalities": "municipalities.csv", "measures": "measures.csv",
                   "programmes": "programmes.csv"},
        "economics": {"discount_rate": 0.04, "horizon_years": 20},
        "objective": "max_abatement",
        "budget": {"total_eur": budget},
        "target": {"reduction": reduction, "scope": "joint"},
        "solver": {"mip_gap": 0.001, "time_limit_s": 600},
    }
    if justice:
        case["justice"] = {key: justice[key] for key in justice}

    csv = dict(index=False, lineterminator="\n", encoding="utf-8")
    (out / "case.yaml").write_text(yaml.safe_dump(case, sort_keys=False, allow_unicode=True,
                                                  width=100), encoding="utf-8")
    mun.to_csv(out / "municipalities.csv", **csv)
    meas.to_csv(out / "measures.csv", **csv)
    PROGRAMMES.to_csv(out / "programmes.csv", **csv)
    return out


def _parse_justice(items: list[str]) -> dict | None:
    if not items:
        return None
    justice = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"--justice expects key=value, got {item!r}")
        justice[key.strip()] = yaml.safe_load(value)
    return justice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.generate",
        description="Write a seeded synthetic measureopt case (SPEC section 3).",
        epilog="example: python -m benchmarks.generate /tmp/fr35k --municipalities 35000 "
               "--measures 50 --seed 0 --justice vulnerable_share_min=0.3 --justice gini_max=0.4")
    parser.add_argument("out_dir", metavar="OUT_DIR")
    parser.add_argument("--municipalities", type=int, required=True)
    parser.add_argument("--measures", type=int, default=50, help="measures per municipality")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--justice", action="append", default=[], metavar="KEY=VALUE",
                        help="justice setting for case.yaml, repeatable")
    args = parser.parse_args(argv)
    try:
        justice = _parse_justice(args.justice)
        start = time.perf_counter()
        out = generate_case(args.out_dir, args.municipalities, args.measures, args.seed, justice)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(str(exc))
    seconds = time.perf_counter() - start
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(out.iterdir())
                      if p.name in {"case.yaml", "municipalities.csv", "measures.csv",
                                    "programmes.csv"})
    print(f"wrote {out} ({args.municipalities} x {args.measures}) in {seconds:.1f} s: {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
