"""Case settings: the schema of case.yaml, its defaults, and the layering of SPEC 2.

Settings are deep-merged in this order, later wins: case.yaml base -> `--model` presets (in the
order given) -> the chosen scenario -> `--set key.path=value` options.
"""
from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import CaseError, Problem

OBJECTIVES = (
    "max_abatement",
    "max_cumulative_abatement",
    "min_investment",
    "min_net_cost",
    "max_weighted_benefit",
)
TABLE_FILES = {"municipalities": "municipalities.csv", "measures": "measures.csv", "programmes": "programmes.csv"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tables(_Section):
    """Where the data tables are, relative to the case directory (`.csv`, or `.xlsx` with `sheet=`)."""

    municipalities: str = TABLE_FILES["municipalities"]
    measures: str = TABLE_FILES["measures"]
    programmes: str = TABLE_FILES["programmes"]


class Economics(_Section):
    """Appraisal: real discount rate r and the horizon for programme admin costs."""

    discount_rate: float = Field(0.04, ge=0, lt=1, description="real discount rate r, 0 <= r < 1")
    horizon_years: float = Field(20, gt=0, description="appraisal period for programme admin costs")


class Budget(_Section):
    """Caps on investment: the whole case and each cluster (EUR)."""

    total_eur: float | None = Field(None, ge=0, description="cap on total investment I")
    cluster_eur: dict[str, float] = Field(default_factory=dict, description="cap per cluster id")

    @field_validator("cluster_eur")
    @classmethod
    def _non_negative(cls, caps: dict[str, float]) -> dict[str, float]:
        for cluster, cap in caps.items():
            if cap < 0:
                raise ValueError(f"cap of cluster {cluster} must be >= 0 (got {cap})")
        return caps


class Target(_Section):
    """Emission-reduction target: a share of baseline emissions over a scope."""

    reduction: float = Field(..., ge=0, le=1, description="share of baseline emissions to abate")
    scope: Literal["joint", "cluster", "each"] = "joint"


class Justice(_Section):
    """Social-justice rules on the benefit of the portfolio (SPEC 4.3)."""

    benefit: Literal["abatement", "investment", "bill_savings", "households"] = "abatement"
    vulnerable_share_min: float | None = Field(None, ge=0, le=1)
    population_floor: float | None = Field(None, ge=0, le=1)
    gini_max: float | None = Field(None, ge=0, le=1)
    maxmin: bool = False
    maxmin_tolerance: float = Field(0.0, ge=0, le=1)


class Weights(_Section):
    """Weights of objective max_weighted_benefit: vulnerable bonus lambda and equity elasticity eta."""

    vulnerable_bonus: float = Field(1.0, ge=0)
    equity_elasticity: float = Field(1.3, ge=0)


class Periods(_Section):
    """Multi-year plan: years, annual budgets and interim reduction targets.

    `budget_eur` caps the investment of a year (with `carry_over`, the investment up to a year
    is capped by the budgets up to that year: unspent money stays available);
    `cluster_budget_eur` caps a cluster's investment of a year ({cluster: {year: cap}});
    `trajectory` is an interim reduction share (of baseline emissions, over the target's scope)
    to reach by a year. Per-year municipal caps are columns `budget_eur_<year>` of
    municipalities.csv.
    """

    years: list[int] = Field(..., min_length=1)
    budget_eur: dict[int, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    carry_over: bool = Field(False, description="unspent budget_eur of a year stays available in later years")
    cluster_budget_eur: dict[str, dict[int, Annotated[float, Field(ge=0)]]] = Field(default_factory=dict)
    trajectory: dict[int, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)

    @field_validator("years")
    @classmethod
    def _increasing(cls, years: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(years, years[1:])):
            raise ValueError("years must be strictly increasing")
        return years


class SolverOptions(_Section):
    """Options handed to HiGHS."""

    mip_gap: float = Field(0.001, ge=0, description="relative MIP gap")
    time_limit_s: float = Field(600, gt=0)
    threads: int | None = Field(None, ge=1)
    seed: int = Field(0, ge=0)


class Settings(_Section):
    """The merged settings of one run (case.yaml + presets + scenario + --set)."""

    name: str
    description: str | None = None
    currency: str = "EUR"
    baseline_year: int | None = None
    target_year: int | None = None
    tables: Tables = Field(default_factory=Tables)
    economics: Economics = Field(default_factory=Economics)
    objective: Literal[OBJECTIVES] = "max_abatement"  # type: ignore[valid-type]
    budget: Budget | None = None
    target: Target | None = None
    justice: Justice = Field(default_factory=Justice)
    weights: Weights = Field(default_factory=Weights)
    periods: Periods | None = None
    solver: SolverOptions = Field(default_factory=SolverOptions)
    scenarios: dict[str, dict[str, Any]] = Field(default_factory=dict)


def deep_merge(base: dict, override: dict) -> dict:
    """A new dict: `override` merged into `base`, nested mappings merged key by key."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def parse_scalar(text: str) -> Any:
    """A `--set` value read as a YAML scalar; `1e-9` (text in YAML 1.1) is read as a number."""
    value = yaml.safe_load(text) if text.strip() else None
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    return value


def parse_assignment(option: str) -> dict:
    """`key.path=value` as the nested dict it overrides."""
    key, sep, text = option.partition("=")
    if not sep or not key.strip():
        raise CaseError([Problem("--set", None, option, "expected key.path=value")])
    nested: dict = {}
    node = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = parse_scalar(text)
    return nested


_TEXT_SETTINGS = frozenset({"name", "description", "currency", "tables"})


def _coerce_numbers(node: Any, top: bool = False) -> Any:
    """Numbers spelled like `1e-9` (text to YAML 1.1) turned into floats, recursively.

    Text settings (`name: "2030"`, table paths) stay text.
    """
    if isinstance(node, dict):
        return {k: (v if top and k in _TEXT_SETTINGS else _coerce_numbers(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_coerce_numbers(v) for v in node]
    if isinstance(node, str) and _FLOAT.match(node.strip()):
        return float(node)
    return node


class _LineLoader(yaml.SafeLoader):
    """Safe YAML loader that remembers the line of every mapping key."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = _LineDict()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


class _LineDict(dict):
    """A dict that also knows the source line of each key."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> dict:
    """A YAML mapping read safely, with key lines remembered; errors name file and line."""
    label = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise CaseError([Problem(label, None, "-", "file not found", str(path))]) from None
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(label, None, "-", f"not valid UTF-8 at byte {exc.start}")]) from None
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise CaseError([Problem(label, line, "-", f"YAML syntax error: {reason}")]) from None
    if data is None:
        data = _LineDict()
    if not isinstance(data, dict):
        raise CaseError([Problem(label, 1, "-", "must be a mapping of settings", type(data).__name__)])
    return data


def _child(node: Any, key: Any) -> tuple[bool, Any, Any]:
    """(found, the key as the mapping spells it, value): YAML keys may be ints where loc has text."""
    if not isinstance(node, dict):
        return False, key, None
    for candidate in (key, str(key), int(key) if isinstance(key, str) and key.lstrip("-").isdigit() else None):
        if candidate is not None and candidate in node:
            return True, candidate, node[candidate]
    return False, key, None


def _match(source: Any, loc: tuple) -> tuple[int, int | None]:
    """How many leading keys of `loc` the mapping holds, and the line of the deepest one."""
    depth, line, node = 0, None, source
    for key in loc:
        found, spelled, value = _child(node, key)
        if not found:
            break
        line = getattr(node, "lines", {}).get(spelled, line)
        depth, node = depth + 1, value
    return depth, line


def _line_of(source: dict, loc: tuple) -> int | None:
    """The line of the deepest key of `loc` that the source YAML has."""
    return _match(source, loc)[1]


class SettingLayer(NamedTuple):
    """One layer of the merged settings: where it was written, its mapping, and the key path prefix
    under which its keys sit in that file (`scenarios.NAME.` for a scenario)."""

    label: str
    mapping: dict
    prefix: str = ""


def locate(loc: tuple, layers: list[SettingLayer]) -> tuple[str, int | None, str]:
    """(file, line, key path) of the setting `loc`: the highest layer that sets it; when no layer
    holds it all (a required key left out), the layer holding most of its path."""
    best: tuple[int, SettingLayer, int | None] | None = None
    for lay in reversed(layers):  # later layers win
        depth, line = _match(lay.mapping, loc)
        if depth == len(loc):
            best = (depth, lay, line)
            break
        if best is None or depth > best[0]:
            best = (depth, lay, line)
    path = ".".join(str(k) for k in loc)
    if best is None:
        return "case.yaml", None, path
    _, lay, line = best
    if line is None and lay.label == "case.yaml" and not lay.prefix:
        line = 1  # a top-level key left out: the file as a whole
    return lay.label, line, lay.prefix + path


def is_set(loc: tuple, layers: list[SettingLayer]) -> bool:
    """Whether some layer spells out the setting `loc` (as opposed to taking its default)."""
    return any(_match(lay.mapping, loc)[0] == len(loc) for lay in layers)


def setting_layers(
    base: dict,
    presets: list[Path] = (),  # type: ignore[assignment]
    scenario: str | None = None,
    overrides: list[dict] = (),  # type: ignore[assignment]
) -> list[SettingLayer]:
    """The layers of SPEC 2 in merge order, each with where its keys are written."""
    layers = [SettingLayer("case.yaml", base)]
    layers += [SettingLayer(Path(preset).name, read_yaml(Path(preset))) for preset in presets]
    if scenario is not None:
        scenarios = base.get("scenarios")
        chosen = scenarios.get(scenario) if isinstance(scenarios, dict) else None
        if isinstance(chosen, dict):
            layers.append(SettingLayer("case.yaml", chosen, f"scenarios.{scenario}."))
    layers += [SettingLayer("--set", override) for override in overrides]
    return layers


def _known_keys(loc: tuple) -> list[str]:
    """The keys the schema accepts at the mapping holding `loc[-1]`."""
    model: Any = Settings
    for key in loc[:-1]:
        field = model.model_fields.get(key) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        model = field.annotation
        for candidate in getattr(model, "__args__", ()):  # Optional[Section]
            if hasattr(candidate, "model_fields"):
                model = candidate
    return list(model.model_fields) if hasattr(model, "model_fields") else []


def validate_settings(merged: dict, source: dict, label: str = "case.yaml",
                      layers: list[SettingLayer] | None = None) -> Settings:
    """The merged settings checked against the schema; every problem reported at once, each at
    the file and line of the layer that set it (case.yaml, a scenario, a preset or --set)."""
    layers = layers or [SettingLayer(label, source)]
    try:
        return Settings.model_validate(_coerce_numbers(merged, top=True))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(k for k in err["loc"] if k != "[key]")
            where, line, path = locate(loc, layers)
            if err["type"] == "extra_forbidden":
                hint = difflib.get_close_matches(str(loc[-1]), _known_keys(loc), n=1)
                message = "unknown setting" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                problems.append(Problem(where, line, path, message))
            else:
                value = err.get("input")
                shown = None if isinstance(value, (dict, list)) or err["type"] == "missing" else value
                problems.append(Problem(where, line, path, err["msg"], shown))
        raise CaseError(problems) from None


def layer(
    base: dict,
    presets: list[Path] = (),  # type: ignore[assignment]
    scenario: str | None = None,
    overrides: list[dict] = (),  # type: ignore[assignment]
) -> Settings:
    """Settings of one run: case.yaml base, then presets, the scenario and `--set` overrides."""
    layers = setting_layers(base, presets, scenario, overrides)
    if scenario is not None:
        scenarios = base.get("scenarios") or {}
        if not isinstance(scenarios, dict) or scenario not in scenarios:
            known_names = list(scenarios) if isinstance(scenarios, dict) else []
            hint = difflib.get_close_matches(scenario, known_names, n=1)
            message = "no such scenario" + (f" (did you mean '{hint[0]}'?)" if hint else "")
            known = ", ".join(known_names) or "none defined"
            raise CaseError([Problem("case.yaml", _line_of(base, ("scenarios",)), "scenarios", f"{message}; known: {known}", scenario)])
        if not isinstance(scenarios[scenario] or {}, dict):
            raise CaseError([Problem("case.yaml", _line_of(base, ("scenarios", scenario)), f"scenarios.{scenario}",
                                     "a scenario must be a mapping of settings", scenarios[scenario])])
    merged: dict = {}
    for lay in layers:
        merged = deep_merge(merged, lay.mapping)
    return validate_settings(merged, base, layers=layers)


def settings_dict(settings: Settings) -> dict:
    """The settings as plain JSON-ready data, for summary.json and settings.yaml."""
    return settings.model_dump(mode="json")
