"""Simulated annealing kernel: independent restarts, Metropolis sweeps on a β schedule, run in parallel.

State for R restarts lives in 2-D arrays (row r = restart r) so a run can be advanced in chunks of sweeps, with
stop checks between chunks, without copying. Restarts run in parallel (`prange` over rows; row r uses RNG stream
r only), so results do not depend on the thread count.

Each restart keeps its best-k distinct states seen at sweep ends (`topS`/`topE`, k = `keep`); `bestS`/`bestE` are
views of slot 0 (the restart's best). Energies `E` are incremental (exact ΔE sums, so only rounding drifts);
solvers recompute exact costs of the states they return.

The Python side (the arrays' owner, and the benchmark entry point `anneal`) is solver_runner.solvers.walkers.
"""
from __future__ import annotations

from numba import njit, prange

from solver_runner.kernels.common import any_sweep, keep_best, start_state
from solver_runner.kernels.rng import RNG_STRIDE


@njit(cache=True, nogil=True, parallel=True)
def init_restarts(S, F, Lg, E, topS, topE, rng, initial, constant, ising, M):
    """Random (or given) start states for every row, their fields and energies; each row's best-k = {start}.
    Rows in parallel (each draws from its own padded stream, so the states do not depend on the thread count): on
    one core it was 10 of the 30 ms a 128-restart job on G1-sized input spends outside the sweeps, which capped two
    threads' speed-up. The parallel region costs ~1.7 s more of a cold compile, once per cache."""
    R = S.shape[0]
    for r in prange(R):
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
