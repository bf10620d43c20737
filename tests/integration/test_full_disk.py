"""A full disk under the whole service: gateway, dispatcher, runners and the Azurite it supervises, with the data
directory (job database, Azurite's blobs and index, TLS, tokens) on a small file system of its own that the test
fills and frees again.

The file system is a tmpfs mounted on the data directory in a mount namespace of the service's own (`unshare`; with
a user namespace too where the test does not run as root), so nothing else on the machine sees it; the test reaches
its files through /proc/<pid>/root. Before these tests, a full disk answered every submission 500 with a traceback,
dropped the outcome of every job that ended meanwhile (it stayed Executing until a restart), cut a line of Azurite's
index journal short, so that a restart lost every blob index change saved after it, and an upload that did not fit
got a bare 500 from Azurite.
"""
from __future__ import annotations

import asyncio
import errno
import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError

from contracts import targets
from contracts.problems import encode_json
from services.client.aio import Workspace
from services.client.aio.optimization import Problem, ProblemType, SimulatedAnnealing
from tests.conftest import own_mount_namespace
from tests.integration.rest import Rest, long_problem, seed_problem
from tests.integration.test_crash_safety import free_port, running
from tests.service import START_TIMEOUT_S, Service

pytestmark = pytest.mark.integration

SIZE = "48m"


class OnASmallDisk(Service):
    """The service with a SIZE tmpfs mounted on its data directory (or on the folder `under` it: "azurite", blob
    storage's alone), in its own mount namespace; `fill` writes to it until nothing more fits (`before`: first, in the
    namespace, so the service starts on a full disk)."""

    small = ""  # the folder of the data directory the tmpfs is mounted on ("": the whole directory)

    def on_a_small_disk(self, before: str = "", under: str = "") -> OnASmallDisk:
        self.small = under
        script = f'mkdir -p "$0" && mount -t tmpfs -o size={SIZE} openqio-test "$0" && {before} exec "$@"'
        self.launcher = [*own_mount_namespace(), "sh", "-c", script, str(self.data_dir / under)]
        return self

    def inside(self, path: Path) -> Path:
        """`path` as the service sees it (on its tmpfs), from outside its mount namespace."""
        assert self.process is not None
        return Path(f"/proc/{self.process.pid}/root") / Path(path).relative_to("/")

    @property
    def connection_file(self) -> Path:
        path = self.data_dir / "connection.json"
        return self.inside(path) if self.process is not None else path

    def _wait_ready(self, timeout: float) -> None:
        super()._wait_ready(timeout)
        for key in ("ca_file", "ca_bundle"):
            self.connection[key] = str(self.inside(Path(self.connection[key])))

    def fill(self) -> int:
        """Fill the disk; the bytes it took."""
        written = 0
        with open(self.inside(self.data_dir / self.small / "filler"), "wb") as filler:
            try:
                while True:
                    written += filler.write(b"\0" * (1 << 20))
                    filler.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        return written

    def free(self) -> None:
        self.inside(self.data_dir / self.small / "filler").unlink()


def small_disk_service(tmp_path: Path, under: str = "") -> OnASmallDisk:
    """The service, 2 runners and the Azurite it supervises, on a SIZE tmpfs (under the folder `under`)."""
    return OnASmallDisk(data_dir=tmp_path / "svc", blob_url=f"http://127.0.0.1:{free_port()}/devstoreaccount1",
                        runners=2, args=["--with-azurite"]).on_a_small_disk(under=under)


def connection_file(service: OnASmallDisk, tmp_path: Path) -> str:
    """The service's connection file, with the CA file's path as seen from here."""
    path = tmp_path / "connection.json"
    path.write_text(json.dumps(service.connection))
    return str(path)


async def running_as_it_fills(rest: Rest) -> list[str]:
    """Two jobs running while the disk fills, Executing: they end (a 4 s timeout) while it is full."""
    ended = [await rest.submit(long_problem(seed=i), targets.SA, {"sweeps": 10**9, "timeout": 4, "seed": i})
             for i in range(2)]
    for job_id in ended:
        await rest.wait(job_id, until=frozenset({"Executing"}))
    return ended


async def succeeded_with_results(rest: Rest, ended: list[str]) -> None:
    for job_id in ended:
        job = await rest.wait(job_id, timeout=30)
        assert job["status"] == "Succeeded", job
        assert isinstance((await rest.result(job))["cost"], float)


def large_problem() -> Problem:
    """An input of ~0.5 MB: more than a full disk's last pages have room for."""
    large = Problem(name="large", problem_type=ProblemType.ising)
    for i in range(20_000):
        large.add_term(c=1.0 + i % 7, indices=[i, (i * 7919 + 1) % 20_000])
    return large


def _no_journal_line_torn(service: OnASmallDisk) -> None:
    for journal in service.inside(service.data_dir / "azurite").glob("*.journal"):
        text = journal.read_text()
        assert text == "" or text.endswith("\n"), f"{journal.name} ends mid-line"
        for number, line in enumerate(text.splitlines()):
            try:
                json.loads(line)
            except ValueError:
                raise AssertionError(f"{journal.name}: line {number} is torn") from None


async def test_a_full_disk_refuses_new_jobs_keeps_every_result_and_heals_once_space_is_freed(tmp_path: Path):
    service = small_disk_service(tmp_path)
    with running(service):
        async with Rest(service) as rest, Workspace(connection_file=connection_file(service, tmp_path)) as workspace:
            ended = await running_as_it_fills(rest)
            refused = str(uuid.uuid1())  # its input is stored before the disk fills: the PUT reaches the database
            container_uri = await rest.upload(refused, encode_json(seed_problem()))
            body = rest.job_body(refused, container_uri, targets.SA, {"sweeps": 50, "seed": 1})
            database = sqlite3.connect(service.inside(service.data_dir / "jobs.sqlite3"))
            try:  # an empty write-ahead log: the next write must grow a file (a log not yet wrapped has room left)
                database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                database.close()
            assert service.fill() > 0

            status, answer = await rest.request("PUT", f"jobs/{refused}", json=body)
            assert status == 507 and answer["error"]["code"] == "InsufficientStorage", answer
            with pytest.raises(HttpResponseError) as full:  # an input that does not fit: Azurite says why
                await SimulatedAnnealing(workspace, timeout=1).submit(large_problem())
            assert "storage answered 500 InternalError: no space left on the disk" in str(full.value)
            health, reason = service.health()
            assert health == 503 and "disk has been full" in reason["reason"]
            status, load = await rest.request("GET", f"{rest.base}/dashboard/load")  # `openqio load`, the dashboard
            assert status == 200 and isinstance(load["diskFullSeconds"], int), load
            disk, = load["disks"]  # one file system holds both
            assert disk["holds"] == ["the job database", "blob storage"] and disk["low"], disk
            assert disk["freeBytes"] < 1 << 20 and disk["totalBytes"] < 64 << 20, disk
            await asyncio.sleep(6)  # past the running jobs' timeout: they ended, and wait to be recorded
            assert [(await rest.get(job_id))["status"] for job_id in ended] == ["Executing"] * 2
            status, answer = await rest.request("GET", f"jobs/{refused}")
            assert status == 404  # nothing of the refused submission was stored

            service.free()
            await succeeded_with_results(rest, ended)
            status, answer = await rest.request("PUT", f"jobs/{refused}", json=body)  # sent again, as told
            assert status == 200, answer
            job = await rest.wait(refused)
            assert job["status"] == "Succeeded" and (await rest.result(job))["cost"] == -17.0
            assert service.health()[0] == 200
            assert (await rest.request("GET", f"{rest.base}/dashboard/load"))[1]["diskFullSeconds"] is None
        _no_journal_line_torn(service)
        log = service.tail(2000)
    assert log.count("cannot store anything: its disk is full") == 1  # said once, not once per write
    assert "stores again" in log
    # the service's look at its disks (services/disks.py), at each read of the load: low once filled, then room
    said = [line for line in log.splitlines() if "the disk holding the job database and blob storage has" in line]
    assert len(said) == 2 and said[0].endswith("running low; once it is full, new jobs or their results wait until "
                                               "space is freed") and said[1].endswith("room again"), said
    assert "has 0 B free of 48.0 MiB (0.0 %), at " in said[0] and "WARNING" in said[0], said
    for job_id in ended:  # their results waited for space on Azurite's disk too (an outage would give up at 5 min)
        assert f"job {job_id}: its result waits until space is freed on blob storage's disk" in log
    assert "Traceback" not in log and "never retrieved" not in log


async def test_a_full_disk_under_blob_storage_alone_keeps_every_result_and_says_so(tmp_path: Path):
    """Azurite's folder on a small disk of its own, the job database's with room: the jobs that end while it is full
    keep their results in memory (an outage would give up after 5 minutes), /healthz and the load say how many and
    for how long, an input cannot be uploaded and the client is told why; freed, every result is stored."""
    service = small_disk_service(tmp_path, under="azurite")
    with running(service):
        async with Rest(service) as rest, Workspace(connection_file=connection_file(service, tmp_path)) as workspace:
            ended = await running_as_it_fills(rest)
            assert service.fill() > 0
            # seen before any job ends (a result refused was the first sign before): the load's disks
            database, blobs = (await rest.request("GET", f"{rest.base}/dashboard/load"))[1]["disks"]
            assert database["holds"] == ["the job database"] and database["freeBytes"] > 64 << 20, database
            assert blobs["holds"] == ["blob storage"] and blobs["low"] and blobs["freeBytes"] < 1 << 20, blobs
            with pytest.raises(HttpResponseError) as full:  # its input cannot be stored: Azurite says why
                await SimulatedAnnealing(workspace).submit(large_problem())  # (a few bytes fit in a page's rest)
            assert "no space left on the disk that holds this storage's data" in str(full.value)
            await asyncio.sleep(6)  # past the running jobs' timeout: they ended, and their results wait
            assert [(await rest.get(job_id))["status"] for job_id in ended] == ["Executing"] * 2
            health, reason = service.health()
            assert health == 503 and "blob storage's disk has been full for" in reason["reason"], reason
            assert "2 finished job(s) wait to store their results" in reason["reason"], reason
            status, load = await rest.request("GET", f"{rest.base}/dashboard/load")
            assert status == 200 and load["diskFullSeconds"] is None, load  # the job database has room
            assert load["blobDiskFull"]["resultsWaiting"] == 2 and load["blobDiskFull"]["seconds"] >= 1, load

            service.free()
            await succeeded_with_results(rest, ended)
            job = await SimulatedAnnealing(workspace, timeout=1).submit(large_problem())
            assert isinstance((await job.get_results())["cost"], float)
            assert service.health()[0] == 200
            load = (await rest.request("GET", f"{rest.base}/dashboard/load"))[1]
            assert load["blobDiskFull"] is None and not load["disks"][1]["low"], load
        _no_journal_line_torn(service)
        log = service.tail(2000)
    for job_id in ended:
        assert log.count(f"job {job_id}: its result waits until space is freed on blob storage's disk") == 1
        assert f"job {job_id}: its result stored, space freed" in log
    assert "cannot store anything: its disk is full" not in log  # (the job database's line)
    assert "Traceback" not in log and "never retrieved" not in log


@pytest.mark.parametrize("kept, said", [
    ("", "no space left on its disk for the token"),  # a fresh data directory: the token is the first file written
    ("token", "stopped: no space left for"),  # one with a token: the next file written (the TLS material)
])
def test_a_start_on_a_full_disk_is_one_line(tmp_path: Path, kept: str, said: str):
    service = OnASmallDisk(data_dir=tmp_path / "svc", blob_url=f"http://127.0.0.1:{free_port()}/devstoreaccount1",
                           runners=1, args=["--with-azurite"])
    keep = f'echo kept-{uuid.uuid4().hex} > "$0/{kept}";' if kept else ""
    service.on_a_small_disk(before=f'{keep} dd if=/dev/zero of="$0/filler" bs=1M 2>/dev/null;')
    process = service.launch()
    try:
        code = process.wait(START_TIMEOUT_S)
    finally:
        service.stop()
    log = service.tail()
    assert code != 0
    assert said in log and "free space on that disk and start again" in log, log
    assert "Traceback" not in log
