"""Hand-computed values of the derived quantities of SPEC 4.2 and the result figures."""
from __future__ import annotations

import numpy as np
import pytest

from measureopt.formulation import crf
from measureopt.verify import population_gini


def test_crf_hand_values():
    # 0.04 * 1.04^20 / (1.04^20 - 1) = 0.0735817...
    assert crf(0.04, 20) == pytest.approx(0.07358175032862885, rel=1e-12)
    assert crf(0.0, 25) == pytest.approx(1 / 25)
    assert crf(0.10, 1) == pytest.approx(1.10)
    np.testing.assert_allclose(crf(0.03, [10, 30]), [0.11723050660515318, 0.05101925932025256], rtol=1e-12)


def test_gini_hand_values():
    # two equal municipalities, one gets everything: sum|pop_n B_m - pop_m B_n| / (P B) = 100*10 / (200*10)
    assert population_gini(np.array([10.0, 0.0]), np.array([100.0, 100.0])) == pytest.approx(0.5)
    # equal per-capita benefit: 0
    assert population_gini(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(0.0, abs=1e-15)
    # pops 1,1,2 benefits 0,1,3: pairs |1*0-1*1|=1, |2*0-1*3|=3, |2*1-1*3|=1 -> 5 / (4*4)
    assert population_gini(np.array([0.0, 1.0, 3.0]), np.array([1.0, 1.0, 2.0])) == pytest.approx(5 / 16)
    assert population_gini(np.zeros(3), np.ones(3)) is None


def test_gini_equals_pairwise_definition():
    rng = np.random.default_rng(3)
    benefit, pop = rng.uniform(0, 10, 30), rng.uniform(1, 100, 30)
    pairs = sum(abs(pop[n] * benefit[m] - pop[m] * benefit[n]) for m in range(30) for n in range(m + 1, 30))
    assert population_gini(benefit, pop) == pytest.approx(pairs / (pop.sum() * benefit.sum()), rel=1e-12)
