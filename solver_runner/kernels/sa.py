"""Simulated annealing kernel: independent restarts, Metropolis sweeps on a β schedule, run in parallel.

State for R restarts lives in 2-D arrays (row r = restart r) so a run can be advanced in chunks of sweeps, with
stop checks between chunks, without copying. Restarts run in parallel (`prange` over rows; row r uses RNG stream
r only), so results do not depend on the thread count.

Each restart keeps its best-k distinct states seen at sweep ends (`topS`/`topE`, k = `keep`); `bestS`/`bestE` are
views of slot 0 (the restart's best). Energies `E` are incremental (exact ΔE sums, so only rounding drifts);
solvers recompute exact costs of the states they return.

Benchmark entry point: `anneal(model, betas, restarts, seed, threads=1)`, see its docstring.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import any_sweep, energies_of, keep_best, model_arrays, start_state
from solver_runner.kernels.rng import RNG_STRIDE, padded_rng_states
from solver_runner.model import CompiledModel


@njit(cache=True, nogil=True)
def init_restarts(S, F, Lg, E, topS, topE, rng, initial, constant, ising, M):
    """Random (or given) start states for every row, their fields and energies; each row's best-k = {start}.
    Serial: it costs one energy per row, and a parallel region would double its compile time."""
    R = S.shape[0]
    for r in range(R):
        E[r] = start_state(S[r], F[r], Lg[r], initial, ising, rng, r * RNG_STRIDE, constant, M)
        keep_best(E[r], S[r], topE[r], topS[r])


@njit(cache=True, nogil=True, parallel=True)
def anneal_chunk(S, F, Lg, E, topS, topE, rng, betas, ising, has_higher, has_slc, M):
    """Advance every restart by len(betas) sweeps (sweep t at betas[t]); offer each sweep's end state to best-k."""
    R = S.shape[0]
    for r in prange(R):
        s = S[r]
        f = F[r]
        L = Lg[r]
        e = E[r]
        for t in range(betas.shape[0]):
            e += any_sweep(s, f, L, betas[t], ising, has_higher, has_slc, rng, r * RNG_STRIDE, M)
            keep_best(e, s, topE[r], topS[r])
        E[r] = e


@njit(cache=True, nogil=True, parallel=True)
def sweep_each_chunk(S, F, Lg, E, topS, topE, rng, betas, ising, has_higher, has_slc, M):
    """One sweep of every row r at its own β (betas[r]): the PT step before exchanges."""
    R = S.shape[0]
    for r in prange(R):
        E[r] += any_sweep(S[r], F[r], Lg[r], betas[r], ising, has_higher, has_slc, rng, r * RNG_STRIDE, M)
        keep_best(E[r], S[r], topE[r], topS[r])


class AnnealState:
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
        self.keep = max(1, int(keep))
        self.topS = np.zeros((restarts, self.keep, n), np.int8)
        self.topE = np.full((restarts, self.keep), np.inf, np.float64)
        self.rng = padded_rng_states(seed, restarts + 1, stream)
        initial = model.initial_state if model.initial_state is not None else np.zeros(0, np.int8)
        init_restarts(self.S, self.F, self.L, self.E, self.topS, self.topE, self.rng, initial, model.constant,
                     model.ising, self.M)

    @property
    def bestS(self) -> np.ndarray:
        """int8 [R, n]: each row's best state so far (a view)."""
        return self.topS[:, 0, :]

    @property
    def bestE(self) -> np.ndarray:
        """float64 [R]: each row's best (incremental) energy so far (a view)."""
        return self.topE[:, 0]

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


def anneal(model: CompiledModel, betas: np.ndarray, restarts: int, seed: int, threads: int = 1
           ) -> tuple[np.ndarray, np.ndarray]:
    """Benchmark entry point: exactly len(betas) Metropolis sweeps (sweep t at betas[t]) for `restarts` restarts.

    One kernel call, no chunking or stop checks. Restarts start from random states (or the model's
    initial_state), use RNG streams derived from (seed, restart index), and run in parallel on `threads` numba
    threads (capped at NUMBA_NUM_THREADS; results do not depend on it). Returns each restart's best state seen at
    a sweep end, int8 [restarts, n] (at the end of a cold schedule this is almost always the final state), and
    its exact cost, float64 [restarts] (constant included). Spin-flip attempts = len(betas)·restarts·n.
    The first call per process pays JIT compilation (or the on-disk cache load): warm up before timing.
    """
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    state = AnnealState(model, restarts, seed)
    state.sweep(betas)
    best = np.ascontiguousarray(state.bestS)
    return best, energies_of(best, float(model.constant), state.M)
