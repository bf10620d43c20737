"""Simulated annealing and parallel tempering (parameterised targets).

SA: `restarts` independent runs, β linear from beta_start to beta_stop over `sweeps`, one Metropolis sweep per step.
PT: `replicas` = len(all_betas) walkers at fixed β (sorted), one sweep each per step, then neighbour exchanges.
Both advance in chunks of sweeps so cancellation and timeouts are noticed within tens of milliseconds.
"""
from __future__ import annotations

import numpy as np

from contracts import targets
from solver_runner import params as P
from solver_runner.kernels.pt import exchange
from solver_runner.kernels.sa import AnnealState
from solver_runner.solvers.base import SolveContext, SolveResult, best_distinct, chunk_sweeps, register


def _finish(ctx: SolveContext, state: AnnealState, parameters: dict, sweeps_done: int, stopped: bool) -> SolveResult:
    states, costs = best_distinct(state.bestS, state.bestE, ctx.number_of_solutions)
    return SolveResult(states=states, costs=costs, parameters=parameters, sweeps_done=sweeps_done, stopped_early=stopped)


@register(targets.SA)
def simulated_annealing(ctx: SolveContext) -> SolveResult:
    p = ctx.params
    betas_default = P.default_beta_range(ctx.model)
    beta_start = float(p.get("beta_start", betas_default.beta_start))
    beta_stop = float(p.get("beta_stop", max(betas_default.beta_stop, beta_start)))
    sweeps = int(p.get("sweeps", P.DEFAULT_SWEEPS))
    restarts = int(p.get("restarts", max(P.DEFAULT_RESTARTS, ctx.threads)))
    schedule = P.linear_betas(beta_start, beta_stop, sweeps)
    state = AnnealState(ctx.model, restarts, ctx.seed)
    chunk = chunk_sweeps(ctx.model.n, restarts, ctx.threads)
    done = 0
    stopped = False
    while done < sweeps:
        if ctx.should_stop():
            stopped = True
            break
        state.sweep(schedule[done : done + chunk])
        done = min(sweeps, done + chunk)
        ctx.report(done, float(state.bestE.min()))
    parameters = {"beta_start": beta_start, "beta_stop": beta_stop, "restarts": restarts, "seed": ctx.seed,
                  "sweeps": sweeps}
    if "timeout" in p:
        parameters["timeout"] = p["timeout"]
    return _finish(ctx, state, parameters, done, stopped)


def run_tempering(ctx: SolveContext, all_betas: list[float], sweeps: int, stream: int = 0) -> tuple[AnnealState, int, bool]:
    betas = np.sort(np.asarray(all_betas, np.float64))
    state = AnnealState(ctx.model, betas.shape[0], ctx.seed, stream)
    chunk = chunk_sweeps(ctx.model.n, betas.shape[0], ctx.threads, budget_attempts=1e6)
    done = 0
    stopped = False
    while done < sweeps:
        if ctx.should_stop():
            stopped = True
            break
        steps = min(chunk, sweeps - done)
        for step in range(done, done + steps):
            state.sweep_each(betas)
            exchange(state.S, state.F, state.L, state.E, betas, step, state.rng)
        done += steps
        ctx.report(done, float(state.bestE.min()))
    return state, done, stopped


@register(targets.PT)
def parallel_tempering(ctx: SolveContext) -> SolveResult:
    p = ctx.params
    if "all_betas" in p:
        all_betas = [float(b) for b in p["all_betas"]]
    else:
        all_betas = P.default_all_betas(ctx.model, int(p.get("replicas", max(P.DEFAULT_PT_REPLICAS, ctx.threads))))
    sweeps = int(p.get("sweeps", P.DEFAULT_PT_SWEEPS))
    state, done, stopped = run_tempering(ctx, all_betas, sweeps)
    parameters = {"all_betas": all_betas, "replicas": len(all_betas), "seed": ctx.seed, "sweeps": sweeps}
    if "timeout" in p:
        parameters["timeout"] = p["timeout"]
    return _finish(ctx, state, parameters, done, stopped)
