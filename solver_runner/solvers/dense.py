"""The integer form of a dense quadratic input for kernels.dense, and when SA takes that kernel.

`dense_form(model)` rounds the couplings to int16 at a power-of-two scale: the largest at which every rounded
coupling (×2 for Ising, where a flip moves a field by 2·J) fits int16 and every field (|hq_i| + Σ_j |Jq_ij|) stays
below 2^28, so that d·f and the kernel's thresholds fit int32. Its error is kept exactly where the kernel needs it:
per variable, w_i = max|d| · (|h_i·scale − hq_i| + Σ_j |J_ij·scale − Jq_ij|) / scale bounds |quantised ΔE − exact
ΔE| in any state (couplings rounded once, sums exact), and the kernel widens its thresholds by it.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from solver_runner.kernels.dense import LANES
from solver_runner.model import CompiledModel
from solver_runner.solvers.lanes import aligned_empty

log = logging.getLogger(__name__)

FIELD_LIMIT = 2.0**28
INT16_MAX = 32767
# The kernel's decisions are exact whatever the rounding, but a walker's kept best states are ordered by the
# quantised energy: where one huge coefficient forces a scale that rounds the typical ones away (a coupling of 1e5
# among N(0, 1) ones: scale 2^-3), that order is noise, and SA's best costs came out 3-5 % worse than the scalar
# kernel's (2026-12-05). So the kernel is taken only where the median coefficient keeps its value within 2^-10.
PRECISION = 2.0**-10
ROW_BLOCK = 256
# Bytes per walker and variable a DenseAnneal holds beyond base.check_walker_memory's count while it starts (the
# scalar start's float64 fields are still there): int8 padded state, int32 fields, two int32 thresholds.
DENSE_EXTRA_BYTES = 13
# A run pays dense_form and DenseAnneal's start once: ~0.15-0.25 ms at tens of variables, growing with n² (~4 ms at
# 512, ~30 ms at 1000, this Intel VM). Runs too short to earn that back take the scalar kernel: fewer spin-flip
# attempts (variables · sweeps · walkers) than DENSE_MIN_ATTEMPTS + n² · DENSE_ATTEMPTS_PER_ENTRY. Measured
# (2026-12-07, benchmarks/README.md "The dense kernel's start"): no run below that bound was faster on the dense
# kernel, on SK inputs (Gaussian, 16-1000 variables) or integer ones (12-512); a tiny job's run (12 variables, 20
# sweeps, one walker: entry.run) takes 0.31 ms on the scalar kernel against 0.71 ms.
DENSE_MIN_ATTEMPTS = 50_000
DENSE_ATTEMPTS_PER_ENTRY = 0.25


@dataclass(frozen=True)
class DenseForm:
    scale: float  # a power of two
    Jd: np.ndarray  # int16 [n, n]: round(J·scale) × (2 Ising, 1 PUBO), on a cache line (as the kernel's other arrays:
    # a 512-bit load across two lines made SK-512's sweeps 30 % slower in the processes whose allocations fell so)
    hq: np.ndarray  # int32 [n]: round(h·scale)
    ws: np.ndarray  # float32 [n16]: w_i·scale rounded up (+1), 0 on padding lanes
    precise: bool  # the median coefficient's rounding ≤ PRECISION of it (else SA keeps the scalar kernel)

    @property
    def padded(self) -> int:
        return self.ws.shape[0]


def dense_fits(model: CompiledModel, attempts: int | None = None) -> bool:
    """kernels.dense takes SA on `model`: a dense coupling matrix, only linear and quadratic terms, coefficients that
    int16 keeps precisely enough (`DenseForm.precise`), and a run of `attempts` spin-flip attempts long enough to
    earn back the kernel's start (None: any run)."""
    if model.dense is None or model.has_higher or model.has_slc or model.n == 0:
        return False
    if attempts is not None and attempts < DENSE_MIN_ATTEMPTS + DENSE_ATTEMPTS_PER_ENTRY * model.n * model.n:
        return False
    return dense_form(model).precise


_cache: dict[int, tuple[CompiledModel, DenseForm]] = {}


def dense_form(model: CompiledModel) -> DenseForm:
    """The integer form of a dense quadratic `model`; kept for the last model asked (parameter-free SA asks per
    run)."""
    hit = _cache.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    n = model.n
    J, h = model.dense, model.h
    assert J is not None, "dense_form needs a dense model"
    dmax = 2 if model.ising else 1
    blocks = [slice(lo, lo + ROW_BLOCK) for lo in range(0, n, ROW_BLOCK)]
    jmax, row_sums = 0.0, np.abs(h)
    for b in blocks:  # row blocks: no temporary as large as the matrix (4096² float64 is 128 MiB)
        a = np.abs(J[b])
        jmax = max(jmax, float(a.max(initial=0.0)))
        row_sums[b] += a.sum(axis=1)
    field = float(row_sums.max(initial=0.0))
    limits = [FIELD_LIMIT / field] if field > 0 else []
    if jmax > 0:
        limits.append(INT16_MAX / (dmax * jmax))
    scale = 2.0 ** math.floor(math.log2(min(limits))) if limits else 1.0
    hq = np.rint(h * scale)
    err = np.abs(h * scale - hq)  # in quantised units: |h·scale − hq| + Σ_j |J·scale − Jq| per variable
    Jd = aligned_empty((n, n), np.int16)
    for b in blocks:
        scaled = J[b] * scale
        rounded = np.rint(scaled)
        err[b] += np.abs(scaled - rounded).sum(axis=1)
        Jd[b] = rounded * dmax
    padded = -(-n // LANES) * LANES
    ws = np.zeros(padded, np.float32)
    ws[:n] = dmax * err * (1.0 + 2.0**-20) + 1.0
    coefficients = np.concatenate([h, J.ravel()[:: max(1, J.size // 1_000_000)]])  # a million are enough
    coefficients = np.abs(coefficients[coefficients != 0.0]) * scale
    rounding = np.abs(coefficients - np.rint(coefficients)) / coefficients
    precise = bool(rounding.size == 0 or np.median(rounding) <= PRECISION)
    form = DenseForm(scale=scale, Jd=Jd, hq=hq.astype(np.int32), ws=ws, precise=precise)
    _cache.clear()
    _cache[id(model)] = (model, form)
    if not precise:
        log.info("dense SA kernel not taken on %d variables: at the int16 scale 2^%d the median coefficient is "
                 "rounded by %.2g of its value (over %.2g)", n, int(math.log2(scale)), float(np.median(rounding)),
                 PRECISION)
        return form
    # The quantised model's energy of a state: off the exact one by at most Σ|δh_i| + ½Σ|δJ_ij| ≤ Σ_i err_i / scale.
    log.info("dense SA kernel on %d variables: int16 couplings at scale 2^%d, quantised ΔE within %.3g of the exact "
             "one, a state's quantised energy within %.3g", n, int(math.log2(scale)),
             float(dmax * err.max(initial=0.0) / scale), float(err.sum() / scale))
    return form
