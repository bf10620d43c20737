"""1QBit's PTICM (`1qbit.pticm`): parallel tempering with isoenergetic cluster moves (kernels/pticm.py; Zhu, Ochoa &
Katzgraber 2015), on quadratic problems (QUBO, or Ising; higher degrees and grouped terms are refused).

`num_temps` temperatures × `num_replicas` replicas, `max_total_sweeps` sweeps in runs of `num_sweeps_per_run`; the
coldest `frac_icm_thermal_layers` of the layers do Houdayer moves between replica pairs (none with one replica, or
`perform_icm` false). Temperatures: `manual_temperatures`, else geometric from `low_temp` to `high_temp`; with
auto_set_temperatures (the default, unless temperatures are given) those two come from the problem: the hottest
accepts half of the largest single-flip rises, the coldest almost none of the smallest (1/T = SA's β_start and
β_stop, solver_runner.params.default_beta_range). Temperatures are in units of the problem scaled by
`scaling_factor`: the median coefficient magnitude (`scaling_type` MEDIAN, the default) or 1 (NO_SCALING).

Honoured as documented by 1QBit, with our reading where their text leaves it open:
- `goal` OPTIMIZE: the best distinct solutions seen (`number_of_solutions`, default 1); SAMPLE: after every run, the
  coldest layer's replicas are sampled, at most `max_samples_per_layer` per replica; the result lists the distinct
  samples, best first.
- `frac_sweeps_stagnation`: when the best cost has not improved for that fraction of max_total_sweeps, every replica
  restarts from a random state (checked after each run; 1, the default, never triggers).
- `var_fixing_type` PERSISTENCY / SPVAR, from `frac_sweeps_idle`·max_total_sweeps on, over the next
  `frac_sweeps_fixing`·max_total_sweeps sweeps (observed after each run in that window): PERSISTENCY fixes the
  variables on which every replica of the `num_elite_temps` coldest layers agreed at every observation, SPVAR those
  on which the best `elite_threshold` fraction of all replicas' best states agree; fixed variables keep their value
  and are no longer swept. NO_FIXING (the default) fixes nothing; the default idle fraction 1 never starts fixing.
- `timeout` (milliseconds; an openqio extension, as on 1QBit's other solvers) stops the sweeps early.
The output echoes the effective parameters with 1QBit's statistics: mc_acceptance_probability (per temperature,
hottest first), pt_acceptance_probability (per neighbouring pair), runs_counter, total_sweeps, sweeps_to_best,
time_to_best (ms), scaling_factor, fixed_variables.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numba
import numpy as np

from contracts import targets
from solver_runner import params as P
from solver_runner.kernels.pticm import couple, pticm_chunk, sweep_rows
from solver_runner.kernels.qbit import start_walkers
from solver_runner.kernels.rng import padded_rng_states
from solver_runner.model import CompiledModel, model_arrays
from solver_runner.solvers.annealing import PARALLEL_MIN_STEP_ATTEMPTS
from solver_runner.solvers.base import (
    KernelSteps,
    SolveContext,
    SolveResult,
    check_walker_memory,
    exact_best,
    register,
    run_steps,
)
from solver_runner.solvers.quadratic import SolutionPool, require_quadratic, shortlist


def median_scale(model: CompiledModel) -> float:
    """The median magnitude of the nonzero linear and pair coefficients (1 when there are none)."""
    coeffs = np.abs(np.concatenate([model.h, model.adj_w]))
    coeffs = coeffs[coeffs > 0]
    return float(np.median(coeffs)) if coeffs.size else 1.0


def temperatures(model: CompiledModel, eff: dict, scale: float) -> np.ndarray:
    """The ladder in scaled units, hottest first; fills eff's high_temp / low_temp when they are automatic."""
    if eff["manual_temperatures"]:
        ladder = np.sort(np.asarray(eff["manual_temperatures"], np.float64))[::-1]
        eff["high_temp"], eff["low_temp"] = float(ladder[0]), float(ladder[-1])
        return ladder
    if eff["auto_set_temperatures"]:
        betas = P.default_beta_range(model)
        eff["high_temp"], eff["low_temp"] = 1.0 / (betas.beta_start * scale), 1.0 / (betas.beta_stop * scale)
    high, low = float(eff["high_temp"]), float(eff["low_temp"])
    return np.geomspace(high, low, int(eff["num_temps"])) if eff["num_temps"] > 1 else np.array([low])


class Tempering:
    """The replica grid (kernels/pticm.py arrays) and its statistics."""

    def __init__(self, model: CompiledModel, ladder: np.ndarray, scale: float, replicas: int, icm_layers: int,
                 seed: int, keep: int):
        self.model = model
        self.M = model_arrays(model)
        self.betas = np.ascontiguousarray(1.0 / (ladder * scale))
        self.replicas, self.icm_layers = replicas, icm_layers
        W, n = ladder.shape[0] * replicas, model.n
        check_walker_memory(model, W, keep, "replicas")
        self.S = np.zeros((W, n), np.int8)
        self.F = np.zeros((W, n), np.float64)
        self.L = np.zeros((W, 0), np.float64)
        self.E = np.zeros(W, np.float64)
        self.topS = np.zeros((W, keep, n), np.int8)
        self.topE = np.full((W, keep), np.inf)
        self.rng = padded_rng_states(seed, W + ladder.shape[0] + 1)
        self.free = np.arange(n, dtype=np.int64)
        self.mc_accepted = np.zeros(W, np.int64)
        self.pt_accepted = np.zeros(max(ladder.shape[0] - 1, 0), np.int64)
        self.pt_tried = np.zeros_like(self.pt_accepted)
        self.restart()

    def restart(self, states: np.ndarray | None = None) -> None:
        if states is not None:
            self.S[:] = states
        start_walkers(self.S, self.F, self.L, self.E, self.topS, self.topE, np.zeros_like(self.E), self.rng,
                      states is None, self.model.ising, float(self.model.constant), self.M)

    def run(self) -> KernelSteps:
        """Sweeps for run_steps; a long sweep splits into row groups (step 1), coupled at its end (steps 2-3)."""
        ising, M = self.model.ising, self.M
        args = (self.S, self.F, self.L, self.E, self.topS, self.topE, self.betas, self.replicas, self.icm_layers)

        def advance(first: int, count: int) -> None:
            pticm_chunk(*args, self.free, self.rng, first, count, self.mc_accepted, self.pt_accepted, self.pt_tried,
                        ising, M)

        def piece(sweep: int, lo: int, hi: int) -> None:
            sweep_rows(self.S, self.F, self.E, self.topS, self.topE, self.betas, self.replicas, self.free, self.rng,
                       self.mc_accepted, ising, M, lo, hi)

        def finish(sweep: int) -> None:
            couple(*args, self.rng, sweep, self.pt_accepted, self.pt_tried, ising, M)

        return KernelSteps(advance, lambda: float(self.topE[:, 0].min()), self.S.shape[0], piece=piece, finish=finish)

    def fix(self, mask: np.ndarray, values: np.ndarray) -> None:
        """Fix the variables of `mask` to `values` in every replica; only the others are swept from now on."""
        states = self.S.copy()
        states[:, mask] = values[mask]
        self.restart(states)
        self.free = np.flatnonzero(~mask).astype(np.int64)


@contextlib.contextmanager
def numba_threads(count: int) -> Iterator[None]:
    """Run with `count` numba threads, then restore the caller's."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(count, before)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


@register(targets.QBIT_PTICM)
def pticm(ctx: SolveContext) -> SolveResult:
    model = ctx.model
    require_quadratic(model, targets.QBIT_PTICM)
    eff = P.pticm_parameters(ctx)
    scale = median_scale(model) if eff["scaling_type"] == "MEDIAN" else 1.0
    ladder = temperatures(model, eff, scale)
    replicas = int(eff["num_replicas"])
    icm = ctx.params.get("perform_icm", True) and replicas >= 2
    icm_layers = int(round(eff["frac_icm_thermal_layers"] * ladder.shape[0])) if icm else 0
    sample = eff["goal"] == "SAMPLE"
    grid = Tempering(model, ladder, scale, replicas, icm_layers, ctx.seed, 1 if sample else ctx.number_of_solutions)
    samples = SolutionPool(replicas * int(eff["max_samples_per_layer"]), model.n)
    total, per_run = int(eff["max_total_sweeps"]), int(eff["num_sweeps_per_run"])
    fix_from = eff["frac_sweeps_idle"] * total
    fix_at = fix_from + eff["frac_sweeps_fixing"] * total
    persistent = reference = None
    started = time.monotonic()
    run = grid.run()
    runs = 0
    best, best_sweep, best_ms, fixed, fixing_done = np.inf, 0, 0, 0, False
    stopped = False
    # every sweep ends in two barriers: one thread unless a sweep holds enough work (as PT, solvers/annealing.py)
    threads = ctx.threads if grid.S.shape[0] * model.n >= PARALLEL_MIN_STEP_ATTEMPTS else 1
    while run.steps_done < total and not stopped:
        with numba_threads(threads):
            done, stopped = run_steps(ctx, run, min(total, run.steps_done + per_run))
        runs += 0 if stopped else 1
        if grid.topE[:, 0].min() < best:
            best, best_sweep = float(grid.topE[:, 0].min()), done
            best_ms = int(1000 * (time.monotonic() - started))
        coldest = grid.S[-replicas:]
        if sample and samples.states.shape[0] < samples.keep:
            samples.add(coldest.copy(), np.asarray(grid.E[-replicas:], np.float64))
        if done - best_sweep >= eff["frac_sweeps_stagnation"] * total and done < total:
            grid.restart()
            best_sweep = done
        if eff["var_fixing_type"] != "NO_FIXING" and not fixing_done and done >= fix_from:
            elite = grid.S[-replicas * min(int(eff["num_elite_temps"]), ladder.shape[0]):]
            if reference is None:
                reference, persistent = elite[0].copy(), np.ones(model.n, bool)
            persistent &= np.all(elite == reference, axis=0)
            if done >= fix_at:
                if eff["var_fixing_type"] == "SPVAR":
                    order = np.argsort(grid.topE[:, 0], kind="stable")
                    top = grid.topS[order[: max(1, int(np.ceil(eff["elite_threshold"] * order.shape[0])))], 0]
                    persistent, reference = np.all(top == top[0], axis=0), top[0]
                grid.fix(persistent, reference)
                fixed, fixing_done = int(persistent.sum()), True
    per_temperature = grid.mc_accepted.reshape(-1, replicas).sum(axis=1) / max(1, run.steps_done * len(grid.free)
                                                                                * replicas)
    stats = {
        "mc_acceptance_probability": [round(float(x), 6) for x in per_temperature],
        "pt_acceptance_probability": [round(float(a / t), 6) if t else 0.0
                                      for a, t in zip(grid.pt_accepted, grid.pt_tried)],
        "runs_counter": runs, "scaling_factor": scale, "sweeps_to_best": best_sweep, "time_to_best": best_ms,
        "total_sweeps": run.steps_done, "fixed_variables": fixed,
    }
    if sample:
        states, costs = exact_best(model, samples.states, samples.keep)
    else:
        k = ctx.number_of_solutions
        states, costs = exact_best(model, shortlist(grid.topS.reshape(-1, model.n), grid.topE.reshape(-1), k), k)
    parameters = P.qbit_echo(ctx, {**eff, **stats}, targets.QBIT_PTICM)
    return SolveResult(states=states, costs=costs, parameters=parameters, sweeps_done=run.steps_done,
                       stopped_early=stopped)
