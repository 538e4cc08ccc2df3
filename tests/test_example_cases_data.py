"""Data checks of the worked example cases in ``cases/`` (SPEC sections 3.1-3.5).

Pure pandas/yaml: nothing here imports measureopt, so these tests say whether the *data* are
valid and sensible independently of the validator under test. They also check that each case's
joint -40 % requirement is reachable (below the total potential, and within the budget by a
greedy least-cost estimate), and that ``cases/make_cases.py`` reproduces the files exactly.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "cases"
NAMES = ["rural-cluster", "region-44", "network-100"]

TOP_KEYS = {"name", "description", "currency", "baseline_year", "target_year", "tables",
            "economics", "objective", "budget", "target", "justice", "weights", "periods",
            "solver", "scenarios"}
OBJECTIVES = {"max_abatement", "max_cumulative_abatement", "min_investment", "min_net_cost",
              "max_weighted_benefit"}
SECTORS = {"municipal_buildings", "tertiary", "residential", "public_lighting", "transport",
           "local_electricity", "local_heat", "other"}
STATUSES = {"candidate", "committed", "excluded"}
MUNI_COLS = {"municipality": True, "name": False, "cluster": False, "country": False,
             "population": True, "households": True, "vulnerable_households": False,
             "baseline_emissions_t": True, "achieved_t": False, "budget_eur": False,
             "income_index": False}
MEASURE_COLS = {"measure": True, "municipality": True, "name": False, "sector": True,
                "unit": False, "max_units": False, "min_units": False, "integer": False,
                "capex_eur": True, "fixed_capex_eur": False, "opex_eur": False,
                "bill_savings_eur": False, "energy_savings_mwh": False, "renewable_mwh": False,
                "co2_reduction_t": True, "lifetime_years": True, "households_served": False,
                "vulnerable_share": False, "group": False, "requires": False,
                "earliest_year": False, "status": False, "programme": False}
PROGRAMME_COLS = {"programme": True, "name": False, "cluster": False, "min_members": False,
                  "admin_cost_eur": False, "capex_discount": False}
NUMERIC_MUNI = ["population", "households", "vulnerable_households", "baseline_emissions_t",
                "achieved_t", "budget_eur", "income_index"]
NUMERIC_MEASURE = ["max_units", "min_units", "capex_eur", "fixed_capex_eur", "opex_eur",
                   "bill_savings_eur", "energy_savings_mwh", "renewable_mwh", "co2_reduction_t",
                   "lifetime_years", "households_served", "vulnerable_share", "earliest_year"]


# ---------------------------------------------------------------------------------------------
class Case:
    """One case read as the SPEC says: ids and every cell as text, blanks = not given."""

    def __init__(self, name: str):
        self.name = name
        self.dir = CASES / name
        self.cfg = yaml.safe_load((self.dir / "case.yaml").read_text(encoding="utf-8"))
        tables = self.cfg.get("tables") or {}
        self.mu_raw = self._read(tables.get("municipalities", "municipalities.csv"))
        self.me_raw = self._read(tables.get("measures", "measures.csv"))
        prog = self.dir / tables.get("programmes", "programmes.csv")
        self.pr_raw = self._read(prog.name) if prog.exists() else None
        self.mu = self._numeric(self.mu_raw, NUMERIC_MUNI)
        self.me = self._numeric(self.me_raw, NUMERIC_MEASURE)
        self.me["max_units"] = self.me["max_units"].fillna(1.0)
        self.me["min_units"] = self.me["min_units"].fillna(0.0)
        self.me["fixed_capex_eur"] = self.me["fixed_capex_eur"].fillna(0.0)
        self.me["status"] = self.me["status"].replace("", "candidate")
        self.me["integer"] = self.me["integer"].replace("", "true")

    def _read(self, fname: str) -> pd.DataFrame:
        return pd.read_csv(self.dir / fname, dtype=str, keep_default_na=False,
                           encoding="utf-8-sig")

    @staticmethod
    def _numeric(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        out = df.copy()
        for c in cols:
            if c in out:
                out[c] = pd.to_numeric(out[c].replace("", np.nan), errors="raise")
        return out

    # derived figures ---------------------------------------------------------------------
    def potential(self) -> pd.Series:
        pot = self.me["max_units"] * self.me["co2_reduction_t"]
        return pot.where(self.me["status"] != "excluded", 0.0)

    def requirement(self, munis: pd.DataFrame | None = None) -> float:
        mu = self.mu if munis is None else munis
        red = self.cfg["target"]["reduction"]
        return max(0.0, red * mu["baseline_emissions_t"].sum() - mu["achieved_t"].fillna(0).sum())

    def cost_all(self) -> float:
        m = self.me[self.me["status"] != "excluded"]
        return float((m["fixed_capex_eur"] + m["capex_eur"] * m["max_units"]).sum())

    def vulnerable_share(self) -> pd.Series:
        share = (self.mu["vulnerable_households"].fillna(0) / self.mu["households"])
        default = self.me["municipality"].map(dict(zip(self.mu["municipality"], share)))
        return self.me["vulnerable_share"].fillna(default)


@pytest.fixture(scope="module", params=NAMES)
def case(request) -> Case:
    return Case(request.param)


# ---------------------------------------------------------------------------------------------
# case.yaml
# ---------------------------------------------------------------------------------------------
def test_case_yaml_keys_and_values(case: Case):
    cfg = case.cfg
    assert set(cfg) <= TOP_KEYS, set(cfg) - TOP_KEYS
    assert isinstance(cfg["name"], str) and cfg["name"]
    assert cfg.get("objective", "max_abatement") in OBJECTIVES
    econ = cfg.get("economics", {})
    assert 0 <= econ.get("discount_rate", 0.04) < 1
    assert econ.get("horizon_years", 20) > 0
    assert cfg["target"] == {"reduction": 0.40, "scope": "joint"}
    assert cfg["budget"]["total_eur"] > 0
    for scen, over in (cfg.get("scenarios") or {}).items():
        assert isinstance(over, dict), scen
        assert set(over) <= TOP_KEYS - {"name", "scenarios"}, scen
        if "objective" in over:
            assert over["objective"] in OBJECTIVES
        for k, v in (over.get("justice") or {}).items():
            assert k in {"benefit", "vulnerable_share_min", "population_floor", "gini_max",
                         "maxmin", "maxmin_tolerance"}, k
            if k in {"vulnerable_share_min", "population_floor", "gini_max"}:
                assert 0 <= v <= 1


def test_scenarios_as_specified():
    rural = Case("rural-cluster").cfg["scenarios"]
    assert rural == {"justice40": {"justice": {"vulnerable_share_min": 0.40}},
                     "fair-floor": {"justice": {"population_floor": 0.5}},
                     "five-year-plan": {"objective": "max_cumulative_abatement",
                                        "periods": {"years": [2026, 2027, 2028, 2029, 2030],
                                                    "budget_eur": {2026: 13700000, 2027: 18200000},
                                                    "trajectory": {2028: 0.34}}}}
    # the annual budgets of the plan are within the case's total budget
    periods = rural["five-year-plan"]["periods"]
    assert sum(periods["budget_eur"].values()) <= Case("rural-cluster").cfg["budget"]["total_eur"]
    net = Case("network-100").cfg["scenarios"]
    assert net == {
        "unconstrained": {},
        "justice40": {"justice": {"vulnerable_share_min": 0.40}},
        "fair-floor": {"justice": {"population_floor": 0.8}},
        "gini-025": {"justice": {"gini_max": 0.25}},
        "maxmin": {"justice": {"maxmin": True}},
        "equity-weighted": {"objective": "max_weighted_benefit",
                            "weights": {"vulnerable_bonus": 1.0, "equity_elasticity": 1.3}},
    }


# ---------------------------------------------------------------------------------------------
# tables: shape, columns, RFC 4180
# ---------------------------------------------------------------------------------------------
def test_csv_files_are_rectangular_utf8(case: Case):
    for path in sorted(case.dir.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert len(rows) >= 2, path
        widths = {len(r) for r in rows}
        assert widths == {len(rows[0])}, f"{path.name}: ragged rows {widths}"
        text = path.read_text(encoding="utf-8").lower()
        for bad in (",nan,", ",inf,", ",none,", ",null,"):
            assert bad not in text, f"{path.name}: {bad!r}"


def test_columns_known_and_required_present(case: Case):
    for df, spec, label in [(case.mu_raw, MUNI_COLS, "municipalities"),
                            (case.me_raw, MEASURE_COLS, "measures")] + (
            [(case.pr_raw, PROGRAMME_COLS, "programmes")] if case.pr_raw is not None else []):
        assert set(df.columns) <= set(spec), f"{label}: unknown {set(df.columns) - set(spec)}"
        for col, required in spec.items():
            if required:
                assert col in df.columns, f"{label}: missing {col}"
                assert (df[col] != "").all(), f"{label}: blank required {col}"


def test_numbers_finite(case: Case):
    for df, cols in [(case.mu, NUMERIC_MUNI), (case.me, NUMERIC_MEASURE)]:
        for c in cols:
            if c in df:
                vals = df[c].dropna().to_numpy(dtype=float)
                assert np.isfinite(vals).all(), c


# ---------------------------------------------------------------------------------------------
# municipalities.csv (SPEC 3.2)
# ---------------------------------------------------------------------------------------------
def test_municipalities_valid(case: Case):
    mu = case.mu
    assert mu["municipality"].is_unique
    assert (mu["population"] > 0).all()
    assert (mu["households"] > 0).all()
    v = mu["vulnerable_households"].fillna(0)
    assert ((v >= 0) & (v <= mu["households"])).all()
    assert (mu["baseline_emissions_t"] >= 0).all()
    assert (mu["achieved_t"].fillna(0) >= 0).all()
    assert (mu["budget_eur"].dropna() >= 0).all()
    assert (mu["income_index"].dropna() > 0).all()
    assert mu["country"].str.fullmatch(r"[A-Z]{2}").all()
    for c in ("population", "households", "vulnerable_households"):
        vals = mu[c].dropna()
        assert (vals == vals.round()).all(), c


def test_baselines_realistic(case: Case):
    mu = case.mu
    per_cap = mu["baseline_emissions_t"] / mu["population"]
    assert per_cap.between(3.5, 7.5).all(), per_cap.describe()
    achieved = mu["achieved_t"] / mu["baseline_emissions_t"]
    assert achieved.between(0.18, 0.38).all(), achieved.describe()


# ---------------------------------------------------------------------------------------------
# measures.csv (SPEC 3.3, 3.5)
# ---------------------------------------------------------------------------------------------
def test_measures_valid(case: Case):
    me = case.me
    assert me["measure"].is_unique
    assert me["municipality"].isin(case.mu["municipality"]).all()
    assert me["sector"].isin(SECTORS).all(), set(me["sector"]) - SECTORS
    assert me["status"].isin(STATUSES).all()
    assert me["integer"].isin({"true", "false"}).all()
    assert (me["max_units"] > 0).all()
    assert (me["min_units"] >= 0).all()
    assert (me["min_units"] <= me["max_units"]).all()
    assert (me["capex_eur"] >= 0).all()
    assert (me["fixed_capex_eur"] >= 0).all()
    assert (me["co2_reduction_t"] >= 0).all()
    assert (me["lifetime_years"] > 0).all()
    assert (me["households_served"].dropna() >= 0).all()
    assert me["vulnerable_share"].dropna().between(0, 1).all()
    assert me["name"].ne("").all()


def test_integer_measures_modest(case: Case):
    ints = case.me[case.me["integer"] == "true"]
    assert (ints["max_units"] == ints["max_units"].round()).all()
    assert (ints["min_units"] == ints["min_units"].round()).all()
    assert (ints["max_units"] <= 100).all()


def test_measures_per_municipality(case: Case):
    n = case.me.groupby("municipality").size().reindex(case.mu["municipality"]).fillna(0)
    assert n.between(8, 13).all(), n.describe()


def test_groups_within_one_municipality(case: Case):
    g = case.me[case.me["group"] != ""]
    assert len(g) > 0
    spans = g.groupby("group")["municipality"].nunique()
    assert (spans == 1).all(), spans[spans > 1]
    assert (g.groupby("group").size() >= 2).all()


def test_requires_same_municipality_and_acyclic(case: Case):
    me = case.me
    muni = dict(zip(me["measure"], me["municipality"]))
    req = {m: r for m, r in zip(me["measure"], me["requires"]) if r}
    assert req, "no requires at all"
    for m, r in req.items():
        assert r in muni, f"{m} requires unknown {r}"
        assert muni[r] == muni[m], f"{m} requires {r} in another municipality"
    for start in req:
        seen, node = set(), start
        while node in req:
            assert node not in seen, f"cycle through {start}"
            seen.add(node)
            node = req[node]


def test_statuses_present(case: Case):
    counts = case.me["status"].value_counts()
    if case.name == "rural-cluster":
        assert counts.get("committed", 0) >= 1 and counts.get("excluded", 0) >= 1
    committed = case.me[case.me["status"] == "committed"]
    req = dict(zip(case.me["measure"], case.me["requires"]))
    status = dict(zip(case.me["measure"], case.me["status"]))
    for m in committed["measure"]:
        while req.get(m):
            m = req[m]
            assert status[m] != "excluded", f"committed chain reaches excluded {m}"


# ---------------------------------------------------------------------------------------------
# programmes.csv and clusters (SPEC 3.4)
# ---------------------------------------------------------------------------------------------
def test_programmes_and_clusters(case: Case):
    clusters = set(case.mu["cluster"]) - {""}
    for c in (case.cfg["budget"].get("cluster_eur") or {}):
        assert c in clusters, c
    used = set(case.me["programme"]) - {""}
    if case.pr_raw is None:
        assert not used
        return
    pr = case._numeric(case.pr_raw, ["min_members", "admin_cost_eur", "capex_discount"])
    assert pr["programme"].is_unique
    assert used <= set(pr["programme"]), used - set(pr["programme"])
    assert pr["capex_discount"].fillna(0).between(0, 1).all()
    assert (pr["admin_cost_eur"].fillna(0) >= 0).all()
    assert (pr["min_members"].fillna(2) >= 1).all()
    muni_cluster = dict(zip(case.mu["municipality"], case.mu["cluster"]))
    for _, p in pr.iterrows():
        if p["cluster"] == "":
            continue
        assert p["cluster"] in clusters
        members = case.me.loc[case.me["programme"] == p["programme"], "municipality"]
        assert (members.map(muni_cluster) == p["cluster"]).all(), p["programme"]
        assert members.nunique() >= p["min_members"]


# ---------------------------------------------------------------------------------------------
# reachability: target vs potential vs budget
# ---------------------------------------------------------------------------------------------
def greedy_cost(case: Case, need: float) -> float:
    """Capex of the cheapest way (by capex per tCO2/yr, fractional units) to abate ``need``."""
    me = case.me.copy()
    me["pot"] = case.potential()
    me["full"] = me["fixed_capex_eur"] + me["capex_eur"] * me["max_units"]
    req = dict(zip(me["measure"], me["requires"]))
    forced = set(me.loc[me["status"] == "committed", "measure"])
    for m in list(forced):
        while req.get(m):
            m = req[m]
            forced.add(m)
    spent = float(me.loc[me["measure"].isin(forced), "full"].sum())
    got = float(me.loc[me["measure"].isin(forced), "pot"].sum())
    rest = me[~me["measure"].isin(forced) & (me["pot"] > 0)].copy()
    rest["cpt"] = rest["full"] / rest["pot"]
    rest = rest.sort_values("cpt", kind="stable")
    rest = rest[~((rest["group"] != "") & rest.duplicated("group"))]
    full = dict(zip(me["measure"], me["full"]))
    for _, row in rest.iterrows():
        if got >= need:
            break
        take = min(1.0, (need - got) / row["pot"])
        if row["requires"] and row["requires"] not in forced:
            spent += full[row["requires"]]
            forced.add(row["requires"])
        spent += take * row["full"]
        got += take * row["pot"]
    return spent if got >= need - 1e-6 else math.inf


def test_joint_target_below_potential(case: Case):
    need = case.requirement()
    pot = float(case.potential().sum())
    assert need > 0
    assert need < 0.75 * pot, f"requirement {need:,.0f} t vs potential {pot:,.0f} t"


def test_budget_sized_and_target_affordable(case: Case):
    budget = case.cfg["budget"]["total_eur"]
    total = case.cost_all()
    assert 0.30 <= budget / total <= 0.50, budget / total
    assert greedy_cost(case, case.requirement()) <= 0.9 * budget


def test_cluster_budgets_and_targets(case: Case):
    caps = case.cfg["budget"].get("cluster_eur")
    if not caps:
        return
    pot = case.potential()
    mcl = case.me["municipality"].map(dict(zip(case.mu["municipality"], case.mu["cluster"])))
    assert set(caps) == set(case.mu["cluster"])
    assert sum(caps.values()) >= case.cfg["budget"]["total_eur"]
    for c, cap in caps.items():
        sub = case.mu[case.mu["cluster"] == c]
        assert case.requirement(sub) < 0.75 * pot[mcl == c].sum(), c
        sub_me = case.me[(mcl == c) & (case.me["status"] != "excluded")]
        assert cap < (sub_me["fixed_capex_eur"] + sub_me["capex_eur"] * sub_me["max_units"]).sum()


def test_vulnerable_measures_cover_justice40(case: Case):
    """Where a scenario asks for a vulnerable share, measures with a share >= 0.8 alone hold
    enough potential to carry 40 % of the requirement."""
    scen = case.cfg.get("scenarios") or {}
    if not any("vulnerable_share_min" in (o.get("justice") or {}) for o in scen.values()):
        pytest.skip("no vulnerable-share scenario")
    v = case.vulnerable_share()
    high = float(case.potential()[v >= 0.8].sum())
    assert 0.9 * high >= 0.40 * case.requirement()


def test_per_capita_potential_covers_requirement(case: Case):
    """Every municipality can carry its population share of the joint requirement."""
    need_pc = case.requirement() / case.mu["population"].sum()
    pot = case.potential().groupby(case.me["municipality"]).sum()
    pc = pot.reindex(case.mu["municipality"]).to_numpy() / case.mu["population"].to_numpy()
    assert (pc >= 1.2 * need_pc).all(), (pc.min(), need_pc)


# ---------------------------------------------------------------------------------------------
# case-specific shape
# ---------------------------------------------------------------------------------------------
def test_rural_cluster_shape():
    c = Case("rural-cluster")
    mu, me = c.mu, c.me
    assert len(mu) == 8
    assert mu["country"].value_counts().to_dict() == {"GR": 2, "IT": 2, "PT": 2, "ES": 2}
    assert mu["population"].between(3000, 20000).all()
    assert (mu["vulnerable_households"] / mu["households"]).between(0.15, 0.30).all()
    assert 1 <= mu["cluster"].nunique() <= 2
    pv = me[me["unit"] == "kWp"]
    assert len(pv) and (pv["integer"] == "false").all() and (pv["min_units"] > 0).all()
    retro = me[me["unit"] == "dwelling"]
    assert (retro["integer"] == "true").all() and retro["max_units"].between(20, 80).all()
    advice = me[me["measure"].str.endswith("-ADVICE")]
    assert (advice["vulnerable_share"] >= 0.9).all()
    # per-unit CO2 of PV = yield x grid factor of the country
    ef = {"GR": 0.760, "IT": 0.344, "PT": 0.316, "ES": 0.298}
    country = pv["municipality"].map(dict(zip(mu["municipality"], mu["country"])))
    np.testing.assert_allclose(pv["co2_reduction_t"], pv["renewable_mwh"] * country.map(ef),
                               rtol=1e-3)


def test_region_44_shape():
    c = Case("region-44")
    mu = c.mu
    assert len(mu) == 44
    assert mu["cluster"].nunique() == 6
    assert (mu["country"] == "IT").all()
    ids = c.mu_raw["municipality"]
    assert ids.str.fullmatch(r"\d{6}").all()
    assert ids.str.startswith("0").any()          # leading zeros kept as text
    assert c.me_raw["municipality"].isin(set(ids)).all()
    pr = c._numeric(c.pr_raw, ["min_members", "admin_cost_eur", "capex_discount"])
    assert len(pr) == 2
    assert pr["capex_discount"].between(0.10, 0.20).all()
    assert pr["admin_cost_eur"].between(50000, 200000).all()
    assert (pr["min_members"] == 3).all()
    assert set(c.cfg["budget"]["cluster_eur"]) == set(mu["cluster"])


def test_network_100_shape():
    c = Case("network-100")
    mu = c.mu
    assert len(mu) == 100
    assert mu["country"].nunique() >= 9
    assert mu["income_index"].between(0.6, 1.5).all()
    assert (mu["vulnerable_households"] / mu["households"]).between(0.045, 0.305).all()
    assert mu["country"].value_counts().min() >= 5
    # per-capita potential fairly even: max / min within a factor 4
    pot = c.potential().groupby(c.me["municipality"]).sum()
    pc = pot.reindex(mu["municipality"]).to_numpy() / mu["population"].to_numpy()
    assert pc.max() / pc.min() < 4


# ---------------------------------------------------------------------------------------------
# the generator reproduces the files
# ---------------------------------------------------------------------------------------------
def test_generator_is_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location("make_cases", CASES / "make_cases.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_cases"] = mod  # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.modules.pop("make_cases", None)
    for name in NAMES:
        mod.write_case(name, tmp_path)
        for f in sorted((CASES / name).iterdir()):
            if f.is_file():
                assert (tmp_path / name / f.name).read_bytes() == f.read_bytes(), f"{name}/{f.name}"
