"""Statistics for the service benchmark: percentiles, latency summaries and rates, in plain Python.

Percentiles interpolate linearly between order statistics (numpy's default `linear` method), so p50 of an even
sample is the mean of the two middle values and p100 is the maximum. Times are seconds unless a name says `_ms`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0 ≤ q ≤ 100) of `values`, linearly interpolated; ValueError on an empty sample."""
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    data = sorted(float(v) for v in values)
    if not data:
        raise ValueError("percentile of an empty sample")
    if any(math.isnan(v) for v in data):
        raise ValueError("percentile of a sample containing NaN")
    position = (len(data) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """A latency sample in milliseconds."""

    n: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    def to_dict(self) -> dict[str, float]:
        return {"n": self.n, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "mean_ms": self.mean_ms,
                "max_ms": self.max_ms}

    def brief(self) -> str:
        return f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms (n={self.n})"


def summarize(seconds: Sequence[float]) -> Summary:
    """p50 / p99 / mean / max of durations given in seconds, reported in milliseconds."""
    if not seconds:
        raise ValueError("summary of an empty sample")
    ms = [s * 1000.0 for s in seconds]
    return Summary(n=len(ms), p50_ms=percentile(ms, 50), p99_ms=percentile(ms, 99), mean_ms=sum(ms) / len(ms),
                   max_ms=max(ms))


def rate(count: int, start: float, end: float) -> float:
    """Events per second over [start, end]; ValueError when the interval is empty or reversed."""
    if end <= start:
        raise ValueError(f"rate over an empty interval ({start} .. {end})")
    return count / (end - start)


def span_seconds(start: datetime, end: datetime) -> float:
    """Seconds from `start` to `end` (timezone-aware datetimes, as the service reports them)."""
    return (end - start).total_seconds()


def none_waiting_share(jobs: list[tuple[datetime, datetime]]) -> float:
    """The share of the time from the first job's creation to the last one's start during which none of these jobs
    was Waiting (created, not yet started): time in which the runners had none of them queued. `jobs` are (created,
    started) pairs."""
    events = sorted([(created, 1) for created, _ in jobs] + [(started, -1) for _, started in jobs])
    if len(events) < 2 or events[-1][0] <= events[0][0]:
        return 0.0
    waiting, empty, since = 0, 0.0, events[0][0]
    for at, step in events:
        if waiting == 0:
            empty += span_seconds(since, at)
        waiting += step
        since = at
    return empty / span_seconds(events[0][0], events[-1][0])


def verdict(value: float, goal: float, lower_is_better: bool = True) -> str:
    """PASS when `value` meets `goal` (≤ for latencies, ≥ for rates), else MISS."""
    ok = value <= goal if lower_is_better else value >= goal
    return "PASS" if ok else "MISS"
