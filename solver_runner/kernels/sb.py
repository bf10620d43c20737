"""Simulated bifurcation (Goto, Tatsumura & Dixon, Sci. Adv. 5, eaav2372, 2019; Goto et al., Sci. Adv. 7,
eabe7953, 2021): many trajectories at once, vectorised over trajectories.

Problem. Minimise E(s) = Σ_{i<j} J_ij s_i s_j (s ∈ {−1, +1}^N). The solver (solvers/sbm.py) builds the
coupling matrix K = −J (SB maximises Σ K_ij s_i s_j / 2) over N spins, linear fields folded in as the couplings of one
extra spin (E is unchanged when every spin is flipped, so a state is read relative to that spin's sign), stored
sparse (CSR: `ptr` int64 [N+1], `idx` int32, `w` float32) or dense (`dense` float32 [N, N]; shape (0, 0) when sparse).

Trajectories. Positions X and momenta Y are float32 [N, R]: row i holds spin i of all R trajectories, so the force
sum of one coupling is one contiguous SIMD loop over trajectories (the "vectorised" layout), and rows are split over
threads. One step t of T (a(t) = a0·(t+1)/T, the pump rising linearly to a0), for every trajectory r:

    F_i = Σ_j K_ij z_j          z = X (ballistic SB, algo "1.5") or z = sgn(X) (discrete SB, algo "2.0")
    y_i ← y_i + (−(a0 − a(t))·x_i + c0·F_i)·dt
    x_i ← x_i + a0·y_i·dt
    |x_i| > 1  ⇒  x_i ← sgn(x_i), y_i ← 0      (the inelastic walls of bSB/dSB)

(symplectic Euler, as in the 2021 paper). `S` (float32) and `S8` (int8) hold sgn(X) for dSB, kept up to date by
the update; when every coupling is an integer in −127..127 and every row's |sum| fits int16, the solver passes int8
copies `w8` / `dense8` and discrete SB sums in int16 (else they have length 0). Steps are done
for trajectories r0..r1−1 only, so a run can be split into trajectory groups with the same result (every
trajectory's arithmetic is the same in any split and with any thread count); each thread takes a block of
trajectories through all the steps of a call.

Functions (all @njit(cache=True, nogil=True)):
- `sb_init(X, Y, S, S8, rng)`: x, y uniform in [−0.1, 0.1) per trajectory from its padded RNG stream, S = S8 = sgn(X).
- `sb_steps(X, Y, S, S8, F, ptr, idx, w, w8, dense, dense8, a0, c0, dt, first, count, total, discrete, r0, r1,
  threads)`: steps
  first..first+count−1 of `total`, trajectories r0..r1−1 (parallel over blocks of trajectories).
- `sb_spins(X, out, gauge)`: the spins of every trajectory, int8 [R, n] (n = N − 1 with `gauge`: the last spin
  carries the fields, and every spin is read relative to it; n = N without).
- `sign_energies(X, F, ptr, idx, w, dense, E)`: E[r] = −½ Σ_ij K_ij sgn(x_i) sgn(x_j), float64 (forces in
  float32, so E is exact for integer couplings below 2²⁴, and within float32 rounding otherwise); parallel.
- `energies_parallel(S, constant, M)`: the exact costs of the rows of S (kernels.common.energy), parallel over rows.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import energy
from solver_runner.kernels.rng import RNG_STRIDE, rand01


@njit(cache=True, nogil=True)
def sb_init(X, Y, S, S8, rng):
    N, R = X.shape
    for r in range(R):
        k = r * RNG_STRIDE
        for i in range(N):
            X[i, r] = np.float32(0.2 * rand01(rng, k) - 0.1)
            Y[i, r] = np.float32(0.2 * rand01(rng, k) - 0.1)
            S[i, r] = np.float32(1.0) if X[i, r] >= 0 else np.float32(-1.0)
            S8[i, r] = 1 if X[i, r] >= 0 else -1


@njit(cache=True, nogil=True)
def _steps(X, Y, S, S8, F, ptr, idx, w, w8, dense, dense8, a0, c0, dt, first, count, total, discrete, r0, r1):
    """`sb_steps` for one block of trajectories, serially. Row slices and a fresh accumulator let LLVM vectorise
    the loop over trajectories (it cannot prove that F and Z do not overlap: 6× slower without). Discrete SB on
    integer couplings (w8 / dense8 given) sums int8 signs × int8 couplings in int16: twice as many lanes as float32
    (1.6× faster on G1), and exact."""
    N = X.shape[0]
    m = r1 - r0
    is_dense = dense.shape[0] == N and N > 0
    integral = discrete and (w8.shape[0] > 0 or (dense8.shape[0] == N and N > 0))
    a0f = np.float32(a0)
    c0f = np.float32(c0)
    dtf = np.float32(dt)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    acc = np.zeros(m, np.float32)
    counts = np.zeros(m, np.int16)
    for t in range(first, first + count):
        pump = np.float32(a0 - a0 * (t + 1) / total)  # a0 − a(t)
        Z = S if discrete else X
        for i in range(N):
            fi = F[i, r0:r1]
            if integral:
                for q in range(m):
                    counts[q] = 0
                if is_dense:
                    row8 = dense8[i]
                    for j in range(N):
                        k8 = np.int16(row8[j])
                        if k8 != 0:
                            sj = S8[j, r0:r1]
                            for q in range(m):
                                counts[q] += k8 * sj[q]
                else:
                    for p in range(ptr[i], ptr[i + 1]):
                        sj = S8[idx[p], r0:r1]
                        k8 = np.int16(w8[p])
                        for q in range(m):
                            counts[q] += k8 * sj[q]
                for q in range(m):
                    fi[q] = counts[q]
                continue
            for q in range(m):
                acc[q] = zero
            if is_dense:
                row = dense[i]
                for j in range(N):
                    kij = row[j]
                    if kij != 0:
                        zj = Z[j, r0:r1]
                        for q in range(m):
                            acc[q] += kij * zj[q]
            else:
                for p in range(ptr[i], ptr[i + 1]):
                    zj = Z[idx[p], r0:r1]
                    kij = w[p]
                    for q in range(m):
                        acc[q] += kij * zj[q]
            for q in range(m):
                fi[q] = acc[q]
        for i in range(N):
            xi = X[i, r0:r1]
            yi = Y[i, r0:r1]
            si = S[i, r0:r1]
            s8 = S8[i, r0:r1]
            fi = F[i, r0:r1]
            for q in range(m):  # branch-free (selects), so it vectorises too
                y = yi[q] + (c0f * fi[q] - pump * xi[q]) * dtf
                x = xi[q] + a0f * y * dtf
                yi[q] = zero if abs(x) > one else y
                x = min(one, max(-one, x))
                xi[q] = x
                si[q] = one if x >= zero else -one
                s8[q] = 1 if x >= zero else -1


BLOCK = 16  # trajectories per thread are a multiple of this (one cache line of float32 state)


@njit(cache=True, nogil=True)
def _private_steps(X, Y, S, S8, F, ptr, idx, w, w8, dense, dense8, a0, c0, dt, first, count, total, discrete, r0,
                   r1):
    """`_steps` on private copies of trajectories r0..r1−1, written back at the end. The shared arrays' rows are
    160 trajectories long and not cache-line aligned, so threads working on neighbouring column ranges wrote to the
    same cache lines every step (S8's 80-byte halves above all), and two threads on G1 were no faster than one;
    the copies cost N·(r1−r0)·17 bytes per call, against `count` steps of nnz·(r1−r0) work."""
    m = r1 - r0
    Xb = X[:, r0:r1].copy()
    Yb = Y[:, r0:r1].copy()
    Sb = S[:, r0:r1].copy()
    S8b = S8[:, r0:r1].copy()
    Fb = np.empty((X.shape[0], m), np.float32)
    _steps(Xb, Yb, Sb, S8b, Fb, ptr, idx, w, w8, dense, dense8, a0, c0, dt, first, count, total, discrete, 0, m)
    X[:, r0:r1] = Xb
    Y[:, r0:r1] = Yb
    S[:, r0:r1] = Sb
    S8[:, r0:r1] = S8b


@njit(cache=True, nogil=True, parallel=True)
def sb_steps(X, Y, S, S8, F, ptr, idx, w, w8, dense, dense8, a0, c0, dt, first, count, total, discrete, r0, r1,
             threads):
    """Each of `threads` threads advances its own block of trajectories through all `count` steps: trajectories are
    independent, so there is no barrier per step (on a busy machine, one per step let a descheduled thread stall
    every step). With more than one thread, each works on private copies of its block (`_private_steps`)."""
    blocks = (r1 - r0 + BLOCK - 1) // BLOCK
    parts = max(1, min(threads, blocks))
    if parts == 1:
        _steps(X, Y, S, S8, F, ptr, idx, w, w8, dense, dense8, a0, c0, dt, first, count, total, discrete, r0, r1)
        return
    for g in prange(parts):
        lo = r0 + (blocks * g // parts) * BLOCK
        hi = min(r1, r0 + (blocks * (g + 1) // parts) * BLOCK)
        _private_steps(X, Y, S, S8, F, ptr, idx, w, w8, dense, dense8, a0, c0, dt, first, count, total, discrete, lo,
                       hi)


@njit(cache=True, nogil=True, parallel=True)
def sb_spins(X, out, gauge):
    N, R = X.shape
    n = out.shape[1]
    for r in prange(R):
        ref = 1
        if gauge and X[N - 1, r] < 0:
            ref = -1
        for i in range(n):
            out[r, i] = ref if X[i, r] >= 0 else -ref


@njit(cache=True, nogil=True, parallel=True)
def sign_energies(X, F, ptr, idx, w, dense, E):
    N, R = X.shape
    is_dense = dense.shape[0] == N and N > 0
    for i in prange(N):
        acc = np.zeros(R, np.float64)  # a fresh row: the loop over trajectories vectorises (see _steps)
        if is_dense:
            row = dense[i]
            for j in range(N):
                if row[j] != 0:
                    xj = X[j]
                    for r in range(R):
                        acc[r] += row[j] if xj[r] >= 0 else -row[j]
        else:
            for p in range(ptr[i], ptr[i + 1]):
                xj = X[idx[p]]
                for r in range(R):
                    acc[r] += w[p] if xj[r] >= 0 else -w[p]
        fi = F[i]
        for r in range(R):
            fi[r] = acc[r]
    for r in prange(R):
        total = 0.0
        for i in range(N):
            total += F[i, r] if X[i, r] >= 0 else -F[i, r]
        E[r] = -0.5 * total


@njit(cache=True, nogil=True, parallel=True)
def energies_parallel(S, constant, M):
    out = np.empty(S.shape[0], np.float64)
    for r in prange(S.shape[0]):
        out[r] = energy(S[r], constant, M)
    return out
