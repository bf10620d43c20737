"""Replica-parallel walkers (solver_runner.kernels.lanes) for SA and PT, and the automatic choice of kernel.

`choose_kernel(model, walkers)` picks, for a run of `walkers` Metropolis walkers on one problem:
- "msc" (multi-spin coding, solvers.msc) when the input qualifies (quadratic, small integer multiples of one
  quantum) and there are walkers enough for its bit planes (`msc_min_walkers`): a sweep of a 64-walker word costs
  the same for 1 walker or 64, and more for each bit plane the weights need, where lanes cost per walker;
- "lanes" (SIMD lanes) for any other sparse input with only linear and quadratic terms and at least
  LANES_MIN_WALKERS walkers;
- "scalar" (kernels.common: one walker per loop) otherwise: degree ≥ 3 terms, grouped terms, few walkers, and dense
  couplings (a flip updates a whole row, which the scalar kernel already vectorises; in lanes every variable with a
  flip in any lane would update all n rows of all lanes: measured 27 against 6.4 ns per attempt on SK-512). SA
  takes kernels.dense instead of "scalar" on dense quadratic inputs (solvers.walkers.anneal_state).
The choice is logged once per input and kernel (INFO). PT always uses lanes or scalar: its walkers sit at different
temperatures, which multi-spin coding's shared thresholds cannot express.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from solver_runner.kernels import lanes as K
from solver_runner.kernels.rng import padded_rng_states, rng_states
from solver_runner.kernels.sa import init_restarts
from solver_runner.model import CompiledModel, model_arrays
from solver_runner.solvers import msc

log = logging.getLogger(__name__)

MSC_MIN_WALKERS = 8
# Walkers per bit plane past the second from which multi-spin coding beats lanes. Its sweep costs the same for 1-64
# walkers and grows with the planes; lanes' grows with the walkers. Measured (2026-12-07, benchmarks/README.md
# "Multi-spin coding's bit planes", 1000 sweeps, msc against lanes): ±J inputs (2 planes) faster from 8 walkers on;
# 3 planes from 8 (a torus, Gset G11) to ~20 (planted tiles); 4 planes from ~18 (frustrated loops) to ~30 (random
# weights); 5 from ~45, 6 from ~55-65. At the 8 restarts SA takes by default, multi-spin coding on 4-6 planes was
# 1.7-6× slower than lanes.
MSC_WALKERS_PER_PLANE = 16
LANES_MIN_WALKERS = 4
LANE_BLOCK = 64  # lanes per block (one thread's share): wide enough to amortise the per-variable work
FLOAT32_MAX_FIELD = 2.0**24  # float32 lanes only where every field and ΔE is an exact float32 value
_STREAM = 0x1A9E  # lane generators: streams of their own, unrelated to the start states' streams
_logged: dict[int, str] = {}


def _scaled_field_bound(model: CompiledModel) -> float | None:
    """The largest Σ|coefficients| of a variable (a bound on its field) in units of 2^−k, for the least k ≤ 8 that
    makes every coefficient an integer multiple of 2^−k; None when no such k does."""
    values = np.concatenate([model.h, model.adj_w])
    rows = np.repeat(np.arange(model.n), np.diff(model.adj_ptr))
    bound = np.abs(model.h) + np.bincount(rows, weights=np.abs(model.adj_w), minlength=model.n)
    for k in range(msc.MAX_SCALE_BITS + 1):
        scaled = values * float(2**k)
        if np.all(np.floor(scaled) == scaled):
            return float(bound.max(initial=0.0)) * 2**k
    return None


def float32_exact(model: CompiledModel) -> bool:
    """True when float32 lanes give exactly the float64 result: every coefficient an integer multiple of 2^−k
    (k ≤ 8) and every variable's Σ|coefficients| (a bound on its field) below 2²⁴·2^−k, so every field, ΔE and move
    is an exact float32 value."""
    bound = _scaled_field_bound(model)
    return bound is not None and bound < FLOAT32_MAX_FIELD


def energy_flush(model: CompiledModel, dt: type) -> int:
    """How many variables' moves a lane sums in dt before adding the sum to its float64 energy (kernels.lanes.
    lanes_sweep): a whole sweep in float64 lanes; in float32 lanes as many as keep every partial sum exact: each
    move's |ΔE| is at most twice a field's bound, so m moves sum to at most 2·m·bound (in units of 2^−k), an exact
    float32 value while ≤ 2²⁴ (at least 1: one ΔE alone is exact)."""
    n = max(1, model.n)
    if dt is np.float64:
        return n
    bound = _scaled_field_bound(model) or 0.0
    return int(min(n, max(1.0, FLOAT32_MAX_FIELD // max(2.0 * bound, 1.0))))


def msc_min_walkers(planes: int) -> int:
    """The fewest walkers multi-spin coding takes with `planes` bit planes (solvers.msc.MscModel.planes)."""
    return max(MSC_MIN_WALKERS, MSC_WALKERS_PER_PLANE * (planes - 2))


def choose_kernel(model: CompiledModel, walkers: int, allow_msc: bool = True, keep: int = 1
                  ) -> tuple[str, msc.MscModel | None]:
    """("msc" | "lanes" | "scalar", the bit-sliced model for "msc"); logs the choice once per input and kernel.

    `keep`: distinct solutions asked for (number_of_solutions). Lanes and multi-spin words keep each walker's best
    and current state only, so more than one would come back short of distinct states (SA with 8 restarts on 14
    spins returned 3 of 4): only the scalar kernel keeps each walker's best `keep` states."""
    if model.has_higher or model.has_slc or model.n == 0:
        kind, mm, why = "scalar", None, "terms of degree ≥ 3 or grouped terms"
    elif keep > 1:
        kind, mm, why = "scalar", None, f"{keep} solutions asked for: the scalar kernel keeps each walker's best k"
    elif walkers < LANES_MIN_WALKERS:
        kind, mm, why = "scalar", None, f"{walkers} walker(s)"
    else:
        mm, why = msc.prepare(model) if allow_msc and walkers >= MSC_MIN_WALKERS else (None, "")
        if mm is not None and walkers < msc_min_walkers(mm.planes):
            why = f"{mm.planes} bit planes take {msc_min_walkers(mm.planes)} walkers"
            mm = None
        kind = "msc" if mm is not None else "lanes" if model.dense is None else "scalar"
        if kind == "scalar":
            why = ("dense couplings: a walker's row update is already vectorised, lanes would update every row; SA "
                   "takes the dense kernel")
        elif kind == "lanes":
            why = f"{'float32' if float32_exact(model) else 'float64'} lanes" + (f"; no multi-spin coding: {why}"
                                                                                 if why else "")
        elif mm is not None:
            why = f"quantum {mm.quantum:g}, {mm.planes} bit planes"
    if _logged.get(id(model)) != kind:
        _logged.clear()
        _logged[id(model)] = kind
        # One walker leaves nothing to choose: that line, once per tiny job, would be most of a busy log.
        log.log(logging.DEBUG if walkers == 1 else logging.INFO, "Metropolis kernel: %s for %d walkers on %d "
                "variables (%s)", kind, walkers, model.n, why)
    return kind, mm


def lane_blocks(walkers: int, threads: int) -> tuple[int, int]:
    """(blocks, lanes per block): at least one block per thread (up to one per 8 walkers), blocks of ≤ LANE_BLOCK."""
    blocks = max(min(threads, max(1, walkers // 8)), math.ceil(walkers / LANE_BLOCK))
    return blocks, math.ceil(walkers / blocks)


def aligned_empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    """np.empty(shape, dtype) starting on a 64-byte cache line."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + 64, np.uint8)
    skip = -raw.ctypes.data % 64
    return raw[skip:skip + size].view(dtype).reshape(shape)


class _Start:
    S: np.ndarray
    E: np.ndarray


def start_states(model: CompiledModel, walkers: int, seed: int, stream: int) -> _Start:
    """The start states and exact energies solvers.walkers.AnnealState(model, walkers, seed, stream) starts from
    (kernels.sa.init_restarts on the same padded streams), without keeping its arrays."""
    n = model.n
    out = _Start()
    out.S = np.empty((walkers, n), np.int8)
    out.E = np.empty(walkers)
    F = np.empty((walkers, n))
    L = np.empty((walkers, model.slc_c.shape[0]))
    topS = np.zeros((walkers, 1, n), np.int8)
    topE = np.full((walkers, 1), np.inf)
    initial = model.initial_state if model.initial_state is not None else np.zeros(0, np.int8)
    init_restarts(out.S, F, L, out.E, topS, topE, padded_rng_states(seed, walkers + 1, stream), initial,
                  model.constant, model.ising, model_arrays(model))
    return out


class LaneState:
    """R walkers in B lane blocks of W lanes (B·W ≥ R; lanes past R run but are never reported), started exactly as
    solvers.walkers.AnnealState starts R restarts (same seed, same states), then swept by kernels.lanes.

    Arrays: S, F, bestS dt [B, n, W]; E, bestE, beta float64 [B, W]; st uint64 [B, W] (lane generators); active
    int64 [B] (reported lanes per block). `lane_of` (PT) maps a temperature index to its global lane b·W + w."""

    def __init__(self, model: CompiledModel, walkers: int, seed: int, stream: int = 0, threads: int = 1):
        self.model, self.walkers, self.seed, self.stream = model, int(walkers), int(seed), int(stream)
        B, W = lane_blocks(self.walkers, threads)
        self.dt = np.float32 if float32_exact(model) else np.float64
        self.flush = energy_flush(model, self.dt)
        n = model.n
        start = start_states(model, B * W, seed, stream)
        self.adj_w = model.adj_w.astype(self.dt)
        self.dense = (model.dense if model.dense is not None else np.zeros((0, 0))).astype(self.dt)
        self.S = aligned_empty((B, n, W), self.dt)
        self.F = aligned_empty((B, n, W), self.dt)
        for b in range(B):
            K.to_lanes(start.S[b * W:(b + 1) * W], self.S[b], self.F[b], model.h.astype(self.dt), model.adj_ptr,
                       model.adj_idx, self.adj_w, self.dense)
        self.E = start.E.reshape(B, W)
        self.bestS = aligned_empty((B, n, W), self.dt)
        self.bestS[...] = self.S
        self.bestE = self.E.copy()
        self.st = rng_states(seed, B * W, stream + _STREAM).reshape(B, W)
        self.beta = np.zeros((B, W))
        self.dm = np.zeros((B, W), self.dt)
        self.ud = np.zeros((B, W), self.dt)
        self.active = np.clip(self.walkers - W * np.arange(B), 0, W).astype(np.int64)
        self.bestE[np.arange(W)[None, :] >= self.active[:, None]] = np.inf

    @property
    def blocks(self) -> int:
        return self.S.shape[0]

    groups = blocks  # independent walker groups (solvers.base.run_steps splits a long sweep by them)

    def finish(self) -> None:
        """Nothing to do: best states are kept at every sweep end."""

    def _kernel_args(self) -> tuple:
        m = self.model
        return m.ising, m.adj_ptr, m.adj_idx, self.adj_w, self.dense, self.flush, self.dt

    def _blocks(self, lo: int, hi: int | None) -> tuple:
        b = slice(lo, self.blocks if hi is None else hi)
        return (self.S[b], self.F[b], self.E[b], self.st[b], self.bestS[b], self.bestE[b], self.beta[b], self.dm[b],
                self.ud[b])

    def sweep(self, betas: np.ndarray, lo: int = 0, hi: int | None = None) -> None:
        """SA: len(betas) sweeps of blocks lo..hi−1 (default: all), every lane at betas[t] in sweep t."""
        b = slice(lo, self.blocks if hi is None else hi)
        K.lanes_anneal_blocks(*self._blocks(lo, hi), np.ascontiguousarray(betas, np.float64), self.active[b],
                              *self._kernel_args())

    def best_cost(self) -> float:
        return float(self.bestE.min())

    def rows_of(self, S: np.ndarray) -> np.ndarray:
        """The reported lanes of a [B, n, W] array as int8 rows [R, n]."""
        B, n, W = S.shape
        out = np.empty((B * W, n), np.int8)
        for b in range(B):
            K.from_lanes(S[b], W, out[b * W:(b + 1) * W])
        return out[: self.walkers]

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """(int8 [2R, n], energies [2R]): every reported walker's best state (SA: at chunk ends, PT: at sweep ends)
        and current state."""
        keep = self.active_mask().reshape(-1)
        return (np.concatenate([self.rows_of(self.bestS), self.rows_of(self.S)]),
                np.concatenate([self.bestE.reshape(-1)[keep], self.E.reshape(-1)[keep]]))

    def active_mask(self) -> np.ndarray:
        W = self.S.shape[2]
        return np.arange(W)[None, :] < self.active[:, None]

    # -- parallel tempering: lanes at the ladder's temperatures, exchanges swap temperatures between lanes ---------

    def start_tempering(self, betas: np.ndarray) -> None:
        """Lane k (global index) starts at betas[k] (ascending); padding lanes sweep at the coldest β, unreported."""
        self.ladder = np.ascontiguousarray(betas, np.float64)
        self.lane_of = np.arange(self.ladder.shape[0], dtype=np.int64)
        flat = np.full(self.beta.size, self.ladder[-1])
        flat[: self.ladder.shape[0]] = self.ladder
        self.beta[:] = flat.reshape(self.beta.shape)
        self.xst = rng_states(self.seed, 1, self.stream + _STREAM + 1)

    def pt_steps(self, first: int, count: int) -> int:
        """PT steps first..first+count−1 on one thread; returns the accepted exchanges."""
        return K.lanes_pt_chunk(self.S, self.F, self.E, self.st, self.bestS, self.bestE, self.beta, self.dm, self.ud,
                                self.active, self.lane_of, self.ladder, self.xst, first, count, *self._kernel_args())

    def exchanges(self, step: int) -> int:
        return K.exchange_lanes(self.E, self.beta, self.lane_of, self.ladder, step, self.xst)
