"""The Toshiba and 1QBit targets on the wire (contract §5, §6): flat parameters, 1QBit values as text, each family's
provider, timeout unit and output format, and the result documents in their formats."""
from __future__ import annotations

import json

import pytest

from contracts import targets
from contracts.errors import ContractError
from contracts.jobs import JobDetails
from contracts.results import best_of, encode_result, make_result, output_document, solution_entry


def test_families_give_provider_and_output_format():
    assert targets.family_of(targets.SA).provider_id == "Microsoft"
    assert targets.family_of(targets.SBM).provider_id == "toshiba"
    assert targets.family_of(targets.SBM).output_format == "microsoft.qio-results.v2"
    for target in targets.ONEQBIT_TARGETS:
        assert targets.family_of(target).provider_id == "1qbit"
        assert targets.family_of(target).output_format == "microsoft.qio-results.v1"
    assert set(targets.ALL_TARGETS) == set(targets.FAMILIES)


def test_oneqbit_values_arrive_as_the_sdks_str():
    """What `PticmSolver(ws, ...)` sends: every value str()-ed; also native JSON values."""
    sent = {"auto_set_temperatures": "False", "elite_threshold": "0.3", "goal": "OPTIMIZE", "high_temp": "2",
            "low_temp": "0.2", "manual_temperatures": "[1.0, 0.5]", "num_replicas": "2", "seed": "42",
            "scaling_type": "MEDIAN", "var_fixing_type": "NO_FIXING", "perform_icm": "True"}
    out = targets.validate_params(targets.QBIT_PTICM, sent)
    assert out == {"auto_set_temperatures": False, "elite_threshold": 0.3, "goal": "OPTIMIZE", "high_temp": 2.0,
                   "low_temp": 0.2, "manual_temperatures": [1.0, 0.5], "num_replicas": 2, "seed": 42,
                   "scaling_type": "MEDIAN", "var_fixing_type": "NO_FIXING", "perform_icm": True}
    assert targets.validate_params(targets.QBIT_TABU, {"improvement_tolerance": "1e-09", "timeout": "2"}) == \
        {"improvement_tolerance": 1e-9, "timeout": 2}
    assert targets.validate_params(targets.QBIT_PR, {"greedy_path_relinking": True, "ref_set_count": 4}) == \
        {"greedy_path_relinking": True, "ref_set_count": 4}
    assert targets.validate_params(targets.QBIT_PTICM, {"goal": "sample"}) == {"goal": "SAMPLE"}


def test_toshiba_takes_flat_native_values():
    out = targets.validate_params(targets.SBM, {"steps": 0, "loops": 10, "target": -5, "maxout": 3, "timeout": 2,
                                                "dt": 0.5, "C": 0.1, "algo": "1.5", "auto": False, "seed": 7})
    assert out == {"steps": 0, "loops": 10, "target": -5.0, "maxout": 3, "timeout": 2.0, "dt": 0.5, "C": 0.1,
                   "algo": "1.5", "auto": False, "seed": 7}
    assert targets.validate_params(targets.SBM, {"algo": 2.0}) == {"algo": "2.0"}
    assert targets.validate_params(targets.SBM, {}) == {} and targets.validate_params(targets.SBM, None) == {}


@pytest.mark.parametrize("target,params,fragment", [
    (targets.SBM, {"params": {"loops": 10}}, "takes flat parameters"),
    (targets.SBM, {"loops": "10"}, "'loops' must be an integer"),
    (targets.SBM, {"dt": 0}, "'dt' must be greater than 0"),
    (targets.SBM, {"dt": 1.5}, "'dt' must be at most 1"),
    (targets.SBM, {"timeout": 3601}, "'timeout' must be at most 3600"),
    (targets.SBM, {"maxout": 1001}, "'maxout' must be at most 1000"),
    (targets.SBM, {"algo": "3.0"}, "'algo' must be one of '1.5', '2.0'"),
    (targets.SBM, {"sweeps": 10}, "'sweeps' is not a parameter of toshiba.sbm.ising"),
    (targets.QBIT_TABU, {"tabu_tenure": "two"}, "'tabu_tenure' must be an integer; got 'two'"),
    (targets.QBIT_TABU, {"improvement_cutoff": "1.5"}, "'improvement_cutoff' must be an integer"),
    (targets.QBIT_TABU, {"tabu_tenure_rand_max": "200001"}, "'tabu_tenure_rand_max' must be at most 200000"),
    (targets.QBIT_TABU, {"timeout": "-1"}, "'timeout' must be at least 0"),
    (targets.QBIT_PR, {"distance_scale": "0.6"}, "'distance_scale' must be at most 0.5"),
    (targets.QBIT_PR, {"ref_set_count": "1"}, "'ref_set_count' must be at least 2"),
    (targets.QBIT_PR, {"greedy_path_relinking": "maybe"}, "'greedy_path_relinking' must be true or false"),
    (targets.QBIT_PTICM, {"goal": "WIN"}, "'goal' must be one of 'OPTIMIZE', 'SAMPLE'"),
    (targets.QBIT_PTICM, {"manual_temperatures": "[1.0, hot]"}, "'manual_temperatures' must be a list of numbers"),
    (targets.QBIT_PTICM, {"manual_temperatures": "[1.0, 0]"}, "'manual_temperatures[1]' must be greater than 0"),
    (targets.QBIT_PTICM, {"low_temp": "3", "high_temp": "2"}, "'low_temp' must be at most high_temp"),
    (targets.QBIT_PTICM, {"manual_temperatures": "[1, 2]", "num_temps": "3"}, "'num_temps' must equal"),
    (targets.QBIT_PTICM, {"frac_sweeps_idle": "1.5"}, "'frac_sweeps_idle' must be at most 1"),
    (targets.QBIT_PTICM, {"num_sweeps_per_run": "nan"}, "'num_sweeps_per_run' must be an integer"),
])
def test_bad_catalog_parameters_name_the_parameter(target, params, fragment):
    with pytest.raises(ContractError) as info:
        targets.validate_params(target, params)
    assert info.value.code == "InvalidParameters" and "\n" not in info.value.message
    assert fragment in info.value.message, info.value.message


def test_input_params_bodies_and_what_a_job_keeps():
    assert targets.input_params_body(targets.SA, {"sweeps": 10}) == {"params": {"sweeps": 10}}
    assert targets.input_params_body(targets.SBM, {"loops": 10}) == {"loops": 10}
    assert targets.input_params_body(targets.QBIT_PTICM, {"auto_set_temperatures": False, "manual_temperatures": [1.0, 2.0]}) \
        == {"auto_set_temperatures": "False", "manual_temperatures": "[1.0, 2.0]"}
    sent = {"num_sweeps_per_run": "99", "seed": None}
    assert targets.stored_input_params(targets.QBIT_PTICM, sent, {"num_sweeps_per_run": 99}) == \
        {"num_sweeps_per_run": "99"}  # as sent (REC: the job echoes the strings), nulls left out
    assert targets.stored_input_params(targets.SA, {"params": {"sweeps": 10.0}}, {"sweeps": 10}) == \
        {"params": {"sweeps": 10}}
    for target, body in ((targets.SBM, {"loops": 10}), (targets.QBIT_TABU, {"timeout": "2"})):
        kept = targets.stored_input_params(target, body, targets.validate_params(target, body))
        assert targets.validate_params(target, kept) == targets.validate_params(target, body)  # the dispatcher's check


def _result(values):
    return make_result([solution_entry({0: v, 1: -v}, -5.0 + i) for i, v in
                        enumerate(values)], {"runs": 320, "message": "finished", "time": 0.02})


def test_toshiba_output_document():
    job = JobDetails(id="j", container_uri="http://a/job-j", input_data_format="microsoft.qio.v2", provider_id="toshiba",
                     target=targets.SBM, input_params={"loops": 10}, input_data_uri="http://a/job-j/inputData")
    doc = json.loads(encode_result(_result([1, -1]), job))
    assert doc == {"target": "toshiba.sbm.ising", "version": "1.0", "input_params": {"loops": 10},
                   "input_data_uri": "http://a/job-j/inputData",
                   "solutions": [{"cost": -5.0, "configuration": {"0": 1, "1": -1},
                                  "parameters": {"runs": 320, "message": "finished", "time": 0.02}},
                                 {"cost": -4.0, "configuration": {"0": -1, "1": 1},
                                  "parameters": {"runs": 320, "message": "finished", "time": 0.02}}]}
    assert best_of(doc) == (-5.0, {"0": 1, "1": -1})


def test_oneqbit_output_document():
    result = make_result([solution_entry({0: 1, 1: 0}, -5.0)],
                         {"improvement_tolerance": 1e-9, "tabu_tenure (COMPUTED)": 2, "seed (GENERATED)": 7,
                          "greedy": False, "temps": [0.5, 1.0], "solver_name": "Tabu"})
    doc = output_document(result, targets.QBIT_TABU, {"improvement_cutoff": "10"}, "http://a/job-j/inputData")
    assert doc == {"input_data_uri": "http://a/job-j/inputData",
                   "input_params": {"improvement_tolerance": "1e-09", "tabu_tenure (COMPUTED)": "2",
                                    "seed (GENERATED)": "7", "greedy": "false", "temps": "[0.5, 1.0]",
                                    "solver_name": "Tabu"},
                   "solutions": [{"configuration": {"0": "1", "1": "0"}, "cost": -5.0}],
                   "target": "1qbit.tabu", "version": "1.0"}
    assert best_of(doc) == (-5.0, {"0": "1", "1": "0"})


def test_microsoft_output_is_the_result_itself():
    result = _result([1])
    assert output_document(result, targets.SA) == result and json.loads(encode_result(result)) == result
    assert best_of(result) == (result["cost"], result["configuration"])
