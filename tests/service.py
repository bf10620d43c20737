"""Run the whole openqio service (gateway + dispatcher + runner pool) as a real subprocess for integration tests.

The service is started exactly as `openqio serve` starts it, on a free port, against a given Azurite, with its
state in a temporary data directory; readiness is the appearance of `connection.json`, which the service writes
only once the HTTPS site is listening.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent


class ServiceError(RuntimeError):
    pass


@dataclass
class Service:
    data_dir: Path
    blob_url: str
    runners: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)  # extra `openqio serve` flags, e.g. ["--log-format", "json"]
    process: subprocess.Popen | None = field(default=None, repr=False)
    connection: dict[str, Any] = field(default_factory=dict)

    @property
    def connection_file(self) -> Path:
        return self.data_dir / "connection.json"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "service.log"

    def __getattr__(self, name: str) -> Any:
        connection = self.__dict__.get("connection") or {}
        if name in connection:
            return connection[name]
        raise AttributeError(name)

    @property
    def sdk_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for line in (self.data_dir / "sdk.env").read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.removeprefix("export ").partition("=")
                env[key.strip()] = value.strip().strip('"').strip("'")
        return env

    def start(self, timeout: float = 120.0) -> Service:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.connection_file.exists():
            self.connection_file.unlink()
        env = {
            **os.environ,
            "OPENQIO_DATA_DIR": str(self.data_dir),
            "OPENQIO_PORT": "0",
            "OPENQIO_BLOB_URL": self.blob_url,
            "OPENQIO_RUNNERS": str(self.runners),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        log = open(self.log_file, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services", "serve", *self.args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(f"openqio exited with {self.process.returncode} during start-up:\n{self.tail()}")
            if self.connection_file.exists():
                try:
                    self.connection = json.loads(self.connection_file.read_text())
                    return self
                except json.JSONDecodeError:
                    pass
            time.sleep(0.1)
        self.stop(signal.SIGKILL)
        raise ServiceError(f"openqio did not become ready within {timeout:.0f} s:\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Send `sig` to the whole process group (service + runners) and wait for the service to exit."""
        if self.process is None:
            return None
        try:
            if sig == signal.SIGKILL:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait(timeout=10)
        if sig == signal.SIGKILL:
            # runners are in the same process group; make sure none outlive the test
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None
        return code

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def serving(service: Service, timeout: float = 120.0) -> Iterator[Service]:
    """Body of a fixture: start `service` (a failed start fails the test with the service's log, never skips it),
    yield it, stop it. Use as `yield from serving(Service(...))`."""
    import pytest  # here, not at the top: the service benchmark imports this module without pytest

    try:
        service.start(timeout)
    except Exception as exc:  # noqa: BLE001 - reported with the service's own log
        pytest.fail(f"openqio service failed to start: {exc}", pytrace=False)
    try:
        yield service
    finally:
        service.stop()
