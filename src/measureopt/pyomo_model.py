"""The same formulation handed to Pyomo (kernel `matrix_constraint` over the CSR arrays).

`formulation.build` is the single source of truth; this adapter exists so that the model can be
inspected, extended or solved with any Pyomo solver, and so that benchmarks can measure what the
Pyomo path costs against handing the arrays to highspy directly (the path `measureopt solve` runs).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import highspy
import numpy as np
import pyomo.kernel as pmo

from .formulation import Formulation


def to_pyomo(form: Formulation) -> pmo.block:
    """A Pyomo kernel block: variables x, rows `constraints` (A x within bounds), `objective`."""
    model = pmo.block()
    domains = np.where(form.integrality, pmo.IntegerSet, pmo.RealSet)
    model.x = pmo.variable_list(
        pmo.variable(domain_type=domain, lb=float(lower), ub=None if np.isinf(upper) else float(upper))
        for domain, lower, upper in zip(domains, form.col_lower, form.col_upper)
    )
    model.constraints = pmo.matrix_constraint(form.matrix, lb=form.row_lower, ub=form.row_upper, x=model.x)
    costs = np.flatnonzero(form.objective)
    model.objective = pmo.objective(
        pmo.expression(sum(float(form.objective[j]) * model.x[j] for j in costs)),
        sense=pmo.minimize if form.sense > 0 else pmo.maximize,
    )
    return model


def solve_with_pyomo(form: Formulation, mip_gap: float = 1e-6) -> float:
    """Objective value of the Pyomo model, written by Pyomo as an LP file and solved by HiGHS."""
    model = to_pyomo(form)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.lp"
        model.write(str(path), format="lp")
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("mip_rel_gap", mip_gap)
        highs.readModel(str(path))
        highs.run()
        return float(highs.getInfo().objective_function_value)
