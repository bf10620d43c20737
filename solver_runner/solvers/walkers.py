"""The walkers' state: the arrays a multi-walker run owns (SA restarts, PT replicas, tabu walkers, QMC restarts ×
Trotter slices), made from a compiled model, and advanced by the numba kernels (solver_runner/kernels/, which take
arrays and scalars only). Also the benchmarks' entry points `anneal` and `sqa_sweeps`: one kernel call each, no
chunking or stop checks.

Every class keeps each walker's best-k distinct states (`topS`/`topE`), gives views of rows lo..hi−1 that keep each
row's RNG stream (so a run split into walker groups gives the same results), and `candidates()` for the solver's
final choice.
"""
from __future__ import annotations

import logging
import math
import time

import numba
import numpy as np

from solver_runner.kernels.common import energies_of
from solver_runner.kernels.dense import LIMIT as DENSE_LIMIT
from solver_runner.kernels.dense import dense_anneal_chunk, dense_fields
from solver_runner.kernels.qmc import init_slices, qmc_chunk, slice_energies, sqa_chunk
from solver_runner.kernels.rng import RNG_STRIDE, padded_rng_states
from solver_runner.kernels.sa import anneal_chunk, init_restarts, sweep_each_chunk
from solver_runner.kernels.tabu import tabu_chunk
from solver_runner.kernels.tabu_gains import gains_chunk
from solver_runner.kernels.tabu_tree import tree_chunk
from solver_runner.model import CompiledModel, model_arrays
from solver_runner.solvers import msc
from solver_runner.solvers.dense import dense_fits, dense_form
from solver_runner.solvers.lanes import LaneState, aligned_empty, choose_kernel
from solver_runner.solvers.msc import MscAnneal

log = logging.getLogger(__name__)


class _KeptBest:
    """The `keep` best states of each restart row (`topS` int8 [R, keep, n], `topE` [R, keep], best first), which
    the kernels update in place; `bestS`/`bestE` are views of the first (for QMC: of the best slice state)."""

    topS: np.ndarray
    topE: np.ndarray

    def _keep_best(self, restarts: int, n: int, keep: int) -> None:
        self.keep = max(1, int(keep))
        self.topS = np.zeros((restarts, self.keep, n), np.int8)
        self.topE = np.full((restarts, self.keep), np.inf, np.float64)

    @property
    def bestS(self) -> np.ndarray:
        """int8 [R, n]: each row's best state so far (a view)."""
        return self.topS[:, 0, :]

    @property
    def bestE(self) -> np.ndarray:
        """float64 [R]: each row's best (incremental) energy so far (a view)."""
        return self.topE[:, 0]


class AnnealState(_KeptBest):
    """Arrays of a multi-walker Metropolis run (SA restarts; PT replicas, where row r sits at betas[r]).

    `rng` has restarts + 1 streams, padded (stream k at word k·RNG_STRIDE, so threads never share a cache line of
    generator state): stream r drives row r, the spare last stream R drives PT exchanges.
    """

    def __init__(self, model: CompiledModel, restarts: int, seed: int, stream: int = 0, keep: int = 1):
        n = model.n
        self.model = model
        self.M = model_arrays(model)
        self.S = np.empty((restarts, n), np.int8)
        self.F = np.empty((restarts, n), np.float64)
        self.L = np.empty((restarts, model.slc_c.shape[0]), np.float64)
        self.E = np.empty(restarts, np.float64)
        self._keep_best(restarts, n, keep)
        self.rng = padded_rng_states(seed, restarts + 1, stream)
        initial = model.initial_state if model.initial_state is not None else np.zeros(0, np.int8)
        init_restarts(self.S, self.F, self.L, self.E, self.topS, self.topE, self.rng, initial, model.constant,
                     model.ising, self.M)

    @property
    def groups(self) -> int:
        """Independent walker groups a sweep can be split into (solvers.base.run_steps): the rows."""
        return self.S.shape[0]

    def best_cost(self) -> float:
        return float(self.bestE.min())

    def finish(self) -> None:
        """Nothing to do: best states are kept at every sweep end (the lane and multi-spin states need this)."""

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """All kept states of all rows as (int8 [R·k, n], float64 [R·k]), empty slots dropped."""
        S = self.topS.reshape(self.topS.shape[0] * self.topS.shape[1], self.model.n)
        E = self.topE.reshape(-1)
        ok = np.isfinite(E)
        return S[ok], E[ok]

    def rows(self, lo: int, hi: int | None) -> tuple:
        """(S, F, L, E, topS, topE, rng) of rows lo..hi−1 (views: contiguous, so the kernels' signatures stay; row r
        of the views draws from RNG stream lo + r, as it would in the whole)."""
        hi = self.S.shape[0] if hi is None else hi
        return (self.S[lo:hi], self.F[lo:hi], self.L[lo:hi], self.E[lo:hi], self.topS[lo:hi], self.topE[lo:hi],
                self.rng[lo * RNG_STRIDE:])

    def sweep(self, betas: np.ndarray, lo: int = 0, hi: int | None = None) -> None:
        """len(betas) sweeps of rows lo..hi−1 (default: every row), sweep t at betas[t] (SA)."""
        anneal_chunk(*self.rows(lo, hi), np.ascontiguousarray(betas, dtype=np.float64), self.model.ising,
                     self.model.has_higher, self.model.has_slc, self.M)

    def sweep_each(self, betas: np.ndarray, lo: int = 0, hi: int | None = None) -> None:
        """One sweep of each row r in lo..hi−1 at betas[r] (default: every row; the PT step before exchanges)."""
        hi = self.S.shape[0] if hi is None else hi
        sweep_each_chunk(*self.rows(lo, hi), np.ascontiguousarray(betas[lo:hi], dtype=np.float64), self.model.ising,
                         self.model.has_higher, self.model.has_slc, self.M)


class DenseAnneal(AnnealState):
    """SA restarts on kernels.dense (dense quadratic inputs, solvers.dense.dense_fits): started as AnnealState
    starts them (same seed, same states), then S holds the states padded to a multiple of 16 variables, F their
    int32 fields (solvers.dense.dense_form) and T each walker's thresholds, all on cache lines. E and topE are the
    quantised model's energies (within dense_form's logged bound of the exact ones); best_cost() is exact. SA only:
    no per-row temperatures (sweep_each)."""

    def __init__(self, model: CompiledModel, restarts: int, seed: int, stream: int = 0, keep: int = 1):
        super().__init__(model, restarts, seed, stream, keep)
        self.form = dense_form(model)
        shape = (restarts, self.form.padded)
        S = aligned_empty(shape, np.int8)
        S[:, model.n:] = 0
        S[:, :model.n] = self.S
        self.S = S
        self.F = aligned_empty(shape, np.int32)
        dense_fields(self.S, self.F, self.form.Jd, self.form.hq, model.ising)
        self.T = aligned_empty((restarts, 2, self.form.padded), np.int32)
        self.T[...] = -DENSE_LIMIT  # padding lanes: never a candidate
        # Energies of the quantised model (the kernel moves them by quantised ΔEs): c + Σ x_i (hq_i + f_i) / 2, in
        # exact integers, so a state has the same kept energy in every walker and run.
        n = model.n
        twice = (self.S[:, :n].astype(np.int64) * (self.form.hq + self.F[:, :n].astype(np.int64))).sum(axis=1)
        self.E[:] = float(model.constant) + twice / (2.0 * self.form.scale)
        self.topE[:, 0] = self.E
        self._best: tuple[tuple[int, float], float] | None = None

    def best_cost(self) -> float:
        """The exact cost of the best kept state (kept energies are the quantised model's), recomputed when it
        changes."""
        r = int(np.argmin(self.topE[:, 0]))
        key = (r, float(self.topE[r, 0]))
        if self._best is None or self._best[0] != key:
            state = np.ascontiguousarray(self.topS[r, :1])
            self._best = (key, float(energies_of(state, float(self.model.constant), self.M)[0]))
        return self._best[1]

    def rows(self, lo: int, hi: int | None) -> tuple:
        hi = self.S.shape[0] if hi is None else hi
        return (self.S[lo:hi], self.F[lo:hi], self.T[lo:hi], self.E[lo:hi], self.topS[lo:hi], self.topE[lo:hi],
                self.rng[lo * RNG_STRIDE:])

    def sweep(self, betas: np.ndarray, lo: int = 0, hi: int | None = None) -> None:
        f, m = self.form, self.model
        dense_anneal_chunk(*self.rows(lo, hi), np.ascontiguousarray(betas, dtype=np.float64), m.ising, f.Jd,
                           f.scale, f.ws, m.h, m.dense)

    def sweep_each(self, betas: np.ndarray, lo: int = 0, hi: int | None = None) -> None:
        raise NotImplementedError("the dense SA kernel sweeps every walker at one β")


def anneal_state(model: CompiledModel, restarts: int, seed: int, keep: int = 1, threads: int = 1,
                 kernel: str | None = None, sweeps: int | None = None) -> AnnealState | LaneState | MscAnneal:
    """SA restarts on the kernel `choose_kernel` picks (or `kernel`: "scalar", "lanes", "msc", "dense"; an input
    that does not qualify for "msc" gets "lanes", one that does not qualify for "lanes" or "dense" gets "scalar").
    Where the choice is "scalar" and the input is dense and quadratic (solvers.dense.dense_fits; with `sweeps`
    known, a run long enough for its start to pay), kernels.dense (DenseAnneal) unless "scalar" was asked for. All
    offer sweep(betas, lo, hi) over `groups` independent walker groups, best_cost(), bestE, candidates() and
    finish()."""
    kind, mm = choose_kernel(model, restarts, keep=keep) if kernel is None else (kernel, None)
    if kind == "msc":
        mm = mm or msc.prepare(model)[0]
        kind = "msc" if mm is not None else "lanes"
    if kind == "lanes" and (model.has_higher or model.has_slc or model.n == 0):
        kind = "scalar"
    if kind == "msc" and mm is not None:
        return MscAnneal(model, mm, restarts, seed)
    if kind == "lanes":
        return LaneState(model, restarts, seed, threads=threads)
    attempts = None if kernel is not None or sweeps is None else model.n * sweeps * restarts  # "dense" asked: any run
    if kind == ("scalar" if kernel is None else "dense") and dense_fits(model, attempts):
        return DenseAnneal(model, restarts, seed, keep=keep)
    return AnnealState(model, restarts, seed, keep=keep)


def anneal_run(model: CompiledModel, betas: np.ndarray, restarts: int, seed: int, threads: int = 1,
               kernel: str | None = None) -> dict:
    """Benchmark entry point: exactly len(betas) Metropolis sweeps (sweep t at betas[t]) for `restarts` restarts
    on the kernel `anneal_state` picks (or `kernel`), in one kernel call, no chunking or stop checks.

    Restarts start from random states (or the model's initial_state) and run on `threads` numba threads (capped at
    NUMBA_NUM_THREADS; results do not depend on it). Returns {"states": each restart's best state, int8
    [restarts, n], "energies": their exact costs (constant included), "seconds": wall time of the algorithm
    (start states, sweeps, final costs; not the model's preparation or the result's copy), "kernel": the state's
    class}. Spin-flip attempts = len(betas)·restarts·n. The first call per process pays JIT compilation (or the
    on-disk cache load): warm up before timing."""
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    betas = np.ascontiguousarray(betas, dtype=np.float64)
    t0 = time.perf_counter()
    state = anneal_state(model, restarts, seed, threads=threads, kernel=kernel, sweeps=len(betas))
    state.sweep(betas)
    state.finish()
    seconds = time.perf_counter() - t0
    S, E = state.candidates()
    best = np.ascontiguousarray(S[:restarts])  # every kernel lists each restart's best state first
    return {"states": best, "energies": energies_of(best, float(model.constant), model_arrays(model)),
            "seconds": seconds, "kernel": type(state).__name__}


def anneal(model: CompiledModel, betas: np.ndarray, restarts: int, seed: int, threads: int = 1,
           kernel: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`anneal_run`'s (states, energies)."""
    out = anneal_run(model, betas, restarts, seed, threads, kernel)
    return out["states"], out["energies"]


def tabu_tree_fits(model: CompiledModel) -> bool:
    """kernels.tabu_tree (O(degree·log n) per move) rather than kernels.tabu_gains (O(n) vector loops per move) for a
    quadratic input: measured per move, the tree costs ~12·(degree + 1)·log₂ n ns and the gains kernel ~200 + 0.32·n
    (3-regular graphs of 600-10⁴ variables, Gset G11, the 100² torus; one thread, AVX-512): the tree from ~1000
    variables on 3-regular graphs, the gains kernel below (G11, 800 variables: 0.41 against 0.54 µs). Never below
    512 variables, where neither was measured (and the warm-up's small inputs must reach the gains kernel)."""
    if model.has_higher or model.has_slc or model.n < 512:
        return False
    degree = model.adj_idx.shape[0] / model.n
    return 40.0 * (degree + 1.0) * math.log2(model.n) < model.n + 600.0


_tabu_logged: dict[int, str] = {}


def tabu_kernel(model: CompiledModel) -> str:
    """The kernel TabuState moves with on `model`: "tree", "gains" or "scan" (see TabuState); logged (INFO) once
    per input and kernel, as the Metropolis kernels' choice is (solvers.lanes.choose_kernel)."""
    if tabu_tree_fits(model):
        kind, why = "tree", "sparse quadratic: O(degree · log n) a move"
    elif model.has_higher or model.has_slc:
        kind, why = "scan", "terms of degree ≥ 3 or grouped terms"
    else:
        kind, why = "gains", "quadratic: a kept ΔE array read in vector loops"
    if _tabu_logged.get(id(model)) != kind:
        _tabu_logged.clear()
        _tabu_logged[id(model)] = kind
        log.info("tabu kernel: %s on %d variables (%s)", kind, model.n, why)
    return kind


# bytes per variable and walker that each tabu kernel adds to the walker's state (solvers.tabu's memory check):
# tabu_until, plus d (gains, tree) and the tree's nodes
TABU_EXTRA_BYTES = {"scan": 8, "gains": 16, "tree": 112}


class TabuState(_KeptBest):
    """Arrays of R tabu walkers; `bestS`/`bestE`/`candidates()` as in `AnnealState`. The moves are kernels.tabu's;
    `kernel` says which kernel makes them: "tree" (kernels.tabu_tree) for inputs that `tabu_tree_fits`, "gains"
    (kernels.tabu_gains) for the other inputs with only linear and quadratic terms, "scan" (kernels.tabu) for the
    rest. D (tree, gains), the trees and the tabu ring (tree) are their arrays."""

    def __init__(self, model: CompiledModel, restarts: int, seed: int, tenures, eps: float, stream: int = 0,
                 keep: int = 1):
        n = model.n
        self.model = model
        self.M = model_arrays(model)
        self.eps = float(eps)
        self.S = np.empty((restarts, n), np.int8)
        self.F = np.empty((restarts, n), np.float64)
        self.L = np.empty((restarts, model.slc_c.shape[0]), np.float64)
        self.E = np.empty(restarts, np.float64)
        self._keep_best(restarts, n, keep)
        self.tabu_until = np.empty((restarts, n), np.int64)
        self.moves = np.zeros(restarts, np.int64)
        self.tenures = np.broadcast_to(np.asarray(tenures, np.int64), (restarts,)).copy()
        self.rng = padded_rng_states(seed, restarts, stream)
        initial = model.initial_state if model.initial_state is not None else np.zeros(0, np.int8)
        init_restarts(self.S, self.F, self.L, self.E, self.topS, self.topE, self.rng, initial, model.constant,
                      model.ising, self.M)  # start states exactly as SA's restarts (one kernel less to compile)
        self.tabu_until.fill(-1)
        self.kernel = tabu_kernel(model)
        self.D = np.empty((restarts, n) if self.kernel != "scan" else (0, 0))
        if self.kernel == "tree":
            size = 1 << max(0, (n - 1).bit_length())
            self.AMIN = np.empty((restarts, 2 * size))
            self.TMIN = np.empty((restarts, 2 * size))
            self.TCNT = np.empty((restarts, 2 * size), np.int64)
            self.RING = np.full((restarts, int(self.tenures.max(initial=0)) + 1), -2, np.int64)

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        S = self.topS.reshape(self.topS.shape[0] * self.topS.shape[1], self.model.n)
        E = self.topE.reshape(-1)
        ok = np.isfinite(E)
        return S[ok], E[ok]

    def step(self, count: int, lo: int = 0, hi: int | None = None) -> None:
        """`count` moves of walkers lo..hi−1 (default: every walker; views keep each walker's RNG stream)."""
        w = slice(lo, self.S.shape[0] if hi is None else hi)
        m = self.model
        if self.kernel == "tree":
            tree_chunk(self.S[w], self.F[w], self.D[w], self.AMIN[w], self.TMIN[w], self.TCNT[w], self.RING[w],
                       self.E[w], self.topS[w], self.topE[w], self.tabu_until[w], self.moves[w], self.tenures[w],
                       self.rng[lo * RNG_STRIDE:], int(count), m.ising, m.adj_ptr, m.adj_idx, m.adj_w, self.eps)
            return
        if self.kernel == "gains":
            gains_chunk(self.S[w], self.F[w], self.D[w], self.E[w], self.topS[w], self.topE[w], self.tabu_until[w],
                        self.moves[w], self.tenures[w], self.rng[lo * RNG_STRIDE:], int(count), m.ising, m.adj_ptr,
                        m.adj_idx, m.adj_w, self.M[4], self.eps)
            return
        tabu_chunk(self.S[w], self.F[w], self.L[w], self.E[w], self.topS[w], self.topE[w], self.tabu_until[w],
                   self.moves[w], self.tenures[w], self.rng[lo * RNG_STRIDE:], int(count), self.model.ising,
                   self.model.has_higher, self.model.has_slc, self.M, self.eps)


def log_tanh(betas: np.ndarray, gammas: np.ndarray, trotter: int) -> np.ndarray:
    """ln tanh(βΓ/P) per sweep (−inf at Γ = 0: slices locked; 0 when P = 1: no coupling), for local moves."""
    if trotter <= 1:
        return np.zeros(np.shape(gammas), np.float64)
    with np.errstate(divide="ignore"):
        return np.log(np.tanh(np.asarray(betas, np.float64) * np.asarray(gammas, np.float64) / trotter))


def bond_probability(beta: float, gamma: float, trotter: int) -> float:
    """1 − tanh(βΓ/P): the probability of keeping a ring bond between aligned neighbouring slices."""
    if trotter <= 1:
        return 0.0
    return 1.0 - math.tanh(beta * gamma / trotter)


class QmcState(_KeptBest):
    """Arrays of R restarts × P slices, advanced in chunks of sweeps by `sweep(gammas)`."""

    def __init__(self, model: CompiledModel, restarts: int, trotter: int, beta: float, seed: int, stream: int = 0,
                 keep: int = 1):
        n = model.n
        self.model = model
        self.M = model_arrays(model)
        self.trotter = trotter
        self.beta = float(beta)
        G = model.slc_c.shape[0]
        self.S = np.empty((restarts, trotter, n), np.int8)
        self.F = np.empty((restarts, trotter, n), np.float64)
        self.L = np.empty((restarts, trotter, G), np.float64)
        self.E = np.empty((restarts, trotter), np.float64)
        self._keep_best(restarts, n, keep)
        self.rng = padded_rng_states(seed, restarts, stream)
        initial = model.initial_state if model.initial_state is not None else np.zeros(0, np.int8)
        init_slices(self.S, self.F, self.L, self.E, self.topS, self.topE, self.rng, initial, model.constant,
                    model.ising, self.M)

    def candidates(self) -> np.ndarray:
        """Every kept best state and every current slice, int8 [·, n]."""
        ok = np.isfinite(self.topE.reshape(-1))
        return np.concatenate([self.topS.reshape(-1, self.model.n)[ok], self.S.reshape(-1, self.model.n)])

    def sweep_schedule(self, betas: np.ndarray, gammas: np.ndarray, local: bool = False, lo: int = 0,
                       hi: int | None = None) -> None:
        """len(gammas) sweeps (cluster pass, plus a local-move pass if `local`) of restarts lo..hi−1 (default:
        all; views keep each restart's RNG stream); sweep t at inverse temperature betas[t], transverse field
        gammas[t]."""
        betas = np.asarray(betas, np.float64)
        gammas = np.asarray(gammas, np.float64)
        P = self.trotter
        bps = betas / P
        bond_ps = np.array([bond_probability(b, g, P) for b, g in zip(betas, gammas)], np.float64)
        r = slice(lo, self.S.shape[0] if hi is None else hi)
        qmc_chunk(self.S[r], self.F[r], self.L[r], self.E[r], self.topS[r], self.topE[r], self.rng[lo * RNG_STRIDE:],
                  bps, bond_ps, log_tanh(betas, gammas, P), local, self.model.ising, self.model.has_higher,
                  self.model.has_slc, self.M)

    def sweep(self, gammas: np.ndarray, local: bool = False) -> None:
        """len(gammas) sweeps at the state's fixed β."""
        gammas = np.asarray(gammas, np.float64)
        self.sweep_schedule(np.full(gammas.shape[0], self.beta), gammas, local)


def sqa_sweeps(model: CompiledModel, P: int, beta: float, gammas: np.ndarray, seed: int, restarts: int = 1,
               threads: int = 1, initial: np.ndarray | None = None) -> dict:
    """Discrete-time simulated quantum annealing with local moves only: exactly len(gammas) sweeps.

    One *update* is one Metropolis attempt on one spin i in one Trotter slice k: ΔE_k from slice k's cached local
    field, the inter-slice factor tᵐ with t = tanh(β·Γ/P) and m = σ_iᵏ(σ_iᵏ⁻¹ + σ_iᵏ⁺¹), acceptance
    min(1, exp(−(β/P)·ΔE_k)·tᵐ) (one uniform drawn only when that is < 1), and on acceptance the flip plus the
    update of the cached fields of i's neighbours in slice k. One *sweep* = P·n updates (slice by slice, variables
    in order); sweep t uses Γ = gammas[t]. Updates performed = len(gammas)·restarts·P·n.

    Returns {"states": int8 [restarts, P, n] final slices, "energies": float64 [restarts, P] (exact),
    "accepted": int64 [restarts], "seconds": kernel wall time (excludes set-up and JIT), "updates": int}.
    """
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    gammas = np.asarray(gammas, np.float64)
    n = model.n
    M = model_arrays(model)
    S = np.empty((restarts, P, n), np.int8)
    F = np.empty((restarts, P, n), np.float64)
    Lg = np.empty((restarts, P, model.slc_c.shape[0]), np.float64)
    E = np.empty((restarts, P), np.float64)
    topS = np.zeros((restarts, 1, n), np.int8)
    topE = np.full((restarts, 1), np.inf)
    rng = padded_rng_states(seed, restarts, 0)
    init = np.ascontiguousarray(initial, np.int8) if initial is not None else np.zeros(0, np.int8)
    init_slices(S, F, Lg, E, topS, topE, rng, init, model.constant, model.ising, M)
    log_ts = log_tanh(np.full(gammas.shape[0], beta), gammas, P)
    sparse_quadratic = model.dense is None and not model.has_higher and not model.has_slc
    t0 = time.perf_counter()
    acc = sqa_chunk(S, F, Lg, rng, beta / P, log_ts, model.ising, model.has_higher, model.has_slc,
                    sparse_quadratic, M)
    seconds = time.perf_counter() - t0
    return {"states": S, "energies": slice_energies(S, model.constant, M), "accepted": acc, "seconds": seconds,
            "updates": int(gammas.shape[0]) * restarts * P * n}
