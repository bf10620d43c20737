"""What one refused submission costs, against the floor: the same request answered 429 by a bare aiohttp server.

At 200 % of capacity about 1.2 submissions are refused for every job completed, so what a refusal costs the client and
the gateway, not only what a job costs, decides how close that phase comes to the burst's rate. Measured here on its
own, where nothing else runs, so that the figure is steady enough to compare:

- ours: the service with OPENQIO_MAX_WAITING=1 and its one place held by a submission that never PUTs (its sasUri
  asked again every RESERVATION_S / 5 keeps the place, services/gateway/admission.py), so every submission is refused
  at its first request, `POST storage/sasUri`. They are sent as the 200 % phase sends them (load.paced: the problem
  built, the native client's tried-once submit, open loop at RATE_PER_S from 50 workspaces, load.open_loop), every
  one of them: the workspaces do not hold submissions after a 429 (as load.paced's UNHELD phase; a submission held
  back costs the client ~0.05 ms and the service nothing).
- floor: the same POST (path, headers, a body of the same size) over TLS with keep-alive, sent from bare aiohttp
  sessions to a bare aiohttp server on the same event loop as the service (uvloop where installed) and the service's
  certificate, answering a 429 of the same size. What any aiohttp client and server pay for one request and its
  answer, with none of openqio's code.

CPU seconds of each side's process over the offers, per request. The floor comes first and ours second in one run,
each after an unmeasured warm-up.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.client.aio import Workspace
from services.client.connection import Connection
from services.client.errors import ClientError
from services.gateway.admission import RESERVATION_S

from . import load, stack
from .cpu import CpuMeter
from .problems import tiny_problem

RATE_PER_S = 300.0  # offered: about the rate the 200 % phase refuses at on 2 cores (190-250 a second)
CLIENTS = 50
HOLDER_JOB = "00000000-0000-0000-0000-0000000000ff"  # the submission whose place is held, never PUT
# the floor's answer: as long as the gateway's (services/gateway/admission.py, Refusal.response)
FLOOR_ANSWER = {"error": {"code": "TooManyRequests", "message": "the service is at capacity: 0 job(s) waiting and 1 "
                          "being submitted, about 0.0 s of queueing (limit: 1 waiting); retry after 1 s"}}


@dataclass
class Side:
    requests: int
    client_ms: float  # CPU of the sending process per request
    server_ms: float  # CPU of the answering process per request

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "client_ms": round(self.client_ms, 3), "server_ms": round(self.server_ms, 3)}


@dataclass
class Refusals:
    ours: Side
    floor: Side
    failures: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"ours": self.ours.to_dict(), "floor": self.floor.to_dict(), "rate_per_s": RATE_PER_S,
                "failures": self.failures}


def _per_request(cpu: dict[str, float], requests: int) -> Side:
    return Side(requests, cpu.get("client", 0.0) / requests * 1000, cpu.get("server", 0.0) / requests * 1000)


async def ours(connection_file: str, service_pid: int, count: int, warm_up: int) -> tuple[Side, list[str]]:
    """Submissions of tiny problems, each refused at its sasUri (the place held by HOLDER_JOB)."""
    problems = [tiny_problem(k) for k in range(warm_up + count)]  # before the clock, as load.paced
    workspaces = [await Workspace(connection_file=connection_file).__aenter__() for _ in range(CLIENTS + 1)]
    holder, senders = workspaces[0], [load.tried_once(ws) for ws in workspaces[1:]]
    for ws in senders:
        ws._rest.HOLD_SUBMISSIONS = False
    admitted: list[str] = []
    refused_without_retry_after = [0]

    async def hold() -> None:
        while True:
            await holder.get_container_uri(job_id=HOLDER_JOB, create=False)  # its own place: asked again, kept
            await asyncio.sleep(RESERVATION_S / 5)

    def sender(offset: int):
        async def send(k: int) -> None:
            try:
                job = await load._solver(senders[k % CLIENTS], seed=k).submit(problems[offset + k].to_client())
            except ClientError as exc:
                if exc.status != 429:
                    raise
                refused_without_retry_after[0] += exc.retry_after is None
                return
            admitted.append(job.id)
        return send

    holding = asyncio.create_task(hold())
    try:
        await asyncio.sleep(0.2)  # the place is held before the first offer
        await load.open_loop(warm_up, RATE_PER_S, sender(0))
        meter = CpuMeter({"client": [os.getpid()], "server": [service_pid]}).start()
        await load.open_loop(count, RATE_PER_S, sender(warm_up))
        cpu = meter.stop()
    finally:
        holding.cancel()
        for ws in workspaces:
            await ws.close()
    failures = [f"{len(admitted)} of {warm_up + count} submissions were admitted (every one should be refused)"] \
        if admitted else []
    if refused_without_retry_after[0]:
        failures.append(f"{refused_without_retry_after[0]} refusals without Retry-After")
    return _per_request(cpu, count), failures


async def floor(url: str, connection: Connection, server_pid: int, count: int, warm_up: int) -> Side:
    """The same POST from bare aiohttp sessions (one connector each, as the native client's workspaces), with the
    client's TLS context and token."""
    import aiohttp

    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=connection.ssl_context()))
                for _ in range(CLIENTS)]
    headers = {"Accept": "application/json", "User-Agent": "openqio-client/0 (floor)",
               "Authorization": f"Bearer {connection.token}", "Content-Type": "application/json"}

    async def send(k: int) -> None:
        body = json.dumps({"containerName": f"job-{k:08x}-0000-0000-0000-000000000000"}).encode()
        async with sessions[k % CLIENTS].post(url, data=body, headers={**headers, "x-ms-client-request-id": f"{k:036d}"}
                                              ) as resp:
            await resp.read()
            if resp.status != 429 or "Retry-After" not in resp.headers:
                raise RuntimeError(f"the floor server answered {resp.status}")

    try:
        await load.open_loop(warm_up, RATE_PER_S, send)
        meter = CpuMeter({"client": [os.getpid()], "server": [server_pid]}).start()
        await load.open_loop(count, RATE_PER_S, send)
        cpu = meter.stop()
    finally:
        for session in sessions:
            await session.close()
    return _per_request(cpu, count)


def measure(work: Path, blob_url: str | None, runners: int, count: int, log) -> Refusals:
    """The floor, then ours, each `count` requests after a warm-up of a tenth as many."""
    warm_up = max(50, count // 10)
    with stack.service(work, blob_url, runners, {"OPENQIO_MAX_WAITING": "1"}) as svc:
        assert svc.process is not None
        connection = Workspace(connection_file=svc.connection_file).connection
        tls = work / "tls"
        port = stack.free_port()
        with subprocess.Popen([sys.executable, "-m", "benchmarks.service.refusals", "--serve", str(port),
                               str(tls / "server.pem"), str(tls / "server.key")], stdout=subprocess.PIPE, text=True
                              ) as server:  # (leaving the block closes its pipe and waits for it)
            try:
                assert server.stdout is not None
                if server.stdout.readline().strip() != "ready":
                    raise RuntimeError("the floor server did not start")
                # the URL the native client posts sasUri to, on the floor server's port (the service's certificate)
                url = urlsplit(connection.url("storage", "sasUri"))._replace(netloc=f"127.0.0.1:{port}").geturl()
                log(f"refusals: the floor, {count} requests at {RATE_PER_S:g}/s")
                floor_side = asyncio.run(floor(url, connection, server.pid, count, warm_up))
            finally:
                server.kill()
        log(f"refusals: ours, {count} submissions at {RATE_PER_S:g}/s")
        ours_side, failures = asyncio.run(ours(str(svc.connection_file), svc.process.pid, count, warm_up))
    return Refusals(ours_side, floor_side, failures)


def serve(port: int, cert: str, key: str) -> None:
    """The floor's server: one route, any path, answering every POST with FLOOR_ANSWER and 429."""
    from aiohttp import web

    from services.server import loop_runner

    async def refuse(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(FLOOR_ANSWER, status=429, headers={"Retry-After": "1", "retry-after-ms": "450"})

    async def main() -> None:
        app = web.Application()
        app.router.add_route("POST", "/{path:.*}", refuse)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    loop_runner(os.environ.get("OPENQIO_EVENT_LOOP") or "auto")(main())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.service.refusals", description=__doc__.splitlines()[0])
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "CERT", "KEY"), required=True,
                        help="run the floor's server (the service benchmark starts it)")
    args = parser.parse_args()
    serve(int(args.serve[0]), args.serve[1], args.serve[2])
