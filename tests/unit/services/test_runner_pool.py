"""The runner pool with real spawned processes: hard deadlines kill and replace runners, crashes are reported, runners
that cannot start make the pool unhealthy (with the reason) and are started again with a growing backoff."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from contracts.runner import RunRequest
from services.dispatch.runner_pool import NotStarted, RunnerCrashed, RunnerKilled, RunnerPool
from tests.unit.services import stubborn_worker

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


async def test_messages_are_read_in_order_whole_and_a_torn_one_is_a_crash():
    """200 progress messages that arrive together, then an outcome of several MiB, each whole and in order; a runner
    that dies in the middle of a message is a crash, and its replacement works."""
    pool = RunnerPool(1, entry_point=ENTRY)
    await pool.start()
    try:
        seen = []
        runner = await pool.acquire()
        outcome = await pool.run(runner, request("chatty"), on_progress=seen.append)
        assert [p.sweeps_done for p in seen] == list(range(200))
        assert outcome.status == "succeeded" and len(outcome.result["configuration"]) == 200_000
        assert outcome.result["configuration"]["199999"] == -1

        runner = await pool.acquire()
        with pytest.raises(RunnerCrashed, match="exit code 4"):
            await pool.run(runner, request("torn"))
        runner = await asyncio.wait_for(pool.acquire(), timeout=30)
        assert (await pool.run(runner, request("ok"))).status == "succeeded"
    finally:
        await pool.close()


async def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_a_runner_that_cannot_start_makes_the_pool_unhealthy_and_backs_off(caplog):
    caplog.set_level(logging.ERROR, logger="services.dispatch.runner_pool")
    pool = RunnerPool(1, entry_point="tests.unit.services.stubborn_worker:failing_main")
    await pool.start()  # returns once the runner has failed its first start
    try:
        assert pool.health() == ("1 of 1 runner(s) cannot start; runner 0 failed 1 time(s) in a row: "
                                 "WarmUpError: no solver today")
        await _until(lambda: "failed 3 time(s)" in (pool.health() or ""))
        delays = [m.split("next try in ")[1] for m in caplog.messages if "cannot start" in m]
        assert delays[:3] == ["1 s", "2 s", "4 s"]  # doubling, not a respawn every few seconds for ever
        assert pool.idle_count == 0
    finally:
        await pool.close()


async def test_a_runner_that_dies_before_it_is_ready_says_how():
    pool = RunnerPool(1, entry_point="tests.unit.services.stubborn_worker:dying_main")
    await pool.start()
    try:
        assert "ended during its warm-up (exit code 5)" in (pool.health() or "")
    finally:
        await pool.close()


async def test_a_runner_that_starts_again_makes_the_pool_healthy(tmp_path, monkeypatch):
    flag = tmp_path / "fail"
    flag.touch()
    monkeypatch.setenv(stubborn_worker.FLAKY_FILE, str(flag))
    pool = RunnerPool(1, entry_point="tests.unit.services.stubborn_worker:flaky_main")
    await pool.start()
    try:
        assert pool.health()
        flag.unlink()
        await _until(lambda: pool.health() is None)
        runner = await asyncio.wait_for(pool.acquire(), timeout=30)
        assert (await pool.run(runner, request("ok"))).status == "succeeded"
    finally:
        await pool.close()


@pytest.mark.parametrize("warm_up, how", [("failing_warm_up", "exit code 3"), ("killed_warm_up", "killed by SIGKILL")])
async def test_a_failed_warm_up_is_logged_and_the_runners_still_start(caplog, warm_up, how):
    caplog.set_level(logging.INFO, logger="services.dispatch.runner_pool")
    pool = RunnerPool(1, entry_point=ENTRY, warmup_entry=f"tests.unit.services.stubborn_worker:{warm_up}")
    await pool.start()
    try:
        assert any(f"solver warm-up failed ({how}" in m for m in caplog.messages), caplog.messages
        assert pool.health() is None
        runner = await asyncio.wait_for(pool.acquire(), timeout=30)
        assert (await pool.run(runner, request("ok"))).status == "succeeded"
    finally:
        await pool.close()


def test_a_missing_entry_point_fails_in_the_service_without_importing_anything():
    with pytest.raises(ValueError, match="no module"):
        asyncio.run(RunnerPool(1, entry_point="tests.unit.services.no_such_module:main").start())


def job(job_id: str, mode: str, **params) -> RunRequest:
    return RunRequest(job_id=job_id, target="t", params={"mode": mode, **params}, input_data=b"")


@contextlib.asynccontextmanager
async def started_pool(runners: int):
    pool = RunnerPool(runners, entry_point=ENTRY)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.close()


async def behind(pool: RunnerPool, runner, current: RunRequest, follower: RunRequest):
    """`current` running on `runner` (its task), and `follower` staged behind it."""
    running = asyncio.ensure_future(pool.run(runner, current))
    await asyncio.sleep(0.05)
    staged = pool.stage(runner, follower)
    assert staged is not None
    return running, staged


async def test_a_staged_job_starts_on_its_runner_as_the_job_before_it_ends():
    async with started_pool(1) as pool:
        runner = await pool.acquire()
        current, staged = await behind(pool, runner, job("current", "slow", seconds=0.3), job("next", "slow", seconds=0.1))
        assert pool.stage(runner, job("third", "ok")) is None  # one job waits behind another, no more
        started = []
        outcome = await pool.run_staged(staged, on_start=started.append)
        assert (await current).status == "succeeded" and outcome.status == "succeeded"
        assert started == [runner] and pool.idle_count == 1
        assert pool.stage(runner, job("idle", "ok")) is None  # nothing runs on it: nothing to wait behind


async def test_a_staged_job_goes_to_the_first_runner_that_frees_up():
    async with started_pool(2) as pool:
        long_one, short_one = await pool.acquire(), await pool.acquire()
        short_run = asyncio.ensure_future(pool.run(short_one, job("short", "slow", seconds=0.2)))
        long_run, staged = await behind(pool, long_one, job("long", "slow"), job("next", "ok"))
        started = []
        outcome = await asyncio.wait_for(pool.run_staged(staged, on_start=started.append), timeout=10)
        assert outcome.status == "succeeded" and started == [short_one]  # not left behind the long job
        assert (await short_run).status == "succeeded"
        assert pool.cancel("long")  # the long job's cancel still reaches it
        assert (await long_run).status == "cancelled"


async def test_a_withdrawn_job_does_not_start_and_a_cancel_stays_with_its_job():
    async with started_pool(1) as pool:
        runner = await pool.acquire()
        current, staged = await behind(pool, runner, job("current", "slow"), job("next", "ok"))
        assert not pool.cancel("next")  # not on a runner: the caller withdraws it
        assert pool.withdraw("next") and not pool.withdraw("next")
        with pytest.raises(NotStarted):
            await pool.run_staged(staged)
        follower = pool.stage(runner, job("follower", "slow", seconds=0.2))
        assert follower is not None
        assert pool.cancel("current")
        assert (await current).status == "cancelled"
        assert (await pool.run_staged(follower)).status == "succeeded"  # the cancel was not carried over


async def test_a_crash_leaves_the_staged_job_unstarted_and_a_staged_job_that_crashes_is_a_crash():
    async with started_pool(1) as pool:
        runner = await pool.acquire()
        current, staged = await behind(pool, runner, job("current", "slow"), job("next", "ok"))
        assert pool.kill("current")
        with pytest.raises(RunnerKilled):
            await current
        with pytest.raises(NotStarted):
            await pool.run_staged(staged)

        runner = await asyncio.wait_for(pool.acquire(), timeout=30)  # its replacement
        current, staged = await behind(pool, runner, job("current-2", "slow", seconds=0.2), job("dies", "die"))
        assert (await current).status == "succeeded"
        with pytest.raises(RunnerCrashed, match="exit code 3"):
            await pool.run_staged(staged)
        runner = await asyncio.wait_for(pool.acquire(), timeout=30)
        assert (await pool.run(runner, job("after", "ok"))).status == "succeeded"
