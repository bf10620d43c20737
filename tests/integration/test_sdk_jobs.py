"""The unmodified azure-quantum 0.27 sync SDK manages jobs on openqio (tests/sdk/sync_jobs.py, in .venv-sdk).

One SDK process runs every check below against the session's service; each check is reported as its own test.
"""
from __future__ import annotations

import pytest

from tests.sdk.harness import assert_check, run_sdk_script

pytestmark = [pytest.mark.integration, pytest.mark.sdk]

CHECKS = [
    "seed_flow",                    # README flow, credential=None + token file, cost -17, parameter-free target
    "get_job_details",              # every JobDetails field, timestamps ordered, isCancelling in additional_properties
    "output_uri_and_fresh_sas",     # outputDataUri -> rawOutputData; long-lived SAS on every GET; account SAS racw
    "patch_tags",                   # generated client jobs.patch: add/remove/replace /tags; /status refused (400)
    "get_job_not_found",            # 404 -> ResourceNotFoundError with an error code
    "cancel_finished_job",          # 409 -> ResourceExistsError
    "long_jobs_start",              # long SA jobs fill the runners; one more stays Waiting
    "cancel_waiting",               # Waiting -> Cancelled at once, cancellationTime set
    "cancel_executing",             # Executing: isCancelling visible, then Cancelled with cancellationTime
    "cancel_cleanup",               # the other long jobs cancel too (the runners are free again)
    "get_results_cancelled_raises",  # RuntimeError from get_results on a Cancelled job
    "list_jobs_filters",            # name_match, status, created_after (client-side filters)
    "list_jobs_paging",             # more than one page (OPENQIO_LIST_PAGE_SIZE=5), nextLink followed
    "get_targets",                  # all offered targets; the SDK drops -parameterfree ids
    "get_quotas",                   # snake_case quota dicts
    "unsupported_toshiba",          # toshiba.sbm.ising -> 400 naming the offered targets
    "unsupported_1qbit",            # 1qbit.tabu -> 400 naming the offered targets
]


@pytest.fixture(scope="module")
def sdk_jobs(openqio_service):
    return run_sdk_script(openqio_service, "sync_jobs.py")


def test_reports_exactly_the_listed_checks(sdk_jobs):
    assert sorted(sdk_jobs["checks"]) == sorted(CHECKS)


@pytest.mark.parametrize("check", CHECKS)
def test_sync_sdk(sdk_jobs, check):
    assert_check(sdk_jobs, check)
