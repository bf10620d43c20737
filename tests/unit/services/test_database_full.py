"""A full disk under the job database, on a real SQLite file: SQLite's own limit on the file's size
(`PRAGMA max_page_count`) makes its writes fail exactly as a full disk does (SQLITE_FULL, "database or disk is full").

What must hold: a write that cannot be stored raises StoreFull and leaves the database as it was; the store says so
once, not once per write; writes go on by themselves once space is freed; a job whose run ended meanwhile keeps
its outcome until it can be recorded (it was dropped: the job stayed Executing until a restart ran it again), and
keeps its result while blob storage's disk is full, past the 5 minutes an outage gets (it failed StorageUnavailable);
and the output keeper tries again at its next round without a traceback for each.
tests/integration/test_full_disk.py fills a real file system under the whole service and Azurite.
"""
from __future__ import annotations

import asyncio
import logging
import time

import pytest

from contracts.status import JobStatus
from services.blobs import StorageFull, StorageUnavailable
from services.dispatch.dispatcher import Dispatcher
from services.dispatch.outputs import OutputKeeper
from services.jobs.sqlite_store import SqliteJobStore
from services.jobs.store import StoreFull
from tests.unit.services.test_dispatcher_read_ahead import FakeBlobs, OneRunnerPool, _running, status, submit, until
from tests.unit.services.test_results_kept import Storage, succeed
from tests.unit.services.test_sqlite_store import job

GROUP_COMMIT = "services.jobs.group_commit"


async def fill(store: SqliteJobStore) -> int:
    """Let the database's file grow no more, then submit jobs until one does not fit: the next job of the same size
    does not fit either. The number of jobs that did."""
    (pages,), = await store.db.execute_fetchall("PRAGMA page_count")
    await store.db.execute(f"PRAGMA max_page_count={pages}")
    for n in range(10_000):
        try:
            await store.insert("ws", job(f"fill-{n}"))
        except StoreFull:
            return n
    raise AssertionError("the database never filled")


async def free(store: SqliteJobStore) -> None:
    await store.db.execute("PRAGMA max_page_count=1073741823")


def lines(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == GROUP_COMMIT and r.levelno == level]


async def test_a_full_disk_refuses_writes_says_so_once_and_writes_go_on_once_space_is_freed(store, caplog):
    with caplog.at_level(logging.INFO, logger=GROUP_COMMIT):
        stored = await fill(store)
        assert store.full_since is not None
        for attempt in range(3):
            with pytest.raises(StoreFull, match="disk is full"):
                await store.insert("ws", job(f"more-{attempt}"))
        await store.commits.run(lambda conn: None)  # a commit that wrote nothing says nothing about the disk
        assert store.full_since is not None
        errors = lines(caplog, logging.ERROR)
        assert len(errors) == 1 and str(store.path) in errors[0] and "disk is full" in errors[0]
        assert len((await store.list("ws", limit=10_000))[0]) == stored  # nothing of the refused writes
        assert lines(caplog, logging.WARNING) == []

        await free(store)
        assert (await store.insert("ws", job("more-0"))).id == "more-0"
        assert store.full_since is None
        assert len(lines(caplog, logging.WARNING)) == 1 and "stores again" in lines(caplog, logging.WARNING)[0]
        assert len(lines(caplog, logging.ERROR)) == 1


async def test_a_whole_batch_rolled_back_by_sqlite_fails_every_write_in_it(store):
    """SQLite may roll a whole transaction back when the disk fills mid-statement: then no write of the batch was
    stored, and each of them says so (it was "no such savepoint", and the batch's other writes seemed stored)."""
    await store.db.execute("CREATE TABLE scratch (x BLOB)")
    await fill(store)

    def big(conn):  # a row SQLite undoes with the whole transaction when it does not fit
        conn.execute("INSERT INTO scratch VALUES (zeroblob(2000))")

    with pytest.raises(StoreFull):
        while True:
            await store.commits.run(big)
    outcomes = await asyncio.gather(store.commits.run(big), *(store.insert("ws", job(f"more-{n}")) for n in range(5)),
                                    return_exceptions=True)
    assert all(isinstance(o, StoreFull) for o in outcomes), outcomes
    assert {j.id for j in (await store.list("ws", limit=10_000))[0]}.isdisjoint({f"more-{n}" for n in range(5)})


class FullDisk:
    """The store, with every status change, and every output marked checked, refused as on a full disk while `full`
    is set."""

    def __init__(self, store: SqliteJobStore):
        self.store, self.full, self.refused = store, True, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    async def _write(self, write, *args, **kwargs):
        if self.full:
            self.refused += 1
            raise StoreFull("the job database's disk is full")
        return await write(*args, **kwargs)

    async def transition(self, *args, **kwargs):
        return await self._write(self.store.transition, *args, **kwargs)

    async def outputs_checked(self, *args, **kwargs):
        return await self._write(self.store.outputs_checked, *args, **kwargs)


@pytest.fixture
async def stack(store):
    async for running in _running(store, OneRunnerPool()):
        yield running


async def test_a_job_that_ends_on_a_full_disk_is_recorded_once_space_is_freed(stack, caplog):
    store, blobs, pool, dispatcher = stack
    dispatcher.storage_retry_s = 0.05  # (its waits between tries: 0.05 s doubling, at most 5 s)
    await submit(store, dispatcher, "a")
    await until(lambda: pool.ran)
    dispatcher.store = disk = FullDisk(store)
    with caplog.at_level(logging.WARNING):
        pool.gates.setdefault("a", asyncio.Event()).set()
        await until(lambda: ("write", "a", "ws") in blobs.used)  # its output blob is written ...
        await until(lambda: disk.refused >= 3)
        assert await status(store, "a") == JobStatus.EXECUTING  # ... and how it ended waits for the disk
        assert [t.get_name() for t in dispatcher._tasks] == ["outcome-a"]
        disk.full = False
        await until(lambda: not dispatcher._tasks, timeout=10)
    assert await status(store, "a") == JobStatus.SUCCEEDED
    assert (await store.output(None, "a")).data  # the result kept with it, as always
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks == []


async def test_the_output_keeper_waits_for_space_without_a_traceback_per_round(store, caplog):
    await succeed(store, "a", b'{"cost": 1}')
    storage = Storage()
    storage.blobs[("job-a", "rawOutputData")] = b'{"cost": 1}'
    disk = FullDisk(store)
    keeper = OutputKeeper(disk, storage, verify=True, settle_s=0.0, interval_s=0.01)
    with caplog.at_level(logging.WARNING):
        await keeper.start()
        try:
            await until(lambda: disk.refused >= 3)  # rounds that could not mark it checked
            disk.full = False
            await until(lambda: storage.heads >= disk.refused + 1)
        finally:
            await keeper.stop()
    assert (await store.output(None, "a")).checked
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []  # the store's own line aside


class FullBlobs(FakeBlobs):
    """Blob storage whose output writes raise `error` until it is set to None: StorageFull as the Azurite openqio
    supervises refuses them on a full disk, or StorageUnavailable as storage that does not answer."""

    def __init__(self, error: StorageUnavailable):
        super().__init__()
        self.error, self.refused = error, 0

    async def write_output(self, container, data, workspace="?"):
        if self.error is not None:
            self.refused += 1
            raise self.error
        return await super().write_output(container, data, workspace)


@pytest.mark.parametrize("error, ends", [
    (StorageFull("storage answered 500 writing the output: its disk is full"), JobStatus.SUCCEEDED),
    (StorageUnavailable("storage answered 503 writing the output"), JobStatus.FAILED),  # an outage: only so long
])
async def test_a_result_waits_for_space_on_blob_storage_past_the_outage_limit(store, caplog, error, ends):
    pool, blobs = OneRunnerPool(), FullBlobs(error)
    dispatcher = Dispatcher(store, blobs, pool)
    dispatcher.storage_retry_s, dispatcher.storage_max_wait_s = 0.01, 0.05  # (5 minutes by default)
    await dispatcher.start()
    try:
        await submit(store, dispatcher, "a")
        await until(lambda: pool.ran)
        with caplog.at_level(logging.INFO, logger="services.dispatch.dispatcher"):  # (after the fake runner's line)
            pool.gates.setdefault("a", asyncio.Event()).set()
            if ends == JobStatus.SUCCEEDED:
                await until(lambda: blobs.refused >= 6)  # 0.31 s of tries: past the 0.05 s an outage may last
                assert await status(store, "a") == JobStatus.EXECUTING  # its result waits in memory
                count, since = dispatcher.results_waiting_for_space()  # (/healthz and the load say so)
                assert count == 1 and 0.3 <= time.time() - since < 5
                blobs.error = None  # space freed
            else:
                await until(lambda: blobs.refused >= 1)
                assert dispatcher.results_waiting_for_space() is None  # an outage: not a full disk
            await until(lambda: not dispatcher._tasks, timeout=10)
    finally:
        await dispatcher.stop()
    assert dispatcher.results_waiting_for_space() is None
    job = await store.get(None, "a")
    assert job.status == ends
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    if ends == JobStatus.SUCCEEDED:
        assert (await store.output(None, "a")).data
        assert said == ["job a: its result waits until space is freed on blob storage's disk (storage answered 500 "
                        "writing the output: its disk is full)",  # once, not once per try
                        "job a: its result stored, space freed"]
    else:
        assert job.error_data.code == "StorageUnavailable"
