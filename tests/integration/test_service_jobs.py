"""The whole service on real components (Azurite, TLS gateway, runner processes), driven over raw REST."""
from __future__ import annotations

import asyncio
import gzip
import signal
import uuid
from pathlib import Path

import pytest

from contracts import targets
from contracts.problems import encode_protobuf
from contracts.status import JobStatus
from tests.integration.rest import Rest, long_problem, seed_problem
from tests.service import Service

pytestmark = pytest.mark.integration
LONG = {"sweeps": 10**9, "restarts": 1, "timeout": 120}


async def test_seed_problem_succeeds_with_output_blob_written_first(openqio_service):
    async with Rest(openqio_service) as rest:
        job_id = await rest.submit(seed_problem(), targets.SA, {"sweeps": 200, "restarts": 4, "seed": 7})
        job = await rest.wait(job_id)
        assert job["status"] == "Succeeded", job
        assert job["outputDataUri"] and "rawOutputData" in job["outputDataUri"]
        assert job["beginExecutionTime"] and job["endExecutionTime"] and job["creationTime"]
        result = await rest.result(job)
        assert result["configuration"] == {"0": 1, "1": 1, "2": -1}
        assert result["cost"] == -17.0
        assert result["solutions"][0]["cost"] == -17.0
        assert result["parameters"]["seed"] == 7


async def test_pubo_protobuf_input(openqio_service):
    terms = [(-3, [1, 0]), (5, [2, 0]), (9, [2, 1]), (2, [3, 0]), (-4, [3, 1]), (4, [3, 2])]
    async with Rest(openqio_service) as rest:
        job_id = await rest.submit({}, targets.PT, {"sweeps": 100, "seed": 1},
                                   data=encode_protobuf("pubo", terms), content_type="application/x-protobuf")
        job = await rest.wait(job_id)
        assert job["status"] == "Succeeded", job
        result = await rest.result(job)
        assert result["configuration"] == {"0": 1, "1": 1, "2": 0, "3": 1} and result["cost"] == -5.0


@pytest.mark.parametrize(
    "body,code,fragment",
    [
        (b"this is not json", "InvalidInputData", "AZQ105"),
        (b'{"cost_function": {"type": "ising", "terms": [{"c": 1, "ids": [0, 0]}]}}', "InvalidInputData", "AZQ101"),
        (b'{"metadata": {"name": "x"}}', "InvalidInputData", "AZQ102"),
        (b'{"cost_function": {"type": "ising", "terms": [{"c": 1e400, "ids": [0]}]}}', "InvalidInputData", "AZQ103"),
    ],
)
async def test_invalid_input_blob_fails_the_job_with_error_data(openqio_service, body, code, fragment):
    async with Rest(openqio_service) as rest:
        job_id = await rest.submit({}, targets.SA, {"sweeps": 10}, data=gzip.compress(body))
        job = await rest.wait(job_id)
        assert job["status"] == "Failed"
        assert job["errorData"]["code"] == code and fragment in job["errorData"]["message"], job["errorData"]
        assert job["outputDataUri"] is None or "rawOutputData" not in (job["outputDataUri"] or "")


async def test_missing_input_blob_fails_the_job(openqio_service):
    async with Rest(openqio_service) as rest:
        job_id = str(uuid.uuid1())
        status, sas = await rest.request("POST", "storage/sasUri", json={"containerName": f"job-{job_id}"})
        body = rest.job_body(job_id, sas["sasUri"], targets.SA, {"sweeps": 10})
        status, job = await rest.request("PUT", f"jobs/{job_id}", json=body)
        assert status in (200, 201), job
        job = await rest.wait(job_id)
        assert job["status"] == "Failed"
        assert job["errorData"]["code"] == "InputDataNotFound", job["errorData"]


async def test_cancel_waiting_and_executing_jobs(openqio_service):
    async with Rest(openqio_service) as rest:
        # Two runners: two long jobs occupy them, the third waits.
        running = [await rest.submit(long_problem(seed=i), targets.SA, LONG) for i in range(2)]
        for job_id in running:
            await rest.wait_status(job_id, JobStatus.EXECUTING)
        waiting = await rest.submit(long_problem(seed=3), targets.SA, LONG)
        assert (await rest.get(waiting))["status"] == "Waiting"

        status, body = await rest.request("DELETE", f"jobs/{waiting}")
        assert status == 204 and body is None
        job = await rest.get(waiting)
        assert job["status"] == "Cancelled" and job["cancellationTime"] and job["endExecutionTime"] is None

        for job_id in running:
            status, _ = await rest.request("DELETE", f"jobs/{job_id}")
            assert status == 204
        for job_id in running:
            job = await rest.wait(job_id, timeout=30)
            assert job["status"] == "Cancelled", job
            assert job["cancellationTime"] and job["isCancelling"] is False

        status, body = await rest.request("DELETE", f"jobs/{running[0]}")
        assert status == 409 and body["error"]["code"] == "JobAlreadyFinished"


async def test_restart_completes_waiting_job(azurite, tmp_path: Path):
    """Stop the service with a job executing and one waiting; a new service finishes both, each once."""
    with Service(data_dir=tmp_path / "svc", blob_url=azurite.blob_url, runners=1) as service:
        async with Rest(service) as rest:
            busy = await rest.submit(long_problem(seed=5), targets.SA, {"sweeps": 10**9, "restarts": 1, "timeout": 3})
            await rest.wait_status(busy, JobStatus.EXECUTING)
            queued = await rest.submit(seed_problem(), targets.SA, {"sweeps": 100, "seed": 3})
            assert (await rest.get(queued))["status"] == "Waiting"
        service.stop(signal.SIGKILL)

        service.start()
        async with Rest(service) as rest:
            done_busy = await rest.wait(busy, timeout=60)
            done_queued = await rest.wait(queued, timeout=60)
            assert done_queued["status"] == "Succeeded", done_queued
            assert (await rest.result(done_queued))["cost"] == -17.0
            # the job killed mid-run was requeued and ran again to its timeout
            assert done_busy["status"] == "Succeeded", done_busy
            status, listing = await rest.request("GET", "jobs")
            ids = [j["id"] for j in listing["value"]]
            assert sorted(ids) == sorted({busy, queued})


async def test_service_keeps_serving_after_bad_input(openqio_service):
    async with Rest(openqio_service) as rest:
        status, body = await rest.request("PUT", f"jobs/{uuid.uuid1()}", data=b"{not json",
                                          headers={"Content-Type": "application/json"})
        assert status == 400 and body["error"]["code"]
        job_id = await rest.submit(seed_problem(), targets.SA, {"sweeps": 50})
        assert (await rest.wait(job_id))["status"] == "Succeeded"


def _runner_pids(service) -> list[int]:
    import subprocess as sp

    out = sp.run(["pgrep", "-P", str(service.process.pid), "-f", "multiprocessing"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


async def test_runner_killed_mid_job_is_retried_then_failed(azurite, tmp_path: Path):
    """SIGKILL the runner of an executing job: it is requeued onto a fresh runner; past max attempts it Fails."""
    import os

    with Service(data_dir=tmp_path / "svc", blob_url=azurite.blob_url, runners=1,
                 extra_env={"OPENQIO_MAX_ATTEMPTS": "2"}) as service:
        async with Rest(service) as rest:
            job_id = await rest.submit(long_problem(seed=9), targets.SA, {"sweeps": 10**9, "restarts": 1, "timeout": 60})
            for attempt in range(2):
                await rest.wait_status(job_id, JobStatus.EXECUTING)
                await asyncio.sleep(0.5)
                pids = _runner_pids(service)
                assert pids, "no runner process found"
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                if attempt == 0:
                    # requeued, then picked up again by the replacement runner
                    await asyncio.sleep(1.0)
            job = await rest.wait(job_id, timeout=60)
            assert job["status"] == "Failed", job
            assert job["errorData"]["code"] == "RunnerCrashed" and "2 time(s)" in job["errorData"]["message"]
            status, events = await rest.request("GET", f"jobs/{job_id}/events")
            kinds = [e["kind"] for e in events["value"]]
            assert kinds.count("started") == 2 and "requeued" in kinds and kinds[-1] == "failed"
            # the service still runs jobs on its replacement runner
            ok = await rest.submit(seed_problem(), targets.SA, {"sweeps": 50})
            assert (await rest.wait(ok, timeout=60))["status"] == "Succeeded"
