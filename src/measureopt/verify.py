"""Independent verification of a portfolio against the input tables (SPEC 4.5).

Nothing here uses the formulation's matrices or coefficient helpers: every figure is recomputed
from the case tables with pandas, and every constraint of SPEC 4.3 is checked again. The figures
reported in results come from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .case import Case

REL_TOL = 1e-6


@dataclass(frozen=True)
class Portfolio:
    """A decision: units, selection and units bought through programmes, per measure (file order),
    the programmes that run and the municipalities taking part in each (pairs of ids)."""

    units: np.ndarray
    selected: np.ndarray
    programme_units: np.ndarray
    running: frozenset
    members: frozenset  # {(municipality, programme)}
    year: np.ndarray | None = None  # with periods: implementation year per measure, NaN if not selected


@dataclass
class Verified:
    """Figures recomputed from the tables, and every violation found (empty when all is well)."""

    measures: pd.DataFrame  # per measure: units, investment_eur, annual_abatement_t, eac_eur, benefit, vulnerable_benefit
    municipalities: pd.DataFrame
    investment_eur: float
    admin_eur: float
    annual_abatement_t: float
    eac_eur: float
    benefit: float
    vulnerable_benefit: float
    gini: float | None
    min_per_capita_ratio: float | None
    min_per_capita: float
    cluster_investment: dict
    target_met: bool | None
    violations: list[str] = field(default_factory=list)
    schedule: pd.DataFrame | None = None  # with periods: per year and level, see `plan_schedule`
    cumulative_abatement_t: float | None = None  # with periods: sum over plan years of A_tau


def _crf(rate: float, years: pd.Series | float):
    """CRF(r, L), written out again on purpose (independent of the model code)."""
    if rate == 0:
        return 1.0 / years
    return rate / (1.0 - (1.0 + rate) ** (-years))


def population_gini(benefit: np.ndarray, population: np.ndarray) -> float | None:
    """Population-weighted Gini of per-capita benefit: sum_{m<n}|p_n B_m - p_m B_n| / (P B)."""
    total = benefit.sum()
    if total <= 0:
        return None
    x = benefit / population
    order = np.argsort(x, kind="stable")
    xs, ps = x[order], population[order]
    before = np.cumsum(ps) - ps
    after = ps.sum() - before - ps
    pair_sum = np.sum(ps * xs * (before - after))
    return float(pair_sum / (population.sum() * total))


def _tol(*scale: float) -> float:
    return REL_TOL * max([1.0, *(abs(s) for s in scale)])


def verify(case: Case, portfolio: Portfolio, maxmin_floor: float | None = None) -> Verified:
    """Every figure and every constraint of SPEC 4.1-4.3 recomputed from the case tables."""
    s = case.settings
    mt = case.measures
    munis = case.municipalities
    problems: list[str] = []
    u = pd.Series(portfolio.units, index=mt.index)
    y = pd.Series(portfolio.selected, index=mt.index).astype(float)
    w = pd.Series(portfolio.programme_units, index=mt.index)
    ids = mt["measure"]

    def report(mask, text):
        for measure in ids[mask].head(20):
            problems.append(f"measure {measure}: {text}")

    # 4.1 units and selection
    upper, lower = mt["max_units"], mt["min_units"]
    report(u < -_tol(), "negative units")
    report(u > upper + _tol() * upper, "more units than max_units")
    report(mt["integer"] & ((u - u.round()).abs() > 1e-6), "fractional units for an integer measure")
    report((u > _tol()) & (y < 0.5), "units without being selected")
    report((y > 0.5) & (u < lower - _tol() * lower), "selected with fewer than min_units")
    report(mt["integer"] & (y > 0.5) & (u < 0.5), "selected with no units")
    report((mt["status"] == "committed") & ((u - upper).abs() > _tol() * upper), "committed but not at max_units")
    report((mt["status"] == "excluded") & (y > 0.5), "excluded but selected")
    # 4.3 alternatives and prerequisites
    per_group = y[mt["group"].notna()].groupby(mt["group"][mt["group"].notna()]).sum()
    for group in per_group.index[per_group > 1.5]:
        problems.append(f"group {group}: more than one alternative selected")
    req = mt["requires"]
    req_selected = req.map(pd.Series(y.to_numpy(), index=ids)).fillna(1.0)
    report(req.notna() & (y > 0.5) & (req_selected < 0.5), "selected without its prerequisite")

    # programmes: who takes part, what is bought through them, and the discount
    prog = case.programmes
    member_prog = pd.Series([p for _, p in portfolio.members], dtype=object)
    for p in portfolio.running:
        count = int((member_prog == p).sum())
        if count < prog.at[p, "min_members"]:
            problems.append(f"programme {p} runs with {count} members, fewer than min_members {prog.at[p, 'min_members']:g}")
    members = pd.MultiIndex.from_tuples(sorted(portfolio.members), names=["municipality", "programme"])
    selected_in = pd.MultiIndex.from_frame(mt.loc[(y > 0.5) & mt["programme"].notna(), ["municipality", "programme"]])
    member_cluster = prog["cluster"].reindex(members.get_level_values("programme")).to_numpy(dtype=object)
    home_cluster = munis["cluster"].reindex(members.get_level_values("municipality")).to_numpy(dtype=object)
    for (m, p), runs, buys, elsewhere in zip(members, members.get_level_values("programme").isin(list(portfolio.running)),
                                             members.isin(selected_in), pd.notna(member_cluster) & (home_cluster != member_cluster)):
        if not runs:
            problems.append(f"municipality {m} takes part in programme {p}, which does not run")
        if not buys:
            problems.append(f"municipality {m} takes part in programme {p} without selecting any of its measures")
        if elsewhere:
            problems.append(f"municipality {m} takes part in programme {p} of another cluster")
    allowed = pd.Series(pd.MultiIndex.from_frame(mt[["municipality", "programme"]]).isin(members), index=mt.index)
    report((w > _tol()) & ~allowed, "bought through a programme its municipality does not take part in")
    report(w > u + _tol() * upper, "more units through the programme than selected")
    discount = mt["programme"].map(prog["capex_discount"]).fillna(0.0).where(w > 0, 0.0)

    # 4.2 derived quantities, per measure
    rate = s.economics.discount_rate
    capital = mt["fixed_capex_eur"] * y + mt["capex_eur"] * u - discount * mt["capex_eur"] * w
    measure_crf = _crf(rate, mt["lifetime_years"])
    eac = measure_crf * capital + (mt["opex_eur"] - mt["bill_savings_eur"]) * u
    abatement = mt["co2_reduction_t"] * u
    kind = s.justice.benefit
    if kind == "investment":
        ben = mt["fixed_capex_eur"] * y + mt["capex_eur"] * u
    else:
        column = {"abatement": "co2_reduction_t", "bill_savings": "bill_savings_eur", "households": "households_served"}[kind]
        ben = mt[column] * u
    vulnerable = mt["v"] * ben
    per_measure = pd.DataFrame({
        "units": u, "selected": y > 0.5, "investment_eur": capital, "annual_abatement_t": abatement,
        "eac_eur": eac, "benefit": ben, "vulnerable_benefit": vulnerable, "through_programme": w,
    })
    by_muni = per_measure.groupby(mt["municipality"]).agg(
        investment_eur=("investment_eur", "sum"), annual_abatement_t=("annual_abatement_t", "sum"),
        benefit=("benefit", "sum"), vulnerable_benefit=("vulnerable_benefit", "sum"), measures=("selected", "sum"),
    ).reindex(munis.index, fill_value=0.0)
    admin_running = prog.loc[sorted(portfolio.running), "admin_cost_eur"] if portfolio.running else pd.Series(dtype=float)
    admin = float(admin_running.sum())
    total_inv = float(capital.sum()) + admin
    total_abatement = float(abatement.sum())
    total_benefit = float(ben.sum())

    # budgets
    budget = s.budget
    if budget is not None and budget.total_eur is not None and total_inv > budget.total_eur + _tol(budget.total_eur):
        problems.append(f"total investment {total_inv:,.2f} exceeds budget.total_eur {budget.total_eur:,.2f}")
    cluster_inv = by_muni["investment_eur"].groupby(munis["cluster"]).sum().to_dict()
    for p in portfolio.running:
        c = prog.at[p, "cluster"]
        if pd.notna(c):
            cluster_inv[c] = cluster_inv.get(c, 0.0) + float(prog.at[p, "admin_cost_eur"])
    if budget is not None:
        for c, cap in budget.cluster_eur.items():
            if cluster_inv.get(c, 0.0) > cap + _tol(cap):
                problems.append(f"cluster {c} investment {cluster_inv.get(c, 0.0):,.2f} exceeds its budget {cap:,.2f}")
    caps = munis["budget_eur"]
    over = caps.notna() & (by_muni["investment_eur"] > caps + caps.abs().clip(lower=1) * REL_TOL)
    for m in munis.index[over]:
        problems.append(f"municipality {m} investment {by_muni.at[m, 'investment_eur']:,.2f} exceeds its budget_eur {caps[m]:,.2f}")

    # target: baselines and achievements summed per scope first, clipped once
    target_met = None
    muni_required = (0.0 if s.target is None else s.target.reduction) * munis["baseline_emissions_t"] - munis["achieved_t"]
    if s.target is not None:
        scope = {"joint": pd.Series("joint", index=munis.index), "cluster": munis["cluster"], "each": pd.Series(munis.index, index=munis.index)}[s.target.scope]
        need = (s.target.reduction * munis["baseline_emissions_t"] - munis["achieved_t"]).groupby(scope).sum().clip(lower=0)
        got = by_muni["annual_abatement_t"].groupby(scope).sum()
        short = got + need.abs().clip(lower=1) * REL_TOL < need
        target_met = not bool(short.any())
        for key in need.index[short]:
            problems.append(f"target ({s.target.scope} {key}) needs {need[key]:,.3f} t/yr, the portfolio abates {got[key]:,.3f}")

    # justice rules
    j = s.justice
    vuln_total = float(vulnerable.sum())
    if j.vulnerable_share_min is not None and vuln_total < j.vulnerable_share_min * total_benefit - _tol(total_benefit):
        problems.append(f"vulnerable benefit {vuln_total:,.4f} below {j.vulnerable_share_min:g} of total benefit {total_benefit:,.4f}")
    pop = munis["population"]
    if j.population_floor is not None:
        floor = j.population_floor * pop / pop.sum() * total_benefit
        for m in munis.index[by_muni["benefit"] < floor - floor.abs().clip(lower=1) * REL_TOL]:
            problems.append(f"municipality {m} benefit {by_muni.at[m, 'benefit']:,.4f} below its population floor {floor[m]:,.4f}")
    gini = population_gini(by_muni["benefit"].to_numpy(dtype=float), pop.to_numpy(dtype=float))
    if j.gini_max is not None and gini is not None and gini > j.gini_max + 1e-6:
        problems.append(f"Gini of per-capita benefit {gini:.6f} above gini_max {j.gini_max:g}")
    per_capita = by_muni["benefit"] / pop
    if maxmin_floor is not None:
        low = per_capita < maxmin_floor - max(1e-9, abs(maxmin_floor) * REL_TOL)
        for m in munis.index[low]:
            problems.append(f"municipality {m} per-capita benefit {per_capita[m]:.6g} below the maxmin floor {maxmin_floor:.6g}")
    average = total_benefit / pop.sum()
    ratio = float(per_capita.min() / average) if average > 0 else None

    by_muni["required_t"] = muni_required
    schedule = None
    if s.periods is not None:
        per_measure["year"] = portfolio.year
        schedule = plan_schedule(case, per_measure, admin_running, problems)
    return Verified(
        schedule=schedule,
        cumulative_abatement_t=None if schedule is None else float(schedule.loc[schedule["level"] == "total", "annual_abatement_t"].sum()),
        measures=per_measure, municipalities=by_muni, investment_eur=total_inv, admin_eur=admin,
        annual_abatement_t=total_abatement,
        eac_eur=float(eac.sum()) + (float(_crf(rate, s.economics.horizon_years)) * admin),
        benefit=total_benefit, vulnerable_benefit=vuln_total, gini=gini, min_per_capita_ratio=ratio,
        min_per_capita=float(per_capita.min()), cluster_investment=cluster_inv, target_met=target_met,
        violations=problems,
    )


def plan_schedule(case: Case, per_measure: pd.DataFrame, admin_running: pd.Series, problems: list[str]) -> pd.DataFrame:
    """Per plan year, for the whole case, each cluster and each municipality: investment of the
    year (admin costs of running programmes in the first plan year), its cap, the abatement reached
    (measures implemented in that year or before), the emissions left and the abatement required.

    Checks, appended to `problems`: every selected measure has one plan year, not before its
    earliest_year nor before its prerequisite's year; every annual cap; every trajectory entry.
    """
    s = case.settings
    periods = s.periods
    mt, munis = case.measures, case.municipalities
    years = list(periods.years)
    year = per_measure["year"].astype(float)
    chosen = per_measure["selected"]

    def report(mask, text):
        for measure, when in zip(mt["measure"][mask].head(20), year[mask].head(20)):
            problems.append(f"measure {measure}: {text.format(year=when)}")

    report(chosen & year.isna(), "selected without an implementation year")
    report(~chosen & year.notna(), "has an implementation year ({year:g}) but is not selected")
    report(year.notna() & ~year.isin(years), "implemented in {year:g}, which is not a plan year")
    report(year < mt["earliest_year"], "implemented in {year:g}, before its earliest_year")
    required_year = mt["requires"].map(pd.Series(year.to_numpy(), index=mt["measure"]))
    report(year.notna() & mt["requires"].notna() & ~(required_year <= year), "implemented in {year:g}, before its prerequisite")

    baseline, achieved = munis["baseline_emissions_t"], munis["achieved_t"]
    cluster_of = munis["cluster"]
    prog = case.programmes
    admin_cluster = prog.loc[admin_running.index, "cluster"] if len(admin_running) else pd.Series(dtype=object)
    scope_level = {"joint": "total", "cluster": "cluster", "each": "municipality"}[s.target.scope if s.target is not None else "joint"]
    frames = []
    for t in years:
        spent = per_measure["investment_eur"].where(year == t, 0.0).groupby(mt["municipality"]).sum().reindex(munis.index, fill_value=0.0)
        reached = per_measure["annual_abatement_t"].where(year <= t, 0.0).groupby(mt["municipality"]).sum().reindex(munis.index, fill_value=0.0)
        first = t == years[0]
        share = periods.trajectory.get(t)
        if t == s.target_year and s.target is not None:
            share = max(share or 0.0, s.target.reduction)
        levels = {
            "total": (pd.Series(0, index=munis.index), {0: periods.budget_eur.get(t, np.nan)},
                      float(admin_running.sum()) if first else 0.0),
            "cluster": (cluster_of, {c: periods.cluster_budget_eur.get(c, {}).get(t, np.nan) for c in cluster_of.dropna().unique()}, None),
            "municipality": (pd.Series(munis.index, index=munis.index),
                             {m: munis.at[m, f"budget_eur_{t}"] if f"budget_eur_{t}" in munis.columns else np.nan for m in munis.index}, None),
        }
        for level, (key, caps, admin) in levels.items():
            frame = pd.DataFrame({"investment_eur": spent.groupby(key).sum(), "annual_abatement_t": reached.groupby(key).sum(),
                                  "baseline_t": baseline.groupby(key).sum(), "achieved_t": achieved.groupby(key).sum()})
            if level == "total":
                frame["investment_eur"] += admin
            elif level == "cluster" and first and len(admin_cluster):
                frame["investment_eur"] = frame["investment_eur"].add(admin_running.groupby(admin_cluster.to_numpy()).sum(), fill_value=0.0)
            frame["budget_eur"] = pd.Series(caps, dtype=float).reindex(frame.index)
            frame["required_t"] = ((share * frame["baseline_t"] - frame["achieved_t"]).clip(lower=0)
                                   if share is not None and level == scope_level else np.nan)
            frame.insert(0, "id", "all" if level == "total" else frame.index.astype(str))
            frame.insert(0, "level", level)
            frame.insert(0, "year", t)
            frames.append(frame.reset_index(drop=True))
    table = pd.concat(frames, ignore_index=True)
    table["emissions_t"] = table["baseline_t"] - table["achieved_t"] - table["annual_abatement_t"]
    table["budget_used_share"] = table["investment_eur"] / table["budget_eur"].where(table["budget_eur"] > 0)
    spent, cap = table["investment_eur"].copy(), table["budget_eur"].copy()
    if periods.carry_over:  # the plan's budget: what was spent up to a year against what arrived up to it
        total = table["level"] == "total"
        spent[total], cap[total] = spent[total].cumsum(), cap[total].cumsum()
    over = spent > cap + cap.abs().clip(lower=1) * REL_TOL
    for _, row in table[over].iterrows():
        problems.append(f"{row['level']} {row['id']} invests {row['investment_eur']:,.2f} in {row['year']}, over its annual budget "
                        f"{row['budget_eur']:,.2f}" + (" (with the budget carried over)" if periods.carry_over and row["level"] == "total" else ""))
    short = table["annual_abatement_t"] + table["required_t"].abs().clip(lower=1) * REL_TOL < table["required_t"]
    for _, row in table[short].iterrows():
        problems.append(f"{row['level']} {row['id']} reaches {row['annual_abatement_t']:,.3f} t/yr by {row['year']}, "
                        f"short of the {row['required_t']:,.3f} t/yr required")
    return table[["year", "level", "id", "investment_eur", "budget_eur", "budget_used_share", "annual_abatement_t",
                  "baseline_t", "achieved_t", "emissions_t", "required_t"]]
