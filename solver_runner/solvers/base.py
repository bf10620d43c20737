"""What every solver takes and returns, the registry of solvers by target id, and shared helpers.

A solver is `fn(ctx: SolveContext) -> SolveResult`, registered with `@register(target_id, ...)`. It must:
apply its defaults to ctx.params (which holds only what the user sent, validated); run in bounded chunks
(<= ~50 ms of work each), calling ctx.should_stop() between chunks and ctx.report(sweeps_done, best_cost) after
each (the caller rate-limits); return at least one state, even when stopped before the first chunk; return
distinct states best first with costs equal to the model cost of each state (`exact_best` does that); echo its
effective parameters (plus "seed", and "timeout" if given) in SolveResult.parameters.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from contracts import errors
from contracts.errors import ContractError
from solver_runner.kernels.common import energies_of, model_arrays
from solver_runner.model import CompiledModel


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


def chunk_sweeps(n: int, walkers: int, threads: int, budget_attempts: float = 4e6) -> int:
    """Sweeps per chunk so one chunk is ~tens of milliseconds: stop checks stay responsive, overhead small."""
    per_sweep = max(1, n) * max(1, walkers) / max(1, threads)
    return int(max(1, min(1000, budget_attempts // per_sweep)))


class Deadline:
    """Timeout bookkeeping for a solver loop (monotonic clock)."""

    def __init__(self, timeout_s: float | None):
        self.start = time.monotonic()
        self.end = None if timeout_s is None else self.start + timeout_s

    def remaining(self) -> float:
        return float("inf") if self.end is None else self.end - time.monotonic()
