"""Substochastic Monte Carlo (`microsoft.substochasticmontecarlo.cpu`).

`target_population` random walkers; each of `step_limit` steps every walker attempts `steps_per_walker` single
random flips, each taken with probability alpha(t)/steps_per_walker, then the population is resampled to its size
with weights exp(beta(t)·(E_max − E_i)/(E_max − E_min)) (floor + residual; see solver_runner.kernels.ssmc).
"β is not an inverse temperature": it is dimensionless, the costs being normalised by the population's range.

Defaults (echoed in `parameters`): `alpha` linear 1 → 0 and `beta` linear 0.001 → 5 over the steps. QIO's service
default was β 0 → 5 (its recorded echo), but its SDK rejects a β schedule with an end ≤ 0, so that echo could not
be sent back; at 0.001 the first resampling is as uniform as at 0 (weights within e^0.001) and the echo is valid
input. `step_limit` = 10000, `steps_per_walker` = 1, `target_population` = max(64, threads) (QIO: the thread count;
its docs recommend ≥ 8, "10–100 works best").
"""
from __future__ import annotations

from contracts import targets
from solver_runner import params as P
from solver_runner.kernels import ssmc as K
from solver_runner.model import CompiledModel
from solver_runner.solvers.base import SolveContext, SolveResult, exact_best, register, run_steps
from solver_runner.solvers.population import Walkers, flip_work, schedule_kind, use_parallel


class SsmcRun(Walkers):
    """An SSMC run advanced step by step (used by SSMC and parameter-free SSMC)."""

    def __init__(self, model: CompiledModel, params: dict, seed: int, stream: int = 0, keep: int = 1,
                 threads: int = 1):
        R = params["target_population"]
        self.spw = params["steps_per_walker"]
        parallel = use_parallel(threads, R * self.spw * flip_work(model))
        super().__init__(model, R, R, seed, stream, keep, parallel, "walkers")
        self.count = params["step_limit"]
        a, b = params["alpha"], params["beta"]
        self.alpha = (schedule_kind(a), float(a["initial"]), float(a["final"]))
        self.beta = (schedule_kind(b), float(b["initial"]), float(b["final"]))
        self.steps_done = 0
        self.replaced = 0

    def advance(self, steps: int) -> None:
        m = self.model
        self.replaced += K.ssmc_chunk(self.steps_done, steps, self.count, *self.alpha, *self.beta, self.spw,
                                      self.S, self.F, self.L, self.E, self.fam, self.bestS, self.bestE, self.archS,
                                      self.archE, self.rng, self.counts, self.tau, m.ising, m.has_higher, m.has_slc,
                                      self.M, self.parallel)
        self.steps_done += steps


@register(targets.SSMC)
def substochastic_monte_carlo(ctx: SolveContext) -> SolveResult:
    params = P.ssmc_parameters(ctx)
    run = SsmcRun(ctx.model, params, ctx.seed, keep=ctx.number_of_solutions, threads=ctx.threads)
    done, stopped = run_steps(ctx, run, params["step_limit"])
    states, costs = exact_best(ctx.model, run.candidates(), ctx.number_of_solutions)
    return SolveResult(states=states, costs=costs, parameters=params, sweeps_done=done, stopped_early=stopped)
