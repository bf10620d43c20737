"""Crash safety in the store (issue 11): results kept durably with the job, one job per output container, schema
migrations of databases written by earlier versions, and the output keeper that puts lost result blobs back (real
SQLite; blob storage as an in-memory stand-in that can lose writes the way a killed Azurite does)."""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from contracts.status import JobStatus
from services.blobs import StorageUnavailable
from services.dispatch.outputs import OutputKeeper
from services.jobs import schema
from services.jobs.sqlite_store import SqliteJobStore
from services.jobs.store import ContainerInUse, StoredOutput
from tests.unit.services.test_sqlite_store import job

S = JobStatus.SUCCEEDED


async def succeed(store: SqliteJobStore, job_id: str, body: bytes, written_at: float | None = None) -> None:
    await store.insert("ws", job(job_id), output_container=f"devstoreaccount1/job-{job_id}")
    claimed = await store.claim_next()
    assert claimed is not None and claimed.details.id == job_id
    done = await store.transition(job_id, S, output_data_uri=f"http://h/devstoreaccount1/job-{job_id}/rawOutputData",
                                  output=StoredOutput(body, "application/json", written_at or time.time()))
    assert done is not None


# -- kept results ----------------------------------------------------------------------------------------------------

async def test_a_succeeded_job_keeps_its_result(store: SqliteJobStore):
    await succeed(store, "a", b'{"cost": -17.0}')
    kept = await store.output("ws", "a")
    assert kept is not None and kept.data == b'{"cost": -17.0}' and kept.content_type == "application/json"
    assert await store.output("other", "a") is None  # another workspace: nothing
    await store.insert("ws", job("b"))
    assert await store.output("ws", "b") is None  # not succeeded


async def test_the_result_is_kept_in_the_transaction_that_marks_it_succeeded(store: SqliteJobStore):
    """A transition that loses the compare-and-set keeps nothing: no result without Succeeded, and the reverse."""
    await store.insert("ws", job("a"))
    await store.transition("a", JobStatus.CANCELLED)
    lost = await store.transition("a", S, output=StoredOutput(b"{}", "application/json", time.time()))
    assert lost is None and await store.output(None, "a") is None


@pytest.mark.parametrize("mode, levels", [("full", ["FULL", "NORMAL", "FULL"]), ("normal", [])])
async def test_acknowledged_writes_are_fsynced(tmp_path: Path, mode: str, levels: list[str]):
    """synchronous=full: FULL (fsync) for the new job and for Succeeded with its result, NORMAL for the claim in
    between; synchronous=normal: the connection never leaves NORMAL. (Seen in the statements SQLite runs.)"""
    store = SqliteJobStore(tmp_path / "jobs.sqlite3", synchronous=mode)
    await store.open()
    seen: list[str] = []

    def trace(sql: str) -> None:
        if sql.startswith("PRAGMA synchronous"):
            seen.append(sql.split("=")[1])

    await store.db.set_trace_callback(trace)
    try:
        await succeed(store, "a", b"{}")
    finally:
        await store.close()
    assert seen == levels


def test_unknown_synchronous_modes_are_refused(tmp_path: Path):
    with pytest.raises(ValueError):
        SqliteJobStore(tmp_path / "x.sqlite3", synchronous="off")


# -- one job per output container ------------------------------------------------------------------------------------

async def test_a_container_bound_to_a_job_is_refused_to_another(store: SqliteJobStore):
    await store.insert("ws", job("a"), output_container="acct/job-a")
    with pytest.raises(ContainerInUse) as same:
        await store.insert("ws", job("b"), output_container="acct/job-a")
    assert same.value.owner == "a"
    with pytest.raises(ContainerInUse) as other:  # another workspace on the same account learns no id
        await store.insert("ws2", job("c"), output_container="acct/job-a")
    assert other.value.owner is None
    assert await store.get(None, "b") is None and await store.get(None, "c") is None
    await store.insert("ws", job("d"), output_container="otheracct/job-a")  # same name, another account: fine


# -- migrations ------------------------------------------------------------------------------------------------------

def old_database(path: Path) -> None:
    """A database as openqio wrote it before migrations existed (user_version 0), with two jobs sharing a container."""
    raw = sqlite3.connect(path)
    raw.executescript(schema.BASE)
    for job_id, container in (("old1", "job-old1"), ("old2", "job-old1"), ("old3", "job-old3")):
        raw.execute(
            "INSERT INTO jobs (id, workspace, container_uri, input_data_format, provider_id, target, status, "
            "creation_time, body_hash) VALUES (?, 'ws', ?, 'microsoft.qio.v2', 'Microsoft', 't', 'Succeeded', ?, 'h')",
            (job_id, f"http://127.0.0.1:10000/devstoreaccount1/{container}", f"2026-01-01T00:00:0{job_id[-1]}Z"))
    raw.commit()
    raw.close()


async def test_an_old_database_is_migrated_in_place(tmp_path: Path):
    path = tmp_path / "jobs.sqlite3"
    old_database(path)
    store = SqliteJobStore(path)
    await store.open()
    try:
        rows = {r["id"]: r["output_container"] for r in
                await store.db.execute_fetchall("SELECT id, output_container FROM jobs")}
        # the first job of a shared container keeps it; the later one stays unbound rather than failing the upgrade
        assert rows == {"old1": "devstoreaccount1/job-old1", "old2": None, "old3": "devstoreaccount1/job-old3"}
        ((version,),) = await store.db.execute_fetchall("PRAGMA user_version")
        assert version == schema.LATEST
        assert await store.summary("ws", "old1") is None and await store.output("ws", "old1") is None
        with pytest.raises(ContainerInUse):
            await store.insert("ws", job("new"), output_container="devstoreaccount1/job-old3")
    finally:
        await store.close()
    again = SqliteJobStore(path)  # opening again applies nothing twice
    await again.open()
    await again.close()


async def test_a_database_from_a_newer_openqio_is_refused(tmp_path: Path):
    raw = sqlite3.connect(tmp_path / "jobs.sqlite3")
    raw.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    raw.close()
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    with pytest.raises(schema.JobStoreUnavailable, match="newer than this openqio"):
        await store.open()
    await store.close()


async def test_a_damaged_database_is_refused_as_it_is(tmp_path: Path):
    path = tmp_path / "jobs.sqlite3"
    damaged = b"not a database " * 300
    path.write_bytes(damaged)
    store = SqliteJobStore(path)
    with pytest.raises(schema.JobStoreUnavailable, match=f"job database {path} cannot be used: file is not a database .*"
                                                  "damaged: restore it from a backup"):
        await store.open()
    await store.close()
    assert path.read_bytes() == damaged  # nothing written, nothing moved


async def test_a_database_that_cannot_be_opened_is_refused(tmp_path: Path):
    path = tmp_path / "jobs.sqlite3"
    path.mkdir()  # a directory where the file should be
    with pytest.raises(schema.JobStoreUnavailable, match="unable to open database file .*a file this user can read and write"):
        await SqliteJobStore(path).open()


async def test_a_database_that_cannot_be_opened_on_a_full_disk_says_the_disk_is_full(tmp_path: Path, monkeypatch):
    """SQLite says only "disk I/O error" when it cannot write its -wal and -shm files on opening."""
    path = tmp_path / "jobs.sqlite3"
    path.mkdir()  # (any failure to open; the disk's free space decides the hint)
    monkeypatch.setattr(shutil, "disk_usage", lambda where: shutil._ntuple_diskusage(10 << 30, 10 << 30, 4096))
    with pytest.raises(schema.JobStoreUnavailable, match=f"job database {path} cannot be used: .*its disk is full: "
                                                  "free space on it and start again"):
        await SqliteJobStore(path).open()


@pytest.mark.parametrize("url, key", [
    ("http://127.0.0.1:10000/devstoreaccount1/job-1", "devstoreaccount1/job-1"),
    ("https://acct.blob.core.windows.net/job-1", "acct/job-1"),
    ("http://127.0.0.1:10000/", None),
])
def test_container_keys(url: str, key: str | None):
    assert schema.container_key_of(url) == key


# -- the output keeper ----------------------------------------------------------------------------------------------

class Storage:
    """Blob storage that acknowledges writes and can forget them (what a SIGKILLed Azurite does)."""

    account = "devstoreaccount1"

    def __init__(self):
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.down = False
        self.heads = 0

    def for_workspace(self, workspace):
        return self

    def output_location(self, output_data_uri, container_uri):
        parts = output_data_uri.split("/")
        return parts[-2], parts[-1]

    async def blob_size(self, container, blob):
        if self.down:
            raise StorageUnavailable("connection refused")
        self.heads += 1
        data = self.blobs.get((container, blob))
        return None if data is None else len(data)

    async def write_output(self, container, data):
        if self.down:
            raise StorageUnavailable("connection refused")
        self.blobs[(container, "rawOutputData")] = data

    async def ping(self):
        return not self.down


async def test_start_up_restores_what_storage_lost_before_the_last_run_ended(store: SqliteJobStore):
    storage = Storage()
    await succeed(store, "a", b'{"cost": 1}', written_at=time.time() - 3600)  # long ago: outside the loss window
    await succeed(store, "b", b'{"cost": 2}')
    await succeed(store, "c", b'{"cost": 3}')
    storage.blobs[("job-c", "rawOutputData")] = b'{"cost": 3}'  # b's blob was lost, c's kept, a's gone long ago
    keeper = OutputKeeper(store, storage, verify=False)
    await keeper.start()
    await keeper.run_once()
    await keeper.stop()
    assert storage.blobs[("job-b", "rawOutputData")] == b'{"cost": 2}' and keeper.restored == 1
    assert ("job-a", "rawOutputData") not in storage.blobs  # outside the window, and verify is off: not looked at


async def test_a_restart_of_storage_triggers_an_audit_of_recent_outputs(store: SqliteJobStore):
    storage = Storage()
    keeper = OutputKeeper(store, storage, verify=False)
    await keeper.run_once()
    await succeed(store, "a", b'{"cost": 1}')
    keeper.storage_restarted()
    await keeper.run_once()
    assert storage.blobs[("job-a", "rawOutputData")] == b'{"cost": 1}'
    await keeper.run_once()  # nothing due: no more reads
    assert storage.heads == 1


async def test_verify_looks_once_after_the_settle_time_and_restores(store: SqliteJobStore):
    storage = Storage()
    keeper = OutputKeeper(store, storage, verify=True, settle_s=0.2)
    await succeed(store, "a", b'{"cost": 1}')
    await succeed(store, "b", b'{"cost": 22}')
    storage.blobs[("job-a", "rawOutputData")] = b'{"cost": 1}'
    storage.blobs[("job-b", "rawOutputData")] = b'{"cost"'  # damaged: wrong size
    await keeper.run_once()
    assert storage.heads == 0  # not settled yet
    time.sleep(0.25)
    await keeper.run_once()
    assert storage.blobs[("job-b", "rawOutputData")] == b'{"cost": 22}' and keeper.restored == 1
    assert (await store.output(None, "a")).checked and not (await store.output(None, "b")).checked
    time.sleep(0.25)
    await keeper.run_once()  # b looked at again after its rewrite settled, then never again
    assert (await store.output(None, "b")).checked
    heads = storage.heads
    await keeper.run_once()
    assert storage.heads == heads


async def test_an_outage_seen_by_the_keeper_is_followed_by_an_audit(store: SqliteJobStore):
    storage = Storage()
    keeper = OutputKeeper(store, storage, verify=True, settle_s=0.0)
    await succeed(store, "a", b'{"cost": 1}')
    storage.down = True
    with pytest.raises(StorageUnavailable):
        await keeper.run_once()
    keeper._outage_since = time.time()  # what _loop records when a round fails
    storage.down = False
    storage.blobs.clear()
    await keeper.run_once()
    assert storage.blobs[("job-a", "rawOutputData")] == b'{"cost": 1}'


async def test_summaries_are_recorded_with_the_outcome(store: SqliteJobStore):
    await store.insert("ws", job("a"))
    await store.claim_next()
    await store.transition("a", JobStatus.FAILED, summary={"available": False, "reason": "r"})
    assert await store.summary("ws", "a") == {"available": False, "reason": "r"}
    assert json.loads(json.dumps(await store.summary("ws", "a")))
