"""Sweep benchmark: a 50-point budget sweep of cases/network-100, three ways.

    python -m benchmarks.sweep                 # 50 points, about a minute on 2 idle cores
    python -m benchmarks.sweep --points 10     # quicker

1. serial, every point reads and validates the case again (what 50 separate `solve` calls do);
2. serial, tables re-used (the case is read once per process, each point only layers its
   settings), every point solved on its own (chains of one point);
3. serial, tables re-used and chains of `sweep.CHAIN_POINTS` points, each point started from the
   previous one's portfolio on its HiGHS model edited in place: `measureopt sweep --workers 1`;
4. parallel: `measureopt sweep --workers N`, local processes, as 3 in each process.
All must give the same statuses and objectives (checked; to 1e-9 relative); the times go to
benchmarks/out/sweep.json and are printed as the markdown table of benchmarks/README.md ("Sweeps").
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

import measureopt as mo
from measureopt.case import load_case
from measureopt.engine import run_case
from measureopt.runner import default_workers, run_tasks
from measureopt.scenarios import KPI_COLUMNS, kpis
from measureopt.sweep import CHAIN_POINTS, parse_range, point_overrides, sweep as run_sweep

HERE = Path(__file__).resolve().parent
CASE = HERE.parent / "cases" / "network-100"
SCENARIO = "unconstrained"
START, STEP = 1_800_000_000, 25_000_000  # budget.total_eur in EUR; 1.8 bn still meets the -40 % target


def budget_range(points: int) -> str:
    return f"budget.total_eur={START}:{START + STEP * (points - 1)}:{STEP}"


def point_read_again(overrides: dict) -> dict:
    """One point the plain way: read and validate the case, then solve."""
    return kpis(run_case(load_case(CASE, SCENARIO, [], [overrides])))


def timed(label: str, run) -> tuple[float, pd.DataFrame]:
    started = time.perf_counter()
    table = run()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.1f} s", flush=True)
    return seconds, table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--workers", type=int, default=min(2, default_workers()))
    args = parser.parse_args(argv)
    spec = budget_range(args.points)
    ranges = (parse_range(spec),)
    tasks = [(i, point_overrides(ranges, values)) for i, values in enumerate((v,) for v in ranges[0].values)]

    def plain() -> pd.DataFrame:
        outcomes = run_tasks(point_read_again, tasks, workers=1, progress=False)
        return pd.DataFrame([o.value for o in outcomes], columns=KPI_COLUMNS)

    def sweep(workers: int, chain: int = CHAIN_POINTS):
        return lambda: run_sweep(CASE, [spec], scenario=SCENARIO, workers=workers, progress=False, chain=chain).table[KPI_COLUMNS]

    rows = []
    reference = None
    for label, run in [("serial, case read at every point", plain), ("serial, tables re-used", sweep(1, chain=1)),
                       (f"serial, tables re-used, chains of {CHAIN_POINTS} (warm start, model edited)", sweep(1)),
                       (f"{args.workers} processes, as above", sweep(args.workers))]:
        seconds, table = timed(label, run)
        table = table.reset_index(drop=True).astype({c: float for c in ("objective_value", "investment_eur", "annual_abatement_t")})
        if reference is None:
            reference = table
        same = table["status"].equals(reference["status"]) and np.allclose(
            table["objective_value"], reference["objective_value"], rtol=1e-9, atol=0, equal_nan=True)
        rows.append({"mode": label, "seconds": round(seconds, 2), "per_point_s": round(seconds / args.points, 3),
                     "speed-up": None, "same_results": bool(same)})
    for row in rows:
        row["speed-up"] = round(rows[0]["seconds"] / row["seconds"], 2)
    record = {"case": "cases/network-100", "scenario": SCENARIO, "range": spec, "points": args.points,
              "machine": f"{platform.machine()}, Python {platform.python_version()}, {default_workers()} cores",
              "date": time.strftime("%Y-%m-%d"), "runs": rows}
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "sweep.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"\n{args.points}-point sweep of {record['case']} ({SCENARIO}), `{spec}`; {record['machine']}, {record['date']}\n")
    print("| mode | seconds | s per point | speed-up | same results |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['mode']} | {row['seconds']:.1f} | {row['per_point_s']:.2f} | {row['speed-up']:.2f}x | {'yes' if row['same_results'] else 'NO'} |")
    if not all(row["same_results"] for row in rows):
        raise SystemExit("the runs disagree")


if __name__ == "__main__":
    main()
