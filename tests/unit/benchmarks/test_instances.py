"""Benchmark instance generators: planted optima are real, exact optima are exact, generation is deterministic."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks import exact
from benchmarks import instances as I
from contracts.problems import decode_problem, encode_json
from tests.reference import reference_cost


def decoded(inst: I.Instance):
    return decode_problem(encode_json(inst.document(), compress=True))


def configuration(inst: I.Instance, state) -> dict[int, int]:
    return {k: int(v) for k, v in enumerate(state)}


def all_states(n: int, ising: bool) -> np.ndarray:
    s = np.array(list(itertools.product((0, 1), repeat=n)), np.int64)
    return 2 * s - 1 if ising else s


def test_chimera_graph_shape() -> None:
    e = I.chimera_edges(8)
    assert e.shape[0] == 8 * 8 * 16 + 2 * 8 * 7 * 4  # intra-cell K4,4 + vertical + horizontal couplers
    assert e.max() == 511 and len({tuple(x) for x in e.tolist()}) == e.shape[0]


@pytest.mark.parametrize("alpha, seed", [(0.25, 1), (0.5, 2)])
def test_frustrated_loops_planted_energy(alpha: float, seed: int) -> None:
    inst = I.frustrated_loops(512, I.chimera_edges(8), alpha, seed, "fl")
    problem = decoded(inst)
    assert reference_cost(problem, configuration(inst, inst.planted)) == inst.best_known
    assert inst.cost(inst.planted) == inst.best_known and inst.status == "proven"


def test_frustrated_loops_planted_is_minimum_by_enumeration() -> None:
    # One Chimera cell (K4,4, 8 spins): small enough to enumerate every state.
    inst = I.frustrated_loops(8, I.chimera_edges(1), 1.0, 3, "fl_tiny")
    energies = [inst.cost(s) for s in all_states(8, True)]
    assert min(energies) == inst.best_known == inst.cost(inst.planted)


def test_wishart_planted_energy_and_minimum() -> None:
    inst = I.wishart_pubo(256, 64, 7)
    assert reference_cost(decoded(inst), configuration(inst, inst.planted)) == inst.best_known
    tiny = I.wishart_pubo(12, 3, 8)
    energies = [tiny.cost(x) for x in all_states(12, False)]
    assert min(energies) == tiny.best_known == tiny.cost(tiny.planted)


def test_tile_planting_planted_energy_and_minimum() -> None:
    inst = I.tile_planting(32, 9)
    assert reference_cost(decoded(inst), configuration(inst, inst.planted)) == inst.best_known
    assert inst.c.shape[0] == 2 * 32 * 32 and len(set(zip(inst.i.tolist(), inst.j.tolist()))) == 2 * 32 * 32
    for seed in range(3):  # 4×4 torus: 16 spins, every state enumerated
        tiny = I.tile_planting(4, seed)
        energies = [tiny.cost(s) for s in all_states(16, True)]
        assert min(energies) == tiny.best_known == tiny.cost(tiny.planted)


def test_bqp_like_optimum_matches_brute_force() -> None:
    for seed in range(3):
        inst = I.bqp_like(14, 0.4, seed, 0)
        energies = [inst.cost(x) for x in all_states(14, False)]
        assert inst.status == "proven" and min(energies) == inst.best_known
        assert reference_cost(decoded(inst), configuration(inst, inst.planted)) == inst.best_known


@pytest.mark.parametrize("seed", range(5))
def test_branch_and_bound_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 16
    a = rng.normal(size=n)
    B = np.triu(rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.5), 1)
    B = B + B.T
    cost, x, proven, _ = exact.solve(a, B)
    xf = x.astype(float)
    assert proven
    assert cost == pytest.approx(exact.brute_force(a, B))
    assert cost == pytest.approx(a @ xf + 0.5 * xf @ B @ xf)


def test_branch_and_bound_reports_unfinished_search() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=30)
    B = np.triu(rng.normal(size=(30, 30)), 1)
    _, _, proven, nodes = exact.solve(a, B + B.T, node_limit=10)
    assert not proven and nodes == 11


@pytest.mark.parametrize("make", [
    lambda s: I.rrg3(200, s), lambda s: I.torus(10, s), lambda s: I.sk(20, s), lambda s: I.g1_like(s, 40, 100),
    lambda s: I.frustrated_loops(32, I.chimera_edges(2), 0.5, s, "fl"), lambda s: I.wishart_pubo(16, 4, s),
    lambda s: I.tile_planting(8, s),
    lambda s: I.bqp_like(20, 0.2, s, 0), lambda s: I.memory_instance(s, 100, 1000),
])
def test_deterministic_by_seed(make) -> None:
    a, b, c = make(5), make(5), make(6)
    assert a.document() == b.document()
    assert a.document() != c.document()


def test_generated_shapes() -> None:
    r = I.rrg3(1000, 1)
    deg = np.bincount(np.concatenate([r.i, r.j]), minlength=1000)
    assert np.all(deg == 3) and r.c.shape[0] == 1500
    assert len({(a, b) for a, b in zip(r.i.tolist(), r.j.tolist())}) == 1500
    t = I.torus(10, 1)
    assert np.all(np.bincount(np.concatenate([t.i, t.j])) == 4)
    g = I.g1_like(1, 800, 19176)
    assert g.c.shape[0] == 19176 and len(set(zip(g.i.tolist(), g.j.tolist()))) == 19176
    m = I.memory_instance(1)
    assert m.n == 100_000 and m.c.shape[0] == 1_000_000 and np.all(m.i != m.j)
