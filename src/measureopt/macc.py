"""The marginal abatement cost curve (MACC) of a case's candidate measures (SPEC 4.2, SPEC 5 `macc`).

Every measure that may be selected (status candidate or committed) is one bar: its levelised cost
of abatement LCOA_j = (CRF(r, L_j) c_j + o_j - s_j) / a_j [EUR/tCO2] is the height, its potential
a_j U_j [tCO2/yr] the width; bars are ordered from the cheapest (most negative, "no-regret") up.
Measures without abatement (a_j = 0) have no LCOA: they are listed last with a blank cost and
take no width. LCOA is the SPEC's per-unit figure: fixed capex and programme discounts are not in
it (they are in `portfolio.csv`'s `cost_per_t`, which is per selected measure).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from .case import Case
from .errors import CaseError, Problem
from .formulation import crf

#: Colours of the chart: selected measures, the rest, and every bar when no result is given.
SELECTED_COLOUR = "#1b7837"
REJECTED_COLOUR = "#bdbdbd"
CANDIDATE_COLOUR = "#4575b4"


def lcoa(case: Case) -> np.ndarray:
    """LCOA_j = (CRF(r, L_j) c_j + o_j - s_j) / a_j in EUR/tCO2 per measure; NaN where a_j = 0."""
    m = case.measures
    annual = (crf(case.settings.economics.discount_rate, m["lifetime_years"].to_numpy()) * m["capex_eur"].to_numpy()
              + m["opex_eur"].to_numpy() - m["bill_savings_eur"].to_numpy())
    a = m["co2_reduction_t"].to_numpy()
    return np.divide(annual, a, out=np.full(len(m), np.nan), where=a > 0)


def macc_table(case: Case, selected: set[str] | None = None) -> pd.DataFrame:
    """The MACC as a table, cheapest abatement first (ties by measure id).

    Columns: measure, municipality, name, sector, status, lcoa_eur_per_t, potential_t (a_j U_j),
    cumulative_t (end of the bar on the x axis), potential_investment_eur (f_j + c_j U_j) and,
    when `selected` (measure ids of a portfolio) is given, `selected`.
    """
    m = case.measures
    open_ = (m["status"] != "excluded").to_numpy()
    table = pd.DataFrame({
        "measure": m["measure"].to_numpy(),
        "municipality": m["municipality"].to_numpy(),
        "name": m["name"].fillna("").to_numpy(dtype=object),
        "sector": m["sector"].to_numpy(),
        "status": m["status"].to_numpy(),
        "lcoa_eur_per_t": lcoa(case),
        "potential_t": (m["co2_reduction_t"] * m["max_units"]).to_numpy(),
        "potential_investment_eur": (m["fixed_capex_eur"] + m["capex_eur"] * m["max_units"]).to_numpy(),
    })[open_]
    table["_no_cost"] = table["lcoa_eur_per_t"].isna()
    table = table.sort_values(["_no_cost", "lcoa_eur_per_t", "measure"], kind="mergesort").drop(columns="_no_cost")
    table.insert(table.columns.get_loc("potential_t") + 1, "cumulative_t", table["potential_t"].cumsum())
    if selected is not None:
        table["selected"] = table["measure"].isin(selected)
    return table.reset_index(drop=True)


def selected_measures(case: Case, results_dir: Path) -> set[str]:
    """The measure ids of a result folder's portfolio.csv, checked against the case."""
    path = Path(results_dir) / "portfolio.csv"
    if not path.is_file():
        raise CaseError([Problem(str(path), None, "-", "no portfolio.csv in this results folder (an infeasible or missing run?)")])
    ids = pd.read_csv(path, dtype=str, keep_default_na=False)["measure"].str.removeprefix("'")
    unknown = sorted(set(ids) - set(case.measures["measure"]))
    if unknown:
        raise CaseError([Problem(str(path), None, "measure", "measures not in this case: is it the result of another case?",
                                 ", ".join(unknown[:5]))])
    return set(ids)


def macc_svg(table: pd.DataFrame, title: str = "Marginal abatement cost curve", currency: str = "EUR") -> str:
    """The MACC as an SVG bar chart: width = potential, height = LCOA; selected bars highlighted."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    bars = table[table["lcoa_eur_per_t"].notna() & (table["potential_t"] > 0)]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    if "selected" in bars:
        colours = np.where(bars["selected"].to_numpy(dtype=bool), SELECTED_COLOUR, REJECTED_COLOUR)
        ax.legend(handles=[Patch(color=SELECTED_COLOUR, label="selected"), Patch(color=REJECTED_COLOUR, label="not selected")],
                  loc="upper left", frameon=False)
    else:
        colours = np.full(len(bars), CANDIDATE_COLOUR)
    left = (bars["cumulative_t"] - bars["potential_t"]).to_numpy()
    ax.bar(left, bars["lcoa_eur_per_t"].to_numpy(), width=bars["potential_t"].to_numpy(), align="edge",
           color=colours, edgecolor="white", linewidth=0.3)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("cumulative abatement potential (tCO2/yr)")
    ax.set_ylabel(f"levelised cost of abatement ({currency}/tCO2)")
    ax.set_title(title)
    ax.set_xlim(0, max(float(bars["cumulative_t"].max()) if len(bars) else 1.0, 1e-9))
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def figure_svg(fig) -> str:
    """A matplotlib figure as SVG text, byte-for-byte reproducible (no date, fixed ids), then closed."""
    import matplotlib
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "measureopt", "svg.fonttype": "path"}):
        fig.tight_layout()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def write_macc(table: pd.DataFrame, out: Path, title: str, currency: str = "EUR") -> Path:
    """macc.csv and macc.svg in `out`, written atomically."""
    from .results import atomic_folder, write_csv  # here: results -> schedule -> charts import this module's figure_svg

    with atomic_folder(Path(out)) as staging:
        write_csv(table, staging / "macc.csv")
        (staging / "macc.svg").write_text(macc_svg(table, title, currency), encoding="utf-8")
    return Path(out)
