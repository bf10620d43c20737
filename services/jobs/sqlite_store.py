"""JobStore on SQLite through aiosqlite (WAL mode): jobs plus a job_events outbox written in the same transactions.

One connection, writes serialised by a lock; every status change is one guarded UPDATE ... RETURNING (see
`transition`). The schema and its migrations are in schema.py; the status CHECK constraint is generated from
`contracts.status.JobStatus`.

Durability: what the service acknowledges to a client (a new job, a cancel, a tag change) and how a job ended (with
its result, `job_outputs`) are committed with `PRAGMA synchronous=FULL` (`synchronous="full"`, the default): the WAL
is fsynced before the commit returns, so they survive a power loss. Bookkeeping that a restart re-derives (claims,
requeues, progress events) commits with NORMAL: it survives any process crash, and a power loss can only roll a
job back to Waiting. `synchronous="normal"` makes every commit NORMAL (no fsync; process crashes still lose nothing).
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from contracts.jobs import ErrorData, JobDetails, format_time, parse_time, utcnow
from contracts.status import TERMINAL, JobStatus

from . import lifecycle
from .schema import migrate
from .store import ClaimedJob, ContainerInUse, JobEvent, JobExists, OutputRef, StoredOutput

log = logging.getLogger(__name__)

_COLUMNS = (
    "id, workspace, name, container_uri, input_data_uri, input_data_format, input_params, provider_id, target, "
    "metadata, output_data_uri, output_data_format, status, creation_time, begin_execution_time, end_execution_time, "
    "cancellation_time, error_code, error_message, tags, is_cancelling, attempts"
)


def body_hash(job: JobDetails) -> str:
    """What identifies a submission: the client-set fields (re-PUT of the same body is idempotent)."""
    doc = {
        k: v
        for k, v in job.to_wire().items()
        if k in ("name", "containerUri", "inputDataUri", "inputDataFormat", "inputParams", "providerId", "target",
                 "metadata", "outputDataFormat")
    }
    doc["containerUri"] = (doc.get("containerUri") or "").split("?")[0]  # SAS tokens differ between retries
    doc["providerId"] = (doc.get("providerId") or "").lower()
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


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


def _first(rows: Iterable[aiosqlite.Row]) -> aiosqlite.Row | None:
    """The first row or None. Queries go through `execute_fetchall`: one hop to aiosqlite's thread per statement
    (execute + fetch + close would be three); those hops were the biggest share of the store's CPU under load."""
    for row in rows:
        return row
    return None


def _claimed(row: aiosqlite.Row) -> ClaimedJob:
    return ClaimedJob(details=_row_to_job(row), workspace=row["workspace"], attempts=int(row["attempts"]),
                      input_bytes=row["input_bytes"])


class InvalidCursor(ValueError):
    pass


class _Rollback(Exception):
    """Raised inside `_tx` to end the transaction without changes (a guarded update matched nothing)."""


def _log_transition(job_id: str, before: JobStatus | None, after: JobStatus, details: dict[str, Any]) -> None:
    """The one log line per status change (services/logs.py): job_id, from (None for a new job), to, and details."""
    extra = {k: v for k, v in details.items() if isinstance(v, (str, int, float, bool)) and k not in ("from", "to")}
    log.info("job %s: %s -> %s", job_id, before.value if before else "(new)", after.value,
             extra={**extra, "job_id": job_id, "from": before.value if before else None, "to": after.value})


SYNCHRONOUS_MODES = ("full", "normal")


class SqliteJobStore:
    def __init__(self, path: str | Path, synchronous: str = "full"):
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}; got {synchronous!r}")
        self.path = Path(path)
        self.synchronous = synchronous
        self._db: aiosqlite.Connection | None = None
        self._write = asyncio.Lock()  # one writer transaction at a time on the shared connection
        self._sync_now = "NORMAL"  # the connection's current PRAGMA synchronous

    async def _sync_level(self, level: str) -> None:
        if self._sync_now != level:
            await self.db.execute(f"PRAGMA synchronous={level}")
            self._sync_now = level

    @contextlib.asynccontextmanager
    async def _tx(self, durable: bool = False):
        """BEGIN IMMEDIATE … COMMIT under the write lock; ROLLBACK on any error (or via `Rollback`). `durable`: the
        commit is fsynced before it returns (see the module docstring)."""
        async with self._write:
            await self._sync_level("FULL" if durable and self.synchronous == "full" else "NORMAL")
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except _Rollback:
                await self.db.execute("ROLLBACK")
                return
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        self._db.row_factory = aiosqlite.Row
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        self._sync_now = "NORMAL"
        await self._db.execute("PRAGMA busy_timeout=5000")
        await self._db.execute("PRAGMA foreign_keys=ON")
        await migrate(self._db)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("job store is not open")
        return self._db

    async def _event(self, job_id: str, kind: str, data: dict[str, Any] | None, now: str) -> int:
        cur = await self.db.execute(
            "INSERT INTO job_events (job_id, kind, data, time) VALUES (?, ?, ?, ?)",
            (job_id, kind, json.dumps(data or {}), now),
        )
        return int(cur.lastrowid or 0)

    # -- writes: each one transaction (aiosqlite runs them on its one thread, in order) -------------------------------

    async def insert(self, workspace: str, job: JobDetails, *, output_container: str | None = None,
                     input_bytes: int | None = None) -> JobDetails:
        now = format_time(utcnow())
        digest = body_hash(job)
        existing = inserted = owner = None
        async with self._tx(durable=True) as db:
            existing = _first(await db.execute_fetchall("SELECT workspace, body_hash FROM jobs WHERE id = ?",
                                                        (job.id,)))
            if existing is not None:
                raise _Rollback
            if output_container is not None:
                owner = _first(await db.execute_fetchall(
                    "SELECT id, workspace FROM jobs WHERE output_container = ? AND id != ? LIMIT 1",
                    (output_container, job.id)))
                if owner is not None:
                    raise _Rollback
            inserted = _first(await db.execute_fetchall(
                f"INSERT INTO jobs ({_COLUMNS}, body_hash, output_container, input_bytes) "
                f"VALUES ({', '.join('?' * 25)}) RETURNING {_COLUMNS}",
                (
                    job.id, workspace, job.name, job.container_uri, job.input_data_uri, job.input_data_format,
                    json.dumps(job.input_params) if job.input_params is not None else None, job.provider_id, job.target,
                    json.dumps(job.metadata) if job.metadata is not None else None, None, job.output_data_format,
                    JobStatus.WAITING.value, now, None, None, None, None, None, json.dumps(job.tags or []), 0, 0, digest,
                    output_container, input_bytes,
                ),
            ))
            await self._event(job.id, "submitted", {"target": job.target}, now)
        if existing is not None:
            if existing["workspace"] != workspace:
                raise JobExists(None)
            current = await self.get(workspace, job.id)
            raise JobExists(current if existing["body_hash"] == digest else None)
        if owner is not None:
            raise ContainerInUse(owner["id"] if owner["workspace"] == workspace else None)
        assert inserted is not None
        stored = _row_to_job(inserted)
        _log_transition(job.id, None, JobStatus.WAITING, {"target": job.target, "workspace": workspace})
        return stored

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
        now = format_time(utcnow())
        sets, params = lifecycle.update_clause(to, now, error=error, output_data_uri=output_data_uri)
        if summary is not None:
            sets += ", input_summary = ?"
            params = [*params, json.dumps(summary)]
        placeholders = ", ".join("?" * len(sources))
        row = None
        previous = sources[0] if len(sources) == 1 else None  # for the log line; read below when ambiguous
        async with self._tx(durable=to in TERMINAL) as db:
            if previous is None:
                found = _first(await db.execute_fetchall("SELECT status FROM jobs WHERE id = ?", (job_id,)))
                previous = JobStatus(found["status"]) if found is not None else None
            row = _first(await db.execute_fetchall(
                f"UPDATE jobs SET {sets} WHERE id = ? AND status IN ({placeholders}) RETURNING {_COLUMNS}",
                (*params, job_id, *[s.value for s in sources]),
            ))
            if row is None:
                raise _Rollback
            if output is not None:
                await db.execute(
                    "INSERT OR REPLACE INTO job_outputs (job_id, data, content_type, written_at, checked) "
                    "VALUES (?, ?, ?, ?, ?)", (job_id, output.data, output.content_type, output.written_at,
                                               int(output.checked)))
            data = dict(event_data or {})
            if error is not None:
                data.setdefault("error", error.to_wire())
            await self._event(job_id, lifecycle.event_kind(to), data, now)
        if row is None:
            return None
        job = _row_to_job(row)
        details = dict(event_data or {})
        if error is not None:
            details.update(error_code=error.code, error_message=error.message)
        _log_transition(job_id, previous, to, details)
        return job

    async def request_cancel(self, workspace: str, job_id: str) -> JobDetails | None:
        now = format_time(utcnow())
        row = None
        async with self._tx(durable=True) as db:
            row = _first(await db.execute_fetchall(
                f"UPDATE jobs SET is_cancelling = 1 WHERE id = ? AND workspace = ? AND status = ? RETURNING {_COLUMNS}",
                (job_id, workspace, JobStatus.EXECUTING.value),
            ))
            if row is None:
                raise _Rollback
            await self._event(job_id, "cancel_requested", {}, now)
        return _row_to_job(row) if row is not None else None

    async def claim_next(self) -> ClaimedJob | None:
        now = format_time(utcnow())
        row = None
        async with self._tx() as db:
            row = _first(await db.execute_fetchall(
                f"UPDATE jobs SET status = ?, begin_execution_time = ?, attempts = attempts + 1 "
                f"WHERE id = (SELECT id FROM jobs WHERE status = ? ORDER BY creation_time, id LIMIT 1) "
                f"AND status = ? RETURNING {_COLUMNS}, input_bytes",
                (JobStatus.EXECUTING.value, now, JobStatus.WAITING.value, JobStatus.WAITING.value),
            ))
            if row is None:
                raise _Rollback
            await self._event(row["id"], "started", {"attempt": row["attempts"]}, now)
        if row is None:
            return None
        _log_transition(row["id"], JobStatus.WAITING, JobStatus.EXECUTING, {"attempt": int(row["attempts"])})
        return _claimed(row)

    async def add_event(self, job_id: str, kind: str, data: dict[str, Any] | None = None) -> int:
        async with self._write:
            return await self._event(job_id, kind, data, format_time(utcnow()))

    async def set_tags(self, workspace: str, job_id: str, tags: list[str]) -> JobDetails | None:
        async with self._tx(durable=True) as db:
            row = _first(await db.execute_fetchall(
                f"UPDATE jobs SET tags = ? WHERE id = ? AND workspace = ? RETURNING {_COLUMNS}",
                (json.dumps(tags), job_id, workspace),
            ))
        return _row_to_job(row) if row is not None else None

    # -- reads --------------------------------------------------------------------------------------------------------

    async def get(self, workspace: str | None, job_id: str) -> JobDetails | None:
        if workspace is None:
            sql, args = f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)
        else:
            sql, args = f"SELECT {_COLUMNS} FROM jobs WHERE id = ? AND workspace = ?", (job_id, workspace)
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

    async def executing(self) -> list[ClaimedJob]:
        rows = await self.db.execute_fetchall(
            f"SELECT {_COLUMNS}, input_bytes FROM jobs WHERE status = ? ORDER BY creation_time, id",
            (JobStatus.EXECUTING.value,)
        )
        return [_claimed(r) for r in rows]

    async def events(self, job_id: str, after: int = 0, limit: int = 1000) -> list[JobEvent]:
        rows = await self.db.execute_fetchall(
            "SELECT seq, job_id, kind, data, time FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id, after, limit),
        )
        return [JobEvent(seq=r["seq"], job_id=r["job_id"], kind=r["kind"], data=json.loads(r["data"]), time=r["time"])
                for r in rows]

    async def events_since(self, after: int, limit: int = 1000) -> list[tuple[int, str]]:
        """(seq, job_id) of every job's events after `after`, oldest first: lets streams learn which jobs moved
        with one indexed query per tick instead of one per stream."""
        rows = await self.db.execute_fetchall(
            "SELECT seq, job_id FROM job_events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        )
        return [(int(r["seq"]), r["job_id"]) for r in rows]

    async def last_event_seq(self) -> int:
        row = _first(await self.db.execute_fetchall("SELECT COALESCE(MAX(seq), 0) AS s FROM job_events"))
        return int(row["s"])

    async def count_by_status(self) -> dict[JobStatus, int]:
        rows = await self.db.execute_fetchall("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
        return {JobStatus(r["status"]): int(r["n"]) for r in rows}

    async def has_waiting(self) -> bool:
        return bool(await self.db.execute_fetchall("SELECT 1 FROM jobs WHERE status = ? LIMIT 1",
                                                   (JobStatus.WAITING.value,)))

    async def next_waiting(self, limit: int) -> list[tuple[str, JobDetails]]:
        """(workspace, job) of the Waiting jobs `claim_next` would take next, in that order (nothing is claimed)."""
        rows = await self.db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM jobs WHERE status = ? ORDER BY creation_time, id LIMIT ?",
            (JobStatus.WAITING.value, limit),
        )
        return [(r["workspace"], _row_to_job(r)) for r in rows]

    async def execution_hours(self, workspace: str) -> float:
        row = _first(await self.db.execute_fetchall(
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
                               limit: int = 500) -> list[OutputRef]:
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

    async def outputs_checked(self, job_ids: list[str]) -> None:
        if job_ids:
            async with self._tx() as db:
                await db.executemany("UPDATE job_outputs SET checked = 1 WHERE job_id = ?", [(j,) for j in job_ids])

    async def output_rewritten(self, job_id: str, written_at: float) -> None:
        async with self._tx() as db:
            await db.execute("UPDATE job_outputs SET written_at = ?, checked = 0 WHERE job_id = ?", (written_at, job_id))

    async def set_summary(self, job_id: str, summary: dict[str, Any]) -> None:
        async with self._tx() as db:
            await db.execute("UPDATE jobs SET input_summary = ? WHERE id = ?", (json.dumps(summary), job_id))

    async def summary(self, workspace: str, job_id: str) -> dict[str, Any] | None:
        """The input summary the runner recorded for the job, or None (not run yet, or from before v2)."""
        row = _first(await self.db.execute_fetchall(
            "SELECT input_summary FROM jobs WHERE id = ? AND workspace = ?", (job_id, workspace)))
        return json.loads(row["input_summary"]) if row is not None and row["input_summary"] else None
