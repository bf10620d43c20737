"""Parallel tempering: replicas at fixed inverse temperatures, one Metropolis sweep each per step, then
exchanges between neighbouring temperatures (even pairs on even steps, odd pairs on odd steps).

Replica r always sits at betas[r] (sorted ascending); an accepted exchange swaps the two replicas' states,
fields and energies instead of their temperatures, so row r of the state arrays is "the state at betas[r]".
"""
from __future__ import annotations

import numpy as np
from numba import njit

from solver_runner.kernels.common import rand01


@njit(cache=True, nogil=True)
def exchange(S, F, Lg, E, betas, step, rng):
    """Metropolis exchange between neighbours: accept with min(1, exp((E_a − E_b)(β_a − β_b)))."""
    R = S.shape[0]
    accepted = 0
    for a in range(step & 1, R - 1, 2):
        b = a + 1
        x = (E[a] - E[b]) * (betas[a] - betas[b])
        if x >= 0.0 or rand01(rng, R) < np.exp(x):
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
