"""`formulation.build` gives exactly the model it gave before it was made fast: every array of the
formulation (CSR matrix as stored, bounds, integrality, objective, row families and keys, column
positions) of example, generated and tiny cases hashes to the value captured from the original
array build (commit 70638c5). Regenerate tests/data/build_identity.json with
`python -m tests.test_build_identity` only when the model is changed on purpose.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt.formulation import build, gini_cut, power_of_two_scale, row_largest
from tests.conftest import CASES, EXAMPLE_CASES
from tests.reference.tiny_cases import write_tiny_case
from tests.reference.tiny_periods import add_periods

SNAPSHOT = Path(__file__).parent / "data" / "build_identity.json"
OBJECTIVES = ("max_abatement", "min_investment", "min_net_cost", "max_weighted_benefit")
JUSTICE = {"vulnerable_share_min": 0.3, "gini_max": 0.4}
COLUMN_POSITIONS = ("u", "y", "own_y", "w", "closed", "z", "pi", "pi_m", "pi_p", "benefit", "gini_pairs", "y_t", "u_t", "w_t")


def _hash(values) -> str:
    return hashlib.sha256(values).hexdigest()


def digest(form) -> dict:
    """SHA-256 of every array of a formulation, the CSR matrix exactly as stored (no re-sorting)."""
    matrix = form.matrix
    parts = {"shape": list(form.shape), "nnz": int(matrix.nnz), "canonical": bool(matrix.has_canonical_format),
             "sense": form.sense, "objective_name": form.objective_name}
    for name, arr in (("indptr", matrix.indptr), ("indices", matrix.indices), ("data", matrix.data),
                      ("col_lower", form.col_lower), ("col_upper", form.col_upper), ("integrality", form.integrality),
                      ("row_lower", form.row_lower), ("row_upper", form.row_upper), ("objective", form.objective)):
        parts[name] = _hash(np.ascontiguousarray(arr).astype(np.float64 if arr.dtype.kind == "f" else np.int64).tobytes())
    for name, arr in (("row_family", form.row_family), ("row_key", form.row_key)):
        parts[name] = _hash("\n".join(f"{type(x).__name__}:{x}" for x in arr).encode())
    cols = form.cols
    for name in COLUMN_POSITIONS:
        value = getattr(cols, name)
        parts[f"cols.{name}"] = None if value is None else _hash(np.asarray(value).astype(np.int64).tobytes())
    parts["cols.scalars"] = [int(cols.count), int(cols.benefit_total), int(cols.t), list(cols.years)]
    return parts


def formulations(tmp: Path):
    """(name, formulation) of every case the identity is pinned on."""
    for name in EXAMPLE_CASES:
        for scenario in [None, *(mo.load(CASES / name).source.get("scenarios") or {})]:
            yield f"{name}/{scenario or 'base'}", build(mo.load(CASES / name, scenario=scenario))
    region = mo.load(CASES / "region-44")
    for objective in OBJECTIVES:
        yield f"region-44/base/{objective}", build(region, objective)
    for n, justice in ((30, None), (30, JUSTICE), (30, {"population_floor": 0.5, "maxmin": True}), (70, JUSTICE)):
        label = f"generated-{n}-{'-'.join(justice or ['base'])}"
        form = build(mo.load(generate_case(tmp / label, n, 12, seed=n, justice=justice)))
        yield label, form
        if n > 60 and justice:
            benefit = np.linspace(1.0, 2.0, len(form.case.municipalities))
            yield f"{label}/gini-cut", gini_cut(gini_cut(form, benefit), benefit[::-1])
    for seed in range(40):
        yield f"tiny-{seed}", build(mo.load(write_tiny_case(tmp / f"tiny{seed}", seed)))
    for seed in range(6):
        justice = {"population_floor": 0.3, "gini_max": 0.5, "vulnerable_share_min": 0.2, "maxmin": seed % 2 == 0}
        case = write_tiny_case(tmp / f"justice{seed}", seed, justice=justice, programmes=True, groups=True, requires=True)
        yield f"tiny-justice-{seed}", build(mo.load(case))
        if justice["maxmin"]:
            yield f"tiny-justice-{seed}/maxmin_t", build(mo.load(case), "maxmin_t")
    for seed in range(24):
        knobs = {"carry_over": seed % 4 == 0, "n_years": 1 + seed % 3}
        if seed % 3 == 0:
            knobs["objective"] = "max_cumulative_abatement"
        case = add_periods(write_tiny_case(tmp / f"periods{seed}", seed, n_measures=5 + seed % 3, clusters=True), seed, **knobs)
        yield f"tiny-periods-{seed}", build(mo.load(case))


def test_build_gives_the_pinned_model(tmp_path):
    """Every pinned case builds exactly the arrays it did before (row order and keys included)."""
    expected = json.loads(SNAPSHOT.read_text())
    seen = {}
    for name, form in formulations(tmp_path):
        seen[name] = digest(form)
        assert seen[name] == expected[name], name
        np.testing.assert_array_equal(form.row_scale, _scale_of(form.matrix), err_msg=name)  # as the whole matrix gives it
        keys = np.asarray(form.row_key)  # one key at a time reads the same as all at once
        assert [(type(k), k) for k in map(form.row_key.__getitem__, range(len(keys)))] == [(type(k), k) for k in keys], name
        assert form.row_key[-1] == keys[-1] and list(form.row_key[[0, -1]]) == [keys[0], keys[-1]], name
    assert set(seen) == set(expected) and len(seen) == 96


def _scale_of(matrix: sp.csr_matrix) -> np.ndarray:
    """2^-round(log2 max|a|) row by row, 1 for an empty row, in plain Python."""
    return np.array([2.0 ** -round(np.log2(np.abs(row.data).max())) if row.nnz else 1.0 for row in matrix])


def test_row_scale_is_the_power_of_two_nearest_each_rows_largest_coefficient():
    """Rows of none, one, two and many coefficients (the last row dense), magnitudes 1e-8..1e9:
    each factor is 2^-round(log2 max|a|), computed row by row."""
    rng = np.random.default_rng(4)
    for trial in range(60):
        n_rows, n_cols = int(rng.integers(1, 25)), int(rng.integers(1, 25))
        dense = rng.random((n_rows, n_cols)) < rng.uniform(0.0, 0.6)
        dense[-1] = trial % 2 == 0  # a last row with every column, or none
        values = rng.choice([-1.0, 1.0], dense.shape) * rng.uniform(1, 10, dense.shape) * 10.0 ** rng.integers(-8, 9, dense.shape)
        matrix = sp.csr_matrix(np.where(dense, values, 0.0))
        expected = [2.0 ** -round(np.log2(np.abs(row).max())) if row.any() else 1.0 for row in np.where(dense, values, 0.0)]
        np.testing.assert_array_equal(power_of_two_scale(row_largest(np.diff(matrix.indptr), matrix.data)), expected)


def test_row_scale_is_shared_while_the_matrix_is_the_same():
    """Formulations derived with other bounds share the row factors; another matrix gets its own."""
    form = build(mo.load(CASES / "region-44"))
    derived = replace(form, col_lower=form.col_lower.copy(), sense=-form.sense)
    assert derived.row_scale is form.row_scale
    rescaled = replace(form, matrix=form.matrix * 1000.0)
    np.testing.assert_array_equal(rescaled.row_scale, _scale_of(rescaled.matrix))
    assert not np.array_equal(rescaled.row_scale, form.row_scale)
    benefit = np.linspace(1.0, 2.0, len(form.case.municipalities))
    cut = gini_cut(build(mo.load(CASES / "region-44", overrides={"justice": {"gini_max": 0.3}})), benefit)
    np.testing.assert_array_equal(cut.row_scale, _scale_of(cut.matrix))


if __name__ == "__main__":  # python -m tests.test_build_identity: capture the snapshot anew
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        snapshot = {name: digest(form) for name, form in formulations(Path(tmp))}
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"{len(snapshot)} formulations pinned in {SNAPSHOT}", file=sys.stderr)
