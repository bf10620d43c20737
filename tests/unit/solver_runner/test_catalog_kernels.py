"""The Toshiba and 1QBit kernels against slow, obvious references: one simulated-bifurcation step (ballistic and
discrete, sparse and dense couplings, fields through the extra spin), one Houdayer move, one tabu move, one path
relinking."""
from __future__ import annotations

import numpy as np
import pytest
from solver_core_cases import random_problem

from contracts.problems import decode_problem, encode_json, problem_document
from solver_runner.kernels.common import energy, init_fields
from solver_runner.kernels.pticm import houdayer_move
from solver_runner.kernels.qbit import relink, tabu_move
from solver_runner.kernels.rng import padded_rng_states, rng_states
from solver_runner.kernels.sb import sb_init, sb_spins, sb_steps, sign_energies
from solver_runner.kernels.tabu_gains import gains_of
from solver_runner.model import compile_problem, model_arrays
from solver_runner.solvers.quadratic import auto_c0, integer_couplings, ising_form, sb_couplings, spectral_radius
from tests.reference import reference_cost

QUADRATIC = [("ising", 9, 0.5), ("pubo", 9, 0.5), ("ising", 12, 1.0), ("pubo", 11, 0.2)]


def config_of(model, state):
    return {int(k): int(v) for k, v in zip(model.var_ids, state)}


def coupling_matrix(model):
    """K = −J of the Ising form, fields as couplings to an extra last spin, as a plain dense matrix."""
    h, ptr, idx, J = ising_form(model)
    n = model.n
    K = np.zeros((n + 1, n + 1))
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            K[i, idx[p]] = -J[p]
        K[i, n] = K[n, i] = -h[i]
    return K


def reference_sb_step(X, Y, K, a0, c0, dt, t, total, discrete):
    """Goto et al. 2021: y += (−(a0 − a(t))x + c0·K z)dt; x += a0·y·dt; walls at ±1 (z = x, or sgn(x) for dSB)."""
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    Z = np.where(X >= 0, 1.0, -1.0) if discrete else X
    a = a0 * (t + 1) / total
    Y = Y + (-(a0 - a) * X + c0 * (K @ Z)) * dt
    X = X + a0 * Y * dt
    wall = np.abs(X) > 1
    X[wall] = np.sign(X[wall])
    Y[wall] = 0.0
    return X, Y


@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize("case", range(len(QUADRATIC)))
def test_one_sb_step_matches_the_reference(case, discrete):
    kind, size, density = QUADRATIC[case]
    model = compile_problem(random_problem(kind, size, seed=40 + case, density=density))
    n = model.n
    K = coupling_matrix(model)
    for dense in (False, True):
        ptr, idx, w, D, gauge = sb_couplings(compile_problem(random_problem(kind, size, seed=40 + case,
                                                                            density=density), dense=dense))
        assert gauge and (D.shape[0] > 0) == dense
        N, R = n + 1, 37
        X, Y, S, F = (np.zeros((N, R), np.float32) for _ in range(4))
        S8 = np.zeros((N, R), np.int8)
        sb_init(X, Y, S, S8, padded_rng_states(5, R))
        assert np.all(np.abs(X) <= 0.1) and np.array_equal(S, np.where(X >= 0, 1, -1)) and np.array_equal(S8, S)
        no8 = np.zeros(0, np.int8), np.zeros((0, 0), np.int8)
        for t in range(3):  # three steps, each against the reference from the same state
            want_x, want_y = reference_sb_step(X, Y, K, 1.0, 0.3, 0.7, t, 5, discrete)
            sb_steps(X, Y, S, S8, F, ptr, idx, w, no8[0], D, no8[1], 1.0, 0.3, 0.7, t, 1, 5, discrete, 0, R, 2)
            assert np.allclose(X, want_x, atol=1e-5) and np.allclose(Y, want_y, atol=1e-5)
            assert np.array_equal(S, np.where(X >= 0, 1, -1)) and np.array_equal(S8, S)


@pytest.mark.parametrize("dense", [False, True])
def test_integer_couplings_give_the_same_discrete_steps(dense):
    """±J couplings with a field: discrete SB summed in int16 (int8 signs × int8 couplings) equals the float path."""
    rng = np.random.default_rng(4)
    n = 30
    pairs = [(int(a), int(b)) for a in range(n) for b in range(a + 1, n) if rng.random() < 0.3]
    doc = problem_document("ising", [(float(rng.choice([-2, -1, 1, 3])), [a, b]) for a, b in pairs] + [(2.0, [0])])
    ptr, idx, w, D, _ = sb_couplings(compile_problem(decode_problem(encode_json(doc)), dense=dense))
    w8, D8 = integer_couplings(ptr, w, D)
    assert (D8.shape[0] > 0) if dense else (w8.shape[0] > 0)
    N, R = ptr.shape[0] - 1, 48
    c0 = auto_c0(w, D, N)
    runs = []
    for couplings in ((w8, D8), (np.zeros(0, np.int8), np.zeros((0, 0), np.int8))):
        X, Y, S, F = (np.zeros((N, R), np.float32) for _ in range(4))
        S8 = np.zeros((N, R), np.int8)
        sb_init(X, Y, S, S8, padded_rng_states(2, R))
        sb_steps(X, Y, S, S8, F, ptr, idx, w, couplings[0], D, couplings[1], 1.0, c0, 0.5, 0, 50, 50, True, 0, R, 2)
        runs.append(X)
    assert np.array_equal(*runs)
    half = integer_couplings(ptr, w / 2, D / 2)  # non-integers: no int8 copies
    assert half[0].shape[0] == 0 and half[1].shape[0] == 0


def test_spectral_radius_matches_the_eigenvalues():
    model = compile_problem(random_problem("ising", 40, seed=8, density=0.3))
    ptr, idx, w, D, _ = sb_couplings(model)
    K = coupling_matrix(model)
    assert spectral_radius(ptr, idx, w, D) == pytest.approx(np.abs(np.linalg.eigvalsh(K)).max(), rel=0.05)


def test_sb_steps_do_not_depend_on_split_or_threads():
    model = compile_problem(random_problem("ising", 20, seed=3))
    ptr, idx, w, D, _ = sb_couplings(model)
    N, R = ptr.shape[0] - 1, 70
    no8 = np.zeros(0, np.int8), np.zeros((0, 0), np.int8)

    def run(pieces, threads):
        X, Y, S, F = (np.zeros((N, R), np.float32) for _ in range(4))
        S8 = np.zeros((N, R), np.int8)
        sb_init(X, Y, S, S8, padded_rng_states(9, R))
        for t in range(20):
            for lo, hi in pieces:
                sb_steps(X, Y, S, S8, F, ptr, idx, w, no8[0], D, no8[1], 1.0, auto_c0(w, D, N), 1.0, t, 1, 20, True,
                         lo, hi, threads)
        return X

    whole = run([(0, R)], 1)
    assert np.array_equal(whole, run([(0, R)], 2))
    assert np.array_equal(whole, run([(0, 13), (13, 50), (50, R)], 2))


@pytest.mark.parametrize("case", range(len(QUADRATIC)))
def test_sign_states_and_their_energies(case):
    kind, size, density = QUADRATIC[case]
    problem = random_problem(kind, size, seed=60 + case, density=density)
    model = compile_problem(problem)
    n = model.n
    ptr, idx, w, D, gauge = sb_couplings(model)
    X = np.random.default_rng(case).uniform(-1, 1, (n + 1, 16)).astype(np.float32)
    spins = np.zeros((16, n), np.int8)
    sb_spins(X, spins, gauge)
    E = np.zeros(16)
    sign_energies(X, np.zeros_like(X), ptr, idx, w, D, E)
    h, _, _, _ = ising_form(model)
    offset = model.constant + (0.0 if model.ising else np.sum(model.h) / 2 + np.sum(model.adj_w) / 8)
    for r in range(16):
        s = np.where(X[:, r] >= 0, 1, -1)
        assert np.array_equal(spins[r], s[:n] * s[n])  # read relative to the field spin
        state = spins[r] if model.ising else ((spins[r] + 1) // 2).astype(np.int8)
        cost = reference_cost(problem, config_of(model, state))
        assert E[r] + offset == pytest.approx(cost, abs=1e-4)  # the Ising form's energy, constant aside


def reference_clusters(sa, sb, model):
    """Connected components of the differing sites along nonzero couplings, by plain graph search."""
    n = model.n
    differing = {i for i in range(n) if sa[i] != sb[i]}
    neighbours = {i: set(model.adj_idx[model.adj_ptr[i]:model.adj_ptr[i + 1]].tolist()) for i in range(n)}
    seen, clusters = set(), []
    for start in sorted(differing):
        if start in seen:
            continue
        todo, part = [start], set()
        while todo:
            i = todo.pop()
            if i in part:
                continue
            part.add(i)
            todo.extend(j for j in neighbours[i] if j in differing and j not in part)
        seen |= part
        clusters.append(part)
    return clusters


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("kind,density", [("ising", 0.15), ("pubo", 0.15), ("ising", 0.05), ("pubo", 0.4)])
def test_one_houdayer_move_swaps_one_cluster_at_constant_total_energy(kind, density, dense):
    problem = random_problem(kind, 24, seed=7, density=density)
    model = compile_problem(problem, dense=dense)
    M = model_arrays(model)
    n = model.n
    rng = np.random.default_rng(1)
    values = np.array([-1, 1] if kind == "ising" else [0, 1], np.int8)
    seen_sizes = set()
    for trial in range(30):
        sa, sb = rng.choice(values, n), rng.choice(values, n)
        fa, fb, L = np.zeros(n), np.zeros(n), np.zeros(0)
        init_fields(sa, fa, L, M)
        init_fields(sb, fb, L, M)
        before_a, before_b = energy(sa, model.constant, M), energy(sb, model.constant, M)
        a0, b0 = sa.copy(), sb.copy()
        clusters = reference_clusters(a0, b0, model)
        dea, deb, size = houdayer_move(sa, fa, sb, fb, L, model.ising, rng_states(trial, 1), 0, M,
                                       np.zeros(n, np.int64), np.zeros(n, np.bool_))
        changed = set(np.flatnonzero(sa != a0).tolist())
        assert changed in clusters and size == len(changed)  # exactly one whole cluster ...
        assert np.array_equal(sa[list(changed)], b0[list(changed)])  # ... swapped between the two
        assert np.array_equal(sb[list(changed)], a0[list(changed)])
        assert np.array_equal(np.delete(sa, list(changed)), np.delete(a0, list(changed)))
        after_a, after_b = energy(sa, model.constant, M), energy(sb, model.constant, M)
        assert after_a - before_a == pytest.approx(dea, abs=1e-9) and after_b - before_b == pytest.approx(deb, abs=1e-9)
        assert after_a + after_b == pytest.approx(before_a + before_b, abs=1e-9)  # isoenergetic
        fresh = np.zeros(n)
        init_fields(sa, fresh, L, M)
        assert np.allclose(fa, fresh)
        seen_sizes.add(size)
    assert len(seen_sizes) > 1  # clusters of several sizes were drawn
    same = np.ones(n, np.int8)
    assert houdayer_move(same, np.zeros(n), same.copy(), np.zeros(n), np.zeros(0), model.ising, rng_states(1, 1), 0,
                         M, np.zeros(n, np.int64), np.zeros(n, np.bool_)) == (0.0, 0.0, 0)


def reference_tabu_move(s, model, e, best_e, tabu_until, t, tol):
    """The lowest ΔE among the admissible flips (not tabu, or aspirating below best_e − tol): (ΔE, candidates)."""
    deltas = {}
    for i in range(model.n):
        flipped = s.copy()
        flipped[i] = -s[i] if model.ising else 1 - s[i]
        deltas[i] = energy(flipped, model.constant, model_arrays(model)) - e
    admissible = {i: d for i, d in deltas.items() if tabu_until[i] < t or e + d < best_e - tol}
    low = min(admissible.values())
    return low, {i for i, d in admissible.items() if abs(d - low) <= 1e-9}


@pytest.mark.parametrize("kind", ["ising", "pubo"])
def test_one_tabu_move_takes_the_best_admissible_flip(kind):
    problem = random_problem(kind, 10, seed=12, density=0.6)
    model = compile_problem(problem)
    M = model_arrays(model)
    rng = np.random.default_rng(2)
    values = np.array([-1, 1] if kind == "ising" else [0, 1], np.int8)
    for trial in range(40):
        s = rng.choice(values, 10)
        f, L = np.zeros(10), np.zeros(0)
        init_fields(s, f, L, M)
        e = energy(s, model.constant, M)
        tu = rng.integers(-1, 8, 10).astype(np.int64)
        tu[0] = -1  # one flip always admissible
        best_e = e - rng.uniform(0, 2) if trial % 2 else e + 5  # some moves aspirate, some cannot
        low, allowed = reference_tabu_move(s, model, e, best_e, tu.copy(), 5, 1e-9)
        before = s.copy()
        d = np.empty(10)
        gains_of(s, f, d, model.ising)
        bits = np.zeros(1, np.int64)
        new_e = tabu_move(s, f, d, d.view(np.int64), bits, bits.view(np.float64), np.zeros(1, np.int64), e, best_e,
                          tu, 5, 3, 4, model.ising, rng_states(trial, 1), 0, M[1], M[2], M[3], M[4], 1e-9, 1e-12)
        fresh = np.zeros(10)
        init_fields(s, fresh, L, M)
        assert np.allclose(f, fresh) and np.allclose(d, [(-2.0 * x if model.ising else 1.0 - 2.0 * x) * g
                                                         for x, g in zip(s, fresh)])  # fields and ΔE kept
        [flipped] = np.flatnonzero(s != before).tolist()
        assert flipped in allowed and new_e == pytest.approx(e + low, abs=1e-9)
        assert 5 + 3 <= tu[flipped] < 5 + 3 + 4  # tenure 3 plus a random 0..3


@pytest.mark.parametrize("greedy", [False, True])
def test_relinking_stops_on_the_path_between_its_ends(greedy):
    problem = random_problem("pubo", 30, seed=5, density=0.3)
    model = compile_problem(problem)
    M = model_arrays(model)
    rng = np.random.default_rng(3)
    for trial in range(20):
        start, guide = rng.integers(0, 2, (2, 30)).astype(np.int8)
        x = start.copy()
        dist = relink(x, guide, np.zeros(30), np.zeros(0), np.zeros(30, np.int64), greedy, 0.33, False,
                      rng_states(trial, 1), 0, M, 1e-12)
        assert dist == int(np.sum(start != guide))
        moved = np.flatnonzero(x != start)
        assert np.all(x[moved] == guide[moved])  # every flip goes toward the guide
        dmin = max(1, int(0.33 * dist))
        assert dmin <= len(moved) <= dist - dmin
    # greedy: the best solution of the greedy path's admissible range (checked by walking that path here)
    start, guide = rng.integers(0, 2, (2, 30)).astype(np.int8)
    x = start.copy()
    relink(x, guide, np.zeros(30), np.zeros(0), np.zeros(30, np.int64), True, 0.33, False, rng_states(1, 1), 0, M,
           1e-12)
    walk, costs = start.copy(), []
    todo = list(np.flatnonzero(start != guide))
    while len(todo) > 1:
        trial_costs = []
        for i in todo:
            y = walk.copy()
            y[i] = guide[i]
            trial_costs.append(energy(y, 0.0, M))
        i = todo.pop(int(np.argmin(trial_costs)))
        walk[i] = guide[i]
        costs.append(min(trial_costs))
    dist = int(np.sum(start != guide))
    dmin = max(1, int(0.33 * dist))
    assert energy(x, 0.0, M) == pytest.approx(min(costs[dmin - 1:dist - dmin]), abs=1e-9)


def test_sb_couplings_read_every_coupling_and_field_once():
    for kind, size, density in QUADRATIC:
        model = compile_problem(random_problem(kind, size, seed=1, density=density))
        n = model.n
        for dense in (False, True):
            ptr, idx, w, D, gauge = sb_couplings(compile_problem(random_problem(kind, size, seed=1, density=density),
                                                                 dense=dense))
            K = coupling_matrix(model)
            rebuilt = D.astype(np.float64) if dense else np.zeros_like(K)
            for i in range(n + 1):
                for p in range(ptr[i], ptr[i + 1]):
                    rebuilt[i, idx[p]] += w[p]
            assert gauge and np.allclose(rebuilt, K, atol=1e-6) and np.allclose(K, K.T)
