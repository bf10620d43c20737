"""Exact minimisation of small QUBOs: a depth-first branch-and-bound, and brute force to check it in tests.

The QUBO is  min g(x) = Σ_i a_i x_i + Σ_{i<j} B_ij x_i x_j,  x ∈ {0,1}ⁿ  (B symmetric, zero diagonal, dense).

Branch-and-bound: variables are fixed in a fixed order (largest total |B| first); with x_0..x_k fixed, every
completion satisfies

    g(x) ≥ g_fixed + Σ_{i>k} min(0, a_i + Σ_{j≤k, x_j=1} B_ij + Σ_{j>i} min(0, B_ij))

(each free pair i<j is charged to its earlier variable i, and only its negative part can lower the cost), so a node
whose bound is not below the incumbent is cut. Σ_{j>i} min(0, B_ij) does not depend on k because the free set is
always a suffix of the order. The incumbent starts from a multi-start steepest descent. The search is exact when it
finishes within `node_limit` nodes; `solve` says whether it did, and callers must report an unfinished search as
best-found, not optimal.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _descent(a, B, x):
    """Steepest single-flip descent from x (in place); returns the cost. Plain loops: no BLAS (numba's `@` needs
    scipy)."""
    n = a.shape[0]
    field = a.copy()  # ∂g/∂x_i = a_i + Σ_j B_ij x_j (B has zero diagonal)
    for i in range(n):
        for j in range(n):
            if x[j]:
                field[i] += B[i, j]
    while True:
        best_i = -1
        best_d = -1e-9
        for i in range(n):
            d = field[i] if x[i] == 0 else -field[i]
            if d < best_d:
                best_d = d
                best_i = i
        if best_i < 0:
            break
        step = 1.0 if x[best_i] == 0 else -1.0
        x[best_i] = 1 - x[best_i]
        for j in range(n):
            field[j] += step * B[best_i, j]
    cost = 0.0
    for i in range(n):
        if x[i]:
            cost += a[i]
            for j in range(i + 1, n):
                if x[j]:
                    cost += B[i, j]
    return cost


@njit(cache=True)
def _multistart(a, B, starts, seed):
    np.random.seed(seed)
    n = a.shape[0]
    best = np.inf
    best_x = np.zeros(n, np.int8)
    for _ in range(starts):
        x = (np.random.random(n) < 0.5).astype(np.int8)
        e = _descent(a, B, x)
        if e < best:
            best = e
            best_x[:] = x
    return best, best_x


@njit(cache=True)
def _branch_and_bound(a, B, incumbent, incumbent_x, node_limit):
    """Exact search in the given variable order. Returns (best, best_x, nodes, finished)."""
    n = a.shape[0]
    negsum = np.zeros(n)
    for i in range(n):
        for j in range(i + 1, n):
            if B[i, j] < 0.0:
                negsum[i] += B[i, j]
    lin = a.copy()  # a_i + Σ_{fixed j with x_j = 1} B_ij
    x = np.zeros(n, np.int8)
    tried = np.zeros(n, np.int8)  # children tried at depth k (0, 1 or 2)
    first = np.zeros(n, np.int8)  # value tried first at depth k
    best = incumbent
    best_x = incumbent_x.copy()
    val = 0.0
    nodes = 0
    k = 0
    tried[0] = 0
    while k >= 0:
        if tried[k] > 0 and x[k] == 1:  # undo the previous child at this depth
            val -= lin[k]
            for j in range(k + 1, n):
                lin[j] -= B[k, j]
            x[k] = 0
        if tried[k] == 2:
            k -= 1
            continue
        if tried[k] == 0:
            first[k] = 1 if lin[k] < 0.0 else 0
            v = first[k]
        else:
            v = 1 - first[k]
        tried[k] += 1
        if v == 1:
            x[k] = 1
            val += lin[k]
            for j in range(k + 1, n):
                lin[j] += B[k, j]
        nodes += 1
        if nodes > node_limit:
            return best, best_x, nodes, False
        if k == n - 1:
            if val < best - 1e-9:
                best = val
                best_x[:] = x
            continue
        bound = val
        for i in range(k + 1, n):
            t = lin[i] + negsum[i]
            if t < 0.0:
                bound += t
        if bound >= best - 1e-9:
            continue
        k += 1
        tried[k] = 0
    return best, best_x, nodes, True


def solve(a: np.ndarray, B: np.ndarray, node_limit: int = 2_000_000_000, seed: int = 0) -> tuple[float, np.ndarray, bool, int]:
    """Minimum of Σ a_i x_i + Σ_{i<j} B_ij x_i x_j. Returns (cost, x int8 [n], proven_optimal, nodes)."""
    a = np.ascontiguousarray(a, np.float64)
    B = np.ascontiguousarray(B, np.float64)
    n = a.shape[0]
    if B.shape != (n, n) or not np.allclose(B, B.T) or np.any(np.diag(B) != 0):
        raise ValueError("B must be symmetric with a zero diagonal")
    if n == 0:
        return 0.0, np.zeros(0, np.int8), True, 0
    order = np.argsort(-np.abs(B).sum(axis=1), kind="stable")
    ap, Bp = a[order], B[np.ix_(order, order)]
    inc, inc_x = _multistart(ap, Bp, 200, seed)
    best, best_x, nodes, finished = _branch_and_bound(ap, Bp, inc, inc_x, node_limit)
    x = np.empty(n, np.int8)
    x[order] = best_x
    return float(best), x, bool(finished), int(nodes)


def brute_force(a: np.ndarray, B: np.ndarray) -> float:
    """Minimum by enumerating all 2ⁿ states (n ≤ 22): the obvious reference for tests."""
    n = a.shape[0]
    if n > 22:
        raise ValueError("brute force is for n ≤ 22")
    states = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.float64)
    costs = states @ a + 0.5 * np.einsum("si,ij,sj->s", states, B, states)
    return float(costs.min())
