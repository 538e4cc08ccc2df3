"""Multi-year plans: the solver's optimum equals brute-force enumeration of every portfolio and
every implementation year (tests/reference/periods_bruteforce.py), on tiny 2-3 year cases.

Each objective and each time-indexed constraint family is forced on in its own group of cases;
for a constraint family the reference must also show that the family changes the optimum of at
least one case, so a family that the model ignored could not pass.
"""
from __future__ import annotations

import pytest

import measureopt as mo
from tests.reference.periods_bruteforce import solve_case
from tests.reference.tiny_cases import write_tiny_case
from tests.reference.tiny_periods import add_periods

SEEDS = range(6)
OBJECTIVES = ["max_cumulative_abatement", "max_abatement", "min_investment", "min_net_cost", "max_weighted_benefit"]

#: family: (tiny-case knobs, period knobs with the family on, period knobs with it off[, seeds])
FAMILIES = {
    "annual_budget": ({}, {"annual_budget": True}, {"annual_budget": False}),
    "carry_over": ({}, {"carry_over": True}, {"annual_budget": True}),
    "trajectory_joint": ({"target_scope": None}, {"trajectory": True}, {"trajectory": False}),
    "trajectory_each": ({"target_scope": "each"}, {"trajectory": True}, {"trajectory": False}, (0, 8, 9, 10, 12)),
    "trajectory_cluster": ({"target_scope": "cluster"}, {"trajectory": True}, {"trajectory": False}, (0, 3, 6, 7, 9)),
    "earliest_year": ({}, {"earliest": True, "annual_budget": True}, {"earliest": False, "annual_budget": True}),
    "requires_in_time": ({"requires": True}, {"earliest": True, "annual_budget": True}, {"earliest": False, "annual_budget": True}),
    "municipal_years": ({"municipal_budgets": False}, {"municipal_years": True}, {"municipal_years": False}),
    "cluster_years": ({"clusters": True}, {"cluster_years": True}, {"cluster_years": False}),
    "programmes": ({"programmes": True}, {"annual_budget": True}, {"annual_budget": False}),
}


def _write(tmp_path, seed, case_knobs, period_knobs, objective):
    directory = write_tiny_case(tmp_path / f"{seed}-{len(list(tmp_path.iterdir()))}", seed, n_measures=5, **case_knobs)
    return add_periods(directory, seed, objective=objective, **period_knobs)


def _ours(case_dir) -> tuple[str, float | None, mo.Result | None]:
    try:
        result = mo.solve(mo.load(case_dir))
    except mo.InfeasibleError:
        return "infeasible", None, None
    return "optimal", result.objective_value, result


def _agree(case_dir) -> dict:
    reference = solve_case(case_dir)
    status, value, result = _ours(case_dir)
    assert status == reference["status"], (case_dir, status, reference)
    if value is not None:
        assert value == pytest.approx(reference["objective"], rel=1e-7, abs=1e-7), case_dir
        years = result.verified.measures["year"]
        assert (years.notna() == result.verified.measures["selected"]).all()
    return reference


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_each_objective_agrees(objective, tmp_path):
    knobs = {"annual_budget": True, "trajectory": True, "earliest": True}
    outcomes = [_agree(_write(tmp_path, seed, {"requires": True}, knobs, objective))["status"] for seed in SEEDS]
    assert outcomes.count("optimal") >= 2, outcomes


@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_constraint_family_agrees_and_matters(family, tmp_path):
    case_knobs, on, off, *seeds = FAMILIES[family]
    outcomes, mattered = [], False
    for seed in seeds[0] if seeds else SEEDS:
        objective = OBJECTIVES[seed % 2]  # cumulative and target-year abatement: budgets and timing bind
        with_family = _agree(_write(tmp_path, seed, case_knobs, on, objective))
        outcomes.append(with_family["status"])
        if not mattered:
            without = solve_case(_write(tmp_path, seed, case_knobs, off, objective))
            mattered = (without["status"], without["objective"]) != (with_family["status"], with_family["objective"])
    assert outcomes.count("optimal") >= 2, outcomes
    assert mattered, f"{family} never changed the optimum: the cases do not test it"


@pytest.mark.parametrize(("seed", "objective"), [(69, "max_weighted_benefit"), (228, "min_net_cost")])
def test_a_feasible_plan_is_never_called_infeasible(seed, objective, tmp_path):
    """Two random plans (of 600 run against brute force) that HiGHS 1.15.1's MIP presolve called
    infeasible although doing nothing is feasible in both; an infeasible verdict of a presolved
    MIP is therefore confirmed without presolve (solver.solve)."""
    _agree(add_periods(write_tiny_case(tmp_path / "case", seed, n_measures=5), seed, objective=objective))


def test_an_infeasible_verdict_on_a_feasible_plan_is_a_solver_fault(tmp_path):
    """Had a wrong infeasible verdict reached the explanation (as HiGHS 1.15.1's presolve made it on
    seed 69), its elastic re-solve finds that no requirement needs to give way: that is reported as
    a solver fault (exit 4), not as an infeasible case with an empty list of conflicts (exit 3)."""
    from measureopt.engine import solver_settings
    from measureopt.errors import SolverError
    from measureopt.formulation import build
    from measureopt.infeasibility import explain

    case = mo.load(add_periods(write_tiny_case(tmp_path / "case", 69, n_measures=5), 69, objective="max_weighted_benefit"))
    with pytest.raises(SolverError, match="none needs to give way"):
        explain(build(case), solver_settings(case))
