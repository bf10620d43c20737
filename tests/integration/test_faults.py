"""Faults the service must survive: blob storage going away mid-flight, and a graceful SIGTERM."""
from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import pytest

from contracts import targets
from contracts.problems import encode_json
from contracts.status import JobStatus
from services.azurite import Azurite
from tests.integration.rest import Rest, long_problem, seed_problem
from tests.service import Service

pytestmark = pytest.mark.integration


async def test_storage_outage_delays_jobs_but_loses_none(tmp_path: Path):
    storage = Azurite(location=str(tmp_path / "blobs")).start()
    try:
        with Service(data_dir=tmp_path / "svc", blob_url=storage.blob_url, runners=1) as service:
            async with Rest(service) as rest:
                job_ids = []
                bodies = []
                for _ in range(3):  # inputs uploaded while storage is up
                    job_id = str(uuid.uuid1())
                    container_uri = await rest.upload(job_id, encode_json(seed_problem()))
                    job_ids.append(job_id)
                    bodies.append(rest.job_body(job_id, container_uri, targets.SA, {"sweeps": 50, "seed": 1}))
                storage.stop()
                for job_id, body in zip(job_ids, bodies):  # submitted during the outage: accepted, queued
                    status, job = await rest.request("PUT", f"jobs/{job_id}", json=body)
                    assert status == 200, job
                await asyncio.sleep(3)
                states = {(await rest.get(j))["status"] for j in job_ids}
                assert states <= {"Waiting", "Executing"}, states  # retrying, not failed
                storage.start()
                for job_id in job_ids:
                    job = await rest.wait(job_id, timeout=90)
                    assert job["status"] == "Succeeded", job
                    assert (await rest.result(job))["cost"] == -17.0
    finally:
        storage.stop()


async def test_sigterm_requeues_unfinished_jobs_and_exits_cleanly(azurite, tmp_path: Path):
    with Service(data_dir=tmp_path / "svc", blob_url=azurite.blob_url, runners=1,
                 extra_env={"OPENQIO_SHUTDOWN_GRACE_S": "1"}) as service:
        async with Rest(service) as rest:
            long_id = await rest.submit(long_problem(seed=2), targets.SA,
                                        {"sweeps": 10**9, "restarts": 1, "timeout": 4})
            await rest.wait_status(long_id, JobStatus.EXECUTING)
        code = service.stop(signal.SIGTERM)
        assert code == 0, service.tail()
        assert "stopped" in service.tail()
        service.start()
        async with Rest(service) as rest:
            job = await rest.wait(long_id, timeout=60)
            assert job["status"] == "Succeeded", job
            status, events = await rest.request("GET", f"jobs/{long_id}/events")
            kinds = [e["kind"] for e in events["value"]]
            assert kinds.count("started") == 2 and "requeued" in kinds and kinds.count("succeeded") == 1
