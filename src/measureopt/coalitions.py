"""Coalitions of municipalities and their least cost c(S), solved once per run and cached.

A coalition S is the case restricted to its members: their municipalities and measures, the
programmes those measures can be bought through (a programme runs only if its `min_members` are met
inside S, which the model's own programme rules enforce), the members' municipal budgets and the
cluster budgets of the clusters present. The total budget does not apply to c(S): it is the whole
region's cap, not any coalition's (README, "Sizing and cost allocation"). The case's target scope
is kept, restricted to the members: under the default `joint` scope S must meet its members'
combined requirement R_S = max(0, reduction * sum baseline - sum achieved).

c(S) is the least investment (objective `min_investment`, every other rule kept) and +inf when S
cannot meet its requirement. Solves run through `runner.run_tasks`; results are kept in memory for
the run and, optionally, on disk keyed by the case's input hash and the coalition.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .case import Case
from .engine import run_case
from .errors import CaseError, InfeasibleError, Problem, SolverError
from .formulation import required_reduction, target_scopes
from .results import provenance
from .runner import run_tasks
from .settings import Budget, Target, settings_dict

Coalition = frozenset  # of municipality ids


@dataclass(frozen=True)
class CoalitionCost:
    """c(S) and what lies behind it: status, abatement, and investment and benefit per member."""

    investment_eur: float  # +inf when infeasible
    status: str  # optimal | time_limit | infeasible
    annual_abatement_t: float = 0.0
    investment_by_municipality: dict = field(default_factory=dict)
    benefit_by_municipality: dict = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return math.isfinite(self.investment_eur)


def with_target(case: Case, reduction: float, scope: str | None = None, objective: str | None = None,
                total_eur: float | None | bool = False) -> Case:
    """The case with another target (and optionally objective and total budget; False keeps it)."""
    settings = case.settings
    scope = scope or (settings.target.scope if settings.target is not None else "joint")
    update: dict = {"target": Target(reduction=reduction, scope=scope)}
    if objective is not None:
        update["objective"] = objective
    if total_eur is not False:
        budget = settings.budget or Budget()
        update["budget"] = budget.model_copy(update={"total_eur": total_eur})
    return replace(case, settings=settings.model_copy(update=update))


def required_target(case: Case) -> float:
    """The case's target.reduction; allocation and cooperation need one (CaseError otherwise)."""
    if case.settings.target is None:
        raise CaseError([Problem("case.yaml", None, "target.reduction",
                                 "cost allocation needs a reduction target (set target.reduction, e.g. --set target.reduction=0.4)")])
    return case.settings.target.reduction


def coalition_case(case: Case, members: Iterable[str]) -> Case:
    """The case restricted to the municipalities in `members`, as a coalition solves it (see module doc)."""
    members = set(members)
    munis = case.municipalities[case.municipalities.index.isin(members)].copy()
    measures = case.measures[case.measures["municipality"].isin(members)].reset_index(drop=True)
    measures["m"] = munis.index.get_indexer(measures["municipality"])
    programmes = case.programmes[case.programmes.index.isin(measures["programme"].dropna())].copy()
    settings = case.settings
    budget = settings.budget
    if budget is not None:
        present = set(munis["cluster"].dropna())
        caps = {c: cap for c, cap in budget.cluster_eur.items() if c in present}
        budget = Budget(cluster_eur=caps) if caps else None
    settings = settings.model_copy(update={"budget": budget, "objective": "min_investment"})
    for frame in (munis, measures, programmes):
        frame.flags.allows_duplicate_labels = True
    return replace(case, settings=settings, municipalities=munis, measures=measures, programmes=programmes)


def solve_coalition(case: Case) -> CoalitionCost:
    """c(S) of a coalition case (from `coalition_case`): its verified least investment, or +inf."""
    if len(case.measures) == 0:  # nothing to buy: free if nothing is required, else out of reach
        codes, names = target_scopes(case)
        required = required_reduction(case, codes, len(names))
        return CoalitionCost(0.0, "optimal") if (required <= 0).all() else CoalitionCost(math.inf, "infeasible")
    try:
        result = run_case(case)
    except InfeasibleError:
        return CoalitionCost(math.inf, "infeasible")
    by_muni = result.verified.municipalities
    return CoalitionCost(
        result.verified.investment_eur, result.status.value, result.verified.annual_abatement_t,
        {str(m): float(v) for m, v in by_muni["investment_eur"].items()},
        {str(m): float(v) for m, v in by_muni["benefit"].items()},
    )


def case_hash(case: Case) -> str:
    """SHA-256 of the case's input files and merged settings: the key of the disk cache."""
    blob = json.dumps({"files": provenance(case)["inputs_sha256"], "settings": settings_dict(case.settings)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _label(coalition: Coalition) -> str:
    return "+".join(sorted(coalition))


def _cached(path: Path) -> dict[Coalition, CoalitionCost]:
    """The coalition costs stored at `path`; none when the file is missing or not in this version's
    format (an older measureopt's cache is solved again, then overwritten)."""
    if not path.exists():
        return {}
    try:
        found = {}
        for data in json.loads(path.read_text(encoding="utf-8")):
            members = frozenset(data.pop("members"))
            data["investment_eur"] = math.inf if data["investment_eur"] is None else data["investment_eur"]
            found[members] = CoalitionCost(**data)
        return found
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}


class CoalitionCosts(Mapping):
    """c(S) for coalitions of municipalities: solved in batches through the runner, each at most once.

    `solve(coalitions)` computes the missing ones in parallel; `self[S]` is c(S) in EUR. With
    `cache_dir`, results persist in `<cache_dir>/<case hash>.json` across runs.
    """

    def __init__(self, case: Case, *, cache_dir: Path | None = None, workers: int | None = None,
                 scheduler: str | None = None, progress: bool = True):
        required_target(case)
        self.case = case
        self.workers, self.scheduler, self.progress = workers, scheduler, progress
        self.results: dict[Coalition, CoalitionCost] = {frozenset(): CoalitionCost(0.0, "optimal")}
        self.solved = 0
        self.cache_file = None
        if cache_dir is not None:
            self.cache_file = Path(cache_dir) / f"{case_hash(case)}.json"
            self.results.update(_cached(self.cache_file))

    def solve(self, coalitions: Iterable[Coalition], label: str = "coalitions") -> None:
        """Compute c(S) for every coalition not known yet (one runner batch)."""
        missing = sorted({frozenset(s) for s in coalitions} - set(self.results), key=lambda s: (len(s), sorted(s)))
        if not missing:
            return
        tasks: list[tuple[Hashable, Case]] = [(s, coalition_case(self.case, s)) for s in missing]
        outcomes = run_tasks(solve_coalition, tasks, scheduler=self.scheduler, workers=self.workers,
                             progress=self.progress, label=label)
        failed = [o for o in outcomes if o.status == "failed"]
        for outcome in outcomes:
            if outcome.status == "done":
                self.results[outcome.key] = outcome.value
                self.solved += 1
        self._store()
        if any(o.status == "cancelled" for o in outcomes):
            raise KeyboardInterrupt
        if failed:
            raise SolverError(f"{len(failed)} coalition solve(s) failed, e.g. {_label(failed[0].key)}: {failed[0].error}")

    def _store(self) -> None:
        if self.cache_file is None:
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        data = [{"members": sorted(s), "investment_eur": r.investment_eur if r.feasible else None, "status": r.status,
                 "annual_abatement_t": r.annual_abatement_t, "investment_by_municipality": r.investment_by_municipality,
                 "benefit_by_municipality": r.benefit_by_municipality}
                for s, r in sorted(self.results.items(), key=lambda item: (len(item[0]), sorted(item[0]))) if s]
        staging = self.cache_file.with_suffix(".tmp")
        staging.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        staging.replace(self.cache_file)

    def __getitem__(self, coalition: Coalition) -> float:
        return self.results[frozenset(coalition)].investment_eur

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


def stand_alone_infeasible(costs: Mapping[Coalition, float], coalitions: Iterable[Coalition]) -> list[str]:
    """Labels of the coalitions among `coalitions` that cannot meet their requirement."""
    return [_label(s) for s in coalitions if not np.isfinite(costs[s])]
