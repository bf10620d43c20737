"""The job store's writes as synchronous functions of the sqlite3 connection: each is one unit of a group commit
(services/jobs/group_commit.py), run on aiosqlite's thread inside its own savepoint, so a whole write costs one hop
to that thread instead of one per statement.

Every status change goes through `set_status`, the one guarded write: `UPDATE ... WHERE <which> AND status IN
(sources) RETURNING`, with the SET clause of lifecycle.update_clause and the transition's event in the same
transaction. Functions return rows (sqlite3.Row) or plain values; turning them into JobDetails, logging and the
in-memory backlog happen on the event loop once the batch committed (services/jobs/sqlite_store.py).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from contracts.events import EventKind
from contracts.jobs import ErrorData, JobDetails
from contracts.status import JobStatus

from . import lifecycle
from .store import StoredOutput

COLUMNS = (
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


def _one(conn: sqlite3.Connection, sql: str, args: tuple | list = ()) -> sqlite3.Row | None:
    rows = conn.execute(sql, args).fetchall()  # fetch all: a RETURNING statement must run to its end
    return rows[0] if rows else None


def add_event(conn: sqlite3.Connection, job_id: str, kind: EventKind, data: dict[str, Any] | None, now: str) -> int:
    cur = conn.execute("INSERT INTO job_events (job_id, kind, data, time) VALUES (?, ?, ?, ?)",
                       (job_id, EventKind(kind).value, json.dumps(data or {}), now))
    return int(cur.lastrowid or 0)


@dataclass
class Inserted:
    """What `insert` did: `row` (the new job), else `existing` (a job with this id: workspace, body_hash) or
    `owner` (another job bound to the output container: id, workspace)."""

    row: sqlite3.Row | None = None
    existing: sqlite3.Row | None = None
    owner: sqlite3.Row | None = None


def insert(conn: sqlite3.Connection, workspace: str, job: JobDetails, digest: str, now: str,
           output_container: str | None, input_bytes: int | None) -> Inserted:
    existing = _one(conn, "SELECT workspace, body_hash FROM jobs WHERE id = ?", (job.id,))
    if existing is not None:
        return Inserted(existing=existing)
    if output_container is not None:
        owner = _one(conn, "SELECT id, workspace FROM jobs WHERE output_container = ? AND id != ? LIMIT 1",
                     (output_container, job.id))
        if owner is not None:
            return Inserted(owner=owner)
    row = _one(conn, f"INSERT INTO jobs ({COLUMNS}, body_hash, output_container, input_bytes) "
                     f"VALUES ({', '.join('?' * 25)}) RETURNING {COLUMNS}", (
        job.id, workspace, job.name, job.container_uri, job.input_data_uri, job.input_data_format,
        json.dumps(job.input_params) if job.input_params is not None else None, job.provider_id, job.target,
        json.dumps(job.metadata) if job.metadata is not None else None, None, job.output_data_format,
        JobStatus.WAITING.value, now, None, None, None, None, None, json.dumps(job.tags or []), 0, 0, digest,
        output_container, input_bytes,
    ))
    add_event(conn, job.id, EventKind.SUBMITTED, {"target": job.target}, now)
    return Inserted(row=row)


Moved = tuple[sqlite3.Row, JobStatus | None]  # the updated row (COLUMNS + input_bytes), the status it left


def set_status(conn: sqlite3.Connection, which: str, args: tuple, to: JobStatus, sources: list[JobStatus], now: str,
               *, error: ErrorData | None = None, output_data_uri: str | None = None,
               event_data: dict[str, Any] | None = None, summary: dict[str, Any] | None = None) -> Moved | None:
    """The one guarded status write; None when no job in `sources` matched `which`."""
    sets, params = lifecycle.update_clause(to, now, error=error, output_data_uri=output_data_uri)
    if summary is not None:
        sets += ", input_summary = ?"
        params = [*params, json.dumps(summary)]
    previous = sources[0] if len(sources) == 1 else None
    if previous is None:  # which one it leaves: for the log line and the backlog
        found = _one(conn, f"SELECT status FROM jobs WHERE {which}", args)
        previous = JobStatus(found["status"]) if found is not None else None
    placeholders = ", ".join("?" * len(sources))
    row = _one(conn, f"UPDATE jobs SET {sets} WHERE {which} AND status IN ({placeholders}) "
                     f"RETURNING {COLUMNS}, input_bytes", (*params, *args, *[s.value for s in sources]))
    if row is None:
        return None
    data = dict(event_data or {})
    if error is not None:
        data.setdefault("error", error.to_wire())
    if to == JobStatus.EXECUTING:  # a claim: which run of the job this is
        data.setdefault("attempt", int(row["attempts"]))
    add_event(conn, row["id"], lifecycle.event_kind(to), data, now)
    return row, previous


def transition(conn: sqlite3.Connection, job_id: str, to: JobStatus, sources: list[JobStatus], now: str,
               output: StoredOutput | None, **changes: Any) -> Moved | None:
    """`set_status` of one job, and (→ Succeeded) its result kept in the same transaction."""
    moved = set_status(conn, "id = ?", (job_id,), to, sources, now, **changes)
    if moved is not None and output is not None:
        conn.execute("INSERT OR REPLACE INTO job_outputs (job_id, data, content_type, written_at, checked) "
                     "VALUES (?, ?, ?, ?, ?)",
                     (job_id, output.data, output.content_type, output.written_at, int(output.checked)))
    return moved


def claim_next(conn: sqlite3.Connection, now: str) -> Moved | None:
    """The oldest Waiting job → Executing (an index seek on jobs_by_status, however many jobs wait)."""
    return set_status(conn, "id = (SELECT id FROM jobs WHERE status = ? ORDER BY creation_time, id LIMIT 1)",
                      (JobStatus.WAITING.value,), JobStatus.EXECUTING, [JobStatus.WAITING], now)


@dataclass
class Cancelled:
    """What `cancel` found and did: the job's row as it is now (None: not found), its status before, and the
    transition when a Waiting job became Cancelled."""

    row: sqlite3.Row | None
    status: JobStatus | None = None
    moved: Moved | None = None


def cancel(conn: sqlite3.Connection, workspace: str, job_id: str, now: str) -> Cancelled:
    row = _one(conn, f"SELECT {COLUMNS} FROM jobs WHERE id = ? AND workspace = ?", (job_id, workspace))
    if row is None:
        return Cancelled(None)
    status = JobStatus(row["status"])
    if status == JobStatus.WAITING:
        moved = set_status(conn, "id = ?", (job_id,), JobStatus.CANCELLED, [JobStatus.WAITING], now)
        return Cancelled(moved[0] if moved else row, status, moved)
    if status == JobStatus.EXECUTING and not row["is_cancelling"]:
        row = _one(conn, f"UPDATE jobs SET is_cancelling = 1 WHERE id = ? RETURNING {COLUMNS}", (job_id,))
        add_event(conn, job_id, EventKind.CANCEL_REQUESTED, {}, now)
    return Cancelled(row, status)


def set_tags(conn: sqlite3.Connection, workspace: str, job_id: str, tags: list[str]) -> sqlite3.Row | None:
    return _one(conn, f"UPDATE jobs SET tags = ? WHERE id = ? AND workspace = ? RETURNING {COLUMNS}",
                (json.dumps(tags), job_id, workspace))


def execute(conn: sqlite3.Connection, sql: str, args: tuple | list = ()) -> None:
    conn.execute(sql, args)


def execute_many(conn: sqlite3.Connection, sql: str, rows: list[tuple]) -> None:
    conn.executemany(sql, rows)
