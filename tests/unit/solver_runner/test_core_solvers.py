"""SA, PT and Tabu end to end through solver_runner.entry.run: optimality on small instances, reported costs,
reproducibility, stopping (timeout, cancel), parameter errors, number_of_solutions, degenerate problems."""
from __future__ import annotations

import time

import numpy as np
import pytest
from solver_core_cases import all_costs, assert_consistent, brute_force, random_document, rrg3_document

from contracts import errors, targets
from contracts.errors import ContractError
from contracts.problems import decode_problem, encode_json, encode_protobuf, problem_document
from contracts.runner import Progress, RunOutcome, RunRequest
from solver_runner import entry
from solver_runner.model import compile_problem
from solver_runner.solvers import SOLVERS
from tests.reference import reference_cost

CORE = [targets.SA, targets.PT, targets.TABU]


def solve(target, doc, params=None, *, threads=1, is_cancelled=lambda: False, progress=None, raw=None,
          content_type=None):
    data = raw if raw is not None else encode_json(doc)
    request = RunRequest("job-1", target, dict(params or {}), data, content_type=content_type, threads=threads,
                         progress_interval_s=0.0)
    return entry.run(request, is_cancelled, progress.append if progress is not None else (lambda p: None))


def test_registry_has_the_core_targets():
    for target in CORE:
        assert target in SOLVERS


INSTANCES = [
    ("ising", 12, {}),
    ("pubo", 12, {}),
    ("ising", 10, {"slc": True}),
    ("pubo", 10, {"slc": True}),
    ("ising", 11, {"higher": True}),
    ("pubo", 11, {"higher": True, "slc": True}),
    ("pubo", 9, {"density": 1.0}),  # dense storage path
]


@pytest.mark.parametrize("target", CORE)
@pytest.mark.parametrize("case", range(len(INSTANCES)))
def test_reaches_brute_force_optimum(target, case):
    kind, n, kw = INSTANCES[case]
    doc = random_document(kind, n, seed=31 + case, **kw)
    problem = decode_problem(encode_json(doc))
    optimum, _ = brute_force(problem)
    out = solve(target, doc, {"seed": 11 + case})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] == pytest.approx(optimum, abs=1e-9)
    assert_consistent(problem, out.result)
    assert out.result["parameters"]["seed"] == 11 + case


@pytest.mark.parametrize("target", CORE)
def test_number_of_solutions_are_distinct_and_best_first(target):
    doc = random_document("pubo", 10, seed=7, higher=True)
    problem = decode_problem(encode_json(doc))
    out = solve(target, doc, {"seed": 3, "number_of_solutions": 5})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    sols = out.result["solutions"]
    assert 2 <= len(sols) <= 5
    assert_consistent(problem, out.result)
    # the best few of all 2^10 states: the best is exact, the others are real low-lying states
    spectrum = all_costs(problem)
    assert sols[0]["cost"] == pytest.approx(spectrum[0], abs=1e-9)
    assert sols[-1]["cost"] <= spectrum[len(spectrum) // 10]


@pytest.mark.parametrize("target", CORE)
def test_same_seed_same_result_different_seed_different_run(target):
    doc = rrg3_document(600, seed=1)
    short = {targets.SA: {"sweeps": 5}, targets.PT: {"sweeps": 5}, targets.TABU: {"sweeps": 50}}[target]
    a = solve(target, doc, {"seed": 5, **short}, threads=2)
    b = solve(target, doc, {"seed": 5, **short}, threads=1)
    c = solve(target, doc, {"seed": 6, **short}, threads=2)
    assert a.status == b.status == c.status == RunOutcome.SUCCEEDED
    assert a.result["solutions"] == b.result["solutions"]  # thread count does not change the run
    assert c.result["configuration"] != a.result["configuration"]


@pytest.mark.parametrize("target", CORE)
def test_timeout_stops_a_long_run_with_a_result(target):
    doc = rrg3_document(2000, seed=2)
    t0 = time.monotonic()
    out = solve(target, doc, {"seed": 1, "sweeps": 10**8, "timeout": 0.5})
    elapsed = time.monotonic() - t0
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert elapsed < 5.0
    assert out.result["parameters"]["timeout"] == 0.5
    assert_consistent(decode_problem(encode_json(doc)), out.result)


@pytest.mark.parametrize("target", CORE)
def test_cancel_stops_a_run(target):
    doc = rrg3_document(2000, seed=3)
    t0 = time.monotonic()
    out = solve(target, doc, {"seed": 1, "sweeps": 10**8}, is_cancelled=lambda: time.monotonic() - t0 > 0.3)
    assert out.status == RunOutcome.CANCELLED
    assert time.monotonic() - t0 < 5.0


def test_progress_is_reported():
    progress: list[Progress] = []
    out = solve(targets.SA, rrg3_document(200, seed=4), {"seed": 1, "sweeps": 2000}, progress=progress)
    assert out.status == RunOutcome.SUCCEEDED
    assert progress and all(isinstance(p, Progress) and p.job_id == "job-1" for p in progress)
    assert progress[-1].sweeps_done == 2000 and progress[-1].best_cost == out.result["cost"]
    assert progress[0].summary == out.summary and all(p.summary is None for p in progress[1:])


def test_a_job_shorter_than_the_progress_interval_sends_no_progress():
    """Most jobs are tiny: each report would cost the service a pipe message (and the first a SQLite write), and
    the outcome carries the summary and the result anyway. The first report comes one interval into the solve."""
    progress: list[Progress] = []
    request = RunRequest("job-1", targets.SA, {"seed": 1, "sweeps": 20}, encode_json(rrg3_document(12, seed=4)),
                         progress_interval_s=30.0)
    out = entry.run(request, lambda: False, progress.append)
    assert out.status == RunOutcome.SUCCEEDED and out.summary is not None and out.result["cost"] is not None
    assert progress == []


@pytest.mark.parametrize("target, params, name", [
    (targets.SA, {"sweeps": 0}, "sweeps"),
    (targets.SA, {"beta_start": -1}, "beta_start"),
    (targets.SA, {"restarts": 1.5}, "restarts"),
    (targets.PT, {"all_betas": [1.0, 2.0], "replicas": 3}, "replicas"),
    (targets.PT, {"all_betas": "hot"}, "all_betas"),
    (targets.TABU, {"tabu_tenure": -2}, "tabu_tenure"),
    (targets.TABU, {"beta_start": 1.0}, "beta_start"),
    (targets.SA, {"number_of_solutions": 11}, "number_of_solutions"),
])
def test_invalid_parameters_fail_naming_the_parameter(target, params, name):
    """The service validates parameters once (contracts.targets.validate_params, at submission and when the dispatcher
    hands a job to a runner); the runner gets them flat and valid."""
    with pytest.raises(ContractError) as info:
        targets.validate_params(target, {"params": params})
    assert info.value.code == errors.INVALID_PARAMETERS
    assert f"'{name}'" in info.value.message and "\n" not in info.value.message


def test_bad_input_and_unknown_target_fail_cleanly():
    out = solve(targets.SA, None, raw=b'{"cost_function": {"type": "ising", "version": "1.0", "terms": "x"}}')
    assert out.status == RunOutcome.FAILED and out.error_code == errors.INVALID_INPUT_DATA
    assert out.error_message.startswith("AZQ")
    out = solve("microsoft.nosuch.cpu", random_document("ising", 3, seed=1))
    assert out.status == RunOutcome.FAILED and out.error_code == errors.INVALID_TARGET


@pytest.mark.parametrize("target", CORE)
def test_zero_variable_problem(target):
    out = solve(target, problem_document("pubo", [(2.5, []), (-1.0, [])]), {"seed": 9})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] == 1.5 and out.result["configuration"] == {}
    assert out.result["solutions"] == [{"configuration": {}, "cost": 1.5}]


@pytest.mark.parametrize("target", CORE)
@pytest.mark.parametrize("kind", ["ising", "pubo"])
def test_single_variable_problem(target, kind):
    doc = problem_document(kind, [(3.0, [42]), (1.0, [])])
    out = solve(target, doc, {"seed": 1, "number_of_solutions": 3})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    low = -1 if kind == "ising" else 0
    assert out.result["configuration"] == {"42": low}
    assert out.result["cost"] == (-2.0 if kind == "ising" else 1.0)
    assert len(out.result["solutions"]) in (1, 2)


@pytest.mark.parametrize("tenure", [0, 5, 12, 1000])
def test_tabu_any_tenure_reaches_optimum(tenure):
    doc = random_document("ising", 12, seed=77, higher=True)
    optimum, _ = brute_force(decode_problem(encode_json(doc)))
    out = solve(targets.TABU, doc, {"seed": 2, "tabu_tenure": tenure, "sweeps": 500, "restarts": 4})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] == pytest.approx(optimum, abs=1e-9)
    assert out.result["parameters"]["tabu_tenure"] == tenure


def test_effective_parameters_are_echoed():
    doc = random_document("ising", 8, seed=2)
    sa = solve(targets.SA, doc, {"seed": 4}).result["parameters"]
    assert set(sa) == {"beta_start", "beta_stop", "restarts", "sweeps", "seed"}
    assert 0 < sa["beta_start"] < sa["beta_stop"] and sa["sweeps"] == 1000
    pt = solve(targets.PT, doc, {"seed": 4, "all_betas": [3.0, 0.5, 1.0]}).result["parameters"]
    assert pt["all_betas"] == [3.0, 0.5, 1.0] and pt["replicas"] == 3
    tabu = solve(targets.TABU, doc, {"seed": 4, "restarts": 3}).result["parameters"]
    assert tabu["restarts"] == 3 and tabu["tabu_tenure"] == 2 and tabu["sweeps"] == 1000


def test_initial_configuration_is_honoured():
    # at β = ∞ from the given state, one SA sweep only goes downhill: never worse than the start
    doc = random_document("pubo", 12, seed=8, initial=True)
    problem = decode_problem(encode_json(doc))
    start = reference_cost(problem, problem.initial_configuration)
    out = solve(targets.SA, doc, {"seed": 1, "sweeps": 1, "restarts": 1, "beta_start": 1e9, "beta_stop": 1e9})
    assert out.result["cost"] <= start + 1e-12
    model = compile_problem(problem)
    assert model.initial_state is not None


def test_protobuf_input_end_to_end():
    terms = [(1.0, [0, 1]), (-2.0, [1, 2]), (0.5, [0]), (1.5, [])]
    raw = encode_protobuf("ising", terms)
    out = solve(targets.SA, None, {"seed": 1}, raw=raw, content_type="application/x-protobuf")
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    optimum, _ = brute_force(decode_problem(raw, "application/x-protobuf"))
    assert out.result["cost"] == pytest.approx(optimum)


def test_anneal_benchmark_entry_point():
    from solver_runner.solvers.walkers import anneal

    model = compile_problem(decode_problem(encode_json(rrg3_document(300, seed=9))))
    betas = np.linspace(0.1, 3.0, 200)
    S, E = anneal(model, betas, restarts=4, seed=1, threads=1)
    assert S.shape == (4, 300) and S.dtype == np.int8 and E.shape == (4,)
    S2, E2 = anneal(model, betas, restarts=4, seed=1, threads=2)
    assert np.array_equal(S, S2) and np.array_equal(E, E2)
    problem = decode_problem(encode_json(rrg3_document(300, seed=9)))
    for r in range(4):
        assert E[r] == pytest.approx(reference_cost(problem, dict(zip(model.var_ids.tolist(), S[r].tolist()))))
    assert E.max() / 300 < -1.15  # a real anneal: 3-regular ±J ground states are near −1.25 per spin


def test_oversized_runs_fail_with_problem_too_large():
    doc = rrg3_document(20000, seed=5)
    out = solve(targets.SA, doc, {"restarts": 100_000})
    assert out.status == RunOutcome.FAILED and out.error_code == errors.PROBLEM_TOO_LARGE
    assert "restarts" in out.error_message
