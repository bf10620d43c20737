"""Back-pressure on the real service (TLS gateway, SQLite, Azurite, one runner) with a small backlog limit
(OPENQIO_MAX_WAITING=4): past it, new work is answered 429 with Retry-After, at `sasUri` (where submissions admitted
but not yet PUT hold their places) and (a quarter later) at `PUT jobs/{id}`; a re-PUT of an admitted job is still
answered; nothing admitted is lost; the unmodified azure-quantum 0.27 SDK, flooded past the limit, waits as told and
completes every job; the native client holds its next submissions for as long as a 429 asked; and GET /dashboard/load
says what admission sees."""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from contracts import targets as ids
from contracts.problems import encode_json
from contracts.status import JobStatus
from tests.integration.rest import Rest, long_problem, seed_problem
from tests.sdk.harness import assert_check, run_sdk_script
from tests.service import Service, serving

pytestmark = pytest.mark.integration

LIMIT = 4
TINY = {"beta_start": 0.1, "beta_stop": 3.0, "sweeps": 20, "restarts": 1, "seed": 1}


@pytest.fixture(scope="module")
def limited_service(azurite, tmp_path_factory):
    yield from serving(Service(data_dir=Path(tmp_path_factory.mktemp("openqio-limited")), blob_url=azurite.blob_url,
                               runners=1, extra_env={"OPENQIO_MAX_WAITING": str(LIMIT)}))


async def test_past_the_backlog_limit_new_work_gets_429_with_retry_after(limited_service):
    async with Rest(limited_service) as rest:
        blocker = await rest.submit(long_problem(), ids.SA, {"sweeps": 10**9, "timeout": 120, "seed": 1})
        await rest.wait_status(blocker, JobStatus.EXECUTING)
        # one submission admitted at sasUri and uploaded, not PUT yet: it holds a place; two more inputs uploaded
        # with the account SAS it was given (a client that skips sasUri holds none)
        ready = [str(uuid.uuid1()) for _ in range(3)]
        account_sas = await rest.upload(ready[0], encode_json(seed_problem()))
        uris = [account_sas] + [await rest.upload(job_id, encode_json(seed_problem()), account_sas=account_sas)
                                for job_id in ready[1:]]
        waiting = [await rest.submit(seed_problem(), ids.SA, TINY) for _ in range(LIMIT - 1)]  # behind the blocker

        status, body = await rest.request("POST", "storage/sasUri", json={"containerName": f"job-{uuid.uuid1()}"})
        assert status == 429 and body["error"]["code"] == "TooManyRequests", body  # 3 waiting + 1 place held
        assert "1 being submitted" in body["error"]["message"]
        status, load = await rest.request("GET", f"{rest.base}/dashboard/load")  # what an operator sees meanwhile
        assert status == 200 and load["admitting"] is False and load["refusedSinceStart"] >= 1, load
        assert (load["waiting"], load["beingSubmitted"], load["limits"]["maxWaiting"]) == (3, 1, LIMIT), load
        assert load["runners"] == {"total": 1, "busy": 1}, load  # the blocker
        status, _ = await rest.request("POST", "storage/sasUri",
                                       json={"containerName": f"job-{waiting[0]}", "blobName": "inputData"})
        assert status == 200  # downloads are never refused

        put = [await rest.session.put(f"{rest.prefix}/jobs/{job_id}", headers=rest.headers(),
                                      json=rest.job_body(job_id, uri, ids.SA, TINY)) for job_id, uri in zip(ready, uris)]
        # the held place is taken (4 waiting); PUT has a quarter of the limit more (5 waiting, not 6)
        assert [r.status for r in put] == [200, 200, 429]
        assert 1 <= int(put[2].headers["Retry-After"]) <= 60
        assert (await put[2].json())["error"]["code"] == "TooManyRequests"
        for response in put:  # back to the pool: an unreleased one holds its socket until the garbage collector
            response.release()
        again = await rest.request("PUT", f"jobs/{ready[0]}", json=rest.job_body(ready[0], uris[0], ids.SA, TINY))
        assert again[0] == 200 and again[1]["id"] == ready[0]  # a re-PUT of an admitted job is answered

        assert (await rest.request("DELETE", f"jobs/{blocker}"))[0] == 204
        for job_id in waiting + ready[:2]:
            assert (await rest.wait(job_id))["status"] == "Succeeded"
        status, body = await rest.request("PUT", f"jobs/{ready[2]}", json=rest.job_body(ready[2], uris[2], ids.SA,
                                                                                        TINY))
        assert status == 200, body  # room again
        assert (await rest.wait(ready[2]))["status"] == "Succeeded"


async def test_a_submission_admitted_at_sas_uri_is_not_refused_at_its_put(limited_service):
    """Its place was counted when sasUri let it in: its PUT, after the upload, is admitted even though other clients'
    PUTs (without sasUri, judged with a quarter more room) filled the backlog past the PUT's own limit meanwhile."""
    async with Rest(limited_service) as rest:
        blocker = await rest.submit(long_problem(), ids.SA, {"sweeps": 10**9, "timeout": 120, "seed": 3})
        await rest.wait_status(blocker, JobStatus.EXECUTING)
        held = str(uuid.uuid1())
        account_sas = await rest.upload(held, encode_json(seed_problem()))  # sasUri admitted: its place is held
        others = [str(uuid.uuid1()) for _ in range(LIMIT + 1)]
        for job_id in others:  # 0..4 waiting (+ 1) within LIMIT × 1.25: all admitted, 5 waiting
            uri = await rest.upload(job_id, encode_json(seed_problem()), account_sas=account_sas)
            status, body = await rest.request("PUT", f"jobs/{job_id}", json=rest.job_body(job_id, uri, ids.SA, TINY))
            assert status == 200, body
        status, body = await rest.request("PUT", f"jobs/{held}", json=rest.job_body(held, account_sas, ids.SA, TINY))
        assert status == 200, body  # judged again, 5 waiting + 1 would have been refused (429)
        assert (await rest.request("DELETE", f"jobs/{blocker}"))[0] == 204
        for job_id in [*others, held]:
            assert (await rest.wait(job_id))["status"] == "Succeeded"


async def test_the_sdk_flooded_past_the_limit_waits_as_told_and_completes_every_job(limited_service, monkeypatch):
    """30 SDK clients at once while the one runner is busy for 5 s: most are told to wait, none more than twice, and
    all get in."""
    monkeypatch.setenv("FLOOD_JOBS", "30")
    async with Rest(limited_service) as rest:
        blocker = await rest.submit(long_problem(), ids.SA, {"sweeps": 10**9, "timeout": 5, "seed": 2})
        await rest.wait_status(blocker, JobStatus.EXECUTING)
        payload = await asyncio.to_thread(run_sdk_script, limited_service, "flood.py", 240)
        assert (await rest.wait(blocker))["status"] == "Succeeded"
    detail = assert_check(payload, "flood_completes")
    assert_check(payload, "saw_429")
    assert_check(payload, "refused_at_most_twice")  # the second refusal promised a place, kept at the third try
    assert detail["statuses_seen"].get("429", 0) > 0
    assert "refusing new jobs (429)" in limited_service.log_file.read_text()


async def test_the_native_client_holds_its_submissions_while_the_service_asks_it_to_wait(limited_service):
    """A native-client workspace refused at the gateway's sasUri (429, Retry-After) sends no new submission before the
    time it was given: tried once, the next is refused at once by the client itself (`held`, no request); past that
    time it is sent again; and with the client's default (waiting as told) every submission gets in and succeeds."""
    from services.client.aio import Workspace
    from services.client.aio.optimization import Problem, ProblemType, SimulatedAnnealing
    from services.client.errors import ClientError

    def tiny() -> Problem:
        problem = Problem(name="tiny", problem_type=ProblemType.ising)
        problem.add_term(c=-9, indices=[0])
        problem.add_term(c=-3, indices=[1, 0])
        return problem

    async with Rest(limited_service) as rest:
        blocker = await rest.submit(long_problem(), ids.SA, {"sweeps": 10**9, "timeout": 120, "seed": 3})
        await rest.wait_status(blocker, JobStatus.EXECUTING)
        async with Workspace(connection_file=limited_service.connection_file) as ws:
            ws._rest.RETRY_TOTAL, ws._rest.BACKPRESSURE_WAIT_S = 0, 0.0  # tried once
            jobs, refusals = [], []
            while len(refusals) < 2:  # up to the limit admitted, then refused by the service, then held at once
                try:
                    jobs.append(await SimulatedAnnealing(ws, **TINY).submit(tiny()))
                except ClientError as exc:
                    assert exc.status == 429 and exc.error.code == "TooManyRequests"
                    refusals.append(exc)
            sent, held = refusals
            assert len(jobs) == LIMIT and not sent.held and held.held and 0 < held.retry_after <= sent.retry_after
            await asyncio.sleep(held.retry_after)
            with pytest.raises(ClientError) as again:  # sent: still at capacity behind the blocker
                await SimulatedAnnealing(ws, **TINY).submit(tiny())
            assert again.value.status == 429 and not again.value.held
            load = await ws.service_load()  # what an operator sees meanwhile (a read: never held, never refused)
            assert load["admitting"] is False and load["waiting"] == LIMIT and load["refusedSinceStart"] >= 2, load

            del ws._rest.RETRY_TOTAL, ws._rest.BACKPRESSURE_WAIT_S  # the client's defaults: wait as told
            more = [asyncio.create_task(SimulatedAnnealing(ws, **TINY).submit(tiny())) for _ in range(3)]
            await asyncio.sleep(0.5)
            assert (await rest.request("DELETE", f"jobs/{blocker}"))[0] == 204
            jobs += await asyncio.gather(*more)
        for job in jobs:
            assert (await rest.wait(job.id))["status"] == "Succeeded"
