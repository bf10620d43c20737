"""Parameter defaults and the model statistics they derive from.

QIO's own defaults for SA (beta 0 → 0.01) assumed users would set the range; ours come from the model, using the
rule QIO's parameter-free solvers used: β_start = −ln(0.5)/ΔE_max (half of the largest uphill moves accepted at
the start) and β_stop = −ln(1e−4)/(ΔE_min + 0.001·(ΔE_max − ΔE_min)) (the smallest moves almost frozen at the end),
with ΔE_max/ΔE_min estimated from the coefficient magnitudes around each variable.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from solver_runner.model import CompiledModel

DEFAULT_SWEEPS = 1000
DEFAULT_RESTARTS = 8
DEFAULT_PT_SWEEPS = 1000
DEFAULT_PT_REPLICAS = 8


@dataclass(frozen=True)
class BetaRange:
    beta_start: float
    beta_stop: float


def flip_scales(model: CompiledModel) -> tuple[float, float]:
    """(largest, smallest nonzero) magnitude of a single-flip energy change, estimated from coefficients."""
    step = 2.0 if model.ising else 1.0
    n = model.n
    if n == 0:
        return 1.0, 1.0
    scale = np.abs(model.h).copy()
    np.add.at(scale, np.repeat(np.arange(n), np.diff(model.adj_ptr)), np.abs(model.adj_w))
    if model.has_higher:
        owners = model.hterm_vars
        weights = np.repeat(np.abs(model.hterm_c), np.diff(model.hterm_ptr))
        np.add.at(scale, owners, weights)
    if model.has_slc:
        # |C·(2·L·w·d + w²d²)| is bounded by C·w·d·(2·Σ|w| + |w d|) in the group; a cheap upper estimate
        totals = np.zeros(model.slc_c.shape[0])
        groups = np.repeat(np.arange(model.slc_c.shape[0]), np.diff(model.slc_ptr))
        np.add.at(totals, groups, np.abs(model.slc_w))
        totals += np.abs(model.slc_const)
        np.add.at(scale, model.slc_vars, np.abs(model.slc_c[groups] * model.slc_w) * (2 * totals[groups] + np.abs(model.slc_w)))
    coeffs = np.concatenate([np.abs(model.h), np.abs(model.adj_w), np.abs(model.hterm_c),
                             np.abs(model.slc_c[np.repeat(np.arange(model.slc_c.shape[0]), np.diff(model.slc_ptr))] * model.slc_w ** 2)
                             if model.has_slc else np.zeros(0)])
    coeffs = coeffs[coeffs > 0]
    largest = float(scale.max()) * step if scale.size else 0.0
    smallest = float(coeffs.min()) * step if coeffs.size else 0.0
    if largest <= 0.0:
        return 1.0, 1.0
    return largest, max(smallest, largest * 1e-9)


def default_beta_range(model: CompiledModel) -> BetaRange:
    largest, smallest = flip_scales(model)
    beta_start = -math.log(0.5) / largest
    beta_stop = -math.log(1e-4) / (smallest + 0.001 * (largest - smallest))
    return BetaRange(beta_start, max(beta_stop, beta_start))


def linear_betas(beta_start: float, beta_stop: float, sweeps: int) -> np.ndarray:
    """β per sweep, linear: sweep 0 → beta_start, last sweep → beta_stop (QIO's SA schedule)."""
    if sweeps == 1:
        return np.array([beta_stop], np.float64)
    return np.linspace(beta_start, beta_stop, sweeps, dtype=np.float64)


def default_all_betas(model: CompiledModel, replicas: int) -> list[float]:
    """A geometric ladder across the model's β range: neighbours overlap, the coldest replica is nearly frozen."""
    rng = default_beta_range(model)
    if replicas == 1:
        return [rng.beta_stop]
    return [float(b) for b in np.geomspace(max(rng.beta_start, 1e-12), rng.beta_stop, replicas)]


def resolve_seed(params: dict) -> int:
    seed = params.get("seed")
    return int(seed) if seed is not None else int.from_bytes(os.urandom(4), "little")
