"""Group commit for the SQLite job store: every write is a *unit* (a synchronous function of the sqlite3 connection);
units that arrive while a commit is under way are committed together, in one transaction and one hop to
aiosqlite's thread.

Why: a durable commit waits for an fsync (~3 ms on the development VM) and each statement sent through aiosqlite is a
hop between threads. One transaction per write (BEGIN, the statements, COMMIT, each a hop, and an fsync per new job
and per finished job) made the store's thread the service's busiest under load. Now a batch costs one hop and, when
any unit in it is durable, one fsync, however many units it holds; a lone write waits for nothing more than before.

Guarantees (the same as one transaction per write):
- `run()` returns only after the unit's transaction committed; with `durable` (and synchronous="full") the commit was
  fsynced (PRAGMA synchronous=FULL) before it returns. Units that are not durable commit with NORMAL when alone.
- Each unit runs inside its own SAVEPOINT: a unit that raises is rolled back alone and `run()` raises its exception;
  the other units of the batch commit. If the COMMIT itself fails, or SQLite rolled the whole transaction back
  after a unit's error (as it may when the disk is full), every unit of the batch raises that error.
- Units run, and commit, in the order `run()` was called. `after(result)` runs on the event loop once the batch
  committed, before `run()` returns, even if the caller was cancelled meanwhile (log lines, in-memory bookkeeping).
- A unit or commit that fails because the database's disk is full raises StoreFull. The first such failure is logged
  once (as an error naming the file), and the first batch that stores something afterwards logs that writes go on.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from .store import StoreFull

log = logging.getLogger(__name__)

Unit = Callable[[sqlite3.Connection], Any]


@dataclass
class _Pending:
    unit: Unit
    durable: bool
    after: Callable[[Any], Any] | None
    future: asyncio.Future = field(repr=False)


class GroupCommit:
    def __init__(self, db: aiosqlite.Connection, synchronous: str = "full", name: str = "the job database"):
        self.db = db
        self.synchronous = synchronous
        self.name = name  # for the log lines (the file's path)
        self.full_since: float | None = None  # when a write last failed on a full disk; None once one stored again
        self.level: str | None = "NORMAL"  # the connection's PRAGMA synchronous (open() sets NORMAL); None: unknown
        self.batches = 0  # transactions committed (tests, benchmarks)
        self._queue: list[_Pending] = []
        self._task: asyncio.Task | None = None

    async def run(self, unit: Unit, *, durable: bool = False, after: Callable[[Any], Any] | None = None) -> Any:
        """Run `unit(conn)` in the next batch's transaction and return its result (or `after(result)`)."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(unit, durable, after, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="job-store-commits")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            level = "FULL" if self.synchronous == "full" and any(p.durable for p in batch) else "NORMAL"
            try:
                # aiosqlite runs a callable on its connection's thread only through this (private) method; the
                # connection is bound to that thread. tests/unit/services/test_group_commit.py pins the behaviour.
                outcomes, changed = await self.db._execute(_commit, self.db._conn, [p.unit for p in batch],
                                                           self.level, level)
                self.level = level
                self.batches += 1
                if changed and self.full_since is not None:  # (a batch that wrote nothing commits on a full disk too)
                    log.warning("%s stores again (its disk was full for %.0f s)", self.name,
                                time.time() - self.full_since)
                    self.full_since = None
            except BaseException as exc:  # noqa: BLE001 - COMMIT failed (or we were cancelled): every unit fails
                self.level = None  # the PRAGMA may or may not have run: set it again next time
                outcomes = [(False, exc)] * len(batch)
                if isinstance(exc, asyncio.CancelledError):
                    for pending in batch + self._queue:
                        _resolve(pending, False, exc)
                    self._queue = []
                    raise
            for pending, (ok, value) in zip(batch, outcomes):
                if not ok and _disk_full(value):
                    value = self._full(value)
                elif ok and pending.after is not None:
                    try:
                        value = pending.after(value)
                    except Exception as exc:  # noqa: BLE001 - the caller gets it
                        ok, value = False, exc
                _resolve(pending, ok, value)

    def _full(self, exc: BaseException) -> StoreFull:
        if self.full_since is None:
            self.full_since = time.time()
            log.error("%s cannot store anything: its disk is full (%s). New jobs are refused (507) and finished jobs "
                      "wait to be recorded until space is freed on that disk; nothing needs restarting", self.name, exc)
        return StoreFull(f"{self.name}'s disk is full")


def _disk_full(exc: BaseException) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL  # (one raised by Python code has none)


def _resolve(pending: _Pending, ok: bool, value: Any) -> None:
    if pending.future.done():  # the caller was cancelled; the unit committed all the same
        return
    if ok:
        pending.future.set_result(value)
    else:
        pending.future.set_exception(value)


def _commit(conn: sqlite3.Connection, units: list[Unit], level_now: str | None, level: str
            ) -> tuple[list[tuple[bool, Any]], bool]:
    """On the connection's thread: one transaction, one savepoint per unit. ([(ok, result or exception)], whether
    anything was written)."""
    before = conn.total_changes
    if level != level_now:
        conn.execute(f"PRAGMA synchronous={level}")
    conn.execute("BEGIN IMMEDIATE")
    outcomes: list[tuple[bool, Any]] = []
    try:
        for unit in units:
            conn.execute("SAVEPOINT unit")
            try:
                outcomes.append((True, unit(conn)))
            except Exception as exc:  # noqa: BLE001 - this unit alone is rolled back; the caller gets it
                if not conn.in_transaction:  # SQLite rolled the whole transaction back (it may, on a full disk)
                    raise
                conn.execute("ROLLBACK TO unit")
                outcomes.append((False, exc))
            conn.execute("RELEASE unit")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes, conn.total_changes != before
