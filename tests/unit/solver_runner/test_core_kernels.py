"""Shared kernel primitives (solver_runner.kernels.common / rng) against slow, obvious references."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from solver_core_cases import random_problem, values_of

from solver_runner.kernels.common import (
    any_sweep,
    apply_flip,
    delta,
    energies_of,
    energy,
    flip_deltas,
    init_fields,
    keep_best,
    random_state,
)
from solver_runner.kernels.rng import rand01, randint, rng_states
from solver_runner.model import compile_problem, model_arrays
from solver_runner.solvers.walkers import AnnealState
from tests.reference import reference_cost

CASES = [
    # kind, n, options
    ("ising", 9, {}),
    ("pubo", 9, {}),
    ("ising", 10, {"higher": True}),
    ("pubo", 10, {"higher": True}),
    ("ising", 8, {"slc": True}),
    ("pubo", 8, {"slc": True}),
    ("ising", 11, {"higher": True, "slc": True}),
    ("pubo", 11, {"higher": True, "slc": True, "density": 0.9}),
    ("pubo", 12, {"density": 0.05, "constant": False}),
]


def config_of(model, state):
    return {int(k): int(v) for k, v in zip(model.var_ids, state)}


def random_states(problem, count, seed):
    rng = np.random.default_rng(seed)
    n = problem.variable_ids().shape[0]
    return rng.choice(np.array(values_of(problem), np.int8), size=(count, n))


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_energy_matches_reference_cost(case, dense):
    kind, n, kw = CASES[case]
    problem = random_problem(kind, n, seed=100 + case, **kw)
    model = compile_problem(problem, dense=dense)
    M = model_arrays(model)
    states = random_states(problem, 25, case)
    for s in states:
        assert energy(s, model.constant, M) == pytest.approx(reference_cost(problem, config_of(model, s)), abs=1e-9)
    batch = energies_of(states, model.constant, M)
    assert np.allclose(batch, [energy(s, model.constant, M) for s in states])


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_delta_and_apply_flip_keep_fields_consistent(case, dense):
    kind, n, kw = CASES[case]
    problem = random_problem(kind, n, seed=200 + case, **kw)
    model = compile_problem(problem, dense=dense)
    assert (model.dense is not None) == dense
    M = model_arrays(model)
    s = random_states(problem, 1, case)[0].copy()
    f = np.empty(model.n)
    L = np.empty(model.slc_c.shape[0])
    init_fields(s, f, L, M)
    e = energy(s, model.constant, M)
    rng = np.random.default_rng(case)
    for _ in range(60):
        i = int(rng.integers(model.n))
        de = delta(s, f, L, i, model.ising, model.has_higher, model.has_slc, M)
        flipped = s.copy()
        flipped[i] = -flipped[i] if model.ising else 1 - flipped[i]
        expected = reference_cost(problem, config_of(model, flipped)) - reference_cost(problem, config_of(model, s))
        assert de == pytest.approx(expected, abs=1e-9)
        apply_flip(s, f, L, i, model.ising, model.has_slc, M)
        e += de
        assert np.array_equal(s, flipped)
        f2 = np.empty_like(f)
        L2 = np.empty_like(L)
        init_fields(s, f2, L2, M)
        assert np.allclose(f, f2, atol=1e-9) and np.allclose(L, L2, atol=1e-9)
    assert e == pytest.approx(reference_cost(problem, config_of(model, s)), abs=1e-8)


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_sweeps_decide_as_a_plain_metropolis_sweep(case, dense):
    """Every specialisation `any_sweep` picks (sparse, dense, general) makes the decisions of the textbook sweep:
    in order, downhill and flat moves taken, uphill ones taken when the next uniform of the walker's generator is
    below e^−βΔE, one uniform per uphill move, and leaves that generator where the reference leaves it."""
    kind, n, kw = CASES[case]
    problem = random_problem(kind, n, seed=400 + case, **kw)
    model = compile_problem(problem, dense=dense)
    M = model_arrays(model)
    s = random_states(problem, 1, case)[0].copy()
    f = np.empty(model.n)
    L = np.empty(model.slc_c.shape[0])
    init_fields(s, f, L, M)
    st = rng_states(case, 3)
    ref_s, ref_st = s.copy(), st.copy()
    e = reference_cost(problem, config_of(model, s))
    for beta in (0.05, 0.3, 1.0, 3.0, 10.0, 0.5):
        total = any_sweep(s, f, L, beta, model.ising, model.has_higher, model.has_slc, st, 1, M)
        start = reference_cost(problem, config_of(model, ref_s))
        for i in range(model.n):
            flipped = ref_s.copy()
            flipped[i] = -flipped[i] if model.ising else 1 - flipped[i]
            de = reference_cost(problem, config_of(model, flipped)) - reference_cost(problem, config_of(model, ref_s))
            if de > 1e-9 and (beta * de > 40.0 or rand01(ref_st, 1) >= math.exp(-beta * de)):
                continue
            ref_s = flipped
        assert np.array_equal(s, ref_s), beta
        assert total == pytest.approx(reference_cost(problem, config_of(model, ref_s)) - start, abs=1e-8)
        e += total
    assert np.array_equal(st, ref_st)  # the same uniforms drawn, from stream 1 only
    assert e == pytest.approx(reference_cost(problem, config_of(model, s)), abs=1e-8)


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_flip_deltas_are_every_single_flip_cost_change(case, dense):
    kind, n, kw = CASES[case]
    problem = random_problem(kind, n, seed=300 + case, **kw)
    model = compile_problem(problem, dense=dense)
    s = random_states(problem, 1, case)[0].copy()
    before = s.copy()
    out = flip_deltas(s, model.ising, model.has_higher, model.has_slc, model_arrays(model))
    assert np.array_equal(s, before)
    base = reference_cost(problem, config_of(model, s))
    for i in range(model.n):
        flipped = s.copy()
        flipped[i] = -flipped[i] if model.ising else 1 - flipped[i]
        assert out[i] == pytest.approx(reference_cost(problem, config_of(model, flipped)) - base, abs=1e-9)


def test_rng_streams_are_reproducible_and_independent():
    a, b = rng_states(7, 4), rng_states(7, 4)
    assert np.array_equal(a, b) and len(set(a.tolist())) == 4 and 0 not in a
    assert not np.array_equal(rng_states(8, 4), a)
    assert not np.array_equal(rng_states(7, 4, stream=1), a)
    draws = np.array([rand01(a, 0) for _ in range(20000)])
    assert draws.min() >= 0.0 and draws.max() < 1.0 and abs(draws.mean() - 0.5) < 0.02
    assert {randint(a, 1, 3) for _ in range(200)} == {0, 1, 2}
    assert np.array_equal(b[2:], a[2:])  # drawing from streams 0 and 1 left the others untouched


def test_random_state_values():
    st = rng_states(1, 2)
    s = np.empty(1000, np.int8)
    random_state(s, True, st, 0)
    assert set(np.unique(s).tolist()) == {-1, 1}
    random_state(s, False, st, 1)
    assert set(np.unique(s).tolist()) == {0, 1}


def test_keep_best_holds_distinct_states_best_first():
    BE = np.full(3, np.inf)
    BS = np.zeros((3, 4), np.int8)
    a, b, c, d = (np.array(x, np.int8) for x in ([1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]))
    assert keep_best(5.0, a, BE, BS)
    assert not keep_best(5.0, a, BE, BS)  # duplicate
    assert keep_best(3.0, b, BE, BS)
    assert keep_best(5.0, c, BE, BS)  # same energy, different state
    assert keep_best(1.0, d, BE, BS)  # pushes the worst out
    assert BE.tolist() == [1.0, 3.0, 5.0]
    assert [r.tolist() for r in BS[:2]] == [d.tolist(), b.tolist()]
    assert not keep_best(9.0, a, BE, BS)


def test_initial_configuration_starts_every_restart():
    problem = random_problem("pubo", 10, seed=5, initial=True)
    model = compile_problem(problem)
    state = AnnealState(model, 4, seed=1)
    for r in range(4):
        assert np.array_equal(state.S[r], model.initial_state)


def test_pt_exchange_swaps_favourable_neighbours_on_the_step_parity():
    from solver_runner.kernels.pt import exchange

    S = np.array([[1, 1], [-1, -1], [1, -1]], np.int8)
    F = np.arange(6, dtype=np.float64).reshape(3, 2)
    L = np.zeros((3, 0))
    betas = np.array([0.1, 1.0, 2.0])
    st = rng_states(1, 4)
    # hotter replica 0 holds the lower energy: (E0 − E1)(β0 − β1) > 0, always accepted on even steps
    E = np.array([1.0, 5.0, 9.0])
    assert exchange(S, F, L, E, betas, 0, st) == 1
    assert E.tolist() == [5.0, 1.0, 9.0] and S[0].tolist() == [-1, -1] and F[0].tolist() == [2.0, 3.0]
    # odd steps pair (1, 2) only; there E1 = 1 < E2 = 9 at β1 < β2 is accepted with probability exp(−8)
    E_before = E.copy()
    accepted = exchange(S, F, L, E, betas, 1, st)
    assert E[0] == E_before[0] and (accepted == 0) == (E.tolist() == E_before.tolist())


def test_tabu_walkers_handle_tenure_beyond_n_and_single_variables():
    from solver_runner.params import flip_tolerance
    from solver_runner.solvers.walkers import TabuState

    for kind, n in (("ising", 1), ("pubo", 1), ("ising", 6)):
        problem = random_problem(kind, n, seed=3, constant=False)
        model = compile_problem(problem)
        state = TabuState(model, 3, seed=1, tenures=[0, n, 10 * n], eps=flip_tolerance(model))
        state.step(50)
        assert state.moves.tolist() == [50, 50, 50]
        states = (np.array(c, np.int8) for c in itertools.product(values_of(problem), repeat=n))
        best = min(energy(s, model.constant, model_arrays(model)) for s in states)
        assert state.bestE.min() == pytest.approx(best)


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_start_states_have_their_exact_cost_and_fields(case, dense):
    """Walkers' starts (kernels.common.start_state): dense quadratic inputs take their cost from the fields just
    computed, every other input from the terms; both must be the state's cost, and the fields its fields."""
    kind, n, kw = CASES[case]
    problem = random_problem(kind, n, seed=500 + case, **kw)
    model = compile_problem(problem, dense=dense)
    M = model_arrays(model)
    state = AnnealState(model, 12, seed=case)
    for s, f, e in zip(state.S, state.F, state.E):
        assert e == pytest.approx(reference_cost(problem, config_of(model, s)), abs=1e-9)
        expected = np.empty(model.n)
        init_fields(s, expected, np.empty(model.slc_c.shape[0]), M)
        assert np.array_equal(f, expected)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_starts_and_exact_costs_do_not_depend_on_the_thread_count(case):
    """init_restarts and energies_of run their rows in parallel: one thread and two give the same states, fields,
    energies and costs (each row draws from its own stream)."""
    import numba
    kind, n, kw = CASES[case]
    model = compile_problem(random_problem(kind, n, seed=700 + case, **kw))
    runs = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        try:
            state = AnnealState(model, 37, seed=case)
            runs.append((state.S, state.F, state.E, energies_of(state.S, float(model.constant), model_arrays(model))))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for one, two in zip(*runs):
        assert np.array_equal(one, two)
    assert np.allclose(runs[0][3], runs[0][2], rtol=0, atol=1e-9)
