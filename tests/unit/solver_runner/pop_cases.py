"""Helpers for the QMC / PA / SSMC / parameter-free tests: running a target through entry.run, checking a result
document, and a pure-Python copy of the kernels' xorshift64* stream (so slow references can replay a kernel's
random draws exactly)."""
from __future__ import annotations

import pytest

from contracts.problems import encode_json
from contracts.runner import RunRequest
from solver_runner import entry, warmup
from tests.reference import reference_cost

MASK64 = (1 << 64) - 1

# (kind, n, options for solver_core_cases.random_document): every problem type, degree ≥ 3 terms, SLC groups
PROBLEM_CASES = [
    ("ising", 10, {}),
    ("pubo", 10, {}),
    ("ising", 9, {"higher": True}),
    ("pubo", 9, {"higher": True}),
    ("ising", 8, {"slc": True}),
    ("pubo", 8, {"slc": True}),
    ("pubo", 11, {"higher": True, "slc": True, "density": 0.9}),
    ("ising", 12, {"density": 0.3, "constant": False}),
]


@pytest.fixture(scope="module", autouse=True)
def warm_kernels():
    """Compile (or load) every kernel first, as a runner does at start (import this fixture into a test module to
    use it): the tests time short budgets, and a cold numba cache would spend them compiling."""
    warmup.warm()


def solve(target, doc, params=None, *, threads=1, is_cancelled=lambda: False, progress=None):
    request = RunRequest("job-pop", target, dict(params or {}), encode_json(doc), threads=threads,
                         progress_interval_s=0.0)
    return entry.run(request, is_cancelled, progress.append if progress is not None else (lambda p: None))


def assert_consistent(problem, result, k=None):
    """Root = solutions[0]; costs sorted and equal to the reference cost of each configuration; all distinct."""
    sols = result["solutions"]
    assert result["configuration"] == sols[0]["configuration"] and result["cost"] == sols[0]["cost"]
    costs = [s["cost"] for s in sols]
    assert costs == sorted(costs)
    keys = set()
    for s in sols:
        assert s["cost"] == pytest.approx(reference_cost(problem, s["configuration"]), abs=1e-9)
        keys.add(tuple(sorted(s["configuration"].items())))
    assert len(keys) == len(sols)
    if k is not None:
        assert len(sols) <= k


class PyRng:
    """The kernels' xorshift64* streams (solver_runner.kernels.rng), in plain Python."""

    def __init__(self, states):
        self.st = [int(x) for x in states]

    def next_u64(self, k):
        x = self.st[k]
        x ^= x >> 12
        x ^= (x << 25) & MASK64
        x ^= x >> 27
        self.st[k] = x
        return (x * 0x2545F4914F6CDD1D) & MASK64

    def rand01(self, k):
        return (self.next_u64(k) >> 11) * (1.0 / 9007199254740992.0)

    def randint(self, k, n):
        return self.next_u64(k) % n
