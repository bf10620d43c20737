"""The tree tabu kernel (solver_runner.kernels.tabu_tree) against the scan kernel it replaces on sparse inputs: the
same moves where no two moves tie (real couplings), and the same quality where many do (±J)."""
from __future__ import annotations

import numpy as np
import pytest
from lane_cases import model_of

from contracts.problems import problem_document
from solver_runner import params as P
from solver_runner.solvers.walkers import TabuState, tabu_tree_fits


def sparse_document(kind: str, n: int, seed: int, real: bool) -> dict:
    """A random 3-regular-ish graph (ring plus random chords) with fields: real or ±1 couplings."""
    rng = np.random.default_rng(seed)
    pairs = {(i, (i + 1) % n) for i in range(n)} | {tuple(sorted(rng.choice(n, 2, replace=False))) for _ in range(n // 2)}
    coef = (lambda: float(np.round(rng.normal(), 6))) if real else (lambda: float(rng.choice([-1.0, 1.0])))
    fields = range(n) if real else range(0, n, 3)  # real: a field everywhere, so no two moves ever cost the same
    terms = [(coef(), [int(a), int(b)]) for a, b in sorted(pairs)] + [(coef(), [i]) for i in fields]
    return problem_document(kind, terms)


def scan_twin(model, restarts, seed, tenure):
    state = TabuState(model, restarts, seed, tenure, P.flip_tolerance(model))
    state.kernel = "scan"
    return state


@pytest.mark.parametrize("kind", ["ising", "pubo"])
def test_same_moves_as_the_scan_when_no_moves_tie(kind):
    model = model_of(sparse_document(kind, 2000, seed=3, real=True))
    assert tabu_tree_fits(model)
    tree = TabuState(model, 4, 9, 20, P.flip_tolerance(model))
    scan = scan_twin(model, 4, 9, 20)
    assert tree.kernel == "tree" and scan.kernel == "scan"
    for _ in range(6):
        tree.step(250)
        scan.step(250)
        assert np.array_equal(tree.S, scan.S)
        assert np.allclose(tree.E, scan.E, atol=1e-9)
        assert np.array_equal(tree.moves, scan.moves)
        assert np.array_equal(tree.topS, scan.topS)


def test_ties_are_drawn_among_all_equal_moves_and_quality_matches_the_scan():
    model = model_of(sparse_document("ising", 2000, seed=4, real=False))
    tree = TabuState(model, 8, 1, 20, P.flip_tolerance(model))
    scan = scan_twin(model, 8, 1, 20)
    tree.step(3000)
    scan.step(3000)
    from solver_runner.kernels.common import energies_of
    from solver_runner.model import model_arrays
    exact = energies_of(np.ascontiguousarray(tree.bestS), float(model.constant), model_arrays(model))
    assert np.allclose(exact, tree.bestE)  # incremental energies stay exact
    # the same search: best costs of 8 walkers after 3000 moves agree within a few percent
    assert abs(tree.bestE.mean() - scan.bestE.mean()) <= 0.03 * abs(scan.bestE.mean())


def test_the_tree_is_chosen_only_where_it_is_cheaper():
    assert tabu_tree_fits(model_of(sparse_document("ising", 2000, seed=1, real=False)))
    assert not tabu_tree_fits(model_of(sparse_document("ising", 300, seed=1, real=False)))  # small: the scan
    dense = problem_document("ising", [(1.0, [i, j]) for i in range(600) for j in range(i + 1, 600) if (i + j) % 7 == 0])
    assert not tabu_tree_fits(model_of(dense))  # degree ~86: a move would update more than a scan reads
