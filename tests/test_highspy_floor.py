"""The direct-highspy floor of the benchmarks reaches the same optimum as measureopt's pipeline.

The floor is derived from the same arrays (it is a measuring stick, not a second model)."""
from __future__ import annotations

import highspy
import pytest

import measureopt as mo
from benchmarks.__main__ import floor_highs
from benchmarks.generate import generate_case
from measureopt.formulation import build


@pytest.mark.parametrize("justice", [None, {"vulnerable_share_min": 0.3}])
def test_direct_highspy_floor_matches_the_pipeline(tmp_path, justice):
    case = mo.load(generate_case(tmp_path / "case", 8, 20, seed=1, justice=justice))
    form = build(case)
    highs, _ = floor_highs(form)
    highs.setOptionValue("mip_rel_gap", 1e-9)
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    floor = highs.getInfo().objective_function_value * form.sense
    assert mo.solve(case).objective_value == pytest.approx(floor, rel=1e-6)
