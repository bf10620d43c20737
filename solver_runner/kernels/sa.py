"""Simulated annealing kernel: independent restarts, Metropolis sweeps on a β schedule, run in parallel.

State for R restarts lives in 2-D arrays (row r = restart r) so a run can be advanced in chunks of sweeps, with
stop checks between chunks, without copying. `anneal()` is the plain entry point for benchmarks.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import any_sweep, energy, init_fields, model_arrays, random_state, rng_states
from solver_runner.model import CompiledModel


@njit(cache=True, nogil=True, parallel=True)
def init_restarts(S, F, Lg, E, bestS, bestE, rng, initial, constant, ising, M):
    """Random (or given) start states, their fields and energies; best-so-far = start."""
    R = S.shape[0]
    for r in prange(R):
        if initial.shape[0] == S.shape[1]:
            S[r, :] = initial
        else:
            random_state(S[r], ising, rng, r)
        init_fields(S[r], F[r], Lg[r], M)
        E[r] = energy(S[r], constant, M)
        bestS[r, :] = S[r]
        bestE[r] = E[r]


@njit(cache=True, nogil=True, parallel=True)
def anneal_chunk(S, F, Lg, E, bestS, bestE, rng, betas, ising, has_higher, has_slc, M):
    """Advance every restart by len(betas) sweeps; keep each restart's best state (checked after each sweep)."""
    R = S.shape[0]
    for r in prange(R):
        s = S[r]
        f = F[r]
        L = Lg[r]
        e = E[r]
        for k in range(betas.shape[0]):
            e += any_sweep(s, f, L, betas[k], ising, has_higher, has_slc, rng, r, M)
            if e < bestE[r] - 1e-12:
                bestE[r] = e
                bestS[r, :] = s
        E[r] = e


@njit(cache=True, nogil=True, parallel=True)
def sweep_each_chunk(S, F, Lg, E, bestS, bestE, rng, betas, ising, has_higher, has_slc, M):
    """One sweep of every row r at its own β (betas[r]): the PT step before exchanges."""
    R = S.shape[0]
    for r in prange(R):
        E[r] += any_sweep(S[r], F[r], Lg[r], betas[r], ising, has_higher, has_slc, rng, r, M)
        if E[r] < bestE[r] - 1e-12:
            bestE[r] = E[r]
            bestS[r, :] = S[r]


class AnnealState:
    """Arrays of a multi-restart annealing run (also used by PT: a replica is a restart at a fixed β)."""

    def __init__(self, model: CompiledModel, restarts: int, seed: int, stream: int = 0):
        n = model.n
        self.model = model
        self.M = model_arrays(model)
        self.S = np.empty((restarts, n), np.int8)
        self.F = np.empty((restarts, n), np.float64)
        self.L = np.empty((restarts, model.slc_c.shape[0]), np.float64)
        self.E = np.empty(restarts, np.float64)
        self.bestS = np.empty((restarts, n), np.int8)
        self.bestE = np.empty(restarts, np.float64)
        self.rng = rng_states(seed, restarts + 1, stream)  # one spare stream for exchange moves (PT)
        initial = model.initial_state if model.initial_state is not None else np.zeros(0, np.int8)
        init_restarts(self.S, self.F, self.L, self.E, self.bestS, self.bestE, self.rng, initial, model.constant,
                      model.ising, self.M)

    def sweep(self, betas: np.ndarray) -> None:
        anneal_chunk(self.S, self.F, self.L, self.E, self.bestS, self.bestE, self.rng,
                     np.ascontiguousarray(betas, dtype=np.float64), self.model.ising, self.model.has_higher,
                     self.model.has_slc, self.M)


    def sweep_each(self, betas: np.ndarray) -> None:
        sweep_each_chunk(self.S, self.F, self.L, self.E, self.bestS, self.bestE, self.rng, betas, self.model.ising,
                         self.model.has_higher, self.model.has_slc, self.M)


def anneal(model: CompiledModel, betas: np.ndarray, restarts: int, seed: int, threads: int = 1):
    """Run exactly len(betas) sweeps (one β per sweep) for `restarts` independent restarts.

    Returns (best states int8 [restarts, n], best energies float64 [restarts]). One spin-flip attempt per
    variable per sweep per restart: attempts = len(betas) · restarts · n.
    """
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    state = AnnealState(model, restarts, seed)
    state.sweep(betas)
    return state.bestS.copy(), state.bestE.copy()
