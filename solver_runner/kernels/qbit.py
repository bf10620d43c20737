"""1QBit-style tabu search and path relinking on quadratic problems (no terms of degree ≥ 3, no SLC groups).

Tabu search (the improvement step of Wang, Lü, Glover & Hao, "Path relinking for unconstrained binary quadratic
programming", EJOR 223, 2012, and 1QBit's `1qbit.tabu`): move t of a walker flips the variable with the lowest
ΔE among the admissible ones (not tabu, or tabu but leading below the walker's best cost by more than `tol`:
aspiration), even if it worsens the cost; ties are broken uniformly at random. The flipped variable stays tabu for
the next `tenure + u` moves, u uniform in [0, rand_max) (u = 0 when rand_max ≤ 1), capped at n − 1 so one move
is always admissible. A move that lowers the walker's best cost by more than `tol` resets its stall counter;
a walker stops after `cutoff` moves in a row without one.

Path relinking (same paper): from an initiating solution toward a guiding one, flip the differing variables one
at a time, the one with the lowest ΔE (greedy, PR1) or a uniformly random one (PR2); of the solutions on the path
at least dmin = ⌊distance_scale·d⌋ flips (≥ 1) from both ends (d = their Hamming distance), the lowest-cost one
is the start of the next tabu search (when that range is empty, the path's middle).

ΔE of flipping i is d_i·f_i with f the cached quadratic fields (kernels.common), d = −2s_i (ising) or 1 − 2x_i
(pubo). Arrays per walker w: S int8 [W, n], F float64 [W, n], L float64 [W, 0] (no SLC groups), E float64 [W],
best-k sets topS/topE (kernels.common.keep_best), BE float64 [W] (best cost, for aspiration and stalls),
TU int64 [W, n] (tabu until move), moves / stall int64 [W], and for tabu search D float64 [W, n], every flip's ΔE,
kept and read as kernels.tabu_gains keeps and reads it for Microsoft's tabu (3-8× faster a move than evaluating
every flip in turn: benchmarks/README.md, "Design measurements"). RNG: padded streams, walker w at word
w·RNG_STRIDE.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import apply_flip, energy, init_fields, keep_best, random_state
from solver_runner.kernels.rng import RNG_STRIDE, randint
from solver_runner.kernels.tabu_gains import NO_KEY, draw_within, flip, key_of, walker_scratch


@njit(cache=True, nogil=True, parallel=True)
def start_walkers(S, F, Lg, E, topS, topE, BE, rng, randomise, ising, constant, M):
    """Random states (`randomise`) or the states already in S: fields, costs, best-k = {start}, BE = cost."""
    for w in prange(S.shape[0]):
        if randomise:
            random_state(S[w], ising, rng, w * RNG_STRIDE)
        init_fields(S[w], F[w], Lg[w], M)
        E[w] = energy(S[w], constant, M)
        BE[w] = E[w]
        keep_best(E[w], S[w], topE[w], topS[w])


@njit(cache=True, nogil=True, inline="always")
def flip_delta(s, f, i, ising):
    """ΔE of flipping i in a quadratic model: d·f_i."""
    return (-2.0 * s[i] if ising else 1.0 - 2.0 * s[i]) * f[i]


@njit(cache=True, nogil=True, inline="always")
def lower(de, q, best_de, best_q, ties, st, k, eps):
    """Keep the lowest ΔE seen (within eps, ties broken uniformly at random: reservoir sampling over the tied).
    Returns (best ΔE, its index, how many tie with it)."""
    if de < best_de - eps:
        return de, q, 1
    if de <= best_de + eps:
        ties += 1
        if randint(st, k, ties) == 0:
            return best_de, q, ties
    return best_de, best_q, ties


@njit(cache=True, nogil=True)
def tabu_move(s, f, d, keys, bits, value, counts, e, best_e, tu, t, tenure, rand_max, ising, st, k, adj_ptr, adj_idx,
              adj_w, dense, tol, eps):
    """Move t of one walker; returns the new cost. d: ΔE of every flip, kept by kernels.tabu_gains.flip (keys, bits,
    value, counts: its scratch, as in kernels.tabu_gains.gains_move): the least admissible ΔE in one vector loop
    over ordered integer keys, then a uniform draw among those within eps of it."""
    n = s.shape[0]
    below = best_e - tol - e  # aspiration: a tabu flip is admissible when it leads below best − tol
    least = NO_KEY
    for i in range(n):
        least = min(least, key_of(keys[i]) if (tu[i] < t) | (d[i] < below) else NO_KEY)
    if least == NO_KEY:
        return e
    bits[0] = key_of(least)
    bi = draw_within(d, tu, t, below, value[0] + eps, counts, st, k)
    de = flip(bi, s, f, d, ising, adj_ptr, adj_idx, adj_w, dense)
    extra = randint(st, k, rand_max) if rand_max > 1 else 0
    tu[bi] = t + min(tenure + extra, n - 1)
    return e + de


@njit(cache=True, nogil=True, parallel=True)
def tabu_chunk(S, F, D, E, topS, topE, BE, TU, moves, stall, rng, count, cutoff, tenure, rand_max, ising, M, tol,
               eps):
    """Up to `count` moves of every walker that has not stalled (stall < cutoff). D [W, n]: scratch for each
    walker's ΔE of every flip (derived from the fields at the start of the chunk)."""
    adj_ptr, adj_idx, adj_w, dense = M[1], M[2], M[3], M[4]
    for w in prange(S.shape[0]):
        if stall[w] >= cutoff:
            continue
        s = S[w]
        f = F[w]
        d = D[w]
        keys, bits, value, counts = walker_scratch(s, f, d, ising)
        e = E[w]
        t = moves[w]
        quiet = stall[w]
        best = BE[w]
        for _ in range(count):
            e = tabu_move(s, f, d, keys, bits, value, counts, e, best, TU[w], t, tenure, rand_max, ising, rng,
                          w * RNG_STRIDE, adj_ptr, adj_idx, adj_w, dense, tol, eps)
            t += 1
            if e < best - tol:
                best = e
                quiet = 0
            else:
                quiet += 1
            keep_best(e, s, topE[w], topS[w])
            if quiet >= cutoff:
                break
        E[w] = e
        moves[w] = t
        stall[w] = quiet
        BE[w] = best


@njit(cache=True, nogil=True)
def relink(x, guide, f, L, order, greedy, distance_scale, ising, st, k, M, eps):
    """Overwrite x (the initiating solution) with the chosen solution on its path to `guide` (see the module
    docstring); f, L, order are scratch of length n, 0, n. Returns the Hamming distance of the two ends."""
    n = x.shape[0]
    init_fields(x, f, L, M)
    dist = 0
    for i in range(n):
        if x[i] != guide[i]:
            order[dist] = i
            dist += 1
    dmin = max(1, int(distance_scale * dist))
    best_k = dist // 2
    best_e = np.inf
    e = 0.0  # relative to the initiating solution
    for step in range(1, dist):
        left = dist - step + 1  # order[step-1:dist] are still to flip
        pick = step - 1
        if greedy:
            bde = np.inf
            ties = 0
            for q in range(step - 1, dist):
                bde, pick, ties = lower(flip_delta(x, f, order[q], ising), q, bde, pick, ties, st, k, eps)
        else:
            pick = step - 1 + randint(st, k, left)
        i = order[pick]
        order[pick] = order[step - 1]
        order[step - 1] = i
        e += flip_delta(x, f, i, ising)
        apply_flip(x, f, L, i, ising, False, M)
        if dmin <= step <= dist - dmin and e < best_e:
            best_e = e
            best_k = step
    for q in range(best_k, dist - 1):  # order[0..dist−2] were flipped in that order: undo those past best_k
        apply_flip(x, f, L, order[q], ising, False, M)
    return dist


@njit(cache=True, nogil=True, parallel=True)
def relink_pairs(ref, first, second, out, greedy, distance_scale, rng, ising, M, eps):
    """out[p] = the path-relinking start from ref[first[p]] toward ref[second[p]], pair p on RNG stream p."""
    n = ref.shape[1]
    for p in prange(first.shape[0]):
        x = out[p]
        src = ref[first[p]]
        for i in range(n):
            x[i] = src[i]
        f = np.empty(n, np.float64)
        L = np.empty(0, np.float64)
        order = np.empty(n, np.int64)
        relink(x, ref[second[p]], f, L, order, greedy, distance_scale, ising, rng, p * RNG_STRIDE, M, eps)
