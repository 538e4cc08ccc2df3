"""measureopt's answer to a tiny case compared with brute-force enumeration's (`bruteforce.py`).

Kept apart from the reference itself, which reads the case files and shares nothing with measureopt.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import measureopt as mo
from tests.reference.bruteforce import solve_case


def solved(case_dir) -> tuple[str, float | None]:
    """measureopt's status and objective; an infeasible case must come with its explanation."""
    try:
        result = mo.solve(mo.load(case_dir))
    except mo.InfeasibleError as error:
        assert error.explanation and error.explanation[0].startswith("the case is infeasible")
        return "infeasible", None
    return "optimal", result.objective_value


def enumerated(case_dir) -> dict | None:
    """Brute force's answer (`bruteforce.solve_case`), or None when the case has too many
    portfolios to enumerate."""
    try:
        return solve_case(case_dir)
    except ValueError:
        return None


def feasible_cases(write, seeds) -> Iterator[tuple[int, Path, dict]]:
    """(seed, case folder, brute force's answer) of every case `write(seed)` writes that brute force
    can enumerate and finds feasible."""
    for seed in seeds:
        directory = write(seed)
        reference = enumerated(directory)
        if reference is not None and reference["status"] != "infeasible":
            yield seed, directory, reference


def agree(case_dir) -> str:
    """Assert that measureopt and brute force give the same status and optimum (1e-7); the status,
    or "skipped" when the case has too many portfolios to enumerate."""
    reference = enumerated(case_dir)
    if reference is None:
        return "skipped"
    status, value = solved(case_dir)
    assert status == reference["status"], (status, reference)
    if value is not None:
        assert value == pytest.approx(reference["objective"], rel=1e-7, abs=1e-7)
    return status
