"""Hand-computed values of the derived quantities of SPEC 4.2 and the result figures."""
from __future__ import annotations

import numpy as np
import pytest

from measureopt.formulation import crf
from measureopt.verify import population_gini
from tests.conftest import CASES


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


def test_verify_names_every_broken_programme_rule():
    """Hand-made portfolio of region-44 that breaks each programme rule once (SPEC 4.3)."""
    import measureopt as mo
    from measureopt.verify import Portfolio, verify

    case = mo.load(CASES / "region-44")
    mt, munis = case.measures, case.municipalities
    outside = munis.index[munis["cluster"] != "monferrato"][0]
    led = mt.index[(mt["programme"] == "LED-JP")][0]
    led_town = mt.at[led, "municipality"]
    units = np.zeros(len(mt))
    selected = np.zeros(len(mt), bool)
    through = np.zeros(len(mt))
    units[led], selected[led], through[led] = 1.0, True, 1.0  # bought through LED-JP without taking part
    members = frozenset({(outside, "PV-MONF"), (led_town, "PV-MONF")})  # PV-MONF does not run; no PV selected
    problems = "\n".join(verify(case, Portfolio(units, selected, through, frozenset(), members), None).violations)
    assert f"municipality {outside} takes part in programme PV-MONF, which does not run" in problems
    assert f"municipality {outside} takes part in programme PV-MONF without selecting any of its measures" in problems
    assert f"municipality {outside} takes part in programme PV-MONF of another cluster" in problems
    assert f"measure {mt.at[led, 'measure']}: bought through a programme its municipality does not take part in" in problems
