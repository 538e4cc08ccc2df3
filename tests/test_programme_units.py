"""Units bought through a programme: where the objective does not price them, a member municipality
buys all units of its measures in a running programme through it (`engine.portfolio_from`)."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import measureopt as mo

# found by an independent audit of SPEC 4 (957 random tiny cases): HiGHS bought 0.495 of 05016-X2's one
# unit through P1, the rest at full price, for the same abatement
CASE_YAML = """name: audit case 62
currency: EUR
baseline_year: 2015
target_year: 2030
economics:
  discount_rate: 0.03
objective: max_abatement
budget:
  total_eur: 339160.95
  cluster_eur:
    south: 160974.5
justice:
  benefit: households
  maxmin: true
"""
MUNICIPALITIES = """municipality,name,cluster,country,population,households,vulnerable_households,baseline_emissions_t,achieved_t,budget_eur,income_index
M1,Town M1,north,ES,6106,2434,,187.35,,,
05016,Town 05016,south,ES,4522,2227,,92.96,5.11,97937.82,1.38
007,Town 007,south,ES,19836,7496,,97.28,7.5,,1.32
"""
MEASURES = """measure,municipality,name,sector,unit,max_units,min_units,integer,capex_eur,fixed_capex_eur,opex_eur,bill_savings_eur,energy_savings_mwh,renewable_mwh,co2_reduction_t,lifetime_years,households_served,vulnerable_share,group,requires,earliest_year,status,programme
M1-X1,M1,"Measure, 1",residential,unit,2.0,,false,21441.46,,-301.79,,,,14.059,25,5.7,,G03,,,,
05016-X2,05016,"Measure, 2",tertiary,unit,1,,true,75781.29,,,,32.85,,5.271,15,7.7,0.941,,,,,P1
007-X3,007,"Measure, 3",public_lighting,unit,2,2,true,45949.12,5885.4,,3819.94,39.11,,14.465,5,1.4,,,,,,P1
M1-X4,M1,"Measure, 4",other,unit,3,,,56901.69,,1438.27,2082.13,8.2,,21.471,10,2.7,,G03,,,committed,P2
007-X5,007,"Measure, 5",local_electricity,unit,,1,true,36009.85,,,5171.16,37.09,,30.475,15,,,,,,committed,P2
M1-X6,M1,"Measure, 6",residential,unit,2,,,61090.52,,,,,,28.6,25,4.6,,G03,,,,
05016-X7,05016,"Measure, 7",local_heat,unit,3,2,TRUE,11117.15,,244.39,,9.66,,11.929,25,2.6,,,05016-X2,,committed,P1
"""
PROGRAMMES = """programme,name,cluster,min_members,admin_cost_eur,capex_discount
P1,Prog 1,south,1,,0.158
P2,Prog 2,,,21002.88,
"""


def _write(directory, **tables):
    directory.mkdir()
    for name, text in tables.items():
        (directory / name).write_text(text)
    return directory


def test_a_member_buys_every_unit_through_the_programme(tmp_path):
    case = mo.load(_write(tmp_path / "c", **{"case.yaml": CASE_YAML, "municipalities.csv": MUNICIPALITIES,
                                              "measures.csv": MEASURES, "programmes.csv": PROGRAMMES}))
    result = mo.solve(case)
    mt = case.measures.set_index("measure")
    units = dict(zip(mt.index, result.portfolio.units))
    through = dict(zip(mt.index, result.portfolio.programme_units))
    assert ("05016", "P1") in result.portfolio.members and "P1" in result.portfolio.running
    assert units["05016-X2"] == through["05016-X2"] == 1  # not 0.495 of it
    assert units["05016-X7"] == through["05016-X7"] == 3
    # 05016's investment by hand: P1's units at 1 - 0.158 of capex, no fixed capex
    assert abs(result.verified.municipalities.loc["05016", "investment_eur"]
               - (1 - 0.158) * (75781.29 * 1 + 11117.15 * 3)) < 1e-6


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10_000),
       objective=st.sampled_from(["max_abatement", "max_weighted_benefit", "min_investment", "min_net_cost"]))
def test_members_buy_all_their_units_through_a_running_programme(seed, objective, tiny_case):
    """For every objective (cost objectives price the discount, so the solver buys all units through
    it already), each unit of a member's measure in its running programme is bought through it."""
    case = mo.load(tiny_case(seed, programmes=True, objective=objective))
    try:
        result = mo.solve(case)
    except mo.InfeasibleError:
        assume(False)
    mt = case.measures
    members = result.portfolio.members
    in_member = np.array([(m, p) in members for m, p in zip(mt["municipality"], mt["programme"])], bool)
    units, through = result.portfolio.units, result.portfolio.programme_units
    assert np.allclose(through[in_member], units[in_member], rtol=0, atol=1e-6)
    assert np.all(through[~in_member] == 0)
    assert not result.verified.violations
