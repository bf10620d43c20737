"""Run the whole openqio service (gateway + dispatcher + runner pool) as a real subprocess for integration tests.

The service is started exactly as `openqio serve` starts it, on a free port, against a given Azurite, with its
state in a temporary data directory; readiness is the appearance of `connection.json`, which the service writes
only once the HTTPS site is listening, and then a healthy GET /healthz (unless `start(healthy=False)`).

Readiness waits up to START_TIMEOUT_S: a first start compiles the solvers (about 50 s of one core, two to four times
that on a loaded machine; `make test` warms the cache before pytest, so normally it only loads it). A start that fails or
times out raises ServiceError with the service's last log lines, and leaves no process behind.

Nothing a test starts may outlive it: use `with Service(...) as service:` (or `serving()` in a fixture), which
stops the service whatever the test does; `stop_all()` (run by tests/conftest.py at the end of the session) stops
any service still running.
"""
from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.supervise import die_with_parent

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 240.0  # within pytest's 300 s per test (pyproject.toml), which includes fixture set-up
_LIVE: dict[int, Service] = {}  # id → every started, not yet stopped Service


class ServiceError(RuntimeError):
    pass


@dataclass
class Service:
    data_dir: Path
    blob_url: str
    runners: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)  # extra `openqio serve` flags, e.g. ["--log-format", "json"]
    launcher: list[str] = field(default_factory=list)  # a command that runs the service's, e.g. ["unshare", ...]
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

    def __enter__(self) -> Service:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = START_TIMEOUT_S, healthy: bool = True) -> Service:
        """Start the service and wait until it listens (and, with `healthy`, answers GET /healthz with 200)."""
        self.launch()
        try:
            self._wait_ready(timeout)
            if healthy:
                status, body = self.health()
                if status != 200:
                    raise ServiceError(f"openqio started unhealthy ({status} {body}):\n{self.tail()}")
        except BaseException:
            self.stop(signal.SIGKILL)
            raise
        return self

    def launch(self) -> subprocess.Popen:
        """Start the service process without waiting for it (start() waits)."""
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
            [*self.launcher, sys.executable, "-m", "services", "serve", *self.args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # a test run that is itself killed (Ctrl-C twice, CI's timeout) must not leave services behind
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        log.close()
        _LIVE[id(self)] = self
        return self.process

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(f"openqio exited with {self.process.returncode} during start-up:\n{self.tail()}")
            if self.connection_file.exists():
                try:
                    self.connection = json.loads(self.connection_file.read_text())
                    return
                except json.JSONDecodeError:
                    pass
            time.sleep(0.1)
        raise ServiceError(f"openqio did not become ready within {timeout:.0f} s:\n{self.tail()}")

    def health(self) -> tuple[int, dict]:
        """(status, body) of GET /healthz, asked at the address the service listens on: connection.json's base URL
        may be a public name this machine cannot resolve (OPENQIO_PUBLIC_URL). The certificate is verified against
        the service's CA; its names are other tests' business."""
        context = ssl.create_default_context(cafile=self.connection["ca_file"])
        context.check_hostname = False
        port = urllib.parse.urlsplit(self.connection["base_url"]).port or 443
        host = self.extra_env.get("OPENQIO_HOST", "127.0.0.1")
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        url = f"https://{f'[{host}]' if ':' in host else host}:{port}/healthz"
        try:
            with urllib.request.urlopen(url, context=context, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

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
        _LIVE.pop(id(self), None)
        return code

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def stop_all() -> None:
    """Stop every service still running (a test that forgot, or was interrupted)."""
    for service in list(_LIVE.values()):
        service.stop(signal.SIGKILL)


def serving(service: Service, timeout: float | None = None) -> Iterator[Service]:
    """Body of a fixture: start `service` (a failed start fails the test with the service's log, never skips it),
    yield it, stop it. Use as `yield from serving(Service(...))`. The failure is marked `openqio_start_failure`:
    tests/conftest.py reports it once, and every other test that needed the same service as skipped."""
    import pytest  # here, not at the top: the service benchmark imports this module without pytest

    try:
        service.start(timeout) if timeout is not None else service.start()
    except Exception as exc:  # noqa: BLE001 - reported with the service's own log
        try:
            pytest.fail(f"openqio service failed to start: {exc}", pytrace=False)
        except pytest.fail.Exception as failure:
            failure.openqio_start_failure = True  # type: ignore[attr-defined]
            raise
    try:
        yield service
    finally:
        service.stop()
