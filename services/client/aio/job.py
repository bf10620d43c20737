"""The async Job, shaped like azure.quantum.aio.Job, with the SDK's submission flow (job/base_job.py):

job id = uuid1 → `POST storage/sasUri {"containerName": "job-<id>"}` → create the container if missing →
upload `inputData` (gzip; Content-Type application/json or application/x-protobuf) → `PUT jobs/<id>` with the
container SAS as containerUri and the blob URL *without* SAS as inputDataUri.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlparse

from azure.core.exceptions import ResourceNotFoundError

from contracts.jobs import INPUT_FORMAT, OUTPUT_FORMAT

from .. import _storage
from .._job_base import DEFAULT_TIMEOUT, ContentType, JobBase
from ..details import JobDetails
from ..errors import AuthenticationError, ClientError, JobNotFoundError, ServiceConnectionError
from ..events import JobEvent, read_stream

if TYPE_CHECKING:
    from .workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["Job"]


class Job(JobBase):
    workspace: Workspace

    @staticmethod
    def create_job_id() -> str:
        return str(uuid.uuid1())

    # -- creation --------------------------------------------------------------------------------------------

    @classmethod
    async def from_input_data(
        cls,
        workspace: Workspace,
        name: str,
        target: str,
        input_data: bytes | Callable[[], Awaitable[bytes]],
        content_type: ContentType | str = ContentType.json,
        blob_name: str = "inputData",
        encoding: str = "",
        job_id: str | None = None,
        container_name: str | None = None,
        provider_id: str | None = None,
        input_data_format: str | None = None,
        output_data_format: str | None = None,
        input_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Job:
        """Upload `input_data` into the job's container and submit the job.

        `input_data` is the encoded input, or a function that encodes it (Solver.submit), called once the service
        has handed out the container's SAS and before the container is made: a submission the service refuses (429
        at `storage/sasUri`, at capacity) has not spent the encoding, and one whose encoding fails leaves nothing in
        storage."""
        job_id = job_id or cls.create_job_id()
        container_uri = await workspace.get_container_uri(job_id=job_id, container_name=container_name, create=False)
        if callable(input_data):
            input_data = await input_data()
        input_data_uri = await cls.upload_input_data(
            container_uri, input_data, content_type=content_type, blob_name=blob_name, encoding=encoding,
            **workspace._storage_kwargs(container_uri),
        )
        return await cls.from_storage_uri(
            workspace, name=name, target=target, input_data_uri=input_data_uri, provider_id=provider_id,
            input_data_format=input_data_format, output_data_format=output_data_format, container_uri=container_uri,
            job_id=job_id, input_params=input_params, **kwargs,
        )

    @classmethod
    async def from_storage_uri(
        cls,
        workspace: Workspace,
        name: str,
        target: str,
        input_data_uri: str,
        provider_id: str | None,
        input_data_format: str | None = INPUT_FORMAT,
        output_data_format: str | None = OUTPUT_FORMAT,
        container_uri: str | None = None,
        job_id: str | None = None,
        input_params: dict[str, Any] | None = None,
        submit_job: bool = True,
        **kwargs: Any,
    ) -> Job:
        """A job whose input is already in blob storage; its container (for the output) is created if needed."""
        job_id = job_id or cls.create_job_id()
        if container_uri is None:
            container_uri = await workspace.get_container_uri(job_id=job_id)
        details = JobDetails(
            id=job_id,
            name=name,
            container_uri=container_uri,
            input_data_format=input_data_format or INPUT_FORMAT,
            output_data_format=output_data_format or OUTPUT_FORMAT,
            input_data_uri=input_data_uri,
            provider_id=provider_id or "",
            target=target,
            input_params=input_params if input_params is not None else {},
            metadata=kwargs.get("metadata"),
            tags=list(kwargs.get("tags") or []),
        )
        job = cls(workspace, details)
        log.info("submitting job %s (%s) to %s", job_id, name, target, extra={"job_id": job_id})
        if submit_job:
            await job.submit()
        return job

    @staticmethod
    async def upload_input_data(
        container_uri: str,
        input_data: bytes,
        content_type: ContentType | str | None = ContentType.json,
        blob_name: str = "inputData",
        encoding: str = "",
        create_container: bool = True,
        **client_kwargs: Any,
    ) -> str:
        """Upload the input blob (creating the container first unless told it exists); returns the blob's URL
        without SAS (the SDK's `return_sas_token=False`)."""
        if create_container:
            await _storage.create_container(container_uri, **client_kwargs)
        kind = content_type.value if isinstance(content_type, ContentType) else (content_type or ContentType.json.value)
        return await _storage.upload_blob(container_uri, blob_name, input_data, kind, encoding or None, **client_kwargs)

    # -- life cycle ------------------------------------------------------------------------------------------

    async def submit(self) -> None:
        """PUT the job; `details` becomes the service's answer (status Waiting, server times)."""
        self.details = (await self.workspace.submit_job(self)).details

    async def refresh(self) -> None:
        self.details = (await self.workspace.get_job(self.id)).details

    async def wait_until_completed(self, max_poll_wait_secs: float = 30, timeout_secs: float | None = None,
                                   print_progress: bool = True, *,
                                   progress: Callable[[JobEvent], Any] | None = None) -> None:
        """Wait until the job has completed.

        Without `progress`: poll as the SDK does: GET now, then sleep 0.2 s growing ×1.5 until a sleep reaches
        `max_poll_wait_secs`, then every `max_poll_wait_secs`; TimeoutError once the sleeps add up to
        `timeout_secs`; a dot per poll unless `print_progress=False`.

        With `progress` (a function or coroutine function of one `JobEvent`): follow the job's event stream and
        call it for every event, history first (submitted, started, ...), then live `progress` events (data:
        elapsed_s, sweeps_done, best_cost; at most one a second) and finally the terminal event. If the stream
        cannot be used (an older service, a proxy that buffers), it falls back to polling the job and its event
        log, so the callback still sees every event. `timeout_secs` is then wall-clock time. An exception raised
        by the callback stops the wait and propagates."""
        if progress is None:
            await self._poll_until_completed(max_poll_wait_secs, timeout_secs, print_progress)
            return
        try:
            async with asyncio.timeout(timeout_secs):
                await self._follow(progress, max_poll_wait_secs)
        except TimeoutError:
            raise TimeoutError(f"The wait time has exceeded {timeout_secs} seconds.") from None

    async def _poll_until_completed(self, max_poll_wait_secs: float, timeout_secs: float | None,
                                    print_progress: bool) -> None:
        await self.refresh()
        poll_wait = 0.2
        total_time = 0.0
        while not self.has_completed():
            if timeout_secs is not None and total_time >= timeout_secs:
                raise TimeoutError(f"The wait time has exceeded {timeout_secs} seconds.")
            log.debug("waiting for job %s, status %s", self.id, self.details.status, extra={"job_id": self.id})
            if print_progress:
                print(".", end="", flush=True)
            await asyncio.sleep(poll_wait)
            total_time += poll_wait
            await self.refresh()
            poll_wait = max_poll_wait_secs if poll_wait >= max_poll_wait_secs else poll_wait * 1.5

    async def _follow(self, progress: Callable[[JobEvent], Any], max_poll_wait_secs: float) -> None:
        last = 0
        stream = self.stream_events(after=0)
        try:
            while True:
                try:
                    event = await anext(stream)
                except StopAsyncIteration:
                    break
                except (AuthenticationError, JobNotFoundError):
                    raise
                except (ClientError, ServiceConnectionError) as exc:
                    log.warning("job %s: event stream unavailable (%s); polling instead", self.id, exc,
                                extra={"job_id": self.id})
                    await self._poll_events(progress, last, max_poll_wait_secs)
                    return
                last = event.seq
                await _deliver(progress, event)
        finally:
            await stream.aclose()
        await self.refresh()

    async def _poll_events(self, progress: Callable[[JobEvent], Any], after: int, max_poll_wait_secs: float) -> None:
        """The fallback: poll the job (SDK back-off, capped at 1 s so progress stays live) and its event log."""
        poll_wait = 0.2
        while True:
            await self.refresh()
            done = self.has_completed()  # read before the events, so the terminal event is in the next read
            for item in await self.workspace.job_events(self.id, after=after):
                event = JobEvent.from_wire(item)
                after = event.seq
                await _deliver(progress, event)
            if done:
                return
            await asyncio.sleep(poll_wait)
            poll_wait = min(poll_wait * 1.5, max_poll_wait_secs, 1.0)

    async def stream_events(self, after: int = 0, *, reconnects: int = 5) -> AsyncGenerator[JobEvent, None]:
        """The job's events as they happen, from the service's event stream (server-sent events):

            async for event in job.stream_events():
                if event.is_progress:
                    print(event.data["sweeps_done"], event.data["best_cost"])

        Starts after sequence number `after` (0: the whole history), ends after the terminal event (succeeded,
        failed or cancelled); for a finished job it replays the history and ends. A dropped connection is resumed
        where it stopped (Last-Event-ID), up to `reconnects` times in a row; then ServiceConnectionError.
        401/404 answers raise AuthenticationError / JobNotFoundError at once."""
        url = self.workspace.connection.url("jobs", self.id, "stream")
        failures = 0
        while True:
            try:
                # aclosing: a stream closed early closes its connection now, not when the loop collects the reader
                async with contextlib.aclosing(read_stream(self.workspace._rest, url, after=after)) as events:
                    async for event in events:
                        failures = 0
                        after = event.seq
                        yield event
                        if event.is_terminal:
                            return
                # Ended without a terminal event: the service is shutting down, or `after` was past the end.
                await self.refresh()
                if self.has_completed():
                    return
                error: Exception | None = None
            except ServiceConnectionError as exc:
                error = exc
            except ClientError as exc:
                if exc.status not in (502, 503, 504) or exc.code == "TooManyStreams":
                    raise  # TooManyStreams: reconnecting would only add load; callers poll instead
                error = exc
            failures += 1
            if failures > reconnects:
                if isinstance(error, ClientError):
                    try:
                        raise error
                    finally:
                        del error  # no frame ↔ exception cycle left for the garbage collector
                raise ServiceConnectionError(f"the event stream of job {self.id} keeps breaking ({error})")
            await asyncio.sleep(min(0.5 * 2 ** (failures - 1), 10.0))

    async def get_results(self, timeout_secs: float = DEFAULT_TIMEOUT) -> Any:
        """Wait for the job, download `outputDataUri` and return the parsed JSON (raw text or bytes if it is not
        JSON). RuntimeError for a Failed or Cancelled job, with its errorData."""
        if not self.has_completed():
            await self.wait_until_completed(timeout_secs=timeout_secs)
        if self.details.status != "Succeeded":
            raise self._results_error()
        try:
            payload = await self.download_data(self.details.output_data_uri)
        except ResourceNotFoundError:
            # Blob storage lost the result (a killed Azurite forgets its last seconds of writes); the service kept it
            # and is putting the blob back: read its copy meanwhile.
            return await self.workspace.job_output(self.id)
        try:
            return json.loads(payload.decode("utf-8"))
        except ValueError:
            try:
                return payload.decode("utf-8")
            except UnicodeDecodeError:
                return payload

    async def cancel(self) -> Job:
        """Cancel this job (DELETE, then GET); this Job's details become the new state, which is also returned."""
        cancelled = await self.workspace.cancel_job(self)
        self.details = cancelled.details
        return self

    # -- blobs -----------------------------------------------------------------------------------------------

    async def download_data(self, blob_uri: str | None) -> bytes:
        """Download a blob; a URL without a SAS (`se=`) first gets one from `POST storage/sasUri`."""
        if not blob_uri:
            raise RuntimeError(f"job {self.id} has no output data URI although it has {self.details.status}")
        if "se=" not in urlparse(blob_uri).query:
            container, blob = _storage.blob_names(blob_uri)
            blob_uri = await self.workspace._get_linked_storage_sas_uri(container, blob)
        return await _storage.download_blob(blob_uri, **self.workspace._storage_kwargs(blob_uri))

    async def upload_attachment(self, blob_name: str, data: bytes, container_uri: str | None = None,
                                **kwargs: Any) -> str:
        container_uri = container_uri or await self.workspace.get_container_uri(job_id=self.id)
        return await self.upload_input_data(container_uri, data, blob_name=blob_name, **kwargs,
                                            **self.workspace._storage_kwargs(container_uri))

    async def download_attachment(self, name: str, container_uri: str | None = None) -> bytes:
        container_uri = container_uri or await self.workspace.get_container_uri(job_id=self.id)
        base, _, query = container_uri.partition("?")
        url = f"{base}/{quote(name)}" + (f"?{query}" if query else "")
        return await _storage.download_blob(url, **self.workspace._storage_kwargs(url))


async def _deliver(callback: Callable[[JobEvent], Any], event: JobEvent) -> None:
    result = callback(event)
    if inspect.isawaitable(result):
        await result
