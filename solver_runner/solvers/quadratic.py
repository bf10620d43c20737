"""The quadratic problems the Toshiba and 1QBit targets take, and the Ising coupling matrix simulated bifurcation
works on.

SQBM+ is an Ising machine and the 1QBit solvers are QUBO solvers: both take terms of at most two variables and no
grouped (SLC) terms. A PUBO of degree ≤ 2 is a QUBO, and an Ising problem with fields is one too (s = 2x − 1), so
the solvers work on the compiled model as it is (kernels take either convention), and anything of higher degree is
refused with the term's size, naming the targets that take it.
"""
from __future__ import annotations

import numpy as np

from contracts import errors
from contracts.errors import ContractError
from solver_runner.model import CompiledModel


def require_quadratic(model: CompiledModel, target: str) -> None:
    """ContractError(InvalidInputData) unless every term has at most two variables and there are no SLC terms."""
    if model.has_higher:
        degree = int(np.diff(model.hterm_ptr).max())
        raise ContractError(errors.INVALID_INPUT_DATA,
                            f"{target} takes terms of at most two variables (a quadratic problem: QUBO or Ising); "
                            f"this problem has a term of {degree} variables. The microsoft.* targets take any degree")
    if model.has_slc:
        raise ContractError(errors.INVALID_INPUT_DATA,
                            f"{target} takes no grouped (SLC) terms; PopulationAnnealing or SubstochasticMonteCarlo "
                            "(microsoft.populationannealing.cpu, microsoft.substochasticmontecarlo.cpu) do")


def ising_form(model: CompiledModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The model as an Ising problem Σ h_i s_i + Σ_{i<j} J_ij s_i s_j (+ a constant, dropped): (h float64 [n],
    adj_ptr, adj_idx, J float64 per CSR entry, both halves). A PUBO's x = (1 + s)/2 gives J = Q/4 and
    h_i = q_i/2 + Σ_j Q_ij/4."""
    if model.ising:
        return model.h, model.adj_ptr, model.adj_idx, model.adj_w
    rows = np.repeat(np.arange(model.n), np.diff(model.adj_ptr))
    h = model.h / 2 + np.bincount(rows, weights=model.adj_w, minlength=model.n) / 4
    return h, model.adj_ptr, model.adj_idx, model.adj_w / 4


def sb_couplings(model: CompiledModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """K = −J of the Ising form over N spins, with the fields as couplings to one extra, last spin when any is
    nonzero (`gauge` True): (ptr int64 [N+1], idx int32, w float32, dense float32 [N, N] or (0, 0), gauge)."""
    h, ptr, idx, J = ising_form(model)
    n = model.n
    gauge = bool(np.any(h != 0))
    N = n + 1 if gauge else n
    rows = np.repeat(np.arange(n), np.diff(ptr))
    cols = idx.astype(np.int64)
    vals = -J
    if gauge:
        field = np.flatnonzero(h)
        rows = np.concatenate([rows, field, np.full(field.shape[0], n)])
        cols = np.concatenate([cols, np.full(field.shape[0], n), field])
        vals = np.concatenate([vals, -h[field], -h[field]])
    if model.dense is not None:
        dense = np.zeros((N, N), np.float32)
        dense[rows, cols] = vals
        return np.zeros(N + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), dense, gauge
    order = np.argsort(rows, kind="stable")
    out_ptr = np.zeros(N + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=N), out=out_ptr[1:])
    return (out_ptr, cols[order].astype(np.int32), vals[order].astype(np.float32), np.zeros((0, 0), np.float32),
            gauge)


def integer_couplings(ptr: np.ndarray, w: np.ndarray, dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 copies of the couplings (w8, dense8) when all are integers in −127..127 and every row's Σ|K_ij| fits
    int16, so discrete SB can sum them exactly in int16 (kernels/sb.py); else two empty arrays."""
    none = (np.zeros(0, np.int8), np.zeros((0, 0), np.int8))
    values = dense if dense.shape[0] else w
    if values.size == 0 or np.any(values != np.round(values)) or np.abs(values).max() > 127:
        return none
    if dense.shape[0]:
        rows = np.abs(dense).sum(axis=1)
    else:
        rows = np.bincount(np.repeat(np.arange(ptr.shape[0] - 1), np.diff(ptr)), weights=np.abs(w))
    if rows.max() > 32767:
        return none
    if dense.shape[0]:
        return none[0], dense.astype(np.int8)
    return w.astype(np.int8), none[1]


def spectral_radius(ptr: np.ndarray, idx: np.ndarray, w: np.ndarray, dense: np.ndarray, iterations: int = 40
                    ) -> float:
    """max |λ(K)| by power iteration on K² (which converges from below whatever the signs of K's extreme
    eigenvalues; 40 rounds: within a few % on the instances measured). 0 without couplings."""
    N = ptr.shape[0] - 1
    if N == 0 or (not dense.shape[0] and not w.shape[0]):
        return 0.0
    if dense.shape[0]:
        K = dense.astype(np.float64)

        def times(x: np.ndarray) -> np.ndarray:
            return K @ x
    else:
        rows = np.repeat(np.arange(N), np.diff(ptr))
        weights = w.astype(np.float64)

        def times(x: np.ndarray) -> np.ndarray:
            return np.bincount(rows, weights=weights * x[idx], minlength=N)
    x = np.random.default_rng(0).normal(size=N)  # fixed: the same problem always gets the same estimate
    x /= np.linalg.norm(x)
    rho = 0.0
    for _ in range(iterations):
        y = times(times(x))
        norm = float(np.linalg.norm(y))
        if norm == 0.0:
            return 0.0
        rho, x = np.sqrt(norm), y / norm
    return float(rho)


def auto_c0(w: np.ndarray, dense: np.ndarray, N: int) -> float:
    """ξ0 = 0.5 / (√N·σ), σ = √(Σ_{i≠j} K_ij² / (N(N−1))) (Goto et al. 2021): with it the trivial point x = 0 turns
    unstable as the pump rises, for couplings of any scale. 1 when there are no couplings."""
    entries = dense if dense.shape[0] else w
    total = float(np.sum(entries.astype(np.float64) ** 2))
    if N < 2 or total <= 0.0:
        return 1.0
    return 0.5 / np.sqrt(total / (N - 1))


class SolutionPool:
    """The best `keep` distinct states seen (int8 [·, n]) with their exact costs, best first."""

    def __init__(self, keep: int, n: int):
        self.keep = keep
        self.states = np.zeros((0, n), np.int8)
        self.costs = np.zeros(0, np.float64)

    @property
    def best(self) -> float:
        return float(self.costs[0]) if self.costs.shape[0] else np.inf

    def add(self, states: np.ndarray, costs: np.ndarray) -> bool:
        """Offer states; True when the best cost improved."""
        before = self.best
        S = np.concatenate([self.states, states])
        E = np.concatenate([self.costs, costs])
        _, first = np.unique(S, axis=0, return_index=True)
        first = first[np.argsort(E[first], kind="stable")][: self.keep]
        self.states, self.costs = S[first], E[first]
        return self.best < before


def shortlist(states: np.ndarray, costs: np.ndarray, k: int) -> np.ndarray:
    """The 2k + 2 distinct rows of lowest (incremental or approximate) cost: the candidates worth an exact cost, so
    a run's end does not cost one full energy per walker (on a dense problem of 2000 variables, 60 of them take
    longer than a second)."""
    keep = np.isfinite(costs)
    states, costs = states[keep], costs[keep]
    rows: list[int] = []
    seen: set[bytes] = set()
    for r in np.argsort(costs, kind="stable"):
        key = states[r].tobytes()
        if key not in seen:
            seen.add(key)
            rows.append(int(r))
            if len(rows) == 2 * k + 2:
                break
    return states[rows]
