"""Equity views of a result: the Lorenz curve of per-capita benefit and the fairness metrics.

The metrics are computed for every result, whether or not a justice rule constrains them, so
that scenarios can be compared on fairness as well as on abatement and cost. Benefit is the
case's `justice.benefit` (abatement by default), per municipality, from the verification.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .engine import Result

#: Population share of the bottom group in `bottom_40_benefit_share`.
BOTTOM_SHARE = 0.4


def lorenz_curve(benefit: np.ndarray, population: np.ndarray) -> pd.DataFrame:
    """The population-weighted Lorenz curve of per-capita benefit: municipalities sorted by
    benefit per capita (ascending, ties in input order), with the cumulative population share and
    the cumulative benefit share after each one; starts at (0, 0) and ends at (1, 1). With no
    benefit at all (B = 0) the benefit shares are undefined (NaN)."""
    benefit = np.asarray(benefit, dtype=float)
    population = np.asarray(population, dtype=float)
    order = np.argsort(benefit / population, kind="stable")
    total = benefit.sum()
    cum_population = np.cumsum(population[order]) / population.sum()
    cum_benefit = np.cumsum(benefit[order]) / total if total > 0 else np.full(len(order), np.nan)
    return pd.DataFrame({
        "rank": np.arange(len(order) + 1),
        "position": np.r_[-1, order],
        "population_share": np.r_[0.0, cum_population],
        "benefit_share": np.r_[0.0 if total > 0 else np.nan, cum_benefit],
    })


def gini_from_lorenz(curve: pd.DataFrame) -> float | None:
    """Gini = 1 - sum over segments of (population step) x (sum of the two benefit shares):
    one minus twice the area under the Lorenz curve."""
    if curve["benefit_share"].isna().any():
        return None
    p = curve["population_share"].to_numpy()
    b = curve["benefit_share"].to_numpy()
    return float(1.0 - np.sum(np.diff(p) * (b[1:] + b[:-1])))


def share_at(curve: pd.DataFrame, population_share: float) -> float | None:
    """Benefit share of the poorest-served `population_share` of the population (Lorenz curve,
    linearly interpolated)."""
    if curve["benefit_share"].isna().any():
        return None
    return float(np.interp(population_share, curve["population_share"], curve["benefit_share"]))


def fairness_metrics(result: Result) -> dict:
    """Fairness of a result, constrained or not: vulnerable benefit share (V/B), Gini of per-capita
    benefit, min and max per-capita benefit over the average, the benefit share of the bottom 40 %
    of the population and the population share of municipalities that get nothing."""
    v = result.verified
    population = result.case.municipalities["population"].to_numpy(dtype=float)
    benefit = v.municipalities["benefit"].to_numpy(dtype=float)
    curve = lorenz_curve(benefit, population)
    average = benefit.sum() / population.sum()
    per_capita = benefit / population
    return {
        "vulnerable_benefit_share": v.vulnerable_benefit / v.benefit if v.benefit else None,
        "gini": v.gini,
        "min_per_capita_ratio": v.min_per_capita_ratio,
        "max_per_capita_ratio": float(per_capita.max() / average) if average > 0 else None,
        "bottom_40_benefit_share": share_at(curve, BOTTOM_SHARE),
        "population_without_benefit_share": float(population[benefit <= 0].sum() / population.sum()),
    }


def lorenz_table(result: Result) -> pd.DataFrame:
    """lorenz.csv of one result: the curve with municipality ids and per-capita benefit."""
    munis = result.case.municipalities
    benefit = result.verified.municipalities["benefit"].to_numpy(dtype=float)
    population = munis["population"].to_numpy(dtype=float)
    curve = lorenz_curve(benefit, population)
    position = curve["position"].to_numpy()[1:]
    ids = munis.index.to_numpy(dtype=object)
    return pd.DataFrame({
        "rank": curve["rank"],
        "municipality": np.r_[np.array([""], dtype=object), ids[position]],
        "benefit_per_capita": np.r_[np.nan, (benefit / population)[position]],
        "population_share": curve["population_share"],
        "benefit_share": curve["benefit_share"],
    })


def lorenz_chart(curves: dict[str, pd.DataFrame], stem: Path, benefit: str = "abatement") -> None:
    """`stem`.png and `stem`.svg: the Lorenz curve of each named result and the equality line."""
    from .charts import pyplot, save  # here, not at the top: results.py imports this module, charts imports results

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 5.0))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="equal per capita")
    for name, curve in curves.items():
        if not curve["benefit_share"].isna().any():
            ax.plot(curve["population_share"], curve["benefit_share"], linewidth=1.5, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("population share (municipalities by per-capita benefit, ascending)")
    ax.set_ylabel(f"cumulative share of {benefit.replace('_', ' ')}")
    ax.set_title("Lorenz curve of per-capita benefit")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    save(fig, stem)
