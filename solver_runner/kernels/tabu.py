"""One-flip tabu search (Beasley 1998) with independent multistart walkers (Palubeckis 2004), run in parallel.

One move ("sweep" in QIO's vocabulary) of a walker at move number t:
1. scan the n one-flip moves in index order, computing ΔE from the cached fields;
2. aspiration: the first scanned move whose result beats the walker's best-ever cost (by more than `eps`) is
   applied at once, tabu or not, made tabu, and followed by a greedy descent (in-order passes flipping every
   improving variable until a pass improves nothing, i.e. a one-flip local minimum); the move ends there;
3. otherwise the best non-tabu move is applied even if it worsens the cost (ties broken uniformly at random).
A variable flipped by move t (steps 2 or 3; not by the descent) is tabu for moves t+1 .. t+tenure
(`tabu_until[i] = t + tenure`, tabu while tabu_until[i] >= current move). The tenure is capped at n − 1 so at
least one move is always allowed (a larger tenure would only stall the walker; tenure 0 = no tabu list).

Cost per move: O(n) delta evaluations (O(1) each for quadratic terms) plus the flip's field update.
Arrays: those of `solvers.walkers.AnnealState` plus `tabu_until` int64 [R, n], `moves` int64 [R] (each walker's move
counter) and `tenures` int64 [R] (per-walker tenure, so a tuner can spread tenures over walkers). RNG: padded
streams (walker r draws from word r·RNG_STRIDE), used only to break ties between equally good moves.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import apply_flip, delta, keep_best
from solver_runner.kernels.rng import RNG_STRIDE, randint


@njit(cache=True, nogil=True)
def descend(s, f, L, e, ising, has_higher, has_slc, M, eps):
    """Greedy descent to a one-flip local minimum: in-order passes flipping every i with ΔE < −eps. Returns e."""
    n = s.shape[0]
    improved = True
    while improved:
        improved = False
        for i in range(n):
            de = delta(s, f, L, i, ising, has_higher, has_slc, M)
            if de < -eps:
                apply_flip(s, f, L, i, ising, has_slc, M)
                e += de
                improved = True
    return e


@njit(cache=True, nogil=True)
def tabu_move(s, f, L, e, best_e, tabu_until, t, tenure, ising, has_higher, has_slc, st, k, M, eps):
    """Move number t of one walker (see module docstring). Returns the new energy.

    The scan loop holds only inlined code (no calls that take arrays): see the performance rule in kernels.common.
    """
    n = s.shape[0]
    aspire = -1
    aspire_de = 0.0
    bi = -1
    bde = np.inf
    ties = 0
    for i in range(n):
        de = delta(s, f, L, i, ising, has_higher, has_slc, M)
        if e + de < best_e - eps:
            aspire = i
            aspire_de = de
            break
        if tabu_until[i] >= t:
            continue
        if de < bde - eps:
            bde = de
            bi = i
            ties = 1
        elif de <= bde + eps:
            ties += 1
            if randint(st, k, ties) == 0:
                bi = i
    if aspire >= 0:
        apply_flip(s, f, L, aspire, ising, has_slc, M)
        tabu_until[aspire] = t + tenure
        return descend(s, f, L, e + aspire_de, ising, has_higher, has_slc, M, eps)
    if bi >= 0:
        de = delta(s, f, L, bi, ising, has_higher, has_slc, M)
        apply_flip(s, f, L, bi, ising, has_slc, M)
        tabu_until[bi] = t + tenure
        e += de
    return e


@njit(cache=True, nogil=True, parallel=True)
def tabu_chunk(S, F, Lg, E, topS, topE, tabu_until, moves, tenures, rng, count, ising, has_higher, has_slc, M, eps):
    """Advance every walker by `count` moves; offer each move's result to the walker's best-k set."""
    R = S.shape[0]
    n = S.shape[1]
    for r in prange(R):
        tenure = min(tenures[r], max(n - 1, 0))
        s = S[r]
        f = F[r]
        L = Lg[r]
        tu = tabu_until[r]
        e = E[r]
        t = moves[r]
        for _ in range(count):
            e = tabu_move(s, f, L, e, topE[r, 0], tu, t, tenure, ising, has_higher, has_slc, rng, r * RNG_STRIDE, M,
                          eps)
            keep_best(e, s, topE[r], topS[r])
            t += 1
        E[r] = e
        moves[r] = t
