"""Group commit (services/jobs/group_commit.py) and the in-memory backlog (services/jobs/backlog.py) on a real SQLite
store: writes that arrive together share a transaction (and its fsync) without sharing their failures, and the
backlog follows every transition that moves a job into or out of Waiting."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiosqlite
import pytest

from contracts.status import JobStatus
from services.jobs.sqlite_store import SqliteJobStore
from tests.unit.services.test_sqlite_store import job

W, E, S, C = JobStatus.WAITING, JobStatus.EXECUTING, JobStatus.SUCCEEDED, JobStatus.CANCELLED


async def _commits(store: SqliteJobStore) -> list[str]:
    seen: list[str] = []
    await store.db.set_trace_callback(lambda sql: seen.append(sql) if sql in ("COMMIT", "PRAGMA synchronous=FULL")
                                      else None)
    return seen


def test_aiosqlite_still_runs_callables_on_its_thread():
    """The group commit needs aiosqlite's (private) way to run a function on the connection's thread."""
    assert callable(getattr(aiosqlite.Connection, "_execute", None)) and hasattr(aiosqlite.Connection, "_conn")


async def test_submissions_that_arrive_together_share_one_durable_commit(store: SqliteJobStore):
    seen = await _commits(store)
    stored = await asyncio.gather(*(store.insert("ws", job(f"j{i}")) for i in range(50)))
    assert [j.id for j in stored] == [f"j{i}" for i in range(50)]
    assert seen.count("COMMIT") < 5 and seen.count("PRAGMA synchronous=FULL") <= 1  # not 50 commits, 50 fsyncs
    page, _ = await store.list("ws", limit=100)
    assert len(page) == 50 and [len(await store.events(j.id)) for j in page] == [1] * 50


async def test_a_failing_write_is_rolled_back_alone(store: SqliteJobStore):
    def broken(conn):
        conn.execute("UPDATE jobs SET name = 'changed'")  # would touch every job, then fails
        raise RuntimeError("this unit fails")

    a, failed, b = await asyncio.gather(store.insert("ws", job("a")), store.commits.run(broken, durable=True),
                                        store.insert("ws", job("b")), return_exceptions=True)
    assert isinstance(failed, RuntimeError)
    assert a.id == "a" and b.id == "b"
    assert {j.name for j in (await store.list("ws", limit=10))[0]} == {"name-a", "name-b"}


async def test_a_cancelled_caller_still_gets_its_write_committed_and_logged(store: SqliteJobStore, caplog):
    await store.insert("ws", job("a"))
    with caplog.at_level(logging.INFO, logger="services.jobs.sqlite_store"):
        task = asyncio.create_task(store.transition("a", C))
        await asyncio.sleep(0)  # queued
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await store.commits._task
    assert (await store.get("ws", "a")).status == C
    assert [r.to for r in caplog.records if getattr(r, "job_id", None) == "a"] == ["Cancelled"]
    assert store.backlog().waiting == 0


async def test_the_backlog_follows_every_way_in_and_out_of_waiting(store: SqliteJobStore):
    assert store.backlog().waiting == 0 and store.backlog().oldest_created is None
    first = await store.insert("ws", job("a"))
    await store.insert("ws", job("b"))
    await store.insert("ws", job("c"))
    backlog = store.backlog()
    assert backlog.waiting == 3 and backlog.oldest_created == first.creation_time and backlog.started == 0
    claimed = await store.claim_next()  # a: Waiting -> Executing
    assert claimed.details.id == "a" and store.backlog().waiting == 2 and store.backlog().started == 1
    assert store.backlog().oldest_created == (await store.get("ws", "b")).creation_time
    await store.cancel("ws", "b")  # Waiting -> Cancelled
    assert store.backlog().waiting == 1
    await store.transition("a", W, expected=[E])  # a requeued: Waiting again, and the oldest
    assert store.backlog().waiting == 2 and store.backlog().oldest_created == first.creation_time
    assert store.backlog(runners=2).run_s == 0.0  # a run put back to wait is no sample of the runners' time
    await store.transition("c", JobStatus.FAILED)
    await store.transition("a", C)
    assert store.backlog().waiting == 0 and store.backlog().oldest_created is None
    await store.insert("ws", job("d"))
    await store.claim_next()
    await store.transition("d", JobStatus.SUCCEEDED, expected=[E])  # ran to its end: the runners' time per job
    assert 0.0 < store.backlog(runners=2).run_s < 5.0
    assert store.backlog(runners=2).pace_per_s == pytest.approx(2 / store.backlog().run_s)


async def test_the_backlog_is_loaded_when_the_store_opens(tmp_path: Path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await store.open()
    for name in ("a", "b", "c"):
        await store.insert("ws", job(name))
    await store.claim_next()
    await store.close()
    again = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await again.open()
    try:
        assert again.backlog().waiting == 2
        assert again.backlog().oldest_created == (await again.get("ws", "b")).creation_time
    finally:
        await again.close()


@pytest.mark.parametrize("waiting", [10, 3000])
async def test_the_oldest_waiting_job_stays_cheap_to_find(store: SqliteJobStore, waiting: int):
    """The heap keeps at most about twice the Waiting jobs, however many came and went."""
    tracker = store._waiting
    for i in range(waiting):
        tracker.add(f"w{i}", f"2024-01-01T00:00:{i % 60:02d}.{i:06d}Z")
    for i in range(waiting - 1):
        tracker.discard(f"w{i}")
        tracker.add(f"n{i}", "2025-01-01T00:00:00.000000Z")
        tracker.discard(f"n{i}")
    assert store.backlog().waiting == 1 and len(tracker._heap) <= 2 * 2 + 64 + 1
