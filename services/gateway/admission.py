"""Admission control: past a configured backlog (OPENQIO_MAX_WAITING jobs Waiting) or queueing delay
(OPENQIO_MAX_QUEUE_DELAY_S), new work is refused with 429 Too Many Requests and a Retry-After, instead of being
admitted to wait minutes while its client polls (every poll costs the client, the gateway and TLS).

Where: at `POST storage/sasUri` for a container (the first call of every SDK and native-client submission, before any
upload, so refused work costs one small request) and at `PUT jobs/{id}` (for clients that skip sasUri), with a
quarter more room there (PUT_HEADROOM), so a submission let in at sasUri a few milliseconds earlier is not refused at
its PUT after it uploaded its input.
A re-PUT of a job that exists is never refused (it is answered as stored). Reads, cancels and downloads never are.

A submission admitted at sasUri holds its place until its PUT (or RESERVATION_S, for a client that never comes back):
the backlog that sasUri judges is the Waiting jobs plus those places. Without them every client that asked while the
first admitted ones were still uploading was let in too (a flood overshot the limit by the arrival rate × the upload
time, and admitted jobs waited seconds past the queueing-delay limit). A PUT gives its own place back and, while
that place was held, is admitted without being judged again (it was counted when it was let in): a submission admitted
at sasUri is refused at its PUT only when its place expired, never after uploading its input because the backlog
grew meanwhile (19 of 3363 refusals at 320 jobs/s offered had come that way). A PUT that held no place is judged on
the Waiting jobs, with PUT_HEADROOM.

A held place counts from when its job will arrive: at sasUri, the time from sasUri to PUT of recent admitted
submissions (the median of the last UPLOAD_SAMPLES, `upload_s`) is taken off the queueing delay the backlog over the
pace gives, since the runners start jobs while the new submission uploads and the places held arrive within about
that time too (at most the queueing limit: measured on slow clients, with fast ones arriving at once, it admits at
most twice the limit). A hundred SDK clients submitting at once from threads were refused while no job waited near
the limit, their places judged as jobs already waiting: at a 0.5 s limit, 42-98 answers 429 with the queue's p99 at
17-140 ms and 19-29 jobs a second completed, against 32-36 without a limit (7 and 3 floods); with the upload time
taken off (0.06-0.44 s at the flood's end, in the 3 floods that read it), 10-89 answers 429 (median 45, against 88)
and 23-34 jobs a second (median 27, against 22; 7 floods). What refused them still was the pace: while the runners
have never been the bottleneck it is not measured, and the peak start rate that stood in alone was, for clients that
slow, their own arrival rate; the runners' time per job now stands in too (services/jobs/backlog.py): no answer 429
in 5 such floods, against 13-82 with the peak alone. A PUT that held no place arrives as it is judged: nothing is
taken off.

The queueing delay is the larger of two measures: how long the oldest Waiting job has waited (exact, but it lags: at
the start of a flood it is still small), and the backlog divided by the pace jobs start at while the runners are
busy (services/jobs/backlog.py: starts over the time jobs waited between them; what a new job would wait at that pace;
until a quarter of a second of it is measured, the peak start rate of the last minute or the runners over their
recent time per job, whichever is higher). Both come from memory: admission asks the database nothing.

Retry-After says when a refused client should come back: the time for the backlog to fall under the limit at the
measured pace, and later for each further refused client (as many per second as the backlog can take back: the
pace, and at most OPENQIO_MAX_WAITING), so that refused clients come back spread over time, not all at once to be
refused again. The clients counted ahead of a refused one are those refused in the last SPREAD_WINDOW_S or so (a
count that decays), not every client ever refused: a client that never comes back (one that gives up, or the
benchmark's tried-once ones) must not push later ones further out. Counting them all, 30 s of refusing ~190
submissions a second at a pace of ~140 put the next slot ~10 s ahead, and a flood of retrying clients right after
was told to wait that long while the runners idled: 59 jobs a second, 35 % of capacity, against 114-155 (74-98 %,
4 runs) since (the service benchmark's "flood" phase). Whole seconds (RFC 9110), 1 to 60. azure-core (the azure-quantum SDK)
retries any answer that carries Retry-After, three times; the native client for up to 5 minutes
(services/client/_transport.py).

A client that comes back as told (at sasUri, for the same container: azure-core and the native client retry the
request as it was) and is refused again is promised a place: a time (a slot, the promises one 1/pace apart, at
most OPENQIO_MAX_WAITING a second, after the room the backlog needs) from which its container is admitted
whatever the backlog, for PROMISE_GRACE_S. A promised place counts toward the backlog that sasUri judges from the
promise on, so clients refused for the first time queue behind it. A client that waits as told is thus refused at
most twice: azure-core's three retries suffice, whatever the pace. Before this, each return was judged afresh against
the newcomers: in a flood of 30 SDK clients at a service limited to 4 waiting, with the one runner busy 5 s, the
pace unknown meanwhile and four slow uploads holding the places after, a client could be refused four times and
fail (1 run in 4 of the suite on a 2-core VM; 4 of 30 clients in one run of the project's CI). A promise is kept
even when the pace it was reckoned at was wrong (the backlog then passes the limit by the promised clients, at most
one per slot); the clients refused only once, who may never come back (the benchmark's tried-once ones), are promised
nothing and hold nothing.

The same time to the millisecond is in `retry-after-ms` (Azure's header for it, which azure-core also reads, after
Retry-After): whole seconds come back too late when the backlog drains in less than one. With a 0.5 s queueing
limit, 50 native clients flooding the service with 1000 jobs were all told "1", came back 1-1.25 s later to runners
idle since the backlog ran out at 0.5 s, and the service completed 96-131 jobs a second (5 runs; ~165 without a
limit), in waves; told the milliseconds, 117-156 (median 146 against 117). The native client waits those.
"""
from __future__ import annotations

import logging
import math
import statistics
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from contracts import errors
from services.jobs.backlog import Backlog

log = logging.getLogger(__name__)

PUT_HEADROOM = 1.25  # PUT jobs/{id} refuses only past this multiple of the limits (its sasUri was admitted)
RESERVATION_S = 10.0  # how long a submission admitted at sasUri holds its place before its PUT
LOG_EVERY_S = 10.0  # while refusing, one log line this often (not one per refusal)
MIN_RETRY_AFTER_MS = 10  # the shortest retry-after-ms (a client told 0 would ask again at once)
SPREAD_WINDOW_S = 1.0  # refused clients are spread after one another as far back as the refusals of about this long
PROMISE_GRACE_S = RESERVATION_S  # a promised place waits this long past its slot for its client (as a held place)
TOLD_KEEP_S = 70.0  # how long a refused container is remembered (its Retry-After, at most 60 s, and then some)
TOLD_MAX = 100_000  # and at most this many (the oldest forgotten first)
EARLY_S = 0.05  # a client back this much before the time it was told is still on time (the two clocks' rounding)
UPLOAD_SAMPLES = 33  # the time from sasUri to PUT is the median of this many recent submissions


@dataclass(frozen=True)
class Refusal:
    retry_after_ms: int  # when to come back, to the millisecond (retry-after-ms), 10 to 60 000
    reason: str  # why, for the message

    @property
    def retry_after_s(self) -> int:
        """The same time in whole seconds (Retry-After), rounded up: 1 to 60."""
        return max(1, math.ceil(self.retry_after_ms / 1000))

    @property
    def message(self) -> str:
        return f"{self.reason}; retry after {self.retry_after_s} s"

    def response(self) -> web.Response:
        """429 {"error": {"code": "TooManyRequests", "message"}} with Retry-After and retry-after-ms."""
        return web.json_response({"error": {"code": errors.TOO_MANY_REQUESTS, "message": self.message}}, status=429,
                                 headers={"Retry-After": str(self.retry_after_s),
                                          "retry-after-ms": str(self.retry_after_ms)})


class Admission:
    def __init__(self, backlog: Callable[[], Backlog], max_waiting: int = 0, max_queue_delay_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        self.backlog = backlog
        self.max_waiting = max_waiting  # 0: no limit
        self.max_queue_delay_s = max_queue_delay_s  # 0: no limit
        self.clock = clock
        self.refused = 0  # submissions refused since start
        self._recent = 0.0  # refusals of the last SPREAD_WINDOW_S or so (decaying: each counts e^(-age / window))
        self._recent_at = 0.0  # clock time _recent was last updated
        self._logged_at = -math.inf
        self._refused_logged = 0
        self._places: OrderedDict[tuple[str, str], float] = OrderedDict()  # (workspace, container) -> held until
        self._told: OrderedDict[tuple[str, str], float] = OrderedDict()  # refused at sasUri -> told to come back at
        self._promised: OrderedDict[tuple[str, str], float] = OrderedDict()  # came back, refused again -> its slot
        self._last_slot = -math.inf  # the latest slot promised
        self._uploads: deque[float] = deque(maxlen=UPLOAD_SAMPLES)  # sasUri -> PUT of recent admitted submissions
        self.upload_s = 0.0  # their median: how long a submission admitted at sasUri takes to arrive as a job

    def reserved(self) -> int:
        """Places held by submissions admitted at sasUri that have not PUT their job yet."""
        _drop_lapsed(self._places, self.clock())
        return len(self._places)

    def promised(self) -> int:
        """Places promised to clients that came back as told and were refused again, not yet taken or lapsed."""
        _drop_lapsed(self._promised, self.clock() - PROMISE_GRACE_S)  # (slots are promised in increasing order)
        return len(self._promised)

    def release(self, workspace: str, container: str) -> bool:
        """The submission of this container PUTs its job: its place (if any) is given back. True when it held one
        still (its sasUri was admitted less than RESERVATION_S ago): the PUT is then admitted without a new check."""
        until = self._places.pop((workspace, container), None)
        now = self.clock()
        if until is None or until <= now:
            return False
        self._uploads.append(now - (until - RESERVATION_S))
        self.upload_s = statistics.median(self._uploads)  # (under 1 µs for 33: no need to spare it)
        return True

    @property
    def enabled(self) -> bool:
        return self.max_waiting > 0 or self.max_queue_delay_s > 0

    def check(self, headroom: float = 1.0, hold: tuple[str, str] | None = None) -> Refusal | None:
        """None: admit. Else why not, and when to come back. `headroom` multiplies the limits. `hold`: the (workspace,
        container) of a new submission at sasUri: the places already held count (its own excepted), and admitting it
        holds one for it."""
        if not self.enabled:
            return None
        now = self.clock()
        backlog = self.backlog()
        held = promised = 0  # places held by submissions uploading; places promised to returning clients
        returning = False  # back at or after the time it was told
        if hold is not None:
            self._places.pop(hold, None)
            slot = self._promised.get(hold)
            if slot is not None and slot + PROMISE_GRACE_S > now:
                if now < slot - EARLY_S:  # early: the promise stands, for the time it was given
                    self.refused += 1
                    return Refusal(max(MIN_RETRY_AFTER_MS, math.ceil((slot - now) * 1000)),
                                   "the service is at capacity; this submission's place is kept from the time it was "
                                   "told to come back")
                del self._promised[hold]  # kept: admitted whatever the backlog
                self._places[hold] = now + RESERVATION_S
                return None
            told = self._told.pop(hold, None)
            returning = told is not None and now >= told - EARLY_S
            held, promised = self.reserved(), self.promised()
        ahead = backlog.waiting + held + promised
        measured = backlog.pace_per_s
        delay = _queueing_s(backlog, ahead, self._upload_off() if hold is not None else 0.0)
        over_count, over_delay = self._over(ahead, delay, headroom)
        if over_count <= 0 and over_delay <= 0:
            if hold is not None:
                self._places[hold] = now + RESERVATION_S
            return None
        pace = measured or 1.0  # jobs per second the backlog moves at (a guess of 1/s until it has been measured)
        room = min(pace, self.max_waiting) if self.max_waiting else pace  # refused clients one second can take back
        if returning and hold is not None:  # promised a place: the next slot after the room the backlog needs
            slot = min(now + 60.0, max(now + max(over_count / pace, over_delay), self._last_slot + 1.0 / room))
            self._promised[hold] = self._last_slot = slot
            wait_s = slot - now
        else:
            self._recent = self._recent * math.exp(-(now - self._recent_at) / SPREAD_WINDOW_S) + 1.0
            self._recent_at = now
            wait_s = max(over_count / pace, over_delay) + (self._recent - 1.0) / room
        retry_after_ms = min(60_000, max(MIN_RETRY_AFTER_MS, math.ceil(wait_s * 1000)))
        if hold is not None and not returning:
            self._remember(hold, now + retry_after_ms / 1000)
        self._note_refusal(now, backlog, delay, measured, retry_after_ms / 1000)
        limits = [f"{self.max_waiting * headroom:g} waiting" if self.max_waiting else "",
                  f"{self.max_queue_delay_s * headroom:g} s queueing delay" if self.max_queue_delay_s else ""]
        others = f" and {held} being submitted" if held else ""
        others += f", {promised} place(s) promised to clients told to come back" if promised else ""
        return Refusal(retry_after_ms,
                       f"the service is at capacity: {backlog.waiting} job(s) waiting{others}, about {delay:.1f} s of "
                       f"queueing (limit: {' or '.join(filter(None, limits))})")

    def load(self) -> dict[str, Any]:
        """What admission sees now, for operators (GET /dashboard/load): the backlog it judges, the queueing delay it
        estimates, whether a new submission would be admitted, and how many it has refused. Changes nothing."""
        backlog = self.backlog()
        held, promised = self.reserved(), self.promised()
        ahead = backlog.waiting + held + promised
        delay = _queueing_s(backlog, ahead, self._upload_off())
        over_count, over_delay = self._over(ahead, delay, 1.0)
        return {
            "waiting": backlog.waiting,
            "beingSubmitted": held,
            "promised": promised,
            "pacePerSecond": round(backlog.pace_per_s, 1) if backlog.pace_per_s else None,
            "paceMeasured": backlog.pace_measured,  # false: estimated (the runners not the bottleneck lately)
            "queueingDelaySeconds": round(delay, 3),
            "uploadSeconds": round(self.upload_s, 3),
            "admitting": not self.enabled or (over_count <= 0 and over_delay <= 0),
            "refusedSinceStart": self.refused,
            "limits": {"maxWaiting": self.max_waiting or None, "maxQueueDelaySeconds": self.max_queue_delay_s or None},
        }

    def _upload_off(self) -> float:
        """The time taken off the delay judged at sasUri: the recent uploads' median, at most the queueing limit (an
        upload time measured on slow clients, with fast ones arriving at once, admits at most twice the limit)."""
        return min(self.upload_s, self.max_queue_delay_s)

    def _over(self, ahead: int, delay: float, headroom: float) -> tuple[float, float]:
        """How far past each limit a new submission would be (jobs, seconds; ≤ 0: within it, or no such limit)."""
        over_count = ahead + 1 - self.max_waiting * headroom if self.max_waiting else 0.0
        over_delay = delay - self.max_queue_delay_s * headroom if self.max_queue_delay_s else 0.0
        return over_count, over_delay

    def _remember(self, key: tuple[str, str], told_at: float) -> None:
        """A container refused for the first time: it was told to come back at `told_at`."""
        _drop_lapsed(self._told, self.clock() - TOLD_KEEP_S)
        while len(self._told) >= TOLD_MAX:
            self._told.popitem(last=False)
        self._told[key] = told_at

    def _note_refusal(self, now: float, backlog: Backlog, delay: float, pace: float, told_s: float) -> None:
        self.refused += 1
        if now - self._logged_at >= LOG_EVERY_S:
            log.warning("refusing new jobs (429): %d refused since the last note; %d waiting, %.1f s of queueing at %s; "
                        "this one told to come back in %.2f s", self.refused - self._refused_logged, backlog.waiting,
                        delay, f"{pace:.0f} jobs started a second" if pace else "an unknown pace", told_s,
                        extra={"refused": self.refused, "waiting": backlog.waiting, "pace_per_s": round(pace, 1)})
            self._logged_at, self._refused_logged = now, self.refused


def _queueing_s(backlog: Backlog, ahead: int, upload_s: float) -> float:
    """The queueing delay a new job would meet: the larger of the oldest Waiting job's wait and `ahead` jobs at the
    measured pace (0 while the pace is unknown), less the `upload_s` its submission takes to arrive (the runners
    start jobs meanwhile, and the places held arrive within about that time too)."""
    waited = 0.0
    if backlog.oldest_created is not None:
        waited = max(0.0, (datetime.now(UTC) - backlog.oldest_created).total_seconds())
    return max(waited, ahead / backlog.pace_per_s - upload_s if backlog.pace_per_s else 0.0)


def _drop_lapsed(entries: OrderedDict[tuple[str, str], float], until: float) -> None:
    """Forget the oldest entries while their time is `until` or before (entries are added in about that order)."""
    while entries and next(iter(entries.values())) <= until:
        entries.popitem(last=False)
