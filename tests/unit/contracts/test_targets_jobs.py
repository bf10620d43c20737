"""Parameter validation per target, and the JobDetails wire model."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts import targets
from contracts.errors import ContractError
from contracts.jobs import ErrorData, JobDetails
from contracts.status import TERMINAL, TRANSITIONS, JobStatus, sources_of


def test_every_target_has_a_schema_and_twins_map():
    assert set(targets.ALL_TARGETS) == set(targets.SCHEMAS)
    assert targets.parameterised_twin(targets.SA_PF) == targets.SA
    assert targets.parameterised_twin(targets.QMC) == targets.QMC


def test_unknown_target_lists_offered_targets():
    with pytest.raises(ContractError) as info:
        targets.check_target("ionq.qpu")
    assert info.value.code == "InvalidTarget" and targets.SA in info.value.message


@pytest.mark.parametrize(
    "target,params,fragment",
    [
        (targets.SA, {"sweeps": 0}, "'sweeps' must be at least 1"),
        (targets.SA, {"sweeps": 1.5}, "'sweeps' must be an integer"),
        (targets.SA, {"sweeps": "100"}, "'sweeps' must be an integer"),
        (targets.SA, {"restarts": True}, "'restarts' must be an integer"),
        (targets.SA, {"beta_start": -1}, "'beta_start' must be at least 0"),
        (targets.SA, {"timeout": 0}, "'timeout' must be greater than 0"),
        (targets.SA, {"sweep": 10}, "'sweep' is not a parameter"),
        (targets.PT, {"replicas": 3, "all_betas": [1, 2]}, "'replicas' must equal"),
        (targets.PT, {"all_betas": []}, "non-empty list"),
        (targets.PA, {"alpha": 1.0}, "'alpha' must be greater than 1"),
        (targets.PA, {"beta": {"type": "linear", "initial": 5, "final": 1}}, "must be increasing"),
        (targets.PA, {"beta": {"type": "cubic", "initial": 0, "final": 1}}, "'linear' or 'geometric'"),
        (targets.SSMC, {"alpha": {"type": "linear", "initial": 0, "final": 1}}, "must be decreasing"),
        (targets.SSMC, {"beta": {"type": "linear", "initial": 0, "final": 1}}, "'beta.initial' must be greater than 0"),
        (targets.SA, {"number_of_solutions": 11}, "at most 10"),
        (targets.QMC, {"transverse_field_start": 2, "transverse_field_high": 3}, "name the same setting"),
    ],
)
def test_bad_parameters_name_the_parameter(target, params, fragment):
    with pytest.raises(ContractError) as info:
        targets.validate_params(target, {"params": params})
    assert info.value.code == "InvalidParameters"
    assert fragment in info.value.message, info.value.message


def test_valid_parameters_are_normalised():
    out = targets.validate_params(targets.PT, {"params": {"sweeps": 10.0, "all_betas": [1, 2], "seed": 3, "timeout": None}})
    assert out == {"sweeps": 10, "all_betas": [1.0, 2.0], "seed": 3}
    assert targets.validate_params(targets.SA_PF, {"params": {}}) == {}
    assert targets.validate_params(targets.SA, None) == {}
    with pytest.raises(ContractError):
        targets.validate_params(targets.SA, {"sweeps": 10})  # flat parameters: Toshiba style, not Microsoft


def test_transitions_never_leave_a_terminal_state():
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()
    assert sources_of(JobStatus.CANCELLED) == {JobStatus.WAITING, JobStatus.EXECUTING}


def test_job_details_round_trip_camel_case():
    now = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    job = JobDetails(id="j1", container_uri="http://c", input_data_format="microsoft.qio.v2", provider_id="Microsoft",
                     target=targets.SA, status=JobStatus.FAILED, creation_time=now,
                     error_data=ErrorData("InvalidInputData", "AZQ105: bad"), is_cancelling=False)
    wire = job.to_wire()
    assert wire["containerUri"] == "http://c" and wire["status"] == "Failed"
    assert wire["creationTime"] == "2024-01-02T03:04:05.678901Z" and wire["isCancelling"] is False
    assert wire["errorData"] == {"code": "InvalidInputData", "message": "AZQ105: bad"}
    back = JobDetails.from_wire(wire)
    assert back == job


def test_one_rule_for_a_jobs_timeout():
    """The runner stops at it and the dispatcher's hard deadline follows it (issue 13: a parameter-free job
    without `timeout` stopped itself at 5 s while its hard deadline was 86 400 s)."""
    assert targets.effective_timeout(targets.SA_PF, {}) == targets.PARAMETER_FREE_DEFAULT_TIMEOUT_S
    assert targets.effective_timeout(targets.SA_PF, {"timeout": 2}) == 2.0
    assert targets.effective_timeout(targets.SA, {"sweeps": 10}) is None
    assert targets.effective_timeout(targets.SA, {"timeout": 7}) == 7.0
    assert targets.effective_timeout(targets.SBM, {}) == targets.TOSHIBA_DEFAULT_TIMEOUT_S  # SQBM+: 10 s
    assert targets.effective_timeout(targets.SBM, {"timeout": 2.5}) == 2.5
    assert targets.effective_timeout(targets.QBIT_TABU, {"timeout": 1500}) == 1.5  # 1QBit: milliseconds
    assert targets.effective_timeout(targets.QBIT_PR, {"timeout": 0}) is None  # 0: no timeout
    assert targets.effective_timeout(targets.QBIT_PTICM, {}) is None
