"""Handing a formulation to HiGHS (highspy) and reading its answer back.

Statuses are mapped once, here. The solve runs in HiGHS's own thread so that Ctrl-C and our
watchdog can call `cancelSolve()`: HiGHS's own time limit is not always honoured on large models,
and some of its phases do not heed a cancel either; a solve that outlives the cancel by
ABANDON_AFTER_S is left running in its thread and reported from what its callbacks saw
(`left_running`; the command line then ends its process with `os._exit`).
"""
from __future__ import annotations

import enum
import os
import sys
import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
import scipy.sparse as sp

from .errors import SolverError
from .formulation import Formulation

#: Models with at most this many integer columns are solved to a 1e-6 relative gap whatever
#: solver.mip_gap says: it costs milliseconds and makes small results exact (mip_gap is a cap).
#: Once solver.mip_gap is met, that search gets what a larger model's polish gets (below): a
#: 25 x 15 three-year plan met it in 5 s and then spent its whole 600 s on the last 7e-6.
SMALL_MODEL_INTEGERS = 2_000
SMALL_MODEL_GAP = 1e-6
#: A larger model's optimum within solver.mip_gap is polished (`polished`): HiGHS runs again from
#: it to SMALL_MODEL_GAP, in at most max(POLISH_MIN_S, POLISH_TIMES x the first run's seconds) of
#: the time left. At 100-400 municipalities x 40-50 measures the first run stopped 1e-4 to 2e-4
#: short of the optimum (0.9-6.4 s) and the polish closed it in 3.6-15 s.
POLISH_MIN_S = 20.0
POLISH_TIMES = 2.0
#: Above this many columns (of the model HiGHS is given, fixed columns taken out) HiGHS's MIP
#: presolve is switched off: at 1,000 x 50 it takes 52 of 63 s (13 s without it, same optimum), at
#: 8,000 x 50 it did not finish in 10 minutes and cannot be cancelled while it runs.
PRESOLVE_MAX_COLUMNS = 50_000
#: Seconds given to HiGHS beyond time_limit_s before the watchdog cancels the solve.
WATCHDOG_GRACE_S = 10.0
#: Seconds HiGHS has to stop once cancelled before the solve is left running in its thread: a
#: 35,000 x 50 justice run was still in RENS 12 minutes after its 600 s limit (HiGHS heeds a cancel
#: only between the steps of its simplex and branch-and-bound, not inside presolve or a long step).
ABANDON_AFTER_S = 30.0
#: Seconds for the LP with integers fixed that gives shadow prices (`fixed_integer_duals`)
DUALS_TIME_LIMIT_S = 60.0
#: HiGHS instances left running (kept referenced: freeing one under its thread would crash)
_LEFT_RUNNING: list = []


class Ending(enum.Enum):
    """How a solve's thread ended: by itself, cancelled by the watchdog, or left running."""

    FINISHED = "finished"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"


def left_running() -> int:
    """How many solves of this process were left running in their threads and still run (highspy
    runs one at a time: once none runs, all have ended). Python must not finalise while one runs
    (a solver thread calling back into it while it shuts down aborts the process): end with
    `os._exit` once the results are written, as the command line does."""
    if _LEFT_RUNNING and not _LEFT_RUNNING[0].is_solver_running():
        _LEFT_RUNNING.clear()
    return len(_LEFT_RUNNING)


def exit_if_left_running(code: int) -> None:
    """End the process at once with `code`, its output flushed, if a solve is left running
    (`left_running`): what a program does once its results are written."""
    if left_running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Status(str, enum.Enum):
    """Outcome of a solve, as written in summary.json."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"
    INTERRUPTED = "interrupted"
    NO_SOLUTION = "no_solution"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.TIME_LIMIT)


@dataclass(frozen=True)
class SolveResult:
    """What HiGHS returned: status, column values, objective (in the model's own sense), gap."""

    status: Status
    x: np.ndarray | None
    objective: float | None
    mip_gap: float | None
    dual_bound: float | None
    seconds: float
    highs_status: str
    trajectory: tuple = ()  # (seconds, primal bound, dual bound, gap) as the MIP went on
    note: str | None = None  # how the answer was found, when not by this one solve


@dataclass(frozen=True)
class SolverSettings:
    """How to run HiGHS: gap, time limit, threads, seed and log output."""

    mip_gap: float = 1e-3
    time_limit_s: float = 600.0
    threads: int | None = None
    seed: int = 0
    verbose: bool = False

    def after(self, seconds: float) -> "SolverSettings":
        """These settings with what is left of the time limit once `seconds` are spent (1 s at least)."""
        return replace(self, time_limit_s=max(1.0, self.time_limit_s - seconds))


#: Smallest |coefficient| HiGHS keeps (its default, 1e-9, would drop a 1-EUR cost from a row whose
#: largest entry, scaled to 1, is 1e10 EUR); HiGHS allows down to 1e-12.
SMALL_MATRIX_VALUE = 1e-12


def scaling_report(form: Formulation) -> dict:
    """The row scaling of `Formulation.row_scale` in numbers: rows scaled, the factors' range (powers of two) and
    the range of |coefficients| before and after, as the verbose log prints it."""
    scale = form.row_scale
    before = np.abs(form.matrix.data)
    after = np.abs(form.scaled_values)
    nonzero = before > 0

    def span(values: np.ndarray) -> list[float]:
        return [float(values.min()), float(values.max())] if values.size else [0.0, 0.0]

    return {"rows_scaled": int((scale != 1).sum()), "rows": int(len(scale)),
            "row_factor_exponents": [int(np.log2(scale.min())), int(np.log2(scale.max()))] if scale.size else [0, 0],
            "matrix_range_before": span(before[nonzero]), "matrix_range_after": span(after[nonzero])}


def _log_scaling(form: Formulation) -> None:
    report = scaling_report(form)
    (b0, b1), (a0, a1) = report["matrix_range_before"], report["matrix_range_after"]
    low, high = report["row_factor_exponents"]
    print(f"measureopt: {report['rows_scaled']} of {report['rows']} rows scaled by 2^{low}..2^{high}; "
          f"|coefficients| {b0:.1e}..{b1:.1e} -> {a0:.1e}..{a1:.1e}", flush=True)


def to_highs(form: Formulation, objective: np.ndarray | None = None, integer: bool = True) -> highspy.Highs:
    """A Highs instance holding the formulation, rows scaled by `Formulation.row_scale` (always minimising
    sense * objective)."""
    return highs_with(model_arrays(form, objective, integer))


def highs_with(arrays: tuple) -> highspy.Highs:
    """A Highs instance holding the arrays of `model_arrays` (or of `without_fixed_columns`)."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("small_matrix_value", SMALL_MATRIX_VALUE)
    if pass_arrays(highs, *arrays) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS refused the model (passModel returned an error)")
    return highs


def model_arrays(form: Formulation, objective: np.ndarray | None = None, integer: bool = True) -> tuple:
    """The arrays HiGHS is given, in `pass_arrays` order: cost (minimised), column bounds, row
    bounds and CSR matrix scaled by `Formulation.row_scale`, integrality (all continuous for the relaxation)."""
    scale = form.row_scale
    integrality = form.integrality.astype(np.int32) if integer else np.zeros(form.shape[1], np.int32)
    return (form.sense * (form.objective if objective is None else objective), form.col_lower, form.col_upper,
            form.row_lower * scale, form.row_upper * scale, form.matrix.indptr, form.matrix.indices,
            form.scaled_values, integrality)


def pass_arrays(highs: highspy.Highs, cost, col_lower, col_upper, row_lower, row_upper, start, index, value,
                integrality) -> highspy.HighsStatus:
    """`Highs.passModel` of the arrays of `model_arrays` (minimising), the matrix turned column-wise
    first: HiGHS keeps its matrix by columns, and scipy's transpose is quicker than HiGHS's own
    (at 8,000 x 50, 0.02 s and a 0.06 s pass against a 0.11 s pass of the rows)."""
    rows = sp.csr_matrix((np.asarray(value, dtype=np.float64), np.asarray(index, dtype=np.int32),
                          np.asarray(start, dtype=np.int32)), shape=(len(row_lower), len(cost)))
    columns = rows.tocsc()
    floats = [np.ascontiguousarray(a, dtype=np.float64) for a in (cost, col_lower, col_upper, row_lower, row_upper)]
    return highs.passModel(len(cost), len(row_lower), columns.nnz, int(highspy.MatrixFormat.kColwise),
                           int(highspy.ObjSense.kMinimize), 0.0, *floats, columns.indptr.astype(np.int32, copy=False),
                           columns.indices.astype(np.int32, copy=False), columns.data,
                           np.ascontiguousarray(integrality, dtype=np.int32))


def is_small(form: Formulation) -> bool:
    """Whether HiGHS aims at SMALL_MODEL_GAP for this model whatever solver.mip_gap says."""
    return int(form.integrality.sum()) <= SMALL_MODEL_INTEGERS


def _configure(highs: highspy.Highs, form: Formulation, options: SolverSettings, columns: int, presolve: bool) -> None:
    """HiGHS's options for `form`, passed to it with `columns` columns (fewer when fixed ones were
    taken out); its presolve on at any size if `presolve`."""
    highs.setOptionValue("output_flag", bool(options.verbose))
    highs.setOptionValue("mip_rel_gap", min(options.mip_gap, SMALL_MODEL_GAP) if is_small(form) else options.mip_gap)
    highs.setOptionValue("mip_abs_gap", 1e-9)
    # HiGHS compares its time limit with the run time of the instance, summed over every run: a
    # reused model (`Reuse`) would otherwise stop at once after solves that took that long in all
    highs.setOptionValue("time_limit", highs.getRunTime() + float(options.time_limit_s))
    highs.setOptionValue("random_seed", int(options.seed))
    highs.setOptionValue("presolve", "off" if columns > PRESOLVE_MAX_COLUMNS and not presolve else "choose")
    if options.threads:
        highs.setOptionValue("threads", int(options.threads))


def run(highs: highspy.Highs, time_limit_s: float) -> Ending:
    """Run HiGHS in its thread; cancel it on Ctrl-C or when the watchdog fires (the time limit,
    not the user, then stopped it), and leave it running if it has not stopped ABANDON_AFTER_S
    after that (it is then kept in `_LEFT_RUNNING`). highspy lets one solve run at a time in a
    process, whatever the instance: while one left running goes on, no other can start."""
    if left_running():
        raise SolverError("a HiGHS solve left running past its time limit still occupies the solver, so no further "
                          "solve can start in this process; try a longer solver.time_limit_s")
    deadline = time.monotonic() + time_limit_s + WATCHDOG_GRACE_S
    highs.HandleKeyboardInterrupt = True
    highs.startSolve()
    cancelled = None  # when the watchdog cancelled the solve
    try:
        while not highs.wait(0.1)[0]:
            if cancelled is None and time.monotonic() > deadline:
                highs.cancelSolve()
                cancelled = time.monotonic()
            elif cancelled is not None and time.monotonic() > cancelled + ABANDON_AFTER_S:
                _LEFT_RUNNING.append(highs)
                return Ending.ABANDONED
        return Ending.FINISHED if cancelled is None else Ending.CANCELLED
    except KeyboardInterrupt:
        highs.cancelSolve()
        while not highs.wait(0.1)[0]:
            pass
        raise


_STATUS = {
    highspy.HighsModelStatus.kOptimal: Status.OPTIMAL,
    highspy.HighsModelStatus.kInfeasible: Status.INFEASIBLE,
    highspy.HighsModelStatus.kTimeLimit: Status.TIME_LIMIT,
    highspy.HighsModelStatus.kInterrupt: Status.INTERRUPTED,
    highspy.HighsModelStatus.kHighsInterrupt: Status.INTERRUPTED,
    highspy.HighsModelStatus.kModelEmpty: Status.OPTIMAL,
}


#: Seconds between two points of the recorded gap trajectory.
TRAJECTORY_EVERY_S = 1.0


class _MipWatch:
    """What HiGHS's MIP callbacks report while it runs: the gap trajectory (seconds, primal bound,
    dual bound, gap) and its last improving solution, all that can be read of a solve left running.
    With `enough_gap` (solver.mip_gap, when HiGHS aims tighter), the MIP is stopped once that gap has
    held for max(POLISH_MIN_S, POLISH_TIMES x the seconds it took to reach it).
    Subscribed next to highspy's own interrupt handler (a raw setCallback would replace it, and
    cancelSolve, hence Ctrl-C, SIGTERM and the watchdog, would no longer stop the MIP)."""

    def __init__(self, highs: highspy.Highs, sense: int, enough_gap: float | None = None):
        self.highs, self.sense, self.enough_gap = highs, sense, enough_gap
        self.points: list = []
        self.incumbent: tuple[np.ndarray, float] | None = None  # columns of the model HiGHS holds, gap
        self.started, self.enough_at, self.stopped = time.perf_counter(), None, False
        highs.cbMipInterrupt += self._seen
        highs.cbMipImprovingSolution += self._improved

    def _improved(self, event) -> None:
        self.incumbent = (np.array(event.data_out.mip_solution, dtype=np.float64), float(event.data_out.mip_gap))
        self._seen(event)

    def _seen(self, event) -> None:
        out, points, sense = event.data_out, self.points, self.sense
        if self.enough_gap is not None and out.mip_gap <= self.enough_gap:
            now = time.perf_counter() - self.started
            self.enough_at = now if self.enough_at is None else self.enough_at
            if now > self.enough_at + max(POLISH_MIN_S, POLISH_TIMES * self.enough_at):
                self.stopped = True
                event.interrupt()
        if points and out.running_time - points[-1][0] < TRAJECTORY_EVERY_S and out.mip_primal_bound * sense == points[-1][1]:
            return
        if np.isfinite(out.mip_primal_bound) and np.isfinite(out.mip_dual_bound):
            points.append((round(out.running_time, 3), out.mip_primal_bound * sense, out.mip_dual_bound * sense, out.mip_gap))

    def close(self) -> None:
        """Unsubscribe: a reused model must not call the callbacks of earlier solves."""
        self.highs.cbMipInterrupt -= self._seen
        self.highs.cbMipImprovingSolution -= self._improved


def solve(form: Formulation, options: SolverSettings, objective: np.ndarray | None = None, relax: bool = False,
          start: tuple[np.ndarray, np.ndarray] | None = None, reuse: Reuse | None = None,
          presolve: bool = False) -> SolveResult:
    """Solve the MIP (or its LP relaxation) from an optional partial start (columns, values);
    returns the status, the solution (if any), the gap and its trajectory. With `reuse`, the
    HiGHS model of its previous solve is updated rather than passed again when it can be.
    `presolve` keeps HiGHS's presolve on above PRESOLVE_MAX_COLUMNS (for an LP: the MIP's
    presolve is what cannot be stopped there)."""
    arrays = model_arrays(form, objective, integer=not relax)
    reduction = without_fixed_columns(arrays) if form.shape[1] > PRESOLVE_MAX_COLUMNS else None
    passed = arrays if reduction is None else reduction.arrays
    highs = highs_with(passed) if reuse is None else reuse.highs_for(passed)
    _configure(highs, form, options, len(passed[0]), presolve)
    if options.verbose:
        _log_scaling(form)
    if reduction is not None:
        highs.changeObjectiveOffset(reduction.offset)
        start = None if start is None else reduction.start(start)
        if options.verbose:
            print(f"measureopt: {len(arrays[0]) - len(reduction.kept)} fixed columns and "
                  f"{len(arrays[3]) - len(reduction.arrays[3])} rows left with none free taken out", flush=True)
    if start is not None:
        highs.setSolution(len(start[0]), start[0].astype(np.int32), start[1].astype(np.float64))
    aims_tighter = is_small(form) and options.mip_gap > SMALL_MODEL_GAP
    watch = None if relax else _MipWatch(highs, form.sense, options.mip_gap if aims_tighter else None)
    started = time.perf_counter()
    try:
        ending = run(highs, options.time_limit_s)
        if ending == Ending.FINISHED and not relax and _presolve_called_infeasible(highs):
            highs.setOptionValue("presolve", "off")
            ending = run(highs, max(1.0, options.time_limit_s - (time.perf_counter() - started)))
    finally:
        if watch is not None:
            watch.close()
    seconds = time.perf_counter() - started
    if options.verbose and watch is not None and watch.stopped:
        print(f"measureopt: solver.mip_gap {options.mip_gap:g} held from {watch.enough_at:.1f} s on; "
              f"the search for a {SMALL_MODEL_GAP:g} gap stopped at {seconds:.1f} s", flush=True)
    if ending == Ending.ABANDONED:  # HiGHS still runs in its thread: nothing may be read from it
        if reuse is not None:
            reuse.forget()
        return _left_running_result(form, objective, reduction, watch, seconds)
    trajectory = [] if watch is None else watch.points
    model_status = highs.getModelStatus()
    status = _STATUS.get(model_status, Status.ERROR)
    if ending == Ending.CANCELLED and status == Status.INTERRUPTED:
        status = Status.TIME_LIMIT
    info = highs.getInfo()
    has_point = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if model_status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
        status = Status.INFEASIBLE
    if status in (Status.TIME_LIMIT, Status.INTERRUPTED) and not has_point:
        status = Status.NO_SOLUTION if status == Status.TIME_LIMIT else status
    if status == Status.INTERRUPTED and has_point:
        status = Status.TIME_LIMIT
    mip = form.integrality.any() and not relax
    gap = float(info.mip_gap) if mip and status.has_solution else (0.0 if status.has_solution else None)
    if status == Status.TIME_LIMIT and mip and gap <= options.mip_gap:  # stopped short of SMALL_MODEL_GAP
        status = Status.OPTIMAL
    x = np.asarray(highs.getSolution().col_value) if status.has_solution else None
    if x is not None and reduction is not None:
        x = reduction.full(x)
    bound = float(info.mip_dual_bound) * form.sense if mip and status.has_solution else None
    objective_value = float(info.objective_function_value) * form.sense if status.has_solution else None
    if mip and x is not None:
        whole = _whole_integers(form, x, objective)
        if whole is not x:
            x, objective_value = whole, float((form.objective if objective is None else objective) @ whole)
    if trajectory and status.has_solution:
        trajectory.append((round(seconds, 3), objective_value, bound, gap))
    return SolveResult(status, x, objective_value, gap, bound, seconds, highs.modelStatusToString(model_status), tuple(trajectory))


def _presolve_called_infeasible(highs: highspy.Highs) -> bool:
    """Whether HiGHS found its MIP infeasible with presolve on. HiGHS 1.15.1's MIP presolve called
    two feasible tiny plans infeasible (of 600 random ones run against brute force,
    tests/test_periods_bruteforce.py), so `solve` confirms that verdict by a run without presolve."""
    infeasible = (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible)
    return highs.getModelStatus() in infeasible and highs.getOptionValue("presolve") != "off"


def is_exact(result) -> bool:
    """Whether a result (a `SolveResult` or an engine `Result`) is optimal within SMALL_MODEL_GAP."""
    return result.status == Status.OPTIMAL and result.mip_gap is not None and result.mip_gap <= SMALL_MODEL_GAP


def polish_settings(options: SolverSettings, left_s: float, first_s: float) -> SolverSettings | None:
    """The settings of a polish after a first run of `first_s` seconds, `left_s` seconds being left:
    a SMALL_MODEL_GAP gap in at most max(POLISH_MIN_S, POLISH_TIMES x first_s); None without a second."""
    budget = min(left_s, max(POLISH_MIN_S, POLISH_TIMES * first_s))
    return replace(options, mip_gap=SMALL_MODEL_GAP, time_limit_s=budget) if budget >= 1.0 else None


def polished(form: Formulation, options: SolverSettings, first: SolveResult, objective: np.ndarray | None = None,
             reuse: Reuse | None = None) -> SolveResult:
    """`first`, a MIP's optimum within solver.mip_gap, made exact where that is cheap: HiGHS runs
    again from it with a SMALL_MODEL_GAP gap, for at most max(POLISH_MIN_S, POLISH_TIMES x first's
    seconds) of the time left, and its optimum is kept only if it reaches that gap (else `first`
    stands, its seconds grown by the try). mip_gap stays a cap, as for small models."""
    if first.status != Status.OPTIMAL or first.mip_gap is None or is_exact(first) or is_small(form):
        return first
    exact_options = polish_settings(options, options.time_limit_s - first.seconds, first.seconds)
    if exact_options is None:
        return first
    exact = solve(form, exact_options, objective, start=(np.arange(len(first.x)), first.x), reuse=reuse)
    seconds = first.seconds + exact.seconds
    if not is_exact(exact):
        return replace(first, seconds=seconds)
    return replace(exact, seconds=seconds, trajectory=(*first.trajectory, (round(seconds, 3), exact.objective, exact.dual_bound, exact.mip_gap)))


def _left_running_result(form: Formulation, objective: np.ndarray | None, reduction: Reduction | None,
                         watch: _MipWatch | None, seconds: float) -> SolveResult:
    """A solve left running, as its callbacks last saw it: a time limit with its last improving
    solution (the objective recomputed from it, the bound from HiGHS's gap), or no solution."""
    note = f"HiGHS did not stop within {ABANDON_AFTER_S:g} s of its time limit and was left running"
    if watch is None or watch.incumbent is None:
        return SolveResult(Status.NO_SOLUTION, None, None, None, None, seconds, note)
    x, gap = watch.incumbent
    x = x if reduction is None else reduction.full(x)
    value = float((form.objective if objective is None else objective) @ x)
    bound = value - form.sense * gap * abs(value)  # HiGHS's gap: |primal - dual| / |primal|
    return SolveResult(Status.TIME_LIMIT, x, value, gap, bound, seconds, note, (*watch.points, (round(seconds, 3), value, bound, gap)))


def fixed_integer_duals(form: Formulation, x: np.ndarray, objective: np.ndarray | None = None) -> np.ndarray | None:
    """Row duals (d objective / d row bound, in the objective's sense) of the LP with integers fixed;
    None if it has no optimum in DUALS_TIME_LIMIT_S, or while a solve left running occupies HiGHS
    (`run`). Run like every solve, under the watchdog and Ctrl-C."""
    highs = _fixed_integer_lp(form, x, objective)
    return None if highs is None else np.asarray(highs.getSolution().row_dual) * form.row_scale * form.sense


def _whole_integers(form: Formulation, x: np.ndarray, objective: np.ndarray | None) -> np.ndarray:
    """x with its integers whole and its other columns re-optimised for them (the LP with integers
    fixed), when some integer is off a whole number: HiGHS accepts 1e-6 off, and a selection left at
    5e-7 lets a measure of 1,000 units carry 5e-4 of a unit unselected (an incumbent taken when a
    search is stopped). x itself if that LP has no optimum."""
    integer = form.integrality
    if not integer.any() or np.abs(x[integer] - np.round(x[integer])).max() <= 1e-9:
        return x
    highs = _fixed_integer_lp(form, x, objective)
    return x if highs is None else np.asarray(highs.getSolution().col_value)


def _fixed_integer_lp(form: Formulation, x: np.ndarray, objective: np.ndarray | None) -> highspy.Highs | None:
    """HiGHS holding the optimum of the LP with the integers of x fixed at their rounded values; None
    if it has none in DUALS_TIME_LIMIT_S, or while a solve left running occupies HiGHS (`run`)."""
    if left_running():
        return None
    lower, upper = form.col_lower.copy(), form.col_upper.copy()
    fixed = form.integrality
    lower[fixed] = upper[fixed] = np.round(x[fixed])
    highs = to_highs(replace(form, col_lower=lower, col_upper=upper), objective, integer=False)
    highs.setOptionValue("time_limit", DUALS_TIME_LIMIT_S)
    if run(highs, DUALS_TIME_LIMIT_S) == Ending.ABANDONED or highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return highs


@dataclass(frozen=True)
class Reduction:
    """A model with its fixed columns taken out: what HiGHS solves, and how to read its answer back."""

    arrays: tuple  # in `pass_arrays` order, over the kept columns and rows
    kept: np.ndarray  # positions of the kept columns in the full model
    fixed_x: np.ndarray  # the full column vector with the fixed columns at their value, 0 elsewhere
    offset: float  # the fixed columns' part of the minimised objective

    def full(self, x: np.ndarray) -> np.ndarray:
        """A solution of the reduced model as a solution of the full one."""
        whole = self.fixed_x.copy()
        whole[self.kept] = x
        return whole

    def start(self, start: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """A partial start over the full model's columns, over the reduced model's."""
        position = np.full(len(self.fixed_x), -1)
        position[self.kept] = np.arange(len(self.kept))
        columns, values = start
        mapped = position[columns]
        return mapped[mapped >= 0], values[mapped >= 0]


#: A row left with only fixed columns must hold within this (rows are scaled to coefficients near 1).
FIXED_ROW_TOLERANCE = 1e-7


def without_fixed_columns(arrays: tuple) -> Reduction | None:
    """The model of `model_arrays` with its fixed columns (lower = upper) moved into the row bounds
    and the objective offset, and the rows left without a free column dropped: the reduction HiGHS's
    presolve would make first, for models too large for its presolve (committed measures, the
    core's measures taken for sure). None when nothing is fixed or everything is, or when a dropped
    row would be broken by the fixed values (HiGHS then sees the whole model and explains it)."""
    cost, col_lower, col_upper, row_lower, row_upper, start, index, value, integrality = arrays
    fixed = col_lower == col_upper
    if not fixed.any() or fixed.all():
        return None
    fixed_x = np.where(fixed, col_lower, 0.0)
    row_of = np.repeat(np.arange(len(row_lower)), np.diff(start))
    activity = np.bincount(row_of, value * fixed_x[index], minlength=len(row_lower))
    free_entry = ~fixed[index]
    keep_row = np.bincount(row_of[free_entry], minlength=len(row_lower)) > 0
    dropped = ~keep_row
    if np.any(activity[dropped] < row_lower[dropped] - FIXED_ROW_TOLERANCE) or np.any(activity[dropped] > row_upper[dropped] + FIXED_ROW_TOLERANCE):
        return None
    kept = np.flatnonzero(~fixed)
    new_column = np.cumsum(~fixed) - 1
    entry = free_entry & keep_row[row_of]
    counts = np.bincount(row_of[entry], minlength=len(row_lower))[keep_row]
    reduced = (cost[kept], col_lower[kept], col_upper[kept], (row_lower - activity)[keep_row],
               (row_upper - activity)[keep_row], np.r_[0, np.cumsum(counts)], new_column[index[entry]], value[entry],
               integrality[kept])
    return Reduction(reduced, kept, fixed_x, float(cost[fixed] @ fixed_x[fixed]))


#: Above this share of its nonzeros changed, a reused model is passed again rather than edited
#: (HiGHS takes ~2 us per edited coefficient, ~0.1 us per nonzero passed: network-100).
REUSE_MAX_CHANGED_SHARE = 0.02


class Reuse:
    """A HiGHS model kept from one solve to the next (the points of a sweep chain, the LPs of a
    floor search or of the Gini cap's cut rounds). When the next model has the same columns
    (count and integrality) and the kept model's rows as its first rows (same matrix positions),
    only its changed costs, bounds and coefficients are sent to HiGHS and its further rows added,
    and HiGHS starts from its last basis; otherwise the new model is passed whole."""

    def __init__(self) -> None:
        self.highs: highspy.Highs | None = None
        self.arrays: tuple | None = None
        self.updates = 0  # solves that edited the kept model instead of passing a new one

    def forget(self) -> None:
        """Drop the kept model (its solve was left running: it cannot be edited)."""
        self.highs = self.arrays = None

    def highs_for(self, arrays: tuple) -> highspy.Highs:
        """The kept model edited into `arrays` (in `pass_arrays` order), or a new one."""
        old, self.arrays = self.arrays, arrays
        cost, col_lower, col_upper, row_lower, row_upper, start, index, value, integrality = arrays
        kept = 0 if old is None else len(old[3])  # rows of the kept model
        same_pattern = (old is not None and len(cost) == len(old[0]) and np.array_equal(integrality, old[8])
                        and len(row_lower) >= kept and np.array_equal(start[:kept + 1], old[5])
                        and np.array_equal(index[:start[kept]], old[6]))  # columns, then the kept rows' positions
        entries = np.flatnonzero(value[:start[kept]] != old[7]) if same_pattern else None
        if not same_pattern or len(entries) > REUSE_MAX_CHANGED_SHARE * len(value):
            self.highs = highs_with(arrays)
            return self.highs
        highs = self.highs
        changed = np.flatnonzero(cost != old[0]).astype(np.int32)
        if changed.size:
            highs.changeColsCost(changed.size, changed, cost[changed].astype(np.float64))
        changed = np.flatnonzero((col_lower != old[1]) | (col_upper != old[2])).astype(np.int32)
        if changed.size:
            highs.changeColsBounds(changed.size, changed, col_lower[changed].astype(np.float64), col_upper[changed].astype(np.float64))
        changed = np.flatnonzero((row_lower[:kept] != old[3]) | (row_upper[:kept] != old[4])).astype(np.int32)
        if changed.size:
            highs.changeRowsBounds(changed.size, changed, row_lower[changed].astype(np.float64), row_upper[changed].astype(np.float64))
        for row, entry in zip(np.searchsorted(start, entries, side="right") - 1, entries):
            highs.changeCoeff(int(row), int(index[entry]), float(value[entry]))
        if len(row_lower) > kept:  # rows appended (a Gini cut): HiGHS keeps its basis, the new rows basic
            first = start[kept]
            highs.addRows(len(row_lower) - kept, row_lower[kept:].astype(np.float64), row_upper[kept:].astype(np.float64),
                          len(value) - first, (start[kept:-1] - first).astype(np.int32), index[first:].astype(np.int32),
                          value[first:].astype(np.float64))
        self.updates += 1
        return highs
