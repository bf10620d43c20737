"""Workspace and Job, async and sync, against the fake gateway: the SDK's submit flow, polling, results, cancel,
listing, errors and retries."""
from __future__ import annotations

import asyncio
import gc
import gzip
import json
import threading
import types
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from azure.core.exceptions import ClientAuthenticationError, ResourceExistsError, ResourceNotFoundError

from contracts import targets as ids
from services.client import (
    AuthenticationError,
    ClientError,
    ConflictError,
    JobDetails,
    JobNotFoundError,
    JobStatus,
    ServiceConnectionError,
    Workspace,
    aio,
)
from services.client.aio import optimization as aopt
from services.client.optimization import ContentType, Problem, ProblemType, SimulatedAnnealing, Term
from tests.unit.client.fake_service import BLOB, RG, SUB, TOKEN, WS, job_wire

RESULT = {"version": "1.0", "configuration": {"0": 1, "1": 1, "2": -1}, "cost": -17.0,
          "parameters": {"seed": 1}, "solutions": [{"configuration": {"0": 1, "1": 1, "2": -1}, "cost": -17.0}]}


def seed_problem(cls=Problem) -> Problem:
    problem = cls(name="MyOptimizationJob", problem_type=ProblemType.ising)
    problem.add_term(c=-9, indices=[0])
    problem.add_term(c=-3, indices=[1, 0])
    problem.add_term(c=5, indices=[2, 0])
    return problem


# -- async -----------------------------------------------------------------------------------------------------

async def test_submit_follows_the_sdk_flow(fake, storage, connection_file):
    async with aio.Workspace(connection_file=connection_file) as ws:
        job = await aopt.SimulatedAnnealing(ws, timeout=5, seed=3).submit(seed_problem(aopt.Problem))
    assert uuid.UUID(job.id).version == 1
    sas, put = fake.calls("POST"), fake.calls("PUT")
    assert [c.body for c in sas] == [{"containerName": f"job-{job.id}"}]
    container_uri = f"{BLOB}/job-{job.id}?se=2030-01-01&sp=racw&sig=abc"
    assert storage.containers == [container_uri]
    blob = storage.blobs[f"{BLOB}/job-{job.id}/inputData"]
    assert blob["content_type"] == "application/json" and blob["content_encoding"] == "gzip"
    assert gzip.decompress(blob["data"]).decode() == seed_problem().serialize()
    assert len(put) == 1 and put[0].path.endswith(f"/workspaces/{WS}/jobs/{job.id}")
    assert put[0].path.startswith(f"/v1.0/subscriptions/{SUB}/resourceGroups/{RG}/")
    assert list(put[0].body) == ["id", "name", "containerUri", "inputDataUri", "inputDataFormat", "inputParams",
                                 "providerId", "target", "outputDataFormat"]
    assert put[0].body == {
        "id": job.id, "name": "MyOptimizationJob", "containerUri": container_uri,
        "inputDataUri": f"{BLOB}/job-{job.id}/inputData", "inputDataFormat": "microsoft.qio.v2",
        "inputParams": {"params": {"timeout": 5, "seed": 3}}, "providerId": "Microsoft", "target": ids.SA_PF,
        "outputDataFormat": "microsoft.qio-results.v2"}
    headers = put[0].headers
    assert headers["Authorization"] == f"Bearer {TOKEN}" and headers["Content-Type"] == "application/json"
    assert "openqio-client/" in headers["User-Agent"] and uuid.UUID(headers["x-ms-client-request-id"])
    assert job.details.status == JobStatus.WAITING and not job.has_completed()


async def test_a_problem_is_encoded_once_the_service_admits_its_submission(fake, storage, connection_file,
                                                                          monkeypatch):
    """Solver.submit encodes the problem after `storage/sasUri` answers and before the container is made: a
    submission refused at capacity (429) has spent no encoding, and one whose encoding fails leaves nothing in
    storage. A protobuf problem that cannot be encoded is refused before any request."""
    encoded: list[str] = []
    to_blob = aopt.Problem.to_blob
    monkeypatch.setattr(aopt.Problem, "to_blob", lambda self: encoded.append(self.name) or to_blob(self))
    fake.script["POST /storage/sasUri"] = [(429, {"error": {"code": "TooManyRequests", "message": "at capacity"}},
                                            {"Retry-After": "1", "retry-after-ms": "50"})]
    async with aio.Workspace(connection_file=connection_file) as ws:
        ws._rest.RETRY_TOTAL, ws._rest.BACKPRESSURE_WAIT_S = 0, 0.0  # a 429 surfaces at once
        with pytest.raises(ClientError) as info:
            await aopt.SimulatedAnnealing(ws).submit(seed_problem(aopt.Problem))
        assert info.value.status == 429 and encoded == [] and storage.containers == [] and not fake.calls("PUT")

        await asyncio.sleep(info.value.retry_after)  # (the client holds its submissions until then)
        job = await aopt.SimulatedAnnealing(ws).submit(seed_problem(aopt.Problem))  # admitted: encoded once
        assert encoded == ["MyOptimizationJob"]
        assert storage.containers == [f"{BLOB}/job-{job.id}?se=2030-01-01&sp=racw&sig=abc"]

        def broken(self):
            raise ValueError("cannot encode")
        monkeypatch.setattr(aopt.Problem, "to_blob", broken)
        with pytest.raises(ValueError, match="cannot encode"):
            await aopt.SimulatedAnnealing(ws).submit(seed_problem(aopt.Problem))
        assert len(storage.containers) == 1 and len(storage.blobs) == 1 and len(fake.calls("PUT")) == 1

        asked = len(fake.calls("POST"))
        grouped = aopt.Problem("slc", content_type=ContentType.protobuf)
        grouped.add_slc_term([(1, 0), (-1, 1)])
        with pytest.raises(ValueError, match="protobuf serialisation supports"):
            await aopt.PopulationAnnealing(ws).submit(grouped)
        assert len(fake.calls("POST")) == asked


async def test_get_results_polls_then_downloads_through_a_blob_sas(fake, storage, connection_file, capsys):
    async with aio.Workspace(connection_file=connection_file) as ws:
        job = await aopt.ParallelTempering(ws, sweeps=10).submit(seed_problem())
        storage.put_output(job.id, RESULT)
        assert await job.get_results() == RESULT
    assert job.details.status == "Succeeded" and job.has_completed()
    assert capsys.readouterr().out.count(".") >= 1  # a dot per poll, as the SDK prints
    # outputDataUri had no SAS: the client asked for one for the blob, as the SDK does
    assert fake.calls("POST")[-1].body == {"containerName": f"job-{job.id}", "blobName": "rawOutputData"}
    assert storage.downloads == [f"{BLOB}/job-{job.id}/rawOutputData?se=2030-01-01&sp=racw&sig=abc"]


async def test_protobuf_and_uri_submissions(fake, storage, connection_file):
    async with aio.Workspace(connection_file=connection_file) as ws:
        problem = Problem("pb", terms=[Term(c=1, indices=[0, 1])], content_type=ContentType.protobuf)
        job = await aopt.Tabu(ws, sweeps=1).submit(problem)
        assert storage.blobs[f"{BLOB}/job-{job.id}/inputData"]["content_type"] == "application/x-protobuf"
        uri = f"{BLOB}/qio-problems/inputData"
        by_uri = await aopt.Tabu(ws).submit(uri)
    body = fake.calls("PUT")[-1].body
    assert body["name"] == "Optimization problem" and body["inputDataUri"] == uri and body["target"] == ids.TABU_PF
    assert storage.containers[-1].startswith(f"{BLOB}/job-{by_uri.id}?")  # the output container is created anyway


async def test_problem_upload_then_submit(fake, storage, connection_file):
    async with aio.Workspace(connection_file=connection_file) as ws:
        problem = seed_problem(aopt.Problem)
        uri = await problem.upload(ws)
        assert uri == f"{BLOB}/qio-problems/inputData" and await problem.upload(ws) == uri  # uploaded once
        job = await aopt.SimulatedAnnealing(ws).submit(problem.uploaded_blob_uri)
        assert job.details.input_data_uri == uri


@pytest.mark.parametrize("status", ["Failed", "Cancelled"])
async def test_get_results_of_failed_or_cancelled_jobs_raises(fake, storage, connection_file, status):
    error = {"code": "InvalidInputData", "message": "AZQ105: not JSON"} if status == "Failed" else None
    fake.jobs["j1"] = job_wire("j1", status, errorData=error)
    async with aio.Workspace(connection_file=connection_file) as ws:
        job = await ws.get_job("j1")
        with pytest.raises(RuntimeError, match=f"job execution failed\\(status: {status}") as info:
            await job.get_results()
    if error:
        assert "AZQ105" in str(info.value) and job.details.error_data.code == "InvalidInputData"


async def test_wait_timeout(fake, connection_file):
    fake.polls_until_done = 10**6
    fake.jobs["slow"] = job_wire("slow")
    async with aio.Workspace(connection_file=connection_file) as ws:
        job = await ws.get_job("slow")
        with pytest.raises(TimeoutError, match="The wait time has exceeded 0.3 seconds."):
            await job.wait_until_completed(timeout_secs=0.3, print_progress=False)


async def test_cancel_and_errors(fake, connection_file):
    fake.jobs["w"] = job_wire("w")
    fake.jobs["done"] = job_wire("done", "Succeeded")
    async with aio.Workspace(connection_file=connection_file) as ws:
        job = await ws.get_job("w")
        cancelled = await ws.cancel_job(job)
        assert cancelled is not job and job.details.status == "Waiting"  # a new Job, as the SDK
        assert cancelled.details.status == "Cancelled" and cancelled.details.cancellation_time is not None
        assert [c.method for c in fake.requests[-2:]] == ["DELETE", "GET"]
        with pytest.raises(ConflictError) as info:
            await ws.cancel_job("done")
        assert isinstance(info.value, ResourceExistsError) and info.value.status == 409
        assert info.value.code == info.value.error.code == "JobAlreadyFinished"
        assert str(info.value).startswith("(JobAlreadyFinished) job done has already finished (Succeeded)")
        assert info.value.message == "job done has already finished (Succeeded)"
        with pytest.raises(JobNotFoundError) as missing:
            await ws.get_job("nope")
        assert isinstance(missing.value, ResourceNotFoundError) and missing.value.status_code == 404
    async with aio.Workspace(connection_file=connection_file, token="wrong") as ws:
        with pytest.raises(AuthenticationError) as denied:
            await ws.list_jobs()
        assert isinstance(denied.value, ClientAuthenticationError) and denied.value.code == "Unauthorized"


async def test_list_jobs_pages_and_filters(fake, connection_file):
    now = datetime.now(UTC)
    for i in range(7):
        fake.jobs[f"j{i}"] = job_wire(f"j{i}", "Succeeded" if i % 2 else "Waiting", name=f"name-{i}",
                                      creationTime=(now - timedelta(days=i)).isoformat())
    ws = aio.Workspace(connection_file=connection_file)  # no `async with`: a session per call
    assert [j.id for j in await ws.list_jobs()] == [f"j{i}" for i in range(7)]
    assert len(fake.calls("GET")) == 4  # 4 pages of 2, through relative and absolute nextLinks
    assert [j.id for j in await ws.list_jobs(name_match=r"-[35]$")] == ["j3", "j5"]
    assert [j.id for j in await ws.list_jobs(status=JobStatus.SUCCEEDED)] == ["j1", "j3", "j5"]
    assert [j.id for j in await ws.list_jobs(status="Waiting", name_match="name")] == ["j0", "j2", "j4", "j6"]
    assert [j.id for j in await ws.list_jobs(created_after=now - timedelta(days=2, hours=1))] == ["j0", "j1", "j2"]
    naive_local = (now - timedelta(days=1, hours=1)).astimezone().replace(tzinfo=None)
    assert [j.id for j in await ws.list_jobs(created_after=naive_local)] == ["j0", "j1"]
    assert len(await ws.list_jobs(created_after=date.today() + timedelta(days=2))) == 0


async def test_job_details_for_users(fake, connection_file):
    fake.jobs["x"] = job_wire("x", "Executing", isCancelling=True, itemType="Job", beginExecutionTime="2024-01-02T03:04:05.1234567+00:00")
    fake.jobs["odd"] = job_wire("odd", "Cancelling")
    async with aio.Workspace(connection_file=connection_file) as ws:
        details = (await ws.get_job("x")).details
        odd = await ws.get_job("odd")
    assert isinstance(details, JobDetails)
    assert details.additional_properties == {"isCancelling": True, "itemType": "Job"}
    assert details.creation_time == datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert details.begin_execution_time.tzinfo == UTC and details.end_execution_time is None
    assert details.input_params == {"params": {}} and details.provider_id == "Microsoft"
    assert repr(details).startswith("JobDetails(id='x'") and "additional_properties={'isCancelling': True" in repr(details)
    assert odd.details.status == "Cancelling" and not odd.has_completed()  # unknown status: keep polling


async def test_retries_on_503_and_429_with_retry_after(fake, connection_file):
    fake.jobs["r"] = job_wire("r")
    fake.script["GET /jobs/r"] = [(503, {"error": {"code": "StorageUnavailable", "message": "x"}}, {"Retry-After": "0"}),
                                  (429, {"error": {"code": "TooMany", "message": "x"}}, {"Retry-After": "0.01"})]
    fake.script["POST /storage/sasUri"] = [(503, {"error": {"code": "StorageUnavailable", "message": "down"}},
                                            {"Retry-After": "0"})] * 5
    fake.script["PATCH /jobs/r"] = [(500, {"error": {"code": "InternalError", "message": "boom"}}, {})]
    async with aio.Workspace(connection_file=connection_file) as ws:
        assert (await ws.get_job("r")).id == "r"
        assert len(fake.calls("GET")) == 3
        with pytest.raises(ClientError) as info:  # retried 3 times, then reported
            await ws.get_container_uri(job_id="r")
        assert info.value.status == 503 and info.value.code == "StorageUnavailable" and len(fake.calls("POST")) == 4
        with pytest.raises(ClientError, match="boom"):  # a 500 on PATCH is not retried (not idempotent)
            await ws.set_job_tags("r", ["a"])
        assert len(fake.calls("PATCH")) == 1
        assert (await ws.set_job_tags("r", ["a", "b"])).details.tags == ["a", "b"]


async def test_a_service_at_capacity_is_waited_for_as_long_as_it_asks(fake, connection_file, monkeypatch):
    """429 with Retry-After (services/gateway/admission.py) is retried past RETRY_TOTAL, each wait as asked (plus up
    to a quarter), and each reported to on_backoff; without Retry-After a 429 gets the usual three retries."""
    from services.client._transport import RestClient

    monkeypatch.setattr(RestClient, "BACKPRESSURE_MIN_S", 0.01)
    monkeypatch.setattr(RestClient, "BACKOFF_S", 0.001)
    busy = (429, {"error": {"code": "TooManyRequests", "message": "the service is at capacity"}}, {"Retry-After": "0"})
    fake.script["POST /storage/sasUri"] = [busy] * 6
    seen: list[tuple[int, float, str]] = []
    async with aio.Workspace(connection_file=connection_file) as ws:
        ws._rest.on_backoff = lambda status, wait, message: seen.append((status, wait, message))
        assert (await ws._get_linked_storage_sas_uri("job-b")).startswith("http")
        assert len(fake.calls("POST")) == 7 and [s for s, _, _ in seen] == [429] * 6
        assert all(0.01 <= w <= 0.0125 and m == "the service is at capacity" for _, w, m in seen)
        fake.script["POST /storage/sasUri"] = [(429, {"error": {"code": "TooManyRequests", "message": "x"}}, {})] * 5
        with pytest.raises(ClientError) as info:
            await ws._get_linked_storage_sas_uri("job-c")
        assert info.value.status == 429 and len(fake.calls("POST")) == 7 + 4


async def test_a_429_holds_the_clients_next_submissions_until_the_time_it_gives(fake, storage, connection_file,
                                                                               monkeypatch):
    """A 429 with Retry-After speaks to the client, not only to its request (RFC 6585): until that time its next
    submissions are not sent. A client that tries once is refused at once, without a request, with the service's
    answer and the time left (`held`); reads, blob SAS and the rest are sent; past that time submissions are sent
    again. With HOLD_SUBMISSIONS off (as the SDK's clients) every submission is sent."""
    from services.client._transport import RestClient

    monkeypatch.setattr(RestClient, "RETRY_AFTER_MAX_S", 60.0)  # (the fixtures cap waits at 50 ms)
    busy = (429, {"error": {"code": "TooManyRequests", "message": "at capacity"}},
            {"Retry-After": "1", "retry-after-ms": "600"})
    fake.script["POST /storage/sasUri"] = [busy]
    async with aio.Workspace(connection_file=connection_file) as ws:
        ws._rest.RETRY_TOTAL, ws._rest.BACKPRESSURE_WAIT_S = 0, 0.0  # tried once
        with pytest.raises(ClientError) as sent:
            await aopt.SimulatedAnnealing(ws).submit(seed_problem(aopt.Problem))
        assert sent.value.status == 429 and not sent.value.held and len(fake.calls("POST")) == 1
        with pytest.raises(ClientError) as held:
            await aopt.SimulatedAnnealing(ws).submit(seed_problem(aopt.Problem))
        assert held.value.held and held.value.status == 429 and held.value.error.code == "TooManyRequests"
        assert 0.0 < held.value.retry_after <= 0.6 and "at capacity (not sent: the service asked" in str(held.value)
        assert len(fake.calls("POST")) == 1 and storage.containers == []
        assert await ws.list_jobs() == [] and "sig=" in await ws._get_linked_storage_sas_uri("job-a", "rawOutputData")
        assert len(fake.calls("GET")) == 1 and len(fake.calls("POST")) == 2  # not held
        await asyncio.sleep(held.value.retry_after)
        job = await aopt.SimulatedAnnealing(ws).submit(seed_problem(aopt.Problem))
        assert len(fake.calls("POST")) == 3 and len(fake.calls("PUT")) == 1 and job.details.status == "Waiting"

        fake.script["POST /storage/sasUri"] = [busy, busy]
        ws._rest.HOLD_SUBMISSIONS = False
        for _ in range(2):
            with pytest.raises(ClientError) as info:
                await aopt.SimulatedAnnealing(ws).submit(seed_problem(aopt.Problem))
            assert info.value.status == 429 and not info.value.held
        assert len(fake.calls("POST")) == 5


async def test_a_client_that_waits_sends_its_held_submissions_once_the_time_has_passed(fake, connection_file,
                                                                                     monkeypatch):
    """The native client's default (waiting on 429 up to BACKPRESSURE_WAIT_S): a submission started while another's
    429 asks the client to wait is sent only once that time has passed, its wait told to `on_backoff` as a retry's."""
    from services.client._transport import RestClient

    monkeypatch.setattr(RestClient, "RETRY_AFTER_MAX_S", 60.0)  # (the fixtures cap waits at 50 ms)
    busy = (429, {"error": {"code": "TooManyRequests", "message": "at capacity"}},
            {"Retry-After": "1", "retry-after-ms": "500"})
    fake.script["POST /storage/sasUri"] = [busy]
    seen: list[tuple[int, float, str]] = []
    async with aio.Workspace(connection_file=connection_file) as ws:
        ws._rest.on_backoff = lambda status, wait, message: seen.append((status, wait, message))
        first = asyncio.create_task(ws._get_linked_storage_sas_uri("job-a"))
        while not seen:  # its 429 answered: it waits to retry
            await asyncio.sleep(0.001)
        second = asyncio.create_task(ws._get_linked_storage_sas_uri("job-b"))
        await asyncio.sleep(0.05)
        assert len(fake.calls("POST")) == 1  # held, not sent
        assert all(uri.startswith("http") for uri in await asyncio.gather(first, second))
    assert [body["containerName"] for body in (c.body for c in fake.calls("POST"))][1:] in (["job-a", "job-b"],
                                                                                           ["job-b", "job-a"])
    assert len(seen) == 2 and all(s == 429 and 0.4 < w <= 0.625 and m == "at capacity" for s, w, m in seen)


async def test_a_wait_told_in_milliseconds_is_taken_over_whole_seconds(fake, connection_file):
    """retry-after-ms (what the service also sends, services/gateway/admission.py) wins over Retry-After's whole
    seconds: a client told "1" and "30 ms" comes back after 30-37.5 ms, not after a second."""
    busy = (429, {"error": {"code": "TooManyRequests", "message": "at capacity"}},
            {"Retry-After": "1", "retry-after-ms": "30"})
    fake.script["POST /storage/sasUri"] = [busy] * 2
    seen: list[float] = []
    async with aio.Workspace(connection_file=connection_file) as ws:
        ws._rest.on_backoff = lambda status, wait, message: seen.append(wait)
        assert (await ws._get_linked_storage_sas_uri("job-b")).startswith("http")
        assert len(fake.calls("POST")) == 3 and all(0.03 <= w <= 0.0375 for w in seen) and len(seen) == 2
        ws._rest.RETRY_TOTAL, ws._rest.BACKPRESSURE_WAIT_S = 0, 0.0  # a 429 surfaces at once, with its time
        fake.script["POST /storage/sasUri"] = [busy]
        with pytest.raises(ClientError) as info:
            await ws._get_linked_storage_sas_uri("job-c")
        assert info.value.retry_after == pytest.approx(0.03)


async def test_an_error_raised_to_the_caller_leaves_no_garbage_cycle(fake, connection_file):
    """A request answered with an error raises an exception that is freed as soon as the caller drops it: raised
    from a local of the request's frame, it made a cycle (exception → traceback → frame → exception) with all the
    frame's locals, left for the garbage collector; in the service benchmark's tried-once clients at 200 % load
    those collections were a third of the client's CPU. The same for a 429 the client gives itself (a submission
    held after the service's 429)."""
    from services.client._transport import RestClient

    busy = (429, {"error": {"code": "TooManyRequests", "message": "at capacity"}}, {"Retry-After": "3"})
    fake.script["POST /storage/sasUri"] = [busy] * 3
    retry_afters, held = [], []
    async with aio.Workspace(connection_file=connection_file) as ws:
        ws._rest.RETRY_TOTAL, ws._rest.BACKPRESSURE_WAIT_S = 0, 0.0  # a 429 surfaces at once
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds unreachable stays in gc.garbage to be looked at
        try:
            for hold in (False, False, False, True, True):  # three sent, then two held
                ws._rest.HOLD_SUBMISSIONS = hold
                try:
                    await ws._get_linked_storage_sas_uri("job-x")
                except ClientError as exc:
                    retry_afters.append(exc.retry_after)
                    held.append(exc.held)
            gc.collect()
            left = [type(o).__name__ if isinstance(o, ClientError) else o.f_code.co_name for o in gc.garbage
                    if isinstance(o, ClientError) or (isinstance(o, types.FrameType) and o.f_code.co_name == "request")]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert retry_afters[:3] == [RestClient.RETRY_AFTER_MAX_S] * 3  # 3 s, capped by the fixtures
    assert held == [False] * 3 + [True] * 2 and len(fake.calls("POST")) == 3
    assert left == []


async def test_unreachable_service_is_a_connection_error(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("OPENQIO_CONNECTION", raising=False)
    ws = aio.Workspace("s", "r", "w", base_url=f"http://127.0.0.1:{port}/", token="t")
    with pytest.raises(ServiceConnectionError, match="cannot reach the service"):
        await ws.get_job("x")


async def test_targets_and_quotas(fake, connection_file):
    async with aio.Workspace(connection_file=connection_file) as ws:
        found = await ws.get_targets()
        quotas = await ws.get_quotas()
        single = await ws.get_targets(name=ids.PT)
    assert [type(t) for t in found] == [aopt.SimulatedAnnealing, aopt.ParallelTempering, aopt.QuantumMonteCarlo,
                                        type(found[-1])] and found[-1].name == "other.thing"
    assert all(t.workspace is ws for t in found) and found[0].average_queue_time == 3
    assert isinstance(single, aopt.ParallelTempering)
    assert quotas == [{"dimension": "combined_job_hours", "scope": "Workspace", "provider_id": "Microsoft",
                       "utilization": 0.5, "holds": 0.0, "limit": 5.0, "period": "Monthly"}]


# -- sync facade -----------------------------------------------------------------------------------------------

def test_sync_facade_runs_the_documented_example(fake, storage, connection_file, monkeypatch, capsys):
    monkeypatch.chdir(connection_file.parent.parent)  # Workspace() finds .openqio/connection.json here
    workspace = Workspace()
    assert workspace.name == WS and workspace.location == "westus"
    assert workspace.list_jobs() == []
    job = SimulatedAnnealing(workspace).submit(seed_problem())
    storage.put_output(job.id, RESULT)
    job = workspace.get_job(job.id)
    assert job.get_results() == RESULT and job.details.status == JobStatus.SUCCEEDED
    print(job.details)
    assert "additional_properties={'isCancelling': False}" in capsys.readouterr().out
    with pytest.raises(ConflictError, match="JobAlreadyFinished"):
        workspace.cancel_job(job)
    assert [j.id for j in workspace.list_jobs()] == [job.id]
    assert isinstance(workspace.get_targets(name=ids.SA), SimulatedAnnealing)
    threads = [t for t in threading.enumerate() if t.name == "openqio-client"]
    workspace.close()
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(RuntimeError, match="closed"):
        workspace.get_job(job.id)


def test_sync_job_methods_update_details(fake, storage, connection_file):
    fake.jobs["w"] = job_wire("w")
    with Workspace(connection_file=connection_file) as ws:
        job = ws.get_job("w")
        job.cancel()
        assert job.details.status == "Cancelled"
        fake.jobs["p"] = job_wire("p")
        polled = ws.get_job("p")
        polled.wait_until_completed(print_progress=False)
        assert polled.details.status == "Succeeded"
        with pytest.raises(JobNotFoundError):
            ws.get_job("missing")


async def test_sync_facade_works_inside_a_running_event_loop(fake, connection_file):
    """As in Jupyter: the caller's thread runs a loop; the facade still works (on its own loop)."""
    fake.jobs["a"] = job_wire("a")
    with Workspace(connection_file=connection_file) as ws:
        assert ws.get_job("a").id == "a"
    await asyncio.sleep(0)


def test_sync_workspace_is_closed_when_collected(fake, connection_file):
    import gc

    ws = Workspace(connection_file=connection_file)
    ws.list_jobs()
    threads = [t for t in threading.enumerate() if t.name == "openqio-client" and t.is_alive()]
    del ws
    gc.collect()
    for t in threads:
        t.join(5)
    assert not any(t.is_alive() for t in threads)


def test_sync_and_aio_solvers_refuse_the_other_workspace_flavour(connection_file):
    with pytest.raises(TypeError, match="services.client.aio.Workspace"):
        asyncio.run(aopt.SimulatedAnnealing(Workspace(connection_file=connection_file)).submit("x"))
    with pytest.raises(TypeError, match="services.client.Workspace"):
        SimulatedAnnealing(aio.Workspace(connection_file=connection_file)).submit("x")


def test_result_that_is_not_json_is_returned_raw(fake, storage, connection_file):
    fake.jobs["t"] = job_wire("t", "Succeeded", outputDataUri=f"{BLOB}/job-t/rawOutputData?se=1&sig=2")
    storage.put_output("t", b"plain text")
    with Workspace(connection_file=connection_file) as ws:
        assert ws.get_job("t").get_results() == "plain text"
    assert not fake.calls("POST")  # a URL with a SAS is downloaded directly
    assert json.loads(json.dumps(RESULT)) == RESULT


async def test_storage_calls_share_the_workspaces_session_inside_async_with(connection_file):
    from azure.core.pipeline.transport import AioHttpTransport

    ws = aio.Workspace(connection_file=connection_file)
    assert "transport" not in ws._storage_kwargs("http://127.0.0.1:1/acct/c")  # outside: a client per call
    async with ws:
        first = ws._storage_kwargs("http://127.0.0.1:1/acct/c")["transport"]
        second = ws._storage_kwargs("https://example.invalid/acct/c")["transport"]
        assert isinstance(first, AioHttpTransport) and first.session is second.session is ws._storage_session
        await first.close()  # a storage client closing its transport must not close the shared session
        assert not ws._storage_session.closed
        session = ws._storage_session
    assert session.closed and ws._storage_session is None  # closed with the workspace


def test_a_storage_error_says_what_storage_said():
    """Azurite on a full disk (services/azurite_disk_full.js) says so in its error's message: the client passes its
    first line on (the others are the request id and the time)."""
    from azure.core.exceptions import HttpResponseError

    from services.client._storage import _raise_for

    body = (b'<?xml version="1.0" encoding="utf-8"?><Error><Code>InternalError</Code><Message>no space left on the '
            b"disk that holds this storage's data (ENOSPC)\nRequestId:42\nTime:2026-12-07T15:00:00Z</Message></Error>")
    with pytest.raises(HttpResponseError) as info:
        _raise_for(500, {"x-ms-error-code": "InternalError"}, "upload inputData", body)
    assert info.value.message == ("upload inputData: storage answered 500 InternalError: no space left on the disk "
                                  "that holds this storage's data (ENOSPC)")
    with pytest.raises(ResourceNotFoundError) as info:
        _raise_for(404, {}, "download")  # (no body: a HEAD, or storage that says nothing)
    assert info.value.message == "download: storage answered 404"
