"""Benchmark suite: `python -m benchmarks` (full table) or `python -m benchmarks --smoke` (CI).

Every run is one generated case (benchmarks/generate.py) solved in its own subprocess, so that
peak memory (RSS) is per run. Phases are timed separately: load + validate, build (formulation
arrays), hand-over to HiGHS (`solver.to_highs`), HiGHS solve, verification, writing. The floor is
`Highs.passModel` of the very same, ready numpy arrays; the ratio is (build + hand-over) / floor.
The smoke run fails on a crash or a wrong (unverified) result, never on time.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FULL_SIZES = (8, 44, 100, 1_000, 8_000, 35_000)
SMOKE_SIZES = (8, 44)
VARIANTS = {
    "base": None,  # max_abatement with a joint target and a total budget
    "gini": {"gini_max": 0.4},  # the same with a Gini cap alone
    "justice": {"vulnerable_share_min": 0.3, "gini_max": 0.4},
}
REPEATS = 3  # build, hand-over and floor are each timed this often, the fastest kept
PYOMO_MAX_COLUMNS = 200_000  # the Pyomo path is timed up to this size, for comparison only
BEGIN, END = "<!-- benchmark-table:begin -->", "<!-- benchmark-table:end -->"


def run_one(case_dir: Path, time_limit: float) -> dict:
    """All phases of one solve, in this process; returns seconds per phase and the outcome.

    The solve is the product's own pipeline (`engine.run_case`, core path included); build and
    hand-over of the full model are timed on their own for the floor ratio, and verification is
    timed by running it once more on the answer.
    """
    import measureopt as mo
    from measureopt.engine import run_case
    from measureopt.errors import SolverError
    from measureopt.formulation import build
    from measureopt.results import write_result
    from measureopt.solver import to_highs
    from measureopt.verify import verify

    timings: dict = {}
    clock = time.perf_counter()
    case = mo.load(case_dir, overrides={"solver": {"time_limit_s": time_limit}})
    timings["load_validate_s"] = time.perf_counter() - clock
    build_s, handover_s, floor_s = [], [], []
    form = None
    for _ in range(REPEATS):  # each the fastest of REPEATS, the floor as the build and hand-over
        del form  # one model in memory at a time: peak RSS is the product's, not the repeats'
        clock = time.perf_counter()
        form = build(case)
        build_s.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        to_highs(form)
        handover_s.append(time.perf_counter() - clock)
        floor_s.append(floor_highs(form)[1])
    timings.update(build_s=min(build_s), handover_s=min(handover_s), floor_s=min(floor_s))
    if form.shape[1] <= PYOMO_MAX_COLUMNS:
        from measureopt.pyomo_model import to_pyomo

        clock = time.perf_counter()
        to_pyomo(form)
        timings["pyomo_build_s"] = time.perf_counter() - clock
    full = {"variables": form.shape[1], "constraints": form.shape[0], "nonzeros": int(form.matrix.nnz)}
    del form
    try:
        result = run_case(case)
    except SolverError as error:  # no portfolio within the time limit: an outcome, not a crash
        return {**timings, **full, "status": "no_solution", "gap": None, "objective": None, "note": str(error),
                "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    timings["solve_s"] = result.solve_seconds
    clock = time.perf_counter()
    verify(case, result.portfolio, None)
    timings["verify_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        write_result(result, Path(out) / "result")
    timings["write_s"] = time.perf_counter() - clock
    core = result.variables if result.variables != full["variables"] else None
    return {
        **timings, **full, "status": result.status.value, "gap": result.mip_gap, "objective": result.objective_value,
        "core_variables": core, "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "trajectory": _thinned([(seconds, gap) for seconds, _, _, gap in result.trajectory]),
    }


def _thinned(points: list, keep: int = 5) -> list:
    """At most `keep` points of a gap trajectory, the first and the last among them."""
    if len(points) <= keep:
        return points
    return [points[round(i * (len(points) - 1) / (keep - 1))] for i in range(keep)]


def floor_highs(form):
    """The floor: a Highs instance given the very same arrays as measureopt's hand-over
    (`solver.model_arrays`, ready in memory) by one `Highs.passModel` of the rows (CSR), as the
    issue defines it; returns it and the seconds of that call."""
    import highspy
    import numpy as np

    from measureopt.solver import SMALL_MATRIX_VALUE, model_arrays

    cost, col_lower, col_upper, row_lower, row_upper, start, index, value, integrality = (
        np.ascontiguousarray(a, dtype=np.int32 if i in (5, 6, 8) else np.float64) for i, a in enumerate(model_arrays(form)))
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("small_matrix_value", SMALL_MATRIX_VALUE)
    clock = time.perf_counter()
    highs.passModel(len(cost), len(row_lower), len(value), int(highspy.MatrixFormat.kRowwise),
                    int(highspy.ObjSense.kMinimize), 0.0, cost, col_lower, col_upper, row_lower, row_upper,
                    start, index, value, integrality)
    return highs, time.perf_counter() - clock


def _child(args) -> int:
    from measureopt.solver import exit_if_left_running

    print(json.dumps(run_one(Path(args.case), args.time_limit)))
    exit_if_left_running(0)  # a solve still running in its thread would abort Python's shutdown
    return 0


def _case(root: Path, municipalities: int, measures: int, variant: str) -> Path:
    from benchmarks.generate import generate_case

    directory = root / f"m{municipalities}x{measures}-{variant}"
    if not (directory / "measures.csv").exists():
        generate_case(directory, municipalities, measures, seed=0, justice=VARIANTS[variant])
    return directory


def _short(text: str, limit: int = 140) -> str:
    """At most `limit` characters of a note, cut between words."""
    return text if len(text) <= limit else text[:text.rfind(" ", 0, limit)] + " ..."


def _table(rows: list[dict]) -> str:
    head = ("| municipalities x measures | variant | variables | constraints | load+validate s | build s | "
            "hand-over s | floor s | build+hand-over / floor | Pyomo build s | solved model | HiGHS solve s | verify s | write s | peak RSS GiB | status | gap | "
            "HiGHS gap trajectory (s: gap) |")
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['municipalities']:,} x {r['measures']} | {r['variant']} | | | | | | | | | | | | | | {r['error']} | | |")
            continue
        ratio = (r["build_s"] + r["handover_s"]) / r["floor_s"]
        if r["status"] == "no_solution":
            lines.append(f"| {r['municipalities']:,} x {r['measures']} | {r['variant']} | {r['variables']:,} | {r['constraints']:,} | "
                         f"{r['load_validate_s']:.2f} | {r['build_s']:.2f} | {r['handover_s']:.2f} | {r['floor_s']:.2f} | {ratio:.2f} | | | | | | "
                         f"{r['peak_rss_gib']:.2f} | no solution: {_short(r['note'])} | | |")
            continue
        gap = "" if r["gap"] is None else f"{r['gap']:.1e}"
        pyomo = f"{r['pyomo_build_s']:.2f}" if "pyomo_build_s" in r else "-"
        solved = f"core, {r['core_variables']:,} variables" if r.get("core_variables") else "full"
        trajectory = ", ".join(f"{seconds:.0f}: {gap:.1e}" for seconds, gap in r.get("trajectory", []))
        lines.append(
            f"| {r['municipalities']:,} x {r['measures']} | {r['variant']} | {r['variables']:,} | {r['constraints']:,} | "
            f"{r['load_validate_s']:.2f} | {r['build_s']:.2f} | {r['handover_s']:.2f} | {r['floor_s']:.2f} | {ratio:.2f} | {pyomo} | "
            f"{solved} | {r['solve_s']:.1f} | {r['verify_s']:.2f} | {r['write_s']:.2f} | {r['peak_rss_gib']:.2f} | {r['status']} | {gap} | "
            f"{trajectory} |")
    return "\n".join(lines)


def _chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for variant in VARIANTS:
        done = [r for r in rows if r["variant"] == variant and "error" not in r]
        size = [r["municipalities"] * r["measures"] for r in done]
        ax.loglog(size, [r["build_s"] + r["handover_s"] for r in done], "o-", label=f"build + hand-over ({variant})")
        solved = [r for r in done if "solve_s" in r]
        ax.loglog([r["municipalities"] * r["measures"] for r in solved], [r["solve_s"] for r in solved], "s--", label=f"HiGHS solve ({variant})")
    ax.set_xlabel("candidate measures (municipalities x measures)")
    ax.set_ylabel("seconds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def _record(rows: list[dict], readme: Path) -> None:
    text = readme.read_text() if readme.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    machine = f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, " \
              f"{_cores()} cores, {_memory_gib():.0f} GiB"
    block = f"{BEGIN}\nMachine: {machine}. Generated by `python -m benchmarks` on {time.strftime('%Y-%m-%d')}.\n\n{_table(rows)}\n{END}"
    start, end = text.find(BEGIN), text.find(END)
    text = text[:start] + block + text[end + len(END):] if start >= 0 <= end else text + "\n" + block + "\n"
    readme.write_text(text)


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as fh:
            return int(fh.readline().split()[1]) / 2**20
    except OSError:
        return 0.0


def _key(row: dict) -> tuple:
    """A row's place in the table: size, then variant in the order of VARIANTS."""
    return row["municipalities"], row["measures"], list(VARIANTS).index(row["variant"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="8 and 44 municipalities only (CI)")
    parser.add_argument("--sizes", help="comma-separated municipality counts", default=None)
    parser.add_argument("--measures", type=int, default=50)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per solve [600; 30 with --smoke]")
    parser.add_argument("--cases", type=Path, default=HERE / "out" / "cases", help="where generated cases are kept")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of the last run (benchmarks/out/results.json) that this run does not redo")
    parser.add_argument("--record", action="store_true",
                        help="only write the table and chart again from benchmarks/out/results.json (the rows of the last run)")
    parser.add_argument("--child", dest="case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        return _child(args)
    if args.record:
        rows = json.loads((HERE / "out" / "results.json").read_text())
        _record(rows, HERE / "README.md")
        _chart(rows, HERE / "scaling.png")
        return 0
    if args.time_limit is None:
        args.time_limit = 30.0 if args.smoke else 600.0
    sizes = SMOKE_SIZES if args.smoke else tuple(int(s) for s in args.sizes.split(",")) if args.sizes else FULL_SIZES
    saved = HERE / "out" / "results.json"
    kept = json.loads(saved.read_text()) if args.merge and saved.exists() else []
    rows = []
    for municipalities in sizes:
        for variant in args.variants.split(","):
            case_dir = _case(args.cases, municipalities, args.measures, variant)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "benchmarks", "--child", str(case_dir), "--time-limit", str(args.time_limit)],
                                  capture_output=True, text=True, cwd=HERE.parent)
            row = {"municipalities": municipalities, "measures": args.measures, "variant": variant}
            if done.returncode != 0:
                row["error"] = (done.stderr.strip().splitlines() or ["crashed"])[-1][:120]
            else:
                row.update(json.loads(done.stdout.strip().splitlines()[-1]))
            rows.append(row)
            kept = [r for r in kept if _key(r) != _key(row)]
            print(f"{municipalities:>6} x {args.measures} {variant:8s} {time.perf_counter() - started:8.1f} s  "
                  f"{row.get('status', row.get('error'))}", flush=True)
            if not args.smoke:  # kept as they finish: a long run stopped by hand loses no row
                saved.parent.mkdir(exist_ok=True)
                saved.write_text(json.dumps(sorted(kept + rows, key=_key), indent=2))
    failed = [r for r in rows if "error" in r]
    print(_table(rows))
    if not args.smoke:
        rows = sorted(kept + rows, key=_key)
        _record(rows, HERE / "README.md")
        _chart(rows, HERE / "scaling.png")
    if failed:
        print(f"{len(failed)} benchmark run(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
