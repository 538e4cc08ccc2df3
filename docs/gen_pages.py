"""Pages generated at build time (mkdocs-gen-files) from the code and the shipped cases, so the
documentation cannot drift: getting started from the README, the case format from the validator's
schema, the model from formulation.py, and a worked example per case, solved as the docs build."""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))

import case_format  # noqa: E402 - the docs folder is not a package

import measureopt as mo  # noqa: E402
from measureopt import formulation  # noqa: E402


def readme_commands() -> str:
    """The README's first code block: the two commands that work on a fresh machine."""
    return re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S).group(1)


def _documented(function) -> str:
    """A function's name and its docstring (plain-text math, shown verbatim)."""
    return f"### `{function.__name__}`\n\n`measureopt.formulation.{function.__name__}`\n\n```text\n{inspect.getdoc(function)}\n```\n"


def model_page() -> str:
    """The derived quantities and every constraint family, each with the function that adds it."""
    functions = [f for _, f in inspect.getmembers(formulation, inspect.isfunction) if f.__module__ == formulation.__name__]
    functions.sort(key=lambda f: inspect.getsourcelines(f)[1])
    derived = [f for f in functions if f.__name__ in ("crf", "investment", "abatement", "net_cost", "benefit", "required_reduction")]
    families = [f for f in functions if "rows" in inspect.signature(f).parameters and not f.__name__.startswith("_")]
    lines = [(ROOT / "docs" / "parts" / "model-intro.md").read_text(encoding="utf-8"), "", "## Derived quantities", ""]
    lines += [_documented(f) for f in derived]
    lines += ["## Constraint families", "",
              "One function per family adds its rows; its docstring holds the math with the SPEC's symbols.", ""]
    lines += [_documented(f) for f in families]
    lines += ["## Objectives", "", _documented(formulation.objective_vector),
              "## Gini cap at scale", "", _documented(formulation.gini_cut)]
    return "\n".join(lines)


def example_page(case_dir: Path) -> str:
    """A shipped case: its README, its scenarios and the base solve's headline figures."""
    text = (case_dir / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"\[([^\]]+)\]\((?!https?://)([^)]+)\)", r"\1 (`\2`)", text)  # links outside the docs as text
    case = mo.load(case_dir)
    summary = mo.solve(case).summary
    scenarios = list(case.source.get("scenarios") or {})
    lines = [text.rstrip(), "", "## Run it", "", "```bash", f"measureopt validate cases/{case_dir.name}",
             f"measureopt solve cases/{case_dir.name}"]
    lines += [f"measureopt solve cases/{case_dir.name} --scenario {s}" for s in scenarios]
    lines += ["```", "", "## What the base run gives", "",
              "Solved while this page was built (the figures come from the independent verification):", "",
              "| figure | value |", "|---|---|"]
    for name, value in (("status", summary.status), ("objective", f"{summary.objective_name} = {summary.objective_value:,.2f}"),
                        ("investment", f"EUR {summary.investment_eur:,.0f}"), ("abatement", f"{summary.annual_abatement_t:,.1f} t/yr"),
                        ("reduction share", f"{summary.reduction_share:.1%}"), ("target met", summary.target_met),
                        ("vulnerable benefit share", f"{summary.vulnerable_benefit_share:.1%}"),
                        ("Gini of per-capita benefit", f"{summary.gini:.3f}"), ("variables / constraints", f"{summary.variables:,} / {summary.constraints:,}")):
        lines.append(f"| {name} | {value} |")
    return "\n".join(lines) + "\n"


GUIDE_SECTIONS = ("Comparing scenarios and sweeps", "Sizing and cost allocation", "Multi-year plans",
                  "What planners show a council", "What measureopt guarantees", "Decisions where the SPEC is silent")


def guide_page() -> str:
    """The README's sections on each command family and its decisions, as one page."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", readme, flags=re.M)[1:]
    chosen = [f"## {text.rstrip()}" for text in sections if text.startswith(GUIDE_SECTIONS)]
    missing = [title for title in GUIDE_SECTIONS if not any(text.startswith(title) for text in sections)]
    if missing:
        raise RuntimeError(f"README sections missing for the docs: {missing}")
    body = re.sub(r"\[([^\]]+)\]\((?!https?://)([^)]+)\)", r"\1 (`\2`)", "\n\n".join(chosen))
    return ("# Guide: commands and decisions\n\nWhat each command family does, what it writes, and the decisions "
            "taken where the SPEC is silent (the same text as the README).\n\n" + body + "\n")


with mkdocs_gen_files.open("guide.md", "w") as page:
    page.write(guide_page())
with mkdocs_gen_files.open("index.md", "w") as page:
    page.write((ROOT / "docs" / "parts" / "index-intro.md").read_text(encoding="utf-8").replace("{{commands}}", readme_commands().rstrip()))
with mkdocs_gen_files.open("case-format.md", "w") as page:
    page.write(case_format.page())
with mkdocs_gen_files.open("model.md", "w") as page:
    page.write(model_page())
for case_dir in sorted((ROOT / "cases").iterdir()):
    if (case_dir / "case.yaml").is_file():
        with mkdocs_gen_files.open(f"examples/{case_dir.name}.md", "w") as page:
            page.write(example_page(case_dir))
