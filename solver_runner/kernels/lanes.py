"""Replica-parallel (SIMD) Metropolis kernels: many walkers of one quadratic problem side by side, the innermost loop
running over walkers ("lanes") so the compiler emits packed AVX-512/AVX2 code.

Layout of one lane block (structure of arrays; a state of B blocks stacks them as [B, n, W] and runs blocks on
separate threads, each block C-contiguous so its lane loops have unit stride):
- S dt [n, W]: S[i, w] = variable i of lane w (±1 or 0/1), stored as floats so one vector width runs the loop;
- F dt [n, W]: cached quadratic fields h_i + Σ_j J_ij s_j (kernels.common's f, per lane);
- E float64 [W]: incremental energies (exact ΔE sums for integer-valued problems, rounding only otherwise), a
  sweep's ΔE summed per lane in dt first (`lanes_sweep`'s `flush`);
- st uint64 [W]: one xorshift64* generator per lane (kernels.rng's generator; advanced in the lane loop, which
  vectorises: 64-bit shifts, xors and multiplies are packed instructions);
- beta float64 [W]: each lane's inverse temperature (SA: all equal; PT: the ladder, permuted by exchanges).
dt is float32 when the problem's coefficients, fields and energies are all exactly representable in it (the solvers
check: integer-valued, magnitudes below 2²³), else float64; the result is the same either way (below).

Metropolis test per lane, exp-free and exact. Every lane draws one uniform per variable (downhill or not), u =
(x >> 11)·2⁻⁵³ from its generator's output x, exactly the scalar kernels' `rand01`, and the move is taken iff
ΔE ≤ 0 or u < exp(−β·ΔE), the scalar kernels' decision. The lane loop cannot call exp (no vector math library), so
it computes p ≈ exp(−a) branch-free as 2^−k·poly(g) (k = round(a·log₂e), |g| ≤ ln2/2, 2^−k from exponent bits,
Taylor degree 8, degree 5 in float32) and decides where u is clearly below p·(1 − ε) or above p·(1 + ε) (ε = 1e−7,
float32 1e−4, far above the approximation's error); float32 lanes compare the top 24 bits of u (the whole bucket
[u₂₄, u₂₄ + 1)·2⁻²⁴ must lie on one side). The rare lanes in between (a fraction ~ε of uphill moves) are decided
after the loop with the exact float64 test. So every decision equals the scalar `u < exp(−β·ΔE)` on the same draw.

Field updates. A variable that moved in some lanes adds J_ij·Δs to its neighbours' fields in every lane (Δs = 0
where it did not move): a vector loop per neighbour row. When only a few lanes moved (≤ 1/FEW_MOVES of them, the
common case at low temperature on high-degree inputs), the updates are done lane by lane instead: on a G1-like
max-cut graph (degree 48) the full-width updates made lanes slower than the scalar kernel.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from solver_runner.kernels.rng import next_u64

_MULT = np.uint64(0x2545F4914F6CDD1D)
_INV53 = 1.0 / 9007199254740992.0
FEW_MOVES = 8  # when at most 1/FEW_MOVES of the lanes move, their field updates go lane by lane (below)
A_MAX = 40.0  # a = β·ΔE is clipped here: e^−40 ≈ 4e−18 is below every u but 0 (the exact check handles that one)


@intrinsic
def _float_of_bits(typingctx, bits):
    """The float whose bit pattern is the integer `bits` (int32 → float32, int64 → float64): an LLVM bit cast,
    which vectorises, unlike a view of an array."""
    out = {types.int32: types.float32, types.int64: types.float64}.get(bits)
    if out is None:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(out))
    return out(bits), codegen


_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453


@njit(cache=True, nogil=True, fastmath={"contract"})
def _exp_neg64(a):
    """≈ exp(−a) for 0 ≤ a ≤ 40 in float64 (relative error < 3e−10): e^−a = 2^−k · e^−g with k = round(a·log₂e) and
    |g| ≤ ln2/2; e^−g by its Taylor polynomial of degree 8 (Estrin's scheme: the lane loop waits on this chain),
    2^−k built as the float's exponent bits."""
    x = a * _LOG2E
    k = np.floor(x + 0.5)
    g = (x - k) * _LN2
    g2 = g * g
    g4 = g2 * g2
    q0 = (1.0 - g) + g2 * (1.0 / 2 - g * (1.0 / 6))
    q1 = (1.0 / 24 - g * (1.0 / 120)) + g2 * (1.0 / 720 - g * (1.0 / 5040))
    q = q0 + g4 * (q1 + g4 * (1.0 / 40320))
    return q * _float_of_bits((1023 - np.int64(k)) << 52)


_F32 = np.float32


@njit(cache=True, nogil=True, fastmath={"contract"})
def _exp_neg32(a):
    """≈ exp(−a) for 0 ≤ a ≤ 40 in float32 (relative error < 5e−6): as `_exp_neg64`, e^−g of degree 5."""
    x = a * _F32(_LOG2E)
    k = np.floor(x + _F32(0.5))
    g = (x - k) * _F32(_LN2)
    g2 = g * g
    q = (_F32(1.0) - g) + g2 * ((_F32(1.0 / 2) - g * _F32(1.0 / 6)) + g2 * (_F32(1.0 / 24) - g * _F32(1.0 / 120)))
    return q * _float_of_bits(np.int32((127 - np.int32(k)) << 23))


@njit(cache=True, nogil=True, inline="always")
def _scatter(F, i, x, adj_ptr, adj_idx, adj_w, dense, is_dense):
    """F[j, :] += J_ij·x[:] for every neighbour j of i (dense row or CSR): a move's field updates (x = the lanes'
    moves) or a field's accumulation (x = the lanes' values of i; J is symmetric)."""
    W = x.shape[0]
    if is_dense:
        row = dense[i]
        for j in range(row.shape[0]):
            c = row[j]
            if c != 0.0:
                fj = F[j]
                for w in range(W):
                    fj[w] += c * x[w]
    else:
        for p in range(adj_ptr[i], adj_ptr[i + 1]):
            c = adj_w[p]
            fj = F[adj_idx[p]]
            for w in range(W):
                fj[w] += c * x[w]


@njit(cache=True, nogil=True)
def lanes_sweep(S, F, E, st, beta, ising, adj_ptr, adj_idx, adj_w, dense, dm, ud, flush, dt):
    """One in-order Metropolis sweep of every lane at its own β (beta float64 [W]) over a quadratic problem:
    sparse (adj_* CSR, adj_w of dtype dt) or dense (dense dt [n, n]; shape (0, 0) when sparse). dm, ud: dt [W]
    scratch (each lane's move, 0 when rejected; the lanes left to the exact test). dt: np.float32 or np.float64.
    The lanes' ΔE are summed in dt and added to E every `flush` variables (solvers.lanes.energy_flush: in float32
    lanes, as many as keep every partial sum an exact float32 value): one float64 add per lane per `flush`
    variables instead of a conversion and a float64 add per attempt."""
    n, W = S.shape
    zero = dt(0.0)
    one = dt(1.0)
    two = dt(2.0)
    amax = dt(A_MAX)
    f32 = dt(0.1) != 0.1  # float32 lanes (0.1 is not exact in float32): 24-bit uniform buckets
    eps = 1e-4 if f32 else 1e-7
    lo = dt(1.0 - eps)
    hi = dt(1.0 + eps)
    shift = np.uint64(40) if f32 else np.uint64(11)
    scale = dt(1.0 / 16777216.0) if f32 else dt(_INV53)
    ulp = scale if f32 else zero
    is_dense = dense.shape[0] == n and n > 0
    de_sum = np.zeros(W, dt)
    left = flush
    for i in range(n):
        if left == 0:
            for w in range(W):
                E[w] += float(de_sum[w])
                de_sum[w] = zero
            left = flush
        left -= 1
        s = S[i]
        f = F[i]
        undecided = 0
        moved = 0
        for w in range(W):
            si = s[w]
            fw = f[w]
            d = -two * si if ising else one - two * si
            de = d * fw
            u = dt(next_u64(st, w) >> shift) * scale
            a = min(max(dt(beta[w]) * de, zero), amax)
            p = dt(_exp_neg32(a)) if f32 else dt(_exp_neg64(a))
            up = de > zero
            take = (not up) | (u + ulp <= p * lo)
            unsure = up & (u + ulp > p * lo) & (u < p * hi)
            dd = d if take else zero
            dm[w] = dd
            s[w] = si + dd
            de_sum[w] += dd * fw
            ud[w] = one if unsure else zero
            undecided += unsure
            moved += take
        if undecided:
            for w in range(W):
                if ud[w] != zero:  # the exact test on the same draw (its output is st[w]·multiplier)
                    si = s[w]
                    d = -two * si if ising else one - two * si
                    x = st[w] * _MULT
                    if float(x >> np.uint64(11)) * _INV53 < math.exp(-beta[w] * (float(d) * float(f[w]))):
                        dm[w] = d
                        s[w] = si + d
                        E[w] += float(d * f[w])
                        moved += 1
        if moved == 0:
            continue
        if moved * FEW_MOVES <= W and not is_dense:  # few lanes moved: scatter their updates, skip the others
            for w in range(W):
                if dm[w] != zero:
                    for p in range(adj_ptr[i], adj_ptr[i + 1]):
                        F[adj_idx[p], w] += adj_w[p] * dm[w]
            continue
        _scatter(F, i, dm, adj_ptr, adj_idx, adj_w, dense, is_dense)
    for w in range(W):
        E[w] += float(de_sum[w])


@njit(cache=True, nogil=True)
def lanes_keep_best(S, E, bestS, bestE, active):
    """Lanes w < active whose energy beats their best so far copy their state into bestS (SoA, like S). Returns
    how many improved. Branch-free per row, so the copy vectorises."""
    n, W = S.shape
    improved = 0
    for w in range(active):
        if E[w] < bestE[w]:
            improved += 1
    if improved == 0:
        return 0
    for i in range(n):
        s = S[i]
        b = bestS[i]
        for w in range(active):
            b[w] = s[w] if E[w] < bestE[w] else b[w]
    for w in range(active):
        if E[w] < bestE[w]:
            bestE[w] = E[w]
    return improved


@njit(cache=True, nogil=True)
def lanes_anneal(S, F, E, st, bestS, bestE, beta, dm, ud, betas, active, ising, adj_ptr, adj_idx, adj_w, dense, flush,
                 dt):
    """len(betas) sweeps of one block, sweep t at betas[t] for every lane; each lane's best state kept at the end of
    the call (a chunk), not after every sweep: on a cooling schedule the last state is almost always the best, and
    copying improved lanes after every sweep cost ~20 % of the sweeps (3-regular ±J, 10⁴ spins)."""
    for t in range(betas.shape[0]):
        for w in range(beta.shape[0]):
            beta[w] = betas[t]
        lanes_sweep(S, F, E, st, beta, ising, adj_ptr, adj_idx, adj_w, dense, dm, ud, flush, dt)
    lanes_keep_best(S, E, bestS, bestE, active)


@njit(cache=True, nogil=True, parallel=True)
def lanes_anneal_blocks(S, F, E, st, bestS, bestE, beta, dm, ud, betas, active, ising, adj_ptr, adj_idx, adj_w,
                        dense, flush, dt):
    """lanes_anneal for every block b (arrays stacked [B, ...]; active[b] lanes of block b count), blocks in
    parallel: blocks share nothing, so there is no barrier inside the chunk. The per-lane rows written at every
    attempt or sweep (generator words, energies, β, the two scratch rows) are swept in private copies and written
    back at the end: in the stacked arrays a block's row need not start on a cache line (W·8 bytes, W any), so two
    threads wrote to one line at every step, and a 2-thread job ran at 1.0-1.8× one thread's speed, depending on
    where the process's allocations fell."""
    for b in prange(S.shape[0]):
        e = E[b].copy()
        g = st[b].copy()
        bb = beta[b].copy()
        lanes_anneal(S[b], F[b], e, g, bestS[b], bestE[b], bb, np.zeros_like(dm[b]), np.zeros_like(ud[b]), betas,
                     active[b], ising, adj_ptr, adj_idx, adj_w, dense, flush, dt)
        E[b] = e
        st[b] = g
        beta[b] = bb


@njit(cache=True, nogil=True)
def to_lanes(rows, S, F, h, adj_ptr, adj_idx, adj_w, dense):
    """Load int8 states rows [W, n] into lane block S [n, W] and compute the fields F (in S's dtype)."""
    W, n = rows.shape
    for i in range(n):
        for w in range(W):
            S[i, w] = rows[w, i]
    is_dense = dense.shape[0] == n and n > 0
    for i in range(n):
        for w in range(W):
            F[i, w] = h[i]
    for i in range(n):
        _scatter(F, i, S[i], adj_ptr, adj_idx, adj_w, dense, is_dense)


@njit(cache=True, nogil=True)
def from_lanes(S, lanes, out):
    """Lanes 0..lanes−1 of block S [n, W] as int8 rows of out [lanes, n]."""
    n = S.shape[0]
    for w in range(lanes):
        for i in range(n):
            out[w, i] = np.int8(S[i, w])


@njit(cache=True, nogil=True)
def exchange_lanes(E, beta, lane_of, betas, step, st):
    """PT exchanges between neighbouring temperatures by swapping β between lanes (no state is copied).

    lane_of [R] int64: the global lane (block·W + w) sitting at betas[t] (ascending); E, beta: float64 [B, W];
    pairs (t, t+1) for t of the step's parity; accepted with min(1, exp((E_a − E_b)(β_a − β_b))), one uniform from
    generator word st[0] per pair that needs one. Returns the number of accepted exchanges."""
    W = E.shape[1]
    R = betas.shape[0]
    accepted = 0
    for t in range(step & 1, R - 1, 2):
        la = lane_of[t]
        lb = lane_of[t + 1]
        ea = E[la // W, la % W]
        eb = E[lb // W, lb % W]
        x = (ea - eb) * (betas[t] - betas[t + 1])
        if x >= 0.0 or float(next_u64(st, 0) >> np.uint64(11)) * _INV53 < math.exp(x):
            lane_of[t] = lb
            lane_of[t + 1] = la
            beta[lb // W, lb % W] = betas[t]
            beta[la // W, la % W] = betas[t + 1]
            accepted += 1
    return accepted


@njit(cache=True, nogil=True)
def lanes_pt_chunk(S, F, E, st, bestS, bestE, beta, dm, ud, active, lane_of, betas, xst, first_step, steps, ising,
                   adj_ptr, adj_idx, adj_w, dense, flush, dt):
    """PT steps first_step..first_step+steps−1 on one thread: every lane sweeps at its β, then exchanges (even pairs
    on even steps). Returns the number of accepted exchanges."""
    accepted = 0
    for step in range(first_step, first_step + steps):
        for b in range(S.shape[0]):
            lanes_sweep(S[b], F[b], E[b], st[b], beta[b], ising, adj_ptr, adj_idx, adj_w, dense, dm[b], ud[b], flush,
                        dt)
            lanes_keep_best(S[b], E[b], bestS[b], bestE[b], active[b])
        accepted += exchange_lanes(E, beta, lane_of, betas, step, xst)
    return accepted
