"""Storage round trips per job, counted end to end (issue 18): the service and the native client reach a real Azurite
through a counting proxy (the service's OPENQIO_BLOB_URL, hence also the SAS URLs clients get), a few jobs are
submitted, run and read back, and every blob request is classified.

A tiny job costs Azurite exactly five requests: the client's container create and input upload, the service's one
input read (PUT job's probe, whose bytes the dispatcher reuses), its result write, and the client's result read.
The output keeper's one HEAD per job (OPENQIO_VERIFY_OUTPUTS=on, the default for an Azurite the service does not
supervise) comes 15 s later and is switched off here; `make run` (--with-azurite) has it off too.
"""
from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from services.client.aio import Workspace
from services.client.aio.optimization import Problem, ProblemType, SimulatedAnnealing
from tests.service import Service, serving

pytestmark = pytest.mark.integration

JOBS = 4
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


class CountingProxy:
    """A reverse proxy to `target` on its own thread and event loop (the service starts synchronously meanwhile),
    counting requests by (method, kind): kind is `container` for `restype=container`, else the blob's name."""

    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.counts: Counter[tuple[str, str]] = Counter()
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        assert self._started.wait(10), "counting proxy did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        session: aiohttp.ClientSession | None = None
        target = urlsplit(self.target)

        async def forward(request: web.Request) -> web.StreamResponse:
            kind = "container" if request.query.get("restype") == "container" else request.path.rsplit("/", 1)[-1]
            self.counts[(request.method, kind)] += 1
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
            body = await request.read()  # forwarded as sent: Shared Key signs Content-Type and Content-Length
            async with session.request(request.method, f"{target.scheme}://{target.netloc}{request.path_qs}",
                                       headers=headers, data=body or None, allow_redirects=False,
                                       skip_auto_headers=("Content-Type", "Accept-Encoding", "User-Agent")
                                       ) as upstream:
                answer = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                return web.Response(status=upstream.status, headers=answer, body=await upstream.read())

        async def start() -> None:
            nonlocal session
            session = aiohttp.ClientSession(auto_decompress=False)
            app = web.Application(client_max_size=64 * 2**20)
            app.router.add_route("*", "/{tail:.*}", forward)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}{target.path}"
            self._cleanup = (runner, session)

        self._loop.run_until_complete(start())
        self._started.set()
        self._loop.run_forever()
        runner, session = self._cleanup
        self._loop.run_until_complete(runner.cleanup())
        self._loop.run_until_complete(session.close())
        self._loop.close()


@pytest.fixture(scope="module")
def proxy(azurite) -> Iterator[CountingProxy]:
    with CountingProxy(azurite.blob_url) as counting:
        yield counting


@pytest.fixture(scope="module")
def proxied_service(proxy, tmp_path_factory):
    yield from serving(Service(data_dir=Path(tmp_path_factory.mktemp("openqio-round-trips")), blob_url=proxy.url,
                               runners=1, extra_env={"OPENQIO_VERIFY_OUTPUTS": "off"}))


def tiny(i: int) -> Problem:
    problem = Problem(name=f"round-trips-{i}", problem_type=ProblemType.ising)
    problem.add_term(c=-9, indices=[0]); problem.add_term(c=-3, indices=[1, 0]); problem.add_term(c=5, indices=[2, 0])
    return problem


async def test_a_tiny_job_costs_azurite_five_requests_end_to_end(proxied_service, proxy):
    proxy.counts.clear()
    async with Workspace(connection_file=proxied_service.connection_file) as workspace:
        for i in range(JOBS):
            job = await SimulatedAnnealing(workspace, sweeps=20, seed=i).submit(tiny(i))
            assert (await job.get_results())["cost"] == -17.0
    assert dict(proxy.counts) == {
        ("PUT", "container"): JOBS,  # client: create job-{id}
        ("PUT", "inputData"): JOBS,  # client: upload
        ("GET", "inputData"): JOBS,  # service: PUT job's probe; the dispatcher starts from those bytes
        ("PUT", "rawOutputData"): JOBS,  # service: the result
        ("GET", "rawOutputData"): JOBS,  # client: get_results
    }
