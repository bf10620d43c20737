"""The dispatcher on the real SQLite store with a fake blob store and fake pools: read-ahead, and cores per job.

While the runner is busy, the next Waiting job's input is read without claiming it (it stays Waiting); once the
runner frees up the job runs on that input, read once. A read-ahead for a job cancelled while Waiting is dropped,
and one that failed is simply redone at claim time.
"""
from __future__ import annotations

import asyncio

import pytest

from contracts.jobs import JobDetails
from contracts.results import make_result, solution_entry
from contracts.runner import RunOutcome, RunRequest
from contracts.status import JobStatus
from services.blobs import StorageUnavailable
from services.blobs.azure_store import FIRST_GET_BYTES
from services.dispatch import dispatcher as dispatcher_module
from services.dispatch.dispatcher import Dispatcher

BLOB = "http://127.0.0.1:1/devstoreaccount1"


class FakeBlobs:
    """Per workspace: `for_workspace(ws)` gives a view that records which workspace's storage each call went to."""

    def __init__(self):
        self.reads: list[tuple[str, int | None]] = []
        self.fail_next: set[str] = set()  # job ids whose next read raises StorageUnavailable
        self.used: list[tuple[str, str, str]] = []  # (read|write, job id, workspace)

    def for_workspace(self, workspace):
        return WorkspaceView(self, workspace)

    async def read_input(self, input_data_uri, container_uri, max_bytes=None, workspace="?"):
        job_id = container_uri.rsplit("/job-", 1)[1]
        self.reads.append((job_id, max_bytes))
        self.used.append(("read", job_id, workspace))
        await asyncio.sleep(0)
        if job_id in self.fail_next:
            self.fail_next.discard(job_id)
            raise StorageUnavailable("storage is down")
        return f"input of {job_id}".encode(), "application/json"

    async def write_output(self, container, data, workspace="?"):
        self.used.append(("write", container.removeprefix("job-"), workspace))
        return f"{BLOB}/{container}/rawOutputData"

    def reads_of(self, job_id):
        return [m for j, m in self.reads if j == job_id]


class WorkspaceView:
    def __init__(self, blobs, workspace):
        self.blobs, self.workspace = blobs, workspace

    async def read_input(self, input_data_uri, container_uri, max_bytes=None):
        return await self.blobs.read_input(input_data_uri, container_uri, max_bytes, workspace=self.workspace)

    async def write_output(self, container, data):
        return await self.blobs.write_output(container, data, workspace=self.workspace)

    def output_location(self, output_data_uri, container_uri):
        return container_uri.rsplit("/", 1)[1], "rawOutputData"


class OneRunnerPool:
    """One runner; `run` holds it until the test opens that job's gate."""

    size = 1

    def __init__(self):
        self._idle: asyncio.Queue = asyncio.Queue()
        self._idle.put_nowait("runner-0")
        self.gates: dict[str, asyncio.Event] = {}
        self.ran: list[RunRequest] = []
        self.deadlines: dict[str, float | None] = {}

    @property
    def idle_count(self):
        return self._idle.qsize()

    async def acquire(self):
        return await self._idle.get()

    def take_idle(self):
        return None if self._idle.empty() else self._idle.get_nowait()

    def release(self, runner):
        self._idle.put_nowait(runner)

    def cancel(self, job_id, hard_deadline_s=None):
        return False

    def stage(self, runner, request):  # nothing queues behind a job here: a claimed follower takes a free runner
        return None

    def withdraw(self, job_id):
        return False

    async def run(self, runner, request, on_progress=None, deadline_s=None):
        self.ran.append(request)
        self.deadlines[request.job_id] = deadline_s
        try:
            await self.gates.setdefault(request.job_id, asyncio.Event()).wait()
            return RunOutcome(job_id=request.job_id, status=RunOutcome.SUCCEEDED,
                              result=make_result([solution_entry({0: 1}, -1.0)], {}))
        finally:
            self._idle.put_nowait(runner)


def job(job_id: str) -> JobDetails:
    return JobDetails(id=job_id, name=job_id, container_uri=f"{BLOB}/job-{job_id}", input_data_uri=None,
                      input_data_format="microsoft.qio.v2", input_params={"params": {}}, provider_id="Microsoft",
                      target="microsoft.simulatedannealing.cpu", output_data_format="microsoft.qio-results.v2")


async def until(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def _running(store, pool):
    """A started dispatcher on `store` with fake blobs and `pool`; every gate opened and the dispatcher stopped after."""
    blobs = FakeBlobs()
    dispatcher = Dispatcher(store, blobs, pool)
    await dispatcher.start()
    yield store, blobs, pool, dispatcher
    for gate in pool.gates.values():
        gate.set()
    await dispatcher.stop()


@pytest.fixture
async def stack(store):
    async for running in _running(store, OneRunnerPool()):
        yield running


async def submit(store, dispatcher, job_id, workspace="ws"):
    await store.insert(workspace, job(job_id))
    dispatcher.wake()


async def status(store, job_id):
    return (await store.get(None, job_id)).status


async def test_next_job_is_read_ahead_without_being_claimed(stack):
    store, blobs, pool, dispatcher = stack
    await submit(store, dispatcher, "a")
    await until(lambda: [r.job_id for r in pool.ran] == ["a"])
    await submit(store, dispatcher, "b", workspace="other")
    await until(lambda: blobs.reads_of("b"))
    assert blobs.reads_of("b") == [FIRST_GET_BYTES]  # bounded read-ahead
    assert await status(store, "b") == JobStatus.WAITING  # read, not claimed: the runner is still busy

    pool.gates.setdefault("a", asyncio.Event()).set()
    await until(lambda: [r.job_id for r in pool.ran] == ["a", "b"])
    assert pool.ran[1].input_data == b"input of b"
    assert blobs.reads_of("b") == [FIRST_GET_BYTES]  # not read a second time at claim
    pool.gates.setdefault("b", asyncio.Event()).set()
    await until(lambda: not dispatcher._tasks)
    assert await status(store, "a") == await status(store, "b") == JobStatus.SUCCEEDED
    # each job's input read ahead or read, and its output written, in its own workspace's storage
    assert sorted(blobs.used) == [("read", "a", "ws"), ("read", "b", "other"), ("write", "a", "ws"),
                                  ("write", "b", "other")]


async def test_read_ahead_of_a_cancelled_job_is_dropped(stack):
    store, blobs, pool, dispatcher = stack
    await submit(store, dispatcher, "a")
    await until(lambda: pool.ran)
    await submit(store, dispatcher, "c")
    await until(lambda: blobs.reads_of("c"))
    assert await store.transition("c", JobStatus.CANCELLED, expected=[JobStatus.WAITING]) is not None
    await submit(store, dispatcher, "d")  # the next look-ahead sees d, not c
    await until(lambda: blobs.reads_of("d"))
    assert "c" not in dispatcher._prefetched

    pool.gates.setdefault("a", asyncio.Event()).set()
    await until(lambda: [r.job_id for r in pool.ran] == ["a", "d"])
    pool.gates.setdefault("d", asyncio.Event()).set()
    await until(lambda: not dispatcher._tasks)
    assert await status(store, "c") == JobStatus.CANCELLED and len(blobs.reads_of("c")) == 1


async def test_failed_read_ahead_is_redone_at_claim(stack):
    store, blobs, pool, dispatcher = stack
    await submit(store, dispatcher, "a")
    await until(lambda: pool.ran)
    blobs.fail_next.add("e")
    await submit(store, dispatcher, "e")
    await until(lambda: blobs.reads_of("e"))
    pool.gates.setdefault("a", asyncio.Event()).set()
    await until(lambda: [r.job_id for r in pool.ran] == ["a", "e"])
    assert pool.ran[1].input_data == b"input of e"
    assert blobs.reads_of("e") == [FIRST_GET_BYTES, None]  # the read-ahead failed; the claim read it with the limits
    pool.gates.setdefault("e", asyncio.Event()).set()
    await until(lambda: not dispatcher._tasks)
    assert await status(store, "e") == JobStatus.SUCCEEDED


async def test_no_read_ahead_while_a_runner_is_idle(stack):
    store, blobs, pool, dispatcher = stack
    await submit(store, dispatcher, "f")
    await until(lambda: pool.ran)
    assert blobs.reads_of("f") == [None]  # claimed at once and read with the real limit, once
    pool.gates.setdefault("f", asyncio.Event()).set()
    await until(lambda: not dispatcher._tasks)


# -- cores per job (same fakes, two runners) ----------------------------------------------------------------------


class TwoRunnerPool(OneRunnerPool):
    size = 2

    def __init__(self):
        super().__init__()
        self._idle.put_nowait("runner-1")


@pytest.fixture
async def two_runners(store):
    async for store_, _, pool, dispatcher in _running(store, TwoRunnerPool()):
        yield store_, pool, dispatcher


async def test_a_lone_job_gets_every_core_and_later_jobs_still_start_at_once(two_runners, monkeypatch):
    monkeypatch.setattr(dispatcher_module, "PARALLEL_MIN_INPUT_BYTES", 0)  # the fake inputs are a few bytes
    store, pool, dispatcher = two_runners
    threads = lambda: {r.job_id: r.threads for r in pool.ran}  # noqa: E731
    await submit(store, dispatcher, "lone")
    await until(lambda: "lone" in threads())
    assert threads()["lone"] == 2  # nothing else waits: its own core and the idle runner's
    await submit(store, dispatcher, "next")
    await until(lambda: "next" in threads())  # not queued behind the lone job: the idle runner stayed in the pool
    assert threads()["next"] == 1
    await submit(store, dispatcher, "q1")
    await submit(store, dispatcher, "q2")
    assert await status(store, "q1") == JobStatus.WAITING
    pool.gates.setdefault("lone", asyncio.Event()).set()
    await until(lambda: "q1" in threads())
    assert threads()["q1"] == 1  # q2 waits: one thread each while jobs queue
    for job_id in ("next", "q1", "q2"):
        pool.gates.setdefault(job_id, asyncio.Event()).set()
    await until(lambda: not dispatcher._tasks and len(pool.ran) == 4)


async def test_a_tiny_lone_job_stays_on_one_thread(two_runners):
    store, pool, dispatcher = two_runners
    await submit(store, dispatcher, "tiny")  # a few bytes of input: waking a second thread would cost more
    await until(lambda: pool.ran)
    assert pool.ran[0].threads == 1
    pool.gates.setdefault("tiny", asyncio.Event()).set()
    await until(lambda: not dispatcher._tasks)


# -- inputs held from submission, inputs storage lost, results kept (issue 11) ------------------------------------


class LosingBlobs(FakeBlobs):
    """Storage that lost the inputs of `lost` (acknowledged uploads a killed Azurite never saved)."""

    def __init__(self, lost):
        super().__init__()
        self.lost = set(lost)

    async def read_input(self, input_data_uri, container_uri, max_bytes=None, workspace="?"):
        job_id = container_uri.rsplit("/job-", 1)[1]
        if job_id in self.lost:
            self.reads.append((job_id, max_bytes))
            from contracts import errors
            from services.blobs import InputError

            raise InputError(errors.INPUT_NOT_FOUND, f"input blob job-{job_id}/inputData does not exist")
        return await super().read_input(input_data_uri, container_uri, max_bytes, workspace)


@pytest.fixture
async def losing(store):
    pool = OneRunnerPool()
    blobs = LosingBlobs({"held", "checked", "unchecked"})
    dispatcher = Dispatcher(store, blobs, pool)
    await dispatcher.start()
    yield store, blobs, pool, dispatcher
    for gate in pool.gates.values():
        gate.set()
    await dispatcher.stop()


async def test_a_held_input_runs_even_when_storage_lost_it_and_the_result_is_kept(losing):
    store, blobs, pool, dispatcher = losing
    await store.insert("ws", job("held"), input_bytes=9)
    dispatcher.hold_input("held", b"held body", "application/json")
    dispatcher.wake()
    await until(lambda: pool.ran)
    assert pool.ran[0].input_data == b"held body" and blobs.reads_of("held") == []  # no storage read at all
    pool.gates.setdefault("held", asyncio.Event()).set()
    await until(lambda: not dispatcher._tasks)
    assert await status(store, "held") == JobStatus.SUCCEEDED
    kept = await store.output("ws", "held")
    assert kept is not None and b'"cost": -1.0' in kept.data  # the same bytes the blob got


async def test_an_input_checked_at_submission_and_lost_since_fails_as_lost(losing):
    store, blobs, pool, dispatcher = losing
    await store.insert("ws", job("checked"), input_bytes=120)
    await store.insert("ws", job("unchecked"))
    dispatcher.wake()
    for _ in range(500):
        checked, unchecked = await store.get(None, "checked"), await store.get(None, "unchecked")
        if checked.status == unchecked.status == JobStatus.FAILED:
            break
        await asyncio.sleep(0.01)
    assert checked.status == unchecked.status == JobStatus.FAILED
    assert checked.error_data.code == "InputDataLost" and "120 bytes" in checked.error_data.message
    assert unchecked.error_data.code == "InputDataNotFound"
    summary = await store.summary("ws", "checked")
    assert summary["available"] is False and "could not be read" in summary["reason"]


def test_held_inputs_are_bounded(monkeypatch):
    monkeypatch.setattr(dispatcher_module, "HELD_INPUT_BYTES", 100)
    dispatcher = Dispatcher(None, None, OneRunnerPool())
    for i in range(6):
        dispatcher.hold_input(f"j{i}", b"x" * 20, None)
    assert list(dispatcher._held) == ["j1", "j2", "j3", "j4", "j5"] and dispatcher._held_bytes == 100
    dispatcher.hold_input("big", b"x" * 30, None)  # over a quarter of the bound: not held at all
    assert "big" not in dispatcher._held


async def test_runners_get_flat_params_and_a_hard_deadline_from_the_effective_timeout(stack):
    store, blobs, pool, dispatcher = stack
    pf = job("pf")
    pf.target, pf.input_params = "microsoft.simulatedannealing-parameterfree.cpu", {"params": {"seed": 3}}
    await store.insert("ws", pf)
    dispatcher.wake()
    await until(lambda: pool.ran)
    assert pool.ran[0].params == {"seed": 3}  # flat: what the solver reads, validated once by the service
    assert pool.deadlines["pf"] == pytest.approx(5.0 * 1.1 + dispatcher.hard_deadline_grace_s + 30.0)
    pool.gates.setdefault("pf", asyncio.Event()).set()
    await until(lambda: not dispatcher._tasks)


async def test_parameters_a_newer_rule_refuses_fail_the_job_without_taking_a_runner(stack):
    store, blobs, pool, dispatcher = stack
    bad = job("bad")
    bad.input_params = {"params": {"sweeps": 0}}  # stored by a version that allowed it, say
    await store.insert("ws", bad)
    dispatcher.wake()
    await until(lambda: not dispatcher._tasks and blobs.reads_of("bad"))
    for _ in range(200):
        failed = await store.get(None, "bad")
        if failed.status == JobStatus.FAILED:
            break
        await asyncio.sleep(0.01)
    assert failed.error_data.code == "InvalidParameters" and "'sweeps'" in failed.error_data.message
    assert pool.ran == [] and pool.idle_count == 1


class SlowBlobs(FakeBlobs):
    """Storage whose reads wait for `release`."""

    def __init__(self):
        super().__init__()
        self.release = asyncio.Event()

    async def read_input(self, input_data_uri, container_uri, max_bytes=None, workspace="?"):
        await self.release.wait()
        return await super().read_input(input_data_uri, container_uri, max_bytes, workspace)


async def test_a_job_cancelled_while_it_reads_its_input_never_runs(store):
    """Claimed (Executing), still reading its input, then DELETEd: it ends Cancelled without taking the runner (the
    dispatcher learns it from its own cancel call, not by reading the job back)."""
    pool, blobs = OneRunnerPool(), SlowBlobs()
    dispatcher = Dispatcher(store, blobs, pool)
    await dispatcher.start()
    try:
        await submit(store, dispatcher, "slow")
        await until(lambda: dispatcher._starting == 1)
        outcome, _ = await store.cancel("ws", "slow")  # what DELETE does: the store, then the dispatcher
        await dispatcher.cancel("slow")
        blobs.release.set()
        await until(lambda: not dispatcher._tasks)
        assert pool.ran == [] and await status(store, "slow") == JobStatus.CANCELLED
        assert pool.idle_count == 1 and not dispatcher._cancelled
    finally:
        await dispatcher.stop()
