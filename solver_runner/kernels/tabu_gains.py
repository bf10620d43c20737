"""One-flip tabu search (kernels.tabu's moves, same rules) for inputs with only linear and quadratic terms, from a
kept array of every move's ΔE instead of re-deriving each one per move.

kernels.tabu evaluates all n moves per move through the general `delta` (any term kinds), one variable at a time,
with a branch per variable: ~3 µs a move on Gset G14 (800 variables, degree ~12). Here each walker keeps d [n] = ΔE
of flipping each variable (from the cached fields); a flip changes d of the variable and of its neighbours only (a
dense row: all of them, recomputed with the fields in one vector loop). A move reads d in loops the compiler turns
into vector code (a float minimum is not vectorised, so minima are taken over int64 keys ordered as the floats):
- one loop for the least d_i over all variables and over the non-tabu ones;
- aspiration, when e + least < best − eps: the first such i in index order (blocks of BLOCK counted at once, then
  the one block that holds it scanned), then the greedy descent: in-order passes flipping every variable with
  d_i < −eps, found the same way;
- otherwise the best non-tabu move: how many non-tabu d_i lie within eps of the least (counted per block) and one
  uniform draw among them (kernels.tabu_tree's rule: values within eps count as one level).
~0.42 µs a move on G14 (2.2-2.4 million moves a second against 0.34 million). The moves are kernels.tabu's where no
two moves tie (the same aspiration, descent and best move); ties are drawn uniformly among all equal moves, as there
(one draw per move here, one per tie met there: the same distribution). kernels.qbit's tabu (1QBit's rules) moves
with this module's `flip` and `draw_within` too.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import keep_best
from solver_runner.kernels.rng import RNG_STRIDE, randint

BLOCK = 64  # variables counted at once before the one block holding the wanted variable is scanned
_LOW63 = np.int64(0x7FFFFFFFFFFFFFFF)
NO_KEY = _LOW63  # the key of no variable (a NaN's: d holds none)


@njit(cache=True, nogil=True, inline="always")
def _gain(si, fi, ising):
    return (-2.0 * si if ising else 1.0 - 2.0 * si) * fi


@njit(cache=True, nogil=True)
def gains_of(s, f, d, ising):
    """d[i] = ΔE of flipping i, from the fields f."""
    for i in range(s.shape[0]):
        d[i] = _gain(s[i], f[i], ising)


@njit(cache=True, nogil=True)
def walker_scratch(s, f, d, ising):
    """A walker's d from its fields, and what a move reads it with: (keys: d's bits as int64, bits: int64 [1] and
    value: its float64 view, counts: int64 [⌈n / BLOCK⌉])."""
    gains_of(s, f, d, ising)
    bits = np.zeros(1, np.int64)
    return d.view(np.int64), bits, bits.view(np.float64), np.zeros(-(-s.shape[0] // BLOCK), np.int64)


@njit(cache=True, nogil=True, inline="always")
def flip(i, s, f, d, ising, adj_ptr, adj_idx, adj_w, dense):
    """Flip i; update the fields and ΔE of i and its neighbours (a dense row: every variable). Returns ΔE."""
    n = s.shape[0]
    si = s[i]
    step = -2 * si if ising else 1 - 2 * si
    de = d[i]
    s[i] = si + step
    if dense.shape[0] == n:
        row = dense[i]
        for j in range(n):
            f[j] += row[j] * step
            d[j] = _gain(s[j], f[j], ising)
    else:
        d[i] = -de
        for p in range(adj_ptr[i], adj_ptr[i + 1]):
            j = adj_idx[p]
            f[j] += adj_w[p] * step
            d[j] = _gain(s[j], f[j], ising)
    return de


@njit(cache=True, nogil=True, inline="always")
def _first_below(d, lo, x):
    """The smallest i ≥ lo with d[i] < x, or −1: whole blocks counted at once (a vector loop), then the one block
    holding it scanned."""
    n = d.shape[0]
    full = n - n % BLOCK
    edge = min(-(-lo // BLOCK) * BLOCK, n)
    for j in range(lo, edge):
        if d[j] < x:
            return j
    for b in range(edge, full, BLOCK):
        below = 0
        for j in range(BLOCK):
            below += d[b + j] < x
        if below:
            for j in range(b, b + BLOCK):
                if d[j] < x:
                    return j
    for j in range(max(edge, full), n):
        if d[j] < x:
            return j
    return -1


@njit(cache=True, nogil=True, inline="always")
def key_of(bits):
    """An int64 ordered as the float64 whose bits these are (an involution: applied to a key, it gives the bits)."""
    return bits ^ ((bits >> 63) & _LOW63)


@njit(cache=True, nogil=True, inline="always")
def draw_within(d, tabu_until, t, below, cut, counts, st, k):
    """A uniform draw among the admissible variables with d ≤ cut (admissible: not tabu at move t, or d < below),
    or −1 when there is none: how many there are, counted per block in vector loops (counts: int64 scratch
    [⌈n / BLOCK⌉]), one draw, then the block that holds the drawn one scanned."""
    n = d.shape[0]
    full = n - n % BLOCK
    total = 0
    for b in range(0, full, BLOCK):
        c = 0
        for j in range(BLOCK):
            c += ((tabu_until[b + j] < t) | (d[b + j] < below)) & (d[b + j] <= cut)
        counts[b // BLOCK] = c
        total += c
    if full < n:
        c = 0
        for j in range(full, n):
            c += ((tabu_until[j] < t) | (d[j] < below)) & (d[j] <= cut)
        counts[full // BLOCK] = c
        total += c
    if total == 0:
        return -1
    r = randint(st, k, total)
    b = 0
    while r >= counts[b]:
        r -= counts[b]
        b += 1
    for j in range(b * BLOCK, min((b + 1) * BLOCK, n)):
        if (tabu_until[j] < t or d[j] < below) and d[j] <= cut:
            if r == 0:
                return j
            r -= 1
    return -1


@njit(cache=True, nogil=True)
def gains_move(s, f, d, keys, bits, value, e, best_e, tabu_until, t, tenure, ising, st, k, adj_ptr, adj_idx, adj_w,
               dense, counts, eps):
    """Move number t of one walker (kernels.tabu.tabu_move's rules, module docstring). Returns the new energy.
    keys: d's bits (an int64 view of d); bits: int64 [1] scratch and value its float64 view (a key turned back into
    the float it orders); counts: int64 scratch [⌈n / BLOCK⌉]."""
    every = NO_KEY
    free = NO_KEY
    for i in range(keys.shape[0]):  # least ΔE over all variables and over those not tabu, as ordered integers
        key = key_of(keys[i])
        every = min(every, key)
        free = min(free, key if tabu_until[i] < t else NO_KEY)
    thr = best_e - eps - e
    bits[0] = key_of(every)
    if value[0] < thr:
        aspire = _first_below(d, 0, thr)
        tabu_until[aspire] = t + tenure
        e += flip(aspire, s, f, d, ising, adj_ptr, adj_idx, adj_w, dense)
        flipped = True  # greedy descent: in-order passes flipping every ΔE < −eps until a pass flips nothing
        while flipped:
            flipped = False
            i = _first_below(d, 0, -eps)
            while i >= 0:
                e += flip(i, s, f, d, ising, adj_ptr, adj_idx, adj_w, dense)
                flipped = True
                i = _first_below(d, i + 1, -eps)
        return e
    if free == NO_KEY:
        return e
    bits[0] = key_of(free)
    i = draw_within(d, tabu_until, t, -np.inf, value[0] + eps, counts, st, k)
    tabu_until[i] = t + tenure
    return e + flip(i, s, f, d, ising, adj_ptr, adj_idx, adj_w, dense)


@njit(cache=True, nogil=True, parallel=True)
def gains_chunk(S, F, D, E, topS, topE, tabu_until, moves, tenures, rng, count, ising, adj_ptr, adj_idx, adj_w,
                dense, eps):
    """Advance every walker by `count` moves; offer each move's result to the walker's best-k set. d is derived from
    the fields at the start of every chunk (O(n), against O(n) per move)."""
    R = S.shape[0]
    n = S.shape[1]
    for r in prange(R):
        tenure = min(tenures[r], max(n - 1, 0))
        s = S[r]
        f = F[r]
        d = D[r]
        keys, bits, value, counts = walker_scratch(s, f, d, ising)
        e = E[r]
        t = moves[r]
        for _ in range(count):
            e = gains_move(s, f, d, keys, bits, value, e, topE[r, 0], tabu_until[r], t, tenure, ising, rng,
                           r * RNG_STRIDE, adj_ptr, adj_idx, adj_w, dense, counts, eps)
            keep_best(e, s, topE[r], topS[r])
            t += 1
        E[r] = e
        moves[r] = t
