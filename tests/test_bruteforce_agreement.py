"""The solver's optimum equals brute-force enumeration of every portfolio (tests/reference).

Each constraint family and each objective is forced on in its own group of cases, so a wrong
family cannot hide behind cases that never use it.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.reference.agreement import agree
from tests.reference.tiny_cases import tiny_case_params, write_tiny_case

FAMILIES = {
    "plain": {},
    "max_abatement": {"objective": "max_abatement", "budget_total": True},
    "min_investment": {"objective": "min_investment", "target_scope": "joint"},
    "min_net_cost": {"objective": "min_net_cost", "target_scope": "joint"},
    "weighted": {"objective": "max_weighted_benefit", "weights": {"vulnerable_bonus": 2.0, "equity_elasticity": 1.3}},
    "target_cluster": {"target_scope": "cluster"},
    "target_each": {"target_scope": "each"},
    "cluster_budget": {"cluster_budget": True, "clusters": True},
    "municipal_budgets": {"municipal_budgets": True},
    "programmes": {"programmes": True, "budget_total": True},
    "groups_requires": {"groups": True, "requires": True},
    "statuses": {"statuses": True},
    "vulnerable_share": {"justice": {"vulnerable_share_min": 0.35}},
    "vulnerable_share_investment": {"justice": {"vulnerable_share_min": 0.3, "benefit": "investment"}},
    "population_floor": {"justice": {"population_floor": 0.5}},
    "population_floor_households": {"justice": {"population_floor": 0.6, "benefit": "households"}},
    "gini": {"justice": {"gini_max": 0.3}},
    "gini_bill_savings": {"justice": {"gini_max": 0.4, "benefit": "bill_savings"}},
    "maxmin": {"justice": {"maxmin": True}},
    "maxmin_tolerance": {"justice": {"maxmin": True, "maxmin_tolerance": 0.2}, "objective": "min_net_cost"},
    "numeric_ids": {"numeric_ids": True, "programmes": True},
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_optimum_equals_brute_force(family, tmp_path):
    outcomes = [agree(write_tiny_case(tmp_path / str(seed), seed, **FAMILIES[family])) for seed in range(8)]
    assert outcomes.count("optimal") >= 2, f"{family}: too few feasible cases to test anything: {outcomes}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=tiny_case_params())
def test_random_cases_agree(params, tmp_path_factory):
    seed, knobs = params
    agree(write_tiny_case(tmp_path_factory.mktemp("case"), seed, **knobs))


@pytest.mark.parametrize("benefit", ["abatement", "households", "investment"])
def test_gini_cuts_agree_with_brute_force(benefit, tmp_path, monkeypatch):
    """Large cases enforce the Gini cap by ordering cuts; force them on tiny cases."""
    from measureopt import formulation

    monkeypatch.setattr(formulation, "GINI_PAIRWISE_MAX", 0)
    outcomes = [agree(write_tiny_case(tmp_path / str(seed), seed, justice={"gini_max": 0.25, "benefit": benefit}))
                for seed in range(10)]
    assert outcomes.count("optimal") >= 2, outcomes
