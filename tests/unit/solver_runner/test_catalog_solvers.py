"""The Toshiba and 1QBit solvers end to end through solver_runner.entry.run: the brute-force optimum on instances of
≤ 12 variables (ising and pubo), reported costs, reproducibility, timeout and cancel, refused inputs, and each
provider's own parameters and echoes."""
from __future__ import annotations

import time

import pytest
from solver_core_cases import all_costs, assert_consistent, brute_force, random_document, rrg3_document

from contracts import errors, targets
from contracts.problems import decode_problem, encode_json, problem_document
from contracts.runner import Progress, RunOutcome, RunRequest
from solver_runner import entry

CATALOG = [targets.SBM, targets.QBIT_TABU, targets.QBIT_PR, targets.QBIT_PTICM]
INSTANCES = [("ising", 12, {}), ("pubo", 12, {}), ("ising", 10, {"density": 1.0}), ("pubo", 11, {"density": 0.2}),
             ("pubo", 9, {"density": 1.0, "constant": False})]


def solve(target, doc, params=None, *, threads=1, is_cancelled=lambda: False, progress=None):
    """As the service does: the parameters as the SDK sends them (1QBit: text), validated, then run."""
    checked = targets.validate_params(target, targets.input_params_body(target, dict(params or {})))
    request = RunRequest("job-1", target, checked, encode_json(doc), threads=threads, progress_interval_s=0.0)
    return entry.run(request, is_cancelled, progress.append if progress is not None else (lambda p: None))


@pytest.mark.parametrize("target", CATALOG)
@pytest.mark.parametrize("case", range(len(INSTANCES)))
def test_reaches_brute_force_optimum(target, case):
    kind, n, kw = INSTANCES[case]
    doc = random_document(kind, n, seed=71 + case, **kw)
    problem = decode_problem(encode_json(doc))
    optimum, _ = brute_force(problem)
    out = solve(target, doc, {"seed": 5 + case})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] == pytest.approx(optimum, abs=1e-9)
    assert_consistent(problem, out.result)


@pytest.mark.parametrize("target", CATALOG)
def test_same_seed_same_result_whatever_the_threads(target):
    doc = rrg3_document(60 if target == targets.QBIT_PR else 300, seed=1)
    short = {targets.SBM: {"steps": 60}, targets.QBIT_TABU: {"improvement_cutoff": 200},
             targets.QBIT_PR: {"ref_set_count": 3}, targets.QBIT_PTICM: {"max_total_sweeps": 20, "num_sweeps_per_run": 10}}
    a = solve(target, doc, {"seed": 5, **short[target]}, threads=2)
    b = solve(target, doc, {"seed": 5, **short[target]}, threads=1)
    c = solve(target, doc, {"seed": 6, **short[target]}, threads=2)
    assert a.status == b.status == c.status == RunOutcome.SUCCEEDED
    assert a.result["solutions"] == b.result["solutions"]  # thread count does not change the run
    if target != targets.QBIT_PR:  # path relinking converges to the same (optimal) state from any seed here
        assert c.result["configuration"] != a.result["configuration"]


LONG = {targets.SBM: {"loops": 0, "timeout": 0.5}, targets.QBIT_TABU: {"improvement_cutoff": 10**8, "timeout": 500},
        targets.QBIT_PR: {"timeout": 500}, targets.QBIT_PTICM: {"max_total_sweeps": 10**8, "timeout": 500}}


@pytest.mark.parametrize("target", CATALOG)
def test_timeout_stops_a_long_run_with_a_result(target):
    doc = rrg3_document(2000, seed=2)
    t0 = time.monotonic()
    out = solve(target, doc, {"seed": 1, **LONG[target]})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert time.monotonic() - t0 < 5.0
    assert_consistent(decode_problem(encode_json(doc)), out.result)
    if target == targets.SBM:
        assert out.result["parameters"]["message"] == "timeout"


@pytest.mark.parametrize("target", CATALOG)
def test_cancel_stops_a_run(target):
    doc = rrg3_document(2000, seed=3)
    params = {k: v for k, v in LONG[target].items() if k != "timeout"}
    if target == targets.SBM:
        params["timeout"] = 3600
    t0 = time.monotonic()
    out = solve(target, doc, {"seed": 1, **params}, is_cancelled=lambda: time.monotonic() - t0 > 0.3)
    assert out.status == RunOutcome.CANCELLED
    assert time.monotonic() - t0 < 5.0


@pytest.mark.parametrize("target", CATALOG)
def test_progress_is_reported(target):
    progress: list[Progress] = []
    out = solve(target, rrg3_document(500, seed=4), {"seed": 1, **({"timeout": 500} if target == targets.QBIT_PR else {})},
                progress=progress)
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert progress and progress[-1].best_cost == out.result["cost"]


@pytest.mark.parametrize("target", CATALOG)
@pytest.mark.parametrize("doc,fragment", [
    (problem_document("pubo", [(1.0, [0, 1, 2]), (1.0, [0])]), "this problem has a term of 3 variables"),
    (problem_document("pubo", [(1.0, [0, 1])], slc_terms=[(1.0, [(1.0, [0]), (-1.0, [])])]), "no grouped (SLC)"),
])
def test_higher_degree_and_grouped_terms_are_refused_clearly(target, doc, fragment):
    out = solve(target, doc, {"seed": 1})
    assert out.status == RunOutcome.FAILED and out.error_code == errors.INVALID_INPUT_DATA
    assert target in out.error_message and fragment in out.error_message


@pytest.mark.parametrize("target", CATALOG)
def test_zero_variable_problem(target):
    out = solve(target, problem_document("pubo", [(2.5, []), (-1.0, [])]), {"seed": 9})
    assert out.status == RunOutcome.SUCCEEDED, out.error_message
    assert out.result["cost"] == 1.5 and out.result["configuration"] == {}
    if target == targets.SBM:
        assert out.result["parameters"] == {"runs": 0, "message": "finished", "time": 0.0}
    else:
        assert out.result["parameters"]["seed"] == 9 and out.result["parameters"]["solver_name"]


# -- Toshiba SQBM+ ----------------------------------------------------------------------------------------------------

def test_sbm_echoes_runs_message_and_time_and_pubo_answers_in_zero_one():
    doc = random_document("pubo", 10, seed=3)
    out = solve(targets.SBM, doc, {"seed": 2, "loops": 3})
    params = out.result["parameters"]
    assert set(params) == {"runs", "message", "time"} and params["runs"] == 480 and params["message"] == "finished"
    assert set(out.result["configuration"].values()) <= {0, 1}


def test_sbm_stops_when_the_target_is_reached():
    doc = random_document("ising", 12, seed=8)
    optimum, _ = brute_force(decode_problem(encode_json(doc)))
    out = solve(targets.SBM, doc, {"seed": 1, "loops": 0, "target": optimum + 1e-9, "timeout": 60})
    assert out.result["parameters"]["message"] == "reached" and out.result["cost"] == pytest.approx(optimum)
    assert out.result["parameters"]["time"] < 30


@pytest.mark.parametrize("algo", ["1.5", "2.0"])
def test_sbm_maxout_lists_distinct_low_solutions(algo):
    doc = rrg3_document(100, seed=4)  # short runs end in different states
    out = solve(targets.SBM, doc, {"seed": 3, "maxout": 5, "algo": algo, "dt": 0.5, "steps": 40})
    assert len(out.result["solutions"]) == 5
    assert_consistent(decode_problem(encode_json(doc)), out.result)
    doc = random_document("ising", 10, seed=4)
    problem = decode_problem(encode_json(doc))
    out = solve(targets.SBM, doc, {"seed": 3, "maxout": 5, "algo": algo, "dt": 0.5})
    assert out.result["cost"] == pytest.approx(all_costs(problem)[0])


def test_sbm_auto_tunes_dt_and_algo_within_the_timeout():
    out = solve(targets.SBM, rrg3_document(200, seed=5), {"seed": 1, "auto": True, "timeout": 1.5, "steps": 200})
    params = out.result["parameters"]
    assert set(params) == {"runs", "message", "time", "dt", "algo", "total_time"}
    assert params["algo"] in ("1.5", "2.0") and 0 < params["dt"] <= 1 and params["message"] == "timeout"
    assert params["time"] <= params["total_time"] < 4 and params["runs"] >= 4 * 160


# -- 1QBit ------------------------------------------------------------------------------------------------------------

def test_tabu_echo_marks_computed_values_and_the_generated_seed():
    doc = random_document("pubo", 12, seed=1)
    echo = solve(targets.QBIT_TABU, doc, {"improvement_cutoff": 50}).result["parameters"]
    assert echo["improvement_cutoff"] == 50 and echo["improvement_tolerance"] == 1e-9 and echo["solver_name"] == "Tabu"
    assert {"tabu_tenure (COMPUTED)", "tabu_tenure_rand_max (COMPUTED)", "seed (GENERATED)"} <= set(echo)
    echo = solve(targets.QBIT_TABU, doc, {"seed": 4, "tabu_tenure": 2, "timeout": 1000}).result["parameters"]
    assert echo["seed"] == 4 and echo["tabu_tenure"] == 2 and echo["timeout"] == 1000
    assert "improvement_cutoff (COMPUTED)" in echo


@pytest.mark.parametrize("greedy", [False, True])
def test_path_relinking_greedy_and_random_reach_the_optimum(greedy):
    doc = random_document("ising", 12, seed=9)
    optimum, _ = brute_force(decode_problem(encode_json(doc)))
    out = solve(targets.QBIT_PR, doc, {"seed": 2, "greedy_path_relinking": greedy, "ref_set_count": 4,
                                       "distance_scale": 0.5})
    assert out.result["cost"] == pytest.approx(optimum)
    assert out.result["parameters"] == {"distance_scale": 0.5, "greedy_path_relinking": greedy, "ref_set_count": 4,
                                        "seed": 2, "solver_name": "PathRelinking"}


def test_pticm_echo_and_statistics():
    doc = random_document("ising", 12, seed=2)
    echo = solve(targets.QBIT_PTICM, doc, {"seed": 1, "num_sweeps_per_run": 50}).result["parameters"]
    assert echo["solver_name"] == "PTICM" and echo["max_total_sweeps"] == 500 and echo["total_sweeps"] == 500
    assert echo["runs_counter"] == 10 and echo["num_temps"] == 30 and echo["scaling_type"] == "MEDIAN"
    assert len(echo["mc_acceptance_probability"]) == 30 and len(echo["pt_acceptance_probability"]) == 29
    assert echo["auto_set_temperatures"] is True and echo["low_temp"] < echo["high_temp"]
    manual = solve(targets.QBIT_PTICM, doc, {"seed": 1, "manual_temperatures": [3.0, 1.0, 0.3]}).result["parameters"]
    assert manual["num_temps"] == 3 and manual["auto_set_temperatures"] is False and manual["high_temp"] == 3.0


def test_pticm_samples_and_variable_fixing():
    doc = random_document("pubo", 12, seed=6)
    problem = decode_problem(encode_json(doc))
    optimum, _ = brute_force(problem)
    sampled = solve(targets.QBIT_PTICM, doc, {"seed": 3, "goal": "SAMPLE", "max_samples_per_layer": 3}).result
    assert 2 <= len(sampled["solutions"]) <= 2 * 3
    assert_consistent(problem, sampled)
    for fixing in ("PERSISTENCY", "SPVAR"):
        out = solve(targets.QBIT_PTICM, doc, {"seed": 3, "var_fixing_type": fixing, "frac_sweeps_idle": 0.2,
                                              "frac_sweeps_fixing": 0.2})
        assert out.result["parameters"]["fixed_variables"] > 0
        assert out.result["cost"] == pytest.approx(optimum)
    restarted = solve(targets.QBIT_PTICM, doc, {"seed": 3, "frac_sweeps_stagnation": 0.1})
    assert restarted.result["cost"] == pytest.approx(optimum)
