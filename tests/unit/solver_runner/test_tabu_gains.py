"""The gains tabu kernel (solver_runner.kernels.tabu_gains) against the scan kernel it replaces on quadratic inputs:
the same moves where no two moves tie (real couplings, sparse and dense), the same quality where many do (integer
couplings), and the choice of kernel."""
from __future__ import annotations

import numpy as np
import pytest
from lane_cases import integer_document, model_of
from test_tabu_tree import sparse_document

from contracts.problems import problem_document
from solver_runner import params as P
from solver_runner.kernels.common import energies_of
from solver_runner.model import model_arrays
from solver_runner.solvers.walkers import TabuState


def real_document(kind: str, n: int, seed: int, density: float) -> dict:
    """Gaussian couplings on random pairs and a Gaussian field on every variable: no two moves ever cost the same."""
    rng = np.random.default_rng(seed)
    terms = [(float(np.round(rng.normal(), 6)), [i, j]) for i in range(n) for j in range(i + 1, n)
             if rng.random() < density]
    terms += [(float(np.round(rng.normal(), 6)), [i]) for i in range(n)]
    return problem_document(kind, terms)


def twins(model, restarts, seed, tenure):
    gains = TabuState(model, restarts, seed, tenure, P.flip_tolerance(model))
    scan = TabuState(model, restarts, seed, tenure, P.flip_tolerance(model))
    scan.kernel = "scan"
    return gains, scan


@pytest.mark.parametrize("kind", ["ising", "pubo"])
@pytest.mark.parametrize("dense", [False, True])
def test_same_moves_as_the_scan_when_no_moves_tie(kind, dense):
    model = model_of(real_document(kind, 120, seed=5, density=0.3 if dense else 0.05), dense=dense)
    assert (model.dense is not None) == dense
    gains, scan = twins(model, 4, 3, 15)
    assert gains.kernel == "gains"
    for _ in range(5):  # chunks: d is derived again from the fields at each one's start
        gains.step(300)
        scan.step(300)
        assert np.array_equal(gains.S, scan.S)
        assert np.allclose(gains.E, scan.E, atol=1e-9)
        assert np.array_equal(gains.moves, scan.moves)
        assert np.array_equal(gains.tabu_until, scan.tabu_until)
        assert np.array_equal(gains.topS, scan.topS)


@pytest.mark.parametrize("dense", [False, True])
def test_ties_are_drawn_among_all_equal_moves_and_quality_matches_the_scan(dense):
    model = model_of(integer_document("ising", 200, seed=4, weights=(-1, 1), density=0.3 if dense else 0.03),
                     dense=dense)
    gains, scan = twins(model, 8, 1, 20)
    gains.step(3000)
    scan.step(3000)
    exact = energies_of(np.ascontiguousarray(gains.bestS), float(model.constant), model_arrays(model))
    assert np.allclose(exact, gains.bestE)  # incremental energies stay exact
    assert np.allclose(energies_of(np.ascontiguousarray(gains.S), float(model.constant), model_arrays(model)), gains.E)
    # the same search: best costs of 8 walkers after 3000 moves agree within a few percent
    assert abs(gains.bestE.mean() - scan.bestE.mean()) <= 0.03 * abs(scan.bestE.mean())
    # every tie gets drawn: walkers from different seeds part ways, and no variable is tabu past its tenure
    assert len({tuple(row) for row in gains.S}) == 8
    assert np.all(gains.tabu_until <= gains.moves[:, None] - 1 + 20)


def test_each_input_gets_its_kernel_and_the_choice_is_logged(caplog):
    caplog.set_level("INFO", logger="solver_runner.solvers.walkers")
    assert TabuState(model_of(sparse_document("ising", 2000, seed=1, real=False)), 2, 1, 10, 1e-9).kernel == "tree"
    assert TabuState(model_of(sparse_document("ising", 300, seed=1, real=False)), 2, 1, 10, 1e-9).kernel == "gains"
    higher = problem_document("pubo", [(1.0, [0, 1, 2]), (-1.0, [1, 2]), (0.5, [0])])
    assert TabuState(model_of(higher), 2, 1, 1, 1e-9).kernel == "scan"
    for line in ("tabu kernel: tree on 2000 variables", "tabu kernel: gains on 300 variables",
                 "tabu kernel: scan on 3 variables (terms of degree ≥ 3 or grouped terms)"):
        assert line in caplog.text
