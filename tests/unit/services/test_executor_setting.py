"""OPENQIO_EXECUTOR / OPENQIO_RAY_ADDRESS: read and checked by Settings; the pool they choose; the default never
imports ray (make run needs no Ray)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.config import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[3]


def test_executor_defaults_to_the_local_pool(tmp_path: Path):
    settings = Settings.from_env({}, data_dir=tmp_path)
    assert (settings.executor, settings.ray_address) == ("local", "")


def test_executor_and_ray_address_are_read(tmp_path: Path):
    env = {"OPENQIO_EXECUTOR": "ray", "OPENQIO_RAY_ADDRESS": "ray://head:10001", "OPENQIO_DATA_DIR": str(tmp_path)}
    settings = Settings.from_env(env)
    assert (settings.executor, settings.ray_address) == ("ray", "ray://head:10001")
    assert Settings.from_env(env, executor="local").executor == "local"  # `openqio serve --executor` wins


def test_an_unknown_executor_is_refused(tmp_path: Path):
    with pytest.raises(SettingsError, match="OPENQIO_EXECUTOR must be local or ray"):
        Settings.from_env({"OPENQIO_EXECUTOR": "dask"}, data_dir=tmp_path)


def test_the_local_executor_never_imports_ray(tmp_path: Path):
    code = ("import sys; from services.server import _make_pool; from services.config import Settings; "
            "from services.supervise import Children; "
            f"pool = _make_pool(Settings.from_env({{}}, data_dir={str(tmp_path)!r}, runners=1), "
            f"Children({str(tmp_path)!r})); "
            "print(type(pool).__name__, 'ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["RunnerPool", "False"]


def test_ray_addresses_name_the_port_to_probe():
    pytest.importorskip("ray")
    from services.dispatch.ray_pool.link import hostport

    assert hostport("10.1.2.3:6379") == ("10.1.2.3", 6379)
    assert hostport("ray://head:10001") == ("head", 10001)
    assert hostport("ray://head") == ("head", 10001) and hostport("head") == ("head", 6379)
    assert hostport("auto") is None and hostport("") is None


@pytest.mark.parametrize("failures, calls, connects", [(1, 2, True), (2, 3, True), (3, 3, False)])
def test_an_aborted_ray_client_initialisation_is_tried_again(monkeypatch, failures, calls, connects):
    """A Ray Client head whose per-driver server died at birth aborts ray.init with ConnectionAbortedError (seen
    under load in CI); connect tries CLIENT_INIT_ATTEMPTS times before it gives up with one line."""
    pytest.importorskip("ray")
    from services.dispatch.ray_pool import link

    seen: list[dict] = []

    def init(**options):
        seen.append(options)
        if len(seen) <= failures:
            raise ConnectionAbortedError("Initialization failure from server:\nTraceback ...\nRuntimeError: boom")

    monkeypatch.setattr(link.ray, "init", init)
    monkeypatch.setattr(link, "CLIENT_RETRY_PAUSE_S", 0.0)
    if connects:
        link._init("ray://head:10001", {"address": "ray://head:10001"})
    else:
        with pytest.raises(link.RayUnavailable, match=r"^cannot connect to Ray at ray://head:10001: Initialization "
                                                      r"failure from server: Traceback \.\.\. RuntimeError: boom$"):
            link._init("ray://head:10001", {"address": "ray://head:10001"})
    assert len(seen) == calls


def test_other_ray_init_failures_are_not_tried_again(monkeypatch):
    pytest.importorskip("ray")
    from services.dispatch.ray_pool import link

    calls = []

    def init(**options):
        calls.append(options)
        raise RuntimeError("Version mismatch: the client has Ray 2.60.0, the server 2.9.0")

    monkeypatch.setattr(link.ray, "init", init)
    with pytest.raises(link.RayUnavailable, match="Version mismatch"):
        link._init("ray://head:10001", {})
    assert len(calls) == 1


def test_the_ray_pools_entry_points_name_functions():
    """The pool names what runs on the nodes as "module:function" strings (nodes import them); a rename that
    misses them fails only on a node, so check they resolve."""
    pytest.importorskip("ray")
    import inspect

    from services.dispatch.ray_pool import RayPool, remote

    defaults = {name: p.default for name, p in inspect.signature(RayPool).parameters.items()
                if name in ("entry_point", "warm_entry")}
    assert len(defaults) == 2 and all(callable(remote._resolve(path)) for path in defaults.values()), defaults


def test_the_job_board_keeps_what_the_pool_has_not_collected():
    """Tasks report every POLL_S and the pool collects every POLL_S: two reports between two collections must lose
    neither the progress (a later report without news) nor the input summary (sent once, with the first)."""
    pytest.importorskip("ray")
    from contracts.runner import Progress
    from services.dispatch.ray_pool.remote import JobBoard

    board = JobBoard()
    first = Progress("j", 0.1, 1, -1.0, summary={"variables": 3})
    assert board.report("j/0", "node", 7, first) is False
    board.report("j/0", "node", 7, None)  # nothing new since
    assert board.collect([]) == {"j/0": ("node", 7, first)}
    board.report("j/0", "node", 7, first)
    board.report("j/0", "node", 7, Progress("j", 0.2, 2, -2.0))
    assert board.collect(["j/0"]) == {"j/0": ("node", 7, Progress("j", 0.2, 2, -2.0, summary={"variables": 3}))}
    assert board.report("j/0", "node", 7, None) is True  # cancelled
    assert board.collect(["j/0"]) == {"j/0": ("node", 7, None)}
