"""Parameter defaults and the model statistics they derive from.

QIO's own defaults for SA (beta 0 → 0.01) assumed users would set the range; ours come from the model, using the
rule QIO's parameter-free solvers used: β_start = −ln(0.5)/ΔE_max (half of the largest uphill moves accepted at
the start) and β_stop = −ln(1e−4)/(ΔE_min + 0.001·(ΔE_max − ΔE_min)) (the smallest moves almost frozen at the
end), with ΔE_max/ΔE_min estimated from the coefficient magnitudes around each variable (`flip_scales`; ΔE_min
is floored at a tenth of the typical field so continuous couplings do not freeze most of the schedule).

Every solver's defaults live here (`sa_parameters` ... `ssmc_parameters`: effective values, echoed in each result's
`parameters`); the parameter-free solvers start from them. Defaults of the core solvers:
- SA: beta_start/beta_stop as above, sweeps 1000, restarts max(8, threads).
- PT: all_betas = geometric ladder from beta_start to beta_stop with replicas = `replicas` or
  max(threads, clamp(√n, 8, 32)) (larger systems need closer temperatures for exchanges to pass); sweeps 1000.
- Tabu: tabu_tenure min(20, n // 4), sweeps 10·n clamped to [1000, 20000], restarts max(8, threads).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from contracts import errors
from contracts.errors import ContractError
from solver_runner.model import CompiledModel

if TYPE_CHECKING:
    from solver_runner.solvers.base import SolveContext

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


# ---------------------------------------------------------------------------------------------------------------
# Each solver's effective parameters: what the user gave, defaults for the rest (echoed in the result). The
# solvers' module docstrings say why each default is what it is.

QMC_DEFAULT_TROTTER = 8
QMC_MIN_RESTARTS = 4
QMC_INITIAL_BOND_PROBABILITY = 0.01
PA_DEFAULT_POPULATION = 64
PA_DEFAULT_ALPHA = 2.0
SSMC_DEFAULT_STEP_LIMIT = 10_000
SSMC_DEFAULT_POPULATION = 64
SSMC_DEFAULT_ALPHA = (1.0, 0.0)
SSMC_DEFAULT_BETA = (0.001, 5.0)


def linear_schedule(initial: float, final: float) -> dict:
    return {"type": "linear", "initial": float(initial), "final": float(final)}


def sa_parameters(ctx: SolveContext) -> dict:
    """Effective SA parameters: given values, defaults for the rest."""
    p = ctx.params
    default = default_beta_range(ctx.model)
    beta_start = float(p.get("beta_start", default.beta_start))
    beta_stop = float(p.get("beta_stop", max(default.beta_stop, beta_start)))
    return {
        "beta_start": beta_start,
        "beta_stop": beta_stop,
        "restarts": int(p.get("restarts", max(DEFAULT_RESTARTS, ctx.threads))),
        "sweeps": int(p.get("sweeps", DEFAULT_SWEEPS)),
    }


def pt_parameters(ctx: SolveContext) -> dict:
    p = ctx.params
    if "all_betas" in p:
        all_betas = [float(b) for b in p["all_betas"]]
    else:
        replicas = int(p.get("replicas", default_pt_replicas(ctx.model.n, ctx.threads)))
        all_betas = default_all_betas(ctx.model, replicas)
    return {"all_betas": all_betas, "replicas": len(all_betas), "sweeps": int(p.get("sweeps", DEFAULT_PT_SWEEPS))}


def tabu_parameters(ctx: SolveContext) -> dict:
    p = ctx.params
    n = ctx.model.n
    eff: dict[str, Any] = {
        "restarts": int(p.get("restarts", max(DEFAULT_RESTARTS, ctx.threads))),
        "sweeps": int(p.get("sweeps", default_tabu_sweeps(n))),
        "tabu_tenure": int(p.get("tabu_tenure", default_tabu_tenure(n))),
    }
    if "disabled_features" in p:
        eff["disabled_features"] = list(p["disabled_features"])
    return eff


def _param(p: dict, *names: str):
    for name in names:
        if name in p:
            return p[name]
    return None


def qmc_parameters(ctx: SolveContext) -> dict:
    """The effective parameters (defaults applied), with the service's names."""
    p = ctx.params
    trotter = int(p.get("trotter_number", QMC_DEFAULT_TROTTER))
    restarts = int(p.get("restarts", max(QMC_MIN_RESTARTS, ctx.threads)))
    sweeps = int(p.get("sweeps", DEFAULT_SWEEPS))
    default_beta = default_beta_range(ctx.model).beta_stop
    given_start, given_stop = p.get("beta_start"), p.get("beta_stop")  # QIO: one given stands for both
    beta_start = float(given_start if given_start is not None else given_stop if given_stop is not None else default_beta)
    beta_stop = float(given_stop if given_stop is not None else beta_start)
    high = _param(p, "transverse_field_high", "transverse_field_start")
    low = _param(p, "transverse_field_low", "transverse_field_stop")
    if low is None:
        low = 0.0
    if high is None:
        high = math.atanh(1.0 - QMC_INITIAL_BOND_PROBABILITY) * trotter / float(beta_start)
    return {
        "beta_start": float(beta_start),
        "beta_stop": float(beta_stop),
        "restarts": restarts,
        "seed": ctx.seed,
        "sweeps": sweeps,
        "transverse_field_high": float(high),
        "transverse_field_low": float(low),
        "trotter_number": trotter,
    }


def default_pa_beta(model: CompiledModel) -> dict:
    """Geometric from the model's SA β_start to its β_stop (see the module docstring)."""
    rng = default_beta_range(model)
    return {"type": "geometric", "initial": float(rng.beta_start), "final": float(rng.beta_stop)}


def pa_parameters(ctx: SolveContext, sweeps: int | None = None) -> dict:
    """Effective PA parameters: given values, defaults for the rest (`sweeps` overrides the default run length)."""
    p = ctx.params
    population = int(p.get("population", max(PA_DEFAULT_POPULATION, ctx.threads)))
    sweeps = int(p.get("sweeps", sweeps if sweeps is not None else 2 * population))
    if "beta" in p:
        beta = dict(p["beta"])
    elif "beta_start" in p or "beta_stop" in p:
        start = float(p.get("beta_start", 0.0))
        stop = float(p.get("beta_stop", max(default_beta_range(ctx.model).beta_stop, start)))
        if stop < start:
            raise ContractError(errors.INVALID_PARAMETERS,
                                f"{errors.AZQ_INVALID_PARAMETER}: parameter 'beta_stop' must be at least beta_start "
                                f"({start}); got {stop}")
        beta = linear_schedule(start, stop)
    else:
        beta = default_pa_beta(ctx.model)
    out = {
        "alpha": float(p.get("alpha", PA_DEFAULT_ALPHA)),
        "beta": beta,
        "beta_start": float(beta["initial"]),
        "beta_stop": float(beta["final"]),
        "constant_population": bool(p.get("constant_population", True)),
        "population": population,
        "seed": ctx.seed,
        "sweeps": sweeps,
        "sweeps_per_replica": int(p.get("sweeps_per_replica", 1)),
    }
    if "culling_fraction" in p:
        out["culling_fraction"] = float(p["culling_fraction"])
    if "timeout" in p:
        out["timeout"] = p["timeout"]
    return out


def ssmc_parameters(ctx: SolveContext) -> dict:
    p = ctx.params
    out = {
        "alpha": dict(p["alpha"]) if "alpha" in p else linear_schedule(*SSMC_DEFAULT_ALPHA),
        "beta": dict(p["beta"]) if "beta" in p else linear_schedule(*SSMC_DEFAULT_BETA),
        "seed": ctx.seed,
        "step_limit": int(p.get("step_limit", SSMC_DEFAULT_STEP_LIMIT)),
        "steps_per_walker": int(p.get("steps_per_walker", 1)),
        "target_population": int(p.get("target_population", max(SSMC_DEFAULT_POPULATION, ctx.threads))),
    }
    if "timeout" in p:
        out["timeout"] = p["timeout"]
    return out
