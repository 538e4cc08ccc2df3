#!/usr/bin/env python
"""(Re)write the worked example cases in ``cases/``, deterministically.

    python cases/make_cases.py            # rewrites all three cases
    python cases/make_cases.py rural-cluster network-100

Cases written (each a directory with case.yaml, municipalities.csv, measures.csv, optionally
programmes.csv, and README.md):

- ``rural-cluster``: 8 Mediterranean municipalities (GR, IT, PT, ES), two clusters.
- ``region-44``: 44 Italian (Piedmont-like) municipalities in 6 clusters, cluster budgets and two
  joint procurement programmes (LED street lighting, rooftop PV).
- ``network-100``: 100 local authorities in 10 EU countries with six justice scenarios.

Every per-unit figure is derived from the sourced figures in REFERENCE-DATA.md (costs, lifetimes,
emission factors, yields) and a small set of stated assumptions (energy prices, heat demand,
potentials), collected in the constants below. All randomness comes from one seeded numpy
Generator per case, so the files are byte-for-byte reproducible. No network access.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
SEEDS = {"rural-cluster": 20260101, "region-44": 20260144, "network-100": 20260100}

# --------------------------------------------------------------------------------------------
# Sourced figures (REFERENCE-DATA.md)
# --------------------------------------------------------------------------------------------
# Electricity emission factors, tCO2/MWh, JRC Covenant of Mayors defaults (Koffi et al. 2017),
# 2013. SI, AT and BE are not in REFERENCE-DATA.md: they take the EU-28 average (indicative).
EF_EL = {
    "IT": 0.344, "ES": 0.298, "GR": 0.760, "PT": 0.316, "CY": 0.709, "HR": 0.205,
    "FR": 0.083, "SI": 0.393, "AT": 0.393, "BE": 0.393,
}
EF_EL_INDICATIVE = {"SI", "AT", "BE"}
# Fuel emission factors, tCO2/MWh, IPCC 2006 (CoM standard factors).
EF_FUEL = {"oil": 0.267, "gas": 0.202, "diesel": 0.267, "wood": 0.0}
# PV yield, MWh/kWp/yr. JRC PVGIS gives 1.3-1.6 in the Mediterranean; the values for FR, SI,
# AT and BE are outside that range and indicative.
PV_YIELD = {
    "GR": 1.50, "CY": 1.60, "ES": 1.55, "PT": 1.50, "IT": 1.40, "HR": 1.30,
    "FR": 1.15, "SI": 1.15, "AT": 1.05, "BE": 0.90,
}
# Costs per unit, EUR.
LED_STD_EUR = 152.0          # per light point, large contract (Alexandroupolis, Interreg Europe)
LED_STD_MWH = 0.200          # saved per point per year (same source: 4.38 GWh / 21,918 points)
LED_SMART_EUR = 480.0        # per point incl. 10 yr maintenance (Alona & Polystipos, CY)
LED_SMART_MWH = 0.260        # LED + dimming/telemanagement (indicative: ~30 % above plain LED)
RETRO_EUR = {"GR": 40000.0, "PT": 40000.0, "HR": 40000.0, "CY": 42000.0}  # default 45,000
RETRO_EUR_DEFAULT = 45000.0  # Codacons: 35,000-60,000 per dwelling
RETRO_HEAT_SAVED = 0.60      # ">60 % primary energy saved" (deep retrofit definition)
ASHP_EUR_KW = 1196.0         # air-to-water heat pump, DEA technology catalogue
ASHP_SPF = 3.5
GSHP_EUR_KW = 1937.0         # ground-source heat pump, DEA
GSHP_SPF = 3.85
OIL_BOILER_EFF = 0.90        # DEA
GAS_BOILER_EFF = 0.975       # DEA
PV_RES_EUR = 1309.0          # per kWp, DEA
PV_COM_EUR = 904.0           # per kWp, DEA
PV_LIFE = 37.5               # DEA
DH_EUR_KW = 1141.0           # biomass heat-only plant, DEA
EBUS_EUR = 410284.0 - 189551.0  # e-bus minus diesel bus (DEA transport): incremental purchase
EBUS_KM = 50000.0
EBUS_KWH_KM, DIESEL_KWH_KM = 0.92, 2.28
ADVICE_EL_SAVED, ADVICE_HEAT_SAVED = 0.123, 0.062  # ACHIEVE (Zivcic et al. 2014)
LIFE = {"audit": 10.0, "bldg": 30.0, "led": 20.0, "retro": 30.0, "ashp": 18.0, "gshp": 20.0,
        "advice": 5.0, "ebus": 12.0, "dh": 25.0}

# --------------------------------------------------------------------------------------------
# Stated assumptions (indicative)
# --------------------------------------------------------------------------------------------
PRICE = {  # EUR per kWh of final energy, 2024 order of magnitude, indicative
    "el_res": 0.25, "el_pub": 0.20, "el_com": 0.18, "oil": 0.11, "gas": 0.09, "diesel": 0.15,
    "pv_res": 0.15, "pv_com": 0.12, "pv_sol": 0.12, "dh_heat": 0.08,
}
HH_ELEC_MWH = 3.0                       # household electricity use per year
HEAT_FUEL_MWH = {"med": 9.0, "cont": 14.0}   # fossil heating fuel per household per year
HP_FULL_LOAD_H = {"med": 1000.0, "cont": 1800.0}  # heat pump sizing: kW_th = heat / hours
BLDG_KWH_M2 = {"med": 150.0, "cont": 200.0}  # public buildings, final energy per m2
BLDG_EUR_M2 = 220.0                     # public building deep renovation, per m2 (indicative)
RETRO_COOLING_MWH = 0.4                 # electricity saved per retrofitted dwelling (cooling)
ADVICE_EUR = 200.0                      # 2 visits + free devices (indicative)
PV_SOL_EUR = 1000.0                     # community/solidarity PV, per kWp (indicative)
PV_SOL_KWP_PER_VH = 3.0                 # kWp per vulnerable household (~4.5 MWh/yr)
PV_SOL_VSHARE = 0.9                     # share of its output allocated to energy-poor households
DH_CONNECTION_EUR = 3000.0              # per connected household (indicative)
DH_KW_PER_HH = 4.5                      # plant capacity per connected household, with diversity
DH_FIXED_EUR = 350000.0                 # network trunk, design, permits (indicative)

MEASURE_COLUMNS = [
    "measure", "municipality", "name", "sector", "unit", "max_units", "min_units", "integer",
    "capex_eur", "fixed_capex_eur", "opex_eur", "bill_savings_eur", "energy_savings_mwh",
    "renewable_mwh", "co2_reduction_t", "lifetime_years", "households_served",
    "vulnerable_share", "group", "requires", "earliest_year", "status", "programme",
]
MUNI_COLUMNS = [
    "municipality", "name", "cluster", "country", "population", "households",
    "vulnerable_households", "baseline_emissions_t", "achieved_t", "budget_eur", "income_index",
]
PROGRAMME_COLUMNS = ["programme", "name", "cluster", "min_members", "admin_cost_eur",
                     "capex_discount"]


@dataclass
class Muni:
    """Everything the measure builders need to know about one municipality."""

    id: str
    country: str
    population: int
    households: int
    vulnerable: int
    climate: str          # "med" or "cont"
    fuel: str             # fossil heating fuel replaced: "oil" or "gas"
    fossil_share: float   # share of households heated with that fuel
    led_per_cap: float    # street light points per inhabitant
    pv_res_kwp_hh: float  # suitable residential rooftop kWp per household
    pv_com_kwp_cap: float  # suitable commercial/agricultural rooftop kWp per inhabitant
    hp_reach: float       # share of fossil-heated homes a heat-pump programme can reach by 2030

    @property
    def ef(self) -> float:
        return EF_EL[self.country]

    @property
    def yld(self) -> float:
        return PV_YIELD[self.country]


def r(x: float, nd: int = 4) -> float:
    return float(round(x, nd))


def _row(m: Muni, code: str, **kw) -> dict:
    row = {c: None for c in MEASURE_COLUMNS}
    row.update(measure=f"{m.id}-{code}", municipality=m.id)
    row.update(kw)
    return row


def build_measures(m: Muni, rng: np.random.Generator, *, with_dh: bool, with_gshp: bool,
                   with_ebus: bool, led_programme: str | None = None,
                   pv_programme: str | None = None) -> list[dict]:
    """The candidate list of one municipality, per-unit figures derived from the constants."""
    ef, fuel_ef, fuel_p = m.ef, EF_FUEL[m.fuel], PRICE[m.fuel]
    heat = HEAT_FUEL_MWH[m.climate]                         # fuel MWh per household
    eff = OIL_BOILER_EFF if m.fuel == "oil" else GAS_BOILER_EFF
    useful = heat * eff
    rows: list[dict] = []

    # 1. energy audit of public buildings (prerequisite of the building bundle)
    audit_eur = float(np.clip(round(10000 + 2.0 * m.population, -3), 15000, 60000))
    rows.append(_row(m, "AUDIT", name="Energy audit of public buildings",
                     sector="municipal_buildings", unit="audit", max_units=1, integer=True,
                     capex_eur=audit_eur, co2_reduction_t=0.0, lifetime_years=LIFE["audit"]))

    # 2. public building bundle: ~50 % of consumption saved, half electricity half heating fuel
    area = float(np.clip(round(m.population * rng.uniform(0.30, 0.40), -2), 1200, 15000))
    saved = area * BLDG_KWH_M2[m.climate] / 1000.0 * 0.5
    rows.append(_row(
        m, "BLDG", name=f"Public building bundle (schools, town hall, clinic; {area:,.0f} m2)",
        sector="municipal_buildings", unit="bundle", max_units=1, integer=True,
        capex_eur=r(area * BLDG_EUR_M2, 0), energy_savings_mwh=r(saved, 1),
        bill_savings_eur=r(saved / 2 * 1000 * (PRICE["el_pub"] + fuel_p), 0),
        co2_reduction_t=r(saved / 2 * (ef + fuel_ef), 2), lifetime_years=LIFE["bldg"],
        requires=f"{m.id}-AUDIT"))

    # 3-4. street lighting: two alternatives (group)
    points = int(round(m.population * m.led_per_cap))
    led_min = int(min(100, points))
    grp = f"{m.id}-LED"
    rows.append(_row(
        m, "LED1", name="LED street lighting retrofit (standard contract)",
        sector="public_lighting", unit="luminaire", max_units=points, min_units=led_min,
        integer=False, capex_eur=LED_STD_EUR, energy_savings_mwh=LED_STD_MWH,
        bill_savings_eur=r(LED_STD_MWH * 1000 * PRICE["el_pub"], 2),
        co2_reduction_t=r(LED_STD_MWH * ef), lifetime_years=LIFE["led"], group=grp,
        programme=led_programme))
    rows.append(_row(
        m, "LED2", name="LED street lighting with dimming, 10-yr maintenance included",
        sector="public_lighting", unit="luminaire", max_units=points, min_units=led_min,
        integer=False, capex_eur=LED_SMART_EUR, opex_eur=-8.0, energy_savings_mwh=LED_SMART_MWH,
        bill_savings_eur=r(LED_SMART_MWH * 1000 * PRICE["el_pub"], 2),
        co2_reduction_t=r(LED_SMART_MWH * ef), lifetime_years=LIFE["led"], group=grp,
        programme=led_programme))

    # 5. residential deep retrofit, integer dwellings
    retro_max = int(np.clip(round(m.households * 0.012), 20, 80))
    heat_saved = heat * RETRO_HEAT_SAVED
    rows.append(_row(
        m, "RETRO", name="Residential deep retrofit (envelope, >60 % saved)",
        sector="residential", unit="dwelling", max_units=retro_max, integer=True,
        capex_eur=RETRO_EUR.get(m.country, RETRO_EUR_DEFAULT),
        energy_savings_mwh=r(heat_saved + RETRO_COOLING_MWH, 2),
        bill_savings_eur=r(heat_saved * 1000 * fuel_p
                           + RETRO_COOLING_MWH * 1000 * PRICE["el_res"], 0),
        co2_reduction_t=r(heat_saved * fuel_ef + RETRO_COOLING_MWH * ef),
        lifetime_years=LIFE["retro"], households_served=1))

    # 6-7. heat pumps replacing the fossil boiler: air-to-water vs ground-source (group)
    hp_max = int(round((m.households - m.vulnerable) * m.fossil_share * m.hp_reach))
    kw = useful / (HP_FULL_LOAD_H[m.climate] / 1000.0)
    hp_variants = [("HPA", "Air-to-water heat pump", ASHP_EUR_KW, ASHP_SPF, LIFE["ashp"])]
    if with_gshp:
        hp_variants.append(("HPG", "Ground-source heat pump", GSHP_EUR_KW, GSHP_SPF, LIFE["gshp"]))
    for code, label, eur_kw, spf, life in hp_variants if hp_max >= 10 else []:
        elec = useful / spf
        co2 = heat * fuel_ef - elec * ef
        rows.append(_row(
            m, code, name=f"{label} replacing {m.fuel} boiler", sector="residential",
            unit="household", max_units=hp_max, min_units=min(10, hp_max), integer=False,
            capex_eur=r(eur_kw * kw, 0), energy_savings_mwh=r(heat - elec, 3),
            bill_savings_eur=r(heat * 1000 * fuel_p - elec * 1000 * PRICE["el_res"], 0),
            co2_reduction_t=r(max(co2, 0.0)), lifetime_years=life, households_served=1,
            group=f"{m.id}-HP" if with_gshp else None,
            status="excluded" if co2 <= 0.05 else None))

    # 8. heat pumps for energy-poor households: a separate, fully subsidised social programme
    hpv_max = int(round(m.vulnerable * m.fossil_share * 0.6))
    elec = useful / ASHP_SPF
    co2 = heat * fuel_ef - elec * ef
    if hpv_max >= 10:
        rows.append(_row(
            m, "HPV", name=f"Air-to-water heat pump for energy-poor households (replaces {m.fuel})",
            sector="residential", unit="household", max_units=hpv_max, min_units=10,
            integer=False, capex_eur=r(ASHP_EUR_KW * kw, 0), energy_savings_mwh=r(heat - elec, 3),
            bill_savings_eur=r(heat * 1000 * fuel_p - elec * 1000 * PRICE["el_res"], 0),
            co2_reduction_t=r(max(co2, 0.0)), lifetime_years=LIFE["ashp"], households_served=1,
            vulnerable_share=0.9, status="excluded" if co2 <= 0.05 else None))

    # 9-11. rooftop PV: residential, commercial, community/solidarity (continuous kWp)
    pv_res = round(m.households * m.pv_res_kwp_hh)
    pv_com = round(m.population * m.pv_com_kwp_cap)
    pv_sol = round(m.vulnerable * PV_SOL_KWP_PER_VH)
    for code, label, kwp, eur, mn, price, vs, hh in [
        ("PVR", "Rooftop PV, residential", pv_res, PV_RES_EUR, 20, "pv_res", 0.05, 1 / 3.5),
        ("PVC", "Rooftop PV, commercial and agricultural roofs", pv_com, PV_COM_EUR, 50,
         "pv_com", 0.0, None),
        ("PVS", "Community PV with solidarity shares for energy-poor households", pv_sol,
         PV_SOL_EUR, 50, "pv_sol", PV_SOL_VSHARE, 1 / PV_SOL_KWP_PER_VH),
    ]:
        if kwp < max(mn, 1):
            continue
        rows.append(_row(
            m, code, name=label, sector="local_electricity", unit="kWp", max_units=int(kwp),
            min_units=mn, integer=False, capex_eur=eur,
            bill_savings_eur=r(m.yld * 1000 * PRICE[price], 0), renewable_mwh=m.yld,
            co2_reduction_t=r(m.yld * ef), lifetime_years=PV_LIFE,
            households_served=r(hh) if hh else None, vulnerable_share=vs,
            programme=pv_programme if code in ("PVR", "PVC") else None))

    # 12. energy advice for vulnerable households (ACHIEVE)
    el_s, heat_s = HH_ELEC_MWH * ADVICE_EL_SAVED, heat * ADVICE_HEAT_SAVED
    if m.vulnerable >= 25:
        rows.append(_row(
            m, "ADVICE", name="Energy advice for vulnerable households (2 visits + free devices)",
            sector="residential", unit="household", max_units=m.vulnerable, min_units=25,
            integer=False, capex_eur=ADVICE_EUR, energy_savings_mwh=r(el_s + heat_s, 3),
            bill_savings_eur=r(el_s * 1000 * PRICE["el_res"] + heat_s * 1000 * fuel_p, 0),
            co2_reduction_t=r(el_s * ef + heat_s * fuel_ef), lifetime_years=LIFE["advice"],
            households_served=1, vulnerable_share=0.95))

    # 13. electric bus replacing a diesel bus (operator fuel saving as negative opex)
    if with_ebus:
        diesel = DIESEL_KWH_KM * EBUS_KM / 1000.0
        elec = EBUS_KWH_KM * EBUS_KM / 1000.0
        co2 = diesel * EF_FUEL["diesel"] - elec * ef
        rows.append(_row(
            m, "EBUS", name="Electric 12 m bus replacing a diesel bus (50,000 km/yr)",
            sector="transport", unit="bus",
            max_units=int(np.clip(math.ceil(m.population / 8000), 1, 4)),
            integer=True, capex_eur=r(EBUS_EUR, 0),
            opex_eur=r(-(diesel * 1000 * PRICE["diesel"] - elec * 1000 * PRICE["el_pub"]), 0),
            energy_savings_mwh=r(diesel - elec, 1), co2_reduction_t=r(max(co2, 0.0), 3),
            lifetime_years=LIFE["ebus"],
            status="excluded" if co2 <= 0 else None))

    # 14. biomass district heating for the town centre (fixed cost + per connection)
    if with_dh:
        dh_max = int(rng.choice([60, 80, 100]))
        rows.append(_row(
            m, "DH", name=f"Biomass district heating, town centre (replaces {m.fuel})",
            sector="local_heat", unit="connected household", max_units=dh_max, min_units=40,
            integer=True, capex_eur=r(DH_EUR_KW * DH_KW_PER_HH + DH_CONNECTION_EUR, 0),
            fixed_capex_eur=DH_FIXED_EUR,
            bill_savings_eur=r(heat * 1000 * fuel_p - useful * 1000 * PRICE["dh_heat"], 0),
            energy_savings_mwh=r(heat - useful, 2), co2_reduction_t=r(heat * fuel_ef),
            lifetime_years=LIFE["dh"], households_served=1))
    return rows


# --------------------------------------------------------------------------------------------
# Helpers: totals, greedy least-cost reach, writing
# --------------------------------------------------------------------------------------------
def potential_t(meas: pd.DataFrame) -> pd.Series:
    """Max annual abatement per measure (0 for excluded)."""
    pot = meas["max_units"].astype(float) * meas["co2_reduction_t"].astype(float)
    return pot.where(meas["status"].fillna("candidate") != "excluded", 0.0)


def cost_all(meas: pd.DataFrame) -> float:
    ok = meas["status"].fillna("candidate") != "excluded"
    m = meas[ok]
    return float((m["fixed_capex_eur"].fillna(0).astype(float)
                  + m["capex_eur"].astype(float) * m["max_units"].astype(float)).sum())


def requirement_t(munis: pd.DataFrame, reduction: float = 0.40) -> float:
    """R = max(0, reduction x sum(baseline) - sum(achieved)), SPEC 4.3."""
    base = munis["baseline_emissions_t"].sum()
    return max(0.0, reduction * base - munis["achieved_t"].fillna(0).sum())


def greedy_cost(meas: pd.DataFrame, need_t: float) -> float:
    """Investment of the cheapest way, by capex per tCO2/yr, to abate ``need_t``.

    Committed measures (and what they require) are paid first; then measures in order of
    (fixed + capex x max_units) / potential, one member per group (the cheapest), fractional
    units allowed. A planning estimate for sizing the budget, not an optimum.
    """
    m = meas.copy()
    m["status"] = m["status"].fillna("candidate")
    m = m[m["status"] != "excluded"]
    m["pot"] = potential_t(m)
    m["full"] = m["fixed_capex_eur"].fillna(0).astype(float) + m["capex_eur"] * m["max_units"]
    forced = set(m.loc[m["status"] == "committed", "measure"])
    req = dict(zip(m["measure"], m["requires"]))
    for j in list(forced):
        while isinstance(req.get(j), str):
            j = req[j]
            forced.add(j)
    spent = float(m.loc[m["measure"].isin(forced), "full"].sum())
    got = float(m.loc[m["measure"].isin(forced), "pot"].sum())
    rest = m[~m["measure"].isin(forced) & (m["pot"] > 0)].copy()
    rest["cpt"] = rest["full"] / rest["pot"]
    rest = rest.sort_values("cpt", kind="stable")
    rest = rest[~(rest["group"].notna() & rest.duplicated("group"))]
    for _, row in rest.iterrows():
        if got >= need_t:
            break
        take = min(1.0, (need_t - got) / row["pot"])
        extra = 0.0
        if isinstance(row["requires"], str) and row["requires"] not in forced:
            extra = float(m.loc[m["measure"] == row["requires"], "full"].sum())
            forced.add(row["requires"])
        spent += take * row["full"] + extra
        got += take * row["pot"]
    return spent if got >= need_t - 1e-6 else math.inf


def _fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        if float(v).is_integer():
            return str(int(v))
        return repr(float(v))
    return str(v)


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    df = pd.DataFrame([{c: _fmt(row.get(c)) for c in columns} for row in rows], columns=columns)
    df.to_csv(path, index=False, lineterminator="\n")


def write_yaml(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    for c in ("max_units", "min_units", "capex_eur", "fixed_capex_eur", "co2_reduction_t"):
        df[c] = pd.to_numeric(df[c])
    return df


def summary_lines(munis: pd.DataFrame, meas: pd.DataFrame, budget: float) -> dict:
    need = requirement_t(munis)
    pot = float(potential_t(meas).sum())
    call = cost_all(meas)
    return {
        "municipalities": len(munis), "measures": len(meas),
        "baseline_t": float(munis["baseline_emissions_t"].sum()),
        "achieved_t": float(munis["achieved_t"].sum()),
        "requirement_t": need, "potential_t": pot, "cost_all_eur": call, "budget_eur": budget,
        "greedy_eur": greedy_cost(meas, need),
    }


def pick_extra(rng: np.random.Generator, *, dh: bool, ebus: bool) -> str:
    """One optional candidate beyond the common eleven (keeps ~11-12 measures each)."""
    options = ["gshp"] + (["dh"] if dh else []) + (["ebus"] if ebus else [])
    return str(rng.choice(options))


def round_budget(x: float) -> int:
    return int(math.ceil(x / 100000.0) * 100000)


def _names(rng: np.random.Generator, first: list[str], second: list[str], n: int) -> list[str]:
    out: list[str] = []
    combos = [f"{a} {b}".replace("  ", " ") for a in first for b in second]
    for i in rng.permutation(len(combos)):
        out.append(combos[i])
        if len(out) == n:
            break
    return out


# --------------------------------------------------------------------------------------------
# Case 1: rural cluster
# --------------------------------------------------------------------------------------------
RURAL_EXTRAS = {  # optional candidates beyond the common eleven
    "GR-001": ("gshp",), "GR-002": ("ebus",), "IT-001": ("dh",), "IT-002": ("ebus",),
    "PT-001": ("gshp",), "PT-002": ("ebus",), "ES-001": ("dh",), "ES-002": ("gshp",),
}


def make_rural(rng: np.random.Generator):
    names = {
        "GR": ["Ano Platanos", "Kato Elaionas"],
        "IT": ["Serravalle Sannita", "Castelmonte Calabro"],
        "PT": ["Vila Nova do Sobral", "Alcaria da Serra"],
        "ES": ["Villanueva del Cerro", "Almenara de la Sierra"],
    }
    cluster = {"GR": "east", "IT": "east", "PT": "west", "ES": "west"}
    munis, meas, ctx = [], [], []
    for country in ("GR", "IT", "PT", "ES"):
        for k in range(2):
            mid = f"{country}-{k + 1:03d}"
            pop = int(round(rng.uniform(3000, 20000), -1))
            hh = int(round(pop / rng.uniform(2.3, 2.7)))
            vshare = rng.uniform(0.15, 0.30)
            vul = int(round(hh * vshare))
            base_pc = rng.uniform(5.2, 6.8) if country == "GR" else rng.uniform(4.0, 5.4)
            base = round(pop * base_pc, -1)
            achieved = round(base * rng.uniform(0.28, 0.32), -1)
            income = round(float(rng.uniform(0.70, 1.00)), 2)
            munis.append(dict(
                municipality=mid, name=names[country][k], cluster=cluster[country],
                country=country, population=pop, households=hh, vulnerable_households=vul,
                baseline_emissions_t=base, achieved_t=achieved, budget_eur=None,
                income_index=None if (country == "ES" and k == 1) else income))
            m = Muni(id=mid, country=country, population=pop, households=hh, vulnerable=vul,
                     climate="med", fuel="oil", fossil_share=float(rng.uniform(0.45, 0.70)),
                     led_per_cap=float(rng.uniform(0.20, 0.30)),
                     pv_res_kwp_hh=float(rng.uniform(1.1, 1.4)),
                     pv_com_kwp_cap=float(rng.uniform(0.25, 0.40)),
                     hp_reach=0.30)
            ctx.append(m)
            extra = RURAL_EXTRAS[mid]
            meas += build_measures(m, rng, with_dh="dh" in extra, with_gshp="gshp" in extra,
                                   with_ebus="ebus" in extra)
    md = frame(meas, MEASURE_COLUMNS)
    # committed: the public building bundle of IT-001 (its audit is forced in with it)
    md.loc[md["measure"] == "IT-001-BLDG", "status"] = "committed"
    # an explicit exclusion besides the Greek e-buses: PT-002 residential retrofit is on hold
    md.loc[md["measure"] == "PT-002-RETRO", "status"] = "excluded"
    # timing, used by the five-year-plan scenario only (earliest_year counts only with periods):
    # district heating needs a concession and a tender, ground-source heat pumps drilling
    # permits, e-buses a procurement round
    md.loc[md["measure"].str.endswith("-DH"), "earliest_year"] = 2028
    md.loc[md["measure"].str.endswith(("-HPG", "-EBUS")), "earliest_year"] = 2027
    mu = pd.DataFrame(munis, columns=MUNI_COLUMNS)
    # a municipal cap for one municipality (others blank = no cap)
    mu.loc[mu["municipality"] == "PT-001", "budget_eur"] = 8000000
    need = requirement_t(mu)
    budget = round_budget(max(0.40 * cost_all(md), 1.35 * greedy_cost(md, need)))
    case = {
        "name": "Mediterranean rural cluster (ENTRACK-like)",
        "description": ("Eight rural municipalities of 3,000-20,000 inhabitants in Greece, Italy, "
                        "Portugal and Spain co-design a joint social energy plan: one shared "
                        "-40 % target, one budget, two justice scenarios. Synthetic data built "
                        "from sourced unit figures by cases/make_cases.py."),
        "currency": "EUR", "baseline_year": 2015, "target_year": 2030,
        "economics": {"discount_rate": 0.04, "horizon_years": 20},
        "objective": "max_abatement",
        "budget": {"total_eur": budget},
        "target": {"reduction": 0.40, "scope": "joint"},
        "solver": {"mip_gap": 0.001, "time_limit_s": 120},
        "scenarios": {
            "justice40": {"justice": {"vulnerable_share_min": 0.40}},
            "fair-floor": {"justice": {"population_floor": 0.5}},
            # 2026-2030: only the municipalities' own funds in 2026 and 2027 (annual caps); from
            # 2028 a joint grant arrives and only the plan's total budget binds. Emissions must be
            # 34 % below the baseline by 2028 (achieved reductions included)
            "five-year-plan": {
                "objective": "max_cumulative_abatement",
                "periods": {
                    "years": list(range(2026, 2031)),
                    "budget_eur": {2026: round_budget(0.12 * budget), 2027: round_budget(0.16 * budget)},
                    "trajectory": {2028: 0.34},
                },
            },
        },
    }
    return mu, md, None, case, ctx


# --------------------------------------------------------------------------------------------
# Case 2: region-44 (Italy, Piedmont-like), 6 clusters, cluster budgets, programmes
# --------------------------------------------------------------------------------------------
REGION_CLUSTERS = [  # cluster id, ISTAT-like province code, municipalities, mountain (oil)?
    ("langhe", "004", 8, False), ("roero", "004", 6, False), ("monferrato", "005", 9, False),
    ("canavese", "001", 8, False), ("valsesia", "002", 6, True), ("valsusa", "001", 7, True),
]


def make_region(rng: np.random.Generator):
    first = ["Castel", "Monte", "Borgo", "Villa", "Rocca", "Ponte", "San Giorgio", "Serra",
             "Costa", "Torre", "Bric", "Piano"]
    second = ["Alto", "Nuovo", "Vecchio", "Fiorito", "del Bosco", "di Sopra", "di Sotto",
              "Canale", "al Tanaro", "sul Po", "Bianco", "Oliveto"]
    names = _names(rng, first, second, 44)
    munis, meas, ctx = [], [], []
    used = set()
    i = 0
    for cl, prov, n, mountain in REGION_CLUSTERS:
        for _ in range(n):
            while True:
                code = f"{prov}{int(rng.integers(1, 320)):03d}"
                if code not in used:
                    used.add(code)
                    break
            pop = int(round(float(np.exp(rng.uniform(np.log(900), np.log(24000)))), -1))
            if i == 0:
                pop = 48230  # the cluster's market town
            hh = int(round(pop / rng.uniform(2.1, 2.4)))
            vshare = rng.uniform(0.08, 0.22)
            vul = int(round(hh * vshare))
            base = round(pop * rng.uniform(4.2, 5.8), -1)
            achieved = round(base * rng.uniform(0.29, 0.33), -1)
            name = names[i]
            if i == 5:
                name = "Borgo Nuovo, frazione \"Case Sparse\""  # exercises CSV quoting
            munis.append(dict(
                municipality=code, name=name, cluster=cl, country="IT", population=pop,
                households=hh, vulnerable_households=vul, baseline_emissions_t=base,
                achieved_t=achieved, budget_eur=None,
                income_index=round(float(rng.uniform(0.80, 1.20)), 2)))
            m = Muni(id=code, country="IT", population=pop, households=hh, vulnerable=vul,
                     climate="cont", fuel="oil" if mountain else "gas",
                     fossil_share=float(rng.uniform(0.60, 0.85)),
                     led_per_cap=float(rng.uniform(0.15, 0.25)),
                     pv_res_kwp_hh=float(rng.uniform(1.0, 1.3)),
                     pv_com_kwp_cap=float(rng.uniform(0.25, 0.40)),
                     hp_reach=0.30)
            ctx.append(m)
            extra = pick_extra(rng, dh=mountain, ebus=pop >= 8000)
            meas += build_measures(
                m, rng, with_dh=extra == "dh", with_gshp=extra == "gshp",
                with_ebus=extra == "ebus", led_programme="LED-JP",
                pv_programme="PV-MONF" if cl == "monferrato" else None)
            i += 1
    md = frame(meas, MEASURE_COLUMNS)
    md.loc[md["measure"] == f"{munis[0]['municipality']}-BLDG", "status"] = "committed"
    mu = pd.DataFrame(munis, columns=MUNI_COLUMNS)
    programmes = [
        dict(programme="LED-JP", name="Regional LED street lighting joint procurement",
             cluster=None, min_members=3, admin_cost_eur=150000, capex_discount=0.15),
        dict(programme="PV-MONF", name="Monferrato rooftop PV group purchase",
             cluster="monferrato", min_members=3, admin_cost_eur=80000, capex_discount=0.12),
    ]
    need = requirement_t(mu)
    total = round_budget(max(0.35 * cost_all(md), 1.35 * greedy_cost(md, need)))
    cl_budget = {}
    for cl, *_ in REGION_CLUSTERS:
        ids = set(mu.loc[mu["cluster"] == cl, "municipality"])
        cl_budget[cl] = round_budget(0.45 * cost_all(md[md["municipality"].isin(ids)]))
    case = {
        "name": "Region-44: joint SECAPs of 44 municipalities in 6 clusters (City_SEC-like)",
        "description": ("44 small and medium Italian municipalities (Piedmont-like, ISTAT-style "
                        "codes) in 6 clusters prepare joint SECAPs with the regional energy "
                        "agency: one -40 % joint target, a regional budget, cluster budgets, a "
                        "regional LED procurement programme and a Monferrato PV group purchase. "
                        "Synthetic data built by cases/make_cases.py."),
        "currency": "EUR", "baseline_year": 2010, "target_year": 2030,
        "economics": {"discount_rate": 0.04, "horizon_years": 20},
        "objective": "max_abatement",
        "budget": {"total_eur": total, "cluster_eur": cl_budget},
        "target": {"reduction": 0.40, "scope": "joint"},
        "solver": {"mip_gap": 0.001, "time_limit_s": 300},
        "scenarios": {
            "least-cost": {"objective": "min_investment"},
            "cluster-targets": {"target": {"scope": "cluster"}},
        },
    }
    return mu, md, programmes, case, ctx


# --------------------------------------------------------------------------------------------
# Case 3: network-100, 10 countries, six justice scenarios
# --------------------------------------------------------------------------------------------
NETWORK_COUNTRIES = [  # country, authorities, climate, share of oil among fossil heating
    ("IT", 12, "cont", 0.2), ("ES", 12, "med", 0.5), ("GR", 8, "med", 0.9),
    ("PT", 8, "med", 0.7), ("CY", 6, "med", 1.0), ("HR", 8, "cont", 0.3),
    ("FR", 14, "cont", 0.3), ("SI", 8, "cont", 0.5), ("AT", 12, "cont", 0.4),
    ("BE", 12, "cont", 0.4),
]


def make_network(rng: np.random.Generator):
    munis, meas, ctx = [], [], []
    for country, n, climate, p_oil in NETWORK_COUNTRIES:
        for k in range(n):
            mid = f"{country}-{k + 1:03d}"
            pop = int(round(float(np.exp(rng.uniform(np.log(4000), np.log(90000)))), -1))
            hh = int(round(pop / rng.uniform(2.1, 2.6)))
            income = float(np.clip(rng.normal(1.0, 0.22), 0.6, 1.5))
            # vulnerability falls with income: 5-30 %
            vshare = float(np.clip(0.30 - 0.25 * (income - 0.6) / 0.9 + rng.normal(0, 0.03),
                                   0.05, 0.30))
            vul = int(round(hh * vshare))
            fuel = "oil" if rng.random() < p_oil else "gas"
            # low-carbon grids: more fossil heating left to replace, higher heat-pump reach;
            # high-carbon grids: less suitable roof area assumed, so potentials stay even
            low_grid = EF_EL[country] < 0.25
            high_grid = EF_EL[country] > 0.6
            m = Muni(id=mid, country=country, population=pop, households=hh, vulnerable=vul,
                     climate=climate, fuel=fuel,
                     fossil_share=float(rng.uniform(0.65, 0.85) if low_grid
                                        else rng.uniform(0.45, 0.75)),
                     led_per_cap=float(rng.uniform(0.10, 0.16)),
                     pv_res_kwp_hh=float(rng.uniform(0.5, 0.7) if high_grid
                                         else rng.uniform(0.8, 1.1)),
                     pv_com_kwp_cap=float(rng.uniform(0.08, 0.12) if high_grid
                                          else rng.uniform(0.15, 0.25)),
                     hp_reach=0.40 if low_grid else 0.30)
            ctx.append(m)
            extra = pick_extra(rng, dh=climate == "cont", ebus=pop >= 10000)
            rows = build_measures(m, rng, with_dh=extra == "dh", with_gshp=extra == "gshp",
                                  with_ebus=extra == "ebus")
            meas += rows
            pot = sum(float(x["max_units"]) * float(x["co2_reduction_t"]) for x in rows
                      if x.get("status") != "excluded")
            # BEI per capita 4-7 t; achieved share chosen so that the remaining
            # requirement (0.40 - share) x baseline is ~50 % of this authority's potential
            base_pc = float(rng.uniform(4.0, 7.0))
            base = round(pop * base_pc, -1)
            share = float(np.clip(0.40 - 0.50 * pot / base, 0.22, 0.37))
            achieved = round(base * share, -1)
            munis.append(dict(
                municipality=mid, name=f"{country} authority {k + 1}", cluster=country.lower(),
                country=country, population=pop, households=hh, vulnerable_households=vul,
                baseline_emissions_t=base, achieved_t=achieved, budget_eur=None,
                income_index=round(income, 2)))
    md = frame(meas, MEASURE_COLUMNS)
    mu = pd.DataFrame(munis, columns=MUNI_COLUMNS)
    need = requirement_t(mu)
    budget = round_budget(max(0.35 * cost_all(md), 1.35 * greedy_cost(md, need)))
    case = {
        "name": "Network-100: fair energy transition across 100 local authorities (mPOWER-like)",
        "description": ("100 local authorities in 10 EU countries compare justice rules side by "
                        "side under one budget and one -40 % joint target. Benefit = abatement, "
                        "so floors, Gini and maxmin act on per-capita abatement. Synthetic data "
                        "built by cases/make_cases.py."),
        "currency": "EUR", "baseline_year": 2015, "target_year": 2030,
        "economics": {"discount_rate": 0.04, "horizon_years": 20},
        "objective": "max_abatement",
        "budget": {"total_eur": budget},
        "target": {"reduction": 0.40, "scope": "joint"},
        "justice": {"benefit": "abatement"},
        "solver": {"mip_gap": 0.001, "time_limit_s": 300},
        "scenarios": {
            "unconstrained": {},
            "justice40": {"justice": {"vulnerable_share_min": 0.40}},
            "fair-floor": {"justice": {"population_floor": 0.8}},
            "gini-025": {"justice": {"gini_max": 0.25}},
            "maxmin": {"justice": {"maxmin": True}},
            "equity-weighted": {"objective": "max_weighted_benefit",
                                "weights": {"vulnerable_bonus": 1.0, "equity_elasticity": 1.3}},
        },
    }
    return mu, md, None, case, ctx


# --------------------------------------------------------------------------------------------
# README text
# --------------------------------------------------------------------------------------------
SOURCES = """\
## Figures used and their sources

All from /work/shared/REFERENCE-DATA.md unless marked *indicative* (an assumption of this case).

| figure | value used | source |
|---|---|---|
| electricity emission factors, tCO2/MWh | {ef} | JRC Covenant of Mayors default factors, 2013 (Koffi et al. 2017){ef_note} |
| heating oil / natural gas / diesel, tCO2/MWh | 0.267 / 0.202 / 0.267 | IPCC 2006 (74,100 / 56,100 kg/TJ); diesel taken as gas oil |
| wood (district heating) | 0 | Covenant of Mayors convention |
| LED street lighting, standard contract | EUR 152 per light point, 0.200 MWh/point/yr saved, 20 yr | Alexandroupolis (GR), Interreg Europe good practice |
| LED with dimming and 10-yr maintenance | EUR 480 per point; 0.260 MWh/point/yr saved and opex -8 EUR/yr (*indicative*; the source reports -44 % of the bill) | Alona & Polystipos (CY), Interreg Europe |
| public building bundle | 50 % of consumption saved, 30 yr; {bldg_kwh} kWh/m2/yr before, half electricity, half heating fuel, EUR 220/m2 (*indicative*) | PROSPECT H2020 (saving share); consumption and cost *indicative* |
| energy audit of public buildings | EUR 15,000-60,000 by size, no direct abatement, 10 yr (*indicative*) | assumption |
| residential deep retrofit | EUR 40,000 (GR, PT, HR), 42,000 (CY), 45,000 (others) per dwelling; 60 % of heating fuel + 0.4 MWh electricity (*indicative*) saved; 30 yr | Codacons (IT) 35,000-60,000; Ipsos-Navigant 2019 (>60 % = deep) |
| air-to-water heat pump | EUR 1,196/kW_th, SPF 3.5, 18 yr | Danish Energy Agency catalogue (via PyPSA technology-data) |
| ground-source heat pump | EUR 1,937/kW_th, SPF 3.85, 20 yr | same |
| replaced boilers | efficiency oil 0.90, gas 0.975 | same |
| rooftop PV residential / commercial | EUR 1,309 / 904 per kWp, 37.5 yr | DEA catalogue |
| PV yield, MWh/kWp/yr | {yields} | JRC PVGIS range 1.3-1.6 in the Mediterranean{yield_note} |
| community PV with solidarity shares | EUR 1,000/kWp, {sol_kwp} kWp per vulnerable household, {sol_v:.0%} of the output allocated to energy-poor households (*indicative*) | assumption, cost between the DEA residential and commercial figures |
| biomass district heating | EUR 1,141/kW_th x 4.5 kW per connection + EUR 3,000 connection, EUR 350,000 fixed, 25 yr (connection and fixed cost *indicative*) | DEA |
| electric 12 m bus vs diesel | EUR 220,733 incremental (410,284 - 189,551), 0.92 vs 2.28 kWh/km, 50,000 km/yr, 12 yr (14.6 tCO2/yr on the Italian grid) | DEA transport data sheets |
| energy advice for vulnerable households | electricity -12.3 %, heating -6.2 %; EUR 200 per household and 5 yr (*indicative*) | ACHIEVE project, Slovenia (Zivcic et al. 2014) |
| target | -40 % by 2030 | Covenant of Mayors / JRC SECAP guidebook (joint target = option 2) |
| vulnerable benefit share | 40 % | Justice40 (EO 14008); EED (EU) 2023/1791 Art. 8(3) |
| equity weight | (income index)^-1.3 | HM Treasury Green Book, Annex A3 |

## Assumptions (*indicative*)

- Energy prices, EUR/kWh: household electricity 0.25, public electricity 0.20, heating oil 0.11
  (~1.10 EUR/l), natural gas 0.09, diesel 0.15 (~1.50 EUR/l); PV output valued at 0.15
  (residential: self-consumption/export mix) and 0.12 (commercial, community); district heat
  tariff 0.08. `bill_savings_eur` = energy saved x price, per unit; the e-bus operator's fuel
  saving (EUR 7,900/yr) is a negative `opex_eur` instead.
- `co2_reduction_t` per unit = energy saved x emission factor of the carrier saved, minus any
  extra electricity x the country's grid factor (heat pumps, e-buses). Where that is <= 0 (e.g.
  an e-bus on the 2013 Greek or Cypriot grid) the measure is written with 0 and `excluded`.
- A household uses 3.0 MWh of electricity and {heat} MWh of heating fuel a year; heat pumps are
  sized at useful heat / {flh} full-load hours.
- Potentials: heat pumps reach {hp_reach} of fossil-heated homes by 2030 (the energy-poor
  programme 60 % of fossil-heated vulnerable homes); residential rooftop PV 0.5-1.4 kWp of
  suitable roof per household, commercial/agricultural roofs 0.08-0.40 kWp per inhabitant;
  0.10-0.30 street lights per inhabitant; deep retrofits 1.2 % of dwellings (20-80, integer).
- Baseline Emission Inventory {bei} tCO2 per inhabitant; `achieved_t` (reductions already
  achieved since the baseline year: earlier actions and grid decarbonisation) {ach} of the
  baseline. The candidate list is only part of a SECAP, so the remaining requirement is what
  these candidates must deliver.
- Vulnerable share of the benefit: energy advice 0.95, energy-poor heat pumps 0.9, community PV
  {sol_v}, residential PV 0.05, commercial PV 0; blank (= the municipality's vulnerable
  households / households) for municipality-wide or untargeted measures.
"""


def case_stats(mu: pd.DataFrame, md: pd.DataFrame) -> dict:
    """Figures quoted in the READMEs, computed from the tables written."""
    pop = mu.set_index("municipality")["population"].astype(float)
    pot = potential_t(md)
    per_m = pot.groupby(md["municipality"]).sum().reindex(pop.index).fillna(0.0)
    share = (mu["vulnerable_households"] / mu["households"]).to_numpy()
    vdefault = pd.Series(share, index=mu["municipality"]).reindex(md["municipality"]).to_numpy()
    v = md["vulnerable_share"].astype(float).fillna(pd.Series(vdefault, index=md.index))
    pc = mu["baseline_emissions_t"] / mu["population"]
    ach = mu["achieved_t"] / mu["baseline_emissions_t"]
    return {
        "need_pc": requirement_t(mu) / pop.sum(),
        "pot_pc_min": float((per_m / pop).min()), "pot_pc_max": float((per_m / pop).max()),
        "vul_pot": float((v * pot).sum()),
        "high_v_pot": float(pot[v >= 0.8].sum()),
        "bei": f"{pc.min():.1f}-{pc.max():.1f}", "ach": f"{ach.min():.0%}-{ach.max():.0%}",
        "n_min": int(md.groupby("municipality").size().min()),
        "n_max": int(md.groupby("municipality").size().max()),
    }


def readme(name: str, title: str, intro: str, s: dict, st: dict, countries: list[str],
           heat: str, flh: str, hp_reach: str, bldg_kwh: str, scenarios: str,
           extra: str = "") -> str:
    ef = " / ".join(f"{c} {EF_EL[c]:.3f}" for c in countries)
    ind = sorted(set(countries) & EF_EL_INDICATIVE)
    ef_note = (f"; {', '.join(ind)}: the EU-28 average 0.393 as a stand-in (*indicative*)"
               if ind else "")
    yields = " / ".join(f"{c} {PV_YIELD[c]:.2f}" for c in countries)
    out_of = [c for c in countries if not 1.3 <= PV_YIELD[c] <= 1.6]
    yield_note = f"; {', '.join(out_of)} outside that range (*indicative*)" if out_of else ""
    need, pot = s["requirement_t"], s["potential_t"]
    per_muni = (str(st["n_min"]) if st["n_min"] == st["n_max"]
                else f"{st['n_min']}-{st['n_max']}")
    return f"""# {title}

{intro}

Run it:

```
measureopt validate cases/{name}
measureopt solve cases/{name}
measureopt solve cases/{name} --scenario <name>
```

The data are synthetic, built only from the unit figures and assumptions listed below, and are
(re)written deterministically by `python cases/make_cases.py {name}` (seeded; no network). Change
the script and rerun it rather than editing the CSV files by hand.

## Size and key totals

| | |
|---|---|
| municipalities | {s['municipalities']} |
| measures | {s['measures']} ({per_muni} per municipality) |
| baseline emissions | {need_fmt(s['baseline_t'])} tCO2/yr |
| already achieved | {need_fmt(s['achieved_t'])} tCO2/yr |
| joint -40 % requirement R = 0.40 x baseline - achieved | {need_fmt(need)} tCO2/yr ({st['need_pc']:.3f} t per inhabitant) |
| abatement potential, all non-excluded candidates at max units | {need_fmt(pot)} tCO2/yr (R is {need / pot:.0%} of it) |
| cost of all non-excluded candidates at max units | EUR {s['cost_all_eur'] / 1e6:,.1f} M |
| total budget (`budget.total_eur`) | EUR {s['budget_eur'] / 1e6:,.1f} M ({s['budget_eur'] / s['cost_all_eur']:.0%} of that cost) |
| cheapest way to reach R, greedy by capex per tCO2/yr (planning estimate) | EUR {s['greedy_eur'] / 1e6:,.1f} M |
{extra}
The budget is set to the larger of a fixed share of the cost of everything and 1.35 x the greedy
estimate, so the target is reachable while most candidates still compete for money.

## Scenarios

{scenarios}
""" + SOURCES.format(ef=ef, ef_note=ef_note, yields=yields, yield_note=yield_note, heat=heat,
                     flh=flh, hp_reach=hp_reach, bei=st["bei"], ach=st["ach"],
                     bldg_kwh=bldg_kwh, sol_kwp=f"{PV_SOL_KWP_PER_VH:g}",
                     sol_v=PV_SOL_VSHARE)


def need_fmt(x: float) -> str:
    return f"{x:,.0f}"


def _readme_rural(s, mu, md, case):
    st = case_stats(mu, md)
    intro = (
        "Eight rural Mediterranean municipalities (2 each in Greece, Italy, Portugal and Spain; "
        "3,000-20,000 inhabitants; 15-30 % vulnerable households; oil heating common; strong "
        "sun) co-design one social energy plan, as in the ENTRACK (LIFE) project. They share one "
        "-40 % target for 2030 against their 2015 Baseline Emission Inventories (a joint SECAP "
        "target, option 2) and one investment budget. The two clusters, `east` (GR, IT) and "
        "`west` (PT, ES), are labels here (no cluster budgets).\n\n"
        "Features exercised: alternatives (`group`: two LED options in every municipality; "
        "air-to-water vs ground-source heat pump where both exist), a prerequisite (`requires`: "
        "every public building bundle needs its energy audit), a committed measure (IT-001's "
        "building bundle, which forces its audit in), excluded measures (GR-002's e-bus would "
        "raise emissions on the 2013 Greek grid; PT-002's retrofit programme is on hold), "
        "continuous PV, LED, heat-pump and advice measures with `min_units`, integer retrofits, "
        "e-buses and district heating (with a fixed cost), a municipal budget cap "
        "(`budget_eur` of PT-001), a blank `income_index` (ES-002) and blank cells for defaults.")
    scen = (
        "- base: maximise annual abatement within the budget, meeting the joint -40 % target.\n"
        "- `justice40`: at least 40 % of the abatement must reach vulnerable households "
        "(`justice.vulnerable_share_min: 0.40`). Feasible by construction: every municipality "
        "has community PV with solidarity shares (vulnerable share "
        f"{PV_SOL_VSHARE}), heat pumps for energy-poor households (0.9) and energy advice "
        f"(0.95); their potential is {need_fmt(st['high_v_pot'])} t/yr "
        f"({st['high_v_pot'] / s['requirement_t']:.0%} of R) and most of it is cheap per "
        "tonne. The rest of R comes from measures that carry the municipality's own vulnerable "
        "share (15-30 %) and from PV (0-5 %). The margin is real but not wide: an independent "
        "MIP check run when the case was made found at most ~45 % vulnerable share at exactly "
        "R, and the cheapest justice40 portfolio at about 70 % of the budget. This is the "
        "scenario that shows the price of the 40 % rule.\n"
        "- `fair-floor`: every municipality gets at least half its population share of the "
        "abatement (`justice.population_floor: 0.5`). Feasible: every municipality's own "
        f"potential ({st['pot_pc_min']:.2f}-{st['pot_pc_max']:.2f} t per inhabitant) exceeds the "
        f"requirement per inhabitant ({st['need_pc']:.2f} t), so each can carry its population "
        "share of R, and the PT-001 cap allows it.\n"
        "- `five-year-plan`: the same case as a plan over 2026-2030 (`periods`). Money arrives "
        "year by year: only the municipalities' own funds in 2026 and 2027 "
        f"(`periods.budget_eur`: EUR {case['scenarios']['five-year-plan']['periods']['budget_eur'][2026] / 1e6:,.1f} M and "
        f"EUR {case['scenarios']['five-year-plan']['periods']['budget_eur'][2027] / 1e6:,.1f} M); from 2028 a joint grant "
        "arrives and only the total budget binds. Emissions must be 34 % below the 2015 "
        "baseline by 2028 (`periods.trajectory`, achieved reductions included), and 40 % by the "
        "target year 2030. District heating cannot start before 2028 (concession and tender), "
        "ground-source heat pumps and e-buses not before 2027 (`earliest_year`, which counts "
        "only with periods). The objective is `max_cumulative_abatement`: tonnes avoided over "
        "the five plan years, so earlier abatement is worth more.\n\n"
        "### What the five-year schedule shows\n\n"
        "`measureopt solve cases/rural-cluster --scenario five-year-plan` writes `schedule.csv` "
        "(investment, budget use, abatement reached and emissions per year, for the cluster as a "
        "whole, each of `east` and `west`, and each municipality) and `schedule.png`/`.svg`. "
        "What it shows (optimal, gap below 1e-6):\n\n"
        "- Both lean years are spent to the euro, on what abates most per euro at once: in "
        "2026 community PV with solidarity shares, commercial rooftop PV and energy advice for "
        "vulnerable households, in 2027 mostly residential rooftop PV and LED street lighting. "
        "By the end of 2027 the plan already abates about 32,400 t/yr, "
        "63 % of the 2030 requirement; the 2028 milestone (21,000 t/yr) is met a year early and "
        "does not bind.\n"
        "- The rest of the budget (EUR 81.8 M) goes in 2028, the first year the grant allows it: "
        "with cumulative abatement as the objective nothing is left for 2029-2030, and the "
        "plan reaches 67,235 t/yr in 2028, 31 % above the 2030 requirement.\n"
        "- Early money goes east: `east` (GR, IT) gets 97 % of the 2026-2027 spending, mostly "
        "in Greece, whose grid emission factor (0.760 t/MWh against 0.30-0.34 elsewhere) makes "
        "its PV the cheapest tonnes; `west` catches up in 2028 (EUR 53.9 M of the 81.8 M).\n"
        "- The committed building bundle of IT-001 (and the audit it requires) is scheduled "
        "for 2028: committed means it must be done within the plan, not that it goes first, and "
        "at EUR 9,600 per t/yr it is the last thing a cumulative objective would pay for early. "
        "To have it earlier, tighten the trajectory or shorten the plan (`earliest_year` can "
        "only delay a measure).\n"
        "- District heating, ground-source heat pumps and e-buses are not selected at all, as in "
        "the single-period run: their timing limits cost nothing here.\n"
        "- The final abatement, 67,235 t/yr, is 1.5 t/yr below the single-period optimum "
        "(67,236 t/yr): a continuous measure (here a PV programme) must be implemented in one "
        "year as a whole, so the 2026-2027 caps cannot be filled with a slice of it. The "
        "binding constraints and their shadow prices (`summary.json`) price the lean years: a "
        "euro more in 2026 is worth 0.00075 t of cumulative abatement, in 2027 0.00035 t.\n")
    return readme("rural-cluster", "Rural cluster: 8 Mediterranean municipalities", intro, s, st,
                  ["GR", "IT", "PT", "ES"], "9", "1,000", "30 %", "150", scen)


# Figures of a documented run of measureopt itself (not computed by this script); rerun the commands
# and update them when the case changes.
REGION_SIZING = """
## Sizing the joint programme and sharing its cost

```
measureopt size cases/region-44 --levels 0.1:0.6:0.05 --budgets 100e6:500e6:50e6
measureopt allocate cases/region-44 --rule owen --samples 50 --cache .coalitions
measureopt allocate cases/region-44 --players clusters --rule shapley --cache .coalitions
measureopt allocate cases/region-44 --players clusters --rule least-core --cache .coalitions
```

**Sizing curve** (joint target, every other rule kept, the EUR 478.8 M regional budget included).
Levels up to 30 % cost only the committed public building bundle (EUR 3.36 M): the 489,560 t/yr
already achieved cover them. 35 % needs EUR 140.5 M (77,272 t/yr); the case's own 40 % needs
EUR 346.3 M (158,248 t/yr), EUR 2,541 per extra t/yr between 35 % and 40 %. The highest level any
portfolio reaches within the budgets is 41.9 %; 45 % to 60 % are unreachable. The inverse curve:
EUR 100 M buys at most 57,429 t/yr, EUR 300 M 141,202 t/yr, EUR 400 M 175,910 t/yr; above that the
cluster budgets bind (EUR 488.1 M spent of a EUR 500 M cap, 190,340 t/yr).

**Who pays what** (c(S): least cost for a coalition to meet its members' joint -40 %, total
budget not applied, cluster budgets kept). The 44 municipalities alone would need EUR 363.7 M;
together EUR 346.3 M: cooperation is worth **EUR 17.4 M** (4.8 %), because under one joint target
cheap abatement in one municipality replaces dear abatement in another, and because the LED and
Monferrato PV programmes need three members. The Owen value (clusters as unions,
50 sampled union-consistent orders, seed 0, 1,815 coalition solves, 13 min on a loaded 2-core
machine) gives each municipality a share with a 95 % CI of about +/- 1.2 % (median). By cluster,
savings against going alone are Monferrato EUR 6.9 M, Roero EUR 6.8 M, Langhe EUR 1.5 M, Val Susa
EUR 1.2 M, Valsesia EUR 0.5 M, Canavese EUR 0.4 M. The Owen split is not in the core: a coalition of
17 Roero and Monferrato municipalities would pay EUR 0.93 M more than on its own (1,814 of the
2^44 - 2 coalitions checked). Between the 6 clusters (each big enough to run the LED programme
alone) cooperation is worth EUR 3.6 M, most of it to Roero and Monferrato; the exact Shapley split is
not in the core (Monferrato + Roero pay EUR 283,050 more than alone), the least core is (every
coalition pays at least EUR 25,000 less than alone).
"""


def _readme_region(s, mu, md, case):
    st = case_stats(mu, md)
    cl = case["budget"]["cluster_eur"]
    pot = potential_t(md)
    clus = mu.set_index("municipality")["cluster"]
    mcl = md["municipality"].map(clus)
    lines = ("\n| cluster | municipalities | requirement R_c, t/yr | potential, t/yr | "
             "cluster budget |\n|---|---|---|---|---|\n")
    worst = 0.0
    for c, v in cl.items():
        sub = mu[mu["cluster"] == c]
        worst = max(worst, requirement_t(sub) / pot[mcl == c].sum())
        lines += (f"| {c} | {len(sub)} | {need_fmt(requirement_t(sub))} | "
                  f"{need_fmt(pot[mcl == c].sum())} | EUR {v / 1e6:,.1f} M |\n")
    intro = (
        "44 small and medium municipalities of one Italian region (Piedmont-like; ids are "
        "ISTAT-style 6-digit codes with leading zeros such as `004020`, to exercise text ids) "
        "in 6 clusters prepare joint SECAPs with the regional energy agency, as in the City_SEC "
        "(IEE) project: one joint -40 % target against the 2010 inventories, a regional budget, "
        "a budget per cluster (`budget.cluster_eur`), and two joint procurement programmes in "
        "`programmes.csv`:\n\n"
        "- `LED-JP`: regional LED street lighting procurement (blank cluster = any municipality; "
        "15 % off the luminaire price; EUR 150,000 admin, counted in the total budget only; at "
        "least 3 members). Every LED measure carries it in `programme`.\n"
        "- `PV-MONF`: rooftop PV group purchase of the Monferrato cluster (12 % off per kWp; "
        "EUR 80,000 admin, counted in the total and the Monferrato budget; at least 3 members). "
        "The Monferrato residential and commercial PV measures carry it.\n\n"
        "Heating is natural gas in the hills and oil in the two Alpine valleys (Valsesia, Val "
        "Susa), where biomass district heating is also a candidate. The market town "
        f"(`{mu['municipality'].iloc[0]}`, {int(mu['population'].iloc[0]):,} inhabitants) has a "
        "committed public building bundle. One name holds a comma "
        "and double quotes, to exercise CSV quoting. Municipality names are fictional.")
    scen = (
        "- base: maximise annual abatement within the regional and cluster budgets, meeting "
        "the joint -40 % target.\n"
        "- `least-cost`: the cheapest portfolio that meets the target "
        "(`objective: min_investment`).\n"
        "- `cluster-targets`: each cluster must meet -40 % on its own (`target.scope: "
        f"cluster`). Feasible: every cluster's requirement is at most {worst:.0%} of its own "
        "potential, and its budget is 45 % of the cost of all its candidates (table above); "
        "an independent MIP check run when the case was made found the cheapest cluster-target "
        "portfolio within every cluster budget.\n"
        "\nProgrammes run only when chosen, so they can only lower the cost of a portfolio: "
        "every scenario is feasible without them, and they decide how cheaply it is met.\n"
        + REGION_SIZING)
    return readme("region-44", "Region-44: joint SECAPs of 44 municipalities in 6 clusters",
                  intro, s, st, ["IT"], "14", "1,800", "30 %", "200", scen, extra=lines)


def _readme_network(s, mu, md, case):
    st = case_stats(mu, md)
    intro = (
        "100 local authorities in 10 EU countries (IT, ES, GR, PT, CY, HR, FR, SI, AT, BE; "
        "4,000-90,000 inhabitants; income index 0.6-1.5; 5-30 % vulnerable households, more "
        "where income is lower) in a peer-learning network on a fair energy transition, as in "
        "the mPOWER (H2020) project, compare justice rules side by side under one budget and "
        "one joint -40 % target. Benefit is abatement (`justice.benefit: abatement`), so the "
        "population floor, the Gini cap and maxmin act on per-capita abatement. Clusters are "
        "the countries (labels only, no cluster budgets).\n\n"
        "Grid factors differ ninefold (FR 0.083 to GR 0.760), so the same measure abates very "
        "different amounts. To keep per-capita potential fairly even, low-carbon-grid countries "
        "(FR, HR) have more fossil heating left to replace and a 40 % heat-pump reach, and "
        "high-carbon-grid countries (GR, CY) less suitable roof area. Heat pumps replacing gas "
        "on the Greek and Cypriot grids, and e-buses there, would raise emissions: they are "
        "written `excluded`.")
    scen = (
        "- base and `unconstrained`: maximise annual abatement within the budget, meeting the "
        "target; no justice rule.\n"
        "- `justice40`: vulnerable households get >= 40 % of the abatement.\n"
        "- `fair-floor`: every authority gets >= 80 % of its population share of the "
        "abatement.\n"
        "- `gini-025`: the population-weighted Gini of per-capita abatement is <= 0.25.\n"
        "- `maxmin`: first maximise the lowest per-capita abatement, then the objective.\n"
        "- `equity-weighted`: maximise sum of (income index)^-1.3 x (1 + 1.0 x vulnerable "
        "share) x abatement.\n\n"
        "Why every scenario is feasible by construction:\n\n"
        f"- The joint requirement is {st['need_pc']:.3f} tCO2 per inhabitant. Each authority's "
        "`achieved_t` was set so that its own remaining share of the -40 % is about half its "
        "own potential; every authority's potential is "
        f"{st['pot_pc_min']:.2f}-{st['pot_pc_max']:.2f} t per inhabitant, at least "
        f"{st['pot_pc_min'] / st['need_pc']:.1f}x the average requirement. So the 'even' "
        "portfolio, in which every authority abates its population share of R, exists: it "
        "meets the floor (ratio 1 >= 0.8), the Gini cap (Gini 0) and gives maxmin a positive "
        "bound.\n"
        "- Built from each authority's cheaper measures (energy advice, community and commercial "
        "PV, LED, heat pumps), that portfolio fits the budget, which is at least 1.35x the "
        "greedy least-cost way to reach R (an independent MIP check, run when the case was "
        "made, found the cheapest floor-respecting portfolio at about three quarters of the "
        "budget).\n"
        "- `justice40`: every authority has community PV with solidarity shares "
        f"({PV_SOL_VSHARE}), energy-poor heat pumps (0.9) and energy advice (0.95): "
        f"{need_fmt(st['high_v_pot'])} t/yr of potential, "
        f"{st['high_v_pot'] / s['requirement_t']:.0%} "
        "of R, so 40 % of R can go to vulnerable households with room to spare.\n"
        "- `maxmin` only adds a bound that its own stage 1 attains, and `equity-weighted` only "
        "changes the objective: both are feasible whenever the base case is.\n")
    return readme("network-100", "Network-100: 100 local authorities in 10 EU countries", intro,
                  s, st, [c for c, *_ in NETWORK_COUNTRIES],
                  "9 (Mediterranean) / 14 (continental)",
                  "1,000 (Mediterranean) / 1,800 (continental)", "30 % (40 % in FR and HR)",
                  "150 (Mediterranean) / 200 (continental)", scen)


README_MAKERS = {"rural-cluster": _readme_rural, "region-44": _readme_region,
                 "network-100": _readme_network}


# --------------------------------------------------------------------------------------------
def write_case(name: str, out_dir: Path | None = None) -> dict:
    """Write case ``name`` into ``out_dir / name`` (default: next to this script)."""
    rng = np.random.default_rng(SEEDS[name])
    makers = {"rural-cluster": make_rural, "region-44": make_region,
              "network-100": make_network}
    maker = makers[name]
    mu, md, programmes, case, _ = maker(rng)
    d = (out_dir or HERE) / name
    d.mkdir(parents=True, exist_ok=True)
    write_csv(d / "municipalities.csv", mu.to_dict("records"), MUNI_COLUMNS)
    write_csv(d / "measures.csv", md.to_dict("records"), MEASURE_COLUMNS)
    if programmes:
        write_csv(d / "programmes.csv", programmes, PROGRAMME_COLUMNS)
    elif (d / "programmes.csv").exists():
        (d / "programmes.csv").unlink()
    write_yaml(d / "case.yaml", case)
    s = summary_lines(mu, md, case["budget"]["total_eur"])
    (d / "README.md").write_text(README_MAKERS[name](s, mu, md, case))
    return s


def main(argv: list[str]) -> int:
    names = argv or list(SEEDS)
    for name in names:
        if name not in SEEDS:
            print(f"unknown case {name!r}; known: {', '.join(SEEDS)}", file=sys.stderr)
            return 2
        s = write_case(name)
        print(f"{name}: {s['municipalities']} municipalities, {s['measures']} measures, "
              f"budget EUR {s['budget_eur'] / 1e6:,.1f} M of {s['cost_all_eur'] / 1e6:,.1f} M, "
              f"requirement {s['requirement_t']:,.0f} t of potential {s['potential_t']:,.0f} t, "
              f"greedy EUR {s['greedy_eur'] / 1e6:,.1f} M")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
