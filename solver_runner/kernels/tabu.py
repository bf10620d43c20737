"""One-flip tabu search (Beasley 1998) with independent multistart walkers (Palubeckis 2004), run in parallel.

One move ("sweep" in QIO's vocabulary) of a walker at move number t:
1. scan the n one-flip moves in index order, computing ΔE from the cached fields;
2. aspiration: the first scanned move whose result beats the walker's best-ever cost (by more than `eps`) is
   applied at once, tabu or not, made tabu, and followed by a greedy descent (in-order passes flipping every
   improving variable until a pass improves nothing, i.e. a one-flip local minimum); the move ends there;
3. otherwise the best non-tabu move is applied even if it worsens the cost (ties broken uniformly at random).
A variable flipped by move t (steps 2 or 3; not by the descent) is tabu for moves t+1 .. t+tenure
(`tabu_until[i] = t + tenure`, tabu while tabu_until[i] >= current move). The tenure is capped at n − 1 so at
least one move is always allowed (a larger tenure would only stall the walker; tenure 0 = no tabu list).

Cost per move: O(n) delta evaluations (O(1) each for quadratic terms) plus the flip's field update.
Arrays: those of `kernels.sa.AnnealState` plus `tabu_until` int64 [R, n], `moves` int64 [R] (each walker's move
counter) and `tenures` int64 [R] (per-walker tenure, so a tuner can spread tenures over walkers). RNG: padded
streams (walker r draws from word r·RNG_STRIDE), used only to break ties between equally good moves.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import apply_flip, delta, keep_best, model_arrays, randint
from solver_runner.kernels.rng import RNG_STRIDE, padded_rng_states
from solver_runner.kernels.sa import init_restarts
from solver_runner.model import CompiledModel


@njit(cache=True, nogil=True)
def descend(s, f, L, e, ising, has_higher, has_slc, M, eps):
    """Greedy descent to a one-flip local minimum: in-order passes flipping every i with ΔE < −eps. Returns e."""
    n = s.shape[0]
    improved = True
    while improved:
        improved = False
        for i in range(n):
            de = delta(s, f, L, i, ising, has_higher, has_slc, M)
            if de < -eps:
                apply_flip(s, f, L, i, ising, has_slc, M)
                e += de
                improved = True
    return e


@njit(cache=True, nogil=True)
def tabu_move(s, f, L, e, best_e, tabu_until, t, tenure, ising, has_higher, has_slc, st, k, M, eps):
    """Move number t of one walker (see module docstring). Returns the new energy.

    The scan loop holds only inlined code (no calls that take arrays): see the performance rule in kernels.common.
    """
    n = s.shape[0]
    aspire = -1
    aspire_de = 0.0
    bi = -1
    bde = np.inf
    ties = 0
    for i in range(n):
        de = delta(s, f, L, i, ising, has_higher, has_slc, M)
        if e + de < best_e - eps:
            aspire = i
            aspire_de = de
            break
        if tabu_until[i] >= t:
            continue
        if de < bde - eps:
            bde = de
            bi = i
            ties = 1
        elif de <= bde + eps:
            ties += 1
            if randint(st, k, ties) == 0:
                bi = i
    if aspire >= 0:
        apply_flip(s, f, L, aspire, ising, has_slc, M)
        tabu_until[aspire] = t + tenure
        return descend(s, f, L, e + aspire_de, ising, has_higher, has_slc, M, eps)
    if bi >= 0:
        de = delta(s, f, L, bi, ising, has_higher, has_slc, M)
        apply_flip(s, f, L, bi, ising, has_slc, M)
        tabu_until[bi] = t + tenure
        e += de
    return e


@njit(cache=True, nogil=True, parallel=True)
def tabu_chunk(S, F, Lg, E, topS, topE, tabu_until, moves, tenures, rng, count, ising, has_higher, has_slc, M, eps):
    """Advance every walker by `count` moves; offer each move's result to the walker's best-k set."""
    R = S.shape[0]
    n = S.shape[1]
    for r in prange(R):
        tenure = min(tenures[r], max(n - 1, 0))
        s = S[r]
        f = F[r]
        L = Lg[r]
        tu = tabu_until[r]
        e = E[r]
        t = moves[r]
        for _ in range(count):
            e = tabu_move(s, f, L, e, topE[r, 0], tu, t, tenure, ising, has_higher, has_slc, rng, r * RNG_STRIDE, M,
                          eps)
            keep_best(e, s, topE[r], topS[r])
            t += 1
        E[r] = e
        moves[r] = t


class TabuState:
    """Arrays of R tabu walkers; `bestS`/`bestE`/`candidates()` as in `kernels.sa.AnnealState`."""

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
        self.keep = max(1, int(keep))
        self.topS = np.zeros((restarts, self.keep, n), np.int8)
        self.topE = np.full((restarts, self.keep), np.inf, np.float64)
        self.tabu_until = np.empty((restarts, n), np.int64)
        self.moves = np.zeros(restarts, np.int64)
        self.tenures = np.broadcast_to(np.asarray(tenures, np.int64), (restarts,)).copy()
        self.rng = padded_rng_states(seed, restarts, stream)
        initial = model.initial_state if model.initial_state is not None else np.zeros(0, np.int8)
        init_restarts(self.S, self.F, self.L, self.E, self.topS, self.topE, self.rng, initial, model.constant,
                      model.ising, self.M)  # start states exactly as SA's restarts (one kernel less to compile)
        self.tabu_until.fill(-1)

    @property
    def bestS(self) -> np.ndarray:
        return self.topS[:, 0, :]

    @property
    def bestE(self) -> np.ndarray:
        return self.topE[:, 0]

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        S = self.topS.reshape(self.topS.shape[0] * self.topS.shape[1], self.model.n)
        E = self.topE.reshape(-1)
        ok = np.isfinite(E)
        return S[ok], E[ok]

    def step(self, count: int, lo: int = 0, hi: int | None = None) -> None:
        """`count` moves of walkers lo..hi−1 (default: every walker; views keep each walker's RNG stream)."""
        w = slice(lo, self.S.shape[0] if hi is None else hi)
        tabu_chunk(self.S[w], self.F[w], self.L[w], self.E[w], self.topS[w], self.topE[w], self.tabu_until[w],
                   self.moves[w], self.tenures[w], self.rng[lo * RNG_STRIDE:], int(count), self.model.ising,
                   self.model.has_higher, self.model.has_slc, self.M, self.eps)
