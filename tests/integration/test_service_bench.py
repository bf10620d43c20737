"""The service benchmark's code path on a few jobs (benchmarks/service): correctness only, never timings.

Every phase runs as `python -m benchmarks.service` runs it, against the real service: the burst verifies every job
(terminal once, listed once, one terminal event, cost recomputed independently), the paced phase and the cancel
phase produce their samples, and the big-store phase fills a store directly and reads it back over HTTPS.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.service import big_store, load, refusals, stack
from benchmarks.service.cpu import CpuMeter

pytestmark = pytest.mark.integration


async def test_burst_verifies_every_job(openqio_service):
    meter = CpuMeter.for_stack(os.getpid(), stack.processes(openqio_service, None))
    result = await load.burst(str(openqio_service.connection_file), jobs=20, clients=4, meter=meter)
    assert result.failures == []
    assert result.verified == 20
    assert result.server_jobs_per_s > 0 and result.client_jobs_per_s > 0
    assert result.cpu["client"] >= 0 and result.cpu["wall_s"] > 0


async def test_paced_phase_collects_the_latency_of_every_job(openqio_service):
    result = await load.paced(str(openqio_service.connection_file), offered_per_s=10, seconds=1.0, clients=2)
    assert result.failures == []
    assert result.jobs == 10 and result.server.n == 10 and result.queue.n == 10 and result.submit.n == 10
    assert result.server.p50_ms >= result.queue.p50_ms >= 0  # queueing is part of submit → end


async def test_cancel_phase_ends_cancelled(openqio_service):
    result = await load.cancels(str(openqio_service.connection_file), trials=1)
    assert result.failures == []
    assert result.server.n == 1 and result.client.n == 1
    assert result.server.max_ms > 0  # cancellationTime comes after the DELETE was sent


async def test_big_store_is_read_back_over_https(azurite, tmp_path: Path):
    ids = await big_store.fill(tmp_path / "jobs.sqlite3", 250, "openqio", azurite.blob_url)
    assert len(ids) == 250 and ids == sorted(ids)
    with stack.service(tmp_path, azurite.blob_url, 1, {"OPENQIO_WORKSPACE": "openqio"}) as svc:
        result = await big_store.time_reads(str(svc.connection_file), ids, repeats=5)
    assert result.jobs_in_store == 250 and result.page_size == 100
    assert result.list_first_page.n == result.get_job.n == result.list_next_page.n == 5


def test_refusals_are_measured_against_the_floor(tmp_path: Path):
    # every submission refused at its sasUri (none admitted, each with Retry-After), and the bare server's answers too
    measured = refusals.measure(tmp_path / "refusals", None, 1, 100, log=lambda message: None)
    assert measured.failures == []
    assert measured.ours.requests == measured.floor.requests == 100
    assert measured.ours.client_ms > 0 and measured.floor.client_ms > 0
