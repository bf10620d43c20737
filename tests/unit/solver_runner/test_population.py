"""Population annealing (`microsoft.populationannealing.cpu`) and the resampling primitives it shares with SSMC:
slow references for the resampling counts and the in-place slot rearrangement, population-size invariants, the
restart rule, constant culling, and the solver end to end."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
from pop_cases import PROBLEM_CASES, PyRng, assert_consistent, solve, warm_kernels  # noqa: F401  (autouse)
from solver_core_cases import brute_force, random_document, rrg3_document

from contracts import targets
from contracts.problems import decode_problem, encode_json, problem_document
from contracts.runner import RunOutcome
from solver_runner import params as P
from solver_runner.kernels import population as K
from solver_runner.kernels.rng import padded_rng_states
from solver_runner.model import compile_problem
from solver_runner.params import pa_parameters, schedule_values
from solver_runner.solvers.base import SolveContext
from solver_runner.solvers.population import (
    LanePopulationRun,
    PopulationRun,
    culling_delta_beta,
    population_annealing,
)


def model_of(doc):
    return compile_problem(decode_problem(encode_json(doc)))


def ctx_for(model, params, *, threads=1, seed=1, k=1, should_stop=lambda: False, report=lambda *a: None):
    return SolveContext(model, params, threads, seed, k, None, should_stop, report)


# ----------------------------------------------------------------------------------------------------------------
# Resampling primitives


def test_normalised_weights_are_boltzmann_factors_summing_to_the_target():
    E = np.array([3.0, 1.0, 2.0, 1.0, 7.0])
    tau = np.zeros(5)
    K.normalised_weights(tau, E, 5, 0.7, 1.0, 10.0)
    w = np.exp(-0.7 * (E - 1.0))
    assert np.allclose(tau, 10.0 * w / w.sum())


def test_floor_residual_counts_are_floor_plus_one_extra_with_probability_the_residual():
    tau = np.array([2.6, 0.2, 0.9, 1.0, 0.05, 1.25, 0.0, 2.0])  # sums to 8.0
    R, target = len(tau), 8
    counts = np.zeros(R, np.int64)
    st = padded_rng_states(3, 1)
    trials = 6000
    extra = np.zeros(R)
    floors = np.floor(tau).astype(np.int64)
    for _ in range(trials):
        assert K.counts_floor_residual(tau, R, target, counts, st, 0) == target == counts.sum()
        assert np.all((counts == floors) | (counts == floors + 1))
        extra += counts - floors
    # the slow reference is the definition: P(extra copy of i) = tau_i − floor(tau_i), so E[counts] = tau
    assert np.allclose(extra / trials, tau - floors, atol=0.025)
    assert extra[3] == 0 and extra[6] == 0 and extra[7] == 0


def test_floor_residual_counts_absorb_rounding():
    tau = np.full(7, 3.0 / 7.0 + 1e-17)
    counts = np.zeros(7, np.int64)
    assert K.counts_floor_residual(tau, 7, 3, counts, padded_rng_states(1, 1), 0) == 3 == counts.sum()
    assert counts.max() == 1


def test_poisson_counts_have_poisson_moments():
    st = padded_rng_states(5, 1)
    for lam in (0.3, 1.0, 4.5, 60.0):
        draws = np.array([K.poisson(st, 0, lam) for _ in range(20000)])
        assert draws.min() >= 0
        assert draws.mean() == pytest.approx(lam, rel=0.05, abs=0.02)
        assert draws.var() == pytest.approx(lam, rel=0.1, abs=0.05)


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_apply_counts_matches_a_slow_reference(seed, parallel):
    rng = np.random.default_rng(seed)
    cap, n, G, R = 24, 5, 2, 12
    counts = np.zeros(cap, np.int64)
    counts[:R] = rng.choice([0, 0, 1, 1, 1, 2, 3], size=R)
    S = rng.integers(-1, 2, size=(cap, n)).astype(np.int8)
    F = rng.normal(size=(cap, n))
    L = rng.normal(size=(cap, G))
    E = np.arange(cap, dtype=np.float64) * 10
    fam = np.arange(cap, dtype=np.int64) + 100
    before = [(S[i].tobytes(), F[i].tobytes(), L[i].tobytes(), E[i], fam[i]) for i in range(R)]
    T = K.apply_counts(counts, R, S, F, L, E, fam, parallel)
    assert T == counts.sum()
    after = sorted((S[i].tobytes(), F[i].tobytes(), L[i].tobytes(), E[i], fam[i]) for i in range(T))
    expected = sorted(row for i, row in enumerate(before) for _ in range(counts[i]))
    assert after == expected
    for i in range(min(R, T)):  # survivors below the new size stay in their slot
        if counts[i] > 0:
            assert E[i] == 10 * i


def test_schedules_chunked_equal_whole_and_hit_both_ends():
    for sched in ({"type": "linear", "initial": 0.0, "final": 5.0},
                  {"type": "geometric", "initial": 0.01, "final": 4.0}):
        whole = schedule_values(sched, 97)
        parts = np.concatenate([schedule_values(sched, 97, a, a + 10) for a in range(0, 97, 10)])
        assert np.array_equal(whole, parts)
        assert whole[0] == sched["initial"] and whole[-1] == sched["final"]
        kind = K.GEOMETRIC if sched["type"] == "geometric" else K.LINEAR
        assert np.allclose([K.sched_value(kind, sched["initial"], sched["final"], 97, t) for t in range(97)], whole)
    assert np.all(np.diff(schedule_values({"type": "geometric", "initial": 0.01, "final": 4.0}, 50)) > 0)
    assert schedule_values({"type": "linear", "initial": 2.0, "final": 5.0}, 1).tolist() == [2.0]


def test_culling_delta_beta_culls_the_requested_fraction():
    E = np.random.default_rng(1).normal(size=200) * 30
    for fraction in (0.05, 0.2, 0.5):
        db = culling_delta_beta(E, fraction)
        w = np.exp(-db * (E - E.min()))
        tau = w * len(E) / w.sum()
        assert np.maximum(0, 1 - tau).mean() == pytest.approx(fraction, abs=1e-6)
    assert culling_delta_beta(np.full(5, 2.0), 0.1) == 0.0


# ----------------------------------------------------------------------------------------------------------------
# The PA kernel


@pytest.mark.parametrize("cls", [PopulationRun, LanePopulationRun])
def test_constant_population_stays_at_its_size_and_variable_stays_in_capacity(cls):
    model = model_of(rrg3_document(40, seed=1))
    for constant in (True, False):
        params = pa_parameters(ctx_for(model, {"population": 50, "sweeps": 200, "constant_population": constant,
                                               "alpha": 1.5}))
        run = cls(model, params, seed=4)
        sizes = []
        for _ in range(200):
            run.advance(1)
            sizes.append(int(run.ctl[K.CTL_R]))
        assert run.ctl[K.CTL_RESAMPLES] > 0
        if constant:
            assert set(sizes) == {50}
        else:
            assert max(sizes) <= getattr(run, "capacity", run.S.shape[0]) and min(sizes) >= 1 and len(set(sizes)) > 1


@pytest.mark.parametrize("cls", [PopulationRun, LanePopulationRun])
def test_restart_rule_fires_on_family_collapse_and_on_flat_costs(cls):
    model = model_of(rrg3_document(30, seed=2))
    # alpha just below the population and strong selection (Δβ = 2 per step): every resample loses families
    params = pa_parameters(ctx_for(model, {"population": 32, "sweeps": 51, "alpha": 31.5, "beta_start": 0.0,
                                           "beta_stop": 100.0}))
    run = cls(model, params, seed=1)
    run.advance(20)
    assert run.restarts >= 15 and run.ctl[K.CTL_POS] <= 1
    # all states cost the same: zero variance restarts every step
    flat = model_of(problem_document("pubo", [(0.0, [0]), (0.0, [1]), (0.0, [2])]))
    run = cls(flat, pa_parameters(ctx_for(flat, {"population": 8, "sweeps": 10})), seed=1)
    run.advance(10)
    assert run.restarts == 10


def test_pa_defaults_are_echoed():
    model = model_of(random_document("ising", 8, seed=3))
    out = solve(targets.PA, random_document("ising", 8, seed=3), {"seed": 2})
    p = out.result["parameters"]
    rng = P.default_beta_range(model)
    assert p["beta"] == {"type": "geometric", "initial": pytest.approx(rng.beta_start),
                         "final": pytest.approx(rng.beta_stop)}
    assert (p["beta_start"], p["beta_stop"]) == (p["beta"]["initial"], p["beta"]["final"])
    assert p["population"] == 64 and p["sweeps"] == 128 and p["constant_population"] is True
    assert p["alpha"] == 2.0 and p["sweeps_per_replica"] == 1 and p["seed"] == 2
    given = solve(targets.PA, random_document("ising", 8, seed=3),
                  {"seed": 2, "beta_start": 0.0, "beta_stop": 3.0, "population": 10, "sweeps": 7}).result["parameters"]
    assert given["beta"] == {"type": "linear", "initial": 0.0, "final": 3.0} and given["population"] == 10


# ----------------------------------------------------------------------------------------------------------------
# End to end


@pytest.mark.parametrize("case", range(len(PROBLEM_CASES)))
def test_pa_reaches_the_brute_force_optimum(case):
    kind, n, kw = PROBLEM_CASES[case]
    doc = random_document(kind, n, seed=400 + case, **kw)
    problem = decode_problem(encode_json(doc))
    best, _ = brute_force(problem)
    out = solve(targets.PA, doc, {"seed": 7 + case, "number_of_solutions": 3,
                                  "constant_population": case % 2 == 0})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] == pytest.approx(best, abs=1e-9)
    assert_consistent(problem, out.result, k=3)
    assert len(out.result["solutions"]) == 3


def test_pa_with_culling_fraction_and_geometric_beta():
    doc = random_document("pubo", 10, seed=9, higher=True)
    best, _ = brute_force(decode_problem(encode_json(doc)))
    out = solve(targets.PA, doc, {"seed": 1, "culling_fraction": 0.2, "sweeps": 200,
                                  "beta": {"type": "geometric", "initial": 0.05, "final": 20.0}})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] == pytest.approx(best, abs=1e-9)
    assert out.result["parameters"]["culling_fraction"] == 0.2


def test_pa_same_seed_same_result_any_threads_and_seeds_differ():
    doc = rrg3_document(200, seed=5)
    params = {"sweeps": 20, "population": 40, "number_of_solutions": 3}
    a = solve(targets.PA, doc, {**params, "seed": 3}).result
    b = solve(targets.PA, doc, {**params, "seed": 3}, threads=2).result
    c = solve(targets.PA, doc, {**params, "seed": 4}).result
    assert a["solutions"] == b["solutions"]
    assert a["solutions"] != c["solutions"]


def test_pa_timeout_and_should_stop():
    doc = rrg3_document(400, seed=6)
    t0 = time.monotonic()
    out = solve(targets.PA, doc, {"seed": 1, "sweeps": 10**9, "timeout": 0.4})
    assert out.status == RunOutcome.SUCCEEDED and time.monotonic() - t0 < 3.0
    model = model_of(doc)
    calls = []
    res = population_annealing(ctx_for(model, {"sweeps": 10**9}, should_stop=lambda: len(calls) > 2,
                                       report=lambda d, b: calls.append(d)))
    assert res.stopped_early and 0 < res.sweeps_done < 10**9 and res.states
    none = population_annealing(ctx_for(model, {}, should_stop=lambda: True))
    assert none.sweeps_done == 0 and len(none.states) == 1


def test_poisson_reference_replays_the_kernel_draws():
    """The Poisson sampler against a Python replay of Knuth's method on the same stream."""
    st = padded_rng_states(9, 1)
    ref = PyRng(st)
    for lam in (0.5, 2.0, 7.0):
        for _ in range(50):
            got = K.poisson(st, 0, lam)
            limit, x, prod = math.exp(-lam), 0, ref.rand01(0)
            while prod > limit:
                x += 1
                prod *= ref.rand01(0)
            assert got == x
