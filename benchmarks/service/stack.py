"""The stack under test: a real Azurite and the real service (`openqio serve` as a subprocess, TLS gateway,
dispatcher, runner processes), in a temporary directory. Reuses services.azurite.Azurite and tests.service.Service.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from services.azurite import Azurite
from tests.service import Service


@contextlib.contextmanager
def azurite() -> Iterator[Azurite]:
    server = Azurite().start()  # in-memory persistence: the benchmark's blobs never touch the disk twice
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def service(data_dir: Path, blob_url: str, runners: int, extra_env: dict[str, str] | None = None) -> Iterator[Service]:
    svc = Service(data_dir=data_dir, blob_url=blob_url, runners=runners, extra_env=dict(extra_env or {}))
    svc.start(timeout=300.0)  # a cold numba cache compiles the kernels in every runner first
    try:
        yield svc
    finally:
        svc.stop()
