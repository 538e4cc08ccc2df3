"""The case-format page, generated from the validator's own schema so that it cannot drift:
the table columns of `measureopt.case` and the pydantic settings of `measureopt.settings`."""
from __future__ import annotations

import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from measureopt.case import MEASURE_COLUMNS, MUNICIPALITY_COLUMNS, PROGRAMME_COLUMNS, Column
from measureopt.settings import Settings

TABLES = {"municipalities": MUNICIPALITY_COLUMNS, "measures": MEASURE_COLUMNS, "programmes": PROGRAMME_COLUMNS}
_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "at least n items:"))


def _column_rule(col: Column) -> str:
    rules = []
    if col.minimum is not None:
        rules.append(f"{'>' if col.strict_min else '>='} {col.minimum:g}")
    if col.maximum is not None:
        rules.append(f"<= {col.maximum:g}")
    if col.choices:
        rules.append("one of " + ", ".join(f"`{c}`" for c in col.choices))
    return "; ".join(rules)


def _default(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "blank"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def table_markdown(name: str) -> str:
    """One table's columns: unit, required or default, rule and meaning."""
    lines = ["| column | unit | required (default) | rule | meaning |", "|---|---|---|---|---|"]
    for col in TABLES[name]:
        required = "yes" if col.required else f"no ({_default(col.default)})"
        lines.append(f"| `{col.name}` | {col.unit} | {required} | {_column_rule(col)} | {col.meaning} |")
    return "\n".join(lines)


def _submodel(annotation: object) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _type_name(annotation: object) -> str:
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")
    return text.replace("|", "\\|")


def setting_rows(model: type[BaseModel] = Settings, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key path, type, default, rule and meaning) for every setting case.yaml accepts."""
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        section = _submodel(field.annotation)
        if section is not None:
            rows.append((path, "section", "absent" if field.default is None else "defaults below", (section.__doc__ or "").strip().split("\n")[0]))
            rows += setting_rows(section, path + ".")
            continue
        kind = typing.get_args(field.annotation) if typing.get_origin(field.annotation) is typing.Literal else None
        type_text = " \\| ".join(f"`{k}`" for k in kind) if kind else _type_name(field.annotation)
        if field.default is PydanticUndefined and field.default_factory is None:
            default = "required"
        else:
            default = _default(field.get_default(call_default_factory=True))
        bounds = [f"{sign} {value}" for meta in field.metadata for attr, sign in _BOUNDS if (value := getattr(meta, attr, None)) is not None]
        rule = "; ".join(filter(None, [", ".join(bounds), field.description or ""]))
        rows.append((path, type_text, default, rule))
    return rows


def settings_markdown() -> str:
    """Every setting of case.yaml as a table."""
    lines = ["| setting | type | default | rule and meaning |", "|---|---|---|---|"]
    lines += [f"| `{path}` | {kind} | {default} | {rule} |" for path, kind, default, rule in setting_rows()]
    return "\n".join(lines)


def page() -> str:
    """The whole case-format page."""
    parts = [
        "# Case format",
        "",
        "A case is a directory with `case.yaml` (settings) and the tables `municipalities.csv`, "
        "`measures.csv` and, optionally, `programmes.csv` (CSV per RFC 4180, UTF-8; or sheets of an "
        "`.xlsx` workbook named in `tables:` with `sheet=`). A blank cell means \"not given\" and takes "
        "the column's default; ids are always text (`05016` stays `05016`). Unknown columns and "
        "unknown settings are errors, with a \"did you mean\" hint.",
        "",
        "This page is generated from the validator's own schema (`measureopt.case` columns and "
        "`measureopt.settings.Settings`), so it lists exactly what the validator accepts.",
        "",
        "## case.yaml settings",
        "",
        "Settings are layered, later wins: `case.yaml` → `--model` presets → `--scenario` → `--set key.path=value`.",
        "",
        settings_markdown(),
    ]
    for name in TABLES:
        parts += ["", f"## {name}.csv", "", table_markdown(name)]
    return "\n".join(parts) + "\n"
