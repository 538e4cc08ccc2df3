"""measureopt's answer to a tiny case compared with brute-force enumeration's (`bruteforce.py`).

Kept apart from the reference itself, which reads the case files and shares nothing with measureopt.
"""
from __future__ import annotations

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


def agree(case_dir) -> str:
    """Assert that measureopt and brute force give the same status and optimum (1e-7); the status,
    or "skipped" when the case has too many portfolios to enumerate."""
    try:
        reference = solve_case(case_dir)
    except ValueError:
        return "skipped"
    status, value = solved(case_dir)
    assert status == reference["status"], (status, reference)
    if value is not None:
        assert value == pytest.approx(reference["objective"], rel=1e-7, abs=1e-7)
    return status
