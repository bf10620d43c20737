"""The Toshiba and 1QBit targets through the unmodified azure-quantum 0.27 SDK, sync and aio (tests/sdk/
catalog_flow.py, in .venv-sdk): each target submitted with the SDK's own test parameters and read back in its
provider's result format, plus Toshiba's target/maxout/auto, a refused degree-3 problem, a bad 1QBit value, and a
cancelled run."""
from __future__ import annotations

import pytest

from tests.sdk.harness import assert_check, run_sdk_script

pytestmark = [pytest.mark.integration, pytest.mark.sdk]

SOLVERS = ["sbm", "tabu", "pticm", "pr"]
CHECKS = [
    *(f"submit_{s}" for s in SOLVERS),
    *(f"sync_{s}" for s in SOLVERS),
    "submit_sbm_target_maxout", "sbm_target_maxout",  # loops 0 + target: stops at the optimum, message 'reached'
    "submit_sbm_auto", "sbm_auto",                    # echoes dt, algo, total_time
    "submit_tabu_number_of_solutions", "tabu_number_of_solutions",
    "sbm_degree_3_fails_clearly",                     # Failed, errorData InvalidInputData naming the term size
    "bad_1qbit_value_is_400",                         # tabu_tenure="two": 400 at submit, no job stored
    "grouped_refused_by_the_sdk",                     # the SDK's own check_valid_problem
    "sbm_cancel_executing",
    *(f"aio_submit_{s}" for s in SOLVERS),
    *(f"aio_{s}" for s in SOLVERS),
]


@pytest.fixture(scope="module")
def sdk_catalog(openqio_service):
    return run_sdk_script(openqio_service, "catalog_flow.py", timeout=300)


def test_reports_exactly_the_listed_checks(sdk_catalog):
    assert sorted(sdk_catalog["checks"]) == sorted(CHECKS)


@pytest.mark.parametrize("check", CHECKS)
def test_sdk_catalog(sdk_catalog, check):
    assert_check(sdk_catalog, check)


def test_results_are_in_each_providers_format(sdk_catalog):
    toshiba = assert_check(sdk_catalog, "sync_sbm")["results"]
    assert toshiba["input_params"] == {"loops": 10}
    assert toshiba["solutions"][0]["parameters"]["runs"] == 1600 and toshiba["solutions"][0]["parameters"]["message"] \
        == "finished"
    pticm = assert_check(sdk_catalog, "sync_pticm")["results"]
    assert pticm["input_params"]["seed"] == "42" and pticm["input_params"]["runs_counter"] == "10"
    assert pticm["solutions"][0]["configuration"] == {"0": "1", "1": "1", "2": "0", "3": "1"}
