"""Toshiba's Simulated Bifurcation Machine (`toshiba.sbm.ising`): our own simulated bifurcation (kernels/sb.py).

SQBM+'s structure (its provider documentation): a request runs `loops` loops; a loop runs a batch of runs
(trajectories) in parallel from random initial values, each of `steps` steps; the answer is the best `maxout`
distinct solutions. Here a loop is RUNS_PER_LOOP (160, as SQBM+) trajectories, advanced together in timed chunks
(solvers.base.run_steps) with stop checks between chunks; `algo` "2.0" is discrete SB (the default), "1.5"
ballistic SB. Ising and PUBO inputs of degree ≤ 2 are taken (a PUBO is solved in its Ising form, x = (1 + s)/2,
and answered with 0/1 values, as the real service did); higher degrees and grouped terms are refused.

Stops (`message`): `finished` after `loops` loops (0: unbounded), `timeout` at `timeout` (default 10 s; the solve
loop only), `reached` once a solution's cost is ≤ `target`. Inside a loop, every EVAL_INTERVAL_S (and at least ten
evaluations' time) the trajectories' sign states are scored (one force evaluation) and the best one's exact cost
joins the candidates, so `target` and progress are noticed mid-loop; at a loop's end its best states do (those of an
interrupted loop too). `runs` counts completed trajectories.

Defaults (solver_runner.params.sbm_parameters): `steps` 0 = automatic (SB_AUTO_STEPS for the first loop, doubled
for each next one, up to SB_MAX_AUTO_STEPS: runs of every length get their share of the time, none more than about
half of it, whichever length suits the problem; on G1 2000 steps hit the best cut most often per second, on G11
1000 do), `loops` 1, `maxout` 1, `dt` 1,
`C` 0 = ξ0 from the couplings (0.5/(√N·σ_K), Goto et al. 2021), `algo` "2.0". `dt` is the time step as a fraction
of the largest step that stays stable for these couplings, √(1.5 / (a0·(a0 + ξ0·ρ(K)))) with ρ the spectral radius
(power iteration): with ξ0 from σ_K alone, matrices with a large outlying eigenvalue (G1's 49 against a bulk of 14)
make any fixed step of 1 blow up, and SQBM+'s dt ∈ (0, 1] reads as a fraction the same way. `auto` true: each
(algo, dt) of AUTO_CANDIDATES runs one probe loop, then the best of them (lowest cost, then lowest mean) loops until
`timeout` or `target`; the output adds `dt`, `algo` and `total_time`, and `time` is when the best was found.
`seed` (an openqio extension; SQBM+ has none) makes a run reproducible: trajectory r of loop k starts from RNG
stream r of (seed, k), and the result does not depend on the thread count.
"""
from __future__ import annotations

import dataclasses
import time

import numba
import numpy as np

from contracts import targets
from solver_runner import params as P
from solver_runner.kernels.rng import padded_rng_states
from solver_runner.kernels.sb import energies_parallel, sb_init, sb_spins, sb_steps, sign_energies
from solver_runner.model import CompiledModel, model_arrays
from solver_runner.solvers.base import KernelSteps, SolveContext, SolveResult, check_walker_memory, register, run_steps
from solver_runner.solvers.quadratic import (
    SolutionPool,
    auto_c0,
    integer_couplings,
    require_quadratic,
    sb_couplings,
    spectral_radius,
)

RUNS_PER_LOOP = 160
EVAL_INTERVAL_S = 0.1
AUTO_CANDIDATES = (("2.0", 1.0), ("2.0", 0.5), ("1.5", 1.0), ("1.5", 0.5))
A0 = 1.0
STABLE_MOVE = 1.5


class Bifurcation:
    """RUNS_PER_LOOP trajectories of one problem, loop after loop, feeding a SolutionPool."""

    def __init__(self, model: CompiledModel, c0: float | None, seed: int, keep: int):
        self.model = model
        self.M = model_arrays(model)
        self.ptr, self.idx, self.w, self.dense, self.gauge = sb_couplings(model)
        N = self.ptr.shape[0] - 1
        self.c0 = float(c0) if c0 else auto_c0(self.w, self.dense, N)
        # `dt` is a fraction of the largest safe step: from a wall (x = ±1, y = 0) one step moves x by at most
        # dt²·(a0 + ξ0·ρ(K))·a0, which must stay below 2 or whole groups of spins flip from wall to wall every
        # step (seen on G1: dt 1 with ξ0 = 0.072, ρ = 49 ended every run in the highest-energy state). 1.5
        # leaves a margin (measured on G1: 1.0 hits less often per step, 2.0 does not reach the best cut).
        self.max_dt = float(np.sqrt(STABLE_MOVE / (A0 * (A0 + self.c0 * spectral_radius(self.ptr, self.idx, self.w,
                                                                                          self.dense)))))
        self.w8, self.dense8 = integer_couplings(self.ptr, self.w, self.dense)
        self.X, self.Y, self.S, self.F = (np.zeros((N, RUNS_PER_LOOP), np.float32) for _ in range(4))
        self.S8 = np.zeros((N, RUNS_PER_LOOP), np.int8)
        self.E = np.zeros(RUNS_PER_LOOP, np.float64)
        self.eval_s = 0.0
        self.spins = np.zeros((RUNS_PER_LOOP, model.n), np.int8)
        self.seed = seed
        self.loops_started = 0
        self.pool = SolutionPool(keep, model.n)

    def score(self) -> None:
        """E = the Ising-form energies of every trajectory's sign state (one force evaluation, timed in eval_s)."""
        t0 = time.perf_counter()
        sign_energies(self.X, self.F, self.ptr, self.idx, self.w, self.dense, self.E)
        self.eval_s = time.perf_counter() - t0

    def harvest(self, count: int) -> None:
        """Score the trajectories and put the exact costs of the `count` best sign states into the pool."""
        self.score()
        rows = np.argsort(self.E, kind="stable")[:count]
        sb_spins(self.X, self.spins, self.gauge)
        S = self.spins[rows] if self.model.ising else ((self.spins[rows] + 1) // 2).astype(np.int8)
        S = np.ascontiguousarray(S)
        self.pool.add(S, energies_parallel(S, float(self.model.constant), self.M))

    def loop(self, ctx: SolveContext, algo: str, dt: float, steps: int, offset: int) -> tuple[bool, int]:
        """One loop of `steps` steps; returns (completed, steps done). Every EVAL_INTERVAL_S (at least ten
        evaluations' time) the best sign state is scored; at the end the best 2·keep + 2 states join the pool. The
        end's evaluation is kept inside the deadline: the steps stop two evaluations' time before it."""
        rng = padded_rng_states(self.seed, RUNS_PER_LOOP, stream=self.loops_started)
        self.loops_started += 1
        sb_init(self.X, self.Y, self.S, self.S8, rng)
        self.score()
        if ctx.deadline is not None:
            end, stop = ctx.deadline - 2 * self.eval_s, ctx.should_stop
            ctx = dataclasses.replace(ctx, deadline=end, should_stop=lambda: stop() or time.monotonic() >= end)
        discrete = algo == "2.0"
        step = dt * self.max_dt

        def advance(first: int, count: int, lo: int = 0, hi: int = RUNS_PER_LOOP) -> None:
            sb_steps(self.X, self.Y, self.S, self.S8, self.F, self.ptr, self.idx, self.w, self.w8, self.dense,
                     self.dense8, A0, self.c0, step, first, count, steps, discrete, lo, hi, numba.get_num_threads())

        last = [time.monotonic()]

        def best_cost() -> float:
            if time.monotonic() - last[0] >= max(EVAL_INTERVAL_S, 10 * self.eval_s):
                self.harvest(1)
                last[0] = time.monotonic()
            return self.pool.best

        run = KernelSteps(advance, best_cost, RUNS_PER_LOOP, piece=lambda unit, lo, hi: advance(unit, 1, lo, hi))
        done, stopped = run_steps(ctx, run, steps, report_offset=offset)
        self.harvest(2 * self.pool.keep + 2)
        return not stopped, done


@register(targets.SBM)
def simulated_bifurcation(ctx: SolveContext) -> SolveResult:
    model = ctx.model
    require_quadratic(model, targets.SBM)
    eff = P.sbm_parameters(ctx)
    keep = 1 if eff["auto"] else eff["maxout"]
    # X, Y, S, F float32 (16 bytes) and, with threads, private copies of X, Y, S, S8 and F (17 bytes)
    check_walker_memory(model, RUNS_PER_LOOP, keep, "runs", extra_per_variable=33)
    sb = Bifurcation(model, eff["C"], ctx.seed, keep)
    target = eff.get("target")
    reached = [False]

    def hit() -> bool:
        reached[0] = reached[0] or (target is not None and sb.pool.best <= target)
        return reached[0]

    loop_ctx = dataclasses.replace(ctx, should_stop=lambda: hit() or ctx.should_stop())
    started = time.monotonic()
    runs = 0
    steps_done = 0
    stopped = False
    best_at = 0.0

    def one_loop(algo: str, dt: float, steps: int) -> bool:
        nonlocal runs, steps_done, best_at
        before = sb.pool.best
        completed, done = sb.loop(loop_ctx, algo, dt, steps, steps_done)
        steps_done += done
        runs += RUNS_PER_LOOP if completed else 0
        if sb.pool.best < before:
            best_at = time.monotonic() - started
        return completed

    algo, dt = eff["algo"], eff["dt"]
    steps = eff["steps"] or P.SB_AUTO_STEPS
    if eff["auto"]:
        scores = []
        for algo_k, dt_k in AUTO_CANDIDATES:
            if not one_loop(algo_k, dt_k, steps):
                stopped = True
                break
            scores.append((sb.E.min(), sb.E.mean(), algo_k, dt_k))  # sb.E: the loop's end states (harvest)
        if scores:
            _, _, algo, dt = min(scores)
    loops = 0 if eff["auto"] else eff["loops"]
    k = 0
    while not stopped and (loops == 0 or k < loops):
        stopped = not one_loop(algo, dt, steps)
        k += 1
        if not eff["steps"]:  # automatic: each loop's runs twice as long as the last's
            steps = min(2 * steps, P.SB_MAX_AUTO_STEPS)
    elapsed = time.monotonic() - started
    message = "reached" if hit() else ("timeout" if stopped else "finished")
    parameters = {"runs": runs, "message": message, "time": round(best_at if eff["auto"] else elapsed, 6)}
    if eff["auto"]:
        parameters.update({"dt": dt, "algo": algo, "total_time": round(elapsed, 6)})
    states = [s.copy() for s in sb.pool.states]
    return SolveResult(states=states, costs=[float(c) for c in sb.pool.costs], parameters=parameters,
                       sweeps_done=steps_done, stopped_early=stopped)
