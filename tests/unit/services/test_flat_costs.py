"""What a poll (`GET jobs/{id}`) and a claim cost does not grow with the backlog: counted in SQL statements, SQLite
virtual-machine steps (every instruction SQLite runs, through its progress handler), blob storage calls and SAS
signatures, with 10 and with 10 000 jobs Waiting. Never timed."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from contracts.jobs import format_time
from contracts.status import JobStatus
from contracts.targets import SA
from services.blobs.azure_store import BlobStore
from services.config import Settings
from services.gateway.app import create_app
from services.gateway.job_urls import SAS_CACHE
from services.jobs.sqlite_store import _COLUMNS, SqliteJobStore

TOKEN = "unit-test-token-0123456789"
PREFIX = ("/v1.0/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/openqio/providers/"
          "Microsoft.Quantum/workspaces/openqio")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BLOB = "http://127.0.0.1:10000/devstoreaccount1"


class CountingBlobs(BlobStore):
    """The real blob store (SAS signing is local); every call that would reach storage is counted, and refused."""

    storage_calls = 0

    async def _storage(self, *args, **kwargs):
        CountingBlobs.storage_calls += 1
        raise AssertionError("a poll or a claim reached blob storage")

    read_input = probe_input = write_output = blob_size = _storage


class Meter:
    """SQL statements and VM steps on the store's connection, between `start()` and `stop()`."""

    def __init__(self, store: SqliteJobStore):
        self.store = store
        self.statements: list[str] = []
        self.steps = 0

    def _step(self) -> int:
        self.steps += 1
        return 0  # go on

    async def start(self) -> None:
        self.statements, self.steps = [], 0
        await self.store.db.set_trace_callback(self.statements.append)
        await self.store.db.set_progress_handler(self._step, 1)

    async def stop(self) -> tuple[int, int]:
        await self.store.db.set_trace_callback(None)
        await self.store.db.set_progress_handler(None, 1)
        return len(self.statements), self.steps


async def _store_with_waiting(path: Path, waiting: int) -> SqliteJobStore:
    store = SqliteJobStore(path)
    await store.open()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(waiting + 1):  # job-000000 is the one polled; it and all the others wait
        job_id = f"job-{i:06d}"
        rows.append((job_id, "openqio", "n", f"{BLOB}/{job_id}", f"{BLOB}/{job_id}/inputData", "microsoft.qio.v2",
                     json.dumps({"params": {}}), "Microsoft", SA, None, None, "microsoft.qio-results.v2",
                     JobStatus.WAITING.value, format_time(start + timedelta(milliseconds=i)), None, None, None, None,
                     None, "[]", 0, 0, "h"))
    await store.write(f"INSERT INTO jobs ({_COLUMNS}, body_hash) VALUES ({', '.join('?' * 23)})", rows)
    return store


async def _costs(tmp_path: Path, waiting: int) -> dict[str, tuple[int, int]]:
    store = await _store_with_waiting(tmp_path / f"jobs-{waiting}.sqlite3", waiting)
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={TOKEN: "openqio"})
    app = create_app(settings, store, CountingBlobs(settings), object())
    client = TestClient(TestServer(app))
    await client.start_server()
    meter = Meter(store)
    costs = {}
    try:
        assert (await client.get(PREFIX + "/jobs/job-000000", headers=AUTH)).status == 200  # SAS signed once
        signed = app[SAS_CACHE].signed
        for name, action in [
            ("poll", lambda: client.get(PREFIX + "/jobs/job-000000", headers=AUTH)),
            ("claim", store.claim_next),  # the dispatcher's claim, and what it reads next to it:
            ("next waiting", lambda: store.next_waiting(2)),  # the read-ahead of the next inputs
            ("others waiting", store.has_waiting),  # whether a job may take idle cores
        ]:
            await meter.start()
            result = await action()
            costs[name] = await meter.stop()
            assert result is not None and result is not False
        assert app[SAS_CACHE].signed == signed  # the poll signed nothing
        assert CountingBlobs.storage_calls == 0
    finally:
        await client.close()
        await store.close()
    return costs


@pytest.mark.timeout(120)
async def test_a_poll_and_a_claim_cost_the_same_with_10_or_10000_jobs_waiting(tmp_path: Path):
    small, large = await _costs(tmp_path, 10), await _costs(tmp_path, 10_000)
    for name in small:
        (statements_small, steps_small), (statements_large, steps_large) = small[name], large[name]
        assert statements_large == statements_small <= 8, (name, small[name], large[name])
        assert steps_large <= steps_small + 10, (name, small[name], large[name])  # an index seek, not a scan
