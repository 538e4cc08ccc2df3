"""sweep: decimal ranges, every point equal to an independent brute-force solve, monotone
trade-offs, failed points kept, the Pareto front, and the same sweep.csv serially, on local
processes and on a real Dask LocalCluster; Ctrl-C keeps the finished points."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import measureopt as mo
from measureopt.cli import main
from measureopt.runner import SCHEDULER_ENV
from measureopt.sweep import LOWER_IS_BETTER, pareto_front, parse_range
from tests.conftest import CASES, ROOT
from tests.reference.bruteforce import solve_case

RURAL = CASES / "rural-cluster"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("text, values", [
    ("justice.vulnerable_share_min=0:0.8:0.1", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
    ("budget.total_eur=1e8:3e8:1e8", [1e8, 2e8, 3e8]),
    ("budget.total_eur=100:300:100", [100, 200, 300]),
    ("justice.population_floor=0:1:0.3", [0.0, 0.3, 0.6, 0.9]),  # stop not reached: not added
    ("target.reduction=0.5:0.3:-0.1", [0.5, 0.4, 0.3]),
    ("justice.gini_max = 0.25:0.25:0.05", [0.25]),
])
def test_ranges_are_decimal_and_include_the_stop(text, values):
    parsed = parse_range(text)
    assert parsed.values == tuple(values)  # exact: 0.3 is the float 0.3, not 0.30000000000000004
    assert all(type(v) is type(values[0]) for v in parsed.values)


@pytest.mark.parametrize("text", ["justice.gini_max", "justice.gini_max=0:1", "x=0:1:0", "x=1:0:0.1", "=0:1:0.1",
                                  "x=a:b:c", "x=0:1e9:1"])
def test_bad_ranges_are_usage_errors(text):
    with pytest.raises(mo.CaseError) as info:
        parse_range(text)
    assert info.value.problems[0].file == "--range"


def test_cli_bad_range_or_setting_exits_2_and_writes_nothing(tmp_path):
    for args in (["--range", "justice.vulnerable_share_mn=0:0.5:0.1"], ["--range", "justice.vulnerable_share_min=0:2:0.5"],
                 ["--range", "budget.total_eur=1:2:1", "--pareto", "abatement"]):
        result = invoke("sweep", RURAL, *args, "--out", tmp_path / "out", "-q")
        assert result.exit_code == 2, result.output
        assert not (tmp_path / "out").exists()


def test_every_point_equals_the_brute_force_optimum(tiny_case):
    """Independent check of each point: the reference enumerates every portfolio with the point's settings."""
    case_dir = tiny_case(7, objective="max_abatement", budget_total=True, target_scope=None, statuses=False,
                         justice={"benefit": "abatement"})
    table = mo.sweep(case_dir, ["justice.vulnerable_share_min=0:0.8:0.2", "budget.total_eur=30000:270000:80000"],
                     workers=1, progress=False).table
    assert len(table) == 5 * 4
    for _, row in table.iterrows():
        overrides = {"justice": {"vulnerable_share_min": row["justice.vulnerable_share_min"]},
                     "budget": {"total_eur": row["budget.total_eur"]}}
        reference = solve_case(case_dir, overrides)
        assert row["status"] == reference["status"]
        if reference["status"] == "optimal":
            assert row["objective_value"] == pytest.approx(reference["objective"], rel=1e-6, abs=1e-6)
            assert row["investment_eur"] <= row["budget.total_eur"] + 1e-6  # alternative optima may cost differently
        else:
            assert row["error"].startswith("infeasible: ") and np.isnan(row["objective_value"])
    assert table["objective_value"].nunique() > 5  # both settings change the optimum


def _abatement(table: pd.DataFrame) -> np.ndarray:
    """Max abatement per point, -1 where infeasible (below any abatement: tightening may only lose feasibility)."""
    solved = table["status"] == "optimal"
    assert set(table["status"]) <= {"optimal", "infeasible"}
    return np.where(solved, table["objective_value"].astype(float), -1.0)


@pytest.fixture(scope="module")
def rural_sweeps():
    """Three sweeps of rural-cluster (max abatement, joint -40 % target)."""
    return {
        "vulnerable": mo.sweep(RURAL, ["justice.vulnerable_share_min=0:0.5:0.1"], workers=1, progress=False).table,
        "floor": mo.sweep(RURAL, ["justice.population_floor=0:0.8:0.2"], workers=1, progress=False).table,
        "budget": mo.sweep(RURAL, ["budget.total_eur=60000000:140000000:20000000"], workers=1, progress=False).table,
    }


def test_max_abatement_never_rises_as_justice_rules_tighten(rural_sweeps):
    for name in ("vulnerable", "floor"):
        values = _abatement(rural_sweeps[name])
        assert np.all(np.diff(values) <= 1e-6 * np.abs(values[:-1]).clip(min=1)), (name, values)
        assert values[0] > 0 and values[-1] < values[0]  # the rule bites somewhere in the range
    assert (rural_sweeps["vulnerable"]["status"] == "infeasible").any()  # failed points are kept, the sweep went on


def test_max_abatement_never_falls_as_the_budget_grows(rural_sweeps):
    values = _abatement(rural_sweeps["budget"])
    assert np.all(np.diff(values) >= -1e-6 * np.abs(values[1:]).clip(min=1)), values
    assert values[0] == -1.0 and values[-1] > 0  # the small budgets cannot meet the target


def test_fairness_metrics_of_every_point(rural_sweeps):
    table = rural_sweeps["vulnerable"]
    solved = table[table["status"] == "optimal"]
    assert (solved["vulnerable_benefit_share"] >= solved["justice.vulnerable_share_min"] - 1e-6).all()
    for column in ("gini", "min_per_capita_ratio", "bottom_40_benefit_share", "max_per_capita_ratio"):
        assert solved[column].notna().all()


def _dominated_brute_force(values: np.ndarray, senses: tuple[float, float]) -> np.ndarray:
    v = values * np.array(senses)
    return np.array([any((v[j] >= v[i]).all() and (v[j] > v[i]).any() for j in range(len(v))) for i in range(len(v))])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.booleans()), min_size=1, max_size=25),
       st.sampled_from([("annual_abatement_t", "vulnerable_benefit_share"), ("annual_abatement_t", "gini"),
                        ("investment_eur", "gini")]))
def test_pareto_front_is_the_non_dominated_solved_points(points, kpis):
    table = pd.DataFrame({kpis[0]: [float(p[0]) for p in points], kpis[1]: [float(p[1]) for p in points],
                          "status": ["optimal" if p[2] else "infeasible" for p in points]})
    front = pareto_front(table, kpis)
    solved = table["status"].eq("optimal").to_numpy()
    senses = tuple(-1.0 if k in LOWER_IS_BETTER else 1.0 for k in kpis)
    dominated = np.zeros(len(table), dtype=bool)
    dominated[solved] = _dominated_brute_force(table[list(kpis)].to_numpy()[solved], senses)
    assert list(front) == list(solved & ~dominated)


SWEEP_ARGS = ["--range", "justice.vulnerable_share_min=0.2:0.4:0.2", "--range", "budget.total_eur=80000000:120000000:40000000"]


def test_cli_writes_sweep_csv_and_chart_byte_identical_serial_and_parallel(tmp_path):
    serial = invoke("sweep", RURAL, *SWEEP_ARGS, "--workers", "1", "--out", tmp_path / "serial", "-q")
    assert serial.exit_code == 0, serial.output
    assert "point(s) solved" in serial.output
    parallel = invoke("sweep", RURAL, *SWEEP_ARGS, "--workers", "2", "--out", tmp_path / "parallel", "-q")
    assert parallel.exit_code == 0, parallel.output
    assert (tmp_path / "serial" / "sweep.csv").read_bytes() == (tmp_path / "parallel" / "sweep.csv").read_bytes()
    table = pd.read_csv(tmp_path / "serial" / "sweep.csv")
    assert len(table) == 2 * 2 and list(table.columns[:3]) == ["point", "justice.vulnerable_share_min", "budget.total_eur"]
    assert {"infeasible", "optimal"} <= set(table["status"]) and table["pareto"].any()
    for name in ("sweep.png", "sweep.svg"):
        assert (tmp_path / "serial" / name).stat().st_size > 1000
    assert (tmp_path / "serial" / "sweep.svg").read_bytes() == (tmp_path / "parallel" / "sweep.svg").read_bytes()


def test_dask_cluster_gives_the_same_sweep_csv(tmp_path, monkeypatch):
    """A real scheduler and two worker processes on 127.0.0.1, given by --scheduler or by the environment."""
    distributed = pytest.importorskip("distributed")
    serial = invoke("sweep", RURAL, *SWEEP_ARGS, "--workers", "1", "--out", tmp_path / "serial", "-q")
    assert serial.exit_code == 0, serial.output
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        on_cluster = invoke("sweep", RURAL, *SWEEP_ARGS, "--scheduler", address, "--out", tmp_path / "dask", "-q")
        assert on_cluster.exit_code == 0, on_cluster.output
        monkeypatch.setenv(SCHEDULER_ENV, address)
        from_env = invoke("sweep", RURAL, *SWEEP_ARGS, "--out", tmp_path / "env", "-q")
        assert from_env.exit_code == 0, from_env.output
        with distributed.Client(address) as client:  # two separate worker processes served the points
            assert len(set(client.run(os.getpid).values()) - {os.getpid()}) == 2
    expected = (tmp_path / "serial" / "sweep.csv").read_bytes()
    assert (tmp_path / "dask" / "sweep.csv").read_bytes() == expected
    assert (tmp_path / "env" / "sweep.csv").read_bytes() == expected
    assert b"infeasible" in expected  # failed points come back from the workers too


def test_all_points_infeasible_exits_3_with_the_points_written(tmp_path):
    result = invoke("sweep", RURAL, "--range", "budget.total_eur=1000:2000:1000", "--workers", "1", "--out", tmp_path / "out", "-q")
    assert result.exit_code == 3, result.output
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert list(table["status"]) == ["infeasible"] * 2 and table["error"].str.startswith("infeasible: ").all()


def _terminal() -> tuple[int, int]:
    """A pseudo-terminal of 120 x 40 (master, slave): stderr on it shows the progress bar."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    return master, slave


def test_progress_bar_then_ctrl_c_writes_the_finished_points_and_exits_130(tmp_path):
    env = dict(os.environ)
    env.pop(SCHEDULER_ENV, None)
    out = tmp_path / "out"
    master, slave = _terminal()
    process = subprocess.Popen(
        [sys.executable, "-m", "measureopt", "sweep", str(RURAL), "--range", "budget.total_eur=80000000:140000000:20000",
         "--workers", "1", "--out", str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 120
    while not re.search(rb"\| [3-9]/3001 \[", shown) and time.monotonic() < deadline:  # wait for 3 finished points
        if select.select([master], [], [], 0.5)[0]:
            shown += os.read(master, 65536)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    while select.select([master], [], [], 0.2)[0]:
        try:
            shown += os.read(master, 65536)
        except OSError:
            break
    os.close(master)
    text = shown.decode("utf-8", "replace")
    assert process.returncode == 130, text
    assert re.search(r"points: +0%.*0/3001.*running 1, failed 0", text)  # done, running, failed and the ETA
    assert re.search(r"\d+/3001 \[\d\d:\d\d<\d\d:\d\d", text)
    assert "interrupted" in text
    table = pd.read_csv(out / "sweep.csv")
    assert 3 <= len(table) < 3001
    assert list(table["point"]) == list(range(len(table)))  # serially: the first points, in order
    assert set(table["status"]) <= {"optimal", "infeasible"}


def test_quiet_shows_no_progress_bar(tmp_path):
    master, slave = _terminal()
    process = subprocess.run(
        [sys.executable, "-m", "measureopt", "sweep", str(RURAL), "--range", "budget.total_eur=100000000:120000000:20000000",
         "--workers", "1", "--out", str(tmp_path / "out"), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=slave, timeout=120)
    os.close(slave)
    try:
        shown = os.read(master, 65536)
    except OSError:  # EIO: the terminal was closed with nothing written on it
        shown = b""
    os.close(master)
    assert process.returncode == 0 and b"points" not in shown
