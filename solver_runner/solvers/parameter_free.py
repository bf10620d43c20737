"""Parameter-free SA and PT: a time-boxed self-tuning loop around the parameterised solvers.

The β range comes from the model (solver_runner.params). Runs are repeated with growing sweep counts
(10, 20, 30, 50, then ×1.5), each with fresh seeds derived from the job's seed; the best solutions over all runs
are kept, with the cheapest parameters that reached the best cost. The loop stops at the timeout (default 5 s),
on cancellation, or after 8 consecutive runs without improvement once the sweep count is large enough to trust
("sufficient convergence"). Parameters given explicitly are held fixed. The tuned parameters are echoed so a user
can re-run them on the parameterised target.
"""
from __future__ import annotations

import numpy as np

from contracts import targets
from solver_runner import params as P
from solver_runner.kernels.sa import AnnealState
from solver_runner.solvers.annealing import run_tempering
from solver_runner.solvers.base import SolveContext, SolveResult, best_distinct, register

SWEEP_LADDER = (10, 20, 30, 50)
PATIENCE = 8


def sweep_sequence(fixed: int | None):
    if fixed is not None:
        while True:
            yield fixed
    yield from SWEEP_LADDER
    sweeps = SWEEP_LADDER[-1]
    while True:
        sweeps = int(sweeps * 1.5)
        yield sweeps


class _Pool:
    """Best distinct solutions over all runs, and the parameters of the first run that reached the best cost."""

    def __init__(self, k: int):
        self.k = k
        self.states: list[np.ndarray] = []
        self.costs: list[float] = []
        self.best_params: dict | None = None

    def add(self, states: np.ndarray, energies: np.ndarray, run_params: dict) -> bool:
        improved = not self.costs or float(energies.min()) < self.costs[0] - 1e-9
        merged_s = np.concatenate([np.asarray(self.states, np.int8).reshape(-1, states.shape[1]), states])
        merged_e = np.concatenate([np.asarray(self.costs, np.float64), energies])
        self.states, self.costs = best_distinct(merged_s, merged_e, self.k)
        if improved:
            self.best_params = run_params
        return improved


def _tune(ctx: SolveContext, run_once, fixed_sweeps: int | None) -> SolveResult:
    pool = _Pool(ctx.number_of_solutions)
    since_improvement = 0
    total = 0
    for index, sweeps in enumerate(sweep_sequence(fixed_sweeps)):
        if ctx.should_stop():
            break
        states, energies, run_params, done, stopped = run_once(sweeps, ctx.seed + 7919 * index)
        total += done
        if done == 0:
            break
        improved = pool.add(states, energies, run_params)
        since_improvement = 0 if improved else since_improvement + 1
        ctx.report(total, pool.costs[0])
        if stopped or (since_improvement >= PATIENCE and sweeps >= 100):
            break
    parameters = dict(pool.best_params or {})
    parameters["seed"] = ctx.seed
    return SolveResult(states=pool.states, costs=pool.costs, parameters=parameters, sweeps_done=total)


@register(targets.SA_PF)
def simulated_annealing_parameter_free(ctx: SolveContext) -> SolveResult:
    p = ctx.params
    rng = P.default_beta_range(ctx.model)
    beta_start = float(p.get("beta_start", rng.beta_start))
    beta_stop = float(p.get("beta_stop", max(rng.beta_stop, beta_start)))
    restarts = int(p.get("restarts", max(P.DEFAULT_RESTARTS, 2 * ctx.threads)))

    def run_once(sweeps: int, seed: int):
        state = AnnealState(ctx.model, restarts, seed)
        schedule = P.linear_betas(beta_start, beta_stop, sweeps)
        step = max(1, min(sweeps, 4_000_000 // max(1, ctx.model.n * restarts)))
        done = 0
        while done < sweeps:
            if ctx.should_stop():
                break
            state.sweep(schedule[done : done + step])
            done = min(sweeps, done + step)
        run_params = {"beta_start": beta_start, "beta_stop": beta_stop, "restarts": restarts, "sweeps": sweeps}
        return state.bestS, state.bestE, run_params, done, done < sweeps

    return _tune(ctx, run_once, p.get("sweeps"))


@register(targets.PT_PF)
def parallel_tempering_parameter_free(ctx: SolveContext) -> SolveResult:
    p = ctx.params
    if "all_betas" in p:
        all_betas = [float(b) for b in p["all_betas"]]
    else:
        all_betas = P.default_all_betas(ctx.model, int(p.get("replicas", max(16, 2 * ctx.threads))))

    def run_once(sweeps: int, seed: int):
        sub = SolveContext(ctx.model, ctx.params, ctx.threads, seed, ctx.number_of_solutions, ctx.timeout_s,
                           ctx.should_stop, lambda *_: None)
        state, done, stopped = run_tempering(sub, all_betas, sweeps)
        run_params = {"all_betas": all_betas, "replicas": len(all_betas), "sweeps": sweeps}
        return state.bestS, state.bestE, run_params, done, stopped

    return _tune(ctx, run_once, p.get("sweeps"))
