"""The stack under test: the real service (`openqio serve` as a subprocess: TLS gateway, dispatcher, runner processes)
and a real Azurite, in a temporary directory. Reuses services.azurite.Azurite and tests.service.Service.

Two ways to run Azurite (`--stack`):
- `supervised` (default): `openqio serve --with-azurite`, as `make run` does: the service starts Azurite as its child
  (blobs on disk under the data directory, one generated account) and, watching it, does not look at every result
  blob once more (OPENQIO_VERIFY_OUTPUTS=auto).
- `external`: Azurite started here, in memory, the service pointed at it (as with Docker's separate Azurite): the
  service then looks at each result blob once, 15 s after writing it (one HEAD per job).
"""
from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

from services.azurite import Azurite
from tests.service import Service

from .cpu import children, command_name

STACKS = ("supervised", "external")


@contextlib.contextmanager
def azurite() -> Iterator[Azurite]:
    server = Azurite().start()  # in-memory persistence: the benchmark's blobs never touch the disk twice
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def service(data_dir: Path, blob_url: str | None, runners: int, extra_env: dict[str, str] | None = None
            ) -> Iterator[Service]:
    """The service on `blob_url`, or with `blob_url` None on an Azurite of its own (`--with-azurite`)."""
    args = [] if blob_url else ["--with-azurite"]
    url = blob_url or f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    svc = Service(data_dir=data_dir, blob_url=url, runners=runners, extra_env=dict(extra_env or {}), args=args)
    svc.start(timeout=300.0)  # a cold numba cache compiles the kernels in every runner first
    try:
        yield svc
    finally:
        svc.stop()


def processes(svc: Service, external_azurite: Azurite | None) -> dict[str, list[int]]:
    """pid lists per component: Azurite (ours, or the service's node child), the service, its runner processes."""
    assert svc.process is not None
    kids = children(svc.process.pid)
    node = [pid for pid in kids if command_name(pid) == "node"]
    found = {"service": [svc.process.pid], "runners": [pid for pid in kids if pid not in node]}
    azurite_pids = [external_azurite.pid] if external_azurite is not None and external_azurite.pid else node
    found["azurite"] = [pid for a in azurite_pids for pid in (a, *children(a))]
    return found
