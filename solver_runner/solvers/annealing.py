"""Simulated annealing and parallel tempering (parameterised targets).

SA (`microsoft.simulatedannealing.cpu`): `restarts` independent runs, β linear from beta_start (sweep 0) to
beta_stop (last sweep), one in-order Metropolis sweep per step; or along `beta`, a RangeSchedule ({"type":
"linear" | "geometric", "initial", "final"}, as PA takes it; an openqio extension the parameter-free SA echoes).
Defaults (solver_runner.params): β range from the model's coupling scale (QIO's parameter-free rule, because QIO's
literal 0 → 0.01 default is meaningless for most inputs), sweeps 1000, restarts max(8, threads).

PT (`microsoft.paralleltempering.cpu`): `replicas` = len(all_betas) walkers at fixed inverse temperatures (sorted
internally, ascending). One step = one Metropolis sweep of every replica, then Metropolis exchanges between
neighbouring temperatures on even pairs (even steps) or odd pairs (odd steps), accepted with
u < exp((E_a − E_b)(β_a − β_b)); `sweeps` counts steps. Defaults: all_betas = a geometric ladder from the β
where half of a random state's 90th-percentile uphill move is accepted to QIO's β_stop (params.default_all_betas),
with replicas = the given `replicas` or max(threads, clamp(√n, 8, 32)); sweeps 1000. `all_betas`
is echoed as given.

Kernels (solvers.lanes.choose_kernel, logged): SA runs its restarts multi-spin coded (64 per machine word) when the
input has small integer couplings, in SIMD lanes for other inputs with only linear and quadratic terms, on the
scalar kernel otherwise; PT runs its replicas in lanes (exchanges swap temperatures between lanes) or scalar. Every
kernel makes the same Metropolis decisions in distribution (the lane kernel the same decision per draw).

Both advance in timed chunks (solvers.base.run_steps), so cancellation and timeouts are noticed between chunks.
The result holds the best distinct states over all walkers, with exact costs (`exact_best`): each walker's best
states (scalar: its `number_of_solutions` best at sweep ends; lanes: its best at chunk ends (SA) or sweep ends
(PT), and its current state; multi-spin coding: its best state measured at chunk ends, and its current state).
"""
from __future__ import annotations

from collections.abc import Callable

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
from solver_runner.solvers.dense import DENSE_EXTRA_BYTES, dense_fits
from solver_runner.solvers.lanes import LaneState, choose_kernel
from solver_runner.solvers.msc import MscAnneal
from solver_runner.solvers.walkers import AnnealState, anneal_state


def run_anneal(ctx: SolveContext, restarts: int, sweeps: int, schedule: dict, seed: int,
               keep: int, kernel: str | None = None) -> tuple[AnnealState | LaneState | MscAnneal, int, bool]:
    """SA restarts along the β `schedule` (a RangeSchedule dict), in timed chunks (or until ctx.should_stop());
    returns (state, sweeps done, stopped early). Also used by the parameter-free SA tuner."""
    state = anneal_state(ctx.model, restarts, seed, keep, ctx.threads, kernel, sweeps)

    def betas(first: int, count: int) -> np.ndarray:
        return P.annealing_betas(schedule, sweeps, first, first + count)

    run = KernelSteps(lambda first, k: state.sweep(betas(first, k)), state.best_cost, state.groups,
                      piece=lambda unit, lo, hi: state.sweep(betas(unit, 1), lo, hi))
    done, stopped = run_steps(ctx, run, sweeps)
    state.finish()
    return state, done, stopped


@register(targets.SA)
def simulated_annealing(ctx: SolveContext) -> SolveResult:
    eff = P.sa_parameters(ctx)
    sweeps, restarts = eff["sweeps"], eff["restarts"]
    dense = dense_fits(ctx.model, ctx.model.n * sweeps * restarts)  # as anneal_state will judge it
    check_walker_memory(ctx.model, restarts, ctx.number_of_solutions, "restarts",
                        extra_per_variable=DENSE_EXTRA_BYTES if dense else 0)
    state, done, stopped = run_anneal(ctx, restarts, sweeps, P.sa_schedule(eff), ctx.seed, ctx.number_of_solutions)
    states, costs = exact_best(ctx.model, state.candidates()[0], ctx.number_of_solutions)
    parameters = {**eff, "seed": ctx.seed}
    if "timeout" in ctx.params:
        parameters["timeout"] = ctx.params["timeout"]
    return SolveResult(states=states, costs=costs, parameters=parameters, sweeps_done=done, stopped_early=stopped)


# Replica sweeps of one step run in parallel only above this many spin-flip attempts per step (~3 ms of work):
# each step ends in a barrier, and with shorter steps one descheduled thread (a busy machine, other runners)
# stalls all of them (measured: 32 replicas × N=1000 on 2 busy cores ran 8× slower in parallel than serially).
PARALLEL_MIN_STEP_ATTEMPTS = 250_000


class RungEnergies:
    """The mean energy at each rung (ascending β) of a PT run over the second half of its steps, from SAMPLES
    samples: what params.refine_ladder reads. run_tempering fills one when given it (not on the path that splits a
    step across threads, for models too large for one thread's step: `mean` then stays None)."""

    SAMPLES = 10

    def __init__(self, rungs: int):
        self.total = np.zeros(rungs)
        self.count = 0

    def add(self, energies: np.ndarray) -> None:
        self.total += energies
        self.count += 1

    def mean(self) -> np.ndarray | None:
        return self.total / self.count if self.count else None

    def sampling(self, advance: Callable[[int, int], None], read: Callable[[], np.ndarray], steps: int
                 ) -> Callable[[int, int], None]:
        """`advance(first, count)` in pieces that end at this run's sample points, reading the rungs' energies
        there."""
        start = steps // 2
        stride = max(1, (steps - start) // self.SAMPLES)

        def run(first: int, count: int) -> None:
            end = first + count
            while first < end:
                point = start + stride * ((first - start) // stride + 1 if first >= start else 1)
                stop = min(end, point)
                advance(first, stop - first)
                first = stop
                if first == point:
                    self.add(read())

        return run


def sampled(advance: Callable[[int, int], None], energies: RungEnergies | None, read: Callable[[], np.ndarray],
            steps: int) -> Callable[[int, int], None]:
    """`advance` itself, or through energies.sampling when there are rung energies to collect."""
    return advance if energies is None else energies.sampling(advance, read, steps)


def run_tempering(ctx: SolveContext, all_betas: list[float], sweeps: int, stream: int = 0,
                  keep: int | None = None, parallel: bool | None = None, kernel: str | None = None,
                  energies: RungEnergies | None = None) -> tuple[AnnealState | LaneState, int, bool]:
    """Run PT for `sweeps` steps (or until ctx.should_stop()); returns (state, steps done, stopped early).

    `state.candidates()` / `state.bestE` hold the replicas' best states (scalar kernel: `keep` per replica, default
    ctx.number_of_solutions; lanes: each replica's best and current state). `parallel` forces the threading choice
    (None: by work per step), `kernel` the kernel ("scalar" or "lanes"; None: solvers.lanes.choose_kernel),
    `energies` collects the rungs' mean energies. Also used by the parameter-free PT tuner.
    """
    betas = np.sort(np.asarray(all_betas, np.float64))
    R = betas.shape[0]
    keep = ctx.number_of_solutions if keep is None else keep
    check_walker_memory(ctx.model, R, keep, "replicas")
    model = ctx.model
    per_step = max(1, model.n) * R
    kind = choose_kernel(model, R, allow_msc=False, keep=keep)[0] if kernel is None else kernel
    if kind == "lanes" and not (model.has_higher or model.has_slc):
        # one thread: a step's lanes sweep ~8× faster than scalar replicas, which therefore need ~8× more work per
        # step than PARALLEL_MIN_STEP_ATTEMPTS before a barrier per step pays; a parallel lane step would also
        # cost every first start ~4 s more compile time for the rare input that large
        lanes = LaneState(model, R, ctx.seed, stream)
        lanes.start_tempering(betas)
        def lane_steps(first: int, count: int) -> None:
            lanes.pt_steps(first, count)

        run = KernelSteps(sampled(lane_steps, energies, lambda: lanes.E.reshape(-1)[lanes.lane_of], sweeps),
                          lanes.best_cost)
        done, stopped = run_steps(ctx, run, sweeps)
        return lanes, done, stopped
    state = AnnealState(ctx.model, R, ctx.seed, stream, keep=keep)
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

    # row r sits at betas[r]: exchanges swap states, not temperatures
    run = KernelSteps(sampled(steps, energies, lambda: state.E, sweeps), state.best_cost, R,
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
