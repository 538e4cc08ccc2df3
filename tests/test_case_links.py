"""`Case.links`: the measures' references as positions, checked against plain dictionary lookups."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import measureopt as mo
from tests.conftest import CASES, EXAMPLE_CASES


def _expected(case):
    """Positions and groups looked up row by row, with Python dictionaries."""
    mt = case.measures
    row_of = {measure: row for row, measure in enumerate(mt["measure"])}
    programme_row = {programme: row for row, programme in enumerate(case.programmes.index)}
    group_number: dict = {}
    group = [-1 if g is None else group_number.setdefault(g, len(group_number)) for g in mt["group"]]
    return {
        "requires": [-1 if r is None else row_of[r] for r in mt["requires"]],
        "group": group,
        "group_ids": list(group_number),
        "programme": [-1 if p is None else programme_row[p] for p in mt["programme"]],
        "committed": [s == "committed" for s in mt["status"]],
        "excluded": [s == "excluded" for s in mt["status"]],
    }


@pytest.mark.parametrize("name", EXAMPLE_CASES)
def test_links_of_the_example_cases_match_row_by_row_lookups(name):
    case = mo.load(CASES / name)
    links = case.links
    for field, expected in _expected(case).items():
        assert list(getattr(links, field)) == expected, field
    assert (links.requires >= 0).any() and (links.group >= 0).any(), "the examples exercise prerequisites and groups"


def test_links_follow_a_case_whose_tables_are_replaced():
    """A sub-case (e.g. the core of relaxation.py) resolves its own positions, never its parent's."""
    case = mo.load(CASES / "rural-cluster")
    assert case.links is case.links  # resolved once
    keep = np.arange(len(case.measures))[::-1]  # every measure, in reverse order: every position moves
    measures = case.measures.iloc[keep].reset_index(drop=True)
    sub = replace(case, measures=measures)
    for field, expected in _expected(sub).items():
        assert list(getattr(sub.links, field)) == expected, field
    assert list(sub.links.requires) != list(case.links.requires)
