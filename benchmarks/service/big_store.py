"""A store with many jobs: fill a fresh SQLite job store directly (services.jobs.sqlite_store, its schema and
columns), start the real service on it, and time `list_jobs` (first page) and `get_job` over HTTPS.

The jobs are written in one transaction, as Succeeded jobs one second apart in creation order, so the dispatcher finds
nothing to run and the gateway's reads are what is timed. Each timed request is one HTTPS round trip on a kept-alive
connection, from sending the request to the last byte of the body, with the bearer token, as a client sees it.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from contracts.jobs import JobDetails, format_time
from contracts.status import JobStatus
from services.client._transport import RestClient
from services.client.connection import resolve_connection
from services.jobs.sqlite_store import _COLUMNS, SqliteJobStore, body_hash

from .stats import summarize

TARGET = "microsoft.simulatedannealing.cpu"


async def fill(db_path: Path, count: int, workspace: str, blob_url: str) -> list[str]:
    """Insert `count` Succeeded jobs (one transaction); returns their ids."""
    store = SqliteJobStore(db_path)
    await store.open()
    ids: list[str] = []
    rows = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        for k in range(count):
            job_id = f"bench-{k:07d}"
            created = start + timedelta(seconds=k)
            container = f"{blob_url}/job-{job_id}"
            job = JobDetails(
                id=job_id, name=f"load-{k}", container_uri=container, input_data_uri=f"{container}/inputData",
                input_data_format="microsoft.qio.v2", input_params={"params": {"sweeps": 20, "seed": k}},
                provider_id="Microsoft", target=TARGET, metadata=None, output_data_format="microsoft.qio-results.v2",
                tags=[],
            )
            rows.append((
                job_id, workspace, job.name, job.container_uri, job.input_data_uri, job.input_data_format,
                json.dumps(job.input_params), job.provider_id, job.target, None, f"{container}/rawOutputData",
                job.output_data_format, JobStatus.SUCCEEDED.value, format_time(created),
                format_time(created + timedelta(milliseconds=5)), format_time(created + timedelta(milliseconds=20)),
                None, None, None, "[]", 0, 1, body_hash(job),
            ))
            ids.append(job_id)
        await store.write(f"INSERT INTO jobs ({_COLUMNS}, body_hash) VALUES ({', '.join('?' * 23)})", rows)
    finally:
        await store.close()
    return ids


@dataclass
class ReadResult:
    jobs_in_store: int
    page_size: int
    list_first_page: Any  # Summary
    get_job: Any  # Summary
    list_next_page: Any  # Summary (the second page, through its cursor)


async def time_reads(connection_file: str, ids: list[str], repeats: int) -> ReadResult:
    connection = resolve_connection(connection_file=connection_file)
    rest = RestClient(connection)
    headers = {k: v for k, v in rest.headers().items() if k != "x-ms-client-request-id"}
    rng = random.Random(7)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=connection.ssl_context(), limit=1)) as session:
        async def timed(url: str) -> tuple[float, Any]:
            t0 = time.perf_counter()
            async with session.get(url, headers=headers) as resp:
                body = await resp.read()
                elapsed = time.perf_counter() - t0
                if resp.status != 200:
                    raise RuntimeError(f"GET {url} answered {resp.status}: {body[:300]!r}")
            return elapsed, body

        list_url = connection.url("jobs")
        _, body = await timed(list_url)  # warm the connection and the page cache
        first = json.loads(body)
        page_size = len(first["value"])
        if page_size == 0 or first["value"][0]["id"] != ids[0]:
            raise RuntimeError("the first page does not start with the oldest job")
        list_s = [(await timed(list_url))[0] for _ in range(repeats)]
        get_s = []
        for _ in range(repeats):
            job_id = rng.choice(ids)
            elapsed, body = await timed(connection.url("jobs", job_id))
            if json.loads(body)["id"] != job_id:
                raise RuntimeError(f"get_job({job_id}) answered another job")
            get_s.append(elapsed)
        deep = connection.absolute(first["nextLink"])  # the second page: a keyset cursor, not an offset
        next_s = [(await timed(deep))[0] for _ in range(repeats)]
    return ReadResult(jobs_in_store=len(ids), page_size=page_size, list_first_page=summarize(list_s),
                      get_job=summarize(get_s), list_next_page=summarize(next_s))


def run_fill(db_path: Path, count: int, workspace: str, blob_url: str) -> tuple[list[str], float]:
    t0 = time.perf_counter()
    ids = asyncio.run(fill(db_path, count, workspace, blob_url))
    return ids, time.perf_counter() - t0
