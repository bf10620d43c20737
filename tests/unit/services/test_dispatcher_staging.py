"""The dispatcher with real runner processes (tests/unit/services/stubborn_worker.py) on the real SQLite store: while
jobs queue, the next one is claimed as a runner's job starts and waits behind it (RunnerPool.stage), so it starts the
moment that job ends; a DELETE of such a job ends it Cancelled at once, without running it."""
from __future__ import annotations

import asyncio
import contextlib

from contracts.status import JobStatus
from services.dispatch.dispatcher import Dispatcher
from services.dispatch.runner_pool import RunnerPool
from tests.unit.services.test_dispatcher_read_ahead import FakeBlobs, job, until

ENTRY = "tests.unit.services.stubborn_worker:stubborn_main"


async def _status(store, job_id):
    return (await store.get(None, job_id)).status


async def _delete(store, dispatcher, job_id):
    await store.cancel("ws", job_id)  # as the gateway's DELETE does: the store first, then the runner
    await dispatcher.cancel(job_id)


@contextlib.asynccontextmanager
async def dispatching(store, *job_ids: str):
    """A dispatcher with one real runner, started on `job_ids` already Waiting (in that order)."""
    pool = RunnerPool(1, entry_point=ENTRY)
    await pool.start()
    dispatcher = Dispatcher(store, FakeBlobs(), pool)
    try:
        for job_id in job_ids:
            await store.insert("ws", job(job_id))
        await dispatcher.start()
        yield pool, dispatcher
    finally:
        await dispatcher.stop()
        await pool.close()


async def test_the_next_job_waits_behind_the_running_one_and_follows_it(store):
    async with dispatching(store, "slow-a", "b", "c") as (pool, dispatcher):  # slow-a runs until cancelled
        await until(lambda: "b" in pool._staged, timeout=30)  # claimed as slow-a started, waiting behind it
        assert await _status(store, "b") == JobStatus.EXECUTING
        assert await _status(store, "c") == JobStatus.WAITING
        await _delete(store, dispatcher, "slow-a")
        await until(lambda: not dispatcher._tasks, timeout=30)
        assert await _status(store, "slow-a") == JobStatus.CANCELLED  # the cancel reached slow-a, not b
        for job_id in ("b", "c"):
            done = await store.get(None, job_id)
            assert done.status == JobStatus.SUCCEEDED, (job_id, done.error_data)
        assert not pool._staged and pool.idle_count == 1


async def test_a_waiting_follower_that_is_deleted_ends_cancelled_without_running(store):
    async with dispatching(store, "slow-a", "slow-b") as (pool, dispatcher):
        await until(lambda: "slow-b" in pool._staged, timeout=30)
        await _delete(store, dispatcher, "slow-b")
        for _ in range(500):  # at once, while slow-a still runs
            if await _status(store, "slow-b") == JobStatus.CANCELLED:
                break
            await asyncio.sleep(0.01)
        assert await _status(store, "slow-b") == JobStatus.CANCELLED
        assert await _status(store, "slow-a") == JobStatus.EXECUTING
        await _delete(store, dispatcher, "slow-a")
        await until(lambda: not dispatcher._tasks, timeout=30)
        assert await _status(store, "slow-a") == JobStatus.CANCELLED
        assert pool.idle_count == 1 and not pool._staged


async def test_a_stop_hands_the_follower_back_to_the_queue(store):
    async with dispatching(store, "slow-a", "b") as (pool, dispatcher):
        await until(lambda: "b" in pool._staged, timeout=30)
        await dispatcher.stop()
        assert await _status(store, "b") == JobStatus.WAITING  # the next start runs it
        assert await _status(store, "slow-a") == JobStatus.WAITING
        assert not pool._staged
