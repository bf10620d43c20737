"""The job store's SQLite schema and its migrations (`PRAGMA user_version` counts the migrations applied).

Version 0 is the schema every database has (`BASE`, created if missing). Each later step in MIGRATIONS runs once, in
order, in one transaction with the version bump, so a database written by any earlier openqio opens with every
column the code reads. Add a step; never edit one that has shipped.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import unquote, urlsplit

import aiosqlite

from contracts.status import JobStatus

_STATUSES = ", ".join(f"'{s.value}'" for s in JobStatus)

BASE = f"""
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    name TEXT,
    container_uri TEXT NOT NULL,
    input_data_uri TEXT,
    input_data_format TEXT NOT NULL,
    input_params TEXT,
    provider_id TEXT NOT NULL,
    target TEXT NOT NULL,
    metadata TEXT,
    output_data_uri TEXT,
    output_data_format TEXT,
    status TEXT NOT NULL CHECK (status IN ({_STATUSES})),
    creation_time TEXT NOT NULL,
    begin_execution_time TEXT,
    end_execution_time TEXT,
    cancellation_time TEXT,
    error_code TEXT,
    error_message TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    is_cancelling INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    body_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_workspace ON jobs (workspace, creation_time, id);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, creation_time, id);
CREATE TABLE IF NOT EXISTS job_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{{}}',
    time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_events_by_job ON job_events (job_id, seq);
"""


def container_key_of(container_uri: str) -> str | None:
    """`account/container` out of a stored container URL, path-style (`http://host:port/account/container`) or
    host-style (`https://account.blob.../container`); None when it names no container. The gateway computes the
    same key for new jobs from the workspace's storage account (services.blobs)."""
    parts = urlsplit(container_uri)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if len(segments) >= 2:
        return f"{segments[-2]}/{segments[-1]}"
    if len(segments) == 1 and parts.hostname:
        return f"{parts.hostname.split('.')[0]}/{segments[0]}"
    return None


async def _bind_containers(db: aiosqlite.Connection) -> None:
    """v1: each job owns the container its output is written to (`output_container`, `account/container`). Existing
    jobs are bound oldest first; a later job that shared an earlier one's container (possible before this version)
    stays unbound rather than failing the migration."""
    await db.execute("ALTER TABLE jobs ADD COLUMN output_container TEXT")
    await db.execute("CREATE INDEX IF NOT EXISTS jobs_by_output_container ON jobs (output_container)")
    rows = await db.execute_fetchall("SELECT id, container_uri FROM jobs ORDER BY creation_time, id")
    taken: set[str] = set()
    for job_id, container_uri in rows:
        key = container_key_of(container_uri)
        if key is not None and key not in taken:
            taken.add(key)
            await db.execute("UPDATE jobs SET output_container = ? WHERE id = ?", (key, job_id))


async def _outputs(db: aiosqlite.Connection) -> None:
    """v2: results kept by the service (`job_outputs`), the input's size as checked at submission, and the input
    summary the runner computed (see services/jobs/sqlite_store.py)."""
    for statement in (
        "ALTER TABLE jobs ADD COLUMN input_bytes INTEGER",
        "ALTER TABLE jobs ADD COLUMN input_summary TEXT",
        "CREATE TABLE IF NOT EXISTS job_outputs (job_id TEXT PRIMARY KEY, data BLOB NOT NULL, "
        "content_type TEXT NOT NULL, written_at REAL NOT NULL, checked INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX IF NOT EXISTS job_outputs_by_time ON job_outputs (written_at)",
        "CREATE INDEX IF NOT EXISTS job_outputs_unchecked ON job_outputs (written_at) WHERE checked = 0",
    ):  # one statement at a time: executescript would commit the migration's transaction half-way
        await db.execute(statement)


MIGRATIONS: list[Callable[[aiosqlite.Connection], Awaitable[None]]] = [_bind_containers, _outputs]
LATEST = len(MIGRATIONS)


class JobStoreUnavailable(RuntimeError):
    """The job database cannot be used as it is (damaged, unreadable, or from a newer openqio): the service does not
    start, and says why and what to do in one line, never by changing the file."""


async def migrate(db: aiosqlite.Connection) -> int:
    """Create the base schema if missing, then apply every migration this database lacks. Returns the version."""
    await db.executescript(BASE)
    (version,), = await db.execute_fetchall("PRAGMA user_version")
    if version > LATEST:
        raise JobStoreUnavailable(f"the job database has schema version {version}, newer than this openqio knows "
                                  f"({LATEST}): run a newer openqio, or move the data directory away")
    for number in range(version, LATEST):
        await db.execute("BEGIN IMMEDIATE")
        try:
            await MIGRATIONS[number](db)
            await db.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
    return LATEST
