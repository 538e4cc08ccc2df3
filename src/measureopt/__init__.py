"""measureopt: optimal, verified and fair portfolios of energy-transition measures."""
from .api import describe, load, parse_overrides, solve, write, write_infeasible_summary
from .api import alternatives, macc, report, template, write_alternatives, write_excel, write_macc
from .api import compare, sweep, write_comparison, write_sweep
from .api import allocate, coalition_costs, cooperation, size, write_allocation, write_sizing
from .case import Case
from .engine import Result
from .errors import CaseError, InfeasibleError, MeasureoptError, Problem, SolverError, VerificationError
from .results import Solution, Summary

__all__ = [
    "Case", "CaseError", "InfeasibleError", "MeasureoptError", "Problem", "Result", "Solution", "SolverError", "Summary",
    "VerificationError", "describe", "load", "parse_overrides", "solve", "write", "write_infeasible_summary",
    "alternatives", "macc", "report", "template", "write_alternatives", "write_excel", "write_macc",
    "compare", "sweep", "write_comparison", "write_sweep",
    "allocate", "coalition_costs", "cooperation", "size", "write_allocation", "write_sizing",
]
__version__ = "0.1.0"
