"""Connecting the service to Ray: `connect()` (ray.init, the job board, the job task), and the probe of the head's
port that tells the pool whether the head is there."""
from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import ray

from . import remote

PROBE_TIMEOUT_S = 2.0  # a head that does not accept a TCP connection within this is unreachable
HEAD_RESOURCE = "node:__internal_head__"  # Ray's own resource of the head node
# Ray Client (ray://): the head's proxy forks a server process for each driver, and on a busy head that fork now and
# then dies at birth (the proxy's own log: "SpecificServer startup failed"); the driver gets ConnectionAbortedError
# ("Initialization failure from server") after ~40 s, and the next attempt gets a fresh server process.
CLIENT_INIT_ATTEMPTS = 3
CLIENT_RETRY_PAUSE_S = 2.0

log = logging.getLogger(__name__)


class RayUnavailable(RuntimeError):
    """The Ray cluster cannot be reached or used: the message is one line for the operator."""


def _quiet_sigterm_notice(record: logging.LogRecord) -> bool:
    """Drop Ray's notice that ray.init, run in a thread on purpose (connect), set no SIGTERM handler."""
    return "SIGTERM handler is not set" not in record.getMessage()


def hostport(address: str) -> tuple[str, int] | None:
    """(host, port) to probe for a Ray address: `host:port` or `ray://host:port`; None for `auto` / empty."""
    if not address or address == "auto":
        return None
    parts = urlsplit(address if "://" in address else f"gcs://{address}")
    return (parts.hostname or "127.0.0.1", parts.port or (10001 if parts.scheme == "ray" else 6379))


def reachable(where: tuple[str, int]) -> str | None:
    """None when a TCP connection to `where` (host, port) opens, else why not (one short phrase)."""
    try:
        with socket.create_connection(where, timeout=PROBE_TIMEOUT_S):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def connect(address: str, local_cpus: int | None) -> tuple[Any, Any, tuple[str, int] | None]:
    """ray.init; then the job board (on the head node: the one node whose loss is the cluster's) and the job task.
    Returns (board, run_job remote function, the head's (host, port) to probe, when known). Blocking: call it in a
    thread, which is also what keeps ray.init from replacing the service's SIGTERM handler (it does so on the main
    thread). Ray's own log lines stay at WARNING and above. RayUnavailable when it cannot connect."""
    # A driver that loses the head ends its process after this long (Ray's default: 60 s); the pool notices the
    # loss itself, hands the jobs back and reconnects, so the service must outlive the head.
    os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", str(10 * 365 * 86400))
    logging.getLogger("ray._private.worker").addFilter(_quiet_sigterm_notice)
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False, "namespace": "openqio",
                               "ignore_reinit_error": True}
    if address:
        options["address"] = address
    else:  # a local Ray for this service alone: lean, no dashboard, no usage report
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        options.update(num_cpus=local_cpus, include_dashboard=False)
    _init(address, options)
    probe = hostport(address)
    if probe is None and not address.startswith("ray://"):
        probe = hostport(ray.get_runtime_context().gcs_address)
    board = ray.remote(num_cpus=0, max_restarts=-1, resources={HEAD_RESOURCE: 0.001})(remote.JobBoard).remote()
    return board, ray.remote(max_retries=0)(remote.run_job), probe


def _init(address: str, options: dict[str, Any]) -> None:
    """ray.init, tried again (CLIENT_INIT_ATTEMPTS in all) when a Ray Client head aborts the initialisation;
    RayUnavailable with Ray's reason in one line when it cannot connect."""
    for attempt in range(1, CLIENT_INIT_ATTEMPTS + 1):
        try:
            ray.init(**options)
            return
        except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError...: all one line
            detail = " ".join(str(exc).split())[:300]
            if not isinstance(exc, ConnectionAbortedError) or attempt == CLIENT_INIT_ATTEMPTS:
                raise RayUnavailable(f"cannot connect to Ray at {address or 'a new local Ray'}: {detail}") from None
        log.warning("the Ray head at %s aborted the connection (attempt %d of %d), trying again: %s", address,
                    attempt, CLIENT_INIT_ATTEMPTS, detail)
        time.sleep(CLIENT_RETRY_PAUSE_S)
