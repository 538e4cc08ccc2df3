"""Running many independent solves: in this process, on local processes, or on a Dask cluster.

`run_tasks` is the one entry point (used by compare, sweep, size and allocate). Each task is
`function(arg)` for a module-level (picklable) function. A measureopt error inside a task makes
that task "failed" with a one-line reason and the others go on; any other exception is a bug and
is raised. Ctrl-C cancels what has not finished and returns the finished outcomes, the rest
"cancelled". Outcomes come back in the order of the tasks, so results never depend on how many
workers ran them or in which order they finished.

With `chain=k`, consecutive tasks are run k at a time by one worker, in order, so that each can
start from what the one before it left (a sweep's warm start, its HiGHS model updated in place):
the function then takes the list of the chain's args and returns one `attempt` per task. Chains
are cut from the task list alone, never by the number of workers, so results stay the same.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

from tqdm import tqdm

from .errors import CaseError, InfeasibleError, MeasureoptError, SolverError

#: Environment variable naming a Dask scheduler (tcp://HOST:PORT) when --scheduler is not given.
SCHEDULER_ENV = "MEASUREOPT_SCHEDULER"
REASON_MAX_CHARS = 240


@dataclass(frozen=True)
class Outcome:
    """What became of one task."""

    key: Hashable  # the task's key as given
    status: str  # "done", "failed" or "cancelled"
    value: Any = None  # what the function returned (status "done")
    error: str | None = None  # one-line reason (status "failed"), e.g. "infeasible: ..."


def reason(error: MeasureoptError) -> str:
    """A measureopt error as one short line, led by its kind: infeasible, invalid, time_limit, solver."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, InfeasibleError):
        kind = "infeasible"
    elif isinstance(error, CaseError):
        kind = "invalid"
    elif isinstance(error, SolverError) and "time limit" in text.lower():
        kind = "time_limit"
    else:
        kind = "solver" if isinstance(error, SolverError) else "error"
    line = f"{kind}: {text}"
    return line if len(line) <= REASON_MAX_CHARS else line[:REASON_MAX_CHARS - 3] + "..."


def attempt(function: Callable[[Any], Any], arg: Any) -> tuple[str, Any, str | None]:
    """function(arg) as (status, value, reason); runs wherever the task runs."""
    try:
        return "done", function(arg), None
    except MeasureoptError as error:
        return "failed", None, reason(error)


def _call(function: Callable[[Any], Any], args: list, chained: bool) -> list[tuple[str, Any, str | None]]:
    """The attempts of one chain of tasks (one task unless chained)."""
    return function(args) if chained else [attempt(function, args[0])]


def _ignore_interrupt() -> None:
    """Worker processes leave Ctrl-C to the parent, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class _Bar:
    """The progress bar: points done, running and failed, with tqdm's ETA; silent when asked,
    and when stderr is not a terminal (CI logs)."""

    def __init__(self, total: int, label: str, progress: bool):
        self.bar = tqdm(total=total, desc=label, unit="pt", file=sys.stderr, disable=None if progress else True,
                        dynamic_ncols=True)
        self.failed = 0

    def start(self, running: int) -> None:
        self.bar.set_postfix_str(f"running {running}, failed 0")

    def update(self, statuses: list[str], running: int) -> None:
        self.failed += statuses.count("failed")
        self.bar.set_postfix_str(f"running {running}, failed {self.failed}", refresh=False)
        self.bar.update(len(statuses))

    def close(self) -> None:
        self.bar.close()


def run_tasks(function: Callable[[Any], Any], tasks: Sequence[tuple[Hashable, Any]], *,
              scheduler: str | None = None, workers: int | None = None,
              progress: bool = True, label: str = "points", chain: int | None = None) -> list[Outcome]:
    """Run function(arg) for every (key, arg); the outcomes in the order of `tasks`.

    `scheduler` (else env MEASUREOPT_SCHEDULER) is a Dask scheduler address: the tasks run on that
    cluster. Without one they run on `workers` local processes (None: one per core; 1: here, in
    this process, with no pool). `chain`: see the module's docstring.
    """
    tasks = list(tasks)
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    finished: dict[int, Outcome] = {}
    bar = _Bar(len(tasks), label, progress)
    size = max(1, chain or 1)
    chains = [(range(i, min(i + size, len(tasks))), [arg for _, arg in tasks[i:i + size]]) for i in range(0, len(tasks), size)]
    run = functools.partial(_call, function, chained=chain is not None)
    try:
        if scheduler:
            _run_dask(run, chains, tasks, scheduler, finished, bar)
        else:
            count = min(workers or default_workers(), len(chains))
            if count <= 1:
                _run_here(run, chains, tasks, finished, bar)
            else:
                _run_pool(run, chains, tasks, count, finished, bar)
    except KeyboardInterrupt:
        pass  # the finished outcomes are kept; the rest are cancelled below
    finally:
        bar.close()
    return [finished.get(i) or Outcome(key, "cancelled") for i, (key, _) in enumerate(tasks)]


def _record(finished: dict[int, Outcome], bar: _Bar, indices: range, tasks: list, results: list, running: int) -> None:
    """The outcomes of one chain of tasks."""
    for index, (status, value, error) in zip(indices, results, strict=True):
        finished[index] = Outcome(tasks[index][0], status, value, error)
    bar.update([status for status, _, _ in results], running)


def _run_here(run, chains, tasks, finished, bar) -> None:
    bar.start(1)
    for indices, args in chains:
        _record(finished, bar, indices, tasks, run(args), 0)


def _run_pool(run, chains, tasks, count, finished, bar) -> None:
    """Local worker processes (spawned: HiGHS's threads do not survive a fork)."""
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(count, initializer=_ignore_interrupt)
    try:
        pending = {number: pool.apply_async(run, (args,)) for number, (_, args) in enumerate(chains)}
        bar.start(count)
        while pending:
            ready = [number for number, job in pending.items() if job.ready()]
            if not ready:
                next(iter(pending.values())).wait(0.05)
                continue
            for number in ready:
                results = pending.pop(number).get()  # a bug inside the task is raised here
                _record(finished, bar, chains[number][0], tasks, results, min(count, len(pending)))
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _run_dask(run, chains, tasks, scheduler, finished, bar) -> None:
    """The chains as futures on an existing Dask distributed cluster."""
    from distributed import Client, as_completed

    with Client(scheduler, set_as_default=False) as client:
        futures = [client.submit(run, args, pure=False) for _, args in chains]
        where = {future.key: number for number, future in enumerate(futures)}
        slots = sum(client.nthreads().values())
        bar.start(min(slots, len(chains)))
        try:
            for future in as_completed(futures, loop=client.loop):
                number = where[future.key]
                results = future.result()  # a bug inside the task is raised here
                running = min(slots, sum(not f.done() for f in futures))
                _record(finished, bar, chains[number][0], tasks, results, running)
        finally:
            client.cancel([f for f in futures if not f.done()])
