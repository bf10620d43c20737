"""Every Microsoft QIO solver class and problem form of the unmodified azure-quantum 0.27 sync SDK runs on openqio
(tests/sdk/sync_solvers.py, in .venv-sdk). One SDK process submits every job, then collects every result."""
from __future__ import annotations

import pytest

from tests.sdk.harness import assert_check, run_sdk_script

pytestmark = [pytest.mark.integration, pytest.mark.sdk]

SOLVERS = ["sa", "pt", "tabu", "qmc", "pa", "ssmc"]
PARAMETER_FREE = ["sa_pf", "pt_pf", "tabu_pf", "pa_pf", "ssmc_pf"]
CHECKS = (
    [f"solver_{s}" for s in SOLVERS + PARAMETER_FREE]   # SDK test problem -> {"0":1,"1":1,"2":0,"3":1}, cost -5
    + [f"grouped_{s}" for s in SOLVERS]                  # SlcTerm (pubo_grouped) on every solver
    + [
        "init_config",                 # Problem with initial_configuration (JSON version 1.1)
        "protobuf_small_sa",           # ContentType.protobuf, one chunk
        "protobuf_small_pa",
        "protobuf_2500_terms",         # the SDK's chunk bug: the service solves the terms it received
        "problem_upload_uri",          # Problem.upload(ws) then submit(uri): input outside the job container
        "online_problem",              # OnlineProblem(name, blob_uri)
        "streaming_problem",           # StreamingProblem.upload then submit(uri)
        "streaming_init_config_fails",  # the SDK writes invalid JSON: job Failed with errorData; RuntimeError
    ]
)


@pytest.fixture(scope="module")
def sdk_solvers(openqio_service):
    return run_sdk_script(openqio_service, "sync_solvers.py")


def test_reports_exactly_the_listed_checks(sdk_solvers):
    assert sorted(sdk_solvers["checks"]) == sorted(CHECKS)


@pytest.mark.parametrize("check", CHECKS)
def test_sync_sdk_solvers(sdk_solvers, check):
    assert_check(sdk_solvers, check)


def test_streaming_init_config_error_names_the_json_problem(sdk_solvers):
    detail = assert_check(sdk_solvers, "streaming_init_config_fails")
    assert detail["error_data"]["code"] and "AZQ105" in detail["error_data"]["message"], detail
