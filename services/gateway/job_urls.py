"""A job as clients get it: the wire form with SAS URLs (container, input, and output once Succeeded), the SAS reused
for a while instead of signed again on every answer.

Why: every GET of a job signed two or three SAS tokens (HMAC plus azure-storage-blob's string building): two thirds of
the gateway's cost of a poll, and waiting clients poll (the SDK every 0.2 s growing to 30 s), so that cost grew with
the backlog. A SAS depends only on the blob, the permission and the times in it; the one signed for a blob is handed
out again until it is REUSE_S old (at most a tenth of OPENQIO_SAS_TTL_S), so every URL a client gets is still valid
for at least 90 % of the TTL (7 days by default): as long-lived as the contract needs, and fresh enough.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web

from contracts.jobs import JobDetails
from contracts.status import JobStatus
from services.blobs.azure_store import OUTPUT_BLOB, InvalidName

from .request import blobs_of

REUSE_S = 3600.0  # longest time a signed SAS is handed out again
CAPACITY = 16384  # signed URLs kept (a few hundred bytes each), least recently used dropped first


class SasCache:
    """Signed URLs by (account, kind, container, blob, permission), each reused for `reuse_s` seconds."""

    def __init__(self, sas_ttl_s: float, reuse_s: float = REUSE_S, capacity: int = CAPACITY,
                 clock: Callable[[], float] = time.monotonic):
        self.reuse_s = min(reuse_s, sas_ttl_s / 10)
        self.capacity = capacity
        self.clock = clock
        self.signed = 0  # SAS tokens signed (tests)
        self._urls: OrderedDict[tuple, tuple[float, str]] = OrderedDict()

    def url(self, key: tuple, sign: Callable[[], str]) -> str:
        now = self.clock()
        hit = self._urls.get(key)
        if hit is not None and now - hit[0] < self.reuse_s:
            self._urls.move_to_end(key)
            return hit[1]
        url = sign()
        self.signed += 1
        self._urls[key] = (now, url)
        self._urls.move_to_end(key)
        if len(self._urls) > self.capacity:
            self._urls.popitem(last=False)
        return url


SAS_CACHE = web.AppKey("sas_cache", SasCache)


def render_job(request: web.Request, job: JobDetails) -> dict[str, Any]:
    """The wire form with SAS URLs (no storage call: SAS signing is local)."""
    blobs = blobs_of(request)
    cache: SasCache = request.app[SAS_CACHE]
    account = blobs.account
    wire = job.to_wire()
    try:
        container = blobs.parse_container_uri(job.container_uri)
        wire["containerUri"] = cache.url((account, "container", container), lambda: blobs.job_container_sas_url(
            container))  # bound to the job's container, read + list
    except InvalidName:
        pass
    if job.input_data_uri:
        try:
            where = blobs.parse_blob_uri(job.input_data_uri)
            wire["inputDataUri"] = cache.url((account, "blob", *where), lambda: blobs.blob_sas_url(*where,
                                                                                                  permission="r"))
        except InvalidName:
            pass
    if job.status == JobStatus.SUCCEEDED:
        # Never null once Succeeded (the SDK crashes on urlparse(None)): fall back to the conventional blob name.
        try:
            if job.output_data_uri:
                out = blobs.parse_blob_uri(job.output_data_uri)
            else:
                out = (blobs.parse_container_uri(job.container_uri), OUTPUT_BLOB)
            wire["outputDataUri"] = cache.url((account, "blob", *out), lambda: blobs.blob_sas_url(*out,
                                                                                                permission="r"))
        except InvalidName:  # a URL of storage this service no longer serves: as stored, rather than a 500
            pass
    return wire
