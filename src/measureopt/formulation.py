"""The mixed-integer program of SPEC 4, built as arrays from index sets.

This module is the single source of truth of the formulation: it turns a validated `Case` into
column bounds, integrality, a sparse constraint matrix (CSR) with row bounds, and objective
vectors. Every constraint family is one function whose docstring gives its math with the SPEC's
symbols. The arrays are handed to HiGHS directly (`solver.py`) or to Pyomo (`pyomo_model.py`).

Symbols -> code: u_j `cols.u`, y_j `cols.y` (equal to `cols.u` for a yes/no measure, where
u_j = y_j), w_j `cols.w`, z_P `cols.z`, pi_mP `cols.pi`, B_m `cols.benefit`, B `cols.benefit_total`,
t `cols.t`; c_j capex_eur, f_j fixed_capex_eur, o_j opex_eur, s_j bill_savings_eur,
a_j co2_reduction_t, L_j lifetime_years, h_j households_served, v_j `v`, U_j max_units,
N_j min_units, d_P capex_discount.

With `periods` (SPEC 4.1: "every u, y, w gains a year index t"), the single-period columns stay
as the plan's totals, u_j = sum_t u_jt, y_j = sum_t y_jt, w_j = sum_t w_jt, so every family of the
single-period model holds for the target year's portfolio unchanged (every plan year is <= the
target year). The year columns are `cols.y_t`, `cols.u_t`, `cols.w_t` (measure x year); with one
plan year they *are* the totals, and the model is the single-period one plus its annual rows.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .case import Case
from .errors import CaseError, Problem
from .periods import municipal_year_caps, plan_years

INF = np.inf

#: Row families that are planner-facing requirements (reported as binding, relaxed when infeasible).
REQUIREMENTS = (
    "budget_total", "budget_cluster", "budget_municipality",
    "target_joint", "target_cluster", "target_each",
    "vulnerable_share", "population_floor", "gini_max", "maxmin",
    "budget_year", "budget_year_cluster", "budget_year_municipality", "trajectory",
)


def crf(rate: float, years) -> np.ndarray:
    """Capital recovery factor CRF(r, L) = r(1+r)^L / ((1+r)^L - 1), and 1/L when r = 0."""
    years = np.asarray(years, dtype=float)
    if rate == 0:
        return 1.0 / years
    growth = (1.0 + rate) ** years
    return rate * growth / (growth - 1.0)


def row_largest(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Largest |coefficient| of each row of a CSR matrix or block (entries per row, values in row
    order); 0 for a row without one. Rows of one or two coefficients (most of them) are read
    directly: `np.maximum.reduceat` pays per row."""
    counts = np.asarray(counts)
    start = np.cumsum(counts) - counts
    magnitude = np.abs(values)
    largest = np.zeros(len(counts))
    single, pair, many = (np.flatnonzero(condition) for condition in (counts == 1, counts == 2, counts > 2))
    largest[single] = magnitude[start[single]]
    if len(pair):
        largest[pair] = np.maximum(magnitude[:-1], magnitude[1:])[start[pair]]
    bounds = np.column_stack([start[many], start[many] + counts[many]]).ravel()  # [first, end) of each row
    largest[many] = np.maximum.reduceat(magnitude, bounds[:-1] if len(bounds) and bounds[-1] == len(magnitude) else bounds)[::2]
    return largest


#: Added to the bits of a positive double, carries into its exponent exactly when its mantissa is at
#: least sqrt(2) (0x6A09E667F3BCD: sqrt(2)'s mantissa bits), so that the exponent becomes round(log2)
_SQRT2_CARRY = (1 << 52) - 0x6A09E667F3BCD
_NORMAL = (np.finfo(float).tiny, np.finfo(float).max)


def power_of_two_scale(largest: np.ndarray) -> np.ndarray:
    """Row factors 2^-round(log2 largest) (exact powers of two), 1 where largest is 0: they bring
    each row's largest coefficient near 1 (see `Formulation.row_scale`). When every largest is a
    normal number (no row without coefficients), read off its bits: a third of the time of frexp."""
    largest = np.asarray(largest, dtype=float)
    if largest.size and _NORMAL[0] <= largest.min() and largest.max() <= _NORMAL[1]:
        exponent = largest.view(np.int64) + _SQRT2_CARRY
        exponent >>= 52  # 1023 + round(log2 largest)
        np.minimum(exponent, 2045, out=exponent)
        np.subtract(2046, exponent, out=exponent)
        exponent <<= 52
        return exponent.view(np.float64)  # 2^-round(log2 largest), clipped as below
    largest = np.where(largest == 0, 1.0, largest)
    mantissa, exponent = np.frexp(largest)  # largest = mantissa 2^exponent, mantissa in [0.5, 1)
    exponent -= mantissa < np.sqrt(0.5)  # now round(log2(largest))
    return ((1023 - np.clip(exponent, -1023, 1022).astype(np.int64)) << 52).view(np.float64)  # 2^-exponent, bit by bit


@dataclass
class Columns:
    """Column positions of every variable family, and the column bounds and types."""

    lower: list = field(default_factory=list)
    upper: list = field(default_factory=list)
    integer: list = field(default_factory=list)
    count: int = 0
    u: np.ndarray = None
    y: np.ndarray = None
    own_y: np.ndarray = None  # measures with a selection column of their own
    w: np.ndarray = None  # -1 where the measure cannot be bought through a programme
    closed: np.ndarray = None  # columns fixed at 0: a measure before its earliest_year
    z: np.ndarray = None
    pi: np.ndarray = None
    pi_m: np.ndarray = None
    pi_p: np.ndarray = None
    pi_of: np.ndarray = None  # per measure: the position of its (municipality, programme) pair in pi, -1 if none
    benefit: np.ndarray | None = None
    benefit_total: int = -1
    gini_pairs: np.ndarray | None = None
    t: int = -1
    years: list = field(default_factory=list)  # plan years; one implicit year without periods
    y_t: np.ndarray | None = None  # measure x year: implemented in that year (y_jt)
    u_t: np.ndarray | None = None  # measure x year: units implemented in that year (u_jt)
    w_t: np.ndarray | None = None  # measure x year: units bought through the programme (w_jt), -1 if none

    def add(self, kind: str, n: int, lower, upper, integer) -> np.ndarray:
        """A block of n new `kind` columns (u, y, w, ...), bounds and integrality given per column or
        as one number for all; returns their positions."""
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)))
        self.integer.append(np.broadcast_to(np.asarray(integer, dtype=bool), (n,)))
        positions = np.arange(self.count, self.count + n)
        self.count += n
        return positions


@dataclass(frozen=True)
class _Triplets:
    """A block of rows in CSR pieces: entries per row, then columns and values in row-major order."""

    counts: np.ndarray
    cols: np.ndarray
    vals: np.ndarray

    @property
    def n(self) -> int:
        return len(self.counts)

    @property
    def size(self) -> int:
        return len(self.vals)

    @property
    def width(self) -> int | None:
        """Entries of every row when all rows have as many (> 0), else None."""
        width = self.size // max(self.n, 1)
        return width if width and (self.counts == width).all() else None

    def largest(self) -> np.ndarray:
        """Largest |value| of each row."""
        width = self.width
        if width is None:
            return row_largest(self.counts, self.vals)
        if width > self.n:  # long rows (one row): numpy reduces along a row quickly, across short ones slowly
            table = self.vals.reshape(-1, width)
            return np.maximum(table.max(axis=1), -table.min(axis=1))
        table = np.abs(self.vals).reshape(-1, width)
        largest = table[:, 0].copy()
        for i in range(1, width):
            np.maximum(largest, table[:, i], out=largest)
        return largest

    def write(self, first: int, indptr, indices, values, scaled, factor) -> None:
        """Its rows into a matrix's arrays (the slices of its rows and entries, entries numbered
        from `first`), and its values times each row's factor (`largest`'s) into `scaled`."""
        np.cumsum(self.counts, out=indptr)
        indptr += first
        indices[:] = self.cols
        values[:] = self.vals
        width = self.width
        if width is None:
            np.multiply(self.vals, np.repeat(factor, self.counts), out=scaled)
        else:
            np.multiply(self.vals.reshape(-1, width), factor[:, None], out=scaled.reshape(-1, width))


@dataclass(frozen=True)
class _PerRow:
    """A block of n rows, row k holding one entry (column[k], value[k]) of each (column, value)
    pair of `entries` (see `Rows.add_per_row`)."""

    n: int
    entries: list

    @property
    def size(self) -> int:
        return self.n * len(self.entries)

    def largest(self) -> np.ndarray:
        """Largest |value| of each row, or of all rows (an array of one) when every value is one number."""
        numbers = [value for _, value in self.entries if np.ndim(value) == 0]
        arrays = [value for _, value in self.entries if np.ndim(value)]
        largest = np.abs(np.asarray(numbers, dtype=float)).max(initial=0.0, keepdims=not arrays)
        if arrays:
            magnitude = np.abs(arrays[0], dtype=float)
            largest = np.maximum(magnitude, largest, out=magnitude)
            for value in arrays[1:]:
                np.maximum(largest, np.abs(value), out=largest)
        return largest

    def write(self, first: int, indptr, indices, values, scaled, factor) -> None:
        """As `_Triplets.write`."""
        width = len(self.entries)
        indptr[:] = np.arange(first + width, first + self.size + 1, width, dtype=np.int32)
        indices, values, scaled = (array.reshape(self.n, width) for array in (indices, values, scaled))
        for i, (column, value) in enumerate(self.entries):
            indices[:, i] = column
            values[:, i] = value
            np.multiply(value, factor, out=scaled[:, i])


@dataclass
class Rows:
    """Constraint rows accumulated block by block, each block one constraint family: row keys and
    bounds, and its coefficients (`_Triplets` or `_PerRow`)."""

    blocks: list = field(default_factory=list)
    lower: list = field(default_factory=list)
    upper: list = field(default_factory=list)
    family: list = field(default_factory=list)  # (first row, number of rows, family)
    keys: list = field(default_factory=list)  # (first row, ids, positions in ids or None)
    count: int = 0

    def add(self, family: str, keys, row, col, val, lower, upper) -> None:
        """A block of rows from (row, column, value) triplets, `row` counted inside the block
        (0..len(keys)-1; None for a block of one row); entries of one row and column are summed,
        zeros dropped."""
        col, val = np.asarray(col, dtype=np.int64), np.asarray(val, dtype=float)
        single = len(keys) == 1
        row = None if single else np.asarray(row, dtype=np.int64)
        position = col if single else (row << 32) | col  # row-major order (columns are below 2^31)
        if not (position[1:] > position[:-1]).all():
            order = np.argsort(position, kind="stable")  # a few sorted runs: merged in linear time
            position, val = position[order], val[order]
            repeated = position[1:] == position[:-1]
            if repeated.any():
                first = np.flatnonzero(np.r_[True, ~repeated])
                position, val = position[first], np.add.reduceat(val, first)
            row, col = (None, position) if single else (position >> 32, position & 0xFFFFFFFF)
        if not val.all():
            nonzero = val != 0
            row, col, val = None if single else row[nonzero], col[nonzero], val[nonzero]
        counts = np.array([len(col)]) if single else np.bincount(row, minlength=len(keys))
        self._append(family, keys, _Triplets(counts, col, val), lower, upper)

    def add_per_row(self, family: str, keys, entries: list, lower, upper) -> None:
        """A block of rows k = 0..len(keys)-1, row k holding one entry (column[k], value[k]) of each
        (column, value) pair of `entries`, given in increasing column order."""
        n = len(keys)
        ordered = all(np.all(np.asarray(c) > np.asarray(b)) for (b, _), (c, _) in zip(entries, entries[1:]))
        if not (ordered and all(np.all(v) for _, v in entries)):  # out of order, repeated or zero
            width = len(entries)
            col, val = np.empty((n, width), np.int64), np.empty((n, width))
            for i, (c, v) in enumerate(entries):
                col[:, i], val[:, i] = c, v
            return self.add(family, keys, np.repeat(np.arange(n), width), col.ravel(), val.ravel(), lower, upper)
        self._append(family, keys, _PerRow(n, entries), lower, upper)

    def _append(self, family: str, keys, block, lower, upper) -> None:
        """A block of rows: its coefficients (`_Triplets` or `_PerRow`), keys and bounds."""
        n = len(keys)
        self.blocks.append(block)
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)))
        self.family.append((self.count, n, family))
        if n:
            self.keys.append((self.count, keys.ids, keys.at) if isinstance(keys, IdsAt) else (self.count, np.asarray(keys, dtype=object), None))
        self.count += n

    def matrix(self, n_cols: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """All blocks as one canonical CSR matrix (int32 indices, as HiGHS takes them), with its
        row factors (`Formulation.row_scale`) and its values times them, written block by block."""
        nnz = sum(block.size for block in self.blocks)
        if max(nnz, self.count, n_cols) >= 2**31:
            raise ValueError(f"{nnz} nonzeros, {self.count} rows, {n_cols} columns: beyond HiGHS's 32-bit indices")
        indptr = np.zeros(self.count + 1, np.int32)
        indices, values, scaled, factors = np.empty(nnz, np.int32), np.empty(nnz), np.empty(nnz), np.empty(self.count)
        row = entry = 0
        for block in self.blocks:
            rows, entries = slice(row, row + block.n), slice(entry, entry + block.size)
            factors[rows] = factor = power_of_two_scale(block.largest())  # (one for all rows of a block of numbers)
            block.write(entry, indptr[row + 1:rows.stop + 1], indices[entries], values[entries], scaled[entries], factor)
            row, entry = rows.stop, entries.stop
        return sp.csr_matrix((values, indices, indptr), shape=(self.count, n_cols)), factors, scaled

    def labels(self) -> tuple[np.ndarray, RowKeys]:
        """Family (an object array) and key of every row."""
        family = np.empty(self.count, object)
        for start, n, name in self.family:
            family[start:start + n] = name
        return family, RowKeys(self.keys, self.count)


@dataclass(frozen=True)
class IdsAt:
    """Row keys ids[at] of a block of rows (e.g. measure ids), taken only when they are read."""

    ids: np.ndarray
    at: np.ndarray

    def __len__(self) -> int:
        return len(self.at)


class RowKeys:
    """The key of every row (a measure id, a municipality, "municipality/programme", ...), read
    from the blocks of `Rows` when asked for: one key by row number, or all as an object array
    (`np.asarray`). Models at national size have millions of rows and few keys are ever read."""

    def __init__(self, blocks: list[tuple[int, np.ndarray, np.ndarray | None]], count: int):
        self._blocks = blocks
        self._starts = [start for start, _, _ in blocks]
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, item):
        if not isinstance(item, (int, np.integer)):
            return np.asarray(self)[item]
        row = int(item) + (self._count if item < 0 else 0)
        if not 0 <= row < self._count:
            raise IndexError(f"row {item} of {self._count}")
        start, ids, at = self._blocks[bisect.bisect_right(self._starts, row) - 1]
        return ids[row - start] if at is None else ids[at[row - start]]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        keys = np.empty(self._count, object)
        for (start, ids, at), end in zip(self._blocks, [*self._starts[1:], self._count]):
            if at is None:
                keys[start:end] = ids
            else:
                np.take(ids, at, out=keys[start:end])
        return keys if dtype is None else keys.astype(dtype)

    def __iter__(self):
        return iter(np.asarray(self))


def appended_keys(keys: RowKeys | np.ndarray, more) -> RowKeys:
    """Row keys `keys` (RowKeys or an array) followed by `more`, for rows appended to a model."""
    blocks = keys._blocks if isinstance(keys, RowKeys) else [(0, np.asarray(keys, dtype=object), None)] if len(keys) else []
    return RowKeys([*blocks, (len(keys), np.asarray(more, dtype=object), None)], len(keys) + len(more))


@dataclass
class Formulation:
    """The MIP as arrays: min/max c.x s.t. row_lower <= A x <= row_upper, col bounds, integrality."""

    case: Case
    cols: Columns
    matrix: sp.csr_matrix
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_family: np.ndarray
    row_key: RowKeys | np.ndarray  # key by row number; np.asarray gives them all
    objective: np.ndarray
    sense: int  # +1 minimise, -1 maximise
    objective_name: str
    #: (matrix, its row factors, its values times them or None), kept by `row_scale` and
    #: `scaled_values`: formulations derived with `replace` share it while their matrix is the same
    #: object (bounds, objective or sense changed)
    scale_of_matrix: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def row_scale(self) -> np.ndarray:
        """Per-row factors (powers of two, exact) that bring each row's largest coefficient near 1,
        2^-round(log2 max|a_i.|), 1 for a row without one: HiGHS is given the rows times these.

        Budget rows in EUR and target rows in t/yr differ by orders of magnitude; unscaled, HiGHS's
        absolute tolerances let 1e9-EUR rows drift (a "solve error" at 1,000 municipalities).
        """
        if self.scale_of_matrix is None or self.scale_of_matrix[0] is not self.matrix:
            self.scale_of_matrix = (self.matrix, power_of_two_scale(row_largest(np.diff(self.matrix.indptr), self.matrix.data)), None)
        return self.scale_of_matrix[1]

    @property
    def scaled_values(self) -> np.ndarray:
        """The matrix's values (`matrix.data`) times `row_scale`, row by row: the coefficients HiGHS is given."""
        scale = self.row_scale
        if self.scale_of_matrix[2] is None:
            self.scale_of_matrix = (self.matrix, scale, self.matrix.data * np.repeat(scale, np.diff(self.matrix.indptr)))
        return self.scale_of_matrix[2]


@dataclass(frozen=True)
class Coefficients:
    """A linear expression per measure: coefficients on u_j, y_j and w_j (read-only zeros, from
    `_zeros`, for a term the expression does not have)."""

    u: np.ndarray
    y: np.ndarray
    w: np.ndarray

    def scaled(self, factor) -> "Coefficients":
        return Coefficients(self.u * factor, self.y * factor, self.w * factor)


def _measure_terms(cols: Columns, coef: Coefficients) -> tuple:
    """(columns, values, measures with a column) of u, y and w in coef . (u, y, w): a yes/no
    measure's u and y are one column, its value coef.u + coef.y (coef.u when no y term is nonzero,
    as for abatement: up to the sign of a zero)."""
    u = coef.u + np.where(cols.own_y, 0.0, coef.y) if coef.y.any() else coef.u
    return (cols.u, u, None), (cols.y, coef.y, cols.own_y), (cols.w, coef.w, cols.w >= 0)


def _measure_triplets(cols: Columns, coef: Coefficients, group: np.ndarray | None = None, more: tuple = ()):
    """Triplets of sum over measures of coef . (u, y, w), one row per group id (>= 0), followed by
    the triplets `more` (rows, columns, values); without groups one row, and the rows are None (see
    `Rows.add`)."""
    parts_r, parts_c, parts_v = [], [], []
    grouped = None if group is None else group >= 0
    for positions, values, has in _measure_terms(cols, coef):
        keep = values != 0
        for condition in (has, grouped):
            if condition is not None:
                keep &= condition
        kept = slice(None) if keep.all() else np.flatnonzero(keep)  # an index is quicker than the mask for three arrays
        parts_c.append(positions[kept])
        parts_v.append(values[kept])
        parts_r.append(None if group is None else group[kept])
    for parts, extra in zip((parts_r, parts_c, parts_v), more):
        parts.append(extra)
    return None if group is None else _joined(parts_r), _joined(parts_c), _joined(parts_v)


def _joined(parts: list) -> np.ndarray:
    """The arrays `parts` one after the other: the only nonempty one itself (no copy), when so."""
    nonempty = [part for part in parts if len(part)]
    return nonempty[0] if len(nonempty) == 1 else np.concatenate(parts)


def _measure_vector(cols: Columns, coef: Coefficients) -> np.ndarray:
    """coef . (u, y, w) summed over measures, as a vector over all columns (-0.0 stored as 0.0)."""
    vector = np.zeros(cols.count)
    for positions, values, has in _measure_terms(cols, coef):  # distinct columns
        if values.any():  # zeros need no writing
            vector[positions if has is None else positions[has]] = (values if has is None else values[has]) + 0.0
    return vector


def _year_triplets(cols: Columns, coef: Coefficients, group: np.ndarray):
    """Triplets of sum over measures of coef . (u_jt, y_jt, w_jt), one row per (group id >= 0,
    year t), numbered group * T + t."""
    n_years = len(cols.years)
    code = np.where(group[:, None] >= 0, group[:, None] * n_years + np.arange(n_years)[None, :], -1)
    parts_r, parts_c, parts_v = [], [], []
    for positions, values in ((cols.u_t, coef.u), (cols.y_t, coef.y), (cols.w_t, coef.w)):
        values = np.broadcast_to(values[:, None], positions.shape)
        keep = (code >= 0) & (values != 0) & (positions >= 0)
        parts_r.append(code[keep])
        parts_c.append(positions[keep])
        parts_v.append(values[keep])
    return np.concatenate(parts_r), np.concatenate(parts_c), np.concatenate(parts_v)


def _kept_rows(r: np.ndarray, c: np.ndarray, v: np.ndarray, keep: np.ndarray):
    """Triplets of the rows where `keep` (indexed by row number) holds, renumbered 0..keep.sum()-1."""
    renumber = np.cumsum(keep) - 1
    mask = keep[r]
    return renumber[r[mask]], c[mask], v[mask]


def _from_year_on(r: np.ndarray, c: np.ndarray, v: np.ndarray, n_years: int):
    """Each triplet of year row t repeated in the row of every year t' >= t (prefix sums)."""
    counts = n_years - r
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(r, counts) + offset, np.repeat(c, counts), np.repeat(v, counts)


def _pair_keys(first, second) -> np.ndarray:
    """Row keys "first/second" for every pair, first-major (e.g. municipality/year)."""
    a = np.repeat(np.asarray(first, dtype=object).astype(str), len(second))
    b = np.tile(np.asarray(second, dtype=object).astype(str), len(first))
    return (pd.Series(a) + "/" + pd.Series(b)).to_numpy(dtype=object)


def _codes(values: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes of a column (-1 for missing) and the ids in code order (first appearance)."""
    present = np.flatnonzero(values.notna().to_numpy())
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[present], uniques = pd.factorize(values.to_numpy()[present])
    return codes, list(uniques)


# --- derived per-measure quantities (SPEC 4.2) ------------------------------------------------

def investment(case: Case, discount: np.ndarray) -> Coefficients:
    """I_j = f_j y_j + c_j u_j - d_P(j) c_j w_j."""
    m = case.measures
    capex = m["capex_eur"].to_numpy()
    return Coefficients(capex, m["fixed_capex_eur"].to_numpy(), -discount * capex)


def _zeros(n: int) -> np.ndarray:
    """n zero coefficients as a read-only view of one zero: no memory to write or read."""
    return np.broadcast_to(0.0, (n,))


def abatement(case: Case) -> Coefficients:
    """A_j = a_j u_j."""
    a = case.measures["co2_reduction_t"].to_numpy()
    return Coefficients(a, _zeros(len(a)), _zeros(len(a)))


def net_cost(case: Case, discount: np.ndarray) -> Coefficients:
    """EAC_j = CRF(r,L_j)(f_j y_j + c_j u_j - d c_j w_j) + (o_j - s_j) u_j."""
    m = case.measures
    factor = crf(case.settings.economics.discount_rate, m["lifetime_years"].to_numpy())
    inv = investment(case, discount).scaled(factor)
    return Coefficients(inv.u + m["opex_eur"].to_numpy() - m["bill_savings_eur"].to_numpy(), inv.y, inv.w)


def benefit(case: Case) -> Coefficients:
    """b_j u_j by justice.benefit: a_j | c_j | s_j | h_j; for `investment`, f_j y_j + c_j u_j."""
    m = case.measures
    kind = case.settings.justice.benefit
    column = {"abatement": "co2_reduction_t", "investment": "capex_eur", "bill_savings": "bill_savings_eur", "households": "households_served"}[kind]
    per_unit = m[column].to_numpy()
    fixed = m["fixed_capex_eur"].to_numpy() if kind == "investment" else _zeros(len(m))
    return Coefficients(per_unit, fixed, _zeros(len(m)))


def programme_discount(case: Case, eligible: np.ndarray) -> np.ndarray:
    """d_P(j) for measures that can be bought through their programme, else 0."""
    j = np.flatnonzero(eligible)
    discount = np.zeros(len(eligible))
    discount[j] = np.nan_to_num(case.programmes["capex_discount"].to_numpy(dtype=float)[case.links.programme[j]])
    return discount


def programme_eligible(case: Case) -> np.ndarray:
    """Measures whose programme exists and admits their municipality (programme cluster)."""
    programme = case.links.programme
    j = np.flatnonzero(programme >= 0)
    prog_cluster = case.programmes["cluster"].to_numpy(dtype=object)[programme[j]]
    muni_cluster = case.municipalities["cluster"].to_numpy(dtype=object)[case.measures["m"].to_numpy()[j]]
    eligible = np.zeros(len(programme), bool)
    eligible[j] = pd.isna(prog_cluster) | (prog_cluster == muni_cluster)
    return eligible


def _member_pairs(case: Case, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (municipality, programme) pairs of the eligible measures `j`, in order of first appearance:
    the pair of each eligible measure, and the municipality and programme positions of each pair."""
    n_programmes = max(len(case.programmes), 1)
    pair_of, pairs = pd.factorize(case.measures["m"].to_numpy()[j] * n_programmes + case.links.programme[j])
    return pair_of.astype(np.int64), pairs // n_programmes, pairs % n_programmes


# --- variables (SPEC 4.1) ---------------------------------------------------------------------

def add_measure_columns(case: Case, cols: Columns) -> None:
    """u_j in [0, U_j] (integer where `integer`), y_j in {0,1}; committed u_j = U_j, excluded u_j = 0.

    A yes/no measure (integer, U_j = 1) needs no separate y_j: there u_j = y_j.
    """
    m = case.measures
    upper = m["max_units"].to_numpy()
    integer = m["integer"].to_numpy(dtype=bool)
    committed, excluded = case.links.committed, case.links.excluded
    lower = np.where(committed, upper, 0.0) if committed.any() else 0.0  # (one number when none is committed)
    cols.u = cols.add("u", len(m), lower, np.where(excluded, 0.0, upper) if excluded.any() else upper, integer)
    cols.own_y = ~(integer & (upper == 1))
    own = np.flatnonzero(cols.own_y)  # an index, not a mask: quicker for several arrays
    y_own = cols.add("y", len(own), committed[own].astype(float) if committed.any() else 0.0,
                     np.where(excluded[own], 0.0, 1.0) if excluded.any() else 1.0, True)
    cols.y = cols.u.copy()
    cols.y[own] = y_own


def link_units_and_selection(case: Case, cols: Columns, rows: Rows) -> None:
    """u_j <= U_j y_j ; u_j >= N_j y_j ; y_j <= u_j when integer (no empty selection)."""
    m = case.measures
    upper, minimum, ids = m["max_units"].to_numpy(), m["min_units"].to_numpy(), m["measure"].to_numpy()
    j = np.flatnonzero(cols.own_y)  # measures with a y_j column; an index, not a mask: quicker for several arrays
    rows.add_per_row("link_max_units", IdsAt(ids, j), [(cols.u[j], 1.0), (cols.y[j], -upper[j])], -INF, 0.0)
    j = np.flatnonzero(cols.own_y & (minimum > 0))
    rows.add_per_row("link_min_units", IdsAt(ids, j), [(cols.u[j], 1.0), (cols.y[j], -minimum[j])], 0.0, INF)
    j = np.flatnonzero(cols.own_y & m["integer"].to_numpy(dtype=bool))
    rows.add_per_row("link_selected", IdsAt(ids, j), [(cols.u[j], -1.0), (cols.y[j], 1.0)], -INF, 0.0)


def add_programme_columns(case: Case, cols: Columns, eligible: np.ndarray) -> None:
    """w_j in [0, U_j] for eligible measures; z_P in {0,1}; pi_mP in {0,1} per candidate member."""
    m = case.measures
    j = np.flatnonzero(eligible)  # an index, not a mask: quicker for several arrays
    cols.w = np.full(len(m), -1, dtype=np.int64)
    cols.w[j] = cols.add("w", len(j), 0.0, m["max_units"].to_numpy()[j], False)
    cols.z = cols.add("z", len(case.programmes), 0.0, 1.0, True)
    pair_of, cols.pi_m, cols.pi_p = _member_pairs(case, j)
    cols.pi_of = np.full(len(m), -1, dtype=np.int64)
    cols.pi_of[j] = pair_of
    cols.pi = cols.add("pi", len(cols.pi_m), 0.0, 1.0, True)


def programme_rules(case: Case, cols: Columns, rows: Rows, eligible: np.ndarray) -> None:
    """w_j <= u_j ; w_j <= U_j pi_m(j)P ; pi_mP <= sum_{j of m in P} y_j ; pi_mP <= z_P ;
    sum_m pi_mP >= min_members_P z_P.
    """
    m = case.measures
    j = np.flatnonzero(eligible)
    ids = IdsAt(m["measure"].to_numpy(), j)
    ones = np.ones(len(j))
    rows.add_per_row("programme_units", ids, [(cols.u[j], -1.0), (cols.w[j], 1.0)], -INF, 0.0)
    pair_of = cols.pi_of[j]
    rows.add_per_row("programme_member_units", ids, [(cols.w[j], 1.0), (cols.pi[pair_of], -m["max_units"].to_numpy()[j])], -INF, 0.0)
    munis = case.municipalities.index.to_numpy(dtype=object)
    programmes = case.programmes.index.to_numpy(dtype=object)
    pair_keys = (munis + "/")[cols.pi_m] + programmes[cols.pi_p]
    q = np.arange(len(cols.pi))
    rows.add("programme_member_selected", pair_keys, np.r_[q, pair_of], np.r_[cols.pi, cols.y[j]],
             np.r_[np.ones(len(q)), -ones], -INF, 0.0)
    rows.add_per_row("programme_member_runs", pair_keys, [(cols.z[cols.pi_p], -1.0), (cols.pi, 1.0)], -INF, 0.0)
    p = np.arange(len(case.programmes))
    rows.add("programme_min_members", case.programmes.index.to_numpy(), np.r_[cols.pi_p, p],
             np.r_[cols.pi, cols.z], np.r_[np.ones(len(q)), -case.programmes["min_members"].to_numpy()], 0.0, INF)


# --- constraints (SPEC 4.3) -------------------------------------------------------------------

def alternatives(case: Case, cols: Columns, rows: Rows) -> None:
    """sum over a group's measures of y_j <= 1."""
    codes, groups = case.links.group, case.links.group_ids
    size = np.bincount(codes + 1, minlength=len(groups) + 1)[1:]  # (code -1: no group)
    member = np.flatnonzero((codes >= 0) & (np.r_[size, 0][codes] > 1))
    renumber = np.cumsum(size > 1) - 1
    keys = groups[size > 1]
    rows.add("group", keys, renumber[codes[member]], cols.y[member], np.ones(len(member)), -INF, 1.0)


def prerequisites(case: Case, cols: Columns, rows: Rows) -> None:
    """y_j <= y_requires(j)."""
    m = case.measures
    j, req = case.links.prerequisites()
    rows.add_per_row("requires", IdsAt(m["measure"].to_numpy(), j), [(cols.y[j], 1.0), (cols.y[req], -1.0)], -INF, 0.0)


def budgets(case: Case, cols: Columns, rows: Rows, inv: Coefficients) -> None:
    """I <= total_eur ; I_m <= budget_eur_m ; cluster investment <= cluster_eur_c.

    Admin costs of running programmes count in I and in their own cluster's investment only.
    """
    budget = case.settings.budget
    admin = case.programmes["admin_cost_eur"].to_numpy()
    if budget is not None and budget.total_eur is not None:
        _, c, v = _measure_triplets(cols, inv, more=(None, cols.z, admin))
        rows.add("budget_total", ["total"], None, c, v, -INF, budget.total_eur)
    if budget is not None and budget.cluster_eur:
        keys = list(budget.cluster_eur)
        code = pd.Index(keys)
        muni_cluster = code.get_indexer(case.municipalities["cluster"].to_numpy(dtype=object))
        prog = code.get_indexer(case.programmes["cluster"].to_numpy(dtype=object))
        has = prog >= 0
        r, c, v = _measure_triplets(cols, inv, muni_cluster[case.measures["m"].to_numpy()], (prog[has], cols.z[has], admin[has]))
        rows.add("budget_cluster", keys, r, c, v, -INF, np.array([budget.cluster_eur[k] for k in keys]))
    caps = case.municipalities["budget_eur"].to_numpy()
    capped = ~np.isnan(caps)
    if capped.any():
        renumber = np.full(len(caps), -1)
        renumber[capped] = np.arange(capped.sum())
        r, c, v = _measure_triplets(cols, inv, renumber[case.measures["m"].to_numpy()])
        rows.add("budget_municipality", case.municipalities.index.to_numpy()[capped], r, c, v, -INF, caps[capped])


def required_reduction(case: Case, scope_codes: np.ndarray, n_scopes: int, reduction: float | None = None) -> np.ndarray:
    """R_S = max(0, reduction * sum_{m in S} baseline_m - sum_{m in S} achieved_m)
    (reduction = target.reduction unless given, e.g. a trajectory share)."""
    munis = case.municipalities
    keep = scope_codes >= 0
    baseline = np.bincount(scope_codes[keep], munis["baseline_emissions_t"].to_numpy()[keep], n_scopes)
    achieved = np.bincount(scope_codes[keep], munis["achieved_t"].to_numpy()[keep], n_scopes)
    share = case.settings.target.reduction if reduction is None else reduction
    return np.maximum(0.0, share * baseline - achieved)


def target_scopes(case: Case) -> tuple[np.ndarray, list]:
    """Scope of every municipality (code per municipality) and the scope names, for target.scope
    (joint when there is no target: the scope of a trajectory alone)."""
    munis = case.municipalities
    scope = case.settings.target.scope if case.settings.target is not None else "joint"
    if scope == "joint":
        return np.zeros(len(munis), np.int64), ["joint"]
    if scope == "cluster":
        return _codes(munis["cluster"])
    return np.arange(len(munis), dtype=np.int64), list(munis.index)


def targets(case: Case, cols: Columns, rows: Rows) -> None:
    """joint: A >= R ; cluster: A_c >= R_c per cluster ; each: A_m >= R_m."""
    if case.settings.target is None:
        return
    scope_of_muni, names = target_scopes(case)
    required = required_reduction(case, scope_of_muni, len(names))
    joint = len(names) == 1 and (scope_of_muni == 0).all()
    r, c, v = _measure_triplets(cols, abatement(case), None if joint else scope_of_muni[case.measures["m"].to_numpy()])
    rows.add(f"target_{case.settings.target.scope}", names, r, c, v, required, INF)


def benefit_columns(case: Case, cols: Columns, rows: Rows, ben: Coefficients) -> None:
    """B_m = sum of benefit over m's measures ; B = sum_m B_m (auxiliary columns)."""
    n = len(case.municipalities)
    cols.benefit = cols.add("B_m", n, 0.0, INF, False)
    cols.benefit_total = int(cols.add("B", 1, 0.0, INF, False)[0])
    r, c, v = _measure_triplets(cols, ben.scaled(-1.0), case.measures["m"].to_numpy())
    k = np.arange(n)
    rows.add("benefit_m", case.municipalities.index.to_numpy(), np.r_[k, r], np.r_[cols.benefit, c],
             np.r_[np.ones(n), v], 0.0, 0.0)
    rows.add("benefit_total", ["B"], np.zeros(n + 1, np.int64), np.r_[cols.benefit_total, cols.benefit],
             np.r_[1.0, -np.ones(n)], 0.0, 0.0)


def vulnerable_share(case: Case, cols: Columns, rows: Rows, ben: Coefficients) -> None:
    """V >= vulnerable_share_min * B, with V = sum_j v_j b_j u_j: sum_j (v_j - share) b_j u_j >= 0."""
    share = case.settings.justice.vulnerable_share_min
    if share is None:
        return
    r, c, v = _measure_triplets(cols, ben.scaled(case.measures["v"].to_numpy() - share))
    rows.add("vulnerable_share", ["V"], r, c, v, 0.0, INF)


def population_floor(case: Case, cols: Columns, rows: Rows) -> None:
    """B_m >= population_floor * (pop_m / pop_total) * B for every municipality m."""
    floor = case.settings.justice.population_floor
    if floor is None:
        return
    pop = case.municipalities["population"].to_numpy()
    rows.add_per_row("population_floor", case.municipalities.index.to_numpy(),
                     [(cols.benefit, 1.0), (cols.benefit_total, -floor * pop / pop.sum())], 0.0, INF)


#: Up to this many municipalities the Gini cap is written with pairwise rows; above, it is
#: enforced by cutting planes (`gini_cut`), one dense row per ordering, added while violated.
GINI_PAIRWISE_MAX = 60


def gini_cap(case: Case, cols: Columns, rows: Rows, scale: float) -> None:
    """sum_{m<n} |pop_n B_m - pop_m B_n| <= gini_max * pop_total * B, linearised with d_mn >= 0.

    Rows are scaled: with share p_m = pop_m / pop_total and x_m = k B_m / pop_m,
    d_mn >= +-(x_m - x_n) and sum_{m<n} p_m p_n d_mn <= gini_max * k * B / pop_total.
    Used up to GINI_PAIRWISE_MAX municipalities; larger cases get `gini_cut` rows instead.
    """
    gini_max = case.settings.justice.gini_max
    pop = case.municipalities["population"].to_numpy()
    if gini_max is None or len(pop) > GINI_PAIRWISE_MAX:
        return
    total = pop.sum()
    first, second = np.triu_indices(len(pop), k=1)
    n_pairs = len(first)
    cols.gini_pairs = cols.add("d_mn", n_pairs, 0.0, INF, False)
    x_first, x_second = scale / pop[first], scale / pop[second]
    keys = np.arange(n_pairs)
    for sign, family in ((1.0, "gini_pair_pos"), (-1.0, "gini_pair_neg")):
        rows.add_per_row(family, keys, [(cols.benefit[first], -sign * x_first), (cols.benefit[second], sign * x_second),
                                        (cols.gini_pairs, 1.0)], 0.0, INF)
    share = pop / total
    rows.add("gini_max", ["gini"], np.zeros(n_pairs + 1, np.int64), np.r_[cols.gini_pairs, cols.benefit_total],
             np.r_[share[first] * share[second], -gini_max * scale / total], -INF, 0.0)


def _ranked_shares(case: Case, benefit_by_muni: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Municipalities ranked by per-capita benefit B_m / pop_m (ties by position), and for each m
    W_below(m) - W_above(m): the population shares ranked below m minus those ranked above."""
    pop = case.municipalities["population"].to_numpy()
    order = np.argsort(benefit_by_muni / pop, kind="stable")
    share = pop[order] / pop.sum()
    below = np.cumsum(share) - share
    spread = np.empty(len(pop))
    spread[order] = below - (1.0 - below - share)
    return order, spread


def gini_cut_coefficients(case: Case, benefit_by_muni: np.ndarray) -> np.ndarray:
    """W_below(m) - W_above(m) - gini_max for the ranking of benefit per head: the coefficient of
    B_m in the Gini cap's cut for that ranking (`gini_cut`)."""
    return _ranked_shares(case, benefit_by_muni)[1] - case.settings.justice.gini_max


def gini_cut(form: "Formulation", benefit_by_muni: np.ndarray) -> "Formulation":
    """The Gini cap's cut for the ordering of per-capita benefit x_m = B_m / pop_m.

    For any signs s_mn in {-1, 1}, sum_{m<n} s_mn (pop_n B_m - pop_m B_n) <= the Gini sum, with
    equality for s_mn = sign(x_m - x_n). Taking the signs of the current ordering gives the valid
    row sum_m B_m (W_below(m) - W_above(m) - gini_max) <= 0, with W the population shares ranked
    below and above m; the cap holds iff every such row holds.
    """
    coef = gini_cut_coefficients(form.case, benefit_by_muni)
    row = sp.csr_matrix((coef, (np.zeros(len(coef), np.int64), form.cols.benefit)), shape=(1, form.shape[1]))
    matrix = sp.vstack([form.matrix, row], format="csr")
    return replace(
        form, matrix=matrix, scale_of_matrix=(matrix, np.r_[form.row_scale, power_of_two_scale(row_largest([row.nnz], row.data))], None),
        row_lower=np.r_[form.row_lower, -INF], row_upper=np.r_[form.row_upper, 0.0],
        row_family=np.r_[form.row_family, np.array(["gini_max"], dtype=object)],
        row_key=appended_keys(form.row_key, [f"cut {int(np.sum(form.row_family == 'gini_max')) + 1}"]),
    )


def gini_ordered(form: "Formulation", benefit_by_muni: np.ndarray) -> "Formulation":
    """A sufficient condition for the Gini cap, linear for a fixed ranking sigma of municipalities
    (that of `benefit_by_muni` per head): an inner approximation, whose every portfolio meets the cap.

    New columns per municipality: a level L_m >= 0 (a benefit whose per-head value L_m / pop_m is
    ranked as sigma) and D_m >= |B_m - L_m|. With per-head values x_m = B_m / pop_m and
    l_m = L_m / pop_m, |x_m - x_n| <= |x_m - l_m| + |l_m - l_n| + |l_n - x_n|, so the Gini sum
    sum_{m<n} pop_m pop_n |x_m - x_n| / pop_total^2 (at most gini_max B / pop_total for the cap) is
    at most (sum_m (1 - s_m) D_m + sum_m (W_below(m) - W_above(m)) L_m) / pop_total, with shares
    s_m = pop_m / pop_total. Rows: D_m -+ (B_m - L_m) >= 0, l_sigma(i+1) - l_sigma(i) >= 0 (times
    pop_total) and sum_m (1 - s_m) D_m + sum_m (W_below(m) - W_above(m)) L_m - gini_max B <= 0,
    which is `gini_cut` for L = B. Any portfolio whose x is ranked as sigma fits (L = B, D = 0),
    so re-ranking by a solution never loses it.
    """
    case, (n_rows, n_cols) = form.case, form.shape
    pop = case.municipalities["population"].to_numpy()
    n = len(pop)
    order, spread = _ranked_shares(case, benefit_by_muni)
    share = pop / pop.sum()
    level, gap = n_cols + np.arange(n), n_cols + n + np.arange(n)
    rows, munis = Rows(), case.municipalities.index.to_numpy()
    for sign, family in ((1.0, "gini_spread_pos"), (-1.0, "gini_spread_neg")):
        rows.add_per_row(family, munis, [(form.cols.benefit, -sign), (level, sign), (gap, 1.0)], 0.0, INF)
    low, high = order[:-1], order[1:]
    rows.add_per_row("gini_order", munis[high], [(level[low], -1.0 / share[low]), (level[high], 1.0 / share[high])], 0.0, INF)
    rows.add("gini_max", ["ordered"], None, np.r_[form.cols.benefit_total, level, gap],
             np.r_[-case.settings.justice.gini_max, spread, 1.0 - share], -INF, 0.0)
    family, keys = rows.labels()
    widened = sp.csr_matrix((form.matrix.data, form.matrix.indices, form.matrix.indptr), shape=(n_rows, n_cols + 2 * n))
    return replace(
        form, cols=replace(form.cols, count=n_cols + 2 * n),
        matrix=sp.vstack([widened, rows.matrix(n_cols + 2 * n)[0]], format="csr"),
        col_lower=np.r_[form.col_lower, np.zeros(2 * n)], col_upper=np.r_[form.col_upper, np.full(2 * n, INF)],
        integrality=np.r_[form.integrality, np.zeros(2 * n, bool)], objective=np.r_[form.objective, np.zeros(2 * n)],
        row_lower=np.r_[form.row_lower, np.concatenate(rows.lower)], row_upper=np.r_[form.row_upper, np.concatenate(rows.upper)],
        row_family=np.r_[form.row_family, family], row_key=appended_keys(form.row_key, np.asarray(keys)),
    )


def benefit_floor(form: "Formulation", per_head: float) -> "Formulation":
    """`form` with B_m >= per_head * pop_m for every municipality m (bounds on the B_m columns).

    An inner approximation of the Gini cap when per_head is high enough (if every B_m / B >=
    f * pop_m / pop_total, the Lorenz curve lies above f q and the Gini is at most 1 - f); the
    engine checks the cap on the solution rather than relying on that bound.
    """
    lower = form.col_lower.copy()
    lower[form.cols.benefit] = np.maximum(lower[form.cols.benefit], per_head * form.case.municipalities["population"].to_numpy())
    return replace(form, col_lower=lower)


def needs_gini_cuts(case: Case) -> bool:
    """Whether the Gini cap is enforced by cuts (`gini_cut`) rather than pairwise rows."""
    return case.settings.justice.gini_max is not None and len(case.municipalities) > GINI_PAIRWISE_MAX


def maxmin_floor(case: Case, cols: Columns, rows: Rows) -> None:
    """B_m / pop_m >= t for every m: B_m - pop_m t >= 0 (t is a column; fixed in stage 2)."""
    pop = case.municipalities["population"].to_numpy()
    cols.t = int(cols.add("t", 1, 0.0, INF, False)[0])
    rows.add_per_row("maxmin", case.municipalities.index.to_numpy(), [(cols.benefit, 1.0), (cols.t, -pop)], 0.0, INF)


# --- multi-year plans (SPEC 4.1 and 4.3 with periods) ----------------------------------------

def add_year_columns(case: Case, cols: Columns) -> None:
    """y_jt in {0,1}, u_jt in [0, U_j], w_jt in [0, U_j] for every measure j and plan year t, all 0
    for t < earliest_year_j. A yes/no measure has u_jt = y_jt. u_jt needs no integrality: with
    sum_t y_jt = y_j at most one year holds all of the (integer) u_j.

    With one plan year the year columns are the totals u_j, y_j, w_j themselves (no new column).
    """
    m = case.measures
    years = np.array(plan_years(case.settings))
    cols.years = [int(y) for y in years]
    n, n_years = len(m), len(years)
    allowed = np.ones((n, n_years), bool)
    if case.settings.periods is not None:
        allowed = ~(years[None, :] < m["earliest_year"].to_numpy(dtype=float)[:, None])  # blank: any year
    if n_years == 1:
        cols.y_t, cols.u_t, cols.w_t = cols.y[:, None], cols.u[:, None], cols.w[:, None]
    else:
        upper = m["max_units"].to_numpy()
        own, has_w = cols.own_y, cols.w >= 0
        cols.y_t = cols.add("y_t", n * n_years, 0.0, 1.0, True).reshape(n, n_years)
        cols.u_t = cols.y_t.copy()
        cols.u_t[own] = cols.add("u_t", own.sum() * n_years, 0.0, np.repeat(upper[own], n_years), False).reshape(-1, n_years)
        cols.w_t = np.full((n, n_years), -1, dtype=np.int64)
        cols.w_t[has_w] = cols.add("w_t", has_w.sum() * n_years, 0.0, np.repeat(upper[has_w], n_years), False).reshape(-1, n_years)
    late = ~allowed
    cols.closed = np.concatenate([cols.y_t[late], cols.u_t[late], cols.w_t[late & (cols.w_t >= 0)]]).astype(np.int64)


def link_years(case: Case, cols: Columns, rows: Rows) -> None:
    """sum_t y_jt = y_j (implemented in at most one year) ; sum_t u_jt = u_j ; sum_t w_jt = w_j ;
    u_jt <= U_j y_jt ; w_jt <= U_j y_jt. Nothing to link with one plan year.

    (A big-M tightened by the budgets was tried: no faster on the examples, and it hides budget
    limits from the infeasibility explanation, which relaxes budget rows only.)"""
    n, n_years = cols.y_t.shape
    if n_years == 1:
        return
    m = case.measures
    ids, upper = m["measure"].to_numpy(), m["max_units"].to_numpy()
    own, has_w = cols.own_y, cols.w >= 0
    for family, mask, per_year, total in (("year_selection", np.ones(n, bool), cols.y_t, cols.y),
                                          ("year_units", own, cols.u_t, cols.u),
                                          ("year_programme_units", has_w, cols.w_t, cols.w)):
        j = np.flatnonzero(mask)
        k = np.arange(len(j))
        rows.add(family, IdsAt(ids, j), np.r_[np.repeat(k, n_years), k], np.r_[per_year[j].ravel(), total[j]],
                 np.r_[np.ones(len(j) * n_years), -np.ones(len(j))], 0.0, 0.0)
    for family, mask, per_year in (("year_units_max", own, cols.u_t), ("year_programme_max", has_w, cols.w_t)):
        j = np.flatnonzero(mask)
        rows.add_per_row(family, _pair_keys(ids[j], cols.years),
                         [(per_year[j].ravel(), 1.0), (cols.y_t[j].ravel(), -np.repeat(upper[j], n_years))], -INF, 0.0)


def prerequisites_in_time(case: Case, cols: Columns, rows: Rows) -> None:
    """Not before the prerequisite: sum_{s<=t} y_js <= sum_{s<=t} y_requires(j),s for every plan
    year t but the last (there it is y_j <= y_requires(j)). The same year is allowed."""
    n_years = len(cols.years)
    if n_years == 1:
        return
    m = case.measures
    j, req = case.links.prerequisites()
    if len(j) == 0:
        return
    year_of_row, upto = np.nonzero(np.tril(np.ones((n_years - 1, n_years), bool)))  # pairs s <= t < last
    r = (np.arange(len(j))[:, None] * (n_years - 1) + year_of_row[None, :]).ravel()
    ones = np.ones(len(r))
    rows.add("requires_year", _pair_keys(m["measure"].to_numpy()[j], cols.years[:-1]), np.r_[r, r],
             np.r_[cols.y_t[j][:, upto].ravel(), cols.y_t[req][:, upto].ravel()], np.r_[ones, -ones], -INF, 0.0)


def annual_budgets(case: Case, cols: Columns, rows: Rows, inv: Coefficients) -> None:
    """I_t <= periods.budget_eur[t] (with carry_over: sum_{s<=t} I_s <= sum_{s<=t} budget_eur[s]) ;
    cluster investment of year t <= periods.cluster_budget_eur[c][t] ;
    I_mt <= budget_eur_<t> of m, where I_t = sum_j (f_j y_jt + c_j u_jt - d_P(j) c_j w_jt) and
    programme admin costs are paid in the first plan year (in the total and their cluster's row).
    """
    periods = case.settings.periods
    if periods is None:
        return
    years, n_years = cols.years, len(cols.years)
    admin = case.programmes["admin_cost_eur"].to_numpy()
    muni_of = case.measures["m"].to_numpy()
    caps = np.array([periods.budget_eur.get(y, np.nan) for y in years])
    if not np.isnan(caps).all():
        r, c, v = _year_triplets(cols, inv, np.zeros(len(muni_of), np.int64))
        r, c, v = np.r_[r, np.zeros(len(admin), np.int64)], np.r_[c, cols.z], np.r_[v, admin]
        if periods.carry_over:  # every year is capped (validated): sum_{s<=t} I_s <= sum_{s<=t} budget_s
            r, c, v = _from_year_on(r, c, v, n_years)
            caps = np.cumsum(caps)
        keep = ~np.isnan(caps)
        rows.add("budget_year", np.array(years, dtype=object)[keep], *_kept_rows(r, c, v, keep), -INF, caps[keep])
    if periods.cluster_budget_eur:
        keys = list(periods.cluster_budget_eur)
        code = pd.Index(keys)
        r, c, v = _year_triplets(cols, inv, code.get_indexer(case.municipalities["cluster"].to_numpy(dtype=object))[muni_of])
        prog = code.get_indexer(case.programmes["cluster"].to_numpy(dtype=object))
        has = prog >= 0
        caps = np.array([[periods.cluster_budget_eur[k].get(y, np.nan) for y in years] for k in keys]).ravel()
        keep = ~np.isnan(caps)
        rows.add("budget_year_cluster", _pair_keys(keys, years)[keep],
                 *_kept_rows(np.r_[r, prog[has] * n_years], np.r_[c, cols.z[has]], np.r_[v, admin[has]], keep), -INF, caps[keep])
    caps = municipal_year_caps(case.municipalities, years).ravel()
    keep = ~np.isnan(caps)
    if keep.any():
        r, c, v = _year_triplets(cols, inv, muni_of)
        rows.add("budget_year_municipality", _pair_keys(case.municipalities.index.to_numpy(), years)[keep],
                 *_kept_rows(r, c, v, keep), -INF, caps[keep])


def trajectory(case: Case, cols: Columns, rows: Rows) -> None:
    """A_S,tau = sum_{j in S} a_j sum_{t <= tau} u_jt >= R_S(tau) for every trajectory year tau, with
    R_S(tau) = max(0, trajectory[tau] * sum_S baseline - sum_S achieved) over the target's scopes
    (joint without a target)."""
    periods = case.settings.periods
    if periods is None or not periods.trajectory:
        return
    scope_of_muni, names = target_scopes(case)
    taus = sorted(periods.trajectory)
    year_of_entry, tau_of_entry = np.nonzero(np.array(cols.years)[:, None] <= np.array(taus)[None, :])
    a = abatement(case).u
    scope = scope_of_muni[case.measures["m"].to_numpy()]
    j = np.flatnonzero((a != 0) & (scope >= 0))
    r = (scope[j][:, None] * len(taus) + tau_of_entry[None, :]).ravel()
    required = np.stack([required_reduction(case, scope_of_muni, len(names), periods.trajectory[tau]) for tau in taus], axis=1)
    rows.add("trajectory", _pair_keys(names, taus), r, cols.u_t[j][:, year_of_entry].ravel(),
             np.repeat(a[j], len(year_of_entry)), required.ravel(), INF)


def cumulative_abatement_vector(case: Case, cols: Columns) -> np.ndarray:
    """sum over plan years tau of A_tau = sum_j a_j sum_t u_jt * #{plan years tau >= t}: a unit
    implemented in plan year t counts once in every plan year from t on (tonnes over the plan)."""
    n_years = len(cols.years)
    weight = abatement(case).u[:, None] * (n_years - np.arange(n_years))[None, :]
    return np.bincount(cols.u_t.ravel(), weight.ravel(), minlength=cols.count)


# --- objectives (SPEC 4.4) --------------------------------------------------------------------

def objective_vector(case: Case, cols: Columns, name: str, discount: np.ndarray) -> tuple[np.ndarray, int]:
    """The objective of SPEC 4.4 as a vector over columns, and its sense (+1 min, -1 max)."""
    admin = case.programmes["admin_cost_eur"].to_numpy()
    settings = case.settings
    admin_share = 0.0  # programme admin costs in the objective, per euro
    if name == "max_abatement":
        coef, sense = abatement(case), -1
    elif name == "min_investment":
        coef, sense, admin_share = investment(case, discount), 1, 1.0
    elif name == "min_net_cost":
        coef, sense = net_cost(case, discount), 1
        admin_share = crf(settings.economics.discount_rate, settings.economics.horizon_years)
    elif name == "max_weighted_benefit":
        weight = case.equity_weights()[case.measures["m"].to_numpy()] * (1 + settings.weights.vulnerable_bonus * case.measures["v"].to_numpy())
        coef, sense = benefit(case).scaled(weight), -1
    elif name == "maxmin_t":
        vector = np.zeros(cols.count)
        vector[cols.t] = 1.0
        return vector, -1
    elif name == "max_cumulative_abatement" and settings.periods is not None:
        return cumulative_abatement_vector(case, cols), -1
    else:
        raise CaseError([Problem("case.yaml", None, "objective", f"{name} needs `periods` (multi-year plans)", name)])
    vector = _measure_vector(cols, coef)
    if admin_share:
        vector[cols.z] += admin_share * admin
    return vector, sense


def build(case: Case, objective: str | None = None) -> Formulation:
    """The formulation of SPEC 4 for a case (one period); `objective` overrides the settings'."""
    justice = case.settings.justice
    cols, rows = Columns(), Rows()
    eligible = programme_eligible(case)
    discount = programme_discount(case, eligible)
    add_measure_columns(case, cols)
    add_programme_columns(case, cols, eligible)
    add_year_columns(case, cols)
    link_units_and_selection(case, cols, rows)
    programme_rules(case, cols, rows, eligible)
    link_years(case, cols, rows)
    alternatives(case, cols, rows)
    prerequisites(case, cols, rows)
    prerequisites_in_time(case, cols, rows)
    inv = investment(case, discount)
    budgets(case, cols, rows, inv)
    annual_budgets(case, cols, rows, inv)
    targets(case, cols, rows)
    trajectory(case, cols, rows)
    ben = benefit(case)
    vulnerable_share(case, cols, rows, ben)
    if justice.population_floor is not None or justice.gini_max is not None or justice.maxmin:
        benefit_columns(case, cols, rows, ben)
        population_floor(case, cols, rows)
        gini_cap(case, cols, rows, _gini_scale(case, ben))
        if justice.maxmin:
            maxmin_floor(case, cols, rows)
    name = objective or case.settings.objective
    vector, sense = objective_vector(case, cols, name, discount)
    col_upper = np.concatenate(cols.upper)
    col_upper[cols.closed] = 0.0
    row_family, row_key = rows.labels()
    matrix, factors, scaled = rows.matrix(cols.count)
    form = Formulation(
        case=case, cols=cols, matrix=matrix,
        col_lower=np.concatenate(cols.lower), col_upper=col_upper,
        integrality=np.concatenate(cols.integer),
        row_lower=np.concatenate(rows.lower), row_upper=np.concatenate(rows.upper),
        row_family=row_family, row_key=row_key,
        objective=vector, sense=sense, objective_name=name,
        scale_of_matrix=(matrix, factors, scaled),
    )
    return form


def _gini_scale(case: Case, ben: Coefficients) -> float:
    """k = pop_total / (largest possible B): keeps scaled per-capita benefits near 1."""
    m = case.measures
    potential = float(np.sum(ben.u * m["max_units"].to_numpy() + ben.y))
    return case.municipalities["population"].sum() / potential if potential > 0 else 1.0


def gini_row_scale(case: Case) -> float:
    """k / pop_total: the factor on B in the pairwise Gini row (see `gini_cap`)."""
    return _gini_scale(case, benefit(case)) / case.municipalities["population"].sum()
