"""Run the async client from synchronous code: one private event loop in a daemon thread per sync Workspace.

Unlike `asyncio.run`, this works where an event loop is already running in the calling thread (Jupyter), keeps
the HTTP session of the workspace alive between calls, and cancels the coroutine when the caller is interrupted
(Ctrl-C while waiting for a job).
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """A private event loop, started on first use; `on_start` runs on it once, `on_stop` before it stops."""

    def __init__(self, name: str = "openqio-client",
                 on_start: Callable[[], Coroutine[Any, Any, Any]] | None = None,
                 on_stop: Callable[[], Coroutine[Any, Any, Any]] | None = None):
        self._name = name
        self._on_start = on_start
        self._on_stop = on_stop
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise RuntimeError("this Workspace has been closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                if self._on_start is not None:
                    asyncio.run_coroutine_threadsafe(self._on_start(), loop).result()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the private loop and wait for its result (its exception is raised here)."""
        if self._thread is not None and threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a sync Workspace method was called from inside its own event loop; "
                               "use services.client.aio in async code")
        try:
            loop = self._ensure()
        except BaseException:
            coro.close()
            raise
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt while waiting: stop the work on the loop too
            raise

    async def _finish(self) -> None:
        """On the loop, before it stops: `on_stop`, then every task still running (a poll or an event stream a
        caller left, a connection being opened) cancelled and awaited, so none leaves a socket open on a closed loop."""
        if self._on_stop is not None:
            await self._on_stop()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_asyncgens()

    def stop(self, timeout: float = 10.0) -> None:
        """Run `on_stop`, stop the loop and join its thread. Safe to call more than once, and at exit."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            self._closed = True
        if loop is None or thread is None:
            return
        try:
            if loop.is_running():
                asyncio.run_coroutine_threadsafe(self._finish(), loop).result(timeout)
        except Exception:  # noqa: BLE001 - best effort while shutting down
            pass
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()
