"""Population annealing in SIMD lanes: kernels.population's algorithm with the walkers in lane blocks (kernels.lanes).

Slots are lanes: slot k is lane w = k mod W of block b = k // W of S, F, bestS dt [B, n, W]; E, bestE, st (the
slot's lane generator) are flat [B·W], fam int64 [B·W]. Slots 0..R−1 hold the current R walkers; lanes past R are
swept too (their cost is never read) so the sweep needs no masks. One step is the scalar kernel's step: sweeps of
every lane at β(τ), each slot's best state kept, the archive offered each walker (its state is unpacked only when it
would enter), resampling by the same counts (kernels.population), copies of whole lanes row by row (all copies of a step in one
pass over the rows, each row a few cache lines: a lane is n strided words, not a walker's n contiguous ones), the
same family and restart rules. After a collapse the
population restarts from uniform random states drawn from the slots' lane generators.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from solver_runner.kernels.common import keep_best
from solver_runner.kernels.lanes import lanes_keep_best, lanes_sweep, to_lanes
from solver_runner.kernels.population import (
    CTL_POS,
    CTL_R,
    CTL_RESAMPLES,
    CTL_RESTARTS,
    CTL_STEPS,
    effective_families,
    plan_moves,
    resample_counts,
    sched_value,
)
from solver_runner.kernels.rng import next_u64


@njit(cache=True, nogil=True)
def lane_restart(S, F, E, bestS, bestE, fam, st, rows, ising, h, adj_ptr, adj_idx, adj_w, dense, constant):
    """Fresh uniform random walkers in every slot (each its own family; bit 63 of one draw of the slot's generator
    per variable), their fields (kernels.lanes.to_lanes) and exact energies E = C + ½·Σ_i s_i·(f_i + h_i).
    rows: int8 [W, n] scratch."""
    B, n, W = S.shape
    for b in range(B):
        lane_st = st[b * W:(b + 1) * W]
        for w in range(W):
            for i in range(n):
                bit = np.int8(next_u64(lane_st, w) >> np.uint64(63))
                rows[w, i] = 2 * bit - 1 if ising else bit
        to_lanes(rows, S[b], F[b], h, adj_ptr, adj_idx, adj_w, dense)
        e = E[b * W:(b + 1) * W]
        for w in range(W):
            e[w] = 0.0
        for i in range(n):
            for w in range(W):
                e[w] += float(S[b, i, w]) * float(F[b, i, w] + h[i])
        for w in range(W):
            k = b * W + w
            E[k] = constant + 0.5 * E[k]
            fam[k] = k
            if E[k] < bestE[k]:
                bestE[k] = E[k]
                for i in range(n):
                    bestS[b, i, w] = S[b, i, w]


@njit(cache=True, nogil=True)
def copy_lanes(src, dst, jobs, S, F, E, fam):
    """Slot src[j] → slot dst[j] for j < jobs (no slot is read after it is written: kernels.population.plan_moves)."""
    W = S.shape[2]
    n = S.shape[1]
    sb, sw = src[:jobs] // W, src[:jobs] % W
    db, dw = dst[:jobs] // W, dst[:jobs] % W
    for i in range(n):
        for j in range(jobs):
            S[db[j], i, dw[j]] = S[sb[j], i, sw[j]]
            F[db[j], i, dw[j]] = F[sb[j], i, sw[j]]
    for j in range(jobs):
        E[dst[j]] = E[src[j]]
        fam[dst[j]] = fam[src[j]]


@njit(cache=True, nogil=True)
def lane_sweeps(R, S, F, E, st, bestS, bestE, beta, dm, ud, value, sweeps, ising, adj_ptr, adj_idx, adj_w, dense,
                flush, dt):
    """`sweeps` sweeps of the blocks holding slots 0..R−1 at β = value; each slot's best kept at sweep ends."""
    B, n, W = S.shape
    for b in range((R + W - 1) // W):
        lo = b * W
        active = min(W, R - lo)
        for w in range(W):
            beta[lo + w] = value
        for _ in range(sweeps):
            lanes_sweep(S[b], F[b], E[lo:lo + W], st[lo:lo + W], beta[lo:lo + W], ising, adj_ptr, adj_idx, adj_w,
                        dense, dm, ud, flush, dt)
            lanes_keep_best(S[b], E[lo:lo + W], bestS[b], bestE[lo:lo + W], active)


@njit(cache=True, nogil=True)
def lane_pa_chunk(steps, ctl, kind, beta0, beta1, count, target, alpha, constant_population, sweeps_per_replica,
                  S, F, E, fam, bestS, bestE, archS, archE, st, xst, counts, tau, row, rows, beta, dm, ud, constant, ising,
                  h, adj_ptr, adj_idx, adj_w, dense, flush, dt):
    """`steps` population-annealing steps (kernels.population.pa_chunk's rules; `sweeps_per_replica` 0 runs only
    the end of a step, for callers that swept the walkers themselves); xst [1]: the resampler's generator; row int8
    [n] and rows int8 [W, n]: scratch. After a collapse every slot restarts (slots past the target are unused)."""
    B, n, W = S.shape
    cap = B * W
    fam_size = np.zeros(cap, np.int64)
    src = np.empty(cap, np.int64)
    dst = np.empty(cap, np.int64)
    for _ in range(steps):
        R = ctl[CTL_R]
        pos = ctl[CTL_POS]
        value = sched_value(kind, beta0, beta1, count, pos)
        lane_sweeps(R, S, F, E, st, bestS, bestE, beta, dm, ud, value, sweeps_per_replica, ising, adj_ptr, adj_idx,
                    adj_w, dense, flush, dt)
        for k in range(R):
            if E[k] < archE[archE.shape[0] - 1]:
                for i in range(n):
                    row[i] = np.int8(S[k // W, i, k % W])
                keep_best(E[k], row, archE, archS)
        emin = E[0]
        emax = E[0]
        for k in range(R):
            emin = min(emin, E[k])
            emax = max(emax, E[k])
        flat = emax - emin <= 1e-9 * (1.0 + abs(emin))
        dbeta = sched_value(kind, beta0, beta1, count, pos + 1) - value if pos + 1 < count else 0.0
        effective = float(R)
        if dbeta > 0.0 and not flat:
            T = resample_counts(tau, counts, E, R, dbeta, emin, target, cap, constant_population, xst, 0)
            jobs = plan_moves(counts, R, T, src, dst)
            copy_lanes(src, dst, jobs, S, F, E, fam)
            R = T
            ctl[CTL_R] = R
            ctl[CTL_RESAMPLES] += 1
            effective = effective_families(fam, R, fam_size)
        if (effective < alpha and target > alpha) or flat:
            lane_restart(S, F, E, bestS, bestE, fam, st, rows, ising, h, adj_ptr, adj_idx, adj_w, dense, constant)
            ctl[CTL_R] = target
            ctl[CTL_POS] = 0
            ctl[CTL_RESTARTS] += 1
        else:
            ctl[CTL_POS] = pos + 1
        ctl[CTL_STEPS] += 1
