"""The `measureopt` command line: a thin layer over the library (SPEC 5).

Typed errors become messages and exit codes here and nowhere else: 2 invalid input or usage,
3 infeasible, 4 no solution or solver failure, 5 results that do not match their inputs (--check);
130 interrupted (Ctrl-C), 143 terminated (SIGTERM), both with nothing written.
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from . import api, solver
from .alternatives import headline as alternatives_headline
from .errors import CaseError, InfeasibleError, MeasureoptError
from .allocation import allocation_headline
from .sizing import parse_levels, sizing_headline
from .scenarios import compare_headline, exit_code
from .sweep import sweep_headline


class _Progress:
    """A one-line live status on a terminal; silent with --quiet or when not a terminal."""

    def __init__(self, quiet: bool):
        self.live = not quiet and sys.stderr.isatty()
        self.started = time.perf_counter()

    def __call__(self, stage: str) -> None:
        if self.live:
            click.echo(f"\r\033[K[{time.perf_counter() - self.started:6.1f}s] {stage}", err=True, nl=False)

    def done(self) -> None:
        if self.live:
            click.echo("\r\033[K", err=True, nl=False)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so that a running solve is cancelled."""


def _raise_terminated(signum, frame) -> None:
    raise _Terminated


def _sigterm_as_interrupt() -> None:
    """For this command, SIGTERM cancels like Ctrl-C (exit 143); the previous handler is restored after."""
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        click.get_current_context().call_on_close(lambda: signal.signal(signal.SIGTERM, previous))


@contextmanager
def _reported() -> Iterator[None]:
    """Typed errors become their message and exit code; Ctrl-C exits 130 with nothing written."""
    try:
        yield
    except MeasureoptError as error:
        _fail(error)
    except KeyboardInterrupt:
        click.echo("interrupted: nothing was written", err=True)
        sys.exit(130)


def _fail(error: MeasureoptError) -> None:
    if isinstance(error, CaseError):
        click.echo(f"invalid case: {len(error.problems)} problem(s)", err=True)
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
    elif isinstance(error, InfeasibleError):
        for line in error.explanation:
            click.echo(line, err=True)
    else:
        click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


def entry() -> None:
    """The `measureopt` program: `main`, ended with `os._exit` (after flushing its output) when a
    solve had to be left running in its thread (`solver.left_running`), as Python's own shutdown
    would abort the process should that thread call back into it meanwhile."""
    try:
        main()
    except SystemExit as ended:
        if isinstance(ended.code, int) or ended.code is None:
            solver.exit_if_left_running(ended.code or 0)
        elif solver.left_running():  # a message, which Python would print on its way out
            click.echo(ended.code, err=True)
            solver.exit_if_left_running(1)
        raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="measureopt")
def main() -> None:
    """Optimal, verified and fair portfolios of energy-transition measures for municipalities."""


@main.command()
@click.argument("case", type=click.Path(exists=True, path_type=Path))  # a directory or a case workbook (.xlsx)
def validate(case: Path) -> None:
    """Check CASE and print its size and totals.

    Example: measureopt validate cases/rural-cluster
    """
    with _reported():
        loaded = api.load(case)
    click.echo(api.describe(loaded))


@main.command()
@click.argument("case", type=click.Path(exists=True, path_type=Path))  # a directory or a case workbook (.xlsx)
@click.option("--scenario", "-s", help="scenario of case.yaml to apply")
@click.option("--model", "-m", "models", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="formulation preset (YAML), e.g. models/justice40.yaml; repeatable, in order")
@click.option("--set", "assignments", multiple=True, metavar="KEY.PATH=VALUE", help="override one setting; repeatable")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="results folder [default: results/<case>/<scenario or base>]")
@click.option("--quiet", "-q", is_flag=True, help="no progress line")
@click.option("--verbose", "-v", is_flag=True, help="show the HiGHS log")
@click.option("--report", "with_report", is_flag=True, help="also write report.html (self-contained HTML report)")
@click.option("--excel", "with_excel", is_flag=True, help="also write results.xlsx (formatted summary, portfolio, municipalities, binding constraints)")
@click.option("--check", "check_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="instead of solving, check this results folder of CASE against its inputs (exit 5 if they differ)")
def solve(case: Path, scenario: str | None, models: tuple[Path, ...], assignments: tuple[str, ...],
          out: Path | None, quiet: bool, verbose: bool, with_report: bool, with_excel: bool,
          check_dir: Path | None) -> None:
    """Optimise CASE and write summary.json, portfolio.csv and municipalities.csv.

    Example: measureopt solve cases/rural-cluster --scenario justice40 --set solver.mip_gap=1e-4

    Check a results folder (its run's own settings are used): measureopt solve cases/rural-cluster --check results/rural-cluster/base
    """
    if check_dir is not None:
        with _reported():
            api.check(case, check_dir).raise_if_different()
        click.echo(f"results match the inputs: {check_dir}")
        return
    _sigterm_as_interrupt()
    progress = _Progress(quiet)
    out = out or Path("results") / case.resolve().name / (scenario or "base")
    try:
        progress("loading and validating the case")
        loaded = api.load(case, scenario=scenario, models=list(models), overrides=api.parse_overrides(assignments))
        progress("building and solving the model")
        result = api.solve(loaded, verbose=verbose)
        progress("writing results")
        api.write(result, out, scenario)
        if with_report:
            api.report(out, case)
        if with_excel:
            api.write_excel(out)
    except InfeasibleError as error:
        progress.done()
        api.write_infeasible_summary(error, out, scenario)
        _fail(error)
    except MeasureoptError as error:
        progress.done()
        _fail(error)
    except KeyboardInterrupt as stop:
        progress.done()
        terminated = isinstance(stop, _Terminated)
        click.echo(f"{'terminated' if terminated else 'interrupted'}: nothing was written", err=True)
        sys.exit(143 if terminated else 130)
    progress.done()
    click.echo(api.headline(result, out))


@main.command()
@click.argument("case", type=click.Path(exists=True, path_type=Path))  # a directory or a case workbook (.xlsx)
@click.option("--scenario", "-s", help="scenario of case.yaml to apply (its discount rate counts)")
@click.option("--model", "-m", "models", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="formulation preset (YAML); repeatable, in order")
@click.option("--set", "assignments", multiple=True, metavar="KEY.PATH=VALUE", help="override one setting; repeatable")
@click.option("--result", "results_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="a results folder of this case: its portfolio is highlighted")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="output folder for macc.csv and macc.svg [default: results/<case>/macc]")
def macc(case: Path, scenario: str | None, models: tuple[Path, ...], assignments: tuple[str, ...],
         results_dir: Path | None, out: Path | None) -> None:
    """Marginal abatement cost curve of CASE: LCOA of every candidate measure vs cumulative abatement.

    Example: measureopt macc cases/rural-cluster --result results/rural-cluster/base
    """
    out = out or Path("results") / case.resolve().name / "macc"
    with _reported():
        loaded = api.load(case, scenario=scenario, models=list(models), overrides=api.parse_overrides(assignments))
        table = api.macc(loaded, results_dir)
        api.write_macc(loaded, table, out)
    click.echo(f"{len(table)} measures on the curve; macc.csv and macc.svg written to {out}")


@main.command()
@click.argument("results_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--case", "case_dir", type=click.Path(exists=True, path_type=Path),
              help="the case of the result (directory or workbook) [default: the one recorded in summary.json]")
def report(results_dir: Path, case_dir: Path | None) -> None:
    """Write RESULTS_DIR/report.html: one self-contained, printable HTML report of a result
    (or of a compare/sweep folder).

    Example: measureopt report results/rural-cluster/justice40
    """
    with _reported():
        path = api.report(results_dir, case_dir)
    click.echo(f"report written to {path}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "from_case", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="fill it from this case directory (its Excel twin) instead of leaving it empty")
def template(file: Path, from_case: Path | None) -> None:
    """Write FILE.xlsx: a documented case workbook for planners to fill in (sheets README, case,
    municipalities, measures, programmes; units as header comments, drop-down lists for enums).

    Example: measureopt template my-case.xlsx   then   measureopt solve my-case.xlsx
    """
    with _reported():
        path = api.template(file, from_case)
    click.echo(f"case workbook written to {path}")


@main.command()
@click.argument("case", type=click.Path(exists=True, path_type=Path))  # a directory or a case workbook (.xlsx)
@click.option("--count", "-n", default=3, show_default=True, type=int, help="alternatives to find besides the optimum")
@click.option("--slack", default=0.05, show_default=True, type=float, help="how far below the optimum they may be (share)")
@click.option("--scenario", "-s", help="scenario of case.yaml to apply")
@click.option("--model", "-m", "models", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="formulation preset (YAML); repeatable, in order")
@click.option("--set", "assignments", multiple=True, metavar="KEY.PATH=VALUE", help="override one setting; repeatable")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="output folder [default: results/<case>/alternatives]")
def alternatives(case: Path, count: int, slack: float, scenario: str | None, models: tuple[Path, ...],
                 assignments: tuple[str, ...], out: Path | None) -> None:
    """Near-optimal portfolios of CASE for co-design: COUNT portfolios within SLACK of the optimum,
    as different from each other as possible, each verified. Writes alternatives.csv (one row per
    portfolio) and membership.csv (which measures are must-haves, real choices or never chosen).

    Example: measureopt alternatives cases/rural-cluster --count 3 --slack 0.05
    """
    out = out or Path("results") / case.resolve().name / "alternatives"
    with _reported():
        loaded = api.load(case, scenario=scenario, models=list(models), overrides=api.parse_overrides(assignments))
        found = api.alternatives(loaded, count, slack)
        api.write_alternatives(found, out)
    click.echo(alternatives_headline(found, out))



def _many_solves(command):
    """The options shared by commands that run many solves (size, allocate)."""
    for option in reversed([
        click.option("--scenario", "-s", help="scenario of case.yaml to apply"),
        click.option("--model", "-m", "models", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                     help="formulation preset (YAML); repeatable, in order"),
        click.option("--set", "assignments", multiple=True, metavar="KEY.PATH=VALUE", help="override one setting; repeatable"),
        click.option("--workers", "-j", type=click.IntRange(min=1), help="local worker processes [default: one per core]"),
        click.option("--scheduler", help="Dask scheduler address (tcp://HOST:PORT) to run the solves on"),
        click.option("--quiet", "-q", is_flag=True, help="no progress bar"),
    ]):
        command = option(command)
    return command


@main.command()
@click.argument("case", type=click.Path(file_okay=False, path_type=Path))
@click.option("--levels", default="0.1:0.6:0.05", show_default=True, metavar="START:STOP:STEP",
              help="reduction levels (shares of baseline emissions), stop included, or a comma list")
@click.option("--scope", type=click.Choice(["joint", "cluster", "each"]), help="target scope [default: the case's, else joint]")
@click.option("--budgets", metavar="START:STOP:STEP", help="also the inverse curve: max abatement per total budget (EUR)")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="output folder [default: results/<case>/sizing]")
@_many_solves
def size(case: Path, levels: str, scope: str | None, budgets: str | None, out: Path | None, scenario: str | None,
         models: tuple[Path, ...], assignments: tuple[str, ...], workers: int | None, scheduler: str | None, quiet: bool) -> None:
    """Programme sizing curve of CASE: the least investment for each reduction level.

    Writes sizing.csv (one row per level, marginal EUR per t/yr, unreachable levels marked),
    sizing_shares.csv (per cluster and municipality), sizing_portfolios.csv, sizing.json and the chart.

    Example: measureopt size cases/region-44 --levels 0.1:0.5:0.05 --budgets 100e6:500e6:100e6
    """
    out = out or Path("results") / case.resolve().name / "sizing"
    with _reported():
        loaded = api.load(case, scenario=scenario, models=list(models), overrides=api.parse_overrides(assignments))
        sizing = api.size(loaded, parse_levels(levels), scope=scope, budgets=parse_levels(budgets, "--budgets") if budgets else None,
                          workers=workers, scheduler=scheduler, progress=not quiet)
        api.write_sizing(sizing, out, loaded.settings.currency)
    click.echo(sizing_headline(sizing, out))


@main.command()
@click.argument("case", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rule", "-r", type=click.Choice(["shapley", "owen", "proportional", "benefit", "least-core"]), default="shapley",
              show_default=True, help="how to split the joint least cost")
@click.option("--players", type=click.Choice(["municipalities", "clusters"]), default="municipalities", show_default=True,
              help="who shares the cost")
@click.option("--by", type=click.Choice(["population", "baseline"]), default="population", show_default=True,
              help="weights of --rule proportional")
@click.option("--samples", type=click.IntRange(min=2), default=200, show_default=True,
              help="sampled orders of arrival when exact Shapley/Owen is too large")
@click.option("--seed", type=int, help="seed of the sampling [default: solver.seed]")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), help="folder that keeps coalition costs between runs")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="output folder [default: results/<case>/allocation-<rule>]")
@_many_solves
def allocate(case: Path, rule: str, players: str, by: str, samples: int, seed: int | None, cache: Path | None, out: Path | None,
             scenario: str | None, models: tuple[Path, ...], assignments: tuple[str, ...], workers: int | None,
             scheduler: str | None, quiet: bool) -> None:
    """Split the joint least cost of CASE's target among its municipalities (or clusters).

    Writes allocation.csv (stand-alone cost, share, saving per member), allocation.json (value of
    cooperation, core check with the worst coalition) and the chart.

    Example: measureopt allocate cases/region-44 --rule owen --samples 100 --cache .coalitions
    """
    out = out or Path("results") / case.resolve().name / f"allocation-{rule}"
    with _reported():
        loaded = api.load(case, scenario=scenario, models=list(models), overrides=api.parse_overrides(assignments))
        result = api.allocate(loaded, rule, players=players, by=by, samples=samples, seed=seed, workers=workers,
                              scheduler=scheduler, cache=cache, progress=not quiet)
        api.write_allocation(result, out)
    click.echo(allocation_headline(result, out))


def _finish(cancelled: int, code: int) -> None:
    """Exit 130 after Ctrl-C (the finished runs were written), else the code of the runs' statuses."""
    if cancelled:
        click.echo(f"interrupted: {cancelled} run(s) cancelled; the finished ones were written", err=True)
        sys.exit(130)
    sys.exit(code)


@main.command()
@click.argument("case", type=click.Path(file_okay=False, path_type=Path))
@click.option("--scenario", "-s", "scenarios", multiple=True, help="scenario to compare (base: case.yaml as it is); repeatable")
@click.option("--all", "every", is_flag=True, help="the base case and every scenario of case.yaml")
@click.option("--reference", "-r", help="scenario the price of fairness is measured against [default: the first]")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="output folder [default: results/<case>/compare]")
@click.option("--model", "-m", "models", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="formulation preset (YAML) applied to every scenario; repeatable, in order")
@click.option("--set", "assignments", multiple=True, metavar="KEY.PATH=VALUE", help="override one setting in every scenario; repeatable")
@click.option("--workers", "-j", type=click.IntRange(min=1), help="local worker processes [default: one per core]")
@click.option("--scheduler", help="Dask scheduler address (tcp://HOST:PORT) [default: env MEASUREOPT_SCHEDULER, else local processes]")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def compare(case: Path, scenarios: tuple[str, ...], every: bool, reference: str | None, out: Path | None,
            models: tuple[Path, ...], assignments: tuple[str, ...], workers: int | None, scheduler: str | None, quiet: bool) -> None:
    """Solve scenarios of CASE side by side, with the price of fairness of each.

    Writes compare.csv and compare.md (one row per scenario), gains_losses.csv (who gains and who
    loses abatement and investment against the reference), lorenz.csv and the Lorenz chart.
    Exit 0 when at least one scenario solved, 3 when all are infeasible, 130 after Ctrl-C.

    Example: measureopt compare cases/network-100 --scenario unconstrained --scenario justice40 --scenario fair-floor
    """
    out = out or Path("results") / case.resolve().name / "compare"
    with _reported():
        comparison = api.compare(case, scenarios, every, models, api.parse_overrides(assignments), reference,
                                 scheduler=scheduler, workers=workers, progress=not quiet)
        api.write_comparison(comparison, out)
    click.echo(compare_headline(comparison, out))
    _finish(comparison.cancelled, exit_code(comparison.table["status"]))


@main.command()
@click.argument("case", type=click.Path(file_okay=False, path_type=Path))
@click.option("--range", "ranges", multiple=True, required=True, metavar="KEY.PATH=START:STOP:STEP",
              help="a setting to sweep, stop included; once or twice (two: every combination)")
@click.option("--pareto", default="annual_abatement_t,vulnerable_benefit_share", show_default=True, metavar="KPI,KPI",
              help="two sweep.csv columns for the Pareto front (gini, investment_eur, eac_eur, cost_per_t: lower is better)")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="output folder [default: results/<case>/sweep]")
@_many_solves
def sweep(case: Path, ranges: tuple[str, ...], pareto: str, out: Path | None, scenario: str | None, models: tuple[Path, ...],
          assignments: tuple[str, ...], workers: int | None, scheduler: str | None, quiet: bool) -> None:
    """Trade-off curve of CASE over one or two settings: every KPI per point, Pareto front.

    Writes sweep.csv (one row per point; infeasible or failed points with their status) and the
    chart sweep.png / sweep.svg. Exit 0 when at least one point solved, 3 when all are infeasible,
    130 after Ctrl-C (the finished points are written).

    Example: measureopt sweep cases/network-100 --range justice.vulnerable_share_min=0:0.8:0.1 --range budget.total_eur=1.5e9:2.5e9:0.5e9
    """
    out = out or Path("results") / case.resolve().name / "sweep"
    with _reported():
        result = api.sweep(case, ranges, scenario, models, api.parse_overrides(assignments), pareto,
                           scheduler=scheduler, workers=workers, progress=not quiet)
        api.write_sweep(result, out)
    click.echo(sweep_headline(result, out))
    _finish(result.cancelled, exit_code(result.table["status"]))


if __name__ == "__main__":  # pragma: no cover
    main()
