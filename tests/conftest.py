"""Shared fixtures: a real Azurite and a real openqio service (TLS gateway + runner processes).

Outside CI a machine without Node/Azurite skips the integration tests and says why; in CI (`CI=true`) the same
situation is a failure, because CI must prove the service works on real components.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from services.azurite import ACCOUNT, ACCOUNT_KEY, Azurite, AzuriteError, azurite_binary
from tests.service import Service, serving, stop_all

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Storage accounts the session's Azurite serves besides its development account: one per workspace for the
# workspace-isolation tests (OPENQIO_WORKSPACE_STORAGE), with keys made for this session.
WORKSPACE_ACCOUNTS = ("isolationa", "isolationb")


@pytest.fixture(scope="session", autouse=True)
def _no_service_outlives_the_session():
    """A service a test started and did not stop (a bug in that test) is stopped here, not left running."""
    yield
    stop_all()


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's (the test extra installs it)
def pytest_xdist_make_scheduler(config, log):
    """`make test` runs `pytest -n 2 --dist loadfile` (pytest-xdist): each module whole on one worker, so its
    module-scoped fixtures start once. Here the Ray modules (tests/integration/test_ray_*.py) count as one, so
    their tests all run on the same worker and only one Ray cluster (a head and two nodes, the session's
    `ray_cluster`) runs at a time. Every worker is a session of its own: its own Azurite and services. (xdist's
    `loadgroup` would say this with marks, but its 3.8 does not group under pytest 9.2, which moved the node id
    it rewrites.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class RayTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return "ray" if Path(module).name.startswith("test_ray_") else module

    return RayTogether(config, log)


_reported_start_failures: set[int] = set()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """One clear failure per service that did not start: the first test that needed it reports the failure (with
    the service's log); the others, which pytest would fail with the same cached error, are reported skipped."""
    outcome = yield
    failure = call.excinfo.value if call.excinfo is not None else None
    if call.when != "setup" or not getattr(failure, "openqio_start_failure", False):
        return
    if id(failure) in _reported_start_failures:
        report = outcome.get_result()
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0,
                           "Skipped: the openqio service this test needs failed to start (reported once, above)")
    else:
        _reported_start_failures.add(id(failure))


def _unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it in CI (where every integration component must start); never returns."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: integration components must start)", pytrace=False)
    pytest.skip(reason)


def own_mount_namespace() -> list[str]:
    """`unshare` for a mount namespace of a process's own (and a user namespace, for a test that is not root): a
    small file system mounted in it, to fill, is seen by nothing else on the machine."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        _unavailable("a small file system of a process's own needs Linux's unshare (util-linux)")
    command = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        command[1:1] = ["--user", "--map-root-user"]
    if subprocess.run([*command, "true"], capture_output=True).returncode != 0:
        _unavailable(f"`{' '.join(command)}` is not allowed here (user namespaces switched off?)")
    return command


def node_scenario(script: str, *args: str, timeout: float = 120) -> dict:
    """Run a preload's test scenario (`node -e script args...`, the preloads' tests) and return the JSON object its
    last line of output prints; the test fails with node's error output if the scenario fails."""
    node = shutil.which("node")
    if node is None:
        _unavailable("node is needed")
    out = subprocess.run([node, "-e", script, *args], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def azurite_entry() -> str:
    """Azurite's blob entry script, for scenarios run on Azurite's own modules (the preloads' tests)."""
    try:
        return os.path.realpath(azurite_binary())
    except AzuriteError as exc:
        _unavailable(str(exc))


@contextlib.contextmanager
def disk_azurite(location: Path) -> Iterator[Azurite]:
    """An Azurite of its own keeping blobs on disk under `location` (the preloads that touch files apply there)."""
    server = Azurite(location=str(location))
    try:
        server.start(timeout=120)
    except AzuriteError as exc:
        _unavailable(f"Azurite failed to start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azurite():
    try:
        azurite_binary()
    except AzuriteError as exc:
        _unavailable(str(exc))
    accounts = {ACCOUNT: ACCOUNT_KEY}  # Azurite serves only the accounts listed once any are: keep its own
    accounts.update({name: base64.b64encode(secrets.token_bytes(64)).decode() for name in WORKSPACE_ACCOUNTS})
    server = Azurite(accounts=accounts)
    try:
        server.start()
    except AzuriteError as exc:
        _unavailable(f"Azurite failed to start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def openqio_service(azurite, tmp_path_factory):
    """The whole service as `openqio serve` runs it, with a small list page size so paging is exercised."""
    service = Service(
        data_dir=Path(tmp_path_factory.mktemp("openqio")),
        blob_url=azurite.blob_url,
        runners=2,
        extra_env={"OPENQIO_LIST_PAGE_SIZE": "5"},
    )
    yield from serving(service)


@pytest.fixture(scope="session")
def ray_cluster():
    """One real multi-node Ray cluster for the whole session (tests/ray_cluster.py): a head without CPUs (GCS, and
    the node the service's driver attaches to) and two worker nodes of one CPU each; stopped however the run ends."""
    try:
        import ray  # noqa: F401
    except ImportError:
        _unavailable("Ray is not installed (pip install -e '.[ray]'; make test installs it)")
    from tests.ray_cluster import RayCluster, RayClusterError

    cluster = RayCluster(worker_cpus=(1, 1))
    try:
        cluster.start()
    except RayClusterError as exc:
        _unavailable(f"the Ray test cluster failed to start: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def ray_service(azurite, ray_cluster, tmp_path_factory):
    """The whole service with `--executor ray` on the session's Ray cluster."""
    service = Service(
        data_dir=Path(tmp_path_factory.mktemp("openqio-ray")),
        blob_url=azurite.blob_url,
        extra_env={"OPENQIO_RAY_ADDRESS": ray_cluster.address},
        args=["--executor", "ray"],
    )
    # a cold numba cache (a fresh clone running only these tests) is compiled by the start's warm-up on each node
    yield from serving(service, timeout=600)
