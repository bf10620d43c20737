"""Multi-spin coded SA (solver_runner.kernels.msc): which inputs qualify, their bit-sliced form, and the walkers' state.

An input qualifies when it has only linear and quadratic terms whose coefficients are all integer multiples of one
quantum q (found by scaling by 2^k, k ≤ 8, and taking the gcd), and every variable's Σ|coefficients|/q (its
couplings plus its linear term, folded as below) is at most 63: ±J spin glasses, unit-weight max-cut (Gset), small
integer QUBOs. Per variable i (in quanta; the derivation is in kernels.msc's docstring):
- ising: a neighbour j per coupling J_ij (weight |J_ij|, neg = J_ij < 0) and, when h_i ≠ 0, the virtual neighbour n
  (fixed bit 0) with weight |h_i|, neg = h_i > 0; then ΔE = 4·B − 2·S_i with S_i = Σ weights, so c_i = −2·S_i.
- pubo: a neighbour per Q_ij (weight |Q_ij|, neg = Q_ij < 0); with N_i = Σ_{Q<0}|Q|, P_i = Σ_{Q>0}Q the flip costs
  c0 = h_i − N_i + B (x_i = 0) or c1 = −h_i − P_i + B (x_i = 1), which the virtual neighbour with weight |c1 − c0|
  (neg when c1 < c0) folds into ΔE = B + min(c0, c1).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from solver_runner.kernels import msc as K
from solver_runner.kernels.rng import rng_states, splitmix64
from solver_runner.model import CompiledModel

MAX_LEVEL = 63  # Σ weights per variable: 6 bit planes (kernels.msc.MAX_PLANES)
MAX_SCALE_BITS = 8
OFFER_COST_RATIO = 4.0  # walkers' costs are measured at a chunk end only if the last measurement took ≤ ¼ of the time since
_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class MscModel:
    quantum: float  # ΔE = quantum·(a·B + c_i)
    a: int
    c: np.ndarray  # int64 [n]
    down: np.ndarray  # int64 [n]: B ≤ down[i] ⇔ ΔE ≤ 0
    smax: np.ndarray  # int64 [n]: Σ weights (B's largest value)
    nb_ptr: np.ndarray  # int64 [n + 1]
    nb_idx: np.ndarray  # int64: neighbour index, n = the virtual neighbour
    nb_w: np.ndarray  # int64 ≥ 1
    nb_neg: np.ndarray  # uint64: all ones or 0
    planes: int  # bit planes of B
    levels: int  # size of the threshold table: max(a·smax + c) + 1


def integer_quantum(values: np.ndarray) -> tuple[float, np.ndarray] | None:
    """(q, values / q as int64) with q the largest quantum that makes every value an integer, found among
    2^−k·gcd for k ≤ MAX_SCALE_BITS; None if no such quantum (non-dyadic or huge coefficients)."""
    values = np.asarray(values, np.float64)
    nonzero = values[values != 0.0]
    if nonzero.size == 0:
        return None
    for k in range(MAX_SCALE_BITS + 1):
        scaled = nonzero * float(2**k)
        if np.all(np.abs(scaled) < 2.0**31) and np.all(np.floor(scaled) == scaled):
            ints = scaled.astype(np.int64)
            g = int(np.gcd.reduce(np.abs(ints)))
            q = g / float(2**k)
            out = np.zeros(values.shape[0], np.int64)
            out[values != 0.0] = ints // g
            return q, out
    return None


def prepare(model: CompiledModel) -> tuple[MscModel | None, str]:
    """The bit-sliced form of `model`, or (None, why not)."""
    if model.has_higher or model.has_slc:
        return None, "terms of degree ≥ 3 or grouped terms"
    n = model.n
    found = integer_quantum(np.concatenate([model.h, model.adj_w]))
    if found is None:
        return None, "coefficients are not small integer multiples of one quantum"
    q, ints = found
    h, w = ints[:n], ints[n:]
    rows = np.repeat(np.arange(n), np.diff(model.adj_ptr))
    absw = np.abs(w)
    if model.ising:
        vweight = np.abs(h)
        vneg = h > 0
        smax = np.bincount(rows, weights=absw, minlength=n).astype(np.int64) + vweight
        c = -2 * smax
        a = 4
    else:
        neg_sum = np.bincount(rows, weights=np.where(w < 0, -w, 0), minlength=n).astype(np.int64)
        pos_sum = np.bincount(rows, weights=np.where(w > 0, w, 0), minlength=n).astype(np.int64)
        c0 = h - neg_sum
        c1 = -h - pos_sum
        vweight = np.abs(c1 - c0)
        vneg = c1 < c0
        c = np.minimum(c0, c1)
        smax = np.bincount(rows, weights=absw, minlength=n).astype(np.int64) + vweight
        a = 1
    if n and int(smax.max()) > MAX_LEVEL:
        return None, f"a variable's couplings sum to {int(smax.max())} quanta (more than {MAX_LEVEL})"
    has_v = vweight > 0
    all_rows = np.concatenate([rows, np.flatnonzero(has_v)])
    order = np.argsort(all_rows, kind="stable")
    nb_idx = np.concatenate([model.adj_idx.astype(np.int64), np.full(int(has_v.sum()), n, np.int64)])[order]
    nb_w = np.concatenate([absw, vweight[has_v]])[order]
    nb_neg = np.where(np.concatenate([w < 0, vneg[has_v]])[order], _ONES, np.uint64(0)).astype(np.uint64)
    nb_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(all_rows, minlength=n), out=nb_ptr[1:])
    down = np.floor_divide(-c, a)
    planes = max(1, int(smax.max()).bit_length()) if n else 1
    levels = max(2, int((a * smax + c).max()) + 1) if n else 2
    return MscModel(q, a, c.astype(np.int64), down.astype(np.int64), smax, nb_ptr, nb_idx, nb_w.astype(np.int64),
                    nb_neg, planes, levels), ""


class MscAnneal:
    """R walkers (SA restarts) as ⌈R/64⌉ 64-walker words (one group each, run in parallel on up to that many
    threads); walkers ≥ R run too but are never reported.

    Costs are measured (kernels.msc.offer_best: exact, per walker) at chunk ends, when `best_cost` is asked, but only
    when the previous measurement took at most 1/OFFER_COST_RATIO of the time since, and always by `finish`; each
    walker keeps its best measured state (bestX). `candidates()`: every walker's best and current state."""

    def __init__(self, model: CompiledModel, mm: MscModel, restarts: int, seed: int, stream: int = 0):
        n = model.n
        self.model, self.mm, self.restarts = model, mm, int(restarts)
        G = max(1, math.ceil(self.restarts / 64))
        self.X = np.zeros((G, n + 1), np.uint64)
        if model.initial_state is not None:
            ones = model.initial_state > 0
            self.X[:, :n] = np.where(ones, _ONES, np.uint64(0))
        else:
            gen = np.random.Generator(np.random.PCG64(splitmix64(int(seed) ^ splitmix64(stream + 0x6D5C))))
            self.X[:, :n] = gen.integers(0, 2**64 - 1, size=(G, n), dtype=np.uint64, endpoint=True)
        self.st = rng_states(seed, G, stream + 0x3C1).reshape(G, 1)
        self.buf = np.zeros((G, K.BUF), np.uint64)
        self.pos = np.full(G, K.BUF, np.int64)
        self.thr = np.zeros((G, mm.levels), np.uint64)
        self.lmask = np.zeros((G, 64), np.uint64)
        self.lthr = np.zeros((G, 64), np.uint64)
        self.bestX = self.X.copy()
        self.bestE_all = np.full(G * 64, np.inf)
        self.E = np.empty(G * 64)
        self._offer_s = 0.0
        self._last_offer = time.perf_counter()
        self.offer()

    @property
    def groups(self) -> int:
        return self.X.shape[0]

    @property
    def bestE(self) -> np.ndarray:
        return self.bestE_all[: self.restarts]

    def sweep(self, betas: np.ndarray, lo: int = 0, hi: int | None = None) -> None:
        """len(betas) sweeps of groups lo..hi−1 (default: all), sweep t at betas[t]."""
        hi = self.groups if hi is None else hi
        mm = self.mm
        g = slice(lo, hi)
        K.msc_anneal_chunk(self.X[g], self.st[g], self.buf[g], self.pos[g], self.thr[g], self.lmask[g],
                           self.lthr[g], np.ascontiguousarray(betas, np.float64) * mm.quantum, mm.a, mm.c, mm.down,
                           mm.smax, mm.nb_ptr, mm.nb_idx, mm.nb_w, mm.nb_neg, mm.planes)

    def offer(self) -> None:
        """Measure every walker's cost and keep the improved ones' states."""
        t0 = time.perf_counter()
        m = self.model
        K.offer_best(self.X, self.bestX, self.bestE_all, self.E, m.h, m.adj_ptr, m.adj_idx, m.adj_w, m.ising,
                     float(m.constant))
        self._last_offer = time.perf_counter()
        self._offer_s = self._last_offer - t0

    def best_cost(self) -> float:
        if time.perf_counter() - self._last_offer >= OFFER_COST_RATIO * self._offer_s:
            self.offer()
        return float(self.bestE.min())

    def finish(self) -> None:
        self.offer()

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """(int8 [2R, n], costs [2R]): each reported walker's best measured state and its current state."""
        R, n = self.restarts, self.model.n
        out = np.empty((2 * R, n), np.int8)
        K.unpack(self.bestX, R, out[:R], self.model.ising)
        K.unpack(self.X, R, out[R:], self.model.ising)
        return out, np.concatenate([self.bestE, self.E[:R]])
