"""Parameter defaults and the model statistics they derive from.

QIO's own defaults for SA (beta 0 → 0.01) assumed users would set the range; ours come from the model, using the
rule QIO's parameter-free solvers used: β_start = −ln(0.5)/ΔE_max (half of the largest uphill moves accepted at
the start) and β_stop = −ln(1e−4)/(ΔE_min + 0.001·(ΔE_max − ΔE_min)) (the smallest moves almost frozen at the
end), with ΔE_max/ΔE_min estimated from the coefficient magnitudes around each variable (`flip_scales`; ΔE_min
is floored at a tenth of the typical field so continuous couplings do not freeze most of the schedule).

Defaults of the parameterised core solvers (effective values are echoed in each result's `parameters`):
- SA: beta_start/beta_stop as above, sweeps 1000, restarts max(8, threads).
- PT: all_betas = geometric ladder from beta_start to beta_stop with replicas = `replicas` or
  max(threads, clamp(√n, 8, 32)) (larger systems need closer temperatures for exchanges to pass); sweeps 1000.
- Tabu: tabu_tenure min(20, n // 4), sweeps 10·n clamped to [1000, 20000], restarts max(8, threads).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from solver_runner.model import CompiledModel

DEFAULT_SWEEPS = 1000  # SA: sweeps (one sweep = one pass over all variables per restart)
DEFAULT_RESTARTS = 8  # SA and Tabu: restarts = max(DEFAULT_RESTARTS, threads)
DEFAULT_PT_SWEEPS = 1000  # PT: steps (one sweep of every replica + one exchange round)
DEFAULT_PT_REPLICAS = 8  # PT without all_betas: replicas = default_pt_replicas(n, threads), at least this
MAX_DEFAULT_PT_REPLICAS = 32
TABU_MIN_SWEEPS = 1000  # Tabu: sweeps (= moves) default 10·n clamped to [TABU_MIN_SWEEPS, TABU_MAX_SWEEPS]
TABU_MAX_SWEEPS = 20_000


@dataclass(frozen=True)
class BetaRange:
    beta_start: float
    beta_stop: float


TYPICAL_FIELD_FRACTION = 0.1


def _flip_contributions(model: CompiledModel) -> tuple[np.ndarray, np.ndarray]:
    """(variable, |coefficient share|) pairs: every term's magnitude, once per variable it touches.

    SLC groups contribute |C·w|·(2·Σ|w| + |w|), a cheap bound of |C·(2·L·w·d + w²d²)|/|d| within the group."""
    n = model.n
    owners = [np.arange(n), np.repeat(np.arange(n), np.diff(model.adj_ptr))]
    weights = [np.abs(model.h), np.abs(model.adj_w)]
    if model.has_higher:
        owners.append(model.hterm_vars.astype(np.int64))
        weights.append(np.repeat(np.abs(model.hterm_c), np.diff(model.hterm_ptr)))
    if model.has_slc:
        groups = np.repeat(np.arange(model.slc_c.shape[0]), np.diff(model.slc_ptr))
        totals = np.zeros(model.slc_c.shape[0])
        np.add.at(totals, groups, np.abs(model.slc_w))
        totals += np.abs(model.slc_const)
        owners.append(model.slc_vars.astype(np.int64))
        weights.append(np.abs(model.slc_c[groups] * model.slc_w) * (2 * totals[groups] + np.abs(model.slc_w)))
    return np.concatenate(owners), np.concatenate(weights)


def flip_scales(model: CompiledModel) -> tuple[float, float]:
    """(largest, smallest relevant) magnitude of a single-flip energy change, estimated from the coefficients.

    largest: max over variables of Σ|coefficients| touching it (× 2 for ising: a spin flip moves by 2).
    smallest: the smallest nonzero coefficient share (× step), but at least TYPICAL_FIELD_FRACTION of the median
    per-variable RMS field √(Σ c²). The floor matters for continuous couplings (Gaussian, SK, QUBO with many
    distinct weights), where the single smallest coefficient says nothing about the moves that matter and would
    push beta_stop (and most of a linear schedule) far into the frozen regime; for ±J or few distinct weights the
    smallest coefficient wins, as in QIO's rule. Measured (1000 sweeps × 8 restarts, best of 3 seeds): SK-512
    −383.8 → −388.6 (the best any tried range reached), Gaussian-weight 3-regular N=1000 −993 → −1060,
    ±J 3-regular and a random integer QUBO unchanged or better.
    """
    step = 2.0 if model.ising else 1.0
    n = model.n
    if n == 0:
        return 1.0, 1.0
    owners, weights = _flip_contributions(model)
    scale = np.bincount(owners, weights=weights, minlength=n)
    squares = np.bincount(owners, weights=weights * weights, minlength=n)
    largest = float(scale.max()) * step
    if largest <= 0.0:
        return 1.0, 1.0
    nonzero = weights[weights > 0]
    smallest = float(nonzero.min()) * step
    rms = np.sqrt(squares[squares > 0])
    typical = float(np.median(rms)) * step if rms.size else 0.0
    smallest = max(smallest, TYPICAL_FIELD_FRACTION * typical)
    return largest, min(largest, max(smallest, largest * 1e-9))


def default_beta_range(model: CompiledModel) -> BetaRange:
    largest, smallest = flip_scales(model)
    beta_start = -math.log(0.5) / largest
    beta_stop = -math.log(1e-4) / (smallest + 0.001 * (largest - smallest))
    return BetaRange(beta_start, max(beta_stop, beta_start))


def linear_betas(beta_start: float, beta_stop: float, sweeps: int, first: int = 0, stop: int | None = None
                 ) -> np.ndarray:
    """β of sweeps first..stop−1 (default: all) of a linear schedule over `sweeps` sweeps: sweep 0 → beta_start,
    sweep sweeps−1 → beta_stop (QIO's SA schedule; a single sweep runs at beta_stop). Computed per chunk by the
    solvers, so a run of 10⁹ sweeps never materialises its schedule."""
    stop = sweeps if stop is None else min(stop, sweeps)
    t = np.arange(first, stop, dtype=np.float64)
    if sweeps == 1:
        return np.full(t.shape[0], beta_stop, np.float64)
    return beta_start + (beta_stop - beta_start) * (t / (sweeps - 1))


def default_all_betas(model: CompiledModel, replicas: int) -> list[float]:
    """A geometric ladder across the model's β range: neighbours overlap, the coldest replica is nearly frozen."""
    rng = default_beta_range(model)
    if replicas == 1:
        return [rng.beta_stop]
    return [float(b) for b in np.geomspace(max(rng.beta_start, 1e-12), rng.beta_stop, replicas)]


def default_pt_replicas(n: int, threads: int) -> int:
    """Exchange acceptance between neighbouring β falls with system size (energy fluctuations grow like √n), so the
    default ladder gets more rungs for larger problems: √n, clamped to [8, 32], and at least one per thread.
    Measured at 1000 sweeps: 8 rungs lose 0.6-1.8% to SA on N≈500-1000 instances, 32 rungs match or beat it."""
    rungs = int(round(math.sqrt(max(n, 1))))
    return max(int(threads), min(MAX_DEFAULT_PT_REPLICAS, max(DEFAULT_PT_REPLICAS, rungs)))


def resolve_seed(params: dict) -> int:
    seed = params.get("seed")
    return int(seed) if seed is not None else int.from_bytes(os.urandom(4), "little")


def default_tabu_tenure(n: int) -> int:
    """Beasley's rule of thumb, min(20, n/4) (QIO's tabu parameter-free starts there; QTK's plain default is 0)."""
    return int(min(20, n // 4))


def default_tabu_sweeps(n: int) -> int:
    """One tabu sweep is one move, so useful runs need several moves per variable: 10·n, clamped."""
    return int(min(max(TABU_MIN_SWEEPS, 10 * n), TABU_MAX_SWEEPS))


def flip_tolerance(model: CompiledModel) -> float:
    """Energy differences below this are rounding noise (tabu aspiration/descent use it to avoid flip-flopping)."""
    largest, _ = flip_scales(model)
    return 1e-11 * max(largest, abs(model.constant) * 1e-3, 1e-300)
