"""Multi-spin coded simulated annealing (Isakov et al., Comput. Phys. Commun. 192, 265, 2015): 64 walkers in the
bits of one uint64 per variable, for quadratic problems whose coefficients are small integer multiples of a quantum.

State: X uint64 [G, n + 1]: bit w of X[g, i] is variable i of walker 64·g + w (ising: 1 = +1, 0 = −1; pubo: the
value); word n is a virtual variable fixed at 0 that carries the linear terms. Groups g run independently (one per
thread), each on its own random stream.

Bit-sliced local fields. For variable i, each neighbour j (couplings and the virtual field neighbour, prepared by
solver_runner.solvers.msc) has an integer weight w_j ≥ 1 and a sign mask neg_j; the word y_j = X[j] ^ X[i] ^ neg_j
has bit w set where walker w's bond to j is satisfied. The walkers' weighted counts B = Σ_j w_j·y_j are added up
bit-sliced in up to 6 planes (B ≤ 63), and the energy change of flipping i is, in quanta, ΔE = a·B + c_i (a = 4
for ising, 1 for pubo; c_i per variable). Moves with B ≤ down_i (ΔE ≤ 0) are always taken.

Acceptance per energy level (exact, independent per walker). An uphill walker at level ΔE = k accepts with
p_k = exp(−β·q·k), kept per sweep as a 64-bit threshold T_k = ⌊p_k·2⁶⁴⌋. The walkers' uniforms u are drawn bit by
bit, most significant first, 64 walkers per random word: at bit j a walker whose bit of u differs from bit j of
its T decides (u < T if its bit is 0), the others go on. A word decides about half the undecided walkers, so 64
walkers need ~7.3 words instead of 64 draws, and each walker's u is an exact uniform (to 2⁻⁶⁴): the same
acceptance probability as the scalar kernel's u < exp(−β·ΔE), with independent walkers (Isakov's codes share one
random number among the 64, which correlates them). The first 8 words are drawn unconditionally (no branch; the
decision is the same whether or not a decided walker's later bits are looked at).

Random words come from SplitMix64 (all 64 bits of good quality, each a walker's coin), refilled into a per-group
buffer of BUF words by a loop the compiler vectorises: words k are mix(s + k·γ), so refills are independent.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from solver_runner.kernels.rng import GOLDEN, mix64

BUF = 256
_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
MAX_PLANES = 6  # B ≤ 63: the qualification rule (solvers.msc) keeps every variable's Σ weights below 64
TWO64 = 18446744073709551616.0


@njit(cache=True, nogil=True)
def refill(buf, st):
    """BUF fresh SplitMix64 words into buf; advances the stream st[0] past them."""
    base = st[0]
    for k in range(buf.shape[0]):
        buf[k] = mix64(base + np.uint64(k + 1) * GOLDEN)
    st[0] = base + np.uint64(buf.shape[0]) * GOLDEN


@njit(cache=True, nogil=True)
def thresholds(thr, beta_q):
    """thr[k] = ⌊exp(−beta_q·k)·2⁶⁴⌋ for k ≥ 1 (beta_q = β·quantum); thr[0] is unused (flat moves always pass)."""
    for k in range(1, thr.shape[0]):
        p = math.exp(-beta_q * k)
        thr[k] = np.uint64(p * TWO64) if p < 1.0 else _ONES


@njit(cache=True, nogil=True, inline="always")
def _add(y, p0, p1, p2, p3, p4, p5, k, P):
    """Add the bit vector y at plane k to the bit-sliced counter (p0 = least significant), ripple to plane P−1."""
    if k <= 0:
        t = p0 & y
        p0 ^= y
        y = t
    if k <= 1 and P > 1:
        t = p1 & y
        p1 ^= y
        y = t
    if k <= 2 and P > 2:
        t = p2 & y
        p2 ^= y
        y = t
    if k <= 3 and P > 3:
        t = p3 & y
        p3 ^= y
        y = t
    if k <= 4 and P > 4:
        t = p4 & y
        p4 ^= y
        y = t
    if k <= 5 and P > 5:
        p5 ^= y
    return p0, p1, p2, p3, p4, p5


@njit(cache=True, nogil=True, inline="always")
def _level(v, p0, p1, p2, p3, p4, p5, P):
    """Mask of the walkers whose count B equals v (branch-free per plane)."""
    m = p0 ^ (_ZERO - (_ONE - (np.uint64(v) & _ONE)))
    if P > 1:
        m &= p1 ^ (_ZERO - (_ONE - ((np.uint64(v) >> np.uint64(1)) & _ONE)))
    if P > 2:
        m &= p2 ^ (_ZERO - (_ONE - ((np.uint64(v) >> np.uint64(2)) & _ONE)))
    if P > 3:
        m &= p3 ^ (_ZERO - (_ONE - ((np.uint64(v) >> np.uint64(3)) & _ONE)))
    if P > 4:
        m &= p4 ^ (_ZERO - (_ONE - ((np.uint64(v) >> np.uint64(4)) & _ONE)))
    if P > 5:
        m &= p5 ^ (_ZERO - (_ONE - ((np.uint64(v) >> np.uint64(5)) & _ONE)))
    return m


@njit(cache=True, nogil=True, inline="always")
def _at_most(d, p0, p1, p2, p3, p4, p5, P):
    """Mask of the walkers with B ≤ d (0 ≤ d), compared most significant plane first."""
    lt = _ZERO
    eq = _ONES
    for r in range(P - 1, -1, -1):
        pr = p0 if r == 0 else p1 if r == 1 else p2 if r == 2 else p3 if r == 3 else p4 if r == 4 else p5
        if (d >> r) & 1:
            lt |= eq & ~pr
            eq &= pr
        else:
            eq &= ~pr
    return lt | eq


@njit(cache=True, nogil=True, inline="always")
def _bit_step(U, acc, r, m1, t1, t2, j):
    """One bit of the walkers' uniforms: walkers in m1 compare with threshold t1, the others with t2."""
    pj = (m1 & (_ZERO - ((t1 >> j) & _ONE))) | (~m1 & (_ZERO - ((t2 >> j) & _ONE)))
    acc |= U & pj & ~r
    U &= ~(pj ^ r)
    return U, acc


@njit(cache=True, nogil=True, inline="always")
def _first_bits(U, take, buf, ps, m1, t1, t2):
    """The 8 most significant bit steps, on words buf[ps..ps+7]. Where both thresholds start with the same 8 bits
    (every level's p < 2⁻⁸ at the cold end of a schedule, or both near 1 at the hot end) those bits are the same
    for all walkers, so a step needs no per-walker mask: with 8 leading zeros it only drops the walkers whose bit
    is 1 (one OR of the 8 words in all). The same decisions as 8 `_bit_step`s; on ±J inputs 2-14 % less time per
    attempt (benchmarks/README.md, "Design measurements")."""
    h = t1 >> np.uint64(56)
    if h == t2 >> np.uint64(56):
        if h == _ZERO:
            U &= ~(buf[ps] | buf[ps + 1] | buf[ps + 2] | buf[ps + 3] | buf[ps + 4] | buf[ps + 5] | buf[ps + 6]
                   | buf[ps + 7])
            return U, take
        for k in range(8):
            r = buf[ps + k]
            c = _ZERO - ((h >> np.uint64(7 - k)) & _ONE)
            take |= U & c & ~r
            U &= ~(c ^ r)
        return U, take
    for k in range(8):
        U, take = _bit_step(U, take, buf[ps + k], m1, t1, t2, np.uint64(63 - k))
    return U, take


@njit(cache=True, nogil=True)
def msc_sweep(x, st, buf, pos, thr, a, c, down, smax, nb_ptr, nb_idx, nb_w, nb_neg, P, lmask, lthr):
    """One in-order Metropolis sweep of the 64 walkers of word array x (uint64 [n + 1]) with thresholds thr.

    buf/pos: the group's buffered random words and the next unread index (returned, advanced); st: its stream.
    lmask/lthr: scratch (≥ 64 entries) for the masks and thresholds of the uphill levels present."""
    n = c.shape[0]
    nb = buf.shape[0]
    ps = pos
    for i in range(n):
        bi = x[i]
        p0 = p1 = p2 = p3 = p4 = p5 = _ZERO
        for q in range(nb_ptr[i], nb_ptr[i + 1]):
            y = x[nb_idx[q]] ^ bi ^ nb_neg[q]
            w = nb_w[q]
            if w == 1:
                p0, p1, p2, p3, p4, p5 = _add(y, p0, p1, p2, p3, p4, p5, 0, P)
            else:
                k = 0
                while w:
                    if w & 1:
                        p0, p1, p2, p3, p4, p5 = _add(y, p0, p1, p2, p3, p4, p5, k, P)
                    w >>= 1
                    k += 1
        d = down[i]
        sm = smax[i]
        if d < 0:
            take = _ZERO
        elif d >= sm:
            take = _ONES
        else:
            take = _at_most(d, p0, p1, p2, p3, p4, p5, P)
        U = ~take
        if U:
            v0 = max(d + 1, 0)
            nl = 0
            for v in range(v0, sm + 1):
                m = _level(v, p0, p1, p2, p3, p4, p5, P)
                if m or sm - v0 < 2:  # two levels or fewer: kept unconditionally (no unpredictable branch)
                    lmask[nl] = m
                    lthr[nl] = thr[a * v + c[i]]
                    nl += 1
            if nl <= 2:
                t1 = lthr[0]
                t2 = lthr[1] if nl == 2 else t1
                m1 = lmask[0]
                if ps + 8 > nb:
                    refill(buf, st)
                    ps = 0
                U, take = _first_bits(U, take, buf, ps, m1, t1, t2)
                ps += 8
                j = 55
                while U and j >= 0:
                    if ps == nb:
                        refill(buf, st)
                        ps = 0
                    U, take = _bit_step(U, take, buf[ps], m1, t1, t2, np.uint64(j))
                    ps += 1
                    j -= 1
            else:
                j = 63
                while U and j >= 0:
                    if ps == nb:
                        refill(buf, st)
                        ps = 0
                    r = buf[ps]
                    ps += 1
                    pj = _ZERO
                    for lv in range(nl):
                        pj |= lmask[lv] & (_ZERO - ((lthr[lv] >> np.uint64(j)) & _ONE))
                    take |= U & pj & ~r
                    U &= ~(pj ^ r)
                    j -= 1
        x[i] = bi ^ take
    return ps


@njit(cache=True, nogil=True, parallel=True)
def msc_anneal_chunk(X, st, buf, pos, thr, lmask, lthr, betas_q, a, c, down, smax, nb_ptr, nb_idx, nb_w, nb_neg,
                     P):
    """len(betas_q) sweeps of every group (sweep t at β·quantum = betas_q[t]); groups in parallel, each with its
    own rows of st [G, 1], buf [G, BUF], pos [G], thr [G, K], lmask/lthr [G, 64]. Those small rows are swept in
    private copies (written back at the end): side by side in the stacked arrays, neighbouring groups' rows share
    cache lines (st's one word per group above all), which two threads would write in turn."""
    for g in prange(X.shape[0]):
        gst = st[g].copy()
        gbuf = buf[g].copy()
        gthr = thr[g].copy()
        gmask = np.empty_like(lmask[g])
        gl = np.empty_like(lthr[g])
        ps = pos[g]
        for t in range(betas_q.shape[0]):
            thresholds(gthr, betas_q[t])
            ps = msc_sweep(X[g], gst, gbuf, ps, gthr, a, c, down, smax, nb_ptr, nb_idx, nb_w, nb_neg, P, gmask, gl)
        st[g] = gst
        buf[g] = gbuf
        thr[g] = gthr
        pos[g] = ps


@njit(cache=True, nogil=True)
def lane_energies(x, E, s, f, h, adj_ptr, adj_idx, adj_w, ising, constant):
    """Exact costs (float64 [64] into E) of the 64 walkers of word array x, for the model's linear and quadratic
    terms; s and f are float64 [64] scratch. Each pair is visited once (j > i); loops over the 64 lanes vectorise."""
    n = h.shape[0]
    for w in range(64):
        E[w] = constant
    for i in range(n):
        xi = x[i]
        for w in range(64):
            b = np.float64((xi >> np.uint64(w)) & _ONE)
            s[w] = 2.0 * b - 1.0 if ising else b
            f[w] = h[i]
        for p in range(adj_ptr[i], adj_ptr[i + 1]):
            j = adj_idx[p]
            if j > i:
                xj = x[j]
                wgt = adj_w[p]
                for w in range(64):
                    b = np.float64((xj >> np.uint64(w)) & _ONE)
                    f[w] += wgt * (2.0 * b - 1.0 if ising else b)
        for w in range(64):
            E[w] += s[w] * f[w]


@njit(cache=True, nogil=True, parallel=True)
def offer_best(X, bestX, bestE, E, h, adj_ptr, adj_idx, adj_w, ising, constant):
    """Each walker's current cost into E [G·64]; walkers that beat their best so far (bestE [G·64]) copy their bits
    into bestX. Returns how many improved. Groups in parallel, each summing into private rows (E's 64-float rows
    need not start on a cache line): serial, the measurements were 14-16 % of a 1024-walker job on any thread
    count. Per-group counts, summed after the loop: numba 0.68.0 fails to compile this loop with a scalar `+=`
    reduction ("unexpected cycle in lookup()"); 0.68.1 compiles it."""
    n = h.shape[0]
    improved = np.zeros(X.shape[0], np.int64)
    for g in prange(X.shape[0]):
        e = np.empty(64)
        lane_energies(X[g], e, np.empty(64), np.empty(64), h, adj_ptr, adj_idx, adj_w, ising, constant)
        mask = _ZERO
        better = 0
        for w in range(64):
            k = g * 64 + w
            E[k] = e[w]
            if e[w] < bestE[k]:
                bestE[k] = e[w]
                mask |= _ONE << np.uint64(w)
                better += 1
        if mask:
            for i in range(n):
                bestX[g, i] = (bestX[g, i] & ~mask) | (X[g, i] & mask)
        improved[g] = better
    return int(improved.sum())


@njit(cache=True, nogil=True)
def unpack(X, lanes, out, ising):
    """Walkers 0..lanes−1 as int8 rows of out [lanes, n] (±1 or 0/1)."""
    n = out.shape[1]
    for k in range(lanes):
        g = k // 64
        sh = np.uint64(k % 64)
        row = out[k]
        for i in range(n):
            b = np.int8((X[g, i] >> sh) & _ONE)
            row[i] = 2 * b - 1 if ising else b
