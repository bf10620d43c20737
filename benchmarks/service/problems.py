"""Tiny random problems for the load benchmark, and an independent evaluator of a result's cost.

The evaluator reads the problem as the benchmark built it (a list of (coefficient, indices) pairs) and the
configuration the service returned; it shares no code with the solvers or the service's codec, so a wrong cost
anywhere between (codec, model, kernel, result document) shows up as a mismatch.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from services.client.aio.optimization import Problem, ProblemType


@dataclass(frozen=True)
class TinyProblem:
    name: str
    kind: str  # "ising" (spins ±1) or "pubo" (bits 0/1)
    terms: tuple[tuple[int, tuple[int, ...]], ...]

    def to_client(self) -> Problem:
        problem = Problem(name=self.name, problem_type=ProblemType.ising if self.kind == "ising" else ProblemType.pubo)
        for c, ids in self.terms:
            problem.add_term(c=c, indices=list(ids))
        return problem


def tiny_problem(seed: int, variables: int = 12, terms: int = 24) -> TinyProblem:
    """A connected random problem: a ring of couplings plus random extra pairs and fields, integer coefficients,
    Ising for even seeds and PUBO for odd ones (both codecs and both cost rules are exercised)."""
    rng = random.Random(seed)
    out: list[tuple[int, tuple[int, ...]]] = []
    for i in range(variables):
        out.append((rng.choice([-3, -2, -1, 1, 2, 3]), (i, (i + 1) % variables)))
    while len(out) < terms:
        if rng.random() < 0.3:
            out.append((rng.randint(-5, 5) or 1, (rng.randrange(variables),)))
        else:
            a, b = rng.sample(range(variables), 2)
            out.append((rng.randint(-4, 4) or -1, (a, b)))
    return TinyProblem(name=f"bench-{seed}", kind="ising" if seed % 2 == 0 else "pubo", terms=tuple(out))


class CostMismatch(AssertionError):
    pass


def evaluate(problem: TinyProblem, configuration: dict[str, int]) -> float:
    """Σ c · Π x_i over the terms, x from the configuration (keys are variable ids as strings, as on the wire)."""
    allowed = {-1, 1} if problem.kind == "ising" else {0, 1}
    total = 0.0
    for c, ids in problem.terms:
        product = 1
        for i in ids:
            value = configuration.get(str(i))
            if value not in allowed:
                raise CostMismatch(f"{problem.name}: variable {i} is {value!r} in the result, expected one of {allowed}")
            product *= value
        total += c * product
    return total


def check_result(problem: TinyProblem, result: dict) -> float:
    """The recomputed cost; CostMismatch when the result's reported cost differs from it."""
    configuration = result.get("configuration")
    if not isinstance(configuration, dict):
        raise CostMismatch(f"{problem.name}: the result has no configuration: {result!r}")
    recomputed = evaluate(problem, configuration)
    reported = result.get("cost")
    if not isinstance(reported, (int, float)) or abs(float(reported) - recomputed) > 1e-9 * max(1.0, abs(recomputed)):
        raise CostMismatch(f"{problem.name}: reported cost {reported!r}, recomputed {recomputed}")
    return recomputed
