"""RayPool on the session's real Ray cluster, driven directly (this test process is the Ray driver): progress reaches
the caller, a cancel stops a cooperative solver through its flag, and a solver that ignores its cancel is
force-cancelled at the hard deadline (RunnerKilled). Entry points: tests/ray_entries.py, imported on the workers."""
from __future__ import annotations

import asyncio

import pytest

from contracts.runner import RunOutcome, RunRequest
from services.dispatch.runner_pool import RunnerKilled

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def make_pool(ray_cluster):
    from services.dispatch.ray_pool import RayPool

    pools = []

    async def make(entry_point: str) -> RayPool:
        pool = RayPool(ray_cluster.address, entry_point=entry_point)
        await pool.start(wait_ready=False)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()


def request(job_id: str) -> RunRequest:
    return RunRequest(job_id=job_id, target="microsoft.simulatedannealing.cpu", params={}, input_data=b"{}")


async def test_progress_reaches_the_caller_and_cancel_is_cooperative(make_pool):
    pool = await make_pool("tests.ray_entries:until_cancelled")
    assert pool.size == 2 and pool.idle_count == 2
    seen = []
    slot = pool.take_idle()
    run = asyncio.ensure_future(pool.run(slot, request("coop"), seen.append, deadline_s=120))
    for _ in range(200):
        if seen:
            break
        await asyncio.sleep(0.05)
    assert seen and seen[0].job_id == "coop" and seen[0].summary == {"variables": 1}
    assert pool.pid_of("coop") is not None and pool.busy_jobs() == ["coop"]
    assert pool.cancel("coop", hard_deadline_s=60)
    outcome = await asyncio.wait_for(run, 30)
    assert outcome.status == RunOutcome.CANCELLED and outcome.summary == {"variables": 1}  # the solver's own ending
    assert pool.idle_count == 2 and not pool.cancel("coop")


async def test_solver_ignoring_cancel_is_force_cancelled_at_the_hard_deadline(make_pool):
    pool = await make_pool("tests.ray_entries:ignore_cancel")
    slot = pool.take_idle()
    run = asyncio.ensure_future(pool.run(slot, request("stubborn"), None, deadline_s=600))
    await asyncio.sleep(1.0)
    assert pool.cancel("stubborn", hard_deadline_s=1.0)
    with pytest.raises(RunnerKilled):
        await asyncio.wait_for(run, 60)
    assert pool.idle_count == pool.size  # its CPU is free again
