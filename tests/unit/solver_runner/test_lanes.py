"""The SIMD lane kernel (solver_runner.kernels.lanes) against a slow, obvious reference: the same Metropolis decision
(u < exp(−β·ΔE) on the same uniform) for every lane and variable, so the same states, fields and energies, in
float32 and float64 lanes; and the lane PT against the scalar PT in distribution."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from lane_cases import integer_document, model_of
from numba import njit
from solver_core_cases import random_document

from contracts.problems import encode_json
from contracts.runner import RunOutcome, RunRequest
from solver_runner import entry
from solver_runner.kernels import lanes as K
from solver_runner.kernels.rng import rng_states
from solver_runner.solvers import msc
from solver_runner.solvers.lanes import (
    MSC_MIN_WALKERS,
    LaneState,
    choose_kernel,
    energy_flush,
    float32_exact,
    msc_min_walkers,
)

MULT = 0x2545F4914F6CDD1D
MASK = (1 << 64) - 1


def _has_avx2() -> bool:
    import llvmlite.binding as ll
    return bool(ll.get_host_cpu_features().get("avx2"))


@njit(cache=False)
def reference_sweeps(S, F, E, st, betas_per_sweep, ising, adj_ptr, adj_idx, adj_w, dense):
    """Lane by lane, variable by variable: draw u = (x >> 11)·2⁻⁵³ from the lane's xorshift64*, take the move iff
    ΔE ≤ 0 or u < exp(−β·ΔE), update the lane's fields. float64 throughout."""
    n, W = S.shape
    for t in range(betas_per_sweep.shape[0]):
        for i in range(n):
            for w in range(W):
                x = st[w]
                x ^= x >> np.uint64(12)
                x ^= x << np.uint64(25)
                x ^= x >> np.uint64(27)
                st[w] = x
                u = float((x * np.uint64(MULT)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
                si = S[i, w]
                d = -2.0 * si if ising else 1.0 - 2.0 * si
                de = d * F[i, w]
                if de <= 0.0 or u < math.exp(-betas_per_sweep[t, w] * de):
                    S[i, w] = si + d
                    E[w] += de
                    if dense.shape[0] == n:
                        for j in range(n):
                            F[j, w] += dense[i, j] * d
                    else:
                        for p in range(adj_ptr[i], adj_ptr[i + 1]):
                            F[adj_idx[p], w] += adj_w[p] * d


def run_both(model, dt, sweeps, W, seed, beta_scale, flush=None):
    n = model.n
    flush = energy_flush(model, dt) if flush is None else flush
    rng = np.random.default_rng(seed)
    values = np.array([-1, 1] if model.ising else [0, 1], np.int8)
    rows = rng.choice(values, size=(W, n))
    dense = model.dense if model.dense is not None else np.zeros((0, 0))
    S = np.empty((n, W), dt)
    F = np.empty((n, W), dt)
    K.to_lanes(rows, S, F, model.h.astype(dt), model.adj_ptr, model.adj_idx, model.adj_w.astype(dt), dense.astype(dt))
    S0, F0 = S.astype(np.float64), F.astype(np.float64)
    st = rng_states(seed, W)
    betas = beta_scale * 10.0 ** rng.uniform(-2, 1, (sweeps, W))  # β·ΔE from ~0 to far past the cut-off at 40
    E = np.zeros(W)
    dm, ud = np.zeros(W, dt), np.zeros(W, dt)
    st_k = st.copy()
    for t in range(sweeps):
        K.lanes_sweep(S, F, E, st_k, betas[t].copy(), model.ising, model.adj_ptr, model.adj_idx,
                      model.adj_w.astype(dt), dense.astype(dt), dm, ud, flush, dt)
    E0 = np.zeros(W)
    reference_sweeps(S0, F0, E0, st, betas, model.ising, model.adj_ptr, model.adj_idx, model.adj_w, dense)
    return (S, F, E, st_k), (S0, F0, E0, st)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["ising", "pubo"])
@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("flush", [None, 7])
def test_same_decisions_as_the_reference_on_integer_problems(dt, kind, dense, flush):
    """flush None: the energies summed over the whole sweep in dt (energy_flush); 7: added to E every 7 variables."""
    model = model_of(integer_document(kind, 40, seed=5, weights=(-3, 3), density=0.15), dense=dense)
    assert float32_exact(model)
    (S, F, E, st), (S0, F0, E0, st0) = run_both(model, dt, sweeps=60, W=21, seed=9, beta_scale=1.0, flush=flush)
    assert np.array_equal(S.astype(np.float64), S0)
    assert np.array_equal(F.astype(np.float64), F0)
    assert np.array_equal(E, E0)
    assert np.array_equal(st, st0)  # one draw per lane and variable, as in the reference


@pytest.mark.parametrize("kind", ["ising", "pubo"])
def test_same_decisions_as_the_reference_on_real_coefficients(kind):
    model = model_of(random_document(kind, 30, seed=3, density=0.2))
    assert not float32_exact(model)
    (S, F, E, _), (S0, F0, E0, _) = run_both(model, np.float64, sweeps=60, W=13, seed=4, beta_scale=2.0)
    assert np.array_equal(S, S0)
    assert np.array_equal(F, F0)
    assert np.allclose(E, E0, rtol=0.0, atol=1e-9)  # summed per sweep, not per move: the same up to rounding


def test_float32_lanes_decide_the_rare_close_calls_exactly():
    """Enough uphill draws (~10⁶) that float32's bracket leaves some to the exact test: still the same result."""
    model = model_of(integer_document("ising", 200, seed=8, weights=(-2, 2), density=0.02))
    (S, F, E, _), (S0, F0, E0, _) = run_both(model, np.float32, sweeps=80, W=64, seed=2, beta_scale=0.3)
    assert np.array_equal(S.astype(np.float64), S0)
    assert np.array_equal(E, E0)


def test_float32_only_where_exact():
    assert float32_exact(model_of(integer_document("pubo", 10, seed=1, weights=(-100, 100))))
    assert float32_exact(model_of(problem_with([(0.25, [0, 1]), (-0.75, [1, 2]), (3.0, [0])])))
    assert not float32_exact(model_of(problem_with([(0.1, [0, 1]), (1.0, [1, 2])])))
    assert not float32_exact(model_of(problem_with([(2.0**24, [0, 1]), (1.0, [1, 2])])))


def test_float32_energy_sums_stay_exact_with_large_fields():
    """Fields up to ~2²³ make each move's ΔE up to ~2²⁴: summed over a sweep in float32 they would round, so
    energy_flush adds them to the float64 energies every few variables. After hot sweeps (most moves taken) every
    lane's energy must equal its state's energy recomputed from scratch."""
    rng = np.random.default_rng(3)
    n = 48
    terms = [(float(rng.choice([-1, 1]) * rng.integers(200_000, 350_000)), [a, b])
             for a in range(n) for b in range(a + 1, n) if rng.random() < 0.9]
    model = model_of(problem_with(terms))
    assert float32_exact(model)
    assert 1 <= energy_flush(model, np.float32) < 8 and energy_flush(model, np.float64) == n
    lanes = LaneState(model, 64, seed=1)
    assert lanes.dt is np.float32
    lanes.sweep(np.full(20, 1e-7))
    from solver_runner.kernels.common import energies_of
    from solver_runner.model import model_arrays
    exact = energies_of(lanes.rows_of(lanes.S), float(model.constant), model_arrays(model))
    assert np.array_equal(lanes.E.reshape(-1)[:64], exact)


def problem_with(terms):
    from contracts.problems import problem_document
    return problem_document("ising", terms)


def test_kernel_choice_is_automatic_and_logged(caplog):
    caplog.set_level("INFO", logger="solver_runner.solvers.lanes")
    pm = model_of(integer_document("ising", 30, seed=2, weights=(-1, 1), density=0.1))
    assert choose_kernel(pm, 64)[0] == "msc"
    assert choose_kernel(pm, 64, allow_msc=False)[0] == "lanes"
    assert choose_kernel(pm, 2)[0] == "scalar"
    assert choose_kernel(pm, 64, keep=4)[0] == "scalar"  # only the scalar kernel keeps each walker's best k
    assert choose_kernel(model_of(random_document("pubo", 12, seed=1, higher=True)), 64)[0] == "scalar"
    assert choose_kernel(model_of(random_document("pubo", 12, seed=1, density=1.0)), 64)[0] == "scalar"  # dense
    assert choose_kernel(model_of(random_document("ising", 40, seed=1, density=0.1)), 64)[0] == "lanes"
    assert f"Metropolis kernel: msc for 64 walkers on {pm.n} variables" in caplog.text
    assert "Metropolis kernel: lanes" in caplog.text


def test_multi_spin_coding_takes_walkers_enough_for_its_bit_planes(caplog):
    """A multi-spin sweep costs the same for 1-64 walkers and more per bit plane; lanes cost per walker. ±J inputs
    (2 planes) take it from MSC_MIN_WALKERS walkers, wider weights only from msc_min_walkers(planes)."""
    caplog.set_level("INFO", logger="solver_runner.solvers.lanes")
    assert [msc_min_walkers(p) for p in range(1, 7)] == [MSC_MIN_WALKERS, MSC_MIN_WALKERS, 16, 32, 48, 64]
    ring = model_of(problem_with([(float((-1) ** i), [i, (i + 1) % 30]) for i in range(30)]))  # ±J, degree 2
    assert msc.prepare(ring)[0].planes <= 2 and choose_kernel(ring, MSC_MIN_WALKERS)[0] == "msc"
    wide = model_of(integer_document("ising", 60, seed=4, weights=(-5, 5), density=0.1))
    planes = msc.prepare(wide)[0].planes
    assert planes >= 4
    assert choose_kernel(wide, 8)[0] == "lanes"
    assert f"no multi-spin coding: {planes} bit planes take {msc_min_walkers(planes)} walkers" in caplog.text
    assert choose_kernel(wide, msc_min_walkers(planes) - 1)[0] == "lanes"
    assert choose_kernel(wide, msc_min_walkers(planes))[0] == "msc"


def test_lane_state_starts_as_the_scalar_restarts_and_reports_only_its_walkers():
    model = model_of(integer_document("pubo", 25, seed=3, weights=(-5, 5), density=0.2))
    from solver_runner.solvers.walkers import AnnealState
    scalar = AnnealState(model, 37, seed=6)
    lanes = LaneState(model, 37, seed=6, threads=2)
    assert lanes.blocks == 2 and lanes.S.shape[2] == 19  # 38 lanes, the last one unreported
    assert np.array_equal(lanes.rows_of(lanes.S), scalar.S)
    states, energies = lanes.candidates()
    assert states.shape == (74, 25) and np.array_equal(energies[:37], scalar.E)


def _packed(asm: str, op: str) -> bool:
    return re.search(rf"\b{op}\s+[^\n]*%[yz]mm", asm) is not None


@pytest.mark.skipif(not _has_avx2(), reason="the host has no AVX2: nothing to vectorise to")
def test_the_lane_loops_compile_to_packed_vector_instructions():
    """The point of the lane layout: the per-lane RNG (64-bit multiply), the exp-free test (float32 FMAs) and the
    field updates run on packed ymm/zmm registers. A branch or a call added to the lane loop would silently turn
    it scalar; this catches that. (A fresh, uncached compile: numba shows no assembly for cached code.)"""
    sweep = njit(K.lanes_sweep.py_func, nogil=True)
    S = np.ones((3, 64), np.float32)
    sweep(S, S.copy(), np.zeros(64), np.ones(64, np.uint64), np.ones(64), True, np.array([0, 1, 2, 2]),
          np.array([1, 0], np.int32), np.ones(2, np.float32), np.zeros((0, 0), np.float32), np.zeros(64, np.float32),
          np.zeros(64, np.float32), 3, np.float32)
    asm = sweep.inspect_asm(sweep.signatures[0])
    assert _packed(asm, "vpmullq") or _packed(asm, "vpmuludq"), "per-lane generator not vectorised"
    assert _packed(asm, r"vf\w*231ps|vf\w*213ps|vf\w*132ps"), "float32 Metropolis test not vectorised"
    assert _packed(asm, "vaddps") or _packed(asm, r"vf\w*ps"), "field updates not vectorised"


@pytest.mark.parametrize("target", ["microsoft.simulatedannealing.cpu", "microsoft.paralleltempering.cpu",
                                    "microsoft.simulatedannealing-parameterfree.cpu"])
@pytest.mark.parametrize("doc", [integer_document("ising", 14, seed=5, weights=(-3, 3), density=0.3),
                                 random_document("ising", 14, seed=5, density=0.3)], ids=["integer", "real"])
def test_several_solutions_asked_for_come_back_distinct(target, doc):
    """number_of_solutions = 4 on 14 spins (a multi-spin or lane input for one solution): 4 distinct states come
    back. Lanes and multi-spin words keep only each walker's best and current state, which on an easy input are
    mostly the same few states (SA with 8 restarts returned 3 of 4), so more than one solution takes the scalar
    kernel and its per-walker best-k archive."""
    params = {"seed": 11, "number_of_solutions": 4, **({"timeout": 0.5} if "parameterfree" in target else
                                                       {"sweeps": 200, "restarts": 8})}
    out = entry.run(RunRequest("j", target, params, encode_json(doc), threads=1), lambda: False, lambda p: None)
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    states = {tuple(sorted(s["configuration"].items())) for s in out.result["solutions"]}
    assert len(states) == len(out.result["solutions"]) == 4


def test_the_lane_exp_stays_well_inside_the_bracket():
    """The lane test decides by p ≈ exp(−a) only where u is more than ε (1e−7 in float64, 1e−4 in float32) away
    from p, so the approximation's relative error must stay well below ε over 0 ≤ a ≤ A_MAX (5e−10 and 1e−5)."""
    a = np.linspace(0.0, K.A_MAX, 40_001)
    exact = np.exp(-a)
    e64 = np.array([K._exp_neg64(x) for x in a])
    assert np.max(np.abs(e64 / exact - 1.0)) < 5e-10
    a32 = a.astype(np.float32)
    e32 = np.array([K._exp_neg32(x) for x in a32], np.float64)
    assert np.max(np.abs(e32 / np.exp(-a32.astype(np.float64)) - 1.0)) < 1e-5


def test_blocks_swept_in_parallel_chunks_end_as_swept_one_by_one():
    """lanes_anneal_blocks sweeps each block's per-lane rows in private copies and writes them back: several
    parallel chunks over all blocks must end in exactly the state of each block swept alone through the same chunks
    (states, fields, energies, generator words, best states)."""
    model = model_of(integer_document("ising", 40, seed=11, weights=(-3, 3), density=0.2))
    betas = np.linspace(0.1, 2.0, 30)
    together = LaneState(model, 100, seed=4, threads=3)
    alone = LaneState(model, 100, seed=4, threads=3)
    assert together.blocks == 3
    assert all(getattr(together, a).ctypes.data % 64 == 0 for a in ("S", "F", "bestS"))  # start on a cache line
    parts = np.array_split(betas, 4)
    for part in parts:
        together.sweep(part)
    for b in range(alone.blocks):
        for part in parts:
            alone.sweep(part, b, b + 1)
    for name in ("S", "F", "E", "st", "beta", "bestS", "bestE"):
        assert np.array_equal(getattr(together, name), getattr(alone, name)), name
    assert not np.array_equal(together.st, LaneState(model, 100, seed=4, threads=3).st)  # the generators moved
