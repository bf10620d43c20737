"""What every solver takes and returns, the registry of solvers by target id, and shared helpers.

A solver is `fn(ctx: SolveContext) -> SolveResult`, registered with `@register(target_id, ...)`. It must:
apply its defaults to ctx.params (which holds only what the user sent, validated); run in bounded chunks
(`run_steps`: ~CHUNK_TARGET_S of work each, sized by measured time, none started that would end past
ctx.deadline), calling ctx.should_stop() between chunks and ctx.report(sweeps_done, best_cost) after each (the
caller rate-limits); return at least one state, even when stopped before the first chunk; return distinct states
best first with costs equal to the model cost of each state (`exact_best` does that); echo its effective
parameters (plus "seed", and "timeout" if given) in SolveResult.parameters.

Chunks are sized by time, not by problem size: the cost of one sweep depends on the terms (a variable in 10 000
terms of degree 32 costs thousands of times one in three pairs), and a chunk sized by variables × walkers once took
minutes where the timeout was 2 s (issue 11). A unit (a sweep of every walker, a PA step) longer than a chunk is
split into walker groups where the walkers are independent within it (SA, PT, Tabu, QMC, PA: every walker has its
own RNG stream, so the result does not change), and the first unit of a run is split as far as it goes, before its
cost is known. What cannot be split (an SSMC step, one walker's sweep) bounds how late a stop check can come.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np

from contracts import errors
from contracts.errors import ContractError
from solver_runner.kernels.common import energies_of
from solver_runner.model import CompiledModel, model_arrays


@dataclass
class SolveContext:
    model: CompiledModel
    params: dict[str, Any]  # validated wire params (contracts.targets.validate_params), defaults NOT applied
    threads: int  # numba threads this job may use (>= 1)
    seed: int  # resolved seed, echoed in results
    number_of_solutions: int  # 1..10
    timeout_s: float | None  # wall-clock limit of the solve loop; None = no limit
    should_stop: Callable[[], bool]  # True once cancelled or past the timeout; checked between bounded chunks
    report: Callable[[int, float], None]  # (sweeps_done, best_cost_so_far); call after each chunk
    deadline: float | None = None  # time.monotonic() by which the solve loop must end (the timeout); None = none


@dataclass
class SolveResult:
    states: list[np.ndarray]  # int8 [n] each, distinct, best first, at most number_of_solutions
    costs: list[float]  # the model cost of each state (constant included), exact up to rounding
    parameters: dict[str, Any]  # effective (or tuned) parameters, echoed in the result's "parameters"
    sweeps_done: int
    stopped_early: bool = False  # True if should_stop() ended the run


Solver = Callable[[SolveContext], SolveResult]
SOLVERS: dict[str, Solver] = {}


def register(*target_ids: str) -> Callable[[Solver], Solver]:
    """Decorator: `@register(targets.SA)` puts the function in SOLVERS under each given target id."""

    def wrap(fn: Solver) -> Solver:
        for target in target_ids:
            SOLVERS[target] = fn
        return fn

    return wrap


def best_distinct(states: np.ndarray, energies: np.ndarray, k: int) -> tuple[list[np.ndarray], list[float]]:
    """The k lowest-energy distinct rows of `states`, best first."""
    order = np.argsort(energies, kind="stable")
    seen: set[bytes] = set()
    out_s: list[np.ndarray] = []
    out_e: list[float] = []
    for r in order:
        key = states[r].tobytes()
        if key in seen:
            continue
        seen.add(key)
        out_s.append(states[r].copy())
        out_e.append(float(energies[r]))
        if len(out_s) == k:
            break
    return out_s, out_e


WALKER_MEMORY_LIMIT_BYTES = 4 * 2**30


def check_walker_memory(model: CompiledModel, walkers: int, keep: int, what: str, extra_per_variable: int = 0) -> None:
    """Refuse (ProblemTooLarge, a clear message) runs whose walker arrays would exceed WALKER_MEMORY_LIMIT_BYTES,
    rather than letting the runner be killed for memory. Per walker and variable: int8 state, float64 field, `keep`
    int8 best states, plus `extra_per_variable` bytes (e.g. 8 for tabu's tabu list)."""
    per_walker = model.n * (1 + 8 + keep + extra_per_variable) + model.slc_c.shape[0] * 8 + 64
    need = walkers * per_walker
    if need > WALKER_MEMORY_LIMIT_BYTES:
        raise ContractError(
            errors.PROBLEM_TOO_LARGE,
            f"{walkers} {what} of {model.n} variables need ~{need / 2**30:.1f} GiB, over the "
            f"{WALKER_MEMORY_LIMIT_BYTES / 2**30:.0f} GiB limit; use fewer {what}",
        )


def exact_best(model: CompiledModel, states: np.ndarray, k: int) -> tuple[list[np.ndarray], list[float]]:
    """The k best distinct rows of `states` (int8 [R, n]) by their exact cost (recomputed from the terms, constant
    included), best first: what a SolveResult should hold, free of the incremental energies' rounding drift."""
    states = np.ascontiguousarray(states, dtype=np.int8)
    energies = energies_of(states, float(model.constant), model_arrays(model))
    return best_distinct(states, energies, k)


CHUNK_TARGET_S = 0.025
CHUNK_LIMIT = 100_000
SECONDS_PER_ENTRY = 1e-9  # CompiledModel.sweep_entries → seconds (27 ms measured where it predicts 20 ms)
ESTIMATE_MARGIN = 32  # a unit may be this much dearer than one sweep per walker (QMC: 2 passes × P slices)


class Advancing(Protocol):
    """A run that `run_steps` can drive: `advance(k)` does units steps_done..steps_done+k−1 (sweeps, moves, steps).

    A run whose walkers are independent within a unit may also offer `walkers` (> 1), `piece(lo, hi)` (unit
    steps_done for walkers lo..hi−1 only) and `finish()` (what couples them at the unit's end, e.g. PT exchanges or
    PA resampling; then steps_done += 1): `run_steps` then splits a unit longer than a chunk into walker groups,
    with a stop check between groups. A completed run gives the same result however it was split."""

    @property
    def steps_done(self) -> int: ...

    def advance(self, steps: int) -> None: ...

    def best_cost(self) -> float: ...


class Splittable(Advancing, Protocol):
    """An Advancing run whose units `run_steps` may split by walker (see Advancing)."""

    walkers: int

    def piece(self, lo: int, hi: int) -> None: ...

    def finish(self) -> None: ...


class KernelSteps:
    """An Advancing run out of kernel calls: `advance(first, count)` for units first..first+count−1 of every walker,
    `best_cost()`, and optionally `piece(unit, lo, hi)` and `finish(unit)` over `walkers` walkers."""

    def __init__(self, advance: Callable[[int, int], None], best_cost: Callable[[], float], walkers: int = 0,
                 piece: Callable[[int, int, int], None] | None = None, finish: Callable[[int], None] | None = None):
        self._advance = advance
        self.best_cost = best_cost
        self.walkers = walkers if piece is not None else 0
        self._piece = piece
        self._finish = finish
        self.steps_done = 0

    def advance(self, steps: int) -> None:
        self._advance(self.steps_done, steps)
        self.steps_done += steps

    def piece(self, lo: int, hi: int) -> None:
        assert self._piece is not None
        self._piece(self.steps_done, lo, hi)

    def finish(self) -> None:
        if self._finish is not None:
            self._finish(self.steps_done)
        self.steps_done += 1


class Chunker:
    """Units per kernel call: about `target_s` of work, from the measured time per unit of the calls so far
    (the first call does one unit; each next size is within ×¼..×4 of the last), and no more than fit before
    `deadline` (0 when not even one unit would end before it: stop rather than overshoot; for a split unit the same
    rule holds per walker group)."""

    def __init__(self, deadline: float | None = None, target_s: float = CHUNK_TARGET_S, limit: int = CHUNK_LIMIT,
                 estimate_s: float | None = None):
        """`estimate_s`: an upper estimate of a unit's seconds; when a chunk holds many such units, the first chunk
        is sized by it (a tiny job then runs in one call); otherwise the first call does one unit, split."""
        self.deadline = deadline
        self.target_s = target_s
        self.limit = limit
        self.size = 1
        self.unit_s: float | None = None  # seconds per unit, last call (or the estimate before the first)
        if estimate_s is not None and 0 < estimate_s * 4 <= target_s:
            self.unit_s = estimate_s
            self.size = int(min(limit, target_s / estimate_s))
        self.piece_s: float | None = None  # seconds of the last walker group of a split unit
        self._t0 = 0.0
        self._k = 0

    def pieces(self) -> int:
        """Walker groups a unit should be split into to keep each kernel call near target_s (1: no split); with
        nothing measured or estimated, as many as possible (a split unit costs some µs more, an unsplit one can take
        seconds: a PA step of 64 walkers on the input of issue 11 takes 1.7 s)."""
        return CHUNK_LIMIT if self.unit_s is None else max(1, math.ceil(self.unit_s / self.target_s))

    def piece_fits(self) -> bool:
        """False when a walker group as long as the last one would end past the deadline."""
        return self.deadline is None or self.piece_s is None or time.monotonic() + self.piece_s <= self.deadline

    def start(self, left: int, fit: bool = True) -> int:
        """Units for the next call (≤ left), and start its clock; 0 = stop now."""
        k = min(left, self.size)
        if fit and self.deadline is not None and self.unit_s:
            k = min(k, int((self.deadline - time.monotonic()) / self.unit_s))
        self._k = max(0, k)
        self._t0 = time.perf_counter()
        return self._k

    def done(self) -> None:
        elapsed = time.perf_counter() - self._t0
        if self._k <= 0:
            return
        self.unit_s = elapsed / self._k
        wanted = self.target_s / self.unit_s if self.unit_s > 0 else 4.0 * self.size
        self.size = int(max(1, min(self.limit, 4 * self.size, max(self.size / 4, wanted))))


_split_all = False


@contextlib.contextmanager
def splitting_every_unit() -> Iterator[None]:
    """run_steps splits every unit it can, as it does on heavy inputs: the warm-up compiles those calls with it."""
    global _split_all
    _split_all = True
    try:
        yield
    finally:
        _split_all = False


def run_steps(ctx: SolveContext, run: Advancing, total: int, report_offset: int = 0) -> tuple[int, bool]:
    """Advance `run` to `total` units in timed chunks (Chunker), checking ctx.should_stop() before each chunk (and
    between the walker groups of a split unit) and reporting after each. Returns (units done, stopped early)."""
    walkers = getattr(run, "walkers", 0)
    estimate = None if _split_all else ctx.model.sweep_entries * SECONDS_PER_ENTRY * max(1, walkers) * ESTIMATE_MARGIN
    chunker = Chunker(ctx.deadline, estimate_s=estimate)
    while run.steps_done < total:
        if ctx.should_stop():
            return run.steps_done, True
        walkers = getattr(run, "walkers", 0)
        # groups of at least ctx.threads walkers, so a split unit still uses every thread it may
        wanted = CHUNK_LIMIT if _split_all else chunker.pieces()
        pieces = min(wanted, walkers // max(1, ctx.threads)) if walkers > 1 else 1
        k = chunker.start(1 if pieces > 1 else total - run.steps_done, fit=pieces <= 1)
        if k == 0:
            return run.steps_done, True
        if pieces > 1:  # one unit takes longer than a chunk: walker group by walker group
            split = cast(Splittable, run)  # pieces > 1 only for runs with walkers > 1
            bounds = np.linspace(0, walkers, pieces + 1).round().astype(np.int64)
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                if ctx.should_stop() or not chunker.piece_fits():
                    return run.steps_done, True
                t0 = time.perf_counter()
                split.piece(int(lo), int(hi))
                chunker.piece_s = time.perf_counter() - t0
            split.finish()
        else:
            run.advance(k)
        chunker.done()
        ctx.report(report_offset + run.steps_done, run.best_cost())
    return run.steps_done, False
