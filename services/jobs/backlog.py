"""The backlog in memory: which jobs are Waiting, the oldest of them, and how fast jobs start, kept by the job store as
its transitions commit, so that admission control (services/gateway/admission.py) asks nothing of SQLite on the
submission path.

How fast jobs start (`pace_per_s`, the pace the backlog moves at) is measured while the runners are the bottleneck:
from a start that left jobs Waiting to the next start, a job waited the whole time, so the runners took jobs as fast
as they could; the pace is the starts that ended such spans over the spans' total time, in the last BUSY_WINDOW_S.
Until those spans add up to MIN_BUSY_S, an estimate stands in: the most jobs started in one second over the last
PEAK_WINDOW_S, or, when higher, the rate the runners would keep up at with their recent jobs (`runners` over the mean
time from the start to the end of the last RUN_SAMPLES jobs that ran to their end, and of the jobs running longer
than that mean for as long as they have run: a runner stuck in a long job shows while it lasts). The peak alone
overstated the pace under overload, when refusing and polling clients take CPU from the runners: the estimated
queueing delay then ran low and admitted jobs waited longer than the limit; and it understates the pace while the
runners have never been the bottleneck: it is then how fast jobs arrived. A hundred SDK clients submitting at once
from threads (~30 jobs a second, against ~200 the runners take from native clients) were refused while no job waited,
their places held between `sasUri` and `PUT` judged at their own arrival rate (benchmarks/README.md). The runners'
time overstates the rate they keep up with tiny jobs, whose rate the rest of the stack's CPU sets, and with a job
alone on threads of idle runners; an overshoot that lasts until the runners are the bottleneck for MIN_BUSY_S (a
fraction of a second) and that the oldest Waiting job's wait also bounds (services/gateway/admission.py).

Until 2026-12-06 the pace was the mean count of starts in the whole seconds in which a start left jobs Waiting. A
second only partly busy (the one in which an overload began, or in which the backlog ran out) counted as busy with
its few starts: at the start of a flood the pace read 20 a second where the runners took ~150, admission estimated
3-11 s of queueing for 60 waiting jobs and told every refused client to come back seconds later, the backlog ran out
in a fraction of one, and the seconds after, busy again only in part, kept the estimate low. A 200 % phase of the
service benchmark's kind, driven at a limited service, once completed 27 % of capacity that way, the runners idle
three quarters of the time; bursts onto a limited service lost seconds the same way.

`WaitingJobs` is exact as long as one store owns the database (one service per data directory): it is loaded from
the table when the store opens and updated after every commit that moves a job into or out of Waiting. The oldest
Waiting job is found through a heap with lazy deletion: adding and removing are O(log n) (amortised), however many
jobs wait.
"""
from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.jobs import parse_time


@dataclass(frozen=True)
class Backlog:
    waiting: int  # jobs Waiting now
    oldest_created: datetime | None  # creation time of the oldest Waiting job (UTC); None when none waits
    started: int  # jobs moved to Executing since the store opened
    peak_starts_per_s: float  # most jobs started within one whole second over the last PEAK_WINDOW_S (0: none)
    pace_per_s: float = 0.0  # jobs started per second while the runners were the bottleneck (see above; 0: unknown)
    run_s: float = 0.0  # mean time from start to end of the last RUN_SAMPLES jobs that ran to their end (0: none yet)
    pace_measured: bool = False  # pace_per_s measured while the runners were the bottleneck (else the estimate)


PEAK_WINDOW_S = 60
BUSY_WINDOW_S = 5
MIN_BUSY_S = 0.25  # busy time measured before the pace replaces the estimate (a few spans can be a burst of claims)
RUN_SAMPLES = 33  # jobs whose time from start to end makes the runners' estimate


class WaitingJobs:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._created: dict[str, str] = {}  # job id -> creation_time (ISO-8601 UTC, sorts as text)
        self._heap: list[tuple[str, str]] = []  # (creation_time, id), stale entries included
        self.started = 0
        self._clock = clock
        # [second, jobs started in it, busy spans ended in it, their seconds], the last PEAK_WINDOW_S
        self._per_second: deque[list[Any]] = deque()
        self._busy_from: float | None = None  # the last start, if it left jobs Waiting that have waited since
        # the peak as of the whole seconds before `_peak_at`: final then (start() only counts the current second), so
        # admission, which asks on every submission, has it computed once a second
        self._peak_at = -1
        self._peak = 0.0
        self._oldest: tuple[str, datetime | None] = ("", None)  # the oldest creation time, as text and parsed
        self._running: dict[str, float] = {}  # job id -> clock time it started (jobs started while this store is open)
        self._runs: deque[float] = deque(maxlen=RUN_SAMPLES)  # start -> end of the last jobs that ran to their end
        self._run_s = 0.0  # their mean

    def start(self, job_id: str | None = None) -> None:
        """A job moved to Executing; `job_id` leaves the Waiting jobs if it was one."""
        now = self._clock()
        if job_id is not None:
            self._created.pop(job_id, None)
            self._running[job_id] = now
        self.started += 1
        second = int(now)
        if self._per_second and self._per_second[-1][0] == second:
            counts = self._per_second[-1]
        else:
            counts = [second, 0, 0, 0.0]
            self._per_second.append(counts)
            while self._per_second[0][0] <= second - PEAK_WINDOW_S:
                self._per_second.popleft()
        counts[1] += 1
        if self._busy_from is not None:
            counts[2] += 1
            counts[3] += now - self._busy_from
        self._busy_from = now if self._created else None

    def add(self, job_id: str, creation_time: str) -> None:
        self._created[job_id] = creation_time
        heapq.heappush(self._heap, (creation_time, job_id))
        if len(self._heap) > 2 * len(self._created) + 64:  # mostly stale: rebuild so memory stays O(waiting)
            self._heap = [(t, j) for j, t in self._created.items()]
            heapq.heapify(self._heap)

    def end(self, job_id: str, ran: bool) -> None:
        """A job left Executing; `ran`: it ran to its end (a job put back to wait, its runner lost, is no sample)."""
        started = self._running.pop(job_id, None)
        if started is not None and ran:
            self._runs.append(self._clock() - started)
            self._run_s = sum(self._runs) / len(self._runs)

    def discard(self, job_id: str) -> None:
        """A Waiting job left the backlog without starting (cancelled, failed, deleted)."""
        self._created.pop(job_id, None)
        if not self._created:
            self._busy_from = None  # the backlog ran out between two starts: the runners may have idled since

    def _run_time(self, now: float) -> float:
        """The mean time a job runs: the last jobs that ran to their end, and those running longer than them so far."""
        longer = [now - t for t in self._running.values() if now - t > self._run_s]
        if not longer:
            return self._run_s
        return (sum(self._runs) + sum(longer)) / (len(self._runs) + len(longer))

    def snapshot(self, runners: int = 0) -> Backlog:
        """`runners`: how many jobs run at once (0: unknown; the runners' estimate is then not made)."""
        heap = self._heap
        while heap and self._created.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        now = self._clock()
        if int(now) != self._peak_at:
            self._peak_at = second = int(now)
            self._peak = float(max((c[1] for c in self._per_second if second - PEAK_WINDOW_S < c[0] < second), default=0))
        spans = busy_s = 0.0
        for counts in reversed(self._per_second):  # the current second too: a span is whole when it is counted
            if counts[0] < now - BUSY_WINDOW_S:
                break
            spans += counts[2]
            busy_s += counts[3]
        measured = busy_s >= MIN_BUSY_S
        if measured:
            pace = spans / busy_s
        else:
            pace = max(self._peak, runners / self._run_time(now) if runners and self._runs else 0.0)
        oldest = None
        if heap:
            if self._oldest[0] != heap[0][0]:
                self._oldest = (heap[0][0], parse_time(heap[0][0]))
            oldest = self._oldest[1]
        return Backlog(waiting=len(self._created), oldest_created=oldest, started=self.started,
                       peak_starts_per_s=self._peak, pace_per_s=pace, run_s=self._run_s, pace_measured=measured)
