"""Parameter-free SA, PT, Tabu, PA and SSMC: optimality within a 1 s budget, tuned parameters echoed (and re-runnable
on the parameterised target), explicit parameters held fixed, timeout and cancellation, the tuning loop's rules."""
from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np
import pytest
from pop_cases import assert_consistent, solve, warm_kernels  # noqa: F401  (autouse fixture)
from solver_core_cases import brute_force, random_document, rrg3_document

from benchmarks.devset import ship_loading
from contracts import targets
from contracts.problems import decode_problem, encode_json
from contracts.runner import RunOutcome
from solver_runner import params as P
from solver_runner.kernels.common import energies_of
from solver_runner.model import compile_problem, model_arrays
from solver_runner.solvers import base
from solver_runner.solvers import parameter_free as PF
from solver_runner.solvers.annealing import RungEnergies, run_tempering
from solver_runner.solvers.base import SolveContext

PF_TARGETS = [targets.SA_PF, targets.PT_PF, targets.TABU_PF, targets.PA_PF, targets.SSMC_PF]
TUNED_KEYS = {
    targets.SA_PF: {"beta", "beta_start", "beta_stop", "restarts", "sweeps", "seed"},
    targets.PT_PF: {"all_betas", "replicas", "sweeps", "seed"},
    targets.TABU_PF: {"tabu_tenure", "restarts", "sweeps", "seed"},
    targets.PA_PF: {"population", "sweeps", "beta", "alpha", "seed"},
    targets.SSMC_PF: {"target_population", "step_limit", "alpha", "beta", "seed"},
}
CASES = [("ising", 11, {}), ("pubo", 10, {"higher": True}), ("pubo", 9, {"slc": True}), ("ising", 9, {"slc": True})]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("target", PF_TARGETS)
def test_parameter_free_reaches_the_optimum_within_its_timeout(target, case):
    kind, n, kw = CASES[case]
    doc = random_document(kind, n, seed=600 + case, **kw)
    problem = decode_problem(encode_json(doc))
    best, _ = brute_force(problem)
    t0 = time.monotonic()
    out = solve(target, doc, {"seed": 1 + case, "timeout": 1.0, "number_of_solutions": 3})
    elapsed = time.monotonic() - t0
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert elapsed < 1.6
    assert out.result["cost"] == pytest.approx(best, abs=1e-9)
    assert_consistent(problem, out.result, k=3)
    params = out.result["parameters"]
    assert TUNED_KEYS[target] <= set(params) and "timeout" not in params


@pytest.mark.parametrize("target", PF_TARGETS)
def test_parameter_free_respects_its_timeout_on_a_large_problem(target):
    doc = rrg3_document(3000, seed=1)
    t0 = time.monotonic()
    out = solve(target, doc, {"seed": 2, "timeout": 1.0}, threads=2)
    elapsed = time.monotonic() - t0
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert 0.5 < elapsed < 1.6  # compile + decode included; the solve loop itself stops within ~10%


@pytest.mark.parametrize("target", PF_TARGETS)
def test_parameter_free_with_a_tiny_timeout_still_answers(target):
    out = solve(target, random_document("pubo", 6, seed=3), {"seed": 1, "timeout": 0.001})
    assert out.status == RunOutcome.SUCCEEDED and out.result["solutions"]


def test_parameter_free_default_timeout_and_cancellation():
    doc = rrg3_document(3000, seed=2)
    start = time.monotonic()
    out = solve(targets.SA_PF, doc, {"seed": 1}, is_cancelled=lambda: time.monotonic() - start > 0.3)
    assert out.status == RunOutcome.CANCELLED and time.monotonic() - start < 1.0
    calls = []
    ctx = SolveContext(compile_problem(decode_problem(encode_json(doc))), {}, 1, 1, 1, 5.0,
                       lambda: len(calls) > 5, lambda d, b: calls.append((d, b)))
    res = PF.simulated_annealing_parameter_free(ctx)  # no timeout given: 5 s default, stopped here by should_stop
    assert res.stopped_early and res.states and len(calls) > 5


def test_explicit_parameters_are_held_fixed():
    doc = random_document("ising", 9, seed=4)
    sa = solve(targets.SA_PF, doc, {"seed": 1, "timeout": 0.5, "restarts": 3, "sweeps": 40, "beta_stop": 7.0})
    assert {k: sa.result["parameters"][k] for k in ("restarts", "sweeps", "beta_stop")} == {
        "restarts": 3, "sweeps": 40, "beta_stop": 7.0}
    pt = solve(targets.PT_PF, doc, {"seed": 1, "timeout": 0.5, "all_betas": [0.5, 1.0, 3.0]})
    assert pt.result["parameters"]["all_betas"] == [0.5, 1.0, 3.0] and pt.result["parameters"]["replicas"] == 3
    tabu = solve(targets.TABU_PF, doc, {"seed": 1, "timeout": 0.5, "tabu_tenure": 3, "restarts": 5})
    assert tabu.result["parameters"]["tabu_tenure"] == 3 and tabu.result["parameters"]["restarts"] == 5
    pa = solve(targets.PA_PF, doc, {"seed": 1, "timeout": 0.5, "population": 20, "alpha": 1.5})
    assert pa.result["parameters"]["population"] == 20 and pa.result["parameters"]["alpha"] == 1.5
    ssmc = solve(targets.SSMC_PF, doc, {"seed": 1, "timeout": 0.5, "target_population": 16, "step_limit": 300})
    assert ssmc.result["parameters"]["target_population"] == 16 and ssmc.result["parameters"]["step_limit"] == 300


def test_sa_runs_each_length_geometric_from_the_typical_uphill_move_and_linear():
    # a ferromagnetic ring: at any state a flip costs 0 or ±4, so the median uphill move is 4, accepted by a
    # quarter at the start
    n = 40
    doc = {"cost_function": {"type": "ising", "version": "1.0",
                             "terms": [{"c": -1.0, "ids": [i, (i + 1) % n]} for i in range(n)]}}
    model = compile_problem(decode_problem(encode_json(doc)))
    rng, qio = P.annealing_beta_range(model), P.default_beta_range(model)
    assert rng.beta_start == pytest.approx(math.log(4) / 4) and rng.beta_stop == qio.beta_stop
    geometric = {"type": "geometric", "initial": rng.beta_start, "final": rng.beta_stop}
    linear = {"type": "linear", "initial": qio.beta_start, "final": qio.beta_stop}

    def ctx(params):
        return SolveContext(model, params, 1, 1, 1, 1.0, lambda: False, lambda d, b: None)

    assert P.sa_pf_schedules(ctx({})) == [geometric, linear]
    # a given start of 0 cannot start a geometric schedule; a given schedule is the only one
    assert P.sa_pf_schedules(ctx({"beta_start": 0})) == [{"type": "linear", "initial": 0.0, "final": qio.beta_stop}]
    given = {"type": "linear", "initial": 0.1, "final": 3.0}
    assert P.sa_pf_schedules(ctx({"beta": given})) == [given]
    out = solve(targets.SA_PF, doc, {"seed": 1, "timeout": 0.3}).result["parameters"]
    assert out["beta"] in (geometric, linear) and (out["beta_start"], out["beta_stop"]) == (
        out["beta"]["initial"], out["beta"]["final"])
    assert out["restarts"] == 64  # ±J: a 64-walker multi-spin word
    held = solve(targets.SA_PF, doc, {"seed": 1, "timeout": 0.2, "beta": given}).result["parameters"]
    assert held["beta"] == given and (held["beta_start"], held["beta_stop"]) == (0.1, 3.0)
    higher = solve(targets.SA_PF, random_document("pubo", 10, seed=5, higher=True), {"seed": 1, "timeout": 0.2})
    assert higher.result["parameters"]["restarts"] == 1  # otherwise one walker per thread


def test_sa_pf_walkers_grow_to_simd_lanes_with_the_run_length(monkeypatch):
    rng = np.random.default_rng(7)
    n = 60
    ring = [{"c": float(c), "ids": [i, (i + 1) % n]} for i, c in enumerate(rng.normal(size=n))]  # no quantum
    cases = {"lanes": ring, "msc": [{"c": -1.0, "ids": [i, (i + 1) % n]} for i in range(n)],
             "scalar": ring + [{"c": 0.5, "ids": [0, 1, 2]}]}
    long = PF.LANES_FROM_SWEEPS

    def model_of(terms):
        return compile_problem(decode_problem(encode_json({"cost_function": {"type": "ising", "version": "1.0",
                                                                             "terms": terms}})))

    for kind, terms in cases.items():
        model = model_of(terms)
        for threads in (1, 2):
            walkers = PF.sa_walkers(SolveContext(model, {}, threads, 1, 1, 1.0, lambda: False, lambda d, b: None))
            assert PF.choose_kernel(model, 64 * threads)[0] == kind
            expect = {"msc": (64, 64), "lanes": (1, 64), "scalar": (1, 1)}[kind]
            assert (walkers(long - 1), walkers(long)) == tuple(e * threads for e in expect), (kind, threads)
    # 64 walkers whose arrays would not fit in memory: one per thread throughout
    monkeypatch.setattr(base, "WALKER_MEMORY_LIMIT_BYTES", 63 * n * 10)
    walkers = PF.sa_walkers(SolveContext(model_of(ring), {}, 1, 1, 1, 1.0, lambda: False, lambda d, b: None))
    assert (walkers(long - 1), walkers(long)) == (1, 1)
    monkeypatch.undo()
    # through the solver: runs of the given length take the walkers the rule gives them; given restarts hold. The
    # timeout leaves room for a whole 64-walker run of 6400 sweeps on a slow, busy machine (~0.5 s on an idle 2-vCPU
    # VM): one cut short loses to a later short run, which takes one walker (`affords`), and the test would then
    # measure the machine; the runs converge and end long before it.
    doc = {"cost_function": {"type": "ising", "version": "1.0", "terms": ring}}
    for params, restarts in (({"sweeps": long}, 64), ({"sweeps": 200}, 1), ({"sweeps": long, "restarts": 3}, 3)):
        out = solve(targets.SA_PF, doc, {"seed": 4, "timeout": 10, **params}).result["parameters"]
        assert (out["sweeps"], out["restarts"]) == (params["sweeps"], restarts), params


def test_pt_ladder_starts_at_the_90th_percentile_uphill_move():
    # three ferromagnetic rings, |J| 1 (200 spins), 10 (80 spins), 100 (2 spins): a flip uphill costs 4, 40 or 400;
    # about 70 % of the uphill moves at a random state cost 4, 28 % cost 40, 1-2 % cost 400
    terms, first = [], 0
    for size, j in ((200, 1.0), (80, 10.0), (2, 100.0)):
        terms += [{"c": -j, "ids": [first + i, first + (i + 1) % size]} for i in range(size)]
        first += size
    doc = {"cost_function": {"type": "ising", "version": "1.0", "terms": terms}}
    model = compile_problem(decode_problem(encode_json(doc)))
    qio = P.default_beta_range(model)
    assert qio.beta_start < math.log(2) / 40  # QIO's hot end accepts half of the rarest, largest move
    assert P.annealing_beta_range(model).beta_start == pytest.approx(math.log(4) / 4)  # SA's: a quarter of the median
    ladder = P.default_all_betas(model, 16)
    assert ladder[0] == pytest.approx(math.log(2) / 40) and ladder[-1] == pytest.approx(qio.beta_stop)
    assert np.allclose(np.diff(np.log(ladder)), math.log(ladder[-1] / ladder[0]) / 15)
    assert P.default_all_betas(model, 1) == [qio.beta_stop]
    out = solve(targets.PT_PF, doc, {"seed": 1, "timeout": 0.2}).result["parameters"]
    echoed = out["all_betas"]  # the default ladder, or its refinement (every default rung kept: see below)
    assert out["replicas"] == len(echoed) >= 16
    assert all(min(abs(b - e) for e in echoed) <= 1e-12 * b for b in P.default_all_betas(model, 16))


def test_refine_ladder_splits_the_gaps_neighbours_would_rarely_cross():
    betas = [0.1, 0.2, 0.4, 0.8]
    # μ = Δβ·ΔĒ per gap: 0.1·10 = 1 (kept), 0.2·100 = 20 (⌈√(20 / 2.1)⌉ = 4 parts), 0.4·(−5) (noise: kept)
    out = P.refine_ladder(betas, np.array([200.0, 190.0, 90.0, 95.0]))
    assert len(out) == 7 and out[:2] == [0.1, 0.2] and out[-2:] == pytest.approx([0.4, 0.8], rel=1e-15)
    assert np.allclose(np.diff(np.log(out[1:6])), math.log(2) / 4)
    wide = np.array([1e6, 0.0, -1e6, -2e6])
    capped = P.refine_ladder(betas, wide, max_rungs=12)
    assert 10 <= len(capped) <= 12 and np.all(np.diff(capped) > 0)
    assert P.refine_ladder(betas, wide, max_rungs=4) == betas  # already at the cap: never fewer, never more
    assert P.refine_ladder([1.0], np.zeros(1)) == [1.0]


@pytest.mark.parametrize("mu", [0.3, P.LADDER_MU, 9.0])
def test_exchange_acceptance_of_gaussian_energies_is_erfc(mu):
    # refine_ladder's model: X = Δβ·(E_hot − E_cold) ~ N(μ, 2μ) gives E[min(1, e^−X)] = erfc(√μ / 2)
    x = np.random.default_rng(1).normal(mu, math.sqrt(2 * mu), 2_000_000)
    assert np.minimum(1.0, np.exp(-x)).mean() == pytest.approx(math.erfc(math.sqrt(mu) / 2), abs=2e-3)


@pytest.mark.parametrize("chunks", [[200], [1] * 200, [7, 93, 1, 99]])
def test_rung_energies_are_sampled_over_the_second_half_whatever_the_chunks(chunks):
    energies, calls = RungEnergies(1), []
    run = energies.sampling(lambda first, count: calls.append((first, count)),
                            lambda: np.array([float(sum(calls[-1]))]), 200)
    first = 0
    for count in chunks:
        run(first, count)
        first += count
    assert [c[0] for c in calls] == list(np.cumsum([0] + [c[1] for c in calls[:-1]]))  # in order, no gaps
    assert sum(c[1] for c in calls) == 200
    assert energies.count == RungEnergies.SAMPLES and energies.mean()[0] == np.mean(np.arange(110, 201, 10))


@pytest.mark.parametrize("kernel", ["lanes", "scalar"])
def test_tempering_measures_its_rungs_without_changing_a_decision(kernel):
    model = compile_problem(decode_problem(encode_json(rrg3_document(60, seed=4))))
    betas = list(np.geomspace(0.1, 3.0, 8))
    ctx = SolveContext(model, {}, 1, 7, 1, None, lambda: False, lambda *a: None)
    energies = RungEnergies(8)
    measured, done, _ = run_tempering(ctx, betas, 300, energies=energies, kernel=kernel)
    plain, _, _ = run_tempering(ctx, betas, 300, kernel=kernel)
    assert done == 300 and energies.count == RungEnergies.SAMPLES
    assert np.array_equal(measured.candidates()[0], plain.candidates()[0])
    means = energies.mean()
    assert means[0] > means[-1] + 20  # β 0.1 sits near a random state's 0, β 3 near the ground state (~−70)


def test_parameter_free_pt_refines_its_ladder_once_unless_given_one(caplog):
    doc = rrg3_document(400, seed=8)
    model = compile_problem(decode_problem(encode_json(doc)))
    with caplog.at_level("INFO", logger=PF.__name__):
        out = solve(targets.PT_PF, doc, {"seed": 1, "sweeps": PF.REFINE_STEPS, "timeout": 2.0}).result
    refined = [r.getMessage() for r in caplog.records if "refined" in r.getMessage()]
    assert len(refined) == 1 and refined[0].startswith("parameter-free PT: ladder of 16 rungs refined to ")
    assert len(out["parameters"]["all_betas"]) == out["parameters"]["replicas"]
    caplog.clear()
    with caplog.at_level("INFO", logger=PF.__name__):
        held = solve(targets.PT_PF, doc, {"seed": 1, "sweeps": PF.REFINE_STEPS, "replicas": 16, "timeout": 0.5})
    assert not [r for r in caplog.records if "refined" in r.getMessage()]
    assert held.result["parameters"]["all_betas"] == P.default_all_betas(model, 16)


def test_sa_takes_a_beta_schedule_and_echoes_it():
    doc = rrg3_document(60, seed=9)
    beta = {"type": "geometric", "initial": 0.05, "final": 4.0}
    out = solve(targets.SA, doc, {"seed": 2, "beta": beta, "sweeps": 200, "restarts": 4}).result
    assert out["parameters"]["beta"] == beta and out["parameters"]["beta_start"] == 0.05
    plain = solve(targets.SA, doc, {"seed": 2, "sweeps": 200, "restarts": 4}).result["parameters"]
    assert "beta" not in plain  # QIO's echo when no schedule is given
    sched = P.annealing_betas(beta, 200)
    assert sched[0] == 0.05 and sched[-1] == 4.0 and np.all(np.diff(sched) > 0)
    assert np.allclose(np.diff(np.log(sched)), np.log(4.0 / 0.05) / 199)
    assert P.annealing_betas(beta, 1).tolist() == [4.0]  # a single sweep runs at the final β, as QIO's linear SA
    chunks = np.concatenate([P.annealing_betas(beta, 200, a, a + 30) for a in range(0, 200, 30)])
    assert np.array_equal(chunks, sched)


@pytest.mark.parametrize("pf,twin", [(targets.SA_PF, targets.SA), (targets.PT_PF, targets.PT),
                                     (targets.PA_PF, targets.PA), (targets.SSMC_PF, targets.SSMC)])
def test_echoed_parameters_rerun_on_the_parameterised_target(pf, twin):
    doc = rrg3_document(80, seed=5)
    tuned = solve(pf, doc, {"seed": 3, "timeout": 0.5}).result
    out = solve(twin, doc, tuned["parameters"])
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] <= tuned["cost"] + 1e-9


def test_same_seed_same_result_when_the_loop_converges():
    doc = random_document("pubo", 9, seed=7, higher=True)
    for target in PF_TARGETS:
        a = solve(target, doc, {"seed": 4, "timeout": 3.0, "number_of_solutions": 2}).result
        b = solve(target, doc, {"seed": 4, "timeout": 3.0, "number_of_solutions": 2}).result
        assert a == b, target


def test_ladder_and_run_seeds():
    seq = PF.ladder(None)
    assert [next(seq) for _ in range(7)] == [10, 20, 30, 50, 75, 112, 168]
    fixed = PF.ladder(33)
    assert [next(fixed) for _ in range(3)] == [33, 33, 33]
    scaled = PF.ladder(None, scale=4)
    assert [next(scaled) for _ in range(5)] == [40, 80, 120, 200, 300]
    doubling = PF.ladder(None, growth=PF.ANNEAL_GROWTH)
    assert [next(doubling) for _ in range(7)] == [10, 20, 30, 50, 100, 200, 400]
    seeds = {PF.run_seed(5, i) for i in range(1000)}
    assert len(seeds) == 1000 and all(0 <= s < 2**63 for s in seeds)
    assert PF.run_seed(5, 0) != PF.run_seed(6, 0)


def test_the_leading_schedule_runs_at_every_length_the_other_at_every_third():
    lead = [0]
    turns = PF.sa_schedule_turns(PF.ladder(None), 2, lambda: lead[0])
    first = [next(turns) for _ in range(8)]
    assert first == [(10, 0), (20, 0), (30, 0), (30, 1), (50, 0), (75, 0), (112, 0), (112, 1)]
    lead[0] = 1  # the linear schedule reached the best cost more cheaply: it leads from the next length on
    assert [next(turns) for _ in range(5)] == [(168, 1), (253, 1), (379, 1), (379, 0), (569, 1)]
    single = PF.sa_schedule_turns(PF.ladder(None), 1, lambda: 0)  # a given `beta`: one schedule, every length
    assert [next(single) for _ in range(4)] == [(10, 0), (20, 0), (30, 0), (50, 0)]


def test_sa_leads_with_the_schedule_of_the_cheapest_run_that_reached_the_best(monkeypatch):
    """Every run, replayed: the first run at each length is on the schedule of the cheapest run so far that reached
    the best cost (geometric before any), and the other schedule runs only at every third length."""
    doc = ship_loading(10, 3, 1)  # grouped balance terms: the linear schedule takes the lead after a few lengths
    ran: list[tuple[str, int, float]] = []
    real = PF.run_anneal

    def recording(sub, restarts, sweeps, schedule, seed, keep, kernel=None):
        state, done, stopped = real(sub, restarts, sweeps, schedule, seed, keep, kernel)
        ran.append((schedule["type"], sweeps, float(state.candidates()[1].min())))
        return state, done, stopped

    monkeypatch.setattr(PF, "run_anneal", recording)
    monkeypatch.setattr(PF.Tuner, "fit", lambda self, units, walkers: units)  # lengths as planned, none shortened
    solve(targets.SA_PF, doc, {"seed": 2, "timeout": 1.0})
    best, work, leader, switched = math.inf, math.inf, "geometric", len(ran)
    lengths = list(dict.fromkeys(sweeps for _, sweeps, _ in ran))
    for i, (kind, sweeps, cost) in enumerate(ran):
        rung = lengths.index(sweeps)
        if i == 0 or ran[i - 1][1] != sweeps:
            assert kind == leader, (i, ran[: i + 1])
        else:
            assert rung % PF.OTHER_SCHEDULE_EVERY == PF.OTHER_SCHEDULE_EVERY - 1 and kind != ran[i - 1][0]
        tol = 1e-9 * (1 + abs(best)) if math.isfinite(best) else 0.0
        if cost < best - tol or (abs(cost - best) <= tol and sweeps < work):
            switched = i if kind != leader else switched
            best, work, leader = min(best, cost), sweeps, kind
    assert leader == "linear" and switched < len(ran) - 2, ran  # runs were planned after the lead changed


def test_fit_shortens_a_run_to_the_time_left():
    ctx = SolveContext(None, {}, 1, 1, 1, 10.0, lambda: False, lambda *a: None)
    tuner = PF.Tuner(ctx)
    assert tuner.fit(1000, lambda length: 8) == 1000  # no rate measured yet
    tuner.rates = {8: [1e-4]}  # seconds per (length × walker), by walkers per run
    tuner.end = time.monotonic() + 1.0
    fitted = tuner.fit(10_000, lambda length: 8)
    assert 1000 <= fitted <= 1125  # 0.9 s / (1e-4 s × 8 walkers) ≈ 1125
    quad = tuner.fit(10_000, lambda length: max(1, length // 2))  # work ∝ length²/2
    assert 120 <= quad <= 135
    tuner.end = time.monotonic() - 1.0
    assert tuner.fit(10_000, lambda length: 8) == PF.MIN_RUN_UNITS
    # rates are kept by walkers per run (lanes cost less per walker than one scalar walker); a count not run yet
    # is judged at the dearest known rate
    tuner.rates = {1: [3e-4, 1e-4, 2e-4], 64: [4e-5]}
    assert tuner.seconds_per_work(1) == 1e-4 and tuner.seconds_per_work(64) == 4e-5
    assert tuner.seconds_per_work(8) == 1e-4
    tuner.end = time.monotonic() + 1.0
    assert tuner.affords(300, 64) and not tuner.affords(400, 64)  # 0.77 s and 1.02 s against 0.9 s
    # parameter-free SA's way: 64 walkers where they fit, else one at the planned length (0.1 s here)
    assert tuner.fit(1000, lambda length: 64 if length >= 300 and tuner.affords(length, 64) else 1) == 1000
    assert 340 <= tuner.fit(1000, lambda length: 64) <= 352  # 0.9 s / (4e-5 s × 64)


def test_tabu_tenures_spread_around_the_centre():
    t = PF.tabu_tenures(200, 16, None)
    assert len(t) == 16 and (t == 20).sum() == 8 and (t == 10).sum() == 4 and t.max() <= 100
    t = PF.tabu_tenures(200, 16, 7)
    assert (t == 7).sum() >= 8 and t.min() >= 3
    assert np.all(PF.tabu_tenures(3, 8, None) >= 1)


def _scripted_loop(later_runs_reach_the_best: bool, monkeypatch) -> int:
    """Drive Tuner.loop with runs whose results are scripted: run 0 finds the best state; later runs find it again
    or only a worse one. Returns how many runs the loop made (a 40th run reports itself cut short). Each run takes
    10 ms on the tuner's clock, whatever the machine does: the rule also wants the loop to have run twice as long as
    it took to find the best, and on the real clock a first run held up (a busy CI machine) left the scripted runs
    after it, microseconds each, short of that for all 40."""
    clock = [0.0]
    monkeypatch.setattr(PF, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    model = compile_problem(decode_problem(encode_json(random_document("ising", 6, seed=11))))
    states = np.array([[(k >> b) & 1 for b in range(6)] for k in range(64)], np.int8) * 2 - 1
    order = np.argsort(energies_of(states, float(model.constant), model_arrays(model)))
    best, worse = states[order[0]], states[order[-1]]
    ctx = SolveContext(model, {}, 1, 1, 1, None, lambda: False, lambda *a: None)
    tuner = PF.Tuner(ctx)
    made = []

    def make_run(length, seed, sub):
        made.append(length)
        clock[0] += 0.01
        state = best if not made[1:] or later_runs_reach_the_best else worse
        return PF.Run(state[None, :].copy(), {"sweeps": length}, float(length), len(made) < 40, length)

    tuner.loop(PF.ladder(None), 1, make_run)
    return len(made)


def test_convergence_needs_the_best_found_again(monkeypatch):
    # runs agree with the best: stop after PATIENCE runs without improvement (QIO's rule)
    assert _scripted_loop(True, monkeypatch) == 1 + PF.PATIENCE
    # nothing reproduces the best: not converged, keep going (here until the scripted cut at run 40)
    assert _scripted_loop(False, monkeypatch) == 40


def test_convergence_waits_for_a_tenth_of_the_timeout_and_says_why(caplog):
    """Short runs that agree with each other are not enough: the loop runs at least MIN_STOP_FRACTION of the
    timeout (and twice as long as its best took to find) before a convergence stop, then logs why it stopped."""
    caplog.set_level("INFO", logger="solver_runner.solvers.parameter_free")
    doc = random_document("ising", 8, seed=5)
    for target in (targets.SA_PF, targets.TABU_PF):
        caplog.clear()
        t0 = time.monotonic()
        out = solve(target, doc, {"seed": 1, "timeout": 1.0})
        assert out.status == RunOutcome.SUCCEEDED
        assert time.monotonic() - t0 >= PF.MIN_STOP_FRACTION * 1.0
        assert "parameter-free run stopped after" in caplog.text and "converged:" in caplog.text
