"""The runner pool with real spawned processes: hard deadlines kill and replace runners, crashes are reported."""
from __future__ import annotations

import asyncio

import pytest

from contracts.runner import RunRequest
from services.dispatch.runner_pool import RunnerCrashed, RunnerKilled, RunnerPool

ENTRY = "tests.unit.services.stubborn_worker:stubborn_main"


def request(mode: str) -> RunRequest:
    return RunRequest(job_id=f"job-{mode}", target="t", params={"mode": mode}, input_data=b"")


async def test_pool_runs_kills_and_replaces():
    pool = RunnerPool(1, entry_point=ENTRY)
    await pool.start()
    try:
        runner = await pool.acquire()
        outcome = await pool.run(runner, request("ok"))
        assert outcome.status == "succeeded"

        runner = await pool.acquire()
        first_pid = runner.process.pid
        with pytest.raises(RunnerKilled):
            await pool.run(runner, request("ignore-cancel"), deadline_s=0.5)

        runner = await asyncio.wait_for(pool.acquire(), timeout=30)
        assert runner.process.pid != first_pid  # replaced
        task = asyncio.ensure_future(pool.run(runner, request("ignore-cancel")))
        await asyncio.sleep(0.3)
        assert pool.cancel("job-ignore-cancel", hard_deadline_s=0.3)
        with pytest.raises(RunnerKilled):
            await task

        runner = await asyncio.wait_for(pool.acquire(), timeout=30)
        with pytest.raises(RunnerCrashed, match="exit code 3"):
            await pool.run(runner, request("die"))
        runner = await asyncio.wait_for(pool.acquire(), timeout=30)
        assert (await pool.run(runner, request("ok"))).status == "succeeded"
    finally:
        await pool.close()
