"""The sync Job, shaped like azure.quantum.Job. Each method runs the async Job's implementation on the
workspace's private loop (services.client.aio.job), so both clients share one implementation."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ._job_base import DEFAULT_TIMEOUT, JobBase
from .aio.job import Job as AioJob
from .events import JobEvent

if TYPE_CHECKING:
    from .workspace import Workspace

__all__ = ["Job"]


class Job(JobBase):
    workspace: Workspace

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        twin = AioJob(self.workspace._aio, self.details)
        try:
            return self.workspace._run(getattr(twin, method)(*args, **kwargs))
        finally:
            self.details = twin.details

    def submit(self) -> None:
        """PUT the job; `details` becomes the service's answer."""
        self._call("submit")

    def refresh(self) -> None:
        """Reload `details` from the service."""
        self._call("refresh")

    def wait_until_completed(self, max_poll_wait_secs: float = 30, timeout_secs: float | None = None,
                             print_progress: bool = True, *, progress: Callable[[JobEvent], Any] | None = None) -> None:
        """Poll as the SDK does (0.2 s, ×1.5, up to `max_poll_wait_secs`); TimeoutError after `timeout_secs`.

        With `progress=callback`, follow the job's event stream instead and call `callback(event)` for every
        JobEvent (history, live `progress` events with elapsed_s / sweeps_done / best_cost, the terminal event);
        see services.client.aio.Job.wait_until_completed. The callback runs on the workspace's private event-loop
        thread, so keep it short (update a progress bar, append to a list); what it raises propagates here."""
        self._call("wait_until_completed", max_poll_wait_secs, timeout_secs, print_progress, progress=progress)

    def stream_events(self, after: int = 0) -> Iterator[JobEvent]:
        """The job's events as they happen (a blocking generator over services.client.aio.Job.stream_events):
        `for event in job.stream_events(): ...` ends after the terminal event. Closing the generator early (break)
        closes the stream."""
        twin = AioJob(self.workspace._aio, self.details)
        stream = twin.stream_events(after)
        done = object()

        async def step() -> Any:
            try:
                return await anext(stream)
            except StopAsyncIteration:
                return done

        try:
            while True:
                event = self.workspace._run(step())
                if event is done:
                    return
                yield event
        finally:
            self.details = twin.details
            try:
                self.workspace._run(stream.aclose())
            except RuntimeError:  # the workspace was closed meanwhile: nothing left to close
                pass

    def get_results(self, timeout_secs: float = DEFAULT_TIMEOUT) -> Any:
        """Wait, download the output and return the parsed JSON; RuntimeError for Failed or Cancelled jobs."""
        return self._call("get_results", timeout_secs)

    def cancel(self) -> Job:
        """Cancel this job (DELETE, then GET); updates and returns this Job. ConflictError if it has finished."""
        self._call("cancel")
        return self

    def download_data(self, blob_uri: str) -> bytes:
        return self._call("download_data", blob_uri)

    def upload_attachment(self, name: str, data: bytes, container_uri: str | None = None, **kwargs: Any) -> str:
        return self._call("upload_attachment", name, data, container_uri, **kwargs)

    def download_attachment(self, name: str, container_uri: str | None = None) -> bytes:
        return self._call("download_attachment", name, container_uri)
