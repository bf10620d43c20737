"""A decoded problem compiled into the arrays the numba kernels work on.

Variables are renumbered 0..n-1 in increasing order of their original ids (`var_ids` maps back).
The cost of a state v (ising: v ∈ {−1, +1}; pubo: v ∈ {0, 1}) is

    constant + Σ_i h[i]·v_i + Σ_{i<j} J_ij·v_i·v_j + Σ_t hc[t]·Π_{j∈t} v_j + Σ_g C_g·(Σ_k w_k·v_k + w0_g)²

with the quadratic part stored twice as a symmetric CSR (row i lists every j with J_ij), and also as a dense
matrix when the problem is dense enough that contiguous rows beat scattered updates. Terms of degree ≥ 3
("higher") keep their variable lists plus a variable → term incidence CSR. SLC groups keep their inner
coefficients plus a variable → (group, weight) incidence CSR; `slc_const[g]` is w0_g.

Flipping variable i changes v_i by d = −2·v_i (ising) or 1 − 2·v_i (pubo). Because the cost is multilinear in
each v_i (outside the SLC squares), ΔE = d·(h_i + Σ_j J_ij v_j + Σ_{t∋i} hc_t Π_{j∈t∖i} v_j)
+ Σ_{g∋i} C_g·(2·L_g·w_gi·d + w_gi²·d²), where L_g is the group's current inner sum.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from contracts.problems import ProblemData, id_positions

# Dense storage is chosen when the quadratic part fills at least this fraction of the matrix and the matrix fits.
DENSE_MIN_DENSITY = 0.2
DENSE_MAX_N = 4096


@dataclass
class CompiledModel:
    n: int
    ising: bool
    var_ids: np.ndarray  # int64 [n], original ids, increasing
    constant: float
    h: np.ndarray  # float64 [n]
    adj_ptr: np.ndarray  # int64 [n+1]
    adj_idx: np.ndarray  # int32 [2m]
    adj_w: np.ndarray  # float64 [2m]
    dense: np.ndarray | None  # float64 [n, n] symmetric, zero diagonal; None for sparse problems
    hterm_c: np.ndarray  # float64 [H]
    hterm_ptr: np.ndarray  # int64 [H+1]
    hterm_vars: np.ndarray  # int32
    hinc_ptr: np.ndarray  # int64 [n+1]
    hinc_term: np.ndarray  # int32: terms containing each variable
    slc_c: np.ndarray  # float64 [G]
    slc_const: np.ndarray  # float64 [G]
    slc_ptr: np.ndarray  # int64 [G+1]
    slc_vars: np.ndarray  # int32
    slc_w: np.ndarray  # float64
    sinc_ptr: np.ndarray  # int64 [n+1]
    sinc_group: np.ndarray  # int32
    sinc_w: np.ndarray  # float64
    initial_state: np.ndarray | None  # int8 [n] or None

    @property
    def n_quadratic(self) -> int:
        return int(self.adj_idx.shape[0] // 2)

    @property
    def has_higher(self) -> bool:
        return self.hterm_c.shape[0] > 0

    @property
    def has_slc(self) -> bool:
        return self.slc_c.shape[0] > 0

    @property
    def max_degree(self) -> int:
        deg = np.diff(self.adj_ptr)
        return int(deg.max()) if deg.size else 0

    @cached_property
    def sweep_entries(self) -> int:
        """Coefficient entries one sweep of one walker touches: per variable itself, its quadratic neighbours (its
        dense row), every variable of each of its degree ≥ 3 terms, its SLC groups. ~1 ns each: what sizes a run's
        first chunk (solver_runner.solvers.base) before any sweep has been timed."""
        degrees = np.diff(self.hterm_ptr).astype(np.int64)
        dense = self.n * self.n if self.dense is not None else 0
        return int(self.n + self.adj_idx.shape[0] + int(np.dot(degrees, degrees)) + self.sinc_group.shape[0] + dense)

    def configuration(self, state: np.ndarray) -> dict[str, int]:
        """The wire form of a state: original ids as strings → ±1 or 0/1."""
        return {str(int(k)): int(v) for k, v in zip(self.var_ids, state)}


def _csr(rows: np.ndarray, n: int, *payloads: np.ndarray) -> tuple[np.ndarray, ...]:
    """Group `payloads` by `rows` (stable), returning (ptr, *payloads sorted by row). Rows below 2¹⁶ are sorted as
    uint16, which numpy sorts by radix: Gset G1's 38 352 entries 2.2 → 0.3 ms."""
    order = np.argsort(rows.astype(np.uint16) if n <= 1 << 16 else rows, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=ptr[1:])
    return (ptr, *(p[order] for p in payloads))


def compile_problem(problem: ProblemData, dense: bool | None = None) -> CompiledModel:
    """Compile `problem`; `dense` forces (True/False) or auto-selects (None) the dense quadratic matrix."""
    var_ids = problem.variable_ids()
    n = int(var_ids.shape[0])
    deg = np.diff(problem.offsets)
    idx = id_positions(var_ids, problem.ids)
    term_of = np.repeat(np.arange(problem.n_terms), deg)
    coeffs = problem.coeffs

    constant = float(coeffs[deg == 0].sum())

    lin = deg == 1
    h = np.bincount(idx[problem.offsets[:-1][lin]], weights=coeffs[lin], minlength=n).astype(np.float64)

    quad_terms = np.flatnonzero(deg == 2)
    start = problem.offsets[:-1][quad_terms]
    a = idx[start]
    b = idx[start + 1]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * np.int64(max(n, 1)) + hi
    ukey, inverse = np.unique(key, return_inverse=True)
    w = np.bincount(inverse, weights=coeffs[quad_terms], minlength=ukey.shape[0]) if ukey.size else np.zeros(0)
    keep = w != 0.0
    ukey, w = ukey[keep], w[keep]
    qi, qj = ukey // max(n, 1), ukey % max(n, 1)
    rows = np.concatenate([qi, qj])
    cols = np.concatenate([qj, qi]).astype(np.int32)
    ws = np.concatenate([w, w]).astype(np.float64)
    adj_ptr, adj_idx, adj_w = _csr(rows, n, cols, ws)

    m = ukey.shape[0]
    density = (2.0 * m) / (n * (n - 1)) if n > 1 else 0.0
    use_dense = dense if dense is not None else (n <= DENSE_MAX_N and density >= DENSE_MIN_DENSITY)
    dense_matrix = None
    if use_dense:
        dense_matrix = np.zeros((n, n), np.float64)
        dense_matrix[qi, qj] = w
        dense_matrix[qj, qi] = w

    higher = np.flatnonzero(deg >= 3)
    hterm_c = coeffs[higher].astype(np.float64)
    hdeg = deg[higher]
    hterm_ptr = np.zeros(higher.shape[0] + 1, np.int64)
    np.cumsum(hdeg, out=hterm_ptr[1:])
    in_higher = np.isin(term_of, higher) if higher.size else np.zeros(idx.shape[0], bool)
    hterm_vars = idx[in_higher].astype(np.int32)
    hterm_index = np.repeat(np.arange(higher.shape[0], dtype=np.int32), hdeg)
    hinc_ptr, hinc_term = _csr(hterm_vars.astype(np.int64), n, hterm_index)

    g_count = problem.slc_coeffs.shape[0]
    group_of = np.repeat(np.arange(g_count, dtype=np.int32), np.diff(problem.slc_offsets))
    is_const = problem.slc_term_ids < 0
    slc_const = np.bincount(group_of[is_const], weights=problem.slc_term_coeffs[is_const], minlength=g_count).astype(np.float64)
    var_entries = ~is_const
    slc_vars = id_positions(var_ids, problem.slc_term_ids[var_entries]).astype(np.int32)
    slc_w = problem.slc_term_coeffs[var_entries].astype(np.float64)
    slc_group = group_of[var_entries]
    slc_ptr = np.zeros(g_count + 1, np.int64)
    np.cumsum(np.bincount(slc_group, minlength=g_count), out=slc_ptr[1:])
    sinc_ptr, sinc_group, sinc_w = _csr(slc_vars.astype(np.int64), n, slc_group, slc_w)

    initial_state = None
    if problem.initial_configuration:
        default = 1 if problem.is_ising else 0
        initial_state = np.full(n, default, np.int8)
        keys = np.fromiter(problem.initial_configuration.keys(), np.int64)
        vals = np.fromiter(problem.initial_configuration.values(), np.int64)
        initial_state[id_positions(var_ids, keys)] = vals

    return CompiledModel(
        n=n,
        ising=problem.is_ising,
        var_ids=var_ids,
        constant=constant,
        h=h,
        adj_ptr=adj_ptr,
        adj_idx=adj_idx,
        adj_w=adj_w,
        dense=dense_matrix,
        hterm_c=hterm_c,
        hterm_ptr=hterm_ptr,
        hterm_vars=hterm_vars,
        hinc_ptr=hinc_ptr,
        hinc_term=hinc_term,
        slc_c=problem.slc_coeffs.astype(np.float64),
        slc_const=slc_const,
        slc_ptr=slc_ptr,
        slc_vars=slc_vars,
        slc_w=slc_w,
        sinc_ptr=sinc_ptr,
        sinc_group=sinc_group,
        sinc_w=sinc_w,
        initial_state=initial_state,
    )


def model_arrays(model: CompiledModel) -> tuple:
    """The fixed-order tuple of arrays every kernel takes as `M` (solver_runner/kernels/common.py documents it)."""
    dense = model.dense if model.dense is not None else np.zeros((0, 0), np.float64)
    return (
        model.h, model.adj_ptr, model.adj_idx, model.adj_w, dense,
        model.hterm_c, model.hterm_ptr, model.hterm_vars, model.hinc_ptr, model.hinc_term,
        model.slc_c, model.slc_const, model.slc_ptr, model.slc_vars, model.slc_w,
        model.sinc_ptr, model.sinc_group, model.sinc_w,
    )
