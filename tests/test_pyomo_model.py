"""The Pyomo path builds the same model from the same arrays and reaches the same optimum."""
from __future__ import annotations

import pytest

import measureopt as mo
from measureopt.formulation import build
from measureopt.pyomo_model import solve_with_pyomo, to_pyomo
from tests.conftest import CASES


@pytest.mark.parametrize("scenario", [None, "justice40", "fair-floor"])
def test_pyomo_path_reaches_the_same_optimum(scenario):
    case = mo.load(CASES / "rural-cluster", scenario=scenario)
    value = solve_with_pyomo(build(case))
    assert value == pytest.approx(mo.solve(case).objective_value, rel=1e-6)


def test_pyomo_model_has_the_formulation_shape(tiny_case):
    form = build(mo.load(tiny_case(4, programmes=True)))
    model = to_pyomo(form)
    assert len(model.x) == form.shape[1] and len(model.constraints) == form.shape[0]
