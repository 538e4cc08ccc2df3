"""The self-contained HTML report of a result folder (SPEC 5 `report`, SPEC 6 `--report`).

One file, `report.html`: no scripts, no external resources (a Content-Security-Policy forbids any
request), charts inlined as SVG drawn by matplotlib with text as paths, print CSS. Every string
that comes from the input (case, municipality, measure, programme names and ids) is HTML-escaped.

It reads the result folder (summary.json, portfolio.csv, municipalities.csv) and, for the MACC of
selected vs rejected measures and the Lorenz curve, the case the result came from (the folder's
`provenance.case_directory`, or the case given). A `compare.csv` or `sweep.csv` in the folder is
shown as a side-by-side table with its trade-off chart.
"""
from __future__ import annotations

import html
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .case import Case, load_case
from .errors import CaseError, Problem
from .macc import figure_svg, macc_svg, macc_table
from .results import _FORMULA_START

#: What one unit of each objective is, and how a change of it reads.
OBJECTIVES = {
    "max_abatement": ("tCO2/yr", "abatement"),
    "min_investment": ("EUR", "investment"),
    "min_net_cost": ("EUR/yr", "net annual cost"),
    "max_weighted_benefit": ("", "weighted benefit"),
}


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def number(value: float | None, digits: int = 3) -> str:
    """A figure for people: thousands separators, about `digits` significant digits, '–' if undefined."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    value = float(value)
    if abs(value) >= 10 ** digits:
        return f"{value:,.0f}"
    if value == 0:
        return "0"
    return f"{value:,.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}g}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _amount(delta: float, objective: str) -> str:
    unit = OBJECTIVES.get(objective, ("", ""))[0]
    if unit == "EUR":
        return f"EUR {number(abs(delta))}"
    if unit == "EUR/yr":
        return f"EUR {number(abs(delta))}/yr"
    return f"{number(abs(delta))} {unit}".strip()


def effect(delta: float, objective: str) -> str:
    """How a change of the objective reads: 'buys 12 tCO2/yr', 'costs EUR 3,400 more investment'."""
    unit, what = OBJECTIVES.get(objective, ("", "objective"))
    amount = _amount(delta, objective)
    if abs(delta) < 1e-12:
        return f"leaves the {what} unchanged"
    if objective.startswith("max"):
        return f"buys {amount} more {what}" if delta > 0 else f"costs {amount} of {what}"
    return f"adds {amount} of {what}" if delta > 0 else f"saves {amount} of {what}"


def shadow_sentences(summary: dict, municipalities: pd.DataFrame, population: pd.Series | None) -> list[str]:
    """Every binding requirement of summary.json in plain words, with what its shadow price means.

    Shadow prices are d objective / d bound of the LP with the selection fixed (`engine.py`):
    per EUR for budgets, per t/yr for targets. A justice row's bound is 0; its parameter enters
    the row's coefficients, so the effect of the parameter is recomputed from the row:
    vulnerable share  sum_j (v_j - s) b_j u_j >= 0      d/ds = price * B
    population floor  B_m - f (pop_m / pop) B >= 0     d/df = sum_m price_m * (pop_m / pop) * B
    """
    objective = summary["objective"]["name"]
    justice = (summary.get("settings") or {}).get("justice") or {}
    names = municipalities.set_index("municipality")["name"] if "name" in municipalities else None
    benefit = float(municipalities["benefit"].sum())
    sentences: list[str] = []

    def label(key: str) -> str:
        name = names.get(key) if names is not None else None
        return f"{name} ({key})" if name and name != key else str(key)

    grouped: dict[str, list[dict]] = {}
    for entry in summary.get("binding") or []:
        grouped.setdefault(entry["constraint"], []).append(entry)
    for family, entries in grouped.items():
        if family.startswith("budget"):
            for e in entries:
                whose = {"budget_total": "The total budget", "budget_cluster": f"The budget of cluster {e['key']}",
                         "budget_municipality": f"The budget of {label(e['key'])}"}[family]
                text = f"{whose} (EUR {number(e['bound'])}) is fully used"
                if e["shadow_price"] is not None:
                    text += (f": one more euro of it {effect(e['shadow_price'], objective)}"
                             f" ({_amount(e['shadow_price'] * 1e6, objective)} per EUR 1 M).")
                sentences.append(text if text.endswith(".") else text + ".")
        elif family.startswith("target"):
            for e in entries:
                whose = {"target_joint": "The joint target", "target_cluster": f"The target of cluster {e['key']}",
                         "target_each": f"The target of {label(e['key'])}"}[family]
                text = f"{whose} ({number(e['bound'])} tCO2/yr) is just met"
                if e["shadow_price"] is not None:
                    text += f": one more tCO2/yr of target {effect(e['shadow_price'], objective)}"
                sentences.append(text + ".")
        elif family == "vulnerable_share":
            share = justice.get("vulnerable_share_min") or 0.0
            text = f"The {percent(share)} vulnerable share binds: exactly that share of the benefit reaches vulnerable households"
            if entries[0]["shadow_price"] is not None:
                text += f"; raising it to {percent(share + 0.01)} {effect(entries[0]['shadow_price'] * benefit * 0.01, objective)}"
            sentences.append(text + ".")
        elif family == "population_floor":
            floor = justice.get("population_floor") or 0.0
            who = ", ".join(label(e["key"]) for e in entries)
            text = f"The population floor ({number(floor)}) binds for {who}"
            prices = [e["shadow_price"] for e in entries]
            if population is not None and None not in prices:
                share = population / population.sum()
                delta = sum(p * float(share[e["key"]]) * benefit for p, e in zip(prices, entries)) * 0.01
                text += f": raising it to {number(floor + 0.01)} {effect(delta, objective)}"
            sentences.append(text + ".")
        elif family == "gini_max":
            e = entries[0]
            text = f"The Gini cap ({number(e['bound'])}) binds"
            if e["shadow_price"] is not None:
                text += f": loosening it to {number(e['bound'] + 0.01)} {effect(e['shadow_price'] * 0.01, objective)}"
            sentences.append(text + ".")
        elif family == "maxmin":
            who = ", ".join(label(e["key"]) for e in entries)
            sentences.append(f"The maxmin rule binds: {who} get(s) the lowest benefit per inhabitant, the floor all others must reach.")
        else:
            for e in entries:
                sentences.append(f"{family} {e['key']} binds at {number(e['bound'])}.")
    return sentences


def _plain(text: object) -> object:
    """A CSV cell as it was before formula neutralisation (the leading ' removed)."""
    if isinstance(text, str) and text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


def _read_csv(path: Path, ids: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={c: str for c in ids}, keep_default_na=False, na_values=[""])
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_plain)
    return frame


def _table(frame: pd.DataFrame, formats: dict | None = None, numeric_default=number) -> str:
    """An HTML table, every cell escaped; numbers right-aligned."""
    formats = formats or {}
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            if column in formats:
                cells.append(f'<td class="n">{_esc(formats[column](value))}</td>')
            elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
                cells.append(f'<td class="n">{_esc(numeric_default(None if pd.isna(value) else value))}</td>')
            else:
                cells.append(f"<td>{_esc('' if pd.isna(value) else value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def sector_svg(by_sector: pd.DataFrame) -> str:
    """Investment and abatement of the portfolio per sector, side by side."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 0.45 * len(by_sector) + 1.2), sharey=True)
    y = np.arange(len(by_sector))
    left.barh(y, by_sector["investment_eur"] / 1e6, color="#4575b4")
    right.barh(y, by_sector["annual_abatement_t"], color="#1b7837")
    left.set_yticks(y, by_sector["sector"])
    left.invert_yaxis()
    left.set_xlabel("investment (EUR M)")
    right.set_xlabel("abatement (tCO2/yr)")
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def lorenz_points(benefit: np.ndarray, population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The population-weighted Lorenz curve of per-capita benefit: cumulative population share
    (x) and cumulative benefit share (y), municipalities from the lowest benefit per inhabitant."""
    order = np.argsort(benefit / population, kind="stable")
    x = np.r_[0.0, np.cumsum(population[order]) / population.sum()]
    total = benefit.sum()
    y = np.r_[0.0, np.cumsum(benefit[order]) / total] if total > 0 else x.copy()
    return x, y


def lorenz_svg(x: np.ndarray, y: np.ndarray, gini: float | None) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, label="equal benefit per inhabitant")
    ax.plot(x, y, color="#b2182b", marker="o", markersize=2.5, linewidth=1.4, label="this portfolio")
    ax.fill_between(x, y, x, color="#b2182b", alpha=0.08)
    ax.set_xlabel("share of population (lowest benefit per inhabitant first)")
    ax.set_ylabel("share of benefit")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Lorenz curve" + ("" if gini is None else f" (Gini {gini:.3f})"))
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def tradeoff_svg(frame: pd.DataFrame, x: str, y: str, label: str | None) -> str:
    """A trade-off chart of a compare or sweep table: one point per row, joined in row order."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(frame[x], frame[y], color="#4575b4", marker="o", linewidth=1 if label is None else 0)
    if label is not None:
        for _, row in frame.iterrows():
            ax.annotate(str(row[label]), (row[x], row[y]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def _runs_section(path: Path, title: str) -> str:
    """compare.csv or sweep.csv (issue 5's outputs): the side-by-side table, the price of fairness
    in words, a trade-off chart, and the charts the run wrote next to it (lorenz.svg, sweep.svg)."""
    frame = _read_csv(path, ("scenario", "case", "status"))
    parts = [f"<section><h2>{_esc(title)}</h2>"]
    if path.name == "compare.csv":
        parts.append('<ul class="binding">' + "".join(f"<li>{_esc(s)}</li>" for s in fairness_prices(frame)) + "</ul>")
    parts.append('<div class="scroll">' + _table(frame, {"price_of_fairness": percent}) + "</div>")
    columns = list(frame.columns)
    swept = columns[columns.index("point") + 1:columns.index("status")] if {"point", "status"} <= set(columns) else []
    if {"investment_eur", "annual_abatement_t"} <= set(columns):
        solved = frame.dropna(subset=["investment_eur", "annual_abatement_t"])
        if len(solved) and len(swept) <= 1:
            x = swept[0] if swept else "investment_eur"
            label = "scenario" if path.name == "compare.csv" and "scenario" in columns else None
            parts.append(f'<figure class="chart">{tradeoff_svg(solved, x, "annual_abatement_t", label)}'
                         f"<figcaption>{_esc(title)}: abatement against {_esc(x)}.</figcaption></figure>")
    chart = path.parent / ("sweep.svg" if path.name == "sweep.csv" else "lorenz.svg")
    if chart.is_file():
        text = chart.read_text(encoding="utf-8")
        if "<svg" in text and "<script" not in text.lower():  # a chart measureopt drew; nothing else is inlined
            parts.append(f'<figure class="chart">{text[text.index("<svg"):]}<figcaption>{_esc(chart.name)}</figcaption></figure>')
    return "\n".join(parts) + "</section>"


def fairness_prices(frame: pd.DataFrame) -> list[str]:
    """The price of fairness of each scenario of compare.csv in words, against the reference (the
    first scenario with price 0): its loss in the reference's objective units and as a share."""
    if not {"scenario", "price_of_fairness", "reference_objective_value", "objective"} <= set(frame.columns):
        return []
    zero = frame[frame["price_of_fairness"] == 0]
    if zero.empty:
        return []
    reference = zero.iloc[0]
    objective = str(reference["objective"])
    sentences = []
    for _, row in frame.iterrows():
        if row["scenario"] == reference["scenario"] or pd.isna(row["price_of_fairness"]):
            continue
        loss = float(row["price_of_fairness"]) * abs(float(reference["reference_objective_value"]))
        sentences.append(f"{row['scenario']} {effect(-loss, objective)} against {reference['scenario']} "
                         f"({percent(row['price_of_fairness'])} of its objective).")
    return sentences


def case_of(results_dir: Path, summary: dict, case_dir: Path | None = None) -> Case | None:
    """The case a result came from, with the result's economics (for LCOA), or None if not found."""
    directory = case_dir or (summary.get("provenance") or {}).get("case_directory")
    if directory is None or not Path(directory).exists():
        if case_dir is not None:
            raise CaseError([Problem(str(case_dir), None, "-", "case not found")])
        return None
    economics = (summary.get("settings") or {}).get("economics")
    return load_case(Path(directory), None, [], [{"economics": economics}] if economics else [])


CSS = """
:root { --ink:#1a1a1a; --muted:#5f6b73; --line:#d9dee2; --accent:#1b7837; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       max-width: 1100px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; } h2 { font-size: 1.25rem; margin-top: 2rem;
     border-bottom: 2px solid var(--line); padding-bottom: .2rem; }
.muted { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: .6rem; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; }
.card b { display: block; font-size: 1.25rem; } .card span { color: var(--muted); font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f3f5f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
figure.chart { margin: .5rem 0; } figure.chart svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .85rem; }
ul.binding li { margin: .3rem 0; }
pre { background: #f6f8f9; padding: .6rem; overflow-x: auto; font-size: .8rem; }
.row { display: flex; gap: 1.5rem; flex-wrap: wrap; align-items: flex-start; } .row > * { flex: 1 1 320px; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; } figure, .card, tr { break-inside: avoid; }
  .scroll { overflow: visible; } thead { display: table-header-group; }
  @page { size: A4; margin: 15mm; }
}
"""


def _cards(summary: dict, selected: int) -> str:
    cards = [
        ("investment", f"EUR {number(summary.get('investment_eur'))}"),
        ("annual abatement", f"{number(summary.get('annual_abatement_t'))} tCO2/yr"),
        ("of baseline emissions", percent(summary.get("reduction_share"))),
        ("net annual cost (EAC)", f"EUR {number(summary.get('eac_eur'))}/yr"),
        ("cost per tonne", f"EUR {number(summary.get('cost_per_t'))}/t"),
        ("measures selected", f"{selected:,}"),
        ("benefit to vulnerable households", percent(summary.get("vulnerable_benefit_share"))),
        ("Gini of benefit per inhabitant", number(summary.get("gini"))),
        ("target met", {True: "yes", False: "no", None: "no target"}[summary.get("target_met")]),
    ]
    return '<div class="cards">' + "".join(f"<div class=\"card\"><b>{_esc(v)}</b><span>{_esc(k)}</span></div>" for k, v in cards) + "</div>"


def render(results_dir: str | Path, case_dir: str | Path | None = None) -> str:
    """The report of a result folder (or of a compare/sweep folder) as one HTML document."""
    folder = Path(results_dir)
    summary_path = folder / "summary.json"
    runs = [(folder / name, title) for name, title in (("compare.csv", "Scenarios side by side"), ("sweep.csv", "Sweep"))
            if (folder / name).is_file()]
    if not summary_path.is_file() and not runs:
        raise CaseError([Problem(str(folder), None, "-", "not a results folder: no summary.json, compare.csv or sweep.csv")])
    body: list[str] = []
    title = "measureopt report"
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CaseError([Problem(str(summary_path), None, "-", f"unreadable summary.json: {exc}")]) from None
        title = f"{summary.get('case', '')} – {summary.get('scenario', 'base')}"
        body += _result_sections(folder, summary, None if case_dir is None else Path(case_dir))
    if not summary_path.is_file():
        body.append(f"<h1>{_esc(runs[0][1])}: {_esc(folder.name)}</h1>")
    for path, section_title in runs:
        body.append(_runs_section(path, section_title))
    from . import __version__
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<footer class=\"muted\"><p>Made by measureopt {_esc(__version__)}.</p></footer></body></html>\n"
    )


def _result_sections(folder: Path, summary: dict, case_dir: Path | None) -> list[str]:
    objective = summary.get("objective") or {}
    head = [f"<h1>{_esc(summary.get('case'))}</h1>",
            f"<p class=\"muted\">scenario <b>{_esc(summary.get('scenario'))}</b> · status <b>{_esc(summary.get('status'))}</b>"
            f" · objective {_esc(objective.get('name'))} = {_esc(number(objective.get('value'), 6))}"
            + ("" if summary.get("mip_gap") is None else f" · gap {summary['mip_gap']:.1e}") + "</p>"]
    description = (summary.get("settings") or {}).get("description")
    if description:
        head.append(f"<p>{_esc(description)}</p>")
    if summary.get("status") == "infeasible" or not (folder / "portfolio.csv").is_file():
        explanation = summary.get("explanation") or []
        return head + ["<h2>No feasible portfolio</h2><ul>" + "".join(f"<li>{_esc(x)}</li>" for x in explanation) + "</ul>"]
    portfolio = _read_csv(folder / "portfolio.csv", ("measure", "municipality", "programme", "units"))
    munis = _read_csv(folder / "municipalities.csv", ("municipality",))
    case = case_of(folder, summary, case_dir)
    population = None
    if case is not None:
        munis.insert(1, "name", munis["municipality"].map(case.municipalities["name"]).fillna(""))
        portfolio.insert(1, "name", portfolio["measure"].map(case.measures.set_index("measure")["name"]).fillna(""))
        population = case.municipalities["population"]
    sections = head + [_cards(summary, len(portfolio))]
    # binding requirements
    sentences = shadow_sentences(summary, munis, population)
    sections.append("<section><h2>What limits the plan</h2>" + (
        "<ul class=\"binding\">" + "".join(f"<li>{_esc(s)}</li>" for s in sentences) + "</ul>"
        "<p class=\"muted\">Shadow prices are marginal: they hold for small changes that keep the same measures "
        "selected (the LP with the selection fixed); larger changes need a new run (compare, sweep).</p>"
        if sentences else "<p>No budget, target or justice rule binds.</p>") + "</section>")
    # portfolio by sector
    if len(portfolio):
        by_sector = (portfolio.groupby("sector", sort=True)
                     .agg(measures=("measure", "size"), investment_eur=("investment_eur", "sum"),
                          annual_abatement_t=("annual_abatement_t", "sum"), eac_eur=("eac_eur", "sum"))
                     .reset_index())
        by_sector["share_of_abatement"] = by_sector["annual_abatement_t"] / max(by_sector["annual_abatement_t"].sum(), 1e-300)
        sections.append("<section><h2>Portfolio by sector</h2>"
                        + _table(by_sector, {"share_of_abatement": percent})
                        + f'<figure class="chart">{sector_svg(by_sector)}</figure></section>')
    # MACC
    if case is not None:
        table = macc_table(case, set(portfolio["measure"]))
        chosen = int(table["selected"].sum())
        sections.append(
            "<section><h2>Marginal abatement cost curve</h2>"
            f'<figure class="chart">{macc_svg(table, "Selected and rejected measures", case.settings.currency)}'
            f"<figcaption>{chosen} of {len(table)} candidate measures selected (green). Bar height: levelised cost of "
            "abatement (EUR/tCO2, negative = saves money); width: abatement potential at maximum units.</figcaption></figure></section>")
    else:
        sections.append("<section><h2>Marginal abatement cost curve</h2><p class=\"muted\">The case directory of this "
                        "result was not found, so the rejected measures are unknown: run <code>measureopt report RESULTS_DIR "
                        "--case CASE</code>.</p></section>")
    # fairness
    metrics = pd.DataFrame({
        "metric": ["benefit to vulnerable households", "Gini of benefit per inhabitant",
                   "lowest benefit per inhabitant / average", "maxmin floor t*"],
        "value": [percent(summary.get("vulnerable_benefit_share")), number(summary.get("gini")),
                  number(summary.get("min_per_capita_ratio")), number(summary.get("maxmin_t"))],
    })
    rules = (summary.get("settings") or {}).get("justice") or {}
    rule_text = ", ".join(f"{k} = {v}" for k, v in rules.items() if v not in (None, False)) or "none"
    fairness = [_table(metrics), f"<p class=\"muted\">Justice settings: {_esc(rule_text)}.</p>"]
    if population is not None:
        x, y = lorenz_points(munis["benefit"].to_numpy(dtype=float), population.reindex(munis["municipality"]).to_numpy(dtype=float))
        fairness.insert(0, f'<figure class="chart">{lorenz_svg(x, y, summary.get("gini"))}</figure>')
    sections.append("<section><h2>Fairness</h2><div class=\"row\">" + "".join(f"<div>{p}</div>" for p in fairness) + "</div></section>")
    # tables
    sections.append("<section><h2>Municipalities</h2><div class=\"scroll\">" + _table(munis, {
        "reduction_share": percent, "vulnerable_benefit_share": percent, "budget_used_share": percent,
        "benefit_per_capita": lambda v: number(v, 4)}) + "</div></section>")
    sections.append("<section><h2>Selected measures</h2><div class=\"scroll\">" + _table(portfolio) + "</div></section>")
    settings_path = folder / "settings.yaml"
    if settings_path.is_file():
        sections.append("<section><h2>Settings of this run</h2><pre>" + _esc(settings_path.read_text(encoding="utf-8")) + "</pre></section>")
    return sections


def write_report(results_dir: str | Path, case_dir: str | Path | None = None) -> Path:
    """report.html in the result folder, written atomically (a temporary file renamed into place)."""
    folder = Path(results_dir)
    text = render(folder, case_dir)
    handle, temporary = tempfile.mkstemp(prefix=".report.", suffix=".html", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, folder / "report.html")
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return folder / "report.html"

