"""Crash safety (issue 11) on real processes: a real Azurite SIGKILLed right after a burst of completions, the
service SIGKILLed with jobs executing, an Azurite told to stop twice, a second service on the same data directory, leftovers of a crashed run, a
job aiming at another job's container, and the dashboard summary while storage hangs.

Every test here fails on the code before issue 11: lost result blobs stayed lost, a killed service left Azurite
and its runners running (and the next start failed on Azurite's port), and a job could overwrite another's result.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from contracts import targets
from contracts.problems import decode_problem, encode_json, problem_document
from contracts.status import TERMINAL
from services.azurite import Azurite
from services.client.aio import Workspace
from services.supervise import CHILDREN_FILE, start_time
from tests.integration.rest import Rest, long_problem, seed_problem
from tests.reference import reference_cost
from tests.service import ROOT, Service, serving

pytestmark = pytest.mark.integration
TERMINAL_KINDS = {s.value.lower() for s in TERMINAL}


@contextlib.contextmanager
def running(service: Service):
    """The service started (a failed start fails the test with its log) and always stopped, also on failure."""
    yield from serving(service)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_problem(seed: int) -> dict:
    rng = random.Random(seed)
    terms = [(rng.choice([-3, -2, -1, 1, 2, 3]), sorted(rng.sample(range(10), 2))) for _ in range(20)]
    return problem_document("ising", terms + [(rng.choice([-1, 1]), [rng.randrange(10)])], name=f"p{seed}")


async def burst(rest: Rest, count: int) -> dict[str, dict]:
    """`count` small jobs submitted together and waited for: {job id: problem}."""
    problems = {}
    ids = await asyncio.gather(*(rest.submit(random_problem(i), targets.SA, {"sweeps": 50, "seed": i})
                                 for i in range(count)))
    for i, job_id in enumerate(ids):
        problems[job_id] = random_problem(i)
    for job_id in ids:
        assert (await rest.wait(job_id, timeout=120))["status"] == "Succeeded"
    return problems


async def readable_outputs(rest: Rest, job_ids) -> dict[str, int]:
    """HTTP status of each job's outputDataUri right now."""
    out = {}
    for job_id in job_ids:
        job = await rest.get(job_id)
        try:
            async with rest.session.get(job["outputDataUri"]) as resp:
                out[job_id] = resp.status
        except aiohttp.ClientConnectionError:  # storage is not back yet
            out[job_id] = 0
    return out


async def assert_every_result_is_back(rest: Rest, problems: dict[str, dict], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        statuses = await readable_outputs(rest, problems)
        if all(code == 200 for code in statuses.values()):
            break
        assert time.monotonic() < deadline, f"outputs still missing: {statuses}"
        await asyncio.sleep(1)
    for job_id, problem in problems.items():
        result = await rest.result(await rest.get(job_id))
        assert result["cost"] == pytest.approx(reference_cost(decode_problem(encode_json(problem)),
                                                              result["configuration"]))


def kill_azurite_and_restart(storage: Azurite) -> None:
    os.killpg(storage.process.pid, signal.SIGKILL)
    storage.process.wait(10)
    storage.process = None
    storage.start()  # same port (the Azurite object kept it), same data directory


async def test_results_survive_a_sigkill_of_an_azurite_the_service_does_not_supervise(tmp_path: Path):
    """Azurite saves its blob index every 5 s: killed right after a burst, it forgets the newest result blobs. The
    service (verify on: it does not supervise this Azurite) notices each missing one and rewrites it."""
    storage = Azurite(location=str(tmp_path / "blobs")).start()
    service = Service(data_dir=tmp_path / "svc", blob_url=storage.blob_url, runners=2)
    try:
        with running(service):
            async with Rest(service) as rest:
                problems = await burst(rest, 20)
                kill_azurite_and_restart(storage)
                missing = [j for j, code in (await readable_outputs(rest, problems)).items() if code != 200]
                print(f"{len(missing)} of {len(problems)} result blobs lost by the killed Azurite")
                async with Workspace(connection_file=service.connection_file) as workspace:  # the native client
                    for job_id in missing:  # reads the service's copy while the blob is still gone
                        result = await (await workspace.get_job(job_id)).get_results()
                        assert result["cost"] == pytest.approx(reference_cost(
                            decode_problem(encode_json(problems[job_id])), result["configuration"]))
                await assert_every_result_is_back(rest, problems, timeout=60)
            assert service.tail(400).count("restored it from the store") >= len(missing)
    finally:
        storage.stop()


async def test_the_supervised_azurite_is_restarted_and_what_it_lost_restored(tmp_path: Path):
    """`--with-azurite`: the service sees its Azurite die, starts it again on its port, and audits at once."""
    port = free_port()
    service = Service(data_dir=tmp_path / "svc", blob_url=f"http://127.0.0.1:{port}/devstoreaccount1", runners=2,
                      args=["--with-azurite"])
    with running(service):
        async with Rest(service) as rest:
            problems = await burst(rest, 20)
            azurite = json.loads((service.data_dir / CHILDREN_FILE).read_text())["azurite"]["pid"]
            os.kill(azurite, signal.SIGKILL)
            await assert_every_result_is_back(rest, problems, timeout=30)
            job_id = await rest.submit(seed_problem(), targets.SA, {"sweeps": 50, "seed": 1})  # and it works on
            assert (await rest.result(await rest.wait(job_id)))["cost"] == -17.0
        assert "Azurite exited unexpectedly" in service.tail(400)
        restarted = json.loads((service.data_dir / CHILDREN_FILE).read_text())["azurite"]["pid"]
        assert restarted != azurite


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc), with its start time."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="walks /proc to find the service's processes")
async def test_a_sigkill_of_the_service_leaves_no_process_and_a_restart_finishes_every_job_once(tmp_path: Path):
    port = free_port()
    service = Service(data_dir=tmp_path / "svc", blob_url=f"http://127.0.0.1:{port}/devstoreaccount1", runners=2,
                      args=["--with-azurite"])
    service.start()
    try:
        async with Rest(service) as rest:
            ids = [await rest.submit(long_problem(seed=i), targets.SA, {"sweeps": 10**9, "restarts": 1})
                   for i in range(2)]  # no timeout: nothing but the service's death stops them
            ids += [await rest.submit(seed_problem(), targets.SA, {"sweeps": 50, "seed": i}) for i in range(3)]
            for job_id in ids[:2]:
                await rest.wait(job_id, until=frozenset({"Executing"}))
        children = {pid: start_time(pid) for pid in descendants(service.process.pid)}
        assert len(children) >= 3  # Azurite and two runners at least
        os.kill(service.process.pid, signal.SIGKILL)  # the service alone, not its process group
        service.process.wait(10)
        deadline = time.monotonic() + 5
        alive = children
        while alive and time.monotonic() < deadline:
            alive = {pid: t for pid, t in alive.items() if start_time(pid) == t and t is not None}
            time.sleep(0.1)
        assert not alive, f"left running 5 s after the service died: {sorted(alive)}"
    finally:
        service.stop(signal.SIGKILL)
    service.start()  # `make run` again: comes up on the same ports
    try:
        async with Rest(service) as rest:
            for job_id in ids[:2]:  # cancel the endless ones; the others simply run
                await rest.wait(job_id, until=frozenset({"Executing"}))
                status, _ = await rest.request("DELETE", f"jobs/{job_id}")
                assert status == 204
            for job_id in ids:
                job = await rest.wait(job_id, timeout=120)
                assert job["status"] in ("Succeeded", "Cancelled"), job
                _, events = await rest.request("GET", f"jobs/{job_id}/events")
                ended = [e["kind"] for e in events["value"] if e["kind"] in TERMINAL_KINDS]
                assert len(ended) == 1, (job_id, ended)
    finally:
        service.stop()


async def test_a_leftover_azurite_of_a_crashed_run_is_stopped_at_start(tmp_path: Path):
    """What a run on a system without PR_SET_PDEATHSIG (or a crash in between) can leave: an Azurite on the
    service's port. The next start stops it (it is recorded in DATA_DIR) instead of failing with EADDRINUSE."""
    port = free_port()
    data_dir = tmp_path / "svc"
    data_dir.mkdir()
    leftover = Azurite(location=str(tmp_path / "old"), port=port).start()
    try:
        (data_dir / CHILDREN_FILE).write_text(json.dumps(
            {"azurite": {"pid": leftover.pid, "start": start_time(leftover.pid)}}))
        service = Service(data_dir=data_dir, blob_url=f"http://127.0.0.1:{port}/devstoreaccount1", runners=1,
                          args=["--with-azurite"])
        with running(service):
            assert leftover.process.wait(10) is not None
            async with Rest(service) as rest:
                job_id = await rest.submit(seed_problem(), targets.SA, {"sweeps": 50, "seed": 1})
                assert (await rest.result(await rest.wait(job_id)))["cost"] == -17.0
            assert "left running by an earlier openqio" in service.tail(400)
    finally:
        leftover.stop()


def test_azurite_told_to_stop_twice_still_saves_what_it_acknowledged(tmp_path: Path):
    """A SIGKILL of the service makes the kernel send Azurite its parent-death SIGTERM, sometimes twice (once per
    thread of the dying service it is handed on to). Azurite listens with `once`: without the preload in
    services/azurite_shutdown.js the second signal ended it before it saved its index, and every container and
    blob since its last periodic save was gone at the next start (jobs then Failed InputDataLost)."""
    from azure.storage.blob import BlobServiceClient

    from services.azurite import ACCOUNT, ACCOUNT_KEY

    location, port = str(tmp_path / "azurite"), free_port()
    credential = {"account_name": ACCOUNT, "account_key": ACCOUNT_KEY}
    azurite = Azurite(location=location, port=port).start()
    try:
        with BlobServiceClient(azurite.blob_url, credential=credential) as storage:
            container = storage.create_container("acknowledged")
            for i in range(10):
                container.upload_blob(f"blob-{i}", b"kept")
            # (its kept-alive connection still open when the signals come, as the dead service's were)
            os.kill(azurite.pid, signal.SIGTERM)
            time.sleep(0.003)
            with contextlib.suppress(ProcessLookupError):
                os.kill(azurite.pid, signal.SIGTERM)
            azurite.process.wait(30)
    finally:
        azurite.stop()
    again = Azurite(location=location, port=port).start()
    try:
        with BlobServiceClient(again.blob_url, credential=credential) as storage:
            container = storage.get_container_client("acknowledged")
            assert container.exists(), "Azurite lost the container it had acknowledged"
            assert sorted(b.name for b in container.list_blobs()) == sorted(f"blob-{i}" for i in range(10))
    finally:
        again.stop()


async def test_a_second_service_on_the_same_data_directory_is_refused(openqio_service):
    second = Service(data_dir=openqio_service.data_dir, blob_url="http://127.0.0.1:1/devstoreaccount1", runners=1)
    second.connection_file.rename(second.connection_file.with_suffix(".kept"))  # start() removes it; keep it
    try:
        with pytest.raises(Exception, match="another openqio .pid \\d+. is running with data directory"):
            second.start(timeout=60)
    finally:
        second.connection_file.with_suffix(".kept").rename(second.connection_file)
        second.stop(signal.SIGKILL)


def test_a_port_another_program_holds_is_refused_before_anything_starts(tmp_path: Path):
    """The gateway binds only once its runners are ready (minutes into a first start, while they compile): a port
    already taken is told at once, in a line, before Azurite or any runner starts; not as a traceback after."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        service = Service(data_dir=tmp_path, blob_url="http://127.0.0.1:1/devstoreaccount1", runners=1,
                          args=["--with-azurite"], extra_env={"OPENQIO_PORT": str(port)})
        try:
            with pytest.raises(Exception, match=f"(?s)exited with 1 .*the gateway cannot listen on 127.0.0.1:{port}: "
                                                "Address already in use .*OPENQIO_PORT"):
                service.start(timeout=60)
            log = service.log_file.read_text()
            assert "Azurite" not in log and "warm-up" not in log and "runner" not in log, log
            assert "Traceback" not in log, log
        finally:
            service.stop(signal.SIGKILL)


def test_a_blob_port_another_azurite_holds_is_said_with_a_setting_to_use_instead(tmp_path: Path):
    """A developer of Azure code often runs an Azurite of their own on 10000, where `make run` starts openqio's."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        service = Service(data_dir=tmp_path, blob_url=f"http://127.0.0.1:{port}/devstoreaccount1", runners=1,
                          args=["--with-azurite"])
        try:
            with pytest.raises(Exception, match=f"(?s)could not start Azurite on port {port} .*in use by another "
                                                f"program.*OPENQIO_BLOB_URL=http://127.0.0.1:{port + 1}/"):
                service.start(timeout=60)
            assert "warm-up" not in service.log_file.read_text()
        finally:
            service.stop(signal.SIGKILL)


def test_a_damaged_job_database_stops_the_start_in_one_line_and_is_left_as_it_is(tmp_path: Path):
    damaged = b"\0garbage" * 500
    (tmp_path / "jobs.sqlite3").write_bytes(damaged)
    service = Service(data_dir=tmp_path, blob_url="http://127.0.0.1:1/devstoreaccount1", runners=1)
    try:
        with pytest.raises(Exception, match="(?s)exited with 1 .*the job database .*jobs.sqlite3 cannot be used: "
                                            "file is not a database .*restore it from a backup"):
            service.start(timeout=60)
        assert "Traceback" not in service.log_file.read_text()
        assert (tmp_path / "jobs.sqlite3").read_bytes() == damaged
    finally:
        service.stop(signal.SIGKILL)


def test_the_start_banner_names_the_python_that_has_the_client(openqio_service):
    """The system's python3 has none of what `make` installed: the banner says which one has the native client."""
    python = Path(sys.executable)
    shown = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python  # the service runs in ROOT
    assert (f"native client:  Workspace() reads {openqio_service.connection_file} (in {shown})"
            in openqio_service.log_file.read_text())


async def test_a_job_cannot_take_over_another_jobs_container(openqio_service):
    async with Rest(openqio_service) as rest:
        first = await rest.submit(seed_problem(), targets.SA, {"sweeps": 50, "seed": 1})
        done = await rest.wait(first)
        assert (await rest.result(done))["cost"] == -17.0
        thief = str(uuid.uuid1())
        body = rest.job_body(thief, done["containerUri"], targets.SA, {"sweeps": 50})
        status, answer = await rest.request("PUT", f"jobs/{thief}", json=body)
        assert status == 409 and answer["error"]["code"] == "ContainerInUse", answer
        assert first in answer["error"]["message"]
        status, _ = await rest.request("GET", f"jobs/{thief}")
        assert status == 404
        assert (await rest.result(await rest.get(first)))["cost"] == -17.0
        status, kept = await rest.request("GET", f"jobs/{first}/output")  # the service's own copy
        assert status == 200 and kept["cost"] == -17.0


async def test_the_summary_never_waits_on_storage(tmp_path: Path):
    """SIGSTOP Azurite: the dashboard summary still answers at once (it reads what the runner recorded)."""
    storage = Azurite(location=str(tmp_path / "blobs")).start()
    try:
        with running(Service(data_dir=tmp_path / "svc", blob_url=storage.blob_url, runners=1)) as service:
            async with Rest(service) as rest:
                job_id = await rest.submit(seed_problem(), targets.SA, {"sweeps": 50, "seed": 1})
                await rest.wait(job_id)
                os.killpg(storage.process.pid, signal.SIGSTOP)
                try:
                    status, summary = await asyncio.wait_for(rest.request("GET", f"jobs/{job_id}/summary"), 10)
                    health, _ = await asyncio.wait_for(rest.request("GET", f"{rest.base}/healthz"), 10)
                finally:
                    os.killpg(storage.process.pid, signal.SIGCONT)
            assert status == 200 and summary["available"] and summary["variables"] == 3, summary
            assert health == 200
    finally:
        storage.stop()
