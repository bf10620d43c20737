"""QMC (`microsoft.qmc.cpu`) and the SQA benchmark kernel: optimality, result consistency, reproducibility, stopping,
exact replay of the kernels' moves by a slow Python reference, and sampling of the exact Suzuki–Trotter weights."""
from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
from pop_cases import PROBLEM_CASES, PyRng, assert_consistent, solve, warm_kernels  # noqa: F401  (autouse)
from solver_core_cases import brute_force, random_document, rrg3_document

from contracts import targets
from contracts.problems import decode_problem, encode_json, problem_document
from contracts.runner import RunOutcome
from solver_runner.kernels.common import energies_of
from solver_runner.kernels.rng import padded_rng_states
from solver_runner.model import compile_problem, model_arrays
from solver_runner.solvers.base import SolveContext
from solver_runner.solvers.qmc import quantum_monte_carlo
from solver_runner.solvers.walkers import QmcState, bond_probability, sqa_sweeps


def model_of(doc, dense=None):
    return compile_problem(decode_problem(encode_json(doc)), dense=dense)


# ----------------------------------------------------------------------------------------------------------------
# End to end


@pytest.mark.parametrize("case", range(len(PROBLEM_CASES)))
def test_qmc_reaches_the_brute_force_optimum(case):
    kind, n, kw = PROBLEM_CASES[case]
    doc = random_document(kind, n, seed=300 + case, **kw)
    problem = decode_problem(encode_json(doc))
    best, _ = brute_force(problem)
    out = solve(targets.QMC, doc, {"seed": 5 + case, "sweeps": 300, "number_of_solutions": 4})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] == pytest.approx(best, abs=1e-9)
    assert_consistent(problem, out.result, k=4)
    assert len(out.result["solutions"]) == 4


def test_qmc_echoes_effective_parameters_with_service_names():
    doc = random_document("ising", 8, seed=1)
    p = solve(targets.QMC, doc, {"seed": 3, "sweeps": 20, "transverse_field_start": 2.5, "beta_start": 1.5,
                                 "trotter_number": 4, "restarts": 2}).result["parameters"]
    assert p == {"beta_start": 1.5, "beta_stop": 1.5, "restarts": 2, "seed": 3, "sweeps": 20,
                 "transverse_field_high": 2.5, "transverse_field_low": 0.0, "trotter_number": 4}
    d = solve(targets.QMC, doc, {"seed": 3, "sweeps": 20}).result["parameters"]
    assert d["trotter_number"] == 8 and d["restarts"] == 4 and d["beta_start"] == d["beta_stop"] > 0
    # the default field starts with 1% bond probability between slices
    assert bond_probability(d["beta_start"], d["transverse_field_high"], 8) == pytest.approx(0.01)


def test_qmc_same_seed_same_result_and_seeds_differ():
    doc = rrg3_document(60, seed=2)
    params = {"sweeps": 15, "restarts": 2, "trotter_number": 4, "number_of_solutions": 3}
    a = solve(targets.QMC, doc, {**params, "seed": 9}).result
    b = solve(targets.QMC, doc, {**params, "seed": 9}, threads=2).result
    c = solve(targets.QMC, doc, {**params, "seed": 10}).result
    assert a["solutions"] == b["solutions"]
    assert a["solutions"] != c["solutions"]


def test_qmc_timeout_and_should_stop_end_a_long_run():
    doc = rrg3_document(300, seed=3)
    t0 = time.monotonic()
    out = solve(targets.QMC, doc, {"seed": 1, "sweeps": 10**9, "timeout": 0.4})
    assert out.status == RunOutcome.SUCCEEDED and time.monotonic() - t0 < 3.0
    assert out.result["parameters"]["timeout"] == 0.4

    model = model_of(doc)
    calls = []
    ctx = SolveContext(model, {"sweeps": 10**9}, 1, 1, 1, None, lambda: len(calls) > 3,
                       lambda done, best: calls.append((done, best)))
    res = quantum_monte_carlo(ctx)
    assert res.stopped_early and 0 < res.sweeps_done < 10**9 and len(res.states) == 1
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_qmc_stopped_before_the_first_chunk_still_returns_a_state():
    model = model_of(random_document("pubo", 6, seed=4))
    ctx = SolveContext(model, {}, 1, 1, 2, None, lambda: True, lambda *a: None)
    res = quantum_monte_carlo(ctx)
    assert res.stopped_early and res.sweeps_done == 0 and 1 <= len(res.states) <= 2


# ----------------------------------------------------------------------------------------------------------------
# Kernel moves against slow references


def _spin(v, ising):
    return int(v) if ising else 2 * int(v) - 1


def py_cluster_sweep(S, F, model, bp, bond_p, rng, kr):
    """Slow copy of kernels.qmc.ring_clusters + cluster_sweep_quadratic (same draws, same float operations)."""
    P, n = S.shape
    ising = model.ising
    for i in range(n):
        de = [(-2.0 * S[k, i] if ising else 1.0 - 2.0 * S[k, i]) * F[k, i] for k in range(P)]
        bond = [False] * P
        cut = -1
        for k in range(P):
            b = False
            if P > 1 and S[k, i] == S[(k + 1) % P, i]:
                b = True if bond_p >= 1.0 else (rng.rand01(kr) < bond_p if bond_p > 0.0 else False)
            bond[k] = b
            if not b and cut < 0:
                cut = k
        flip = [False] * P

        def accept(tot):
            x = bp * tot
            return x <= 0.0 or (x < 40.0 and rng.rand01(kr) < math.exp(-x))

        if cut < 0:
            tot = 0.0
            for k in range(P):
                tot += de[k]
            flip = [accept(tot)] * P
        else:
            k = (cut + 1) % P
            visited = 0
            while visited < P:
                members = [k]
                tot = de[k]
                while bond[k]:
                    k = (k + 1) % P
                    tot += de[k]
                    members.append(k)
                ok = accept(tot)
                for q in members:
                    flip[q] = ok
                visited += len(members)
                k = (k + 1) % P
        for k in range(P):
            if flip[k]:
                d = -2.0 * S[k, i] if ising else 1.0 - 2.0 * S[k, i]
                S[k, i] += int(d)
                for p in range(model.adj_ptr[i], model.adj_ptr[i + 1]):
                    F[k, model.adj_idx[p]] += model.adj_w[p] * d


@pytest.mark.parametrize("kind,dense", [("ising", False), ("pubo", False), ("ising", True), ("pubo", True)])
@pytest.mark.parametrize("gamma", [0.0, 0.3, 2.0, 50.0])
def test_cluster_sweeps_replay_exactly_in_python(kind, dense, gamma):
    model = model_of(random_document(kind, 7, seed=11, density=0.6), dense=dense)
    beta, P = 1.3, 4
    state = QmcState(model, 1, P, beta, seed=21)
    S = state.S[0].astype(np.int64)
    F = state.F[0].copy()
    rng = PyRng(state.rng)
    for _ in range(6):
        state.sweep(np.array([gamma]))
        py_cluster_sweep(S, F, model, beta / P, bond_probability(beta, gamma, P), rng, 0)
    assert np.array_equal(state.S[0], S)
    assert np.allclose(state.F[0], F)
    assert rng.st[0] == int(state.rng[0])
    # incremental slice energies stay exact, and the best-k set holds real states
    assert np.allclose(state.E[0], energies_of(state.S[0], model.constant, model_arrays(model)))


def py_sqa_sweep(S, F, model, bp, log_t, rng, kr):
    P, n = S.shape
    ising = model.ising
    for k in range(P):
        for i in range(n):
            si = S[k, i]
            d = -2.0 * si if ising else 1.0 - 2.0 * si
            x = -bp * d * F[k, i]
            if P > 1:
                m = _spin(si, ising) * (_spin(S[k - 1, i], ising) + _spin(S[(k + 1) % P, i], ising))
                if m != 0:
                    x += m * log_t
            if x < 0.0:
                if x < -40.0 or rng.rand01(kr) >= math.exp(x):
                    continue
            S[k, i] = si + int(d)
            for p in range(model.adj_ptr[i], model.adj_ptr[i + 1]):
                F[k, model.adj_idx[p]] += model.adj_w[p] * d


@pytest.mark.parametrize("kind", ["ising", "pubo"])
def test_sqa_sweeps_replay_exactly_in_python(kind):
    model = model_of(random_document(kind, 9, seed=12, density=0.4), dense=False)
    P, beta, seed = 3, 2.0, 17
    gammas = np.array([3.0, 1.0, 0.2, 0.0])
    out = sqa_sweeps(model, P, beta, gammas, seed)
    assert out["updates"] == len(gammas) * P * model.n
    assert np.allclose(out["energies"][0], energies_of(out["states"][0], model.constant, model_arrays(model)))
    # replay: same initial slices (random_state draws 1 bit per variable from stream 0), same fields, same moves
    rng = PyRng(padded_rng_states(seed, 1))
    values = (-1, 1) if model.ising else (0, 1)
    S = np.array([[values[rng.next_u64(0) >> 63] for _ in range(model.n)] for _ in range(P)], np.int64)
    F = np.empty((P, model.n))
    for k in range(P):
        for i in range(model.n):
            acc = model.h[i]
            for p in range(model.adj_ptr[i], model.adj_ptr[i + 1]):
                acc += model.adj_w[p] * S[k, model.adj_idx[p]]
            F[k, i] = acc
    with np.errstate(divide="ignore"):
        log_ts = np.log(np.tanh(beta * gammas / P))
    for t in range(len(gammas)):
        py_sqa_sweep(S, F, model, beta / P, log_ts[t], rng, 0)
    assert np.array_equal(out["states"][0], S)


# ----------------------------------------------------------------------------------------------------------------
# Both moves sample the Suzuki–Trotter distribution


def trotter_distribution(model, P, beta, gamma):
    """Exact weights of all (slice 0, ..., slice P−1) configurations, flattened slice-major like S[r]."""
    values = (-1, 1) if model.ising else (0, 1)
    M = model_arrays(model)
    n = model.n
    configs = np.array(list(itertools.product(values, repeat=n * P)), np.int8)
    slices = configs.reshape(-1, P, n)
    E = energies_of(slices.reshape(-1, n), model.constant, M).reshape(-1, P)
    sigma = slices.astype(np.int64) if model.ising else 2 * slices.astype(np.int64) - 1
    ring = (sigma * np.roll(sigma, -1, axis=1)).sum(axis=(1, 2))
    j_perp = -0.5 * math.log(math.tanh(beta * gamma / P))
    logw = -(beta / P) * E.sum(axis=1) + j_perp * ring
    w = np.exp(logw - logw.max())
    return configs, w / w.sum()


def empirical(configs, samples):
    index = {c.tobytes(): j for j, c in enumerate(configs)}
    counts = np.zeros(len(configs))
    for s in samples:
        counts[index[s.tobytes()]] += 1
    return counts / counts.sum()


SAMPLING_CASES = [
    ("ising", [(0.7, [0]), (-0.4, [1]), (-1.0, [0, 1])], 3, 1.2, 0.8),
    ("pubo", [(1.5, [0]), (-1.0, [1]), (-2.0, [0, 1]), (0.5, [])], 3, 1.5, 1.0),
    ("ising", [(0.5, [0]), (0.8, [0, 1]), (-0.6, [0, 1, 2]), (0.3, [2])], 2, 1.0, 0.6),  # degree 3: generic path
]


@pytest.mark.parametrize("case", range(len(SAMPLING_CASES)))
def test_cluster_and_local_moves_sample_the_trotter_distribution(case):
    kind, terms, P, beta, gamma = SAMPLING_CASES[case]
    model = model_of(problem_document(kind, terms))
    configs, exact = trotter_distribution(model, P, beta, gamma)
    restarts = 20000
    state = QmcState(model, restarts, P, beta, seed=case)
    state.sweep(np.full(20, gamma))
    cluster = empirical(configs, state.S.reshape(restarts, -1))
    mixed = QmcState(model, restarts, P, beta, seed=case + 100)
    mixed.sweep(np.full(15, gamma), local=True)  # what the solver runs: cluster pass + local pass
    both = empirical(configs, mixed.S.reshape(restarts, -1))
    local = empirical(configs, sqa_sweeps(model, P, beta, np.full(40, gamma), seed=case, restarts=restarts,
                                          threads=2)["states"].reshape(restarts, -1))
    for sampled in (cluster, both, local):
        assert 0.5 * np.abs(sampled - exact).sum() < 0.03
    assert np.allclose(mixed.E, energies_of(mixed.S.reshape(-1, model.n), model.constant,
                                            model_arrays(model)).reshape(restarts, P))

