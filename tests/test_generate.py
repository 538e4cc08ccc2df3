"""The seeded synthetic case generator (benchmarks/generate.py) writes valid SPEC section 3 cases.

Checked here without importing measureopt: every file is read back as text, as a user's tool would,
and each SPEC 3.5 rule that applies is re-checked by this file's own code.
"""

from __future__ import annotations

import csv
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root holds benchmarks/

from benchmarks.generate import generate_case, main  # noqa: E402

FILES = ("case.yaml", "municipalities.csv", "measures.csv", "programmes.csv")
SECTORS = {"municipal_buildings", "tertiary", "residential", "public_lighting", "transport",
           "local_electricity", "local_heat", "other"}
MUNICIPALITY_COLUMNS = {"municipality", "name", "cluster", "country", "population", "households",
                        "vulnerable_households", "baseline_emissions_t", "achieved_t", "budget_eur",
                        "income_index"}
MEASURE_COLUMNS = {"measure", "municipality", "name", "sector", "unit", "max_units", "min_units",
                   "integer", "capex_eur", "fixed_capex_eur", "opex_eur", "bill_savings_eur",
                   "energy_savings_mwh", "renewable_mwh", "co2_reduction_t", "lifetime_years",
                   "households_served", "vulnerable_share", "group", "requires", "earliest_year",
                   "status", "programme"}
PROGRAMME_COLUMNS = {"programme", "name", "cluster", "min_members", "admin_cost_eur",
                     "capex_discount"}
CASE_KEYS = {"name", "description", "currency", "baseline_year", "target_year", "tables",
             "economics", "objective", "budget", "target", "justice", "weights", "periods",
             "solver", "scenarios"}
EU_COUNTRIES = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
                "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def read_table(path: Path) -> pd.DataFrame:
    """RFC 4180 CSV, every cell as text, blank = ''."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, strict=True))
    header, body = rows[0], rows[1:]
    assert all(len(r) == len(header) for r in body), f"{path.name}: ragged rows"
    return pd.DataFrame(body, columns=header, dtype=object)


def numbers(col: pd.Series, *, default: float | None = None) -> np.ndarray:
    """Parse a numeric column; blank -> default (None: blank is an error)."""
    blank = col == ""
    if default is None:
        assert not blank.any(), f"{col.name}: blank in a required column"
    values = np.array([float(v) if v != "" else default for v in col], dtype=float)
    assert np.isfinite(values).all(), f"{col.name}: NaN/inf"
    return values


def load(directory: Path):
    settings = yaml.safe_load((directory / "case.yaml").read_text(encoding="utf-8"))
    return (settings, read_table(directory / "municipalities.csv"),
            read_table(directory / "measures.csv"), read_table(directory / "programmes.csv"))


def check_case(directory: Path) -> None:  # noqa: C901 - one SPEC rule per block
    settings, mun, mea, prog = load(directory)

    # ---- case.yaml (3.1) ------------------------------------------------------------------------
    assert set(settings) <= CASE_KEYS
    assert settings["name"] and settings["objective"] == "max_abatement"
    assert settings["solver"] == {"mip_gap": 0.001, "time_limit_s": 600}
    assert settings["target"]["scope"] == "joint"
    assert 0 < settings["target"]["reduction"] < 1
    assert isinstance(settings["budget"]["total_eur"], int) and settings["budget"]["total_eur"] > 0
    assert 0 <= settings["economics"]["discount_rate"] < 1

    # ---- columns: a subset of SPEC's, required ones present --------------------------------------
    assert set(mun.columns) <= MUNICIPALITY_COLUMNS
    assert set(mea.columns) <= MEASURE_COLUMNS
    assert set(prog.columns) <= PROGRAMME_COLUMNS
    assert {"municipality", "population", "households", "baseline_emissions_t"} <= set(mun.columns)
    assert {"measure", "municipality", "sector", "capex_eur", "co2_reduction_t",
            "lifetime_years"} <= set(mea.columns)
    assert "programme" in prog.columns

    # ---- municipalities.csv (3.2) ---------------------------------------------------------------
    assert mun["municipality"].is_unique and (mun["municipality"] != "").all()
    assert mun["municipality"].str.fullmatch(r"\d{6,}").all()  # zero-padded text ids
    pop = numbers(mun["population"])
    hh = numbers(mun["households"])
    vh = numbers(mun["vulnerable_households"], default=0.0)
    base = numbers(mun["baseline_emissions_t"])
    ach = numbers(mun["achieved_t"], default=0.0)
    inc = numbers(mun["income_index"], default=1.0)
    assert ((pop >= 500) & (pop <= 2_000_000)).all()
    assert (hh > 0).all() and (np.abs(hh / pop - 1 / 2.3) < 0.05).all()
    assert ((vh >= 0) & (vh <= hh)).all()
    assert ((vh >= np.floor(0.05 * hh) - 1) & (vh <= np.ceil(0.30 * hh) + 1)).all()
    assert ((inc >= 0.5) & (inc <= 2.0)).all()
    assert ((base >= 4 * pop - 1) & (base <= 8 * pop + 1)).all()
    assert ((ach >= 0.10 * base - 0.1) & (ach <= 0.25 * base + 0.1)).all()
    assert set(mun["country"]) <= EU_COUNTRIES
    assert mun["cluster"].str.fullmatch(r"C\d{3,}").all()
    n = len(mun)
    assert mun["cluster"].nunique() == max(1, n // 20)

    # ---- measures.csv (3.3) ---------------------------------------------------------------------
    ids = mea["measure"]
    assert ids.is_unique and (ids != "").all()
    assert ids.str.fullmatch(r"M\d{6,}-\d{2,}").all()
    mun_ids = set(mun["municipality"])
    assert mea["municipality"].isin(mun_ids).all()
    assert (ids.str[1:].str.split("-").str[0] == mea["municipality"]).all()
    assert mea["sector"].isin(SECTORS).all()
    integer = mea["integer"].str.lower()
    assert integer.isin(TRUE | FALSE | {""}).all()
    is_int = ~integer.isin(FALSE)
    umax = numbers(mea["max_units"], default=1.0)
    umin = numbers(mea["min_units"], default=0.0)
    assert (umax > 0).all() and (umin >= 0).all() and (umin <= umax).all()
    assert (umax[is_int] == np.round(umax[is_int])).all() and (umin[is_int] % 1 == 0).all()
    assert (umax[is_int] <= 500).all()
    assert (~is_int).any() and (umin[~is_int] > 0).any()  # continuous measures with min_units
    for column in ("capex_eur", "co2_reduction_t"):
        assert (numbers(mea[column]) >= 0).all()
    assert (numbers(mea["fixed_capex_eur"], default=0.0) >= 0).all()
    for column in ("opex_eur", "bill_savings_eur", "energy_savings_mwh", "renewable_mwh",
                   "households_served"):
        numbers(mea[column], default=0.0)  # numeric, finite
    assert (numbers(mea["lifetime_years"]) > 0).all()
    assert (numbers(mea["households_served"], default=0.0) >= 0).all()
    vs = mea["vulnerable_share"]
    explicit = vs != ""
    assert ((numbers(vs[explicit]) >= 0) & (numbers(vs[explicit]) <= 1)).all()
    assert explicit.mean() < 0.2  # blank for most ...
    advice = mea["name"].str.startswith("Energy advice")
    assert advice.any() and explicit[advice].all()  # ... explicit for energy advice

    fixed_share = (mea["fixed_capex_eur"] != "").mean()
    assert 0.2 < fixed_share < 0.4

    # groups: alternatives of one municipality, ~5 each, covering part of the measures
    grouped = mea[mea["group"] != ""]
    assert 0 < len(grouped) < len(mea)
    assert (grouped.groupby("group")["municipality"].nunique() == 1).all()
    sizes = grouped.groupby("group").size()
    assert sizes.max() <= 5 and sizes.mean() > 1

    # requires: a few, same municipality, existing, acyclic
    req = mea[mea["requires"] != ""]
    assert 0 < len(req) < 0.1 * len(mea)
    municipality_of = dict(zip(ids, mea["municipality"]))
    assert req["requires"].isin(set(ids)).all()
    assert (req["requires"].map(municipality_of) == req["municipality"]).all()
    assert (req["requires"] != req["measure"]).all()
    assert_acyclic(dict(zip(req["measure"], req["requires"])))

    # programmes (3.4) and the measures offered through them
    assert prog["programme"].is_unique and len(prog) == 2
    assert (numbers(prog["capex_discount"]) == 0.15).all()
    assert (numbers(prog["admin_cost_eur"]) == 100_000).all()
    assert (numbers(prog["min_members"]) == 3).all()
    assert (prog["cluster"] == "").all()
    clusters = set(mun["cluster"])
    assert prog.loc[prog["cluster"] != "", "cluster"].isin(clusters).all()
    on = mea[mea["programme"] != ""]
    assert on["programme"].isin(set(prog["programme"])).all()
    led_pv = mea["name"].str.match(r"LED street lighting|Rooftop PV|Community solar")
    share = (mea.loc[led_pv, "programme"] != "").mean()
    assert 0.3 < share < 0.7
    assert set(on.index) <= set(mea.index[led_pv])

    # ---- budget and target -------------------------------------------------------------------
    capex = numbers(mea["capex_eur"])
    fixed = numbers(mea["fixed_capex_eur"], default=0.0)
    co2 = numbers(mea["co2_reduction_t"])
    total = float((fixed + capex * umax).sum())
    assert settings["budget"]["total_eur"] == pytest.approx(0.02 * total, abs=1.0)
    required = settings["target"]["reduction"] * base.sum() - ach.sum()
    assert required > 0, "the target should ask for new abatement"
    reached, spent = sequential_greedy(mea, fixed + capex * umax, co2 * umax,
                                       settings["budget"]["total_eur"])
    assert spent <= settings["budget"]["total_eur"]
    assert reached >= required, "a plain greedy fill must reach the target within the budget"
    assert required <= 0.85 * reached


def assert_acyclic(edges: dict[str, str]) -> None:
    for start in edges:
        seen, node = {start}, edges[start]
        while node in edges:
            assert node not in seen, f"cycle in requires through {start}"
            seen.add(node)
            node = edges[node]


def sequential_greedy(mea: pd.DataFrame, cost: np.ndarray, abatement: np.ndarray, budget: float):
    """Independent check: a plain loop, whole measures by cost per t, one per group, requires met."""
    order = sorted(range(len(mea)), key=lambda i: (cost[i] / abatement[i]
                                                   if abatement[i] > 0 else math.inf, i))
    chosen, groups_used = set(), set()
    spent = reached = 0.0
    ids, groups, requires = list(mea["measure"]), list(mea["group"]), list(mea["requires"])
    for i in order:
        if abatement[i] <= 0 or spent + cost[i] > budget:
            continue
        if groups[i] and groups[i] in groups_used:
            continue
        if requires[i] and requires[i] not in chosen:
            continue
        chosen.add(ids[i])
        if groups[i]:
            groups_used.add(groups[i])
        spent += cost[i]
        reached += abatement[i]
    return reached, spent


def file_bytes(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


# --------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("municipalities", [8, 44])
def test_valid_and_deterministic(tmp_path, municipalities):
    a = generate_case(tmp_path / "a", municipalities, 50, seed=0)
    b = generate_case(tmp_path / "b", municipalities, 50, seed=0)
    assert file_bytes(a) == file_bytes(b)
    check_case(a)
    mea = read_table(a / "measures.csv")
    assert len(mea) == municipalities * 50
    assert mea["sector"].nunique() == len(SECTORS)


def test_seed_changes_the_case(tmp_path):
    a = generate_case(tmp_path / "a", 8, 50, seed=0)
    b = generate_case(tmp_path / "b", 8, 50, seed=1)
    assert file_bytes(a)["measures.csv"] != file_bytes(b)["measures.csv"]
    check_case(b)


@pytest.mark.parametrize("measures", [7, 120])
def test_other_measure_counts(tmp_path, measures):
    out = generate_case(tmp_path / "c", 44, measures, seed=3)
    mea = read_table(out / "measures.csv")
    assert len(mea) == 44 * measures and mea["measure"].is_unique
    if measures > 50:
        check_case(out)
    else:
        grouped = mea[mea["group"] != ""]
        assert (grouped.groupby("group")["municipality"].nunique() == 1).all()
        assert mea["requires"].isin(set(mea["measure"]) | {""}).all()


def test_blank_cells_and_text_ids(tmp_path):
    out = generate_case(tmp_path / "d", 8, 50, seed=0)
    text = (out / "measures.csv").read_text(encoding="utf-8")
    assert "\r" not in text
    for name in FILES[1:]:
        cells = read_table(out / name).to_numpy().ravel()
        assert not set(cells) & {"nan", "NaN", "<NA>", "None", "inf", "-inf"}
    first = text.splitlines()[1]
    assert first.startswith("M000001-01,000001,")
    assert ",," in first  # blank cells written as empty fields


def test_justice_and_cli(tmp_path, capsys):
    out = generate_case(tmp_path / "j", 8, seed=0,
                        justice={"vulnerable_share_min": 0.3, "gini_max": 0.4})
    settings = yaml.safe_load((out / "case.yaml").read_text(encoding="utf-8"))
    assert settings["justice"] == {"vulnerable_share_min": 0.3, "gini_max": 0.4}
    with pytest.raises(ValueError):
        generate_case(tmp_path / "bad", 8, justice={"vulnerable_share": 0.3})

    assert main([str(tmp_path / "cli"), "--municipalities", "8", "--measures", "50",
                 "--seed", "0", "--justice", "vulnerable_share_min=0.3",
                 "--justice", "gini_max=0.4"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert file_bytes(tmp_path / "cli") == file_bytes(out)


def test_1000_by_50_speed(tmp_path):
    start = time.perf_counter()
    out = generate_case(tmp_path / "big", 1000, 50, seed=0)
    seconds = time.perf_counter() - start
    size = (out / "measures.csv").stat().st_size / 1e6
    print(f"\n1000 x 50 generated in {seconds:.2f} s (measures.csv {size:.1f} MB)")
    mea = pd.read_csv(out / "measures.csv", dtype=str, keep_default_na=False)
    assert len(mea) == 50_000 and mea["measure"].is_unique
