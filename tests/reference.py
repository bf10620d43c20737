"""Slow, obvious evaluators the tests compare the solvers and codecs against."""
from __future__ import annotations

from typing import Any

from contracts.problems import ProblemData


def reference_cost(problem: ProblemData, configuration: dict[Any, int]) -> float:
    """Cost of `configuration` (keys: ids as int or str; values ±1 for ising, 0/1 for pubo)."""
    values = {int(k): int(v) for k, v in configuration.items()}
    total = 0.0
    for c, ids in problem.terms():
        prod = 1
        for i in ids:
            prod *= values[i]
        total += c * prod
    for g in range(problem.slc_coeffs.shape[0]):
        inner = 0.0
        for k in range(int(problem.slc_offsets[g]), int(problem.slc_offsets[g + 1])):
            vid = int(problem.slc_term_ids[k])
            inner += float(problem.slc_term_coeffs[k]) * (1 if vid < 0 else values[vid])
        total += float(problem.slc_coeffs[g]) * inner * inner
    return total
