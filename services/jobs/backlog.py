"""The backlog in memory: which jobs are Waiting, the oldest of them, and how fast jobs start, kept by the job store as
its transitions commit, so that admission control (services/gateway/admission.py) asks nothing of SQLite on the
submission path.

How fast jobs start (`pace_per_s`, the pace the backlog moves at) is the mean of the last BUSY_WINDOW_S whole seconds
in which jobs were left Waiting when one started (the runners were the bottleneck, so the starts were the service's
throughput then); with no such second recently, the most started in one second over the last PEAK_WINDOW_S. The
peak alone overstated the pace under overload, when refusing and polling clients take CPU from the runners: the
estimated queueing delay then ran low and admitted jobs waited longer than the limit.

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

from contracts.jobs import parse_time


@dataclass(frozen=True)
class Backlog:
    waiting: int  # jobs Waiting now
    oldest_created: datetime | None  # creation time of the oldest Waiting job (UTC); None when none waits
    started: int  # jobs moved to Executing since the store opened
    peak_starts_per_s: float  # most jobs started within one whole second over the last PEAK_WINDOW_S (0: none)
    pace_per_s: float = 0.0  # jobs started per second while the runners were the bottleneck (see above; 0: unknown)


PEAK_WINDOW_S = 60
BUSY_WINDOW_S = 5


class WaitingJobs:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._created: dict[str, str] = {}  # job id -> creation_time (ISO-8601 UTC, sorts as text)
        self._heap: list[tuple[str, str]] = []  # (creation_time, id), stale entries included
        self.started = 0
        self._clock = clock
        # [second, jobs started in it, 1 if a job was left Waiting by one of those starts], the last PEAK_WINDOW_S
        self._per_second: deque[list[int]] = deque()
        # (peak, pace) as of the whole seconds before `_rates_at`: they are final then (start() only counts the
        # current second), so admission, which asks on every submission, has them computed once a second
        self._rates_at = -1
        self._rates = (0.0, 0.0)
        self._oldest: tuple[str, datetime | None] = ("", None)  # the oldest creation time, as text and parsed

    def start(self) -> None:
        """A job moved to Executing."""
        self.started += 1
        second = int(self._clock())
        busy = 1 if self._created else 0
        if self._per_second and self._per_second[-1][0] == second:
            self._per_second[-1][1] += 1
            self._per_second[-1][2] |= busy
        else:
            self._per_second.append([second, 1, busy])
            while self._per_second[0][0] <= second - PEAK_WINDOW_S:
                self._per_second.popleft()

    def add(self, job_id: str, creation_time: str) -> None:
        self._created[job_id] = creation_time
        heapq.heappush(self._heap, (creation_time, job_id))
        if len(self._heap) > 2 * len(self._created) + 64:  # mostly stale: rebuild so memory stays O(waiting)
            self._heap = [(t, j) for j, t in self._created.items()]
            heapq.heapify(self._heap)

    def discard(self, job_id: str) -> None:
        self._created.pop(job_id, None)

    def snapshot(self) -> Backlog:
        heap = self._heap
        while heap and self._created.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        now = int(self._clock())
        if now != self._rates_at:
            whole = [(second, n, busy) for second, n, busy in self._per_second if now - PEAK_WINDOW_S < second < now]
            peak = max((n for _, n, _ in whole), default=0)
            busy = [n for second, n, was_busy in whole if was_busy and second >= now - BUSY_WINDOW_S]
            self._rates_at, self._rates = now, (float(peak), sum(busy) / len(busy) if busy else float(peak))
        oldest = None
        if heap:
            if self._oldest[0] != heap[0][0]:
                self._oldest = (heap[0][0], parse_time(heap[0][0]))
            oldest = self._oldest[1]
        return Backlog(waiting=len(self._created), oldest_created=oldest, started=self.started,
                       peak_starts_per_s=self._rates[0], pace_per_s=self._rates[1])
