"""The output keeper: every Succeeded job's `rawOutputData` blob stays in step with the result kept in the store.

Blob storage may lose writes it acknowledged: Azurite keeps its blob index in memory and saves it every 5 s, so a
SIGKILL of Azurite (OOM, host crash, `kill -9`) loses the last seconds of writes. The store holds every result,
fsynced before the job became Succeeded (services/jobs/sqlite_store.py); this module puts lost blobs back:

- audit(since): compare every output written since `since` with storage and rewrite the missing or damaged ones.
  It runs at start-up (from the newest output minus LOSS_WINDOW_S: what the previous run wrote just before it
  ended), after the supervised Azurite died (`storage_restarted`), and after storage came back from an outage this
  module saw.
- verify (for storage this service does not supervise, where a restart can go unnoticed): each output is looked at
  once, SETTLE_S after it was written (by then Azurite has saved it); a missing one is rewritten and looked at again
  later, a present one is marked checked and never looked at again. One HEAD per job; off for the Azurite that
  `--with-azurite` supervises, whose deaths are seen directly.

Whatever the moment storage dies, a Succeeded job's blob is therefore back within about SETTLE_S + INTERVAL_S of
storage being reachable again (verify on), or at once when the supervised Azurite is restarted or the service
starts. Clients reading `outputDataUri` in between get 404; the native client then reads the kept result from
the gateway (`GET .../jobs/{id}/output`).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from services.blobs import StorageUnavailable
from services.jobs.store import JobStore, OutputRef, StoreFull

log = logging.getLogger(__name__)

SETTLE_S = 15.0  # Azurite saves its index every 5 s: an output this old has been saved, unless storage was lost
INTERVAL_S = 5.0  # between rounds
LOSS_WINDOW_S = 30.0  # how far before a crash or an outage writes may have been lost
BATCH = 200


class OutputKeeper:
    def __init__(self, store: JobStore, blobs: Any, *, verify: bool, settle_s: float = SETTLE_S,
                 interval_s: float = INTERVAL_S, loss_window_s: float = LOSS_WINDOW_S):
        self.store = store
        self.blobs = blobs  # services.blobs.azure_store.WorkspaceBlobs (or one BlobStore)
        self.verify = verify
        self.settle_s = settle_s
        self.interval_s = interval_s
        self.loss_window_s = loss_window_s
        self.restored = 0  # blobs rewritten since start (tests and logs)
        self._audit_since: float | None = None  # an audit is due from this time on
        self._outage_since: float | None = None  # storage stopped answering at this time
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Audit what the previous run wrote last (it may have ended with storage), then keep checking."""
        latest = await self.store.latest_output_time()
        if latest is not None:
            self._audit_since = latest - self.loss_window_s
        self._task = asyncio.create_task(self._loop(), name="output-keeper")
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def storage_restarted(self, at: float | None = None) -> None:
        """Storage died at `at` (epoch s; default now) and may have lost what it acknowledged shortly before."""
        since = (time.time() if at is None else at) - self.loss_window_s
        self._audit_since = since if self._audit_since is None else min(self._audit_since, since)
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
            self._wake.clear()
            try:
                await self.run_once()
            except StorageUnavailable as exc:
                if self._outage_since is None:
                    self._outage_since = time.time()
                    log.warning("blob storage unavailable (%s): lost outputs are restored when it is back", exc)
            except StoreFull:  # the store said so once; the next round tries again
                pass
            except Exception:  # noqa: BLE001 - the keeper must outlive a bug; the next round tries again
                log.exception("checking job outputs failed")

    async def run_once(self) -> None:
        """One round: a due audit, then (verify on) the outputs that have settled. StorageUnavailable propagates."""
        if self._outage_since is not None:  # storage answered again? (raises if not)
            await self._ping()
            self.storage_restarted(at=self._outage_since)
            self._outage_since = None
        if self._audit_since is not None:
            since = self._audit_since
            await self._audit(since)
            if self._audit_since == since:  # no new restart meanwhile
                self._audit_since = None
        if self.verify:
            await self._verify_settled()

    async def _ping(self) -> None:
        if not await self.blobs.ping():
            raise StorageUnavailable("blob storage does not answer")

    async def _audit(self, since: float) -> None:
        """Every output written since `since`, oldest first, in batches."""
        cursor = since
        while True:
            refs = await self.store.outputs_to_check(written_since=cursor, limit=BATCH)
            await self._check(refs)
            if len(refs) < BATCH:
                return
            cursor = refs[-1].written_at

    async def _verify_settled(self) -> None:
        while True:
            refs = await self.store.outputs_to_check(written_before=time.time() - self.settle_s, limit=BATCH)
            await self._check(refs)
            if len(refs) < BATCH:
                return

    async def _check(self, refs: list[OutputRef]) -> None:
        """Compare each output with its blob: rewrite missing or damaged blobs; mark present, settled ones checked."""
        settled_before = time.time() - self.settle_s
        checked: list[str] = []
        for ref in refs:
            try:
                blobs = self.blobs.for_workspace(ref.workspace)
                container, blob = blobs.output_location(ref.output_data_uri, ref.container_uri)
            except (LookupError, ValueError) as exc:  # a workspace no longer configured, an unparsable URL
                log.warning("job %s: cannot check its output blob: %s", ref.job_id, exc, extra={"job_id": ref.job_id})
                checked.append(ref.job_id)
                continue
            size = await blobs.blob_size(container, blob)
            if size == ref.size:
                if ref.written_at < settled_before:
                    checked.append(ref.job_id)
                continue
            kept = await self.store.output(None, ref.job_id)
            if kept is None:
                continue
            await blobs.write_output(container, kept.data)
            await self.store.output_rewritten(ref.job_id, time.time())
            self.restored += 1
            log.warning("job %s: rawOutputData was %s in blob storage; restored it from the store", ref.job_id,
                        "missing" if size is None else f"{size} bytes instead of {ref.size}",
                        extra={"job_id": ref.job_id})
        await self.store.outputs_checked(checked)
