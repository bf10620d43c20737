"""Array-only primitives shared by every kernel: model tuple, energies, flip deltas, cached-field updates, sweeps.

Model tuple. A model travels to kernels as `M = model_arrays(model)`, always these 18 arrays in this order
(indices are part of the interface; kernels read `M[k]`):

     0 h           float64 [n]     linear coefficients
     1 adj_ptr     int64 [n+1]     symmetric CSR of the quadratic part: row i lists every j with J_ij (both halves)
     2 adj_idx     int32 [2m]
     3 adj_w       float64 [2m]
     4 dense       float64 [n, n]  the same quadratic part as a dense symmetric matrix, or shape (0, 0) if sparse
     5 hterm_c     float64 [H]     degree >= 3 terms: coefficient,
     6 hterm_ptr   int64 [H+1]     ... and variables hterm_vars[hterm_ptr[t]:hterm_ptr[t+1]]
     7 hterm_vars  int32
     8 hinc_ptr    int64 [n+1]     variable -> degree >= 3 terms containing it (incidence CSR)
     9 hinc_term   int32
    10 slc_c       float64 [G]     SLC groups: C_g,
    11 slc_const   float64 [G]     w0_g (the group's constant),
    12 slc_ptr     int64 [G+1]     ... and inner terms w_k·s[slc_vars[k]] for k in slc_ptr[g]:slc_ptr[g+1]
    13 slc_vars    int32
    14 slc_w       float64
    15 sinc_ptr    int64 [n+1]     variable -> (group, weight) incidence CSR
    16 sinc_group  int32
    17 sinc_w      float64

The constant term is not in M (pass `model.constant` where a full energy is needed). Flags `ising`,
`has_higher`, `has_slc` are passed separately so numba can specialise and skip dead branches.

State conventions (one walker):
- `s` int8 [n]: ±1 (ising) or 0/1 (pubo);
- `f` float64 [n]: cached quadratic local field f_i = h_i + Σ_j J_ij s_j (set by `init_fields`, kept by `apply_flip`);
- `L` float64 [G]: cached SLC inner sums L_g = w0_g + Σ_k w_k s_k (same);
- degree >= 3 terms are not cached: `higher_field` recomputes Σ_{t∋i} c_t Π_{j∈t∖i} s_j from the incidence CSR.
Flipping i changes s_i by d = −2 s_i (ising) or 1 − 2 s_i (pubo) and
    ΔE = d·(f_i + higher_i) + Σ_{g∋i} C_g (2 L_g w_gi d + w_gi² d²)
(derivation in solver_runner/model.py). ΔE is exact for any flip, so incremental energies only carry rounding.

Functions (all @njit(cache=True, nogil=True)):
- `energy(s, constant, M)`: full cost from the terms (no caches), float64.
- `init_fields(s, f, L, M)`: fill f and L for state s.
- `dense_products(s, h, dense, out)`: out = h + dense·s, vectorised (the dense path of `init_fields` and `energy`).
- `delta(s, f, L, i, ising, has_higher, has_slc, M)`: ΔE of flipping i (state unchanged).
- `apply_flip(s, f, L, i, ising, has_slc, M)`: flip i and update f (dense row or CSR scatter) and L.
- `random_state(s, ising, st, k)`: uniform random state from RNG stream k.
- `accept_uphill(a, st, k)`: the Metropolis test e^−a for a > 0, with exp only where cheap bounds cannot decide.
- `metropolis_sweep(...)` / `any_sweep(s, f, L, beta, ising, has_higher, has_slc, st, k, M)`: one in-order Metropolis
  pass over all variables at inverse temperature beta, returns the energy change; `any_sweep` picks the fastest
  specialisation (sparse quadratic, dense quadratic, general).
- `start_state(s, f, L, initial, ising, st, k, constant, M)`: the given or a random start state, its caches and
  energy (every kernel's walker initialisation).
- `copy_into(dst, src)`: dst[:] = src (1-D, same length) without numba's slice-assignment error path.
- `keep_best(e, s, BE, BS)`: insert state s of energy e into a walker's best-k set (distinct states, best first).
- `energies_of(S, constant, M)`: exact costs of the rows of S.
- `flip_deltas(s, ising, has_higher, has_slc, M)`: ΔE of flipping each variable of state s (state unchanged).
Per-variable primitives (`delta`, `apply_flip`, `higher_field`, `slc_delta`) are inline="always": call them from
a loop inside a function that receives M, never through an intermediate non-inlined per-variable function
(see the performance rule below `flip_step`).
RNG: solver_runner.kernels.rng.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from solver_runner.kernels.rng import next_u64, rand01

N_ARRAYS = 18


@njit(cache=True, nogil=True)
def random_state(s, ising, st, k):
    for i in range(s.shape[0]):
        bit = next_u64(st, k) >> np.uint64(63)
        if ising:
            s[i] = 1 if bit else -1
        else:
            s[i] = 1 if bit else 0


@njit(cache=True, nogil=True, inline="always")
def dense_products(s, h, dense, out):
    """out = h + dense · s for a symmetric `dense`, as one row-times-scalar add per nonzero s_j (row j is column j):
    the additions run along the rows, independent of each other, so they vectorise, where a dot product per row is
    one chain of dependent additions, each waiting for the last (benchmarks/README.md, "Design measurements")."""
    n = s.shape[0]
    for i in range(n):
        out[i] = h[i]
    for j in range(n):
        if s[j] != 0:
            c = float(s[j])
            row = dense[j]
            for i in range(n):
                out[i] += row[i] * c


@njit(cache=True, nogil=True)
def init_fields(s, f, L, M):
    """Fill f (quadratic local fields) and L (SLC inner sums) for state s."""
    h, adj_ptr, adj_idx, adj_w, dense = M[0], M[1], M[2], M[3], M[4]
    n = s.shape[0]
    if dense.shape[0] == n and n > 0:
        dense_products(s, h, dense, f)
    else:
        for i in range(n):
            acc = h[i]
            for p in range(adj_ptr[i], adj_ptr[i + 1]):
                acc += adj_w[p] * s[adj_idx[p]]
            f[i] = acc
    slc_const, slc_ptr, slc_vars, slc_w = M[11], M[12], M[13], M[14]
    for g in range(slc_const.shape[0]):
        acc = slc_const[g]
        for p in range(slc_ptr[g], slc_ptr[g + 1]):
            acc += slc_w[p] * s[slc_vars[p]]
        L[g] = acc


@njit(cache=True, nogil=True)
def energy(s, constant, M):
    """Full cost of state s, straight from the terms (no cached fields)."""
    h, adj_ptr, adj_idx, adj_w = M[0], M[1], M[2], M[3]
    hterm_c, hterm_ptr, hterm_vars = M[5], M[6], M[7]
    slc_c, slc_const, slc_ptr, slc_vars, slc_w = M[10], M[11], M[12], M[13], M[14]
    e = constant
    n = s.shape[0]
    quad = 0.0
    dense = M[4]
    if dense.shape[0] == n and n > 0:  # vectorised (dense_products), not a chain of gathers per row
        js = np.zeros(n)  # J·s
        dense_products(s, js, dense, js)
        for i in range(n):
            e += h[i] * s[i]
            quad += js[i] * s[i]
    else:
        for i in range(n):
            e += h[i] * s[i]
            acc = 0.0
            for p in range(adj_ptr[i], adj_ptr[i + 1]):
                acc += adj_w[p] * s[adj_idx[p]]
            quad += acc * s[i]
    e += 0.5 * quad
    for t in range(hterm_c.shape[0]):
        prod = hterm_c[t]
        for p in range(hterm_ptr[t], hterm_ptr[t + 1]):
            prod *= s[hterm_vars[p]]
        e += prod
    for g in range(slc_c.shape[0]):
        acc = slc_const[g]
        for p in range(slc_ptr[g], slc_ptr[g + 1]):
            acc += slc_w[p] * s[slc_vars[p]]
        e += slc_c[g] * acc * acc
    return e


# Performance rule for everything below (measured, numba 0.68): a *non-inlined* call per variable that receives
# M (or several arrays) costs 30-100 ns, from copying the array structs and NRT reference counting, versus ~1 ns
# of real work. So per-variable primitives are inline="always" and unpack M unconditionally at their top (no
# calls that take arrays inside branches); absent term kinds cost nothing because their CSR ranges are empty.
# Hot loops belong in sweep-level functions that take M once per call.


@njit(cache=True, nogil=True, inline="always")
def delta(s, f, L, i, ising, has_higher, has_slc, M):
    """ΔE of flipping variable i in state s (fields f, SLC sums L current). ~1-2 ns for quadratic terms.

    has_higher / has_slc are accepted for interface stability; empty CSR ranges make absent kinds free."""
    hterm_c, hterm_ptr, hterm_vars, hinc_ptr, hinc_term = M[5], M[6], M[7], M[8], M[9]
    slc_c, sinc_ptr, sinc_group, sinc_w = M[10], M[15], M[16], M[17]
    si = s[i]
    d = -2.0 * si if ising else 1.0 - 2.0 * si
    g = f[i]
    for p in range(hinc_ptr[i], hinc_ptr[i + 1]):
        t = hinc_term[p]
        prod = hterm_c[t]
        for q in range(hterm_ptr[t], hterm_ptr[t + 1]):
            j = hterm_vars[q]
            if j != i:
                prod *= s[j]
        g += prod
    de = d * g
    for p in range(sinc_ptr[i], sinc_ptr[i + 1]):
        w = sinc_w[p] * d
        gi = sinc_group[p]
        de += slc_c[gi] * (2.0 * L[gi] * w + w * w)
    return de


@njit(cache=True, nogil=True, inline="always")
def apply_flip(s, f, L, i, ising, has_slc, M):
    """Flip i and update the cached fields of its neighbours (dense row or CSR scatter) and its SLC groups."""
    adj_ptr, adj_idx, adj_w, dense = M[1], M[2], M[3], M[4]
    sinc_ptr, sinc_group, sinc_w = M[15], M[16], M[17]
    si = s[i]
    d = -2 * si if ising else 1 - 2 * si
    s[i] = si + d
    n = s.shape[0]
    if dense.shape[0] == n:
        row = dense[i]
        for j in range(n):
            f[j] += row[j] * d
    else:
        for p in range(adj_ptr[i], adj_ptr[i + 1]):
            f[adj_idx[p]] += adj_w[p] * d
    for p in range(sinc_ptr[i], sinc_ptr[i + 1]):
        L[sinc_group[p]] += sinc_w[p] * d


@njit(cache=True, nogil=True, inline="always")
def accept_uphill(a, st, k):
    """Metropolis test of an uphill move with a = β·ΔE > 0: True with probability e^−a (never for a > 40, where
    no uniform is drawn). exp is evaluated only when the uniform u falls between two cheap bounds,
    1 − a + a²/2 − a³/6 ≤ e^−a ≤ 1/(1 + a + a²/2 + a³/6): at the cold end of a schedule most uphill moves are
    rejected by the upper bound alone (benchmarks/README.md, "Design measurements")."""
    if a > 40.0:
        return False
    u = rand01(st, k)
    if u < 1.0 - a * (1.0 - a * (0.5 - a * (1.0 / 6.0))):
        return True
    if u * (1.0 + a * (1.0 + a * (0.5 + a * (1.0 / 6.0)))) >= 1.0:
        return False
    return u < np.exp(-a)


@njit(cache=True, nogil=True)
def metropolis_sweep(s, f, L, beta, ising, has_higher, has_slc, st, k, M):
    """One in-order pass over all variables at inverse temperature beta, any term kinds. Returns the energy change.

    Downhill and flat moves are always accepted; uphill ones go through `accept_uphill`.
    """
    total = 0.0
    n = s.shape[0]
    for i in range(n):
        de = delta(s, f, L, i, ising, has_higher, has_slc, M)
        if de > 0.0 and not accept_uphill(beta * de, st, k):
            continue
        apply_flip(s, f, L, i, ising, has_slc, M)
        total += de
    return total


@njit(cache=True, nogil=True)
def sweep_sparse_quadratic(s, f, beta, ising, st, k, adj_ptr, adj_idx, adj_w):
    """metropolis_sweep specialised for problems with only linear and quadratic terms, stored sparse (CSR)."""
    total = 0.0
    n = s.shape[0]
    for i in range(n):
        si = s[i]
        d = -2.0 * si if ising else 1.0 - 2.0 * si
        de = d * f[i]
        if de > 0.0 and not accept_uphill(beta * de, st, k):
            continue
        s[i] = si + np.int8(d)
        for p in range(adj_ptr[i], adj_ptr[i + 1]):
            f[adj_idx[p]] += adj_w[p] * d
        total += de
    return total


@njit(cache=True, nogil=True)
def sweep_dense_quadratic(s, f, beta, ising, st, k, dense):
    """metropolis_sweep specialised for dense quadratic problems: O(1) per attempt, one contiguous row per flip."""
    total = 0.0
    n = s.shape[0]
    for i in range(n):
        si = s[i]
        d = -2.0 * si if ising else 1.0 - 2.0 * si
        de = d * f[i]
        if de > 0.0 and not accept_uphill(beta * de, st, k):
            continue
        s[i] = si + np.int8(d)
        row = dense[i]
        for j in range(n):
            f[j] += row[j] * d
        total += de
    return total


@njit(cache=True, nogil=True)
def any_sweep(s, f, L, beta, ising, has_higher, has_slc, st, k, M):
    """One Metropolis sweep through the fastest path the problem allows."""
    if not has_higher and not has_slc:
        # `ising` passed as a constant on each branch lets LLVM specialise the inlined sweep (measured 10-15 % on sparse)
        if M[4].shape[0] == s.shape[0] and s.shape[0] > 0:
            if ising:
                return sweep_dense_quadratic(s, f, beta, True, st, k, M[4])
            return sweep_dense_quadratic(s, f, beta, False, st, k, M[4])
        if ising:
            return sweep_sparse_quadratic(s, f, beta, True, st, k, M[1], M[2], M[3])
        return sweep_sparse_quadratic(s, f, beta, False, st, k, M[1], M[2], M[3])
    return metropolis_sweep(s, f, L, beta, ising, has_higher, has_slc, st, k, M)


@njit(cache=True, nogil=True, inline="always")
def start_state(s, f, L, initial, ising, st, k, constant, M):
    """A walker's start: `initial` when it has n entries, else a uniform random state from RNG stream k; fills the
    cached fields f and L and returns the state's energy (constant included)."""
    if initial.shape[0] == s.shape[0]:
        copy_into(s, initial)
    else:
        random_state(s, ising, st, k)
    init_fields(s, f, L, M)
    n = s.shape[0]
    if M[4].shape[0] == n and n > 0 and M[5].shape[0] == 0 and M[10].shape[0] == 0:
        # dense and quadratic: f = h + J·s is in hand, so E = c + Σ s_i (h_i + f_i) / 2 without a second
        # n² product (half of a dense start's cost; benchmarks/README.md, "Design measurements")
        h = M[0]
        e = 0.0
        for i in range(n):
            e += s[i] * (h[i] + f[i])
        return constant + 0.5 * e
    return energy(s, constant, M)


@njit(cache=True, nogil=True, inline="always")
def copy_into(dst, src):
    """dst[:] = src for 1-D arrays of the same length, as a plain loop: slice assignment compiles numba's
    shape-mismatch error path (message formatting included), ~3 s of every cold start for nothing."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@njit(cache=True, nogil=True)
def keep_best(e, s, BE, BS):
    """Offer state s (energy e) to a walker's best-k set: BE float64 [k] ascending (+inf = empty slot), BS int8 [k, n].

    Keeps k distinct states, best first; a state already in the set is not added twice (energies within 1e-9
    relative are compared state by state). Returns True if s was inserted. O(1) when s is not better than the
    k-th best (the common case inside a sweep loop), O(k·n) when it is inserted.
    """
    k = BE.shape[0]
    if k == 0 or not e < BE[k - 1]:
        return False
    tol = 1e-9 * (1.0 + abs(e))
    n = s.shape[0]
    for j in range(k):
        if abs(BE[j] - e) <= tol:
            same = True
            row = BS[j]
            for i in range(n):
                if row[i] != s[i]:
                    same = False
                    break
            if same:
                return False
    pos = k - 1
    while pos > 0 and BE[pos - 1] > e:
        BE[pos] = BE[pos - 1]
        copy_into(BS[pos], BS[pos - 1])
        pos -= 1
    BE[pos] = e
    copy_into(BS[pos], s)
    return True


@njit(cache=True, nogil=True, parallel=True)
def energies_of(S, constant, M):
    """Exact costs of the rows of S (int8 [R, n]) as float64 [R], rows in parallel (a job's final candidates: 11 ms
    of serial time for 256 states of a G1-sized input)."""
    out = np.empty(S.shape[0], np.float64)
    for r in prange(S.shape[0]):
        out[r] = energy(S[r], constant, M)
    return out


@njit(cache=True, nogil=True)
def flip_deltas(s, ising, has_higher, has_slc, M):
    """ΔE of flipping each variable of state s, float64 [n] (s unchanged): the move sizes a schedule meets."""
    n = s.shape[0]
    f = np.empty(n, np.float64)
    L = np.empty(M[11].shape[0], np.float64)
    init_fields(s, f, L, M)
    out = np.empty(n, np.float64)
    for i in range(n):
        out[i] = delta(s, f, L, i, ising, has_higher, has_slc, M)
    return out
