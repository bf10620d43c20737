"""What `openqio serve` runs: wire the gateway, the dispatcher and the runner pool, and run until stopped.
The command line (flags included) is services.cli (services/cli/serve.py calls `run`).

Start-up order: settings → the data directory's lock (one service per data directory; what a crashed run left
running is stopped) → TLS material → (Azurite, with --with-azurite) → SQLite store → blob store → output keeper
(restores result blobs storage lost) → runner pool → dispatcher (sweeps jobs a crash left Executing) → HTTPS site →
connection files. Shutdown (Ctrl-C, SIGTERM) runs it backwards: stop accepting requests, let running jobs finish
within the grace period (requeue the rest), stop runners, close SQLite and blob clients, stop Azurite.

Nothing it started outlives it, however it ends: Azurite and the runners get a signal from the kernel when the
service dies (services/supervise.py, solver_runner/worker.py), and the next start stops anything a crash still left
behind. While it runs, the service restarts a supervised Azurite that dies and has the output keeper put back what
that Azurite lost (services/dispatch/outputs.py).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import json
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from contracts.errors import NO_SPACE
from contracts.heap import freeze_heap
from services import logs
from services.config import Settings, write_private
from services.remote_settings import storage_exposure

log = logging.getLogger("openqio")


def run(overrides: dict[str, Any], with_azurite: bool = False) -> int:
    """Run the service until Ctrl-C / SIGTERM with settings from the environment plus `overrides` (what the
    `openqio serve` flags set); 0 after a clean stop, 1 when start-up failed (the reason is logged)."""
    settings = Settings.from_env(**{key: value for key, value in overrides.items() if value is not None})
    logs.configure(settings.log_level, settings.log_format)
    try:
        loop_runner(settings.event_loop)(serve(settings, with_azurite=with_azurite))
    except StartupError as exc:
        log.error("%s", exc)
        return 1
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        log.error("stopped: no space left for %s (%s): free space on that disk and start again",
                  exc.filename or settings.data_dir, exc.strerror)
        return 1
    return 0


class StartupError(RuntimeError):
    pass


def loop_runner(choice: str) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """What runs the service's event loop (OPENQIO_EVENT_LOOP): uvloop's `run` for `uvloop`, and for `auto` where
    uvloop is installed; else asyncio's. uvloop runs the same code with less of the service's CPU per request
    (benchmarks/README.md, item 18 of "Where the cost grew with the backlog, and what changed")."""
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise StartupError("OPENQIO_EVENT_LOOP=uvloop, but uvloop is not installed (pip install uvloop), "
                                   "and it does not run on Windows; use auto or asyncio") from None
        else:
            return uvloop.run
    return asyncio.run


async def serve(settings: Settings, with_azurite: bool = False) -> None:
    from services.supervise import Children, DataDirBusy, DataDirLock

    data_dir = Path(settings.data_dir)
    try:
        lock = DataDirLock(data_dir).acquire()
    except DataDirBusy as exc:
        raise StartupError(str(exc)) from None
    try:
        children = Children(data_dir)
        await asyncio.to_thread(children.stop_leftovers)
        await _serve(settings, with_azurite, children)
    finally:
        lock.release()


async def _serve(settings: Settings, with_azurite: bool, children) -> None:
    from services.blobs.azure_store import WorkspaceBlobs
    from services.config import with_generated_storage
    from services.disks import Disks
    from services.dispatch.dispatcher import Dispatcher
    from services.dispatch.outputs import OutputKeeper
    from services.gateway.app import create_app
    from services.gateway.tls import ensure_tls, server_ssl_context
    from services.jobs.schema import JobStoreUnavailable
    from services.jobs.sqlite_store import SqliteJobStore

    loop = asyncio.get_running_loop()
    # Pipe reads from runners and aiosqlite-free blocking calls run in threads; size the pool so runners never starve it.
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=max(8, 2 * settings.runners + 4)))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    tls = ensure_tls(settings)
    _check_port_free(settings.host, settings.port)  # in a second, not after the runners' warm-up

    azurite = None
    if with_azurite:
        settings = with_generated_storage(settings)  # each workspace its own private storage account
        azurite = await _start_azurite(settings, children)
    _warn_shared_storage(settings)
    for warning in storage_exposure(settings):
        log.warning("%s", warning)

    store = SqliteJobStore(settings.database_path, synchronous=settings.sqlite_synchronous)
    blobs = WorkspaceBlobs(settings)
    keeper = OutputKeeper(store, blobs, verify=settings.verifies_outputs(supervised_azurite=azurite is not None))
    disks = Disks.of_service(settings.database_path.parent, azurite.location if azurite is not None else None)
    pool = _make_pool(settings, children)
    dispatcher = None
    site_runner = None
    watcher = None
    disk_watch = asyncio.create_task(disks.watch(), name="disk-watch")  # logs a disk that runs low
    try:
        try:
            await store.open()
        except JobStoreUnavailable as exc:
            raise StartupError(str(exc)) from None
        await blobs.open()
        await keeper.start()
        if azurite is not None:
            watcher = asyncio.create_task(_keep_azurite(azurite, keeper, children), name="azurite-supervisor")
        t0 = time.monotonic()
        if not await _unless_stopped(_start_pool(settings, pool), stop):  # a first start compiles: Ctrl-C works
            return
        if pool.health() is None:
            log.info("%s ready in %.1f s (event loop: %s)", _describe_pool(settings, pool), time.monotonic() - t0,
                     type(loop).__module__.split(".")[0])
        else:  # it still starts, so GET /healthz can answer why it cannot solve
            log.error("starting unhealthy: %s", pool.health())
        dispatcher = Dispatcher(
            store,
            blobs,
            pool,
            limits=settings.problem_limits,
            max_attempts=settings.max_attempts,
            hard_deadline_grace_s=settings.job_hard_deadline_grace_s,
            max_job_seconds=settings.max_job_seconds,
        )
        await dispatcher.start()
        app = create_app(settings, store, blobs, dispatcher, disks)
        site_runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await site_runner.setup()
        site = web.TCPSite(site_runner, settings.host, settings.port, ssl_context=server_ssl_context(tls))
        try:
            await site.start()
        except OSError as exc:  # taken since the check at the start
            raise StartupError(_cannot_listen(settings.host, settings.port, exc)) from None
        port = site_runner.addresses[0][1]  # the real port when 0 was asked for
        base_url = settings.public_base_url(port)
        _write_connection_files(settings, base_url, tls)
        _announce(settings, base_url)
        freeze_heap()
        await stop.wait()
        log.info("shutting down")
    finally:
        if site_runner is not None:
            await site_runner.shutdown()
        if dispatcher is not None:
            await dispatcher.stop(grace_s=settings.shutdown_grace_s)
        await pool.close()
        if site_runner is not None:
            await site_runner.cleanup()
        await keeper.stop()
        await blobs.close()
        await store.close()
        for task in filter(None, (watcher, disk_watch)):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if azurite is not None:
            await asyncio.to_thread(azurite.stop)
            children.forget("azurite")
        log.info("stopped")


def _check_port_free(host: str, port: int) -> None:
    """StartupError when the gateway could not listen on host:port (another program holds the port, or the address
    is not this machine's). The gateway binds only once the runners are ready, minutes into a first start (the
    compile): this says so at once instead. Each address the host resolves to is bound as the server will bind it
    (SO_REUSEADDR: a port whose last connections linger in TIME_WAIT is free), then let go."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(_cannot_listen(host, port, exc)) from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise StartupError(_cannot_listen(host, port, exc)) from None


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    other_port = "choose another port with OPENQIO_PORT or `openqio serve --port` (0: any free one)"
    if exc.errno == errno.EADDRINUSE:
        hint = f"another program, or another openqio with another data directory, listens there: stop it, or {other_port}"
    elif exc.errno == errno.EACCES:
        hint = f"ports under 1024 need privileges: {other_port}"
    else:
        hint = "OPENQIO_HOST or `--host` must be an address of this machine"
    return f"the gateway cannot listen on {host}:{port}: {exc.strerror or exc} ({hint})"


async def _unless_stopped(work: Any, stop: asyncio.Event) -> bool:
    """Await `work` unless `stop` is set first (then cancel it and return False)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    log.info("stopped during start-up")
    return False


async def _start_azurite(settings: Settings, children):
    """Azurite with exactly the workspaces' private accounts (its public development account is off, so no one
    holding its well-known key reaches any blob), data under DATA_DIR/azurite."""
    from urllib.parse import urlsplit

    from services.azurite import Azurite

    url = urlsplit(settings.blob_url)
    server = Azurite(location=str(Path(settings.data_dir) / "azurite"), host=url.hostname or "127.0.0.1",
                     port=url.port or 10000, accounts={a.name: a.key for a in settings.storage_accounts})
    await _launch_azurite(server, children)
    log.info("Azurite listening on %s (data in %s)", settings.blob_url.rsplit("/", 1)[0], server.location)
    return server


async def _launch_azurite(server, children) -> None:
    """Spawn on this (the main) thread, so Azurite gets SIGTERM when the service dies; wait for its port in a thread."""
    from services.azurite import AzuriteError

    server.spawn()
    children.record("azurite", server.pid)
    try:
        await asyncio.to_thread(server.wait_listening)
    except AzuriteError as exc:
        children.forget("azurite")
        raise StartupError(f"could not start Azurite on port {server.port} (data in {server.location}): {exc}") from None


async def _keep_azurite(server, keeper, children) -> None:
    """Restart the supervised Azurite whenever it dies (on its port, with its data), and have the output keeper
    restore what it lost: Azurite saves its blob index only every 5 s, so a killed one loses recent writes."""
    delay = 1.0
    while True:
        process = server.process
        code = await asyncio.to_thread(process.wait)
        died = time.time()
        if server.process is not process:  # stopped on purpose (service shutdown)
            return
        log.error("Azurite exited unexpectedly (code %s); restarting it", code)
        server.process = None
        while True:
            try:
                await _launch_azurite(server, children)
                break
            except StartupError as exc:
                log.error("%s; trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        delay = 1.0
        log.info("Azurite restarted (pid %s); checking the outputs it may have lost", server.pid)
        keeper.storage_restarted(at=died)


def _make_pool(settings: Settings, children):
    """The runner pool OPENQIO_EXECUTOR names: local runner processes (recorded in DATA_DIR/children.json), or tasks
    on a Ray cluster (services/dispatch/ray_pool, imported only then: the embedded default never imports ray)."""
    if settings.executor == "ray":
        try:
            from services.dispatch.ray_pool import RayPool
        except ImportError as exc:
            raise StartupError(f"OPENQIO_EXECUTOR=ray needs Ray: pip install 'openqio[ray]' ({exc})") from None
        return RayPool(settings.ray_address, local_cpus=settings.runners)
    from services.dispatch.runner_pool import RunnerPool

    return RunnerPool(settings.runners, on_child=children.record)


async def _start_pool(settings: Settings, pool) -> None:
    """Start the pool; a Ray cluster that cannot be reached stops the start-up with its one-line reason."""
    if settings.executor != "ray":
        await pool.start()
        return
    from services.dispatch.ray_pool import RayUnavailable

    try:
        await pool.start()
    except RayUnavailable as exc:
        raise StartupError(str(exc)) from None


def _describe_pool(settings: Settings, pool=None) -> str:
    if settings.executor == "ray":
        cpus = f"{pool.size} CPU(s) " if pool is not None else ""
        return f"Ray executor ({cpus}at {settings.ray_address or 'a local Ray'})"
    return f"{settings.runners} runner(s)"


def _warn_shared_storage(settings: Settings) -> None:
    """Workspaces sharing a storage account can reach each other's blobs with a `sasUri` account SAS: say so."""
    sharing: dict[str, list[str]] = {}
    for workspace in sorted(settings.workspaces):
        sharing.setdefault(settings.storage_for(workspace).name, []).append(workspace)
    for account, workspaces in sharing.items():
        if len(workspaces) > 1:
            log.warning("workspaces %s share storage account %s: a sasUri answer of one reaches the others' blobs; "
                        "give each its own with OPENQIO_WORKSPACE_STORAGE (or use --with-azurite)",
                        ", ".join(workspaces), account)
    for workspace in sorted(settings.workspace_storage):
        log.info("workspace %s: storage account %s", workspace, settings.storage_for(workspace).name)


def _write_connection_files(settings: Settings, base_url: str, tls) -> None:
    """connection.json for the native client; sdk.env + token file for the unmodified azure-quantum SDK."""
    data_dir = Path(settings.data_dir).resolve()
    token = settings.default_token
    connection = {
        "base_url": base_url,
        "ca_file": str(Path(tls.ca_cert).resolve()),
        "ca_bundle": str(Path(tls.ca_bundle).resolve()),
        "token": token,
        "subscription_id": settings.subscription_id,
        "resource_group": settings.resource_group,
        "workspace": settings.workspace,
        "location": settings.location,
    }
    token_file = data_dir / "sdk-token.json"
    write_private(token_file, json.dumps({"access_token": token, "expires_on": int((time.time() + 10 * 365 * 86400) * 1000)}))
    sdk_env = "\n".join(
        [
            f"# Point the unmodified azure-quantum SDK at openqio: `set -a; source {data_dir / 'sdk.env'}; set +a`",
            f"AZURE_QUANTUM_BASEURL={base_url}",
            f"REQUESTS_CA_BUNDLE={Path(tls.ca_bundle).resolve()}",
            f"SSL_CERT_FILE={Path(tls.ca_bundle).resolve()}",
            f"AZURE_QUANTUM_TOKEN_FILE={token_file}",
            "AZURE_TENANT_ID=00000000-0000-0000-0000-000000000000",
            f"OPENQIO_SUBSCRIPTION_ID={settings.subscription_id}",
            f"OPENQIO_RESOURCE_GROUP={settings.resource_group}",
            f"OPENQIO_WORKSPACE={settings.workspace}",
            f"OPENQIO_LOCATION={settings.location}",
            "",
        ]
    )
    write_private(data_dir / "sdk.env", sdk_env)
    # connection.json last: its appearance means "ready" to scripts and tests.
    write_private(data_dir / "connection.json", json.dumps(connection, indent=2))


def _dashboard_url(settings: Settings, base_url: str) -> str:
    """The dashboard with the token in the URL fragment (browsers never send fragments to servers) when a person is
    watching this terminal; otherwise (output captured to a log file) without it, so no log ever holds the token."""
    url = f"{base_url}dashboard"
    if sys.stderr.isatty():
        return f"{url}#token={settings.default_token}"
    return (f"{url}  (paste the bearer token: {Path(settings.data_dir) / 'token'} unless OPENQIO_TOKENS sets it; "
            "or open the URL with #token=<token>)")


def _here(path: Path) -> str:
    """`path` relative to the working directory when under it (`.venv/bin/python` for `make run`), else whole."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _announce(settings: Settings, base_url: str) -> None:
    data_dir = Path(settings.data_dir)
    if settings.log_format == "json":  # machines read this output: one JSON log line, no free text
        log.info("openqio is running at %s", base_url, extra={
            "base_url": base_url, "dashboard_url": f"{base_url}dashboard", "runners": settings.runners,
            "blob_url": settings.blob_url, "connection_file": str(data_dir / "connection.json"),
            "workspace": settings.workspace})
        return
    lines = [
        "",
        f"openqio is running at {base_url} ({_describe_pool(settings)}, blobs at {settings.blob_url})",
        f"  native client:  Workspace() reads {data_dir / 'connection.json'} (in {_here(Path(sys.executable))})",
        f"  azure-quantum:  set -a; source {data_dir / 'sdk.env'}; set +a",
        f"  dashboard:      {_dashboard_url(settings, base_url)}",
        f"  workspace:      subscription_id={settings.subscription_id} resource_group={settings.resource_group} "
        f"name={settings.workspace} location={settings.location}",
        "  Ctrl-C stops the service and everything it started.",
        "",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)
