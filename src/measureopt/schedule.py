"""The schedule of a multi-year plan as a chart: emissions against the targets, and annual spending.

The figures come from the verified schedule (`verify.plan_schedule`); this module only draws them,
as reproducible PNG and SVG (`charts.save`).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

CHART_NAME = "schedule"


def draw_schedule(schedule: pd.DataFrame, title: str, folder: Path) -> list[Path]:
    """schedule.png and schedule.svg in `folder`: the case's emissions per plan year against the
    required level (trajectory and target), and the investment per year against the annual cap."""
    from .charts import pyplot, save  # charts -> macc -> results -> here: import when drawing

    total = schedule[schedule["level"] == "total"]
    years = total["year"].to_numpy()
    fig, (top, bottom) = pyplot().subplots(2, 1, figsize=(8, 7), sharex=True, height_ratios=(3, 2))
    top.plot(years, total["emissions_t"] / 1e3, marker="o", color="#1b7837", label="emissions with the plan")
    baseline = (total["baseline_t"] - total["achieved_t"]) / 1e3
    top.plot(years, baseline, linestyle=":", color="grey", label="without the plan (baseline - achieved)")
    required = total["required_t"].notna()
    if required.any():
        allowed = (total["baseline_t"] - total["achieved_t"] - total["required_t"]) / 1e3
        top.scatter(years[required.to_numpy()], allowed[required], marker="v", s=80, color="#b2182b", zorder=3,
                    label="highest level the targets allow")
    other = schedule[(schedule["level"] != "total") & schedule["required_t"].notna()]
    if len(other):
        top.text(0.01, 0.02, "targets per cluster/municipality: see schedule.csv", transform=top.transAxes, fontsize=8)
    top.set_ylabel("emissions, kt CO2/yr")
    top.set_title(title)
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    bottom.bar(years, total["investment_eur"] / 1e6, color="#2166ac", label="investment")
    capped = total["budget_eur"].notna().to_numpy()
    if capped.any():
        bottom.scatter(years[capped], total["budget_eur"].to_numpy()[capped] / 1e6, marker="_", s=600, color="black",
                       zorder=3, label="annual budget")
    bottom.set_ylabel("investment, EUR M")
    bottom.set_xlabel("plan year")
    bottom.set_xticks(years)
    bottom.legend(fontsize=8)
    bottom.grid(alpha=0.3, axis="y")
    save(fig, folder / CHART_NAME)
    return [folder / f"{CHART_NAME}.png", folder / f"{CHART_NAME}.svg"]

