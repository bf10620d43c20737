"""Parameter defaults and the model statistics they derive from.

QIO's own defaults for SA (beta 0 → 0.01) assumed users would set the range; ours come from the model, using the
rule QIO's parameter-free solvers used: β_start = −ln(0.5)/ΔE_max (half of the largest uphill moves accepted at
the start) and β_stop = −ln(1e−4)/(ΔE_min + 0.001·(ΔE_max − ΔE_min)) (the smallest moves almost frozen at the
end), with ΔE_max/ΔE_min estimated from the coefficient magnitudes around each variable (`flip_scales`; ΔE_min
is floored at a tenth of the typical field so continuous couplings do not freeze most of the schedule).

Every solver's defaults live here (`sa_parameters` ... `ssmc_parameters`, and for the Toshiba and 1QBit targets
`sbm_parameters`, `qbit_tabu_parameters`, `pticm_parameters`: effective values, echoed in each result's
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

from contracts import errors, targets
from contracts.errors import ContractError
from solver_runner.kernels.common import flip_deltas
from solver_runner.model import CompiledModel, model_arrays

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


TYPICAL_START_STATES = 4  # random states whose uphill moves set the parameter-free SA's and PT's hot ends
ANNEALING_QUANTILE, ANNEALING_ACCEPT = 0.5, 0.25  # SA starts where the median uphill move is accepted 1 in 4
TEMPERING_QUANTILE, TEMPERING_ACCEPT = 0.9, 0.5  # PT's hottest replica: the 90th-percentile uphill move, 1 in 2


def uphill_quantile(model: CompiledModel, q: float) -> float | None:
    """The q-quantile of the uphill single-flip energy changes over TYPICAL_START_STATES uniform random states (a
    fixed seed: the same model always gives the same value); None when no flip goes uphill."""
    if model.n == 0:
        return None
    rng = np.random.default_rng(0)
    arrays = model_arrays(model)
    uphill = []
    for _ in range(TYPICAL_START_STATES):
        s = rng.integers(0, 2, model.n).astype(np.int8)
        if model.ising:
            s = (2 * s - 1).astype(np.int8)
        d = flip_deltas(s, model.ising, model.has_higher, model.has_slc, arrays)
        uphill.append(d[d > 0.0])
    values = np.concatenate(uphill)
    return float(np.quantile(values, q)) if values.size else None


def annealing_beta_range(model: CompiledModel, default: BetaRange | None = None,
                         quantile: float = ANNEALING_QUANTILE, accept: float = ANNEALING_ACCEPT) -> BetaRange:
    """A β range whose start is −ln(accept)/(the `quantile` of the uphill moves at a random state), i.e. where that
    move is accepted with probability `accept`, and whose stop is QIO's. QIO's −ln(0.5)/ΔE_max starts so hot (ΔE_max
    bounds the rarest move) that walkers begin as random flips. The parameter-free SA walks the median's range
    geometrically, from a quarter: on Gset G1 a success costs ~20 ms of one walker's sweeps, ~30 ms from a half,
    and colder starts run into a cliff where walkers freeze too soon (benchmarks/README.md, "Design measurements").
    `default`: the model's default_beta_range, when the caller has it already. The start never lies outside QIO's
    range."""
    default = default_beta_range(model) if default is None else default
    uphill = uphill_quantile(model, quantile)
    if uphill is None:
        return default
    start = min(max(-math.log(accept) / uphill, default.beta_start), default.beta_stop)
    return BetaRange(start, default.beta_stop)


def schedule_values(schedule: dict, count: int, first: int = 0, stop: int | None = None) -> np.ndarray:
    """Steps first..stop−1 of a QIO RangeSchedule {"type": "linear"|"geometric", "initial", "final"} stretched over
    `count` steps (step 0 → initial, step count−1 → final). Computed per chunk: a 10⁹-step run never materialises
    its schedule."""
    stop = count if stop is None else min(stop, count)
    a, b = float(schedule["initial"]), float(schedule["final"])
    t = np.arange(first, stop, dtype=np.float64)
    if count <= 1:
        return np.full(t.shape[0], a, np.float64)
    x = t / (count - 1)
    if schedule["type"] == "geometric":
        out = a * (b / a) ** x
    else:
        out = a + (b - a) * x
    out[t >= count - 1] = b
    return out


def annealing_betas(schedule: dict, sweeps: int, first: int = 0, stop: int | None = None) -> np.ndarray:
    """β of SA sweeps first..stop−1 (default: all) along `schedule` over `sweeps` sweeps: sweep 0 → initial, sweep
    sweeps−1 → final (QIO's SA: linear from beta_start to beta_stop; a single sweep runs at the final β)."""
    if sweeps == 1:
        stop = 1 if stop is None else min(stop, 1)
        return np.full(max(0, stop - first), float(schedule["final"]), np.float64)
    return schedule_values(schedule, sweeps, first, stop)


def default_all_betas(model: CompiledModel, replicas: int) -> list[float]:
    """A geometric ladder from the hottest replica, which accepts half of the 90th-percentile uphill move at a random
    state (annealing_beta_range), to QIO's β_stop, where the coldest replica is nearly frozen. From QIO's β_start
    (half of the *largest* move) the hottest quarter of the rungs walked nearly at random: measured with
    parameter-free PT, 16 rungs, 8 s, 5 seeds, Gset G1 was reached in 5 of 5 runs, median 1.4 s, against 4 of 5,
    median 6.0 s (benchmarks/README.md, "Design measurements")."""
    rng = annealing_beta_range(model, quantile=TEMPERING_QUANTILE, accept=TEMPERING_ACCEPT)
    if replicas == 1:
        return [rng.beta_stop]
    return [float(b) for b in np.geomspace(max(rng.beta_start, 1e-12), rng.beta_stop, replicas)]


LADDER_MU = 2.1  # refine_ladder: a gap's Δβ·ΔĒ at most this, so neighbours exchange ~30 % of the time
MAX_REFINED_RUNGS = 64


def refine_ladder(betas: list[float], mean_energies: np.ndarray, max_rungs: int = MAX_REFINED_RUNGS) -> list[float]:
    """Split the gaps of an ascending β ladder whose neighbours would rarely exchange, given the mean energy at each
    rung, from a short PT run (parameter-free PT's first run of 200 steps).

    Where the energies at two close rungs are near-Gaussian with ΔĒ ≈ Δβ·σ², X = Δβ·(E_hot − E_cold) is ~N(μ, 2μ)
    with μ = Δβ·(Ē_hot − Ē_cold), and a Metropolis exchange is accepted with probability E[min(1, e^−X)] =
    erfc(√μ / 2). Splitting a gap geometrically into m parts divides its μ by about m², so gap k gets
    ⌈√(μ_k / LADDER_MU)⌉ parts: exchanges accepted ~30 % of the time (erfc(√2.1 / 2)) wherever the model holds. A
    geometric ladder of 16 rungs on Gset G14 had four neighbouring pairs that never exchanged (acceptance < 0.005),
    so its cold half never met its hot half; refined from a 200-step run it had 38 rungs, the least acceptance 0.24
    (benchmarks/README.md, "Design measurements"). Never fewer rungs than given; at most `max_rungs` (the target μ
    grows until the ladder fits), never more rungs than given when that is already max_rungs or more."""
    if len(betas) < 2 or len(betas) >= max_rungs:
        return [float(b) for b in betas]
    mu = [max(0.0, (betas[k + 1] - betas[k]) * (float(mean_energies[k]) - float(mean_energies[k + 1])))
          for k in range(len(betas) - 1)]
    target = LADDER_MU
    while True:
        parts = [max(1, math.ceil(math.sqrt(m / target))) for m in mu]
        if 1 + sum(parts) <= max_rungs:
            break
        target *= 1.25
    out = [float(betas[0])]
    for k, m in enumerate(parts):
        out.extend(float(b) for b in np.geomspace(betas[k], betas[k + 1], m + 1)[1:])
    return out


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


def geometric_schedule(initial: float, final: float) -> dict:
    return {"type": "geometric", "initial": float(initial), "final": float(final)}


def sa_parameters(ctx: SolveContext) -> dict:
    """Effective SA parameters: given values, defaults for the rest. The schedule is linear from beta_start to
    beta_stop (QIO's SA), unless `beta` (a RangeSchedule, as PA takes it; an openqio extension) is given: then
    beta_start/beta_stop are its ends and `beta` is echoed."""
    p = ctx.params
    if "beta" in p:
        beta = dict(p["beta"])
    elif "beta_start" in p and "beta_stop" in p:  # no default needed (its field scan is ~10 % of a tiny job)
        beta = linear_schedule(float(p["beta_start"]), float(p["beta_stop"]))
    else:
        default = default_beta_range(ctx.model)
        beta_start = float(p.get("beta_start", default.beta_start))
        beta = linear_schedule(beta_start, float(p.get("beta_stop", max(default.beta_stop, beta_start))))
    out: dict[str, Any] = {
        "beta_start": float(beta["initial"]),
        "beta_stop": float(beta["final"]),
        "restarts": int(p.get("restarts", max(DEFAULT_RESTARTS, ctx.threads))),
        "sweeps": int(p.get("sweeps", DEFAULT_SWEEPS)),
    }
    if "beta" in p:
        out["beta"] = beta
    return out


def sa_pf_schedules(ctx: SolveContext) -> list[dict]:
    """The parameter-free SA's β schedules: `beta` as given; else a geometric one from `annealing_beta_range` and
    QIO's linear one from `default_beta_range` (either end as given where given; no geometric one from a start of
    0). Neither shape wins everywhere: the geometric one finds Gset G1's best cut ~3.5× sooner per walker, the linear
    one gives costs 3-6× lower on a ship-loading problem with grouped balance terms (benchmarks/README.md, "Design
    measurements")."""
    p = ctx.params
    if "beta" in p:
        return [dict(p["beta"])]
    qio = default_beta_range(ctx.model)
    out = []
    for rng, make in ((annealing_beta_range(ctx.model, qio), geometric_schedule), (qio, linear_schedule)):
        start = float(p.get("beta_start", rng.beta_start))
        stop = float(p.get("beta_stop", max(rng.beta_stop, start)))
        if make is linear_schedule or start > 0.0:
            out.append(make(start, stop))
    return out


def sa_schedule(parameters: dict) -> dict:
    """The β schedule of `sa_parameters`' effective parameters: `beta` when given, else QIO's linear one."""
    return parameters.get("beta") or linear_schedule(parameters["beta_start"], parameters["beta_stop"])


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


# ---------------------------------------------------------------------------------------------------------------
# Toshiba SQBM+ and 1QBit (solvers/sbm.py, qbit.py, pticm.py): the providers' documented defaults, and our rules
# for the values they computed from the problem (echoed by 1QBit with a " (COMPUTED)" mark).

SB_AUTO_STEPS = 1000  # `steps` 0: the first loop's steps, doubled for each next loop (up to SB_MAX_AUTO_STEPS)
SB_MAX_AUTO_STEPS = 100_000
QBIT_WALKERS = DEFAULT_RESTARTS  # 1QBit tabu: independent walkers = max(QBIT_WALKERS, threads)
PR_STALE_REBUILDS = 2  # path relinking without `timeout`: stop after this many reference-set rebuilds in a row
PTICM_DEFAULTS = {  # 1QBit's documentation (PticmSolver); max_total_sweeps defaults to 10 runs
    "auto_set_temperatures": True, "elite_threshold": 0.3, "frac_icm_thermal_layers": 0.5,
    "frac_sweeps_fixing": 0.15, "frac_sweeps_idle": 1.0, "frac_sweeps_stagnation": 1.0, "goal": "OPTIMIZE",
    "high_temp": 2.0, "low_temp": 0.2, "max_samples_per_layer": 10, "num_elite_temps": 4, "num_replicas": 2,
    "num_sweeps_per_run": 100, "num_temps": 30, "scaling_type": "MEDIAN", "var_fixing_type": "NO_FIXING",
}


SOLVER_NAMES = {targets.QBIT_TABU: "Tabu", targets.QBIT_PR: "PathRelinking", targets.QBIT_PTICM: "PTICM"}


def trivial_parameters(target: str, params: dict) -> dict:
    """What a problem without variables echoes (nothing is solved: its cost is its constant), in the shape its
    target's results take: SQBM+'s run record, 1QBit's echo with solver_name, else the parameters and seed."""
    if target == targets.SBM:
        return {"runs": 0, "message": "finished", "time": 0.0}
    echoed = {k: v for k, v in params.items() if k not in ("number_of_solutions", "seed")}
    if target in SOLVER_NAMES:
        seed_key = "seed" if "seed" in params else "seed (GENERATED)"
        return {**echoed, seed_key: resolve_seed(params), "solver_name": SOLVER_NAMES[target]}
    return {**echoed, "seed": resolve_seed(params)}


def sbm_parameters(ctx: SolveContext) -> dict:
    """SQBM+'s defaults: steps 0 (automatic), loops 1, maxout 1 (or number_of_solutions), dt 1, C 0 (from the
    couplings), algo "2.0", auto false; `target` None when not given."""
    p = ctx.params
    return {"steps": int(p.get("steps", 0)), "loops": int(p.get("loops", 1)),
            "maxout": int(p.get("maxout", p.get("number_of_solutions", 1))), "dt": float(p.get("dt", 1.0)),
            "C": float(p.get("C", 0.0)), "algo": str(p.get("algo", "2.0")), "auto": bool(p.get("auto", False)),
            "target": p.get("target")}


def qbit_tabu_computed(n: int) -> dict:
    """Tenure n/100 (at least 1) plus a random 0..rand_max−1 per flip (Wang et al. 2012: n/100 + rand(10)), rand_max
    min(10, n/2); a walker stops after max(1000, 10·n) moves without improving its best."""
    return {"tabu_tenure": max(1, n // 100), "tabu_tenure_rand_max": max(1, min(10, n // 2)),
            "improvement_cutoff": max(1000, 10 * n)}


def qbit_echo(ctx: SolveContext, effective: dict, target: str, computed: tuple[str, ...] = ()) -> dict:
    """1QBit's `input_params` echo: the effective values, those named in `computed` (worked out from the problem)
    marked " (COMPUTED)", the seed as "seed" (given) or "seed (GENERATED)", and the target's solver_name."""
    out = {(f"{k} (COMPUTED)" if k in computed else k): v for k, v in effective.items()}
    out["seed" if "seed" in ctx.params else "seed (GENERATED)"] = ctx.seed
    out["solver_name"] = SOLVER_NAMES[target]
    return out


def qbit_tabu_parameters(ctx: SolveContext) -> dict:
    p = ctx.params
    computed = qbit_tabu_computed(ctx.model.n)
    eff = {k: int(p.get(k, 0)) or computed[k] for k in computed}
    eff["improvement_tolerance"] = float(p.get("improvement_tolerance", 1e-9))
    if "timeout" in p:
        eff["timeout"] = int(p["timeout"])
    return eff


def pticm_parameters(ctx: SolveContext) -> dict:
    """PTICM_DEFAULTS for what is not given; max_total_sweeps = 10 runs; temperatures given by the user are used
    whatever auto_set_temperatures says (then it is echoed false)."""
    p = ctx.params
    eff = {k: p.get(k, v) for k, v in PTICM_DEFAULTS.items()}
    eff["max_total_sweeps"] = int(p.get("max_total_sweeps", 10 * eff["num_sweeps_per_run"]))
    manual = p.get("manual_temperatures")
    if manual is not None:
        eff["num_temps"] = len(manual)
    if manual is not None or "low_temp" in p or "high_temp" in p:
        eff["auto_set_temperatures"] = False
    eff["manual_temperatures"] = list(manual) if manual is not None else ""
    if "timeout" in p:
        eff["timeout"] = int(p["timeout"])
    return eff
