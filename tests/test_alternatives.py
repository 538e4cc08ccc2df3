"""Near-optimal alternatives against the brute-force reference: every portfolio feasible and within
the slack (checked by independent enumeration), pairwise different, and each one the most diverse
portfolio left; plus the membership table and the command line."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import measureopt as mo
from measureopt.cli import main
from tests.conftest import CASES
from tests.reference import bruteforce as bf

SLACK = 0.1


def enumerate_within_slack(case_dir, slack: float):
    """(optimum, every feasible portfolio within the slack as (units, selection, objective)), by brute force."""
    case = bf.load_case(case_dir)
    name = case.setting("objective")
    if name not in bf.OBJECTIVE_SENSE or bf.count_portfolios(case) > bf.MAX_PORTFOLIOS:
        return None
    scopes = None
    if case.setting("target.reduction") is not None:
        scopes = [(members, bf.required_reduction(case, members)) for members in bf.target_scopes(case)]
    candidates = [f for f in (bf.evaluate(case, pf) for pf in bf.portfolios(case)) if bf.feasible(case, f, scopes)]
    if not candidates:
        return None
    if case.setting("justice.maxmin", False):
        t_star = max(bf.per_capita_min(case, f.municipal_benefit) for f in candidates)
        bound = t_star * (1.0 - float(case.setting("justice.maxmin_tolerance", 0.0)))
        candidates = [f for f in candidates if bf.maxmin_ok(case, f, bound)]
    sense = bf.OBJECTIVE_SENSE[name]
    values = [bf.objective_value(case, f) for f in candidates]
    best = max(values) if sense == "max" else min(values)
    allowed = slack * abs(best)
    tol = 1e-7 * max(1.0, abs(best))
    within = [(f.portfolio.units, frozenset(i for i, u in enumerate(f.portfolio.units) if u > 0), v)
              for f, v in zip(candidates, values)
              if (v >= best - allowed - tol if sense == "max" else v <= best + allowed + tol)]
    return best, within


def diversity(selection: frozenset, used: set) -> int:
    return len(selection - used) - len(selection & used)


JUSTICE = [None, {"maxmin": True}, {"gini_max": 0.3}, {"vulnerable_share_min": 0.3, "population_floor": 0.5}]


@pytest.mark.parametrize("seed", range(12))
def test_alternatives_match_brute_force(seed, tiny_case):
    justice = JUSTICE[seed % len(JUSTICE)]
    case_dir = tiny_case(seed, n_measures=5) if justice is None else tiny_case(seed, n_measures=5, justice=justice)
    reference = enumerate_within_slack(case_dir, SLACK)
    if reference is None:
        pytest.skip("infeasible or outside the reference's scope")
    best, within = reference
    found = mo.alternatives(mo.load(case_dir), count=3, slack=SLACK)
    assert found.optimum == pytest.approx(best, rel=1e-6, abs=1e-6)
    membership = found.membership
    units_within = {u for u, _, _ in within}
    selections, used = [], set()
    for p in found.portfolios:
        units = tuple(int(round(u)) for u in membership[p.name].fillna(0))
        selection = frozenset(np.flatnonzero(np.array(units) > 0))
        assert units in units_within  # feasible and within the slack, by independent enumeration
        assert any(u == units and v == pytest.approx(p.objective_value, rel=1e-6, abs=1e-6) for u, _, v in within)
        if p.name != "optimum":  # the most diverse portfolio left
            left = [s for _, s, _ in within if s not in selections]
            assert diversity(selection, used) == max(diversity(s, used) for s in left)
        assert selection not in selections  # pairwise different
        selections.append(selection)
        used |= selection
    if len(found.portfolios) < 4:  # fewer than asked: nothing else differs within the slack
        assert not [s for _, s, _ in within if s not in selections]
        assert found.notes


def test_membership_roles_and_files(tmp_path):
    done = CliRunner().invoke(main, ["alternatives", str(CASES / "rural-cluster"), "-s", "justice40", "--count", "2",
                                     "--slack", "0.05", "--out", str(tmp_path / "alt")])
    assert done.exit_code == 0, done.output
    summary = pd.read_csv(tmp_path / "alt" / "alternatives.csv")
    membership = pd.read_csv(tmp_path / "alt" / "membership.csv", dtype={"measure": str})
    assert summary["portfolio"].tolist() == ["optimum", "alternative-1", "alternative-2"]
    assert (summary["below_optimum_share"] <= 0.05 + 1e-9).all() and summary["below_optimum_share"].iloc[0] == 0
    chosen = membership[["optimum", "alternative-1", "alternative-2"]].notna()
    expected = np.select([chosen.all(axis=1), chosen.any(axis=1)], ["must-have", "real choice"], "never chosen")
    assert membership["role"].tolist() == expected.tolist()
    assert (membership["in_portfolios"] == chosen.sum(axis=1)).all()
    assert summary["measures"].tolist() == chosen.sum().tolist()
    assert "must-haves:" in done.output and "real choices:" in done.output
    committed = mo.load(CASES / "rural-cluster").measures.query("status == 'committed'")["measure"]
    assert set(committed) <= set(membership.loc[membership["role"] == "must-have", "measure"])


def test_zero_slack_alternatives_are_alternative_optima(tiny_case):
    case_dir = tiny_case(0, n_measures=5)  # 16 different optimal selections
    reference = enumerate_within_slack(case_dir, 0.0)
    found = mo.alternatives(mo.load(case_dir), count=5, slack=0.0)
    assert len(found.portfolios) == min(6, len({s for _, s, _ in reference[1]}))
    assert all(p.objective_value == pytest.approx(found.optimum, rel=1e-6, abs=1e-6) for p in found.portfolios)


@pytest.mark.parametrize(("option", "value"), [("--count", "0"), ("--slack", "1.5")])
def test_bad_count_or_slack_is_exit_2(option, value):
    done = CliRunner().invoke(main, ["alternatives", str(CASES / "rural-cluster"), option, value])
    assert done.exit_code == 2


def test_alternatives_help_has_an_example():
    done = CliRunner().invoke(main, ["alternatives", "--help"])
    assert done.exit_code == 0 and "Example: measureopt alternatives" in done.output
