"""Admission control (services/gateway/admission.py): when new work is refused, and what Retry-After says; and the
429 answer of `POST storage/sasUri` on a real store (PUT jobs/{id} is refused the same way: tests/integration/
test_backpressure.py floods a real service)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.blobs.azure_store import BlobStore
from services.config import Settings
from services.gateway.admission import PROMISE_GRACE_S, PUT_HEADROOM, RESERVATION_S, Admission
from services.gateway.app import create_app
from services.jobs.backlog import Backlog
from services.jobs.sqlite_store import SqliteJobStore
from tests.unit.services.test_sqlite_store import job

TOKEN = "unit-test-token-0123456789"
PREFIX = ("/v1.0/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/openqio/providers/"
          "Microsoft.Quantum/workspaces/openqio")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Idle:
    """A dispatcher with no result waiting for blob storage's space (what the load reads of it)."""

    def results_waiting_for_space(self) -> None:
        return None


def backlog(waiting: int, waited_s: float = 0.0, peak: float = 0.0) -> Backlog:
    oldest = datetime.now(UTC) - timedelta(seconds=waited_s) if waiting else None
    return Backlog(waiting=waiting, oldest_created=oldest, started=0, peak_starts_per_s=peak, pace_per_s=peak)


def test_no_limits_admit_everything():
    assert Admission(lambda: backlog(10**6, waited_s=3600)).check() is None


def test_past_the_backlog_limit_new_work_is_refused_and_told_when_to_come_back():
    state = {"b": backlog(3)}
    gate = Admission(lambda: state["b"], max_waiting=4, clock=Clock())
    assert gate.check() is None  # the fourth job may wait
    state["b"] = backlog(4, peak=10)
    refusal = gate.check()
    assert refusal is not None and 1 <= refusal.retry_after_s <= 60 and "4 job(s) waiting" in refusal.message
    assert gate.check(headroom=PUT_HEADROOM) is None  # a PUT whose sasUri was admitted still gets in
    assert gate.refused == 1


def test_past_the_queueing_delay_new_work_is_refused():
    state = {"b": backlog(5, waited_s=0.2)}
    gate = Admission(lambda: state["b"], max_queue_delay_s=1.0, clock=Clock())
    assert gate.check() is None
    state["b"] = backlog(5, waited_s=2.5)  # the oldest job has waited 2.5 s
    assert gate.check() is not None
    state["b"] = backlog(500, waited_s=0.1, peak=100)  # just arrived, but 5 s of work ahead at the measured pace
    assert gate.check() is not None
    state["b"] = backlog(50, waited_s=0.1, peak=100)  # 0.5 s ahead
    assert gate.check() is None


def test_a_submission_admitted_at_sas_uri_holds_its_place_until_its_put():
    clock = Clock()
    waiting = {"n": 0}
    gate = Admission(lambda: backlog(waiting["n"]), max_waiting=3, clock=clock)
    for name in ("a", "b", "c"):  # three clients admitted, all still uploading: nothing Waiting yet
        assert gate.check(hold=("ws", f"job-{name}")) is None
    assert gate.reserved() == 3
    refusal = gate.check(hold=("ws", "job-d"))  # a fourth is refused although no job waits
    assert refusal is not None and "3 being submitted" in refusal.message
    assert gate.check(hold=("ws", "job-a")) is None  # asking again for its own container does not count itself
    gate.release("ws", "job-a")  # its PUT: the job is Waiting now
    waiting["n"] = 1
    assert gate.reserved() == 2 and gate.check(hold=("ws", "job-d")) is not None  # 1 waiting + 2 held + 1 > 3
    assert gate.check(headroom=PUT_HEADROOM) is None  # a PUT is judged on the Waiting jobs alone
    clock.now += RESERVATION_S  # b and c never came back: their places lapse
    assert gate.reserved() == 0 and gate.check(hold=("ws", "job-d")) is None


def test_a_put_whose_place_is_held_is_admitted_however_the_backlog_grew():
    """Its sasUri was admitted (its place counted then): the PUT after the upload is not judged again, even when the
    backlog passed the PUT's headroom meanwhile; once the place lapsed, it is judged as a PUT without one."""
    clock = Clock()
    waiting = {"n": 0}
    gate = Admission(lambda: backlog(waiting["n"], peak=10), max_waiting=4, clock=clock)
    assert gate.check(hold=("ws", "job-a")) is None and gate.check(hold=("ws", "job-b")) is None
    waiting["n"] = 10  # other clients' PUTs (without sasUri) filled the backlog past 4 × PUT_HEADROOM
    assert gate.check(headroom=PUT_HEADROOM) is not None
    assert gate.release("ws", "job-a") is True  # its PUT is admitted without a check (views.put_job)
    assert gate.release("ws", "job-a") is False  # the place was given back: a second PUT holds none
    clock.now += RESERVATION_S
    assert gate.release("ws", "job-b") is False  # lapsed: judged on the Waiting jobs


def test_held_places_count_toward_the_queueing_delay():
    clock = Clock()
    gate = Admission(lambda: backlog(0, peak=10), max_queue_delay_s=0.5, clock=clock)
    admitted = sum(gate.check(hold=("ws", f"job-{k}")) is None for k in range(20))
    assert admitted == 6  # at 10 starts per second the sixth starts after 0.5 s, the seventh would wait longer


def test_refused_clients_are_sent_back_spread_over_time_within_a_minute():
    clock = Clock()
    gate = Admission(lambda: backlog(20, peak=2), max_waiting=10, clock=clock)
    waits = [gate.check().retry_after_s for _ in range(200)]
    assert waits == sorted(waits) and waits[0] < waits[100]  # later refusals come back later: no herd
    assert 1 <= min(waits) and max(waits) == 60


def test_refusing_is_logged_with_the_pace_and_the_time_told(caplog: pytest.LogCaptureFixture):
    """What an operator needs to see a wrong estimate: the pace the delay was judged at and the time a client was told."""
    gate = Admission(lambda: backlog(60, waited_s=0.55, peak=100), max_queue_delay_s=0.5, clock=Clock())
    with caplog.at_level("WARNING", logger="services.gateway.admission"):
        refusal = gate.check()
        gate.check()  # within LOG_EVERY_S of the first: not logged again
    assert refusal is not None
    [line] = [r.getMessage() for r in caplog.records]
    assert "60 waiting, 0.6 s of queueing at 100 jobs started a second" in line
    assert f"told to come back in {refusal.retry_after_ms / 1000:.2f} s" in line


def test_retry_after_ms_says_the_time_a_whole_second_rounds_up():
    """A backlog that drains in less than a second: Retry-After can only say 1 (whole seconds), retry-after-ms says
    when there is room again, the refused clients spread at the pace the backlog moves (100 a second here)."""
    gate = Admission(lambda: backlog(60, waited_s=0.55, peak=100), max_queue_delay_s=0.5, clock=Clock())
    refusals = [gate.check() for _ in range(30)]
    assert all(r is not None and r.retry_after_s == 1 for r in refusals)
    waits = [r.retry_after_ms for r in refusals if r is not None]
    assert waits == sorted(waits) and 10 <= waits[0] <= 200 and waits[-1] <= 1000
    assert waits[-1] - waits[0] == pytest.approx(29 * 10, abs=2)  # one every 1/100 s
    far = Admission(lambda: backlog(5000, waited_s=30, peak=100), max_queue_delay_s=0.5, clock=Clock()).check()
    assert far is not None and far.retry_after_ms <= 1000 * far.retry_after_s < far.retry_after_ms + 1000


def test_clients_that_never_come_back_do_not_push_later_ones_out():
    """30 s of refusing 190 submissions a second whose clients do not retry (the benchmark's 200 % phase): a client
    refused 2 s later is told the time the backlog needs plus what the last second or so of refusals adds, not a
    place behind all 5700 (counting them all told it 10 s and more, while the runners idled)."""
    clock = Clock()
    gate = Admission(lambda: backlog(100, waited_s=0.6, peak=140), max_queue_delay_s=0.5, clock=clock)
    for _ in range(30 * 190):
        assert gate.check() is not None
        clock.now += 1 / 190
    steady = gate.check()
    assert steady is not None and steady.retry_after_ms < 2500  # 0.21 s of backlog + ~190 refusals at 140 a second
    clock.now += 2.0
    later = gate.check()
    assert later is not None and later.retry_after_s == 1 and later.retry_after_ms < 500


async def test_sas_uri_for_new_work_answers_429_with_retry_after_while_at_capacity(tmp_path: Path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await store.open()
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={TOKEN: "openqio"}, max_waiting=2)
    client = TestClient(TestServer(create_app(settings, store, BlobStore(settings), Idle())))
    await client.start_server()
    try:
        new_container = {"containerName": "job-new"}
        assert (await client.post(PREFIX + "/storage/sasUri", json=new_container, headers=AUTH)).status == 200
        for name in ("a", "b"):
            await store.insert("openqio", job(name))
        refused = await client.post(PREFIX + "/storage/sasUri", json=new_container, headers=AUTH)
        assert refused.status == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
        assert 10 <= int(refused.headers["retry-after-ms"]) <= 1000 * int(refused.headers["Retry-After"])
        assert (await refused.json())["error"]["code"] == "TooManyRequests"
        load = await client.get("/dashboard/load", headers=AUTH)  # what an operator sees meanwhile
        assert load.status == 200 and (await client.get("/dashboard/load")).status == 401
        body = await load.json()
        assert 0 <= body.pop("queueingDelaySeconds") < 60  # how long the oldest of the two has waited
        disk, = body.pop("disks")  # the job database's (services/disks.py): how much room, no path
        assert disk["holds"] == ["the job database"] and 0 < disk["freeBytes"] <= disk["totalBytes"]
        assert disk.keys() == {"holds", "freeBytes", "totalBytes", "low"}
        assert body == {"waiting": 2, "beingSubmitted": 0, "promised": 0, "pacePerSecond": None, "paceMeasured": False,
                        "admitting": False,
                        "uploadSeconds": 0.0, "refusedSinceStart": 1, "diskFullSeconds": None, "blobDiskFull": None,
                        "limits": {"maxWaiting": 2, "maxQueueDelaySeconds": None}}
        download = {"containerName": "job-a", "blobName": "rawOutputData"}  # reading results is never refused
        assert (await client.post(PREFIX + "/storage/sasUri", json=download, headers=AUTH)).status == 200
        await store.claim_next()
        assert (await client.post(PREFIX + "/storage/sasUri", json=new_container, headers=AUTH)).status == 200
    finally:
        await client.close()
        await store.close()


async def test_only_the_workspaces_named_in_load_viewers_read_the_load(tmp_path: Path):
    """OPENQIO_LOAD_VIEWERS=openqio: the operator's workspace reads the service's load, another tenant gets 403."""
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await store.open()
    other = "tenant-token-0123456789abcdef"
    settings = Settings.from_env({"OPENQIO_LOAD_VIEWERS": "openqio"}, data_dir=tmp_path,
                                 tokens={TOKEN: "openqio", other: "tenant"})
    client = TestClient(TestServer(create_app(settings, store, BlobStore(settings), Idle())))
    await client.start_server()
    try:
        assert (await client.get("/dashboard/load", headers=AUTH)).status == 200
        refused = await client.get("/dashboard/load", headers={"Authorization": f"Bearer {other}"})
        assert refused.status == 403
        error = (await refused.json())["error"]
        assert error["code"] == "Forbidden" and "OPENQIO_LOAD_VIEWERS" in error["message"]
        assert (await client.get("/dashboard/load")).status == 401
    finally:
        await client.close()
        await store.close()


def test_load_viewers_are_every_workspace_none_or_named_ones():
    from services.remote_settings import SettingsError

    tokens = {"OPENQIO_TOKENS": "openqio=" + "t" * 20 + ",ops=" + "u" * 20}
    assert Settings.from_env(tokens).load_viewer_set is None  # default: every workspace
    assert Settings.from_env({**tokens, "OPENQIO_LOAD_VIEWERS": "none"}).load_viewer_set == frozenset()
    assert Settings.from_env({**tokens, "OPENQIO_LOAD_VIEWERS": " ops, openqio "}).load_viewer_set == {"ops", "openqio"}
    with pytest.raises(SettingsError, match="no token or principal: opps"):
        Settings.from_env({**tokens, "OPENQIO_LOAD_VIEWERS": "ops,opps"})


@pytest.mark.parametrize("value", ["-1"])
def test_negative_limits_are_refused(value: str):
    from services.remote_settings import SettingsError

    for name in ("OPENQIO_MAX_WAITING", "OPENQIO_MAX_QUEUE_DELAY_S"):
        with pytest.raises(SettingsError):
            Settings.from_env({name: value, "OPENQIO_TOKENS": "openqio=" + "t" * 20})


class Runners:
    """Jobs arriving at a WaitingJobs and started at a fixed pace, on a fake clock."""

    def __init__(self) -> None:
        from services.jobs.backlog import WaitingJobs

        self.clock = Clock()
        self.jobs = WaitingJobs(clock=self.clock)
        self.n = 0

    def arrive(self, count: int) -> list[str]:
        ids = [f"job-{self.n + k}" for k in range(count)]
        self.n += count
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the fake clock's now, on the wall clock
        for job_id in ids:
            self.jobs.add(job_id, created)
        return ids

    def run(self, ids: list[str], per_s: float) -> None:
        """Start `ids` one after another, 1/per_s apart."""
        for job_id in ids:
            self.clock.now += 1 / per_s
            self.jobs.start(job_id)


def test_the_pace_is_the_start_rate_while_jobs_wait_not_the_peak():
    from services.jobs.backlog import MIN_BUSY_S

    r = Runners()
    assert r.jobs.snapshot().pace_per_s == 0.0  # nothing measured yet
    for _ in range(150):  # a quick second: each job started as it came, none left waiting
        r.run(r.arrive(1), 150)
    r.clock.now = 1002.0
    assert r.jobs.snapshot().pace_per_s == 150.0  # the peak stands in until the runners have been the bottleneck
    r.run(r.arrive(int(90 * MIN_BUSY_S)), 90)  # overloaded: the first start of a backlog says nothing yet
    assert r.jobs.snapshot().pace_per_s == 150.0
    r.run(r.arrive(200), 90)  # jobs left waiting at every start, 90 started a second
    snap = r.jobs.snapshot()
    assert snap.peak_starts_per_s == 150.0 and snap.pace_per_s == pytest.approx(90.0)
    r.run(r.arrive(600), 60)
    assert r.jobs.snapshot().pace_per_s == pytest.approx(60.0, rel=0.1)  # follows it down within the window


def test_the_pace_at_the_start_of_an_overload_is_the_runners_pace_not_the_starts_of_a_second_partly_busy():
    """A flood that begins late in a second: that second has few starts, but the runners were busy for only its last
    tenth. Counting whole seconds as busy, the pace read 15 a second here where the runners took 150, admission
    estimated 4 s of queueing for 60 waiting jobs and sent every refused client away for seconds."""
    r = Runners()
    r.clock.now = 1000.9
    flood = r.arrive(100)
    r.run(flood[:15], 150)  # 15 starts by the end of the second
    r.run(flood[15:50], 150)  # and 35 in the next one, so far
    assert r.jobs.snapshot().pace_per_s == pytest.approx(150.0)
    gate = Admission(r.jobs.snapshot, max_queue_delay_s=0.5, clock=r.clock)
    assert gate.check(hold=("ws", "next")) is None  # 50 waiting: a third of a second at 150 a second


def test_until_the_runners_are_the_bottleneck_their_time_per_job_estimates_the_pace_when_above_the_peak():
    """Slow clients (24 jobs a second, each started as it came): the peak is their arrival rate, so 40 places held
    between sasUri and PUT read as 1.7 s of queueing. Two runners that each took 8 ms a job would keep up with 250 a
    second: admitted. Jobs put back to wait (a runner lost) are no sample; a busy pace, once measured, replaces both."""
    from services.jobs.backlog import MIN_BUSY_S, RUN_SAMPLES

    r = Runners()
    for _ in range(30):
        (job,) = r.arrive(1)
        r.run([job], 30)
        r.clock.now += 0.008
        r.jobs.end(job, ran=True)
    r.clock.now = 1002.0
    assert r.jobs.snapshot().pace_per_s == r.jobs.snapshot().peak_starts_per_s == 24.0  # the runners unknown: the peak
    assert r.jobs.snapshot(runners=2).run_s == pytest.approx(0.008)
    assert r.jobs.snapshot(runners=2).pace_per_s == pytest.approx(250.0)
    assert not r.jobs.snapshot(runners=2).pace_measured  # an estimate (the load view says so)
    gate = Admission(lambda: r.jobs.snapshot(runners=2), max_queue_delay_s=0.5, clock=r.clock)
    old = Admission(lambda: r.jobs.snapshot(), max_queue_delay_s=0.5, clock=r.clock)
    for k in range(40):
        assert gate.check(hold=("ws", f"c{k}")) is None
    assert [old.check(hold=("ws", f"c{k}")) is None for k in range(40)].count(False) > 20
    (lost,) = r.arrive(1)
    r.run([lost], 30)
    r.clock.now += 5.0
    r.jobs.end(lost, ran=False)  # put back to wait: not a sample
    assert r.jobs.snapshot(runners=2).run_s == pytest.approx(0.008)
    (stuck,) = r.arrive(1)
    r.run([stuck], 30)
    r.clock.now += 0.272  # running 0.272 s so far: (30 × 8 ms + 272 ms) / 31 = 16.5 ms a job
    assert r.jobs.snapshot(runners=2).pace_per_s == pytest.approx(2 / 0.0165, rel=0.01)
    r.jobs.end(stuck, ran=True)
    for _ in range(RUN_SAMPLES):  # slower jobs: the estimate follows the last RUN_SAMPLES
        (job,) = r.arrive(1)
        r.run([job], 30)
        r.clock.now += 0.1
        r.jobs.end(job, ran=True)
    assert r.jobs.snapshot(runners=2).pace_per_s == 24.0  # 20 a second: below the peak
    r.run(r.arrive(int(200 * MIN_BUSY_S) + 50), 100)  # the runners the bottleneck: their pace, measured
    assert r.jobs.snapshot(runners=2).pace_per_s == pytest.approx(100.0) and r.jobs.snapshot().pace_measured


def test_a_backlog_emptied_without_a_start_ends_the_busy_time():
    """Jobs cancelled while Waiting: the runners may idle from then on, so the time to the next start is not counted
    as busy (it would read as a slow pace)."""
    r = Runners()
    waiting = r.arrive(100)
    r.run(waiting[:50], 100)
    for job_id in waiting[50:]:
        r.jobs.discard(job_id)  # cancelled
    r.clock.now += 3.0  # idle
    r.run(r.arrive(1), 100)  # one job, started as it came
    assert r.jobs.snapshot().pace_per_s == pytest.approx(100.0)


def test_the_rates_count_whole_seconds_only_and_the_oldest_follows_the_waiting_jobs():
    from services.jobs.backlog import WaitingJobs

    clock = Clock()
    jobs = WaitingJobs(clock=clock)
    for _ in range(40):
        jobs.start()
    clock.now += 0.5
    assert jobs.snapshot().peak_starts_per_s == 0.0  # the current second is not over: not counted yet
    for _ in range(20):
        jobs.start()
    assert jobs.snapshot().peak_starts_per_s == 0.0
    clock.now += 0.5  # the next second: the one before is whole, with all of its 60 starts
    assert jobs.snapshot().peak_starts_per_s == 60.0
    assert jobs.snapshot().oldest_created is None
    jobs.add("b", "2026-01-01T00:00:02.000000Z")
    jobs.add("a", "2026-01-01T00:00:01.000000Z")
    assert jobs.snapshot().oldest_created == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    jobs.discard("a")
    assert jobs.snapshot().oldest_created == datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)
    jobs.discard("b")
    assert jobs.snapshot().oldest_created is None


def test_a_client_back_as_told_and_refused_again_is_promised_a_place_and_gets_it():
    clock = Clock()
    waiting = {"n": 4}
    gate = Admission(lambda: backlog(waiting["n"], peak=2), max_waiting=4, clock=clock)
    first = gate.check(hold=("ws", "job-a"))
    assert first is not None and gate.promised() == 0  # refused once: nothing promised, nothing held
    clock.now += first.retry_after_ms / 1000
    again = gate.check(hold=("ws", "job-a"))  # back as told, the backlog still full: promised the next slot
    assert again is not None and gate.promised() == 1 and again.retry_after_ms == 500  # 1 place over, at 2 a second
    clock.now += 0.2
    early = gate.check(hold=("ws", "job-a"))  # too early: the promise stands, for the time it was given
    assert early is not None and early.retry_after_ms == 300 and gate.promised() == 1
    clock.now += 0.3
    assert gate.check(hold=("ws", "job-a")) is None  # on time: admitted though 4 still wait (kept, whatever the pace)
    assert gate.promised() == 0 and gate.reserved() == 1
    assert gate.release("ws", "job-a") is True  # and its PUT, like any admitted at sasUri


def test_promised_places_count_for_newcomers_and_lapse_when_their_clients_stay_away():
    clock = Clock()
    waiting = {"n": 4}
    gate = Admission(lambda: backlog(waiting["n"], peak=2), max_waiting=4, clock=clock)
    slots = []
    for name in ("a", "b", "c"):
        told = gate.check(hold=("ws", f"job-{name}"))
        assert told is not None
        clock.now += told.retry_after_ms / 1000
        promise = gate.check(hold=("ws", f"job-{name}"))
        assert promise is not None
        slots.append(clock.now + promise.retry_after_ms / 1000)
    assert gate.promised() == 3
    assert all(b - a >= 0.5 for a, b in zip(slots, slots[1:]))  # in turn, at least 1/pace apart: none at once
    waiting["n"] = 1  # the backlog drained: room for three, but three places are promised
    refusal = gate.check(hold=("ws", "job-new"))
    assert refusal is not None and "3 place(s) promised to clients told to come back" in refusal.message
    clock.now = slots[-1] + PROMISE_GRACE_S  # none came back: the promises lapse, newcomers get in again
    assert gate.promised() == 0 and gate.check(hold=("ws", "job-new")) is None


def test_the_load_says_what_admission_judges_and_changes_nothing():
    clock = Clock()
    waiting = {"n": 3}
    gate = Admission(lambda: backlog(waiting["n"], peak=2), max_waiting=4, max_queue_delay_s=5.0, clock=clock)
    assert gate.check(hold=("ws", "job-a")) is None  # admitted at sasUri: its place is held until its PUT
    load = gate.load()
    assert load == {"waiting": 3, "beingSubmitted": 1, "promised": 0, "pacePerSecond": 2.0, "paceMeasured": False,
                    "queueingDelaySeconds": 2.0, "uploadSeconds": 0.0, "admitting": False, "refusedSinceStart": 0,
                    "limits": {"maxWaiting": 4, "maxQueueDelaySeconds": 5.0}}  # 3 + 1 ahead at 2 a second
    assert gate.load() == load and gate.refused == 0  # asking is not a submission: nothing counted, nothing held
    refusal = gate.check(hold=("ws", "job-b"))
    assert refusal is not None and gate.load()["refusedSinceStart"] == 1
    clock.now += refusal.retry_after_ms / 1000
    assert gate.check(hold=("ws", "job-b")) is not None and gate.load()["promised"] == 1
    waiting["n"] = 0
    gate.release("ws", "job-a")
    clock.now += PROMISE_GRACE_S + 60  # the promise lapsed, nothing waits: admitting again
    assert gate.load()["admitting"] is True and gate.load()["promised"] == 0
    unlimited = Admission(lambda: backlog(10**6, waited_s=3600)).load()
    assert unlimited["admitting"] is True and unlimited["limits"] == {"maxWaiting": None, "maxQueueDelaySeconds": None}
    assert unlimited["pacePerSecond"] is None and unlimited["queueingDelaySeconds"] >= 3600


def test_slow_uploads_count_as_arriving_when_they_arrive():
    """A submission admitted at sasUri arrives as a job its upload later (the median of recent sasUri -> PUT times):
    the runners start jobs meanwhile, so the delay it will meet is the backlog's less that time. SDK clients, whose
    uploads take ~1 s when a hundred submit at once, were refused although no job ever waited near the limit."""
    clock = Clock()
    waiting = {"n": 0}
    gate = Admission(lambda: backlog(waiting["n"], peak=100), max_queue_delay_s=0.5, clock=clock)
    admitted = 0
    while gate.check(hold=("ws", f"job-{admitted}")) is None:  # fast clients: 0.5 s of places at 100 a second
        admitted += 1
    assert admitted == 51 and gate.load()["uploadSeconds"] == 0.0  # 50 places ahead of the last: 0.5 s
    clock.now += 1.0
    for k in range(admitted):  # each took 1 s from its sasUri to its PUT; the runners took them as they came
        assert gate.release("ws", f"job-{k}")
    assert gate.load()["uploadSeconds"] == pytest.approx(1.0, abs=0.02) and gate.reserved() == 0
    more = 0
    while gate.check(hold=("ws", f"slow-{more}")) is None:
        more += 1
    # 1 s would be taken off; at most the limit is (fast clients arriving at once would find 1.5 s of queue): places
    # for 1 s of work, which the runners halve while the submissions upload
    assert more == 101
    waiting["n"] = 70  # 0.7 s of work waiting: a job already uploaded (a PUT that held no place) arrives now
    assert gate.check(headroom=PUT_HEADROOM) is not None  # (its limit: 0.625 s, no upload time taken off)
    waiting["n"], clock.now = 0, clock.now + RESERVATION_S  # the places lapsed unused: no sample from them
    assert gate.reserved() == 0 and gate.load()["uploadSeconds"] == pytest.approx(1.0, abs=0.02)


def test_a_flood_of_sdk_clients_is_refused_at_most_twice_each():
    """The integration flood on a fake clock: 30 clients at once against a limit of 4 while the one runner is busy for
    5 s (no pace measured meanwhile), then starting 13 jobs a second; the clients slow (1.5-3 s between sasUri and
    PUT: 30 threads of one process uploading on a busy machine), each retrying as azure-core does (Retry-After in
    whole seconds, three times). Judged afresh at every return, one of them was refused four times here (it came
    back each time to places taken by others) and would have failed, as 4 of 30 did in one run of the project's CI."""
    import heapq

    clock = Clock()
    start = clock.now
    state = {"waiting": 0, "pace": 0.0}
    gate = Admission(lambda: backlog(state["waiting"], peak=state["pace"]), max_waiting=4, clock=clock)
    events = [(start + k * 0.01, k, "ask", k) for k in range(30)]
    events += [(start + 5.0 + k / 13, 100 + k, "start", -1) for k in range(13 * 120)]
    heapq.heapify(events)
    refusals, admitted, seq = [0] * 30, set(), 10**6
    while events and len(admitted) < 30:
        clock.now, _, kind, client = heapq.heappop(events)
        seq += 1
        if kind == "start":  # the runner takes the next waiting job
            if state["waiting"]:
                state["pace"], state["waiting"] = 13.0, state["waiting"] - 1
        elif kind == "put":  # the upload done: the job waits
            assert gate.release("ws", f"job-{client}")
            state["waiting"] += 1
        elif (refusal := gate.check(hold=("ws", f"job-{client}"))) is None:
            admitted.add(client)
            heapq.heappush(events, (clock.now + 1.5 + (client % 4) * 0.5, seq, "put", client))
        else:
            refusals[client] += 1
            heapq.heappush(events, (clock.now + refusal.retry_after_s + 0.05, seq, "ask", client))
    assert len(admitted) == 30 and max(refusals) <= 2, refusals
