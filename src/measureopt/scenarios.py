"""`compare`: several scenarios of one case solved side by side, with the price of fairness.

Each scenario is solved exactly as `solve` would solve it alone (same layering, same engine), as
a task of the parallel runner. The price of fairness (PoF) of a scenario is the relative loss of
the reference scenario's objective when the scenario's portfolio is chosen instead of the
reference's own optimum:

    PoF_s = (O_ref(P_ref) - O_ref(P_s)) / |O_ref(P_ref)|   for a maximised reference objective
    PoF_s = (O_ref(P_s) - O_ref(P_ref)) / |O_ref(P_ref)|   for a minimised one

where O_ref(P) is portfolio P valued by the reference's objective (recomputed from the tables by
the verification). A loss is positive for either sense; the reference's own PoF is 0. Valuing
every portfolio by the reference's objective keeps scenarios with another objective (e.g.
`max_weighted_benefit`) comparable.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .case import Case, load_case
from .engine import Result, objective_value, run_case
from .equity import fairness_metrics, lorenz_chart, lorenz_table
from .errors import CaseError, Problem
from .results import atomic_folder, summary, write_csv
from .runner import run_tasks
from .verify import verify

#: The name of the run with no scenario applied (case.yaml as it is).
BASE = "base"
#: KPI columns of compare.csv and sweep.csv, in order (SPEC 6 names, then extra fairness metrics).
KPI_COLUMNS = [
    "status", "objective", "sense", "objective_value", "mip_gap", "investment_eur", "annual_abatement_t",
    "reduction_share", "eac_eur", "cost_per_t", "vulnerable_benefit_share", "gini", "min_per_capita_ratio",
    "max_per_capita_ratio", "bottom_40_benefit_share", "population_without_benefit_share", "target_met",
]


#: The KPI columns holding text or booleans; every other one is a number (NaN where undefined).
TEXT_KPIS = {"status", "objective", "sense", "target_met"}


def typed(table: pd.DataFrame) -> pd.DataFrame:
    """KPI columns as floats (blank where a run failed or a figure is undefined)."""
    numbers = [c for c in KPI_COLUMNS if c not in TEXT_KPIS and c in table]
    return table.astype({c: float for c in numbers})


@dataclass(frozen=True)
class Setup:
    """How to load one run of a case: its scenario (None: the base case), presets and overrides."""

    case_dir: str
    scenario: str | None = None
    models: tuple[str, ...] = ()
    overrides: tuple[dict, ...] = ()

    def load(self) -> Case:
        return load_case(self.case_dir, self.scenario, [Path(m) for m in self.models], list(self.overrides))


@dataclass(frozen=True)
class ScenarioRun:
    """What solving one scenario gives back from a worker: its KPIs, its portfolio valued by the
    reference's objective, and its per-municipality figures."""

    kpis: dict
    reference_value: float
    municipalities: pd.DataFrame
    lorenz: pd.DataFrame


@dataclass(frozen=True)
class Comparison:
    """compare's tables: one row per scenario, who gains and loses, and the Lorenz curves."""

    table: pd.DataFrame
    gains: pd.DataFrame
    lorenz: pd.DataFrame
    reference: str
    benefit: str = "abatement"  # the case's justice.benefit, for chart labels
    cancelled: int = 0


def kpis(result: Result) -> dict:
    """The KPI row of a solved run: the figures of summary.json plus the fairness metrics."""
    s = summary(result, None)
    row = {key: s[key] for key in KPI_COLUMNS if key in s}
    row.update(objective=s["objective"]["name"], sense=s["objective"]["sense"], objective_value=s["objective"]["value"])
    row.update({key: value for key, value in fairness_metrics(result).items() if key not in row})
    return {key: row[key] for key in KPI_COLUMNS}


def reference_value(result: Result, reference: Case) -> float:
    """The result's portfolio valued by the reference case's objective (recomputed from the tables)."""
    if result.case.settings == reference.settings:
        return result.objective_value
    verified = verify(reference, result.portfolio)
    return objective_value(reference, reference.settings.objective, verified)


def price_of_fairness(value: float | None, reference: float | None, sense: str) -> float | None:
    """Relative loss of the reference objective, positive when the scenario does worse (see module)."""
    if value is None or reference is None or not np.isfinite(value) or reference == 0:
        return None
    loss = reference - value if sense == "max" else value - reference
    return loss / abs(reference)


def solve_scenario(task: tuple[Setup, Setup]) -> ScenarioRun:
    """Solve one scenario (a runner task: (its setup, the reference's setup))."""
    setup, reference = task
    result = run_case(setup.load())
    munis = result.case.municipalities
    v = result.verified.municipalities
    per_municipality = pd.DataFrame({
        "municipality": munis.index.to_numpy(dtype=object),
        "investment_eur": v["investment_eur"].to_numpy(dtype=float),
        "annual_abatement_t": v["annual_abatement_t"].to_numpy(dtype=float),
        "benefit_per_capita": (v["benefit"] / munis["population"]).to_numpy(dtype=float),
    })
    return ScenarioRun(kpis(result), reference_value(result, reference.load()), per_municipality, lorenz_table(result))


def scenario_names(case: Case, scenarios: list[str], every: bool) -> list[str]:
    """The runs to compare: the ones named, or with `every` the base case and every scenario of
    case.yaml; `base` names the case without a scenario unless case.yaml defines one so named."""
    known = list(case.source.get("scenarios") or {})
    names = ([BASE] + [s for s in known if s != BASE]) if every else list(scenarios)
    problems = []
    if every and scenarios:
        problems.append(Problem("--all", None, "scenario", "give --scenario names or --all, not both"))
    if not names:
        problems.append(Problem("--scenario", None, "scenario", "name at least one scenario, or use --all"))
    if len(set(names)) != len(names):
        problems.append(Problem("--scenario", None, "scenario", "a scenario is named twice", ", ".join(names)))
    for name in names:
        if name != BASE and name not in known:
            problems.append(Problem("--scenario", None, "scenario", f"no such scenario; known: {', '.join(known) or 'none'}", name))
    if problems:
        raise CaseError(problems)
    return names


def compare(case_dir: str | Path, scenarios: list[str] = (), every: bool = False, models: list[Path] = (),
            overrides: list[dict] = (), reference: str | None = None, scheduler: str | None = None,
            workers: int | None = None, progress: bool = True) -> Comparison:
    """Solve each scenario (in parallel) and put them side by side against the reference (default:
    the first). Invalid names or settings raise CaseError before anything is solved; a scenario
    that fails (infeasible, no solution in time) is a row with its status and the others go on."""
    base = Setup(str(Path(case_dir).resolve()), None, tuple(str(Path(m).resolve()) for m in models), tuple(overrides))
    case = base.load()
    names = scenario_names(case, list(scenarios), every)
    reference = reference or names[0]
    if reference not in names:
        raise CaseError([Problem("--reference", None, "reference", f"not among the compared scenarios ({', '.join(names)})", reference)])
    defined = case.source.get("scenarios") or {}
    setups = {name: Setup(base.case_dir, None if name == BASE and name not in defined else name, base.models, base.overrides)
              for name in names}
    for setup in setups.values():
        setup.load()  # every scenario valid before any is solved
    tasks = [(name, (setups[name], setups[reference])) for name in names]
    outcomes = run_tasks(solve_scenario, tasks, scheduler=scheduler, workers=workers, progress=progress, label="scenarios")
    return _comparison(outcomes, reference, case.settings.justice.benefit)


def _comparison(outcomes, reference: str, benefit: str) -> Comparison:
    finished = [o for o in outcomes if o.status != "cancelled"]
    runs = {o.key: o.value for o in finished if o.status == "done"}
    ref_run = runs.get(reference)
    rows = []
    for outcome in finished:
        run = runs.get(outcome.key)
        row = {"scenario": outcome.key, **(run.kpis if run else {c: None for c in KPI_COLUMNS})}
        if run is None:
            row["status"] = outcome.error.split(":", 1)[0]
        row["reference_objective_value"] = run.reference_value if run else None
        row["price_of_fairness"] = (price_of_fairness(run.reference_value, ref_run.kpis["objective_value"], ref_run.kpis["sense"])
                                    if run and ref_run else None)
        row["error"] = outcome.error or ""
        rows.append(row)
    table = typed(pd.DataFrame(rows, columns=["scenario", *KPI_COLUMNS, "reference_objective_value", "price_of_fairness", "error"]))
    table = table.astype({"reference_objective_value": float, "price_of_fairness": float})
    return Comparison(table, gains_and_losses(runs, reference), _lorenz(runs), reference, benefit,
                      cancelled=sum(o.status == "cancelled" for o in outcomes))


def gains_and_losses(runs: dict[str, ScenarioRun], reference: str) -> pd.DataFrame:
    """Per municipality and scenario: abatement, investment and per-capita benefit, and their
    change against the reference (positive = the municipality gains); empty without a reference."""
    if reference not in runs:
        return pd.DataFrame(columns=["scenario", "municipality"])
    base = runs[reference].municipalities
    frames = []
    for name, run in runs.items():
        mine = run.municipalities
        frames.append(pd.DataFrame({
            "scenario": name,
            "municipality": mine["municipality"],
            "annual_abatement_t": mine["annual_abatement_t"],
            "abatement_change_t": mine["annual_abatement_t"] - base["annual_abatement_t"],
            "investment_eur": mine["investment_eur"],
            "investment_change_eur": mine["investment_eur"] - base["investment_eur"],
            "benefit_per_capita": mine["benefit_per_capita"],
            "benefit_per_capita_change": mine["benefit_per_capita"] - base["benefit_per_capita"],
        }))
    return pd.concat(frames, ignore_index=True)


def _lorenz(runs: dict[str, ScenarioRun]) -> pd.DataFrame:
    if not runs:
        return pd.DataFrame(columns=["scenario"])
    return pd.concat([run.lorenz.assign(scenario=name)[["scenario", *run.lorenz.columns]] for name, run in runs.items()],
                     ignore_index=True)


SIDE_BY_SIDE = [
    ("status", "status", "{}"), ("objective_value", "objective", "{:,.4g}"), ("price_of_fairness", "price of fairness", "{:.2%}"),
    ("investment_eur", "investment EUR", "{:,.0f}"), ("annual_abatement_t", "abatement t/yr", "{:,.1f}"),
    ("reduction_share", "reduction share", "{:.1%}"), ("eac_eur", "EAC EUR/yr", "{:,.0f}"), ("cost_per_t", "EUR per t", "{:,.1f}"),
    ("vulnerable_benefit_share", "vulnerable benefit share", "{:.1%}"), ("gini", "Gini", "{:.3f}"),
    ("min_per_capita_ratio", "min per-capita ratio", "{:.3f}"), ("target_met", "target met", "{}"),
]


def _cell(value, pattern: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return pattern.format(value)


def side_by_side(comparison: Comparison) -> pd.DataFrame:
    """The KPIs as rows and the scenarios as columns, formatted for reading."""
    table = comparison.table
    data = {row["scenario"]: [_cell(row[key], pattern) for key, _, pattern in SIDE_BY_SIDE] for _, row in table.iterrows()}
    frame = pd.DataFrame(data, index=[label for _, label, _ in SIDE_BY_SIDE])
    frame.index.name = f"reference: {comparison.reference}"
    return frame


def markdown(frame: pd.DataFrame) -> str:
    """A frame as a GitHub markdown table (index as the first column)."""
    header = [frame.index.name or "", *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, row in frame.iterrows():
        lines.append("| " + " | ".join([str(label), *(str(v).replace("|", "\\|") for v in row)]) + " |")
    return "\n".join(lines) + "\n"


def write_comparison(comparison: Comparison, out: str | Path) -> Path:
    """compare.csv, compare.md, gains_losses.csv, lorenz.csv and the Lorenz chart, atomically."""
    with atomic_folder(Path(out)) as staging:
        write_csv(comparison.table, staging / "compare.csv")
        note = ("\nPrice of fairness: relative loss of the reference's objective when the scenario's portfolio is chosen "
                "instead (positive = a loss, for maximised and minimised objectives alike).\n")
        (staging / "compare.md").write_text(markdown(side_by_side(comparison)) + note, encoding="utf-8")
        write_csv(comparison.gains, staging / "gains_losses.csv")
        write_csv(comparison.lorenz, staging / "lorenz.csv")
        curves = {name: group for name, group in comparison.lorenz.groupby("scenario", sort=False)} if len(comparison.lorenz) else {}
        lorenz_chart(curves, staging / "lorenz", comparison.benefit)
    return Path(out)


def exit_code(statuses: pd.Series) -> int:
    """The exit code of many runs: 0 when at least one solved, 3 when every run was infeasible,
    4 when none solved for another reason (SPEC 5)."""
    if statuses.isin(["optimal", "time_limit"]).any():
        return 0
    return 3 if len(statuses) and (statuses == "infeasible").all() else 4


def compare_headline(comparison: Comparison, out: Path) -> str:
    """What `compare` prints: the side-by-side table and where the files are."""
    return f"{side_by_side(comparison).to_string()}\n\nresults written to {out}"
