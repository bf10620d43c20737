"""SqliteJobStore on real SQLite files: the guarded status write, the event outbox, paging, claims and scale."""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts.jobs import ErrorData, JobDetails, format_time, parse_time
from contracts.status import TERMINAL, JobStatus
from services.jobs import sqlite_writes
from services.jobs.sqlite_store import _COLUMNS, InvalidCursor, SqliteJobStore
from services.jobs.store import CancelOutcome, JobExists

SA = "microsoft.simulatedannealing.cpu"
W, E, S, F, C = (JobStatus.WAITING, JobStatus.EXECUTING, JobStatus.SUCCEEDED, JobStatus.FAILED,
                 JobStatus.CANCELLED)


def job(job_id: str, **kw) -> JobDetails:
    fields = dict(
        id=job_id,
        name=f"name-{job_id}",
        container_uri=f"http://127.0.0.1:10000/devstoreaccount1/job-{job_id}",
        input_data_uri=f"http://127.0.0.1:10000/devstoreaccount1/job-{job_id}/inputData",
        input_data_format="microsoft.qio.v2",
        input_params={"params": {"sweeps": 10}},
        provider_id="Microsoft",
        target=SA,
        output_data_format="microsoft.qio-results.v2",
    )
    fields.update(kw)
    return JobDetails(**fields)


async def kinds(store: SqliteJobStore, job_id: str) -> list[str]:
    return [e.kind for e in await store.events(job_id)]


# -- schema ----------------------------------------------------------------------------------------------------------

async def test_open_sets_wal_and_busy_timeout(store: SqliteJobStore):
    async with store.db.execute("PRAGMA journal_mode") as cur:
        assert (await cur.fetchone())[0].lower() == "wal"
    async with store.db.execute("PRAGMA busy_timeout") as cur:
        assert (await cur.fetchone())[0] >= 1000


async def test_status_check_constraint_is_generated_from_the_enum(store: SqliteJobStore, tmp_path: Path):
    await store.insert("ws", job("a"))
    async with store.db.execute("SELECT sql FROM sqlite_master WHERE name = 'jobs'") as cur:
        ddl = (await cur.fetchone())[0]
    for status in JobStatus:
        assert f"'{status.value}'" in ddl
    raw = sqlite3.connect(tmp_path / "jobs.sqlite3")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            raw.execute("UPDATE jobs SET status = 'Cancelling' WHERE id = 'a'")
    finally:
        raw.close()


async def test_reopen_keeps_data(tmp_path: Path):
    s = SqliteJobStore(tmp_path / "db" / "jobs.sqlite3")
    await s.open()
    await s.insert("ws", job("a"))
    await s.close()
    s = SqliteJobStore(tmp_path / "db" / "jobs.sqlite3")
    await s.open()
    try:
        assert (await s.get("ws", "a")).status == W
        assert await kinds(s, "a") == ["submitted"]
    finally:
        await s.close()


async def test_closed_store_refuses_use(tmp_path: Path):
    s = SqliteJobStore(tmp_path / "jobs.sqlite3")
    with pytest.raises(RuntimeError, match="not open"):
        await s.get("ws", "a")


# -- insert / get ----------------------------------------------------------------------------------------------------

async def test_insert_round_trips_every_client_field(store: SqliteJobStore):
    submitted = job("a", metadata={"k": "v"}, tags=["t1"], input_params={"params": {"sweeps": 10, "seed": 3}})
    stored = await store.insert("ws", submitted)
    assert stored.status == W and stored.creation_time is not None
    assert stored.begin_execution_time is None and stored.end_execution_time is None
    assert stored.cancellation_time is None and stored.error_data is None and stored.output_data_uri is None
    assert stored.is_cancelling is False
    for name in ("id", "name", "container_uri", "input_data_uri", "input_data_format", "input_params", "provider_id",
                 "target", "metadata", "output_data_format", "tags"):
        assert getattr(stored, name) == getattr(submitted, name), name
    assert await store.get("ws", "a") == stored
    assert await store.get(None, "a") == stored  # the dispatcher's view: any workspace
    assert await kinds(store, "a") == ["submitted"]


async def test_workspaces_scope_reads(store: SqliteJobStore):
    await store.insert("ws", job("a"))
    assert await store.get("other", "a") is None
    assert await store.get("ws", "missing") is None
    assert await store.set_tags("other", "a", ["x"]) is None
    assert (await store.list("other", limit=10)) == ([], None)


async def test_insert_same_id_reports_existing_or_conflict(store: SqliteJobStore):
    first = await store.insert("ws", job("a"))
    # identical body (SAS differs; provider id case differs): the existing job comes back
    with pytest.raises(JobExists) as exc:
        await store.insert("ws", job("a", container_uri=first.container_uri + "?sv=2&sig=x", provider_id="microsoft"))
    assert exc.value.existing == first
    # different body: a conflict
    with pytest.raises(JobExists) as exc:
        await store.insert("ws", job("a", name="another"))
    assert exc.value.existing is None
    # same id in another workspace: a conflict that does not reveal the other job
    with pytest.raises(JobExists) as exc:
        await store.insert("other", job("a"))
    assert exc.value.existing is None
    assert await kinds(store, "a") == ["submitted"]  # nothing was written by the refused inserts
    # and the write lock is free again
    await store.insert("ws", job("b"))


# -- transitions -----------------------------------------------------------------------------------------------------

async def test_transition_sets_timestamps_and_writes_one_event(store: SqliteJobStore):
    await store.insert("ws", job("a"))
    executing = await store.transition("a", E)
    assert executing.status == E and executing.begin_execution_time is not None
    done = await store.transition("a", S, output_data_uri="http://blob/job-a/rawOutputData", event_data={"cost": -5})
    assert done.status == S and done.end_execution_time >= done.begin_execution_time
    assert done.output_data_uri == "http://blob/job-a/rawOutputData" and done.cancellation_time is None
    events = await store.events("a")
    assert [e.kind for e in events] == ["submitted", "started", "succeeded"]
    assert events[-1].data == {"cost": -5}
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert parse_time(events[-1].time) == done.end_execution_time


async def test_failed_keeps_error_data(store: SqliteJobStore):
    await store.insert("ws", job("a"))
    await store.transition("a", E)
    failed = await store.transition("a", F, error=ErrorData("InvalidInputData", "AZQ105: not JSON"))
    assert failed.error_data == ErrorData("InvalidInputData", "AZQ105: not JSON")
    assert (await store.get("ws", "a")).error_data == failed.error_data
    assert (await store.events("a"))[-1].data["error"] == {"code": "InvalidInputData", "message": "AZQ105: not JSON"}


async def test_cancel_waiting_has_no_end_time_cancel_executing_has(store: SqliteJobStore):
    await store.insert("ws", job("w"))
    cancelled = await store.transition("w", C)
    assert cancelled.cancellation_time is not None and cancelled.end_execution_time is None
    await store.insert("ws", job("e"))
    await store.transition("e", E)
    await store.cancel("ws", "e")
    cancelled = await store.transition("e", C)
    assert cancelled.cancellation_time is not None and cancelled.end_execution_time is not None
    assert cancelled.is_cancelling is False


async def test_requeue_clears_begin_time(store: SqliteJobStore):
    await store.insert("ws", job("a"))
    await store.transition("a", E)
    requeued = await store.transition("a", W, event_data={"reason": "runner crashed"})
    assert requeued.status == W and requeued.begin_execution_time is None
    assert await kinds(store, "a") == ["submitted", "started", "requeued"]


@pytest.mark.parametrize("terminal", sorted(TERMINAL, key=lambda s: s.value))
async def test_terminal_jobs_never_change(store: SqliteJobStore, terminal: JobStatus):
    await store.insert("ws", job("a"))
    await store.transition("a", E)
    final = await store.transition("a", terminal)
    for to in JobStatus:
        assert await store.transition("a", to) is None, to
    assert await store.get("ws", "a") == final
    assert await store.cancel("ws", "a") == (CancelOutcome.ALREADY_FINISHED, final)
    assert len(await store.events("a")) == 3  # no event for refused writes


async def test_conflicts_write_nothing(store: SqliteJobStore):
    await store.insert("ws", job("a"))
    assert await store.transition("a", S) is None  # Waiting -> Succeeded is not allowed
    assert await store.transition("missing", E) is None
    assert await store.transition("a", C, expected=[E]) is None  # narrowed: only from Executing
    assert await store.transition("a", E, expected=[]) is None
    assert (await store.get("ws", "a")).status == W
    assert await kinds(store, "a") == ["submitted"]


async def test_concurrent_transitions_have_one_winner(store: SqliteJobStore):
    await store.insert("ws", job("a"))
    await store.transition("a", E)
    results = await asyncio.gather(*[store.transition("a", to) for to in (S, F, C, S, F, C)])
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert (await store.get("ws", "a")).status == winners[0].status
    assert len(await store.events("a")) == 3


async def test_failed_transaction_rolls_back_status_and_event(store: SqliteJobStore, monkeypatch):
    """The status change and its event are one transaction: if the event insert fails, the status stays."""
    await store.insert("ws", job("a"))

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_writes, "add_event", broken)
    with pytest.raises(sqlite3.OperationalError):
        await store.transition("a", E)
    monkeypatch.undo()
    current = await store.get("ws", "a")
    assert current.status == W and current.begin_execution_time is None
    assert await kinds(store, "a") == ["submitted"]
    assert (await store.transition("a", E)).status == E  # the lock and connection are usable again


async def test_transitions_are_logged_with_the_job_id(store: SqliteJobStore, caplog):
    await store.insert("ws", job("a"))
    with caplog.at_level(logging.INFO, logger="services.jobs.sqlite_store"):
        await store.claim_next()
        await store.transition("a", S, output_data_uri="http://x/job-a/rawOutputData")
        await store.transition("a", F)  # a refused write logs nothing
    records = [r for r in caplog.records if r.name == "services.jobs.sqlite_store"]
    assert len(records) == 2 and all(r.levelno == logging.INFO and r.job_id == "a" for r in records)


# -- cancel requests, claims, the start-up sweep -----------------------------------------------------------------

async def test_cancel_decides_in_one_transaction(store: SqliteJobStore):
    """Waiting → Cancelled at once; Executing → is_cancelling (one event, however often asked); finished: nothing;
    another workspace's job or no job: not found."""
    await store.insert("ws", job("w"))
    outcome, cancelled = await store.cancel("ws", "w")
    assert outcome == CancelOutcome.CANCELLED and cancelled.status == C and cancelled.cancellation_time is not None
    assert await kinds(store, "w") == ["submitted", "cancelled"]
    await store.insert("ws", job("a"))
    await store.transition("a", E)
    assert await store.cancel("other", "a") == (CancelOutcome.NOT_FOUND, None)
    assert await store.cancel("ws", "missing") == (CancelOutcome.NOT_FOUND, None)
    for _ in range(2):
        outcome, flagged = await store.cancel("ws", "a")
        assert outcome == CancelOutcome.CANCEL_REQUESTED and flagged.is_cancelling is True and flagged.status == E
    assert await kinds(store, "a") == ["submitted", "started", "cancel_requested"]
    done = await store.transition("a", S, output_data_uri="http://x/job-a/rawOutputData")
    assert done.is_cancelling is False
    assert await store.cancel("ws", "a") == (CancelOutcome.ALREADY_FINISHED, done)


async def test_claim_next_is_fifo_and_counts_attempts(store: SqliteJobStore):
    for job_id in ("a", "b", "c"):
        await store.insert("ws", job(job_id))
    await store.transition("b", C)
    assert await store.has_waiting()
    first = await store.claim_next()
    assert first.details.id == "a" and first.details.status == E and first.attempts == 1 and first.workspace == "ws"
    assert first.details.begin_execution_time is not None
    second = await store.claim_next()
    assert second.details.id == "c"
    assert await store.claim_next() is None
    assert not await store.has_waiting()
    await store.transition("a", W)  # requeue after a crash
    again = await store.claim_next()
    assert again.details.id == "a" and again.attempts == 2
    assert [e.data for e in await store.events("a") if e.kind == "started"] == [{"attempt": 1}, {"attempt": 2}]
    running = await store.executing()
    assert [c.details.id for c in running] == ["a", "c"] and [c.attempts for c in running] == [2, 1]
    assert await store.count_by_status() == {E: 2, C: 1}


async def test_concurrent_claims_never_share_a_job(store: SqliteJobStore):
    for i in range(20):
        await store.insert("ws", job(f"j{i:02d}"))
    claims = await asyncio.gather(*[store.claim_next() for _ in range(30)])
    ids = [c.details.id for c in claims if c is not None]
    assert sorted(ids) == [f"j{i:02d}" for i in range(20)]


async def test_claim_from_a_second_connection_is_safe(tmp_path: Path):
    """Two store instances on one file (two processes in a scale-out) never claim the same job."""
    a, b = SqliteJobStore(tmp_path / "jobs.sqlite3"), SqliteJobStore(tmp_path / "jobs.sqlite3")
    await a.open()
    await b.open()
    try:
        for i in range(10):
            await a.insert("ws", job(f"j{i}"))
        claims = await asyncio.gather(*[s.claim_next() for s in (a, b) * 8])
        ids = [c.details.id for c in claims if c is not None]
        assert sorted(ids) == [f"j{i}" for i in range(10)]
    finally:
        await a.close()
        await b.close()


# -- tags, events, quotas ----------------------------------------------------------------------------------------

async def test_set_tags(store: SqliteJobStore):
    await store.insert("ws", job("a", tags=["x"]))
    updated = await store.set_tags("ws", "a", ["x", "y"])
    assert updated.tags == ["x", "y"] and (await store.get("ws", "a")).tags == ["x", "y"]
    assert await store.set_tags("ws", "missing", ["z"]) is None


async def test_events_paging_and_add_event(store: SqliteJobStore):
    await store.insert("ws", job("a"))
    await store.transition("a", E)
    seqs = [await store.add_event("a", "progress", {"best_cost": -i}) for i in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    events = await store.events("a")
    assert [e.kind for e in events] == ["submitted", "started"] + ["progress"] * 5
    later = await store.events("a", after=events[1].seq, limit=2)
    assert [e.data for e in later] == [{"best_cost": 0}, {"best_cost": -1}]
    assert await store.events("other") == []


async def test_execution_hours(store: SqliteJobStore):
    assert await store.execution_hours("ws") == 0.0
    await store.insert("ws", job("a"))
    await store.transition("a", E)
    # one hour of execution, written directly so the test does not wait
    await store.db.execute("UPDATE jobs SET begin_execution_time = ? WHERE id = 'a'", ("2024-01-01T00:00:00.000000Z",))
    await store.db.execute("UPDATE jobs SET status = 'Succeeded', end_execution_time = ? WHERE id = 'a'",
                           ("2024-01-01T01:30:00.000000Z",))
    assert await store.execution_hours("ws") == pytest.approx(1.5, abs=1e-6)
    assert await store.execution_hours("other") == 0.0


# -- listing -------------------------------------------------------------------------------------------------------

async def test_list_pages_in_creation_order(store: SqliteJobStore):
    ids = [f"j{i:02d}" for i in range(7)]
    for job_id in ids:
        await store.insert("ws", job(job_id))
    await store.insert("other", job("foreign"))
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = await store.list("ws", limit=3, after=cursor)
        pages += 1
        seen += [j.id for j in page]
        if cursor is None:
            break
    assert seen == ids and pages == 3
    page, cursor = await store.list("ws", limit=7)
    assert [j.id for j in page] == ids and cursor is None  # exactly one page: no next cursor


async def test_list_orders_equal_times_by_id(store: SqliteJobStore):
    for job_id in ("c", "a", "b", "d"):
        await store.insert("ws", job(job_id))
    await store.db.execute("UPDATE jobs SET creation_time = '2024-01-01T00:00:00.000000Z'")
    page, cursor = await store.list("ws", limit=2)
    rest, end = await store.list("ws", limit=2, after=cursor)
    assert [j.id for j in page + rest] == ["a", "b", "c", "d"] and end is None


@pytest.mark.parametrize("cursor", ["not-base64!", "bm90IGpzb24", "WzEsIDJd", "e30"])
async def test_list_rejects_bad_cursors(store: SqliteJobStore, cursor: str):
    with pytest.raises(InvalidCursor):
        await store.list("ws", limit=3, after=cursor)


async def test_hundred_thousand_jobs(store: SqliteJobStore):
    """Scale sanity (no timing asserts): listing, get and claims use the indexes and stay correct at 100k jobs."""
    statuses = [W, E, S, F, C]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(100_000):
        created = format_time(start + timedelta(milliseconds=i))
        rows.append((f"job-{i:06d}", "ws" if i % 2 == 0 else "other", "n", "http://x/c", None, "microsoft.qio.v2",
                     json.dumps({"params": {}}), "Microsoft", SA, None, None, None, statuses[i % 5].value, created,
                     None, None, None, None, None, "[]", 0, 0, "h"))
    await store.db.execute("BEGIN")
    await store.db.executemany(f"INSERT INTO jobs ({_COLUMNS}, body_hash) VALUES ({', '.join('?' * 23)})", rows)
    await store.db.execute("COMMIT")

    for sql, args, index in [
        ("SELECT id FROM jobs WHERE workspace = ? ORDER BY creation_time, id LIMIT 101", ("ws",), "jobs_by_workspace"),
        ("SELECT id FROM jobs WHERE workspace = ? AND (creation_time, id) > (?, ?) "
         "ORDER BY creation_time, id LIMIT 101",
         ("ws", "2024", "x"), "jobs_by_workspace"),
        ("SELECT id FROM jobs WHERE status = ? ORDER BY creation_time, id LIMIT 1", ("Waiting",), "jobs_by_status"),
    ]:
        async with store.db.execute("EXPLAIN QUERY PLAN " + sql, args) as cur:
            plan = " ".join(str(r[3]) for r in await cur.fetchall())
        assert index in plan and "SCAN" not in plan, plan

    page, cursor = await store.list("ws", limit=100)
    assert [j.id for j in page] == [f"job-{i:06d}" for i in range(0, 200, 2)]
    page2, _ = await store.list("ws", limit=100, after=cursor)
    assert page2[0].id == "job-000200"
    assert (await store.get("ws", "job-054320")).status == statuses[54320 % 5]
    claimed = await store.claim_next()
    assert claimed.details.id == "job-000000"
    assert (await store.count_by_status())[W] == 20_000 - 1
