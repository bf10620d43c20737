"""Array-only primitives shared by the kernels: RNG, energies, flip deltas and cached-field updates.

A model travels to kernels as the tuple `M = model_arrays(model)` (fixed order below), so every kernel takes the
same argument list whatever terms the problem has. State conventions:
- `s` int8 [n]: ±1 (ising) or 0/1 (pubo);
- `f` float64 [n]: cached quadratic local field f_i = h_i + Σ_j J_ij s_j;
- `L` float64 [G]: cached inner sums of the SLC groups, L_g = w0_g + Σ_k w_k s_k.
Flipping i changes s_i by d = −2 s_i (ising) or 1 − 2 s_i (pubo); ΔE = d·(f_i + higher_i) + Σ_g C_g(2 L_g w d + w² d²)
(derivation in solver_runner/model.py).

RNG: xorshift64* with explicit per-stream state (uint64 array), seeded through splitmix64 from (seed, stream):
never numba's global RNG, so runs are reproducible and streams are independent across threads.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from solver_runner.model import CompiledModel

_MASK64 = (1 << 64) - 1


def splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def rng_states(seed: int, count: int, stream: int = 0) -> np.ndarray:
    """`count` independent xorshift states for (seed, stream); never zero."""
    base = splitmix64((seed & _MASK64) ^ splitmix64(stream + 0x5851F42D4C957F2D))
    out = np.empty(count, np.uint64)
    x = base
    for k in range(count):
        x = splitmix64(x)
        out[k] = x or 0x9E3779B97F4A7C15
    return out


@njit(cache=True, nogil=True, inline="always")
def next_u64(st, k):
    x = st[k]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    st[k] = x
    return x * np.uint64(0x2545F4914F6CDD1D)


@njit(cache=True, nogil=True, inline="always")
def rand01(st, k):
    """Uniform in [0, 1) with 53 random bits."""
    return float(next_u64(st, k) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, inline="always")
def randint(st, k, n):
    return int(next_u64(st, k) % np.uint64(n))


def model_arrays(model: CompiledModel) -> tuple:
    """The fixed-order tuple every kernel takes (see module docstring)."""
    dense = model.dense if model.dense is not None else np.zeros((0, 0), np.float64)
    return (
        model.h, model.adj_ptr, model.adj_idx, model.adj_w, dense,
        model.hterm_c, model.hterm_ptr, model.hterm_vars, model.hinc_ptr, model.hinc_term,
        model.slc_c, model.slc_const, model.slc_ptr, model.slc_vars, model.slc_w,
        model.sinc_ptr, model.sinc_group, model.sinc_w,
    )


@njit(cache=True, nogil=True)
def random_state(s, ising, st, k):
    for i in range(s.shape[0]):
        bit = next_u64(st, k) >> np.uint64(63)
        if ising:
            s[i] = 1 if bit else -1
        else:
            s[i] = 1 if bit else 0


@njit(cache=True, nogil=True)
def init_fields(s, f, L, M):
    """Fill f (quadratic local fields) and L (SLC inner sums) for state s."""
    h, adj_ptr, adj_idx, adj_w, dense = M[0], M[1], M[2], M[3], M[4]
    n = s.shape[0]
    if dense.shape[0] == n and n > 0:
        for i in range(n):
            acc = h[i]
            row = dense[i]
            for j in range(n):
                acc += row[j] * s[j]
            f[i] = acc
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


@njit(cache=True, nogil=True, inline="always")
def flip_step(s, ising, i):
    return -2 * s[i] if ising else 1 - 2 * s[i]


@njit(cache=True, nogil=True)
def higher_field(s, i, M):
    """Σ over degree≥3 terms containing i of c_t Π_{j≠i} s_j."""
    hterm_c, hterm_ptr, hterm_vars, hinc_ptr, hinc_term = M[5], M[6], M[7], M[8], M[9]
    acc = 0.0
    for p in range(hinc_ptr[i], hinc_ptr[i + 1]):
        t = hinc_term[p]
        prod = hterm_c[t]
        for q in range(hterm_ptr[t], hterm_ptr[t + 1]):
            j = hterm_vars[q]
            if j != i:
                prod *= s[j]
                if prod == 0.0:
                    break
        acc += prod
    return acc


@njit(cache=True, nogil=True)
def slc_delta(i, d, L, M):
    slc_c, sinc_ptr, sinc_group, sinc_w = M[10], M[15], M[16], M[17]
    acc = 0.0
    for p in range(sinc_ptr[i], sinc_ptr[i + 1]):
        g = sinc_group[p]
        w = sinc_w[p] * d
        acc += slc_c[g] * (2.0 * L[g] * w + w * w)
    return acc


@njit(cache=True, nogil=True, inline="always")
def delta(s, f, L, i, ising, has_higher, has_slc, M):
    """ΔE of flipping variable i in state s (fields f, SLC sums L current)."""
    d = flip_step(s, ising, i)
    g = f[i]
    if has_higher:
        g += higher_field(s, i, M)
    de = d * g
    if has_slc:
        de += slc_delta(i, d, L, M)
    return de


@njit(cache=True, nogil=True, inline="always")
def apply_flip(s, f, L, i, ising, has_slc, M):
    """Flip i and update the cached fields of its neighbours (dense row or CSR) and its SLC groups."""
    adj_ptr, adj_idx, adj_w, dense = M[1], M[2], M[3], M[4]
    d = flip_step(s, ising, i)
    s[i] += d
    n = s.shape[0]
    if dense.shape[0] == n:
        row = dense[i]
        for j in range(n):
            f[j] += row[j] * d
    else:
        for p in range(adj_ptr[i], adj_ptr[i + 1]):
            f[adj_idx[p]] += adj_w[p] * d
    if has_slc:
        sinc_ptr, sinc_group, sinc_w = M[15], M[16], M[17]
        for p in range(sinc_ptr[i], sinc_ptr[i + 1]):
            L[sinc_group[p]] += sinc_w[p] * d


@njit(cache=True, nogil=True)
def metropolis_sweep(s, f, L, beta, ising, has_higher, has_slc, st, k, M):
    """One in-order pass over all variables at inverse temperature beta. Returns the energy change.

    The uniform draw and exp are taken only for uphill moves; downhill and flat moves are always accepted.
    """
    total = 0.0
    n = s.shape[0]
    for i in range(n):
        de = delta(s, f, L, i, ising, has_higher, has_slc, M)
        if de > 0.0:
            if beta * de > 40.0:
                continue
            if rand01(st, k) >= np.exp(-beta * de):
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
        if de > 0.0:
            if beta * de > 40.0:
                continue
            if rand01(st, k) >= np.exp(-beta * de):
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
        if de > 0.0:
            if beta * de > 40.0:
                continue
            if rand01(st, k) >= np.exp(-beta * de):
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
        if M[4].shape[0] == s.shape[0] and s.shape[0] > 0:
            return sweep_dense_quadratic(s, f, beta, ising, st, k, M[4])
        return sweep_sparse_quadratic(s, f, beta, ising, st, k, M[1], M[2], M[3])
    return metropolis_sweep(s, f, L, beta, ising, has_higher, has_slc, st, k, M)
