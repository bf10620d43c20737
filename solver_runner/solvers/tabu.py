"""Tabu search (`microsoft.tabu.cpu`): one-flip tabu walkers with aspiration and greedy descent, in parallel.

Semantics in solver_runner.kernels.tabu. One sweep = one move per walker. Defaults (solver_runner.params):
tabu_tenure min(20, n/4) (Beasley; capped at n − 1 inside the kernel), sweeps 10·n clamped to [1000, 20000],
restarts max(8, threads). `disabled_features` is accepted for SDK compatibility and has no effect (echoed).
"""
from __future__ import annotations

from contracts import targets
from solver_runner import params as P
from solver_runner.solvers.base import (
    KernelSteps,
    SolveContext,
    SolveResult,
    check_walker_memory,
    exact_best,
    register,
    run_steps,
)
from solver_runner.solvers.walkers import TABU_EXTRA_BYTES, TabuState, tabu_kernel


def run_tabu(ctx: SolveContext, restarts: int, sweeps: int, tenures, stream: int = 0, keep: int | None = None
             ) -> tuple[TabuState, int, bool]:
    """Run `restarts` walkers for `sweeps` moves each (or until ctx.should_stop()); tenures: int or int per walker.

    Returns (state, moves done, stopped early). Also usable by a parameter-free tuner.
    """
    model = ctx.model
    keep = ctx.number_of_solutions if keep is None else keep
    check_walker_memory(model, restarts, keep, "restarts", extra_per_variable=TABU_EXTRA_BYTES[tabu_kernel(model)])
    state = TabuState(model, restarts, ctx.seed, tenures, P.flip_tolerance(model), stream, keep=keep)
    run = KernelSteps(lambda first, k: state.step(k), lambda: float(state.bestE.min()), restarts,
                      piece=lambda move, lo, hi: state.step(1, lo, hi))
    done, stopped = run_steps(ctx, run, sweeps)
    return state, done, stopped


@register(targets.TABU)
def tabu_search(ctx: SolveContext) -> SolveResult:
    eff = P.tabu_parameters(ctx)
    state, done, stopped = run_tabu(ctx, eff["restarts"], eff["sweeps"], eff["tabu_tenure"])
    states, costs = exact_best(ctx.model, state.candidates()[0], ctx.number_of_solutions)
    parameters = {**eff, "seed": ctx.seed}
    if "timeout" in ctx.params:
        parameters["timeout"] = ctx.params["timeout"]
    return SolveResult(states=states, costs=costs, parameters=parameters, sweeps_done=done, stopped_early=stopped)
