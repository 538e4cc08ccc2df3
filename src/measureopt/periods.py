"""The calendar of a multi-year plan (SPEC 3.1 `periods`): plan years, target year, annual caps.

Formats decided here (SPEC is silent on them; see README "Multi-year plans"):
- per-year municipal budgets are columns `budget_eur_<year>` of municipalities.csv (EUR, >= 0,
  blank = no cap that year), one per plan year that needs a cap;
- per-year cluster budgets are `periods.cluster_budget_eur: {cluster: {year: cap}}` in case.yaml;
- every plan year must be <= target_year (when given): the target year's portfolio is then
  everything the plan implements, and the target year defaults to the last plan year.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .errors import Problem
from .settings import Settings, SettingLayer, locate

YEAR_BUDGET_COLUMN = re.compile(r"^budget_eur_(\d{4})$")


def year_budget_columns(names) -> list[str]:
    """The per-year municipal budget columns (`budget_eur_<year>`) among a table's column names."""
    return [name for name in names if isinstance(name, str) and YEAR_BUDGET_COLUMN.match(name)]


def column_year(name: str) -> int:
    """The year of a `budget_eur_<year>` column."""
    return int(YEAR_BUDGET_COLUMN.match(name).group(1))


def plan_years(settings: Settings) -> list[int]:
    """The plan years (one implicit period when `periods` is absent: the target year, or 0)."""
    if settings.periods is None:
        return [settings.target_year or 0]
    return list(settings.periods.years)


def target_year(settings: Settings) -> int:
    """The year the target and every objective but max_cumulative_abatement are evaluated in."""
    return settings.target_year if settings.target_year is not None else plan_years(settings)[-1]


def municipal_year_caps(municipalities: pd.DataFrame, years: list[int]) -> np.ndarray:
    """Municipality x year caps (EUR) from the `budget_eur_<year>` columns; NaN = no cap."""
    caps = np.full((len(municipalities), len(years)), np.nan)
    for name in year_budget_columns(municipalities.columns):
        year = column_year(name)
        if year in years:
            caps[:, years.index(year)] = municipalities[name].to_numpy(dtype=float)
    return caps


def check_periods(settings: Settings, layers: list[SettingLayer], munis: pd.DataFrame | None, munis_out,
                  measures: pd.DataFrame | None, measures_out) -> list[Problem]:
    """Cross-checks of `periods` against the target year and the tables. Problems of case.yaml are
    returned; problems of a table row or column go to that table's collector (`case._Collector`)."""
    problems: list[Problem] = []
    periods = settings.periods
    if munis is not None and munis_out is not None:
        label, line = munis_out.table.label, munis_out.table.header_line
        for name in year_budget_columns(munis.columns):
            if periods is None:
                munis_out.problems.append(Problem(label, line, name, "a per-year budget column needs `periods` in case.yaml"))
            elif column_year(name) not in periods.years:
                munis_out.problems.append(Problem(label, line, name, "year is not in periods.years", column_year(name)))
    if periods is None:
        return problems

    def add(loc: tuple, message: str, value: object = None) -> None:
        where, line, path = locate(loc, layers)
        problems.append(Problem(where, line, path, message, value))

    if settings.target_year is not None:
        for year in periods.years:
            if year > settings.target_year:
                add(("periods", "years"), f"year is after target_year {settings.target_year}", year)
    if periods.carry_over:
        for year in periods.years:
            if year not in periods.budget_eur:
                add(("periods", "carry_over"), "carry_over needs a budget_eur for every plan year; missing", year)
    clusters = set(munis["cluster"].dropna()) if munis is not None else None
    for cluster, by_year in periods.cluster_budget_eur.items():
        if clusters is not None and cluster not in clusters:
            add(("periods", "cluster_budget_eur", cluster), "unknown cluster", cluster)
        for year in by_year:
            if year not in periods.years:
                add(("periods", "cluster_budget_eur", cluster, year), "year is not in periods.years", year)
    if measures is not None and measures_out is not None:
        late = ((measures["status"] == "committed") & (measures["earliest_year"] > periods.years[-1])).to_numpy()
        measures_out.add(late, "earliest_year", f"a committed measure must be possible by the last plan year {periods.years[-1]}",
                         [f"{y:g}" for y in measures["earliest_year"][late]])
    return problems
