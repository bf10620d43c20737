"""JobStore on SQLite through aiosqlite (WAL mode): jobs plus a job_events outbox written in the same transactions.

One connection. Every write is a unit of a group commit (services/jobs/group_commit.py, the SQL in sqlite_writes.py):
writes that arrive together share one transaction and one hop to aiosqlite's thread, each in its own savepoint.
Every status change is one guarded UPDATE ... RETURNING (`sqlite_writes.set_status`). The schema and its migrations
are in schema.py; the status CHECK constraint is generated from `contracts.status.JobStatus`.

Durability: what the service acknowledges to a client (a new job, a cancel, a tag change) and how a job ended (with
its result, `job_outputs`) are committed with `PRAGMA synchronous=FULL` (`synchronous="full"`, the default): the WAL
is fsynced before the call returns, so they survive a power loss. Several of them committed together share one fsync.
Bookkeeping that a restart re-derives (claims, requeues, progress events) commits with NORMAL when alone: it survives
any process crash, and a power loss can only roll a job back to Waiting. `synchronous="normal"` makes every commit
NORMAL (no fsync; process crashes still lose nothing).

The store also keeps the backlog in memory (services/jobs/backlog.py: the Waiting jobs, the oldest one, the count of
started jobs), updated as transitions commit, for admission control.
"""
from __future__ import annotations

import base64
import builtins
import json
import logging
import shutil
import sqlite3
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

from contracts.events import EventKind
from contracts.jobs import ErrorData, JobDetails, format_time, parse_time, utcnow
from contracts.status import TERMINAL, JobStatus

from . import lifecycle
from . import sqlite_writes as writes
from .backlog import Backlog, WaitingJobs
from .group_commit import GroupCommit
from .schema import JobStoreUnavailable, migrate
from .sqlite_writes import COLUMNS as _COLUMNS  # noqa: F401 - importable from here (benchmarks, tests)
from .sqlite_writes import body_hash
from .store import CancelOutcome, ClaimedJob, ContainerInUse, JobEvent, JobExists, OutputRef, StoredOutput

log = logging.getLogger(__name__)


def _row_to_job(row: aiosqlite.Row) -> JobDetails:
    error = ErrorData(row["error_code"], row["error_message"] or "") if row["error_code"] else None
    return JobDetails(
        id=row["id"],
        name=row["name"],
        container_uri=row["container_uri"],
        input_data_uri=row["input_data_uri"],
        input_data_format=row["input_data_format"],
        input_params=json.loads(row["input_params"]) if row["input_params"] else None,
        provider_id=row["provider_id"],
        target=row["target"],
        metadata=json.loads(row["metadata"]) if row["metadata"] else None,
        output_data_uri=row["output_data_uri"],
        output_data_format=row["output_data_format"],
        status=JobStatus(row["status"]),
        creation_time=parse_time(row["creation_time"]),
        begin_execution_time=parse_time(row["begin_execution_time"]),
        end_execution_time=parse_time(row["end_execution_time"]),
        cancellation_time=parse_time(row["cancellation_time"]),
        error_data=error,
        tags=json.loads(row["tags"] or "[]"),
        is_cancelling=bool(row["is_cancelling"]),
    )


def _encode_cursor(creation_time: str, job_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([creation_time, job_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, job_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        # ours are ASCII (ISO time, job id); anything else (a lone surrogate) would only fail later, in SQLite
        if isinstance(created, str) and isinstance(job_id, str) and created.isascii() and job_id.isascii():
            return created, job_id
    except (ValueError, TypeError):
        pass
    return None


def _one(rows: Iterable[aiosqlite.Row]) -> aiosqlite.Row:
    """The row of a query that always answers one (an aggregate)."""
    row = _first(rows)
    assert row is not None
    return row


def _first(rows: Iterable[aiosqlite.Row]) -> aiosqlite.Row | None:
    """The first row or None. Reads go through `execute_fetchall`: one hop to aiosqlite's thread per statement
    (execute + fetch + close would be three)."""
    for row in rows:
        return row
    return None


def _claimed(row: aiosqlite.Row) -> ClaimedJob:
    return ClaimedJob(details=_row_to_job(row), workspace=row["workspace"], attempts=int(row["attempts"]),
                      input_bytes=row["input_bytes"])


class InvalidCursor(ValueError):
    pass


def _log_transition(job_id: str, before: JobStatus | None, after: JobStatus, details: dict[str, Any]) -> None:
    """The one log line per status change (services/logs.py): job_id, from (None for a new job), to, and details."""
    extra = {k: v for k, v in details.items() if isinstance(v, (str, int, float, bool)) and k not in ("from", "to")}
    log.info("job %s: %s -> %s", job_id, before.value if before else "(new)", after.value,
             extra={**extra, "job_id": job_id, "from": before.value if before else None, "to": after.value})


SYNCHRONOUS_MODES = ("full", "normal")


def _no_room_on(directory: Path) -> bool:
    """Whether the disk holding `directory` has (next to) no room left for this user: why SQLite, which only says
    "disk I/O error", could not open a database there (it writes its -wal and -shm files on opening)."""
    try:
        return shutil.disk_usage(directory).free < 1 << 20
    except OSError:
        return False


class SqliteJobStore:
    def __init__(self, path: str | Path, synchronous: str = "full"):
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}; got {synchronous!r}")
        self.path = Path(path)
        self.synchronous = synchronous
        self._db: aiosqlite.Connection | None = None
        self._commits: GroupCommit | None = None
        self._waiting = WaitingJobs()

    async def open(self) -> None:
        """Open (creating or migrating) the database; JobStoreUnavailable, the store closed again, when it cannot be
        used: a damaged file, one this user cannot read and write, or one from a newer openqio."""
        try:
            await self._open()
        except sqlite3.Error as exc:
            await self.close()
            if "locked" in str(exc):
                hint = "another program holds a lock on it (an sqlite3 shell?): close it"
            elif isinstance(exc, sqlite3.OperationalError) and _no_room_on(self.path.parent):
                hint = "its disk is full: free space on it and start again"
            elif isinstance(exc, sqlite3.OperationalError):  # could not open it: the file's place, not its content
                hint = "it must be a file this user can read and write, in a directory it can write, on a local disk"
            else:  # "file is not a database", "database disk image is malformed"
                hint = ("the file is damaged: restore it from a backup, or move it away to start with no job records "
                        "(the jobs' blobs stay in storage)")
            raise JobStoreUnavailable(f"the job database {self.path} cannot be used: {exc} ({hint})") from None
        except JobStoreUnavailable:
            await self.close()
            raise

    async def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        self._db.row_factory = aiosqlite.Row
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute("PRAGMA busy_timeout=5000")
        await self._db.execute("PRAGMA foreign_keys=ON")
        await migrate(self._db)
        self._commits = GroupCommit(self._db, self.synchronous, name=f"the job database {self.path}")
        self._waiting = WaitingJobs()
        for row in await self._db.execute_fetchall("SELECT id, creation_time FROM jobs WHERE status = ?",
                                                   (JobStatus.WAITING.value,)):
            self._waiting.add(row["id"], row["creation_time"])

    async def close(self) -> None:
        if self._db is not None:
            if self._commits is not None and self._commits._task is not None:
                await self._commits._task  # what was submitted before close is committed
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("job store is not open")
        return self._db

    @property
    def commits(self) -> GroupCommit:
        if self._commits is None:
            raise RuntimeError("job store is not open")
        return self._commits

    @property
    def full_since(self) -> float | None:
        return self._commits.full_since if self._commits is not None else None

    def backlog(self, runners: int = 0) -> Backlog:
        """The Waiting jobs now (count, oldest) and the jobs started so far, from memory (no query)."""
        return self._waiting.snapshot(runners)

    # -- writes: each a unit of the group commit -----------------------------------------------------------------------

    async def insert(self, workspace: str, job: JobDetails, *, output_container: str | None = None,
                     input_bytes: int | None = None) -> JobDetails:
        now = format_time(utcnow())
        digest = body_hash(job)
        done: writes.Inserted = await self.commits.run(
            partial(writes.insert, workspace=workspace, job=job, digest=digest, now=now,
                    output_container=output_container, input_bytes=input_bytes),
            durable=True, after=self._after_insert)
        if done.existing is not None:
            if done.existing["workspace"] != workspace:
                raise JobExists(None)
            current = await self.get(workspace, job.id)
            raise JobExists(current if done.existing["body_hash"] == digest else None)
        if done.owner is not None:
            raise ContainerInUse(done.owner["id"] if done.owner["workspace"] == workspace else None)
        assert done.row is not None
        return _row_to_job(done.row)

    def _after_insert(self, done: writes.Inserted) -> writes.Inserted:
        if done.row is not None:
            row = done.row
            self._waiting.add(row["id"], row["creation_time"])
            _log_transition(row["id"], None, JobStatus.WAITING, {"target": row["target"], "workspace": row["workspace"]})
        return done

    def _after_move(self, moved: writes.Moved | None, to: JobStatus, details: dict[str, Any] | None = None
                    ) -> writes.Moved | None:
        """Once a status change committed: the backlog, and the one log line of the transition."""
        if moved is not None:
            row, previous = moved
            if to == JobStatus.EXECUTING:
                self._waiting.start(row["id"] if previous == JobStatus.WAITING else None)
            elif previous == JobStatus.EXECUTING:
                self._waiting.end(row["id"], ran=to != JobStatus.WAITING)
            elif previous == JobStatus.WAITING:
                self._waiting.discard(row["id"])
            if to == JobStatus.WAITING:
                self._waiting.add(row["id"], row["creation_time"])
            _log_transition(row["id"], previous, to, details or {})
        return moved

    async def transition(
        self,
        job_id: str,
        to: JobStatus,
        *,
        expected: Iterable[JobStatus] | None = None,
        error: ErrorData | None = None,
        output_data_uri: str | None = None,
        event_data: dict[str, Any] | None = None,
        output: StoredOutput | None = None,
        summary: dict[str, Any] | None = None,
    ) -> JobDetails | None:
        sources = lifecycle.allowed_sources(to, expected)
        if not sources:
            return None
        details = dict(event_data or {})
        if error is not None:
            details.update(error_code=error.code, error_message=error.message)
        moved = await self.commits.run(
            partial(writes.transition, job_id=job_id, to=to, sources=sources, now=format_time(utcnow()),
                    output=output, error=error, output_data_uri=output_data_uri, event_data=event_data,
                    summary=summary),
            durable=to in TERMINAL, after=lambda m: self._after_move(m, to, details))
        return _row_to_job(moved[0]) if moved is not None else None

    async def cancel(self, workspace: str, job_id: str) -> tuple[CancelOutcome, JobDetails | None]:
        """DELETE, as one transaction: a Waiting job becomes Cancelled; an Executing one gets is_cancelling (and one
        `cancel_requested` event, the first time); a finished job is left as it is. Returns what happened and the job
        (None: no such job in `workspace`)."""
        def after(done: writes.Cancelled) -> writes.Cancelled:
            self._after_move(done.moved, JobStatus.CANCELLED)
            return done

        done: writes.Cancelled = await self.commits.run(
            partial(writes.cancel, workspace=workspace, job_id=job_id, now=format_time(utcnow())), durable=True,
            after=after)
        if done.row is None:
            return CancelOutcome.NOT_FOUND, None
        if done.status == JobStatus.WAITING:
            outcome = CancelOutcome.CANCELLED
        elif done.status == JobStatus.EXECUTING:
            outcome = CancelOutcome.CANCEL_REQUESTED
        else:
            outcome = CancelOutcome.ALREADY_FINISHED
        return outcome, _row_to_job(done.row)

    async def claim_next(self) -> ClaimedJob | None:
        """The oldest Waiting job → Executing, through the same guarded write as every transition."""
        def after(moved: writes.Moved | None) -> writes.Moved | None:
            return self._after_move(moved, JobStatus.EXECUTING,
                                    {"attempt": int(moved[0]["attempts"])} if moved is not None else None)

        moved = await self.commits.run(partial(writes.claim_next, now=format_time(utcnow())), after=after)
        return _claimed(moved[0]) if moved is not None else None

    async def add_event(self, job_id: str, kind: EventKind, data: dict[str, Any] | None = None) -> int:
        return await self.commits.run(partial(writes.add_event, job_id=job_id, kind=kind, data=data,
                                              now=format_time(utcnow())))

    async def set_tags(self, workspace: str, job_id: str, tags: list[str]) -> JobDetails | None:
        row = await self.commits.run(partial(writes.set_tags, workspace=workspace, job_id=job_id, tags=tags),
                                     durable=True)
        return _row_to_job(row) if row is not None else None

    # -- reads --------------------------------------------------------------------------------------------------------

    async def get(self, workspace: str | None, job_id: str) -> JobDetails | None:
        sql = f"SELECT {_COLUMNS} FROM jobs WHERE id = ?"
        args: tuple[str, ...] = (job_id,)
        if workspace is not None:
            sql, args = sql + " AND workspace = ?", (job_id, workspace)
        row = _first(await self.db.execute_fetchall(sql, args))
        return _row_to_job(row) if row is not None else None

    async def list(self, workspace: str, *, limit: int, after: str | None = None) -> tuple[list[JobDetails], str | None]:
        if after:
            cursor = _decode_cursor(after)
            if cursor is None:
                raise InvalidCursor("the paging cursor is not valid")
            sql = (f"SELECT {_COLUMNS} FROM jobs WHERE workspace = ? AND (creation_time, id) > (?, ?) "
                   "ORDER BY creation_time, id LIMIT ?")
            args: tuple = (workspace, cursor[0], cursor[1], limit + 1)
        else:
            sql = f"SELECT {_COLUMNS} FROM jobs WHERE workspace = ? ORDER BY creation_time, id LIMIT ?"
            args = (workspace, limit + 1)
        rows = list(await self.db.execute_fetchall(sql, args))
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1]["creation_time"], rows[-1]["id"]) if more and rows else None
        return [_row_to_job(r) for r in rows], next_cursor

    async def executing(self) -> builtins.list[ClaimedJob]:
        rows = await self.db.execute_fetchall(
            f"SELECT {_COLUMNS}, input_bytes FROM jobs WHERE status = ? ORDER BY creation_time, id",
            (JobStatus.EXECUTING.value,)
        )
        return [_claimed(r) for r in rows]

    async def events(self, job_id: str, after: int = 0, limit: int = 1000) -> builtins.list[JobEvent]:
        rows = await self.db.execute_fetchall(
            "SELECT seq, job_id, kind, data, time FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id, after, limit),
        )
        return [JobEvent(seq=r["seq"], job_id=r["job_id"], kind=EventKind(r["kind"]), data=json.loads(r["data"]), time=r["time"])
                for r in rows]

    async def events_since(self, after: int, limit: int = 1000) -> builtins.list[tuple[int, str]]:
        """(seq, job_id) of every job's events after `after`, oldest first: lets streams learn which jobs moved
        with one indexed query per tick instead of one per stream."""
        rows = await self.db.execute_fetchall(
            "SELECT seq, job_id FROM job_events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        )
        return [(int(r["seq"]), r["job_id"]) for r in rows]

    async def last_event_seq(self) -> int:
        row = _one(await self.db.execute_fetchall("SELECT COALESCE(MAX(seq), 0) AS s FROM job_events"))
        return int(row["s"])

    async def count_by_status(self) -> dict[JobStatus, int]:
        rows = await self.db.execute_fetchall("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
        return {JobStatus(r["status"]): int(r["n"]) for r in rows}

    async def has_waiting(self) -> bool:
        return bool(await self.db.execute_fetchall("SELECT 1 FROM jobs WHERE status = ? LIMIT 1",
                                                   (JobStatus.WAITING.value,)))

    async def next_waiting(self, limit: int) -> builtins.list[tuple[str, JobDetails]]:
        """(workspace, job) of the Waiting jobs `claim_next` would take next, in that order (nothing is claimed)."""
        rows = await self.db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM jobs WHERE status = ? ORDER BY creation_time, id LIMIT ?",
            (JobStatus.WAITING.value, limit),
        )
        return [(r["workspace"], _row_to_job(r)) for r in rows]

    async def execution_hours(self, workspace: str) -> float:
        row = _one(await self.db.execute_fetchall(
            "SELECT COALESCE(SUM((julianday(end_execution_time) - julianday(begin_execution_time)) * 24.0), 0) AS h "
            "FROM jobs WHERE workspace = ? AND begin_execution_time IS NOT NULL AND end_execution_time IS NOT NULL",
            (workspace,),
        ))
        return float(row["h"] or 0.0)

    # -- results kept by the service (job_outputs) and input summaries ----------------------------------------------

    async def output(self, workspace: str | None, job_id: str) -> StoredOutput | None:
        """A Succeeded job's result as written to `rawOutputData`; None for other jobs (and jobs from before v2)."""
        scope, args = ("AND j.workspace = ?", (job_id, workspace)) if workspace is not None else ("", (job_id,))
        row = _first(await self.db.execute_fetchall(
            "SELECT o.data, o.content_type, o.written_at, o.checked FROM job_outputs o JOIN jobs j ON j.id = o.job_id "
            f"WHERE o.job_id = ? {scope}", args))
        if row is None:
            return None
        return StoredOutput(bytes(row["data"]), row["content_type"], float(row["written_at"]), bool(row["checked"]))

    async def outputs_to_check(self, *, written_before: float | None = None, written_since: float | None = None,
                               limit: int = 500) -> builtins.list[OutputRef]:
        """Outputs to compare with blob storage, oldest first: the unchecked ones written before `written_before`,
        or every one written since `written_since` (after storage may have lost recent writes)."""
        if written_since is not None:
            where, args = "o.written_at >= ?", (written_since,)
        else:
            where, args = "o.checked = 0 AND o.written_at < ?", (written_before if written_before is not None
                                                                  else float("inf"),)
        rows = await self.db.execute_fetchall(
            "SELECT o.job_id, j.workspace, j.container_uri, j.output_data_uri, o.written_at, length(o.data) AS size "
            f"FROM job_outputs o JOIN jobs j ON j.id = o.job_id WHERE {where} ORDER BY o.written_at LIMIT ?",
            (*args, limit))
        return [OutputRef(r["job_id"], r["workspace"], r["container_uri"], r["output_data_uri"],
                          float(r["written_at"]), int(r["size"])) for r in rows]

    async def latest_output_time(self) -> float | None:
        row = _first(await self.db.execute_fetchall("SELECT MAX(written_at) AS t FROM job_outputs"))
        return float(row["t"]) if row is not None and row["t"] is not None else None

    async def outputs_checked(self, job_ids: builtins.list[str]) -> None:
        if job_ids:
            await self.commits.run(partial(writes.execute_many, sql="UPDATE job_outputs SET checked = 1 WHERE job_id = ?",
                                           rows=[(j,) for j in job_ids]))

    async def output_rewritten(self, job_id: str, written_at: float) -> None:
        await self.commits.run(partial(writes.execute, sql="UPDATE job_outputs SET written_at = ?, checked = 0 "
                                                          "WHERE job_id = ?", args=(written_at, job_id)))

    async def set_summary(self, job_id: str, summary: dict[str, Any]) -> None:
        await self.commits.run(partial(writes.execute, sql="UPDATE jobs SET input_summary = ? WHERE id = ?",
                                       args=(json.dumps(summary), job_id)))

    async def write(self, sql: str, rows: builtins.list[tuple]) -> None:
        """One statement for many rows, in one transaction (bulk loads: benchmarks, tests)."""
        await self.commits.run(partial(writes.execute_many, sql=sql, rows=rows))

    async def summary(self, workspace: str, job_id: str) -> dict[str, Any] | None:
        """The input summary the runner recorded for the job, or None (not run yet, or from before v2)."""
        row = _first(await self.db.execute_fetchall(
            "SELECT input_summary FROM jobs WHERE id = ? AND workspace = ?", (job_id, workspace)))
        return json.loads(row["input_summary"]) if row is not None and row["input_summary"] else None
