"""Integer-coefficient problems and helpers for the lane and multi-spin kernel tests."""
from __future__ import annotations

import itertools

import numpy as np

from contracts.problems import decode_problem, encode_json, problem_document
from solver_runner.model import CompiledModel, compile_problem


def integer_document(kind: str, n: int, seed: int, *, weights: tuple[int, int] = (-1, 1), density: float = 0.3,
                     fields: bool = True) -> dict:
    """Random non-zero integer couplings in [weights] on pairs of 0..n−1 (each with probability `density`), a
    random integer field on about half of the variables, and a constant."""
    rng = np.random.default_rng(seed)
    lo, hi = weights
    choices = np.array([v for v in range(lo, hi + 1) if v != 0])
    terms: list[tuple[float, list[int]]] = []
    for a, b in itertools.combinations(range(n), 2):
        if rng.random() < density:
            terms.append((float(rng.choice(choices)), [a, b]))
    if fields:
        for i in range(n):
            if rng.random() < 0.5:
                terms.append((float(rng.choice(choices)), [i]))
    terms.append((float(rng.integers(-5, 6)), []))
    return problem_document(kind, terms)


def model_of(doc: dict, dense: bool | None = None) -> CompiledModel:
    return compile_problem(decode_problem(encode_json(doc)), dense=dense)


def boltzmann(model: CompiledModel, beta: float) -> dict[float, float]:
    """Exact equilibrium probability of each cost level at inverse temperature beta (enumeration, n ≤ 14)."""
    from solver_runner.kernels.common import energies_of
    from solver_runner.model import model_arrays
    values = (-1, 1) if model.ising else (0, 1)
    states = np.array(list(itertools.product(values, repeat=model.n)), np.int8)
    energies = np.round(energies_of(states, float(model.constant), model_arrays(model)), 9)
    weights = np.exp(-beta * (energies - energies.min()))
    out: dict[float, float] = {}
    for e, w in zip(energies, weights / weights.sum()):
        out[float(e)] = out.get(float(e), 0.0) + float(w)
    return out


def chi_square_ok(samples: np.ndarray, expected: dict[float, float], tolerance: float = 4.0) -> tuple[bool, str]:
    """Pearson's χ² of the sampled cost levels against `expected` (levels with < 5 expected counts pooled), accepted
    when χ² is within `tolerance` standard deviations (√(2k)) of its mean k (the degrees of freedom). Samples of a
    Markov chain are correlated, so callers thin them."""
    counts: dict[float, int] = {}
    for e in np.round(samples, 9):
        counts[float(e)] = counts.get(float(e), 0) + 1
    total = len(samples)
    assert set(counts) <= set(expected), sorted(set(counts) - set(expected))
    chi, k, pool_obs, pool_exp = 0.0, -1, 0.0, 0.0
    for level, p in sorted(expected.items()):
        exp = p * total
        if exp < 5:
            pool_obs += counts.get(level, 0)
            pool_exp += exp
            continue
        chi += (counts.get(level, 0) - exp) ** 2 / exp
        k += 1
    if pool_exp >= 5:
        chi += (pool_obs - pool_exp) ** 2 / pool_exp
        k += 1
    ok = chi <= k + tolerance * np.sqrt(2 * max(k, 1))
    return ok, f"chi2 {chi:.1f} with {k} degrees of freedom"
