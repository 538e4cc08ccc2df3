"""Turn a tiny case (``tiny_cases.write_tiny_case``) into a multi-year plan, for the references.

``add_periods(directory, seed, **knobs)`` rewrites case.yaml, measures.csv and municipalities.csv
in place. Knobs (absent = decided by the seed):
    n_years: 1..3                     objective: any SPEC 4.4 objective (absent = keep the case's)
    annual_budget: bool (periods.budget_eur)      trajectory: bool (periods.trajectory)
    carry_over: bool (periods.carry_over; every year then gets a budget)
    earliest: bool (earliest_year on some measures)
    municipal_years: bool (budget_eur_<year> columns)   cluster_years: bool (periods.cluster_budget_eur)
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml

FIRST_YEAR = 2026
KNOBS = {"carry_over", "n_years", "objective", "annual_budget", "trajectory", "earliest", "municipal_years", "cluster_years"}


def _read(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames), list(reader)


def _write(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)


def _cost(row: dict) -> float:
    fixed = float(row["fixed_capex_eur"] or 0)
    return fixed + float(row["capex_eur"]) * float(row["max_units"] or 1)


def add_periods(directory: str | Path, seed: int, **knobs) -> Path:
    """Add a random `periods` section (and its table columns) to the case in ``directory``."""
    unknown = set(knobs) - KNOBS
    if unknown:
        raise TypeError(f"unknown knobs: {sorted(unknown)}")
    directory = Path(directory)
    rng = random.Random(seed * 7919 + 17)
    settings = yaml.safe_load((directory / "case.yaml").read_text(encoding="utf-8"))
    m_cols, measures = _read(directory / "measures.csv")
    u_cols, munis = _read(directory / "municipalities.csv")

    def knob(name, drawn):
        return knobs[name] if name in knobs else drawn

    n_years = knob("n_years", rng.choice([2, 3]))
    draws = {k: rng.random() < 0.6 for k in ("annual_budget", "trajectory", "earliest", "municipal_years", "cluster_years")}
    years = list(range(FIRST_YEAR, FIRST_YEAR + n_years))
    periods: dict = {"years": years}
    full = sum(_cost(r) for r in measures if r["status"] != "excluded")

    budget_fracs = [rng.uniform(0.15, 0.45) for _ in years]
    capped = [rng.random() < 0.8 for _ in years]
    carry_over = knobs.get("carry_over", False)
    if knob("annual_budget", draws["annual_budget"]) or carry_over:
        periods["budget_eur"] = {y: int(round(full * f, -3)) for y, f, c in zip(years, budget_fracs, capped) if c or carry_over} \
            or {years[0]: int(round(full * budget_fracs[0], -3))}
    if carry_over:
        periods["carry_over"] = True

    share = round(rng.uniform(0.01, 0.08), 2)
    interim = years[rng.randrange(max(1, n_years - 1))]
    if knob("trajectory", draws["trajectory"]):
        periods["trajectory"] = {interim: share}

    earliest_draws = [(rng.random(), rng.choice(years)) for _ in measures]
    for row, (draw, year) in zip(measures, earliest_draws):
        row["earliest_year"] = ""
        if knob("earliest", draws["earliest"]) and draw < 0.45 and not (row["status"] == "committed" and year > years[-1]):
            row["earliest_year"] = str(year)

    muni_draws = [(rng.random(), rng.choice(years), rng.uniform(0.2, 0.7)) for _ in munis]
    year_columns: list[str] = []
    if knob("municipal_years", draws["municipal_years"]):
        for row, (draw, year, frac) in zip(munis, muni_draws):
            if draw < 0.6:
                own = sum(_cost(r) for r in measures if r["municipality"] == row["municipality"])
                column = f"budget_eur_{year}"
                year_columns.append(column)
                row[column] = str(int(round(max(own * frac, 1000.0), -2)))
    columns = u_cols + sorted(set(year_columns))
    for row in munis:
        for column in columns:
            row.setdefault(column, "")

    clusters = sorted({r["cluster"] for r in munis if r["cluster"]})
    cluster_fracs = [rng.uniform(0.1, 0.35) for _ in years]
    if knob("cluster_years", draws["cluster_years"]) and clusters:
        members = {r["municipality"] for r in munis if r["cluster"] == clusters[0]}
        own = sum(_cost(r) for r in measures if r["municipality"] in members)
        periods["cluster_budget_eur"] = {clusters[0]: {y: int(round(max(own * f, 1000.0), -2)) for y, f in zip(years, cluster_fracs)}}

    settings["periods"] = periods
    settings["target_year"] = years[-1]
    if "objective" in knobs:
        settings["objective"] = knobs["objective"]
    (directory / "case.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    _write(directory / "measures.csv", m_cols, measures)
    _write(directory / "municipalities.csv", columns, munis)
    return directory
