"""Multi-spin coded SA (solver_runner.kernels.msc, solvers.msc) against slow references: its bit-sliced ΔE equals
the exact one, its sweeps make the decisions of a walker-by-walker reference on the same random words, and its
walkers (like the lane and scalar kernels') sample the exact Boltzmann distribution at a fixed β; every Metropolis
kernel reaches the brute-force optimum of small problems."""
from __future__ import annotations

import math

import numpy as np
import pytest
from lane_cases import boltzmann, chi_square_ok, integer_document, model_of
from solver_core_cases import brute_force

from contracts.problems import decode_problem, encode_json
from contracts.runner import RunOutcome, RunRequest
from solver_runner import entry
from solver_runner.kernels import msc as K
from solver_runner.solvers import msc
from solver_runner.solvers.annealing import anneal_state
from solver_runner.solvers.lanes import LaneState
from solver_runner.solvers.walkers import AnnealState

MASK = (1 << 64) - 1
GAMMA, M1, M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def exact_delta(model, vals, i):
    """ΔE of flipping variable i (exact integer arithmetic on integer models), vals: ±1 or 0/1 ints."""
    f = model.h[i] + sum(model.adj_w[p] * vals[model.adj_idx[p]] for p in range(model.adj_ptr[i], model.adj_ptr[i + 1]))
    d = -2 * vals[i] if model.ising else 1 - 2 * vals[i]
    return d * f


def walker_values(X, w, model):
    bits = [(int(X[i]) >> w) & 1 for i in range(model.n)]
    return [2 * b - 1 for b in bits] if model.ising else bits


CASES = [("ising", 11, (-1, 1)), ("ising", 12, (-3, 2)), ("pubo", 12, (-2, 2)), ("pubo", 10, (-4, 4))]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_bit_sliced_delta_is_the_exact_delta(case):
    kind, n, weights = CASES[case]
    model = model_of(integer_document(kind, n, seed=case, weights=weights, density=0.4))
    mm, why = msc.prepare(model)
    assert mm is not None, why
    rng = np.random.default_rng(case)
    n = model.n
    for _ in range(20):
        X = np.append(rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) * np.uint64(2), np.uint64(0))
        for w in (0, 17, 63):
            vals = walker_values(X, w, model)
            for i in range(n):
                b = (int(X[i]) >> w) & 1
                B = sum(int(mm.nb_w[q]) * (((int(X[mm.nb_idx[q]]) >> w) & 1) ^ b ^ (int(mm.nb_neg[q]) & 1))
                        for q in range(mm.nb_ptr[i], mm.nb_ptr[i + 1]))
                assert mm.quantum * (mm.a * B + mm.c[i]) == exact_delta(model, vals, i)
                assert (B <= mm.down[i]) == (exact_delta(model, vals, i) <= 0)


class ReferenceWords:
    """The kernel's random words: SplitMix64 refilled BUF at a time, the rest of a buffer dropped when a fast-path
    decision needs 8 words and fewer are left."""

    def __init__(self, state: int):
        self.state, self.buf, self.pos = state, [], K.BUF

    def refill(self):
        self.buf = []
        for k in range(K.BUF):
            z = (self.state + (k + 1) * GAMMA) & MASK
            z = ((z ^ (z >> 30)) * M1) & MASK
            z = ((z ^ (z >> 27)) * M2) & MASK
            self.buf.append(z ^ (z >> 31))
        self.state = (self.state + K.BUF * GAMMA) & MASK
        self.pos = 0

    def take(self, count: int, block: bool) -> list[int]:
        out = []
        if block and self.pos + 8 > K.BUF:
            self.refill()
        for _ in range(count):
            if self.pos == K.BUF:
                self.refill()
            out.append(self.buf[self.pos])
            self.pos += 1
        return out


def reference_sweep(model, mm, X, words, beta):
    """Walker by walker: exact ΔE; an uphill walker reads its uniform bit by bit (bit w of successive words, most
    significant first) against ⌊exp(−β·ΔE)·2⁶⁴⌋ and accepts iff it is below."""
    for i in range(model.n):
        deltas = [round(exact_delta(model, walker_values(X, w, model), i) / mm.quantum) for w in range(64)]
        uphill = [w for w in range(64) if deltas[w] > 0]
        take = {w for w in range(64) if deltas[w] <= 0}
        if uphill:
            v0 = max(mm.down[i] + 1, 0)
            levels = {deltas[w] for w in uphill}
            nl = mm.smax[i] - v0 + 1 if mm.smax[i] - v0 < 2 else len(levels)
            steps = {}
            for w in uphill:
                p = math.exp(-beta * mm.quantum * deltas[w])
                steps[w] = (int(p * 2.0**64) if p < 1.0 else MASK, None)
            need = 0
            decided = {}
            stream = []
            while len(decided) < len(uphill) and need < 64:
                stream += words.take(1, False) if stream or nl > 2 else words.take(8, True)
                while need < len(stream) and len(decided) < len(uphill):
                    j = 63 - need
                    for w in uphill:
                        if w in decided:
                            continue
                        t = (steps[w][0] >> j) & 1
                        r = (stream[need] >> w) & 1
                        if t != r:
                            decided[w] = t == 1
                    need += 1
            take |= {w for w, ok in decided.items() if ok}
        mask = sum(1 << w for w in take)
        X[i] = np.uint64(int(X[i]) ^ mask)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_sweeps_make_the_reference_decisions_on_the_same_words(case):
    kind, n, weights = CASES[case]
    model = model_of(integer_document(kind, n, seed=10 + case, weights=weights, density=0.4))
    mm, _ = msc.prepare(model)
    state = msc.MscAnneal(model, mm, 64, seed=case)
    X0 = state.X[0].copy()
    words = ReferenceWords(int(state.st[0, 0]))
    for beta in (0.001, 0.05, 0.3, 1.0, 2.5, 8.0, 40.0):  # 0.001: every p near 1, 40: every p below 2⁻⁸
        state.sweep(np.array([beta]))
        reference_sweep(model, mm, X0, words, beta)
        assert np.array_equal(state.X[0], X0), beta


def test_qualification():
    assert msc.prepare(model_of(integer_document("ising", 10, seed=1, weights=(-3, 3))))[0] is not None
    quarter = integer_document("pubo", 10, seed=1, weights=(-3, 3))
    for t in quarter["cost_function"]["terms"]:
        t["c"] = t["c"] * 0.25
    mm, _ = msc.prepare(model_of(quarter))
    assert mm is not None and mm.quantum == 0.25
    assert msc.prepare(model_of(integer_document("ising", 70, seed=1, density=1.0)))[0] is None  # 69 couplings > 63
    real = integer_document("ising", 10, seed=1)
    real["cost_function"]["terms"][0]["c"] = 0.1
    assert "quantum" in msc.prepare(model_of(real))[1]


def sample_energies(state, kind, beta, sweeps, burn, every):
    out = []
    for t in range(sweeps):
        state.sweep(np.array([beta]))
        if t >= burn and t % every == 0:
            if kind == "msc":
                state.offer()
                out.append(state.E[:64].copy())
            elif kind == "lanes":
                out.append(state.E.reshape(-1)[:64].copy())
            else:
                out.append(state.E.copy())
    return np.concatenate(out)


@pytest.mark.parametrize("kind", ["msc", "lanes", "scalar"])
@pytest.mark.parametrize("problem", ["ising", "pubo"])
def test_walkers_sample_the_boltzmann_distribution(kind, problem):
    """Fixed β, 64 walkers, many sweeps: the histogram of cost levels matches exact enumeration (χ²)."""
    model = model_of(integer_document(problem, 10, seed=4, weights=(-2, 2), density=0.4))
    beta = 0.6 if problem == "ising" else 0.4
    state = anneal_state(model, 64, seed=3, kernel=kind)
    assert type(state).__name__ == {"msc": "MscAnneal", "lanes": "LaneState", "scalar": "AnnealState"}[kind]
    samples = sample_energies(state, kind, beta, sweeps=1500, burn=100, every=5)
    ok, what = chi_square_ok(samples, boltzmann(model, beta))
    assert ok, what


def test_lane_tempering_samples_the_boltzmann_distribution_at_every_temperature():
    model = model_of(integer_document("ising", 10, seed=6, weights=(-2, 2), density=0.4))
    betas = np.array([0.1, 0.3, 0.6, 1.0])
    state = LaneState(model, 4, seed=2)
    state.start_tempering(betas)
    samples = [[] for _ in betas]
    accepted = 0
    for step in range(16000):
        accepted += state.pt_steps(step, 1)
        if step >= 200 and step % 4 == 0:
            for t in range(4):
                lane = state.lane_of[t]
                samples[t].append(state.E.reshape(-1)[lane])
    assert accepted > 1000  # the exchanges move replicas
    assert sorted(state.lane_of) == [0, 1, 2, 3]
    for t, beta in enumerate(betas):
        ok, what = chi_square_ok(np.array(samples[t]), boltzmann(model, beta))
        assert ok, (beta, what)


@pytest.mark.parametrize("kernel", ["msc", "lanes", "scalar"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_every_kernel_reaches_the_brute_force_optimum(kernel, case):
    from solver_runner import params as P
    kind, n, weights = CASES[case]
    doc = integer_document(kind, n, seed=20 + case, weights=weights, density=0.4)
    model = model_of(doc)
    optimum, _ = brute_force(decode_problem(encode_json(doc)))
    r = P.default_beta_range(model)
    state = anneal_state(model, 16, seed=case, kernel=kernel)
    state.sweep(P.annealing_betas(P.linear_schedule(r.beta_start, r.beta_stop), 300))
    state.finish()
    from solver_runner.solvers.base import exact_best
    _, costs = exact_best(model, state.candidates()[0], 1)
    assert costs[0] == pytest.approx(optimum)
    if kernel == "scalar":
        assert isinstance(state, AnnealState)


@pytest.mark.parametrize("target", ["microsoft.simulatedannealing.cpu", "microsoft.paralleltempering.cpu",
                                    "microsoft.simulatedannealing-parameterfree.cpu",
                                    "microsoft.paralleltempering-parameterfree.cpu", "microsoft.populationannealing.cpu",
                                    "microsoft.populationannealing-parameterfree.cpu"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_solvers_on_integer_inputs_reach_the_brute_force_optimum(target, case):
    kind, n, weights = CASES[case]
    doc = integer_document(kind, n, seed=40 + case, weights=weights, density=0.4)
    optimum, _ = brute_force(decode_problem(encode_json(doc)))
    params = {"seed": 5, "timeout": 1} if "parameterfree" in target else {"seed": 5}
    for threads in (1, 2):
        out = entry.run(RunRequest("j", target, params, encode_json(doc), threads=threads), lambda: False,
                        lambda p: None)
        assert out.status == RunOutcome.SUCCEEDED, out.error_message
        assert out.result["cost"] == pytest.approx(optimum)


def test_groups_swept_in_parallel_chunks_end_as_swept_one_by_one():
    """msc_anneal_chunk sweeps each group's small rows (generator word, draw buffer and position, thresholds) in
    private copies and writes them back: parallel chunks over all groups must end in exactly the words of each
    group swept alone in one call."""
    doc = integer_document("ising", 30, seed=12, weights=(-2, 2), density=0.3)
    model = model_of(doc)
    mm, why = msc.prepare(model)
    assert mm is not None, why
    betas = np.linspace(0.1, 2.0, 40)
    together = msc.MscAnneal(model, mm, 192, seed=3)
    alone = msc.MscAnneal(model, mm, 192, seed=3)
    assert together.groups == 3
    for part in np.array_split(betas, 5):
        together.sweep(part)
    for g in range(alone.groups):
        alone.sweep(betas, g, g + 1)
    for name in ("X", "st", "buf", "pos", "thr"):
        assert np.array_equal(getattr(together, name), getattr(alone, name)), name
    assert not np.array_equal(together.st, msc.MscAnneal(model, mm, 192, seed=3).st)  # the generators moved
