"""Substochastic Monte Carlo (`microsoft.substochasticmontecarlo.cpu`): the resampling step against a slow
reference, the random-walk step's semantics, and the solver end to end."""
from __future__ import annotations

import time

import numpy as np
import pytest
from pop_cases import PROBLEM_CASES, assert_consistent, solve, warm_kernels  # noqa: F401  (autouse)
from solver_core_cases import brute_force, random_document, rrg3_document

from contracts import targets
from contracts.problems import decode_problem, encode_json
from contracts.runner import RunOutcome
from solver_runner.kernels import ssmc as K
from solver_runner.kernels.common import energies_of
from solver_runner.kernels.rng import RNG_STRIDE, padded_rng_states
from solver_runner.model import compile_problem, model_arrays
from solver_runner.params import ssmc_parameters
from solver_runner.solvers.base import SolveContext
from solver_runner.solvers.ssmc import SsmcRun, substochastic_monte_carlo


def model_of(doc):
    return compile_problem(decode_problem(encode_json(doc)))


def ctx_for(model, params, *, seed=1, k=1, should_stop=lambda: False, report=lambda *a: None):
    return SolveContext(model, params, 1, seed, k, None, should_stop, report)


def population(R, n, seed):
    rng = np.random.default_rng(seed)
    S = rng.integers(0, 2, size=(R, n)).astype(np.int8)
    F = rng.normal(size=(R, n))
    L = np.zeros((R, 0))
    E = rng.normal(size=R) * 5
    fam = np.arange(R, dtype=np.int64)
    return S, F, L, E, fam


def test_resampling_keeps_the_size_and_follows_the_normalised_weights():
    R, n, beta = 10, 4, 3.0
    S0, F0, L0, E0, fam0 = population(R, n, 1)
    weights = np.exp(beta * (E0.max() - E0) / (E0.max() - E0.min()))
    tau = R * weights / weights.sum()
    st = padded_rng_states(2, R + 1)
    copies = np.zeros(R)
    trials = 3000
    for _ in range(trials):
        S, F, L, E, fam = (a.copy() for a in (S0, F0, L0, E0, fam0))
        counts = np.zeros(R, np.int64)
        replaced = K.ssmc_resample(R, beta, S, F, L, E, fam, counts, np.zeros(R), st, R * RNG_STRIDE)
        assert replaced == int((counts == 0).sum())
        assert counts.sum() == R and np.all(np.abs(counts - tau) < 1)  # floor or floor + 1 copies
        # rows travel whole: every slot holds some original walker's (state, field, cost)
        for i in range(R):
            j = fam[i]
            assert np.array_equal(S[i], S0[j]) and np.array_equal(F[i], F0[j]) and E[i] == E0[j]
        copies += np.bincount(fam, minlength=R)
    assert np.allclose(copies / trials, tau, atol=0.05)  # expected copies = tau (floor + residual is unbiased)


def test_resampling_is_neutral_at_beta_zero_and_for_equal_costs():
    R = 8
    for beta, E in ((0.0, np.arange(R, dtype=np.float64)), (4.0, np.full(R, 3.0))):
        S, F, L, _, fam = population(R, 3, 2)
        counts = np.zeros(R, np.int64)
        assert K.ssmc_resample(R, beta, S, F, L, E.copy(), fam, counts, np.zeros(R),
                               padded_rng_states(1, R + 1), R * RNG_STRIDE) == 0
        assert np.array_equal(fam, np.arange(R))


def test_walkers_do_not_move_when_alpha_is_zero():
    model = model_of(rrg3_document(30, seed=1))
    params = ssmc_parameters(ctx_for(model, {"step_limit": 50, "alpha": {"type": "linear", "initial": 0.0,
                                                                        "final": 0.0}}))
    run = SsmcRun(model, params, seed=3)
    start = {s.tobytes() for s in run.S}
    run.advance(50)
    assert {s.tobytes() for s in run.S} <= start  # resampling only copies walkers


def test_random_steps_flip_alpha_over_steps_per_walker_on_average():
    model = model_of(rrg3_document(200, seed=2))
    for spw, alpha in ((1, 1.0), (4, 1.0), (4, 0.5)):
        params = ssmc_parameters(ctx_for(model, {"step_limit": 1, "steps_per_walker": spw, "target_population": 2000,
                                                 "alpha": {"type": "linear", "initial": alpha, "final": alpha}}))
        run = SsmcRun(model, params, seed=5)
        before = run.S.copy()
        R = before.shape[0]
        K.random_steps(R, run.S, run.F, run.L, run.E, run.bestS, run.bestE, run.rng, alpha / spw, spw,
                       model.ising, model.has_higher, model.has_slc, run.M)
        changed = (before != run.S).sum(axis=1)  # ≈ flips (a variable hit twice flips back, rare at n = 200)
        assert changed.mean() == pytest.approx(alpha, rel=0.1)
        assert np.allclose(run.E, energies_of(run.S, model.constant, model_arrays(model)))


def test_ssmc_defaults_are_echoed():
    out = solve(targets.SSMC, random_document("pubo", 8, seed=3), {"seed": 4, "step_limit": 100})
    assert out.result["parameters"] == {
        "alpha": {"type": "linear", "initial": 1.0, "final": 0.0},
        "beta": {"type": "linear", "initial": 0.001, "final": 5.0},
        "seed": 4, "step_limit": 100, "steps_per_walker": 1, "target_population": 64,
    }


@pytest.mark.parametrize("case", range(len(PROBLEM_CASES)))
def test_ssmc_reaches_the_brute_force_optimum(case):
    kind, n, kw = PROBLEM_CASES[case]
    doc = random_document(kind, n, seed=500 + case, **kw)
    problem = decode_problem(encode_json(doc))
    best, _ = brute_force(problem)
    out = solve(targets.SSMC, doc, {"seed": 3 + case, "step_limit": 3000, "number_of_solutions": 3,
                                    "steps_per_walker": 1 + case % 3})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] == pytest.approx(best, abs=1e-9)
    assert_consistent(problem, out.result, k=3)
    assert len(out.result["solutions"]) == 3


def test_ssmc_same_seed_same_result_any_threads_and_seeds_differ():
    doc = rrg3_document(300, seed=5)
    params = {"step_limit": 300, "target_population": 32, "number_of_solutions": 2}
    a = solve(targets.SSMC, doc, {**params, "seed": 3}).result
    b = solve(targets.SSMC, doc, {**params, "seed": 3}, threads=2).result
    c = solve(targets.SSMC, doc, {**params, "seed": 4}).result
    assert a["solutions"] == b["solutions"]
    assert a["solutions"] != c["solutions"]


def test_ssmc_timeout_and_should_stop():
    doc = rrg3_document(300, seed=6)
    t0 = time.monotonic()
    out = solve(targets.SSMC, doc, {"seed": 1, "step_limit": 10**9, "timeout": 0.4})
    assert out.status == RunOutcome.SUCCEEDED and time.monotonic() - t0 < 3.0
    model = model_of(doc)
    calls = []
    res = substochastic_monte_carlo(ctx_for(model, {"step_limit": 10**9}, should_stop=lambda: len(calls) > 2,
                                            report=lambda d, b: calls.append(d)))
    assert res.stopped_early and 0 < res.sweeps_done < 10**9 and res.states
