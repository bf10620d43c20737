"""Parallel tempering: replicas at fixed inverse temperatures, one Metropolis sweep each per step, then
exchanges between neighbouring temperatures (even pairs on even steps, odd pairs on odd steps: i = step & 1).

Replica r always sits at betas[r] (sorted ascending); an accepted exchange swaps the two replicas' states,
fields and energies instead of their temperatures, so row r of the state arrays is "the state at betas[r]".
Arrays are those of `solvers.walkers.AnnealState` (rows = replicas; padded RNG: stream r at word r·RNG_STRIDE drives
row r, the spare stream R drives exchanges).

`pt_chunk` runs `steps` whole steps in one call. With threads, a step is `kernels.sa.sweep_each_chunk` (the replica
sweeps in one parallel region, worth it only when a sweep is long enough to amortise it) and then `exchange`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from solver_runner.kernels.common import any_sweep, keep_best
from solver_runner.kernels.rng import RNG_STRIDE, rand01


@njit(cache=True, nogil=True)
def exchange(S, F, Lg, E, betas, step, rng, k=-1):
    """Metropolis exchange between neighbours: accept with min(1, exp((E_a − E_b)(β_a − β_b))).

    Draws from RNG word k (default: R, the spare stream of an unpadded layout)."""
    R = S.shape[0]
    if k < 0:
        k = R
    accepted = 0
    for a in range(step & 1, R - 1, 2):
        b = a + 1
        x = (E[a] - E[b]) * (betas[a] - betas[b])
        if x >= 0.0 or rand01(rng, k) < np.exp(x):
            for i in range(S.shape[1]):
                t = S[a, i]
                S[a, i] = S[b, i]
                S[b, i] = t
                u = F[a, i]
                F[a, i] = F[b, i]
                F[b, i] = u
            for g in range(Lg.shape[1]):
                u = Lg[a, g]
                Lg[a, g] = Lg[b, g]
                Lg[b, g] = u
            e = E[a]
            E[a] = E[b]
            E[b] = e
            accepted += 1
    return accepted


@njit(cache=True, nogil=True)
def pt_chunk(S, F, Lg, E, topS, topE, rng, betas, first_step, steps, ising, has_higher, has_slc, M):
    """Steps first_step .. first_step+steps−1 (the step number sets the exchange parity).

    Returns the number of accepted exchanges."""
    R = S.shape[0]
    accepted = 0
    for step in range(first_step, first_step + steps):
        for r in range(R):
            E[r] += any_sweep(S[r], F[r], Lg[r], betas[r], ising, has_higher, has_slc, rng, r * RNG_STRIDE, M)
            keep_best(E[r], S[r], topE[r], topS[r])
        accepted += exchange(S, F, Lg, E, betas, step, rng, R * RNG_STRIDE)
    return accepted
