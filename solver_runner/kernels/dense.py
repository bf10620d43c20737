"""Simulated annealing on dense quadratic inputs: 16 attempts decided at once on integer fields.

The scalar kernel (kernels.common.sweep_dense_quadratic) spends an attempt's time on its Metropolis test and a
flip's on adding a float64 row of n to the walker's fields. This one cuts both, and takes the same decisions as
exact arithmetic:

- **Integer fields.** Couplings are rounded to int16 at a power-of-two scale (solvers.dense.dense_form), fields
  kept as int32 sums of them: a flip adds 2 bytes per variable instead of 8, and integer sums are exact, so a
  field's only error is the rounding of the couplings, a fixed bound `w_i` per variable (in ΔE, times the scale:
  `ws`).
- **One uniform per attempt, known before the sweep.** Attempt i of a sweep draws u_i whatever happens before it
  (`uniform`: 53 bits, of which the top 31 come from a 32-bit hash of i under the sweep's keys, cheap to compute
  for all n at once). The Metropolis rule "accept iff ΔE ≤ 0 or u < e^{−βΔE}" is "accept iff ΔE < −ln(u)/β", so
  each attempt's threshold is known at the sweep's start: `thresholds` turns −ln(u_i)/β into two integers per
  attempt, Kc_i and Ks_i, such that the quantised ΔE (d·f, an int) below Ks_i surely accepts and at or above Kc_i
  surely rejects, whatever the rounding of the couplings, of −ln (a float32 polynomial) and of u's lower bits.
- **16 attempts at a time** (`_pass16`: LLVM vector code, two bitmasks). The first lane that may accept is decided:
  surely (below Ks) or, in the band between, by the exact test on the same u (ΔE from a float64 dot product of the
  coupling row with the state, −ln(u) in float64); a flip then adds its row and the rest of the block is judged
  again with the new fields. Most blocks at the cold end have no candidate at all: 16 rejections in one pass.

So the decisions are those of exact arithmetic on the same uniforms (the band holds 3·10⁻⁴ of SK-512's attempts;
a test checks the states against a float64 reference); the RNG is this kernel's own (counter-based: attempt i of
sweep t of walker r from (seed stream r, t, i)), so a seed gives other states than the scalar kernel, the same in
distribution.
A walker's energy is the quantised model's (solvers.walkers.DenseAnneal starts it so, the kernel moves it by
quantised ΔEs): within the couplings' rounding summed over all of them of the exact energy (solvers.dense.dense_form
logs the bound). It orders a walker's kept states; best costs reported and states returned are costed exactly.

Arrays: S int8 [R, n16] (n16 = n rounded up to 16; padding lanes never move: Kc = Ks = −2^30 there), F int32
[R, n16], T int32 [R, 2, n16] (each walker's Kc, Ks), Jd int16 [n, n] (couplings × scale × 2 for Ising, × 1 for
PUBO: a flip adds ±Jd[i]), ws float32 [n16].
`rng` is the padded generator array of solvers.walkers.AnnealState: word k·RNG_STRIDE is walker k's key (never
changed here), word k·RNG_STRIDE + 1 counts its sweeps.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from solver_runner.kernels.common import keep_best
from solver_runner.kernels.lanes import _float_of_bits
from solver_runner.kernels.rng import GOLDEN, RNG_STRIDE, mix64

LANES = 16
LIMIT = 2**30  # |thresholds| are clipped here; |d·f| < 2^29 by the choice of scale
_KEY2 = np.uint64(0xD1B54A32D192ED03)
_U32 = np.uint32
_F32 = np.float32
_LIM32 = _F32(LIMIT)
_SLACK = _F32(2.0**-20)  # relative: covers float32 rounding of the threshold's few operations (2^-24 each)
_T_REL = _F32(2.0**-15)  # −ln(u): the polynomial's error (< 2^-19) and float32 rounding, relative
_T_ABS = _F32(2.0**-16)  # ... absolute: u's 22 lower bits (≤ 0.5/h ≤ 2^-17 for h ≥ 2^16) and rounding near u = 1
_SMALL_H = np.int32(1 << 16)  # below this the 31 top bits leave −ln(u) too loose: always the exact test
_SQRT2 = _F32(1.4142135623730951)
_LN2 = _F32(0.6931471805599453)
_INV53 = 1.0 / 9007199254740992.0
# ln(1 + y) / y on [√½ − 1, √2 − 1], degree 6 (fitted at Chebyshev nodes): relative error 1.2e-6 in float64
_P = tuple(_F32(c) for c in (1.0000009643975838, -0.5000114503774563, 0.3331467380854973, -0.24908289184718937,
                             0.20491759650001384, -0.1868075142714674, 0.11931054435747845))
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = _P


@intrinsic
def _bits_of_float32(typingctx, x):
    """The int32 bit pattern of a float32 (an LLVM bit cast, which vectorises)."""
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(x), codegen


@intrinsic
def _cttz(typingctx, x):
    """Trailing zero bits of a nonzero int64."""
    if x != types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))
    return types.int64(x), codegen


@intrinsic
def _pass16(typingctx, s, f, kc, ks, i0, ising):
    """Lanes i0..i0+15: with ΔE_l = d_l·f[i0+l] (d = −2s Ising, 1 − 2s PUBO), the bitmask of ΔE_l < kc[i0+l] (may
    accept) | the bitmask of ΔE_l < ks[i0+l] (surely accepts) << 16. Plain vector loads, compares and a mask
    bit cast: numba's own loops build such masks lane by lane."""
    if not (isinstance(s, types.Array) and isinstance(f, types.Array) and isinstance(i0, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        s_val, f_val, kc_val, ks_val, off, is_ising = args
        i8, i32, i64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
        vec = ir.VectorType(i32, LANES)

        def load(aty, val, elt, align):
            data = context.make_array(aty)(context, builder, val).data
            ptr = builder.bitcast(builder.gep(data, [off]), ir.PointerType(ir.VectorType(elt, LANES)))
            return builder.load(ptr, align=align)
        spins = builder.sext(load(sig.args[0], s_val, i8, 1), vec)
        twice = builder.mul(spins, ir.Constant(vec, [2] * LANES))
        d = builder.select(is_ising, builder.sub(ir.Constant(vec, [0] * LANES), twice),
                           builder.sub(ir.Constant(vec, [1] * LANES), twice))
        de = builder.mul(d, load(sig.args[1], f_val, i32, 4))
        may = builder.bitcast(builder.icmp_signed("<", de, load(sig.args[2], kc_val, i32, 4)), ir.IntType(LANES))
        sure = builder.bitcast(builder.icmp_signed("<", de, load(sig.args[3], ks_val, i32, 4)), ir.IntType(LANES))
        return builder.or_(builder.zext(may, i64), builder.shl(builder.zext(sure, i64), ir.Constant(i64, LANES)))
    return types.int64(s, f, kc, ks, i0, ising), codegen


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lowbias32(x):
    """A 32-bit integer hash (a bijection; Wellons's lowbias32 constants)."""
    x = _U32(x ^ (x >> _U32(16)))
    x = _U32(x * _U32(0x21F0AAAD))
    x = _U32(x ^ (x >> _U32(15)))
    x = _U32(x * _U32(0xD35A2D97))
    return _U32(x ^ (x >> _U32(15)))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _top31(i, ka, kb):
    """The top 31 bits of the uniform of the attempt with uint32 index i, an int32 in [0, 2^31): two keyed rounds of
    the hash, so two sweeps give the same sequence only if both 32-bit keys repeat. (i is a uint32 from an array in
    the vector loop: an int64 loop index would make numba widen the products to 64 bits, 2.5x slower.)"""
    return np.int32(_lowbias32(_U32(_lowbias32(_U32(i ^ ka)) + kb)) >> _U32(1))


@njit(cache=True, nogil=True, inline="always")
def sweep_keys(key, sweep):
    """(ka, kb, k2): sweep `sweep`'s two 32-bit keys and the 64-bit key of its uniforms' lower bits."""
    z = mix64(key + (sweep + np.uint64(1)) * GOLDEN)
    return _U32(z >> np.uint64(32)), _U32(z & np.uint64(0xFFFFFFFF)), mix64(z ^ _KEY2)


@njit(cache=True, nogil=True, inline="always")
def uniform(ka, kb, k2, i):
    """Attempt i's uniform in (0, 1): 31 bits from `_top31`, 22 from k2; ((bits) + ½)·2^-53."""
    hi = np.uint64(_top31(_U32(i), ka, kb))
    lo = mix64(k2 + np.uint64(i + 1) * GOLDEN) >> np.uint64(42)
    return (float((hi << np.uint64(22)) | lo) + 0.5) * _INV53


@njit(cache=True, nogil=True, inline="always", error_model="numpy", fastmath={"contract"})
def neg_log_top(h):
    """≈ −ln((h + ½)·2^-31) in float32 for h in [0, 2^31): the exponent from the float's bits, the mantissa m
    reduced to [√½, √2), ln m = y·P(y) with y = m − 1. Relative error < 2^-17 (float32 rounding included)."""
    k = _F32(h) + _F32(0.5)
    bits = _bits_of_float32(k)
    e = _F32(np.int32(np.int32(bits >> np.int32(23)) - np.int32(127 + 31)))
    m = _float_of_bits(np.int32((bits & np.int32(0x007FFFFF)) | np.int32(0x3F800000)))
    big = m > _SQRT2
    m = m * _F32(0.5) if big else m
    e = e + _F32(1.0) if big else e
    y = m - _F32(1.0)
    y2 = y * y
    p = (_P0 + y * _P1) + y2 * (_P2 + y * _P3) + (y2 * y2) * ((_P4 + y * _P5) + y2 * _P6)
    return -e * _LN2 - y * p


@njit(cache=True, nogil=True, inline="always", error_model="numpy", fastmath={"contract"})
def thresholds(idx, ka, kb, n, per_beta, ws, Kc, Ks):
    """Kc[i], Ks[i] for the n attempts of a sweep (per_beta = scale/β in float32; idx: uint32 0, 1, ...):
    quantised ΔE < Ks[i] surely accepts, ΔE ≥ Kc[i] surely rejects. From t ≈ −ln u with its error bound, widened by
    the field's bound ws[i], float32 rounding (relative) and 1 (the conversion to an int)."""
    for i in range(n):
        h = _top31(idx[i], ka, kb)
        t = neg_log_top(h)
        band = t * _T_REL + _T_ABS
        hi = (t + band) * per_beta + ws[i]
        lo = (t - band) * per_beta - ws[i]
        hi = hi + abs(hi) * _SLACK + _F32(1.0)
        lo = lo - abs(lo) * _SLACK - _F32(1.0)
        hi = hi if hi < _LIM32 else _LIM32
        lo = lo if lo < _LIM32 else _LIM32
        lo = lo if lo > -_LIM32 else -_LIM32
        small = h < _SMALL_H
        Kc[i] = np.int32(LIMIT) if small else np.int32(hi)
        Ks[i] = np.int32(-LIMIT) if small else np.int32(lo)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def exact_delta(s, d, h, dense, i):
    """d·(h_i + Σ_j J_ij x_j) in float64: the exact path's ΔE (its rounding, ~n·2^-53 of Σ|J_ij|, far inside the
    band that sends an attempt here). The sum may be reordered, so it vectorises; the same compiled code gives the
    same bits every time."""
    acc = 0.0
    row = dense[i]
    for j in range(h.shape[0]):
        acc += row[j] * s[j]
    return d * (h[i] + acc)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def dense_sweep(s, f, beta, ising, st, k, Jd, per_beta, ws, h, dense, idx, Kc, Ks):
    """One sweep of walker k (s int8 [n16], f int32 [n16]) at β; returns the quantised energy change (int64)."""
    n = Jd.shape[0]
    sweep = st[k + 1]
    ka, kb, k2 = sweep_keys(st[k], sweep)
    st[k + 1] = sweep + np.uint64(1)
    thresholds(idx, ka, kb, n, per_beta, ws, Kc, Ks)
    total = np.int64(0)
    for i0 in range(0, n, LANES):
        pos = 0
        while pos < LANES:
            both = _pass16(s, f, Kc, Ks, i0, ising)
            may = both & ((np.int64(0xFFFF) << pos) & np.int64(0xFFFF))
            if may == 0:
                break
            lane = _cttz(may)
            pos = lane + 1
            i = i0 + lane
            si = s[i]
            d = -2 * si if ising else 1 - 2 * si
            if not (both >> (lane + LANES)) & 1:  # in the band: the exact test on the same uniform
                if not exact_delta(s, float(d), h, dense, i) < -np.log(uniform(ka, kb, k2, i)) / beta:
                    continue
            s[i] = si + d
            total += d * np.int64(f[i])
            if d > 0:  # Jd[i, j] indexed in place: a row view per flip costs a reference count round trip
                for j in range(n):
                    f[j] += Jd[i, j]
            else:
                for j in range(n):
                    f[j] -= Jd[i, j]
    return total


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def dense_anneal_chunk(S, F, T, E, topS, topE, rng, betas, ising, Jd, scale, ws, h, dense):
    """Advance every walker by len(betas) sweeps (sweep t at betas[t]); offer each sweep's end state to its best-k.
    T int32 [R, 2, n16]: each walker's Kc and Ks (the caller sets the padding lanes to −LIMIT once). Walkers in
    parallel, each on its own generator words, so results do not depend on the thread count."""
    R, n16 = S.shape
    n = Jd.shape[0]
    idx = np.arange(n16).astype(np.uint32)
    for r in prange(R):
        s = S[r]
        f = F[r]
        Kc = T[r, 0]
        Ks = T[r, 1]
        e = E[r]
        for t in range(betas.shape[0]):
            per_beta = _F32(scale / betas[t])
            if ising:  # a constant on each branch: the inlined sweep is specialised
                de = dense_sweep(s, f, betas[t], True, rng, r * RNG_STRIDE, Jd, per_beta, ws, h, dense, idx, Kc, Ks)
            else:
                de = dense_sweep(s, f, betas[t], False, rng, r * RNG_STRIDE, Jd, per_beta, ws, h, dense, idx, Kc, Ks)
            e += de / scale
            keep_best(e, s[:n], topE[r], topS[r])
        E[r] = e


@njit(cache=True, nogil=True, parallel=True)
def dense_fields(S, F, Jd, hq, ising):
    """F[r] = the quantised fields of state S[r]: hq + Σ_i Jq[i]·x_i (Ising: Jq = Jd/2, x = s; PUBO: Jq = Jd, x = s),
    exact int32 sums (the padding lanes 0)."""
    R = S.shape[0]
    n = Jd.shape[0]
    for r in prange(R):
        acc = np.zeros(n, np.int32)
        s = S[r]
        for i in range(n):
            x = s[i]
            if x > 0:
                for j in range(n):
                    acc[j] += Jd[i, j]
            elif x < 0:
                for j in range(n):
                    acc[j] -= Jd[i, j]
        for j in range(n):
            F[r, j] = hq[j] + (acc[j] >> 1 if ising else acc[j])
        for j in range(n, F.shape[1]):
            F[r, j] = 0
