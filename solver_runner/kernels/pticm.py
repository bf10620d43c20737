"""Parallel tempering with isoenergetic cluster moves (Houdayer moves; Zhu, Ochoa & Katzgraber, PRL 115, 077201,
2015) on quadratic problems (no terms of degree ≥ 3, no SLC groups).

Walkers sit on a grid of L temperatures × R replicas: row w = t·R + r holds replica r at inverse temperature
betas[t] (ascending, so the coldest layers come last). One sweep (`sweep_rows` for every row, then `couple`; `pticm_chunk` runs whole sweeps):
1. every walker does one Metropolis pass over the free variables (`free`: all of them, or those not fixed by
   variable fixing) at its temperature, in parallel;
2. in each of the coldest `icm_layers` layers, replicas (0, 1), (2, 3), ... do one Houdayer move: the sites where
   the two differ split into clusters along the nonzero couplings; a uniformly random differing site's cluster is
   swapped between the two (flipped in both). Inside the cluster both replicas change, across its border the two
   change in opposite ways, so E_a + E_b is unchanged (for fields, couplings and the QUBO form alike): the move is
   always accepted and changes no temperature's Boltzmann weight of the pair;
3. neighbouring layers exchange states replica by replica (even pairs on even sweeps, odd on odd), accepted with
   min(1, exp((E_a − E_b)(β_a − β_b))).
Statistics: `mc_accepted[w]` counts accepted flips per row, `pt_accepted[t]` / `pt_tried[t]` the exchanges between
layers t and t + 1. RNG (padded): walker w on stream w, the moves of layer t on stream W + t, exchanges on W + L.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import accept_uphill, apply_flip, keep_best
from solver_runner.kernels.rng import RNG_STRIDE, rand01, randint


@njit(cache=True, nogil=True)
def free_sweep(s, f, beta, ising, st, k, M, free):
    """One Metropolis pass over the variables in `free` (in that order). Returns (ΔE, accepted flips)."""
    adj_ptr, adj_idx, adj_w, dense = M[1], M[2], M[3], M[4]
    n = s.shape[0]
    is_dense = dense.shape[0] == n
    total = 0.0
    accepted = 0
    for q in range(free.shape[0]):
        i = free[q]
        si = s[i]
        d = -2.0 * si if ising else 1.0 - 2.0 * si
        de = d * f[i]
        if de > 0.0 and not accept_uphill(beta * de, st, k):
            continue
        s[i] = si + np.int8(d)
        if is_dense:
            row = dense[i]
            for j in range(n):
                f[j] += row[j] * d
        else:
            for p in range(adj_ptr[i], adj_ptr[i + 1]):
                f[adj_idx[p]] += adj_w[p] * d
        total += de
        accepted += 1
    return total, accepted


@njit(cache=True, nogil=True)
def houdayer_move(sa, fa, sb, fb, L, ising, st, k, M, queue, member):
    """Swap one random cluster of differing sites between replicas a and b (see the module docstring); queue and
    member are scratch of length n. Returns (ΔE_a, ΔE_b, cluster size); (0, 0, 0) when the replicas are equal."""
    adj_ptr, adj_idx, dense = M[1], M[2], M[4]
    n = sa.shape[0]
    is_dense = dense.shape[0] == n
    differing = 0
    seed = -1
    for i in range(n):
        member[i] = False
        if sa[i] != sb[i]:
            differing += 1
            if randint(st, k, differing) == 0:
                seed = i
    if differing == 0:
        return 0.0, 0.0, 0
    queue[0] = seed
    member[seed] = True
    head = 0
    tail = 1
    while head < tail:
        i = queue[head]
        head += 1
        if is_dense:
            row = dense[i]
            for j in range(n):
                if row[j] != 0.0 and not member[j] and sa[j] != sb[j]:
                    member[j] = True
                    queue[tail] = j
                    tail += 1
        else:
            for p in range(adj_ptr[i], adj_ptr[i + 1]):
                j = adj_idx[p]
                if not member[j] and sa[j] != sb[j]:
                    member[j] = True
                    queue[tail] = j
                    tail += 1
    dea = 0.0
    deb = 0.0
    for q in range(tail):
        i = queue[q]
        dea += (-2.0 * sa[i] if ising else 1.0 - 2.0 * sa[i]) * fa[i]
        apply_flip(sa, fa, L, i, ising, False, M)
        deb += (-2.0 * sb[i] if ising else 1.0 - 2.0 * sb[i]) * fb[i]
        apply_flip(sb, fb, L, i, ising, False, M)
    return dea, deb, tail


@njit(cache=True, nogil=True)
def swap_rows(S, F, E, a, b):
    for i in range(S.shape[1]):
        t = S[a, i]
        S[a, i] = S[b, i]
        S[b, i] = t
        u = F[a, i]
        F[a, i] = F[b, i]
        F[b, i] = u
    e = E[a]
    E[a] = E[b]
    E[b] = e


@njit(cache=True, nogil=True, parallel=True)
def sweep_rows(S, F, E, topS, topE, betas, replicas, free, rng, mc_accepted, ising, M, lo, hi):
    """Step 1 of a sweep for rows lo..hi−1: one Metropolis pass each at its layer's temperature."""
    for w in prange(lo, hi):
        de, acc = free_sweep(S[w], F[w], betas[w // replicas], ising, rng, w * RNG_STRIDE, M, free)
        E[w] += de
        mc_accepted[w] += acc
        keep_best(E[w], S[w], topE[w], topS[w])


@njit(cache=True, nogil=True, parallel=True)
def couple(S, F, Lg, E, topS, topE, betas, replicas, icm_layers, rng, sweep, pt_accepted, pt_tried, ising, M):
    """Steps 2 and 3 of sweep number `sweep`: Houdayer moves in the coldest icm_layers layers, then exchanges."""
    W, n = S.shape
    layers = betas.shape[0]
    for t in prange(layers - icm_layers, layers):
        queue = np.empty(n, np.int64)
        member = np.empty(n, np.bool_)
        for r in range(0, replicas - 1, 2):
            a = t * replicas + r
            b = a + 1
            dea, deb, size = houdayer_move(S[a], F[a], S[b], F[b], Lg[a], ising, rng, (W + t) * RNG_STRIDE, M,
                                           queue, member)
            if size > 0:
                E[a] += dea
                E[b] += deb
                keep_best(E[a], S[a], topE[a], topS[a])
                keep_best(E[b], S[b], topE[b], topS[b])
    k = (W + layers) * RNG_STRIDE
    for t in range(sweep & 1, layers - 1, 2):
        for r in range(replicas):
            a = t * replicas + r
            b = a + replicas
            pt_tried[t] += 1
            x = (E[a] - E[b]) * (betas[t] - betas[t + 1])
            if x >= 0.0 or rand01(rng, k) < np.exp(x):
                swap_rows(S, F, E, a, b)
                pt_accepted[t] += 1


@njit(cache=True, nogil=True)
def pticm_chunk(S, F, Lg, E, topS, topE, betas, replicas, icm_layers, free, rng, first, count, mc_accepted,
                pt_accepted, pt_tried, ising, M):
    """Whole sweeps first..first+count−1 (the sweep number sets the exchange parity)."""
    for sweep in range(first, first + count):
        sweep_rows(S, F, E, topS, topE, betas, replicas, free, rng, mc_accepted, ising, M, 0, S.shape[0])
        couple(S, F, Lg, E, topS, topE, betas, replicas, icm_layers, rng, sweep, pt_accepted, pt_tried, ising, M)
