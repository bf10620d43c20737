"""Random problems and slow, obvious references for the solver-core tests (SA, PT, Tabu, shared kernels)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from contracts.problems import ProblemData, decode_problem, encode_json, problem_document
from tests.reference import reference_cost


def random_document(kind: str, n: int, seed: int, *, higher: bool = False, slc: bool = False, constant: bool = True,
                    density: float = 0.5, id_stride: int = 3, initial: bool = False) -> dict:
    """A random microsoft.qio.v2 document on variable ids 0, id_stride, 2·id_stride, ... (not 0..n−1 on purpose)."""
    rng = np.random.default_rng(seed)
    ids = [id_stride * i + 1 for i in range(n)]
    terms: list[tuple[float, list[int]]] = []
    for i in ids:
        if rng.random() < 0.7:
            terms.append((float(np.round(rng.normal(), 3)), [i]))
    for a, b in itertools.combinations(ids, 2):
        if rng.random() < density:
            terms.append((float(np.round(rng.normal(), 3)), [a, b]))
    if higher and n >= 3:
        for _ in range(max(1, n // 2)):
            k = int(rng.integers(3, min(5, n) + 1))
            terms.append((float(np.round(rng.normal(), 3)), [int(x) for x in rng.choice(ids, k, replace=False)]))
    if constant:
        terms.append((float(np.round(rng.normal() * 3, 3)), []))
    slc_terms = []
    if slc:
        for _ in range(max(1, n // 3)):
            k = int(rng.integers(1, min(4, n) + 1))
            inner = [(float(np.round(rng.normal(), 3)), [int(x)]) for x in rng.choice(ids, k, replace=False)]
            inner.append((float(np.round(rng.normal(), 3)), []))
            slc_terms.append((float(np.round(abs(rng.normal()) + 0.1, 3)), inner))
    init = None
    if initial:
        values = (-1, 1) if kind == "ising" else (0, 1)
        init = {i: int(rng.choice(values)) for i in ids}
    return problem_document(kind, terms, slc_terms=slc_terms, initial_configuration=init)


def random_problem(kind: str, n: int, seed: int, **kw) -> ProblemData:
    return decode_problem(encode_json(random_document(kind, n, seed, **kw)))


def values_of(problem: ProblemData) -> tuple[int, int]:
    return (-1, 1) if problem.is_ising else (0, 1)


def brute_force(problem: ProblemData) -> tuple[float, list[dict[int, int]]]:
    """(optimal cost, every optimal configuration) by enumeration, with the reference evaluator."""
    ids = [int(i) for i in problem.variable_ids()]
    best = np.inf
    arg: list[dict[int, int]] = []
    for combo in itertools.product(values_of(problem), repeat=len(ids)):
        config = dict(zip(ids, combo))
        c = reference_cost(problem, config)
        if c < best - 1e-9:
            best, arg = c, [config]
        elif abs(c - best) <= 1e-9:
            arg.append(config)
    return best, arg


def all_costs(problem: ProblemData) -> list[float]:
    ids = [int(i) for i in problem.variable_ids()]
    return sorted(reference_cost(problem, dict(zip(ids, combo)))
                  for combo in itertools.product(values_of(problem), repeat=len(ids)))


def rrg3_document(n: int, seed: int) -> dict:
    """Random 3-regular ±J Ising instance (the speed anchor's graph family)."""
    rng = np.random.default_rng(seed)
    while True:
        stubs = rng.permutation(np.repeat(np.arange(n), 3)).reshape(-1, 2)
        a, b = np.minimum(stubs[:, 0], stubs[:, 1]), np.maximum(stubs[:, 0], stubs[:, 1])
        if np.all(a != b) and np.unique(a * n + b).shape[0] == a.shape[0]:
            break
    return problem_document("ising", [(float(rng.choice([-1, 1])), [int(x), int(y)]) for x, y in zip(a, b)])


def assert_consistent(problem, result):
    """Root = solutions[0]; each cost is the reference cost of its configuration; sorted; distinct."""
    sols = result["solutions"]
    assert result["configuration"] == sols[0]["configuration"] and result["cost"] == sols[0]["cost"]
    costs = [s["cost"] for s in sols]
    assert costs == sorted(costs)
    seen = set()
    for s in sols:
        assert set(s["configuration"]) == {str(int(i)) for i in problem.variable_ids()}
        assert s["cost"] == pytest.approx(reference_cost(problem, s["configuration"]), abs=1e-9)
        key = tuple(sorted(s["configuration"].items()))
        assert key not in seen
        seen.add(key)
