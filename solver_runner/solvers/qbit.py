"""1QBit's tabu search (`1qbit.tabu`) and path relinking (`1qbit.pathrelinking`), our own implementations of the
published algorithms (kernels/qbit.py), on quadratic problems (QUBO, or Ising, which is one; higher degrees and
grouped terms are refused).

Tabu: max(QBIT_WALKERS, threads) independent walkers from random states, each stopping after `improvement_cutoff`
moves without improving its best by more than `improvement_tolerance`, or all at `timeout` (milliseconds; 0 or
absent: none). Defaults computed from the problem when not given (0 = not given, as 1QBit documents), echoed with
" (COMPUTED)": tabu_tenure n/100, tabu_tenure_rand_max min(10, n/2), improvement_cutoff max(1000, 10·n)
(solver_runner.params.qbit_tabu_computed).

Path relinking (Wang, Lü, Glover & Hao, EJOR 223, 2012): a reference set of `ref_set_count` distinct solutions,
each a tabu search from a random state; then generations: for every ordered pair of members of which at least one is
new, relink (greedy or random, `greedy_path_relinking`; candidates at least `distance_scale`·d from both ends) and
improve the chosen path solution by tabu search, all pairs in parallel; the results enter the set in cost order when
they are distinct from its members and better than its worst. A generation that adds nothing rebuilds the set: its
best member stays, the others are new tabu searches from random states. Stops at `timeout` (ms); without one after
PR_STALE_REBUILDS rebuilds in a row that found no better solution. The tabu searches use the computed tabu
defaults above. Pairs are relinked in parallel rather than one at a time as in the paper (the set is updated after
each generation); every pair and walker has its own RNG stream, so the result depends on the seed only.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from contracts import targets
from solver_runner import params as P
from solver_runner.kernels.qbit import relink_pairs, start_walkers, tabu_chunk
from solver_runner.kernels.rng import RNG_STRIDE, padded_rng_states
from solver_runner.model import CompiledModel, model_arrays
from solver_runner.solvers.base import (
    KernelSteps,
    SolveContext,
    SolveResult,
    check_walker_memory,
    exact_best,
    register,
    run_steps,
)
from solver_runner.solvers.quadratic import SolutionPool, require_quadratic

NEVER = 2**62  # run_steps' total for runs that end by themselves (every walker stalled)


class TabuWalkers:
    """W tabu walkers (kernels/qbit.py arrays), started from random or given states and run until all stall."""

    def __init__(self, model: CompiledModel, walkers: int, seed: int, keep: int, stream: int = 0):
        n = model.n
        check_walker_memory(model, walkers, keep, "walkers", extra_per_variable=16)
        self.model = model
        self.M = model_arrays(model)
        self.S = np.zeros((walkers, n), np.int8)
        self.F = np.zeros((walkers, n), np.float64)
        self.L = np.zeros((walkers, 0), np.float64)
        self.E = np.zeros(walkers, np.float64)
        self.BE = np.zeros(walkers, np.float64)
        self.topS = np.zeros((walkers, keep, n), np.int8)
        self.topE = np.full((walkers, keep), np.inf)
        self.TU = np.full((walkers, n), -1, np.int64)
        self.D = np.zeros((walkers, n), np.float64)  # each walker's ΔE of every flip (kernels.qbit.tabu_chunk)
        self.moves = np.zeros(walkers, np.int64)
        self.stall = np.zeros(walkers, np.int64)
        self.rng = padded_rng_states(seed, walkers, stream)

    def start(self, states: np.ndarray | None = None) -> None:
        if states is not None:
            self.S[:] = states
        start_walkers(self.S, self.F, self.L, self.E, self.topS, self.topE, self.BE, self.rng, states is None,
                      self.model.ising, float(self.model.constant), self.M)

    def best_states(self) -> tuple[np.ndarray, np.ndarray]:
        """Each walker's best state and cost."""
        return self.topS[:, 0, :].copy(), self.topE[:, 0].copy()

    def run(self, ctx: SolveContext, eff: dict, eps: float, offset: int = 0) -> tuple[int, bool]:
        """Moves until every walker stalls, or ctx stops (then the second value is True)."""
        cutoff, tenure, rand_max = eff["improvement_cutoff"], eff["tabu_tenure"], eff["tabu_tenure_rand_max"]
        tol = eff["improvement_tolerance"]
        ising = self.model.ising

        def advance(first: int, count: int, lo: int = 0, hi: int | None = None) -> None:
            w = slice(lo, hi)
            tabu_chunk(self.S[w], self.F[w], self.D[w], self.E[w], self.topS[w], self.topE[w], self.BE[w],
                       self.TU[w], self.moves[w], self.stall[w], self.rng[lo * RNG_STRIDE:], count, cutoff, tenure,
                       rand_max, ising, self.M, tol, eps)

        stalled = lambda: bool(np.all(self.stall >= cutoff))  # noqa: E731
        run = KernelSteps(advance, lambda: float(self.topE[:, 0].min()), self.S.shape[0],
                          piece=lambda unit, lo, hi: advance(unit, 1, lo, hi))
        done, _ = run_steps(dataclasses.replace(ctx, should_stop=lambda: stalled() or ctx.should_stop()), run, NEVER,
                            report_offset=offset)
        return done, not stalled() and ctx.should_stop()


@register(targets.QBIT_TABU)
def tabu_search(ctx: SolveContext) -> SolveResult:
    model = ctx.model
    require_quadratic(model, targets.QBIT_TABU)
    eff = P.qbit_tabu_parameters(ctx)
    walkers = TabuWalkers(model, max(P.QBIT_WALKERS, ctx.threads), ctx.seed, ctx.number_of_solutions)
    walkers.start()
    done, stopped = walkers.run(ctx, eff, P.flip_tolerance(model))
    kept = np.isfinite(walkers.topE.reshape(-1))
    states, costs = exact_best(model, walkers.topS.reshape(-1, model.n)[kept], ctx.number_of_solutions)
    computed = tuple(k for k in P.qbit_tabu_computed(model.n) if not ctx.params.get(k))
    return SolveResult(states=states, costs=costs, parameters=P.qbit_echo(ctx, eff, targets.QBIT_TABU, computed),
                       sweeps_done=done, stopped_early=stopped)


@register(targets.QBIT_PR)
def path_relinking(ctx: SolveContext) -> SolveResult:
    model = ctx.model
    require_quadratic(model, targets.QBIT_PR)
    p = ctx.params
    size = int(p.get("ref_set_count", 10))
    greedy = bool(p.get("greedy_path_relinking", False))
    scale = float(p.get("distance_scale", 0.33))
    tabu = {**P.qbit_tabu_computed(model.n), "improvement_tolerance": 1e-9}
    eps = P.flip_tolerance(model)
    pool = SolutionPool(ctx.number_of_solutions, model.n)
    streams = iter(range(1, 2**31))
    moves = 0
    # Relinking a pair and starting its walker cannot be interrupted (on a dense problem of 2000 variables, ~10 ms
    # each): a generation starts only when twice the measured cost per walker, times its pairs, fits before the
    # deadline.
    per_walker = [0.0]

    def search(states: np.ndarray | None, count: int, setup: float = 0.0) -> tuple[np.ndarray, np.ndarray, bool]:
        nonlocal moves
        t0 = time.perf_counter()
        walkers = TabuWalkers(model, count, ctx.seed, 1, next(streams))
        walkers.start(states)
        per_walker[0] = max(per_walker[0], (setup + time.perf_counter() - t0) / count)
        done, stopped = walkers.run(ctx, tabu, eps, moves)
        moves += done
        S, E = walkers.best_states()
        pool.add(S, E)
        return S, E, stopped

    ref, ref_e, stopped = search(None, size)
    new = np.ones(size, bool)
    stale = 0
    best = pool.best
    while not stopped:
        pairs = [(i, j) for i in range(size) for j in range(size) if i != j and (new[i] or new[j])]
        late = ctx.deadline is not None and time.monotonic() + 2 * per_walker[0] * len(pairs) >= ctx.deadline
        if ctx.should_stop() or late:
            stopped = True
            break
        new[:] = False
        if pairs:
            t0 = time.perf_counter()
            first, second = (np.array(x, np.int64) for x in zip(*pairs))
            starts = np.zeros((len(pairs), model.n), np.int8)
            rng = padded_rng_states(ctx.seed, len(pairs), next(streams))
            relink_pairs(ref, first, second, starts, greedy, scale, rng, model.ising, model_arrays(model), eps)
            found, found_e, stopped = search(starts, len(pairs), time.perf_counter() - t0)
            for k in np.argsort(found_e, kind="stable"):
                worst = int(np.argmax(ref_e))
                if found_e[k] < ref_e[worst] and not (ref == found[k]).all(axis=1).any():
                    ref[worst], ref_e[worst], new[worst] = found[k], found_e[k], True
        if not new.any() and not stopped:  # nothing entered the set: rebuild it around its best member
            keep = int(np.argmin(ref_e))
            fresh, fresh_e, stopped = search(None, size - 1)
            others = [i for i in range(size) if i != keep]
            ref[others], ref_e[others], new[others] = fresh, fresh_e, True
            stale = stale + 1 if pool.best >= best else 0
            best = pool.best
            if stale >= P.PR_STALE_REBUILDS and targets.effective_timeout(targets.QBIT_PR, p) is None:
                break
    effective = {"distance_scale": scale, "greedy_path_relinking": greedy, "ref_set_count": size}
    if "timeout" in p:
        effective["timeout"] = int(p["timeout"])
    states, costs = exact_best(model, pool.states, ctx.number_of_solutions)
    return SolveResult(states=states, costs=costs, parameters=P.qbit_echo(ctx, effective, targets.QBIT_PR),
                       sweeps_done=moves, stopped_early=stopped)
