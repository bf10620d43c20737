"""The dense SA kernel (solver_runner.kernels.dense) against a slow, obvious reference: float64 state, the same
uniform per attempt, the move taken iff ΔE < −ln(u)/β with ΔE from the exact dot product. The kernel decides most
attempts on int32 fields and float32 thresholds; where its bounds say it cannot, it takes the reference's test. So
the states must be the same, bit for bit; and the thresholds must bound what they claim to."""
from __future__ import annotations

import itertools
import math

import numba
import numpy as np
import pytest
from lane_cases import boltzmann, chi_square_ok, model_of
from numba import njit
from solver_core_cases import random_document

from contracts import errors, targets
from contracts.problems import encode_json, problem_document
from contracts.runner import RunOutcome, RunRequest
from solver_runner import entry
from solver_runner.kernels import dense as K
from solver_runner.kernels.common import energies_of
from solver_runner.kernels.rng import RNG_STRIDE
from solver_runner.model import model_arrays
from solver_runner.solvers import base
from solver_runner.solvers.dense import (
    DENSE_ATTEMPTS_PER_ENTRY,
    DENSE_EXTRA_BYTES,
    DENSE_MIN_ATTEMPTS,
    dense_fits,
    dense_form,
)
from solver_runner.solvers.walkers import DenseAnneal, anneal_run, anneal_state


@njit(cache=False)
def reference_anneal(S, rng, betas, ising, h, dense):
    """Walker by walker, sweep by sweep, variable by variable: u from kernels.dense.uniform, ΔE from
    kernels.dense.exact_delta on the float64 state; the move iff ΔE < −ln(u)/β."""
    R, n = S.shape
    for r in range(R):
        k = r * RNG_STRIDE
        for t in range(betas.shape[0]):
            sweep = rng[k + 1]
            ka, kb, k2 = K.sweep_keys(rng[k], sweep)
            rng[k + 1] = sweep + np.uint64(1)
            for i in range(n):
                si = S[r, i]
                d = -2.0 * si if ising else 1.0 - 2.0 * si
                if K.exact_delta(S[r], d, h, dense, i) < -math.log(K.uniform(ka, kb, k2, i)) / betas[t]:
                    S[r, i] = si + np.int8(d)


def gaussian_document(kind: str, n: int, seed: int, spread: float = 1.0) -> dict:
    """Every pair coupled (Gaussian), a Gaussian field on each variable; `spread` > 1 multiplies one coupling, which
    coarsens the int16 rounding of all the others."""
    rng = np.random.default_rng(seed)
    terms = [(float(rng.normal()), [i]) for i in range(n)]
    terms += [(float(rng.normal()) / math.sqrt(n), [i, j]) for i in range(n) for j in range(i + 1, n)]
    terms[n] = (terms[n][0] * spread, terms[n][1])
    terms.append((1.5, []))
    return problem_document(kind, terms)


def schedule(sweeps: int) -> np.ndarray:
    return np.geomspace(0.05, 20.0, sweeps)


@pytest.mark.parametrize("kind", ["ising", "pubo"])
@pytest.mark.parametrize("n,spread", [(5, 1.0), (16, 1.0), (37, 1.0), (37, 3e4)])
def test_the_same_states_as_the_float64_reference(kind, n, spread):
    model = model_of(gaussian_document(kind, n, seed=n, spread=spread), dense=True)
    assert dense_fits(model) == (spread == 1.0)  # so coarse a rounding: SA keeps the scalar kernel (below)
    state = DenseAnneal(model, 3, seed=11)
    S = np.ascontiguousarray(state.S[:, :n])
    rng = state.rng.copy()
    betas = schedule(40)
    state.sweep(betas)
    reference_anneal(S, rng, betas, model.ising, model.h, model.dense)
    assert np.array_equal(state.S[:, :n], S)
    assert not state.S[:, n:].any()  # padding lanes never move
    assert np.array_equal(state.rng, rng)  # one sweep counted per sweep


def test_coarse_rounding_sends_attempts_to_the_exact_test():
    """The spread case above rounds the couplings so coarsely that the band holds a good share of attempts (else
    that test would not reach the kernel's exact path)."""
    model = model_of(gaussian_document("ising", 37, seed=37, spread=3e4), dense=True)
    form = dense_form(model)
    fields = np.abs(model.h) + np.abs(model.dense).sum(axis=1)
    assert (form.ws[:37] / form.scale).min() > 0.05 * np.median(fields)


def test_fields_are_the_quantised_model_and_within_their_bound():
    model = model_of(gaussian_document("pubo", 29, seed=3), dense=True)
    form = dense_form(model)
    state = DenseAnneal(model, 8, seed=2)
    state.sweep(schedule(5))
    x = state.S[:, :29].astype(np.float64)
    Jq = form.Jd.astype(np.float64)  # PUBO: Jd = round(J·scale)
    assert np.array_equal(state.F[:, :29], (form.hq + x @ Jq).astype(np.int32))
    exact = model.h + x @ model.dense
    assert np.all(np.abs(state.F[:, :29] / form.scale - exact) <= form.ws[:29] / form.scale)


def test_kept_energies_are_the_quantised_models_and_the_best_cost_is_exact():
    """E is c + Σ x_i (hq_i + f_i) / 2 / scale for the current state (a function of the state, the same in every
    walker), within the logged bound of the exact energy; best_cost() is the exact cost of the best kept state."""
    for kind in ("ising", "pubo"):
        model = model_of(gaussian_document(kind, 23, seed=4), dense=True)
        form = dense_form(model)
        state = DenseAnneal(model, 6, seed=9)
        for _ in range(3):
            state.sweep(schedule(7))
            x = state.S[:, :23].astype(np.int64)
            quantised = model.constant + (x * (form.hq + state.F[:, :23])).sum(axis=1) / (2.0 * form.scale)
            assert np.allclose(state.E, quantised, rtol=1e-12, atol=1e-12)
            exact = energies_of(np.ascontiguousarray(state.S[:, :23]), float(model.constant), model_arrays(model))
            err = np.abs(model.h * form.scale - form.hq).sum() + np.abs(model.dense * form.scale
                                                                        - form.Jd / (2 if kind == "ising" else 1)).sum()
            assert np.all(np.abs(state.E - exact) <= err / form.scale + 1e-9)
            best = state.topS[int(np.argmin(state.topE[:, 0])), 0]
            assert state.best_cost() == energies_of(best[None, :].copy(), float(model.constant),
                                                    model_arrays(model))[0]


def test_thresholds_bound_every_uniform_of_their_bucket():
    """Kc/Ks against float64 logs at both ends of each uniform's 2^-31 bucket: a quantised ΔE below Ks accepts for
    every uniform in the bucket even with the field off by its bound, and one at or above Kc rejects for all."""
    rng = np.random.default_rng(5)
    n = 4096
    idx = np.arange(n).astype(np.uint32)
    for beta, scale in ((0.01, 2.0**16), (1.0, 2.0**16), (30.0, 2.0**20), (3.0, 2.0**4)):
        ws = rng.uniform(1.0, 300.0, n).astype(np.float32)
        Kc = np.zeros(n, np.int32)
        Ks = np.zeros(n, np.int32)
        ka, kb = np.uint32(rng.integers(2**32)), np.uint32(rng.integers(2**32))
        K.thresholds(idx, ka, kb, n, np.float32(scale / beta), ws, Kc, Ks)
        h = np.array([K._top31(np.uint32(i), ka, kb) for i in range(n)], np.int64)
        t_small = -np.log((h + 1) * 2.0**-31)  # the bucket's largest u
        t_large = -np.log(np.maximum(h, 1) * 2.0**-31)  # the bucket's smallest u
        w = ws.astype(np.float64)
        free = h >= 1 << 16
        sure = free & (Ks > -K.LIMIT)
        assert np.all((Ks[sure] - 1 + w[sure]) / scale < t_small[sure] / beta)
        may = free & (Kc < K.LIMIT)
        assert np.all((Kc[may] - w[may]) / scale >= t_large[may] / beta)
        assert np.all(Kc[~free] == K.LIMIT) and np.all(Ks[~free] == -K.LIMIT)
        assert np.all(Ks <= Kc)


def test_results_do_not_depend_on_the_thread_count():
    model = model_of(gaussian_document("ising", 40, seed=1), dense=True)
    out = []
    for threads in (1, 2):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        state = DenseAnneal(model, 6, seed=4)
        state.sweep(schedule(30))
        out.append((state.S.copy(), state.topS.copy(), state.topE.copy()))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(*out):
        assert np.array_equal(a, b)


def test_a_run_split_into_walker_groups_is_the_same_run():
    model = model_of(gaussian_document("pubo", 21, seed=8), dense=True)
    whole, split = DenseAnneal(model, 5, seed=3), DenseAnneal(model, 5, seed=3)
    betas = schedule(12)
    whole.sweep(betas)
    for lo in range(5):
        split.sweep(betas, lo, lo + 1)
    assert np.array_equal(whole.S, split.S) and np.array_equal(whole.topE, split.topE)


def test_sa_takes_the_dense_kernel_for_dense_quadratic_inputs_only():
    dense = model_of(gaussian_document("ising", 12, seed=1), dense=True)
    assert type(anneal_state(dense, 8, 1)).__name__ == "DenseAnneal"
    assert type(anneal_state(dense, 1, 1)).__name__ == "DenseAnneal"
    assert type(anneal_state(dense, 8, 1, kernel="scalar")).__name__ == "AnnealState"
    assert type(anneal_state(dense, 8, 1, kernel="dense")).__name__ == "DenseAnneal"
    sparse = model_of(random_document("pubo", 12, seed=1, density=0.1), dense=False)
    assert not dense_fits(sparse)
    assert type(anneal_state(sparse, 8, 1, kernel="dense")).__name__ == "AnnealState"
    higher = model_of(random_document("pubo", 8, seed=1, higher=True, density=1.0), dense=True)
    assert not dense_fits(higher)
    with pytest.raises(NotImplementedError):
        DenseAnneal(dense, 2, 1).sweep_each(np.ones(2))


def test_sa_takes_the_dense_kernel_only_for_runs_long_enough_to_pay_for_its_start():
    """dense_form and the kernel's start cost ~0.2 ms at tens of variables and grow with n²: a run of fewer spin-flip
    attempts than DENSE_MIN_ATTEMPTS + DENSE_ATTEMPTS_PER_ENTRY·n² keeps the scalar kernel, unless "dense" is asked
    for."""
    n = 40
    model = model_of(gaussian_document("ising", n, seed=4), dense=True)
    bound = DENSE_MIN_ATTEMPTS + DENSE_ATTEMPTS_PER_ENTRY * n * n
    long_sweeps = int(bound // (n * 8)) + 1
    assert not dense_fits(model, n * 20 * 1) and not dense_fits(model, int(bound) - 1)
    assert dense_fits(model, n * long_sweeps * 8) and dense_fits(model)  # no length given: any run
    assert type(anneal_state(model, 1, 1, sweeps=20)).__name__ == "AnnealState"  # a tiny job's run
    assert type(anneal_state(model, 8, 1, sweeps=long_sweeps)).__name__ == "DenseAnneal"
    assert type(anneal_state(model, 1, 1, sweeps=20, kernel="dense")).__name__ == "DenseAnneal"
    assert anneal_run(model, schedule(20), 1, seed=1)["kernel"] == "AnnealState"
    assert anneal_run(model, schedule(long_sweeps), 8, seed=1)["kernel"] == "DenseAnneal"
    # the bound grows with n²: 200 variables need more attempts than 40 do
    wide = model_of(gaussian_document("ising", 200, seed=4), dense=True)
    between = int(bound) + 5000
    assert dense_fits(model, between) and not dense_fits(wide, between)
    assert dense_fits(wide, int(DENSE_MIN_ATTEMPTS + DENSE_ATTEMPTS_PER_ENTRY * 200 * 200))


def test_sa_keeps_the_scalar_kernel_where_int16_rounds_the_typical_coefficient_away():
    """One coupling 3·10⁴ times the others forces a scale that rounds most couplings to a few quanta: the decisions
    would still be exact, but kept states are ordered by the quantised energy, so SA keeps the scalar kernel."""
    coarse = model_of(gaussian_document("ising", 37, seed=37, spread=3e4), dense=True)
    assert not dense_form(coarse).precise and not dense_fits(coarse)
    assert type(anneal_state(coarse, 8, 1)).__name__ == "AnnealState"
    assert type(anneal_state(coarse, 8, 1, kernel="dense")).__name__ == "AnnealState"
    fine = model_of(gaussian_document("ising", 37, seed=37), dense=True)
    assert dense_form(fine).precise and type(anneal_state(fine, 8, 1)).__name__ == "DenseAnneal"


def test_it_keeps_each_walkers_best_k_distinct_states():
    model = model_of(gaussian_document("ising", 10, seed=6), dense=True)
    state = anneal_state(model, 4, seed=2, keep=3)
    assert isinstance(state, DenseAnneal)
    state.sweep(np.full(50, 0.3))
    S, E = state.candidates()
    assert S.shape == (12, 10)
    for r in range(4):
        rows = {tuple(row) for row in state.topS[r]}
        assert len(rows) == 3
    exact = energies_of(S, float(model.constant), model_arrays(model))
    # kept energies move by quantised ΔEs: off the exact ones by far less than the gaps between states here
    assert np.allclose(E, exact, atol=1e-3)


@pytest.mark.parametrize("kind", ["ising", "pubo"])
def test_it_samples_the_boltzmann_distribution(kind):
    """At a fixed β the kernel's states (thinned) follow the exact equilibrium distribution: its own uniforms
    give the Metropolis chain, as the scalar kernel's do."""
    model = model_of(gaussian_document(kind, 8, seed=9), dense=True)
    beta = 1.2
    state = DenseAnneal(model, 64, seed=5)
    samples = []
    for _ in range(40):
        state.sweep(np.full(5, beta))
        samples.append(energies_of(np.ascontiguousarray(state.S[:, :8]), float(model.constant), model_arrays(model)))
    ok, why = chi_square_ok(np.concatenate(samples[10:]), boltzmann(model, beta))
    assert ok, why


def test_sa_reaches_the_brute_force_optimum_on_the_dense_kernel():
    for kind in ("ising", "pubo"):
        model = model_of(gaussian_document(kind, 12, seed=21), dense=True)
        values = (-1, 1) if kind == "ising" else (0, 1)
        states = np.array(list(itertools.product(values, repeat=12)), np.int8)
        best = energies_of(states, float(model.constant), model_arrays(model)).min()
        out = anneal_run(model, schedule(200), 16, seed=1, kernel="dense")  # a run too short to take it unasked
        assert out["kernel"] == "DenseAnneal"
        assert out["energies"].min() == pytest.approx(best, abs=1e-9)


def test_sa_counts_the_dense_kernels_arrays_against_the_walker_memory_limit(monkeypatch):
    """A dense input's SA refuses, as too large, a restart count whose dense-kernel arrays would pass the limit
    (the scalar count alone would let it start)."""
    n, restarts = 30, 1000
    doc = gaussian_document("ising", n, seed=3)
    per_walker = n * (1 + 8 + 1) + 64
    monkeypatch.setattr(base, "WALKER_MEMORY_LIMIT_BYTES", restarts * (per_walker + n * DENSE_EXTRA_BYTES // 2))
    request = RunRequest("job", targets.SA, {"restarts": restarts, "sweeps": 2, "seed": 1}, encode_json(doc))
    out = entry.run(request, lambda: False, lambda p: None)
    assert out.status == RunOutcome.FAILED and out.error_code == errors.PROBLEM_TOO_LARGE
    monkeypatch.setattr(base, "WALKER_MEMORY_LIMIT_BYTES", restarts * (per_walker + n * DENSE_EXTRA_BYTES))
    assert entry.run(request, lambda: False, lambda p: None).status == RunOutcome.SUCCEEDED
