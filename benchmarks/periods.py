"""Model size and build time of multi-year plans: years x measures (benchmarks/README.md).

    python -m benchmarks.periods                       # 100 and 1,000 municipalities x 50, 1-10 years
    python -m benchmarks.periods --sizes 8 --years 1,5 --solve 60

Each generated `base` case (benchmarks/generate.py, seed 0) gets `periods` with the given number
of years ending in its target year, an annual budget of total / years and a trajectory point in
the middle year; the formulation is built (and, with --solve, solved with that time limit).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import measureopt as mo
from measureopt.formulation import build

from .generate import generate_case


def plan(case_dir: Path, n_years: int, objective: str, time_limit_s: float) -> mo.Case:
    """The case as an n-year plan ending in its target year."""
    base = mo.load(case_dir)
    last = base.settings.target_year or 2030
    years = list(range(last - n_years + 1, last + 1))
    total = base.settings.budget.total_eur if base.settings.budget and base.settings.budget.total_eur else None
    periods: dict = {"years": years}
    if total is not None:
        periods["budget_eur"] = {y: total / n_years for y in years}
    if n_years > 2:
        periods["trajectory"] = {years[n_years // 2]: 0.05}
    return mo.load(case_dir, overrides=[{"periods": periods}, {"objective": objective}, {"solver": {"time_limit_s": time_limit_s}}])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="municipalities, comma-separated (at most 1,000 here)")
    parser.add_argument("--years", default="1,2,5,10")
    parser.add_argument("--solve", type=float, default=0.0, help="also solve, with this time limit (s)")
    parser.add_argument("--objective", default="max_cumulative_abatement")
    args = parser.parse_args(argv)
    print("| municipalities x measures | years | rows x columns | integer columns | nonzeros | build s |"
          + (" solve s | status | gap |" if args.solve else ""))
    print("|---|---|---|---|---|---|" + ("---|---|---|" if args.solve else ""))
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            case_dir = generate_case(Path(tmp) / f"m{size}", size, 50, seed=0)
            for n_years in (int(y) for y in args.years.split(",")):
                case = plan(case_dir, n_years, args.objective, args.solve or 600.0)
                started = time.perf_counter()
                form = build(case)
                seconds = time.perf_counter() - started
                row = (f"| {size:,} x 50 | {n_years} | {form.shape[0]:,} x {form.shape[1]:,} | {int(form.integrality.sum()):,} "
                       f"| {form.matrix.nnz:,} | {seconds:.2f} |")
                if args.solve:
                    try:
                        result = mo.solve(case)
                        row += f" {result.solve_seconds:.1f} | {result.status.value} | {result.mip_gap:.1e} |"
                    except mo.MeasureoptError as error:
                        row += f" | {type(error).__name__} | |"
                print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
