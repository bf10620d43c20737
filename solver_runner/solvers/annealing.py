"""Simulated annealing and parallel tempering (parameterised targets).

SA (`microsoft.simulatedannealing.cpu`): `restarts` independent runs, β linear from beta_start (sweep 0) to
beta_stop (last sweep), one in-order Metropolis sweep per step. Defaults (solver_runner.params): β range from the
model's coupling scale (QIO's parameter-free rule, because QIO's literal 0 → 0.01 default is meaningless for most
inputs), sweeps 1000, restarts max(8, threads).

PT (`microsoft.paralleltempering.cpu`): `replicas` = len(all_betas) walkers at fixed inverse temperatures (sorted
internally, ascending). One step = one Metropolis sweep of every replica, then Metropolis exchanges between
neighbouring temperatures on even pairs (even steps) or odd pairs (odd steps), accepted with
u < exp((E_a − E_b)(β_a − β_b)); `sweeps` counts steps. Defaults: all_betas = a geometric ladder across the
model's β range with replicas = the given `replicas` or max(threads, clamp(√n, 8, 32)); sweeps 1000. `all_betas`
is echoed as given.

Both advance in timed chunks (solvers.base.run_steps), so cancellation and timeouts are noticed between chunks.
Every walker keeps its `number_of_solutions` best distinct states (at sweep ends); the result holds the best
distinct ones over all walkers, with exact costs (`exact_best`).
"""
from __future__ import annotations

import numpy as np

from contracts import targets
from solver_runner import params as P
from solver_runner.kernels.pt import exchange, pt_chunk
from solver_runner.kernels.rng import RNG_STRIDE
from solver_runner.solvers.base import (
    KernelSteps,
    SolveContext,
    SolveResult,
    check_walker_memory,
    exact_best,
    register,
    run_steps,
)
from solver_runner.solvers.walkers import AnnealState


def run_anneal(ctx: SolveContext, restarts: int, sweeps: int, beta_start: float, beta_stop: float, seed: int,
               keep: int) -> tuple[AnnealState, int, bool]:
    """SA restarts along the linear β schedule, in timed chunks (or until ctx.should_stop()); returns (state,
    sweeps done, stopped early). Also used by the parameter-free SA tuner."""
    state = AnnealState(ctx.model, restarts, seed, keep=keep)

    def betas(first: int, count: int) -> np.ndarray:
        return P.linear_betas(beta_start, beta_stop, sweeps, first, first + count)

    run = KernelSteps(lambda first, k: state.sweep(betas(first, k)), lambda: float(state.bestE.min()), restarts,
                      piece=lambda unit, lo, hi: state.sweep(betas(unit, 1), lo, hi))
    done, stopped = run_steps(ctx, run, sweeps)
    return state, done, stopped


@register(targets.SA)
def simulated_annealing(ctx: SolveContext) -> SolveResult:
    eff = P.sa_parameters(ctx)
    sweeps, restarts = eff["sweeps"], eff["restarts"]
    check_walker_memory(ctx.model, restarts, ctx.number_of_solutions, "restarts")
    state, done, stopped = run_anneal(ctx, restarts, sweeps, eff["beta_start"], eff["beta_stop"], ctx.seed,
                                      ctx.number_of_solutions)
    states, costs = exact_best(ctx.model, state.candidates()[0], ctx.number_of_solutions)
    parameters = {**eff, "seed": ctx.seed}
    if "timeout" in ctx.params:
        parameters["timeout"] = ctx.params["timeout"]
    return SolveResult(states=states, costs=costs, parameters=parameters, sweeps_done=done, stopped_early=stopped)


# Replica sweeps of one step run in parallel only above this many spin-flip attempts per step (~3 ms of work):
# each step ends in a barrier, and with shorter steps one descheduled thread (a busy machine, other runners)
# stalls all of them (measured: 32 replicas × N=1000 on 2 busy cores ran 8× slower in parallel than serially).
PARALLEL_MIN_STEP_ATTEMPTS = 250_000


def run_tempering(ctx: SolveContext, all_betas: list[float], sweeps: int, stream: int = 0,
                  keep: int | None = None, parallel: bool | None = None) -> tuple[AnnealState, int, bool]:
    """Run PT for `sweeps` steps (or until ctx.should_stop()); returns (state, steps done, stopped early).

    Rows of `state` are the replicas in ascending β order; `state.candidates()` / `state.bestS` hold their best
    states (`keep` per replica, default ctx.number_of_solutions). `parallel` forces the kernel choice (None: by
    work per step). Also used by the parameter-free PT tuner.
    """
    betas = np.sort(np.asarray(all_betas, np.float64))
    R = betas.shape[0]
    keep = ctx.number_of_solutions if keep is None else keep
    check_walker_memory(ctx.model, R, keep, "replicas")
    state = AnnealState(ctx.model, R, ctx.seed, stream, keep=keep)
    model = ctx.model
    per_step = max(1, model.n) * R
    if parallel is None:
        parallel = ctx.threads > 1 and per_step >= PARALLEL_MIN_STEP_ATTEMPTS

    def exchanges(step: int) -> None:
        exchange(state.S, state.F, state.L, state.E, betas, step, state.rng, R * RNG_STRIDE)

    def steps(first: int, count: int) -> None:
        if not parallel:
            pt_chunk(state.S, state.F, state.L, state.E, state.topS, state.topE, state.rng, betas, first, count,
                     model.ising, model.has_higher, model.has_slc, state.M)
            return
        for step in range(first, first + count):  # one parallel region per step (a kernel call: ~µs, steps ≥ ms)
            state.sweep_each(betas)
            exchanges(step)

    run = KernelSteps(steps, lambda: float(state.bestE.min()), R,
                      piece=lambda step, lo, hi: state.sweep_each(betas, lo, hi), finish=exchanges)
    done, stopped = run_steps(ctx, run, sweeps)
    return state, done, stopped


@register(targets.PT)
def parallel_tempering(ctx: SolveContext) -> SolveResult:
    eff = P.pt_parameters(ctx)
    state, done, stopped = run_tempering(ctx, eff["all_betas"], eff["sweeps"])
    states, costs = exact_best(ctx.model, state.candidates()[0], ctx.number_of_solutions)
    parameters = {**eff, "seed": ctx.seed}
    if "timeout" in ctx.params:
        parameters["timeout"] = ctx.params["timeout"]
    return SolveResult(states=states, costs=costs, parameters=parameters, sweeps_done=done, stopped_early=stopped)
