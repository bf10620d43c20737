"""What every solver takes and returns, the registry of solvers by target id, and shared helpers."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

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
    report: Callable[[int, float], None]  # (sweeps_done, best_cost_so_far)


@dataclass
class SolveResult:
    states: list[np.ndarray]  # int8 [n] each, distinct, best first, at most number_of_solutions
    costs: list[float]
    parameters: dict[str, Any]
    sweeps_done: int
    stopped_early: bool = False


Solver = Callable[[SolveContext], SolveResult]
SOLVERS: dict[str, Solver] = {}


def register(*target_ids: str) -> Callable[[Solver], Solver]:
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
