"""Runner processes as a user meets them (issue 12 §1, issue 11 §2): a half-filled numba cache with a runner count
that differs from the core count, runners that cannot start (the service says so), runners that die with the
service when it is SIGKILLed."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numba
import pytest

import solver_runner
from contracts import targets
from contracts.status import JobStatus
from solver_runner import warmup
from tests.integration.rest import Rest, long_problem, seed_problem
from tests.service import ROOT, Service

pytestmark = pytest.mark.integration

NOT_CACHED = ("qmc.", "ssmc.")  # the kernel modules left out of the half-filled cache


def half_filled_cache(base: Path) -> Path:
    """The session's solver cache (warm after `make test`'s warm-up) copied under `base`, minus the QMC and SSMC
    kernels and the warm-up marker: what a Ctrl-C during the first start leaves. Returns the keyed directory."""
    warm = solver_runner.cache_dir(os.environ.get("NUMBA_CACHE_DIR"))
    half = solver_runner.cache_dir(str(base))
    shutil.copytree(warm, half, ignore=lambda _, names: [n for n in names if n.startswith((*NOT_CACHED, "warmed-"))])
    return half


def cached(directory: Path, prefix: str) -> bool:
    return any(p.name.startswith(prefix) and p.suffix == ".nbi" for p in directory.rglob("*"))


async def test_jobs_of_solvers_missing_from_a_half_filled_cache_succeed_with_one_runner(azurite, tmp_path):
    """Issue 12: one runner on a machine with more cores, a half-filled cache: every job of a not-yet-cached solver
    ended Failed "Cannot set NUMBA_NUM_THREADS to a different value once the threads have been launched"."""
    half = half_filled_cache(tmp_path / "numba")
    with Service(data_dir=tmp_path / "svc", blob_url=azurite.blob_url, runners=1,
                 extra_env={"NUMBA_CACHE_DIR": str(tmp_path / "numba")}) as service:
        async with Rest(service) as rest:
            for target, params in ((targets.QMC, {"sweeps": 20, "seed": 1}),
                                   (targets.SSMC, {"step_limit": 50, "seed": 1})):
                job = await rest.wait(await rest.submit(seed_problem(), target, params), timeout=240)
                assert job["status"] == "Succeeded", job
                assert (await rest.result(job))["cost"] == -17.0
    for prefix in NOT_CACHED:  # compiled into the source-keyed directory, not wherever the environment pointed
        assert cached(half, prefix), f"no {prefix}* in {half}"


# A service-side process with a real pool and no warm-up process: the runner compiles what the cache lacks itself.
POOL_SCRIPT = """
import asyncio, json, sys
from contracts import targets
from contracts.problems import encode_json, problem_document
from contracts.runner import RunRequest
from services.dispatch.runner_pool import RunnerPool

async def main():
    pool = RunnerPool(1, threads_per_runner=int(sys.argv[1]), warmup_entry="")
    await pool.start()
    out = {"health": pool.health()}
    doc = problem_document("ising", [(-9.0, [0]), (-3.0, [1, 0]), (5.0, [2, 0])])
    jobs = ((targets.QMC, {"sweeps": 20, "seed": 1}), (targets.SSMC, {"step_limit": 50, "seed": 1}))
    for target, params in jobs if out["health"] is None else ():  # no runner would ever take them
        runner = await pool.acquire()
        outcome = await pool.run(runner, RunRequest("job", target, params, encode_json(doc)))
        out[target] = [outcome.status, outcome.error_message]
    await pool.close()
    out["imported"] = sorted(m for m in sys.modules if m == "numba" or m.startswith("solver_runner."))
    print(json.dumps(out))

asyncio.run(main())
"""


def test_a_runner_compiles_with_its_own_thread_count_into_the_keyed_cache(tmp_path):
    """The runner sets NUMBA_NUM_THREADS before numba is first imported (here one more than the cores, so it
    differs from numba's default on any machine), then compiles what the cache lacks: jobs succeed, the compiled
    code lands in the source-keyed directory, and the service side never imports numba or the kernels."""
    half = half_filled_cache(tmp_path / "numba")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    result = subprocess.run([sys.executable, "-c", POOL_SCRIPT, str((os.cpu_count() or 1) + 1)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["health"] is None, out
    assert out[targets.QMC] == ["succeeded", None] and out[targets.SSMC] == ["succeeded", None], out
    assert out["imported"] == [], out["imported"]
    for prefix in NOT_CACHED:
        assert cached(half, prefix), f"no {prefix}* in {half}"


def test_a_service_whose_runners_cannot_start_is_unhealthy_and_says_why(azurite, tmp_path):
    """NUMBA_NUM_THREADS=0 makes numba refuse to load: the service still listens, GET /healthz answers 503 with the
    reason, the log says it at every try, and the tries back off (1 s, 2 s, 4 s, ...)."""
    service = Service(data_dir=tmp_path / "svc", blob_url=azurite.blob_url, runners=1,
                      extra_env={"NUMBA_NUM_THREADS": "0"})
    try:
        service.start(healthy=False)
        status, body = service.health()
        assert status == 503 and body["status"] == "unhealthy", body
        assert "runner 0 failed" in body["reason"] and "Number of threads specified must be > 0" in body["reason"]
        check = subprocess.run([sys.executable, "-m", "services.healthcheck"], cwd=ROOT, capture_output=True,
                               text=True, timeout=60, env={**os.environ, "OPENQIO_DATA_DIR": str(service.data_dir)})
        assert check.returncode == 1 and "answered 503: 1 of 1 runner(s) cannot start" in check.stderr, check.stderr
        deadline = time.monotonic() + 60
        while "next try in 2 s" not in service.tail(200):
            assert time.monotonic() < deadline, service.tail()
            time.sleep(0.2)
        log = service.tail(400)
        assert "runner 0 cannot start (1 failed start(s) in a row)" in log and "next try in 1 s" in log
        assert "solver warm-up failed" in log
        assert log.count("runner 0 started") <= 3, log  # not a respawn every few seconds
    finally:
        service.stop()


def _children(pid: int) -> dict[int, str]:
    """Live children of `pid`: their command lines by pid."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            out[int(stat.parent.name)] = cmdline
    return out


@pytest.mark.skipif(warmup._cores() < 2, reason="a second compiling process needs a second core")
def test_a_first_start_compiles_in_two_processes_and_then_has_every_kernel(azurite, tmp_path):
    """The warm-up of a cold start has a second process compile half the groups (a daemonic warm-up could not: its
    first version failed so, and both runners then compiled everything)."""
    half = half_filled_cache(tmp_path / "numba")
    with Service(data_dir=tmp_path / "svc", blob_url=azurite.blob_url, runners=1,
                 extra_env={"NUMBA_CACHE_DIR": str(tmp_path / "numba")}) as service:
        log = service.tail(200)
    assert "compiling solvers (first start only" in log and "solver warm-up failed" not in log, log
    for group in warmup.ALONGSIDE:
        assert f"solvers compiled alongside: {group} (" in log, log
    assert "solvers ready in" in log and (half / f"warmed-numba-{numba.__version__}").exists()
    for prefix in NOT_CACHED:
        assert cached(half, prefix), f"no {prefix}* in {half}"


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_ctrl_c_during_the_first_compile_stops_the_service(azurite, tmp_path):
    """A first start compiles for a while; Ctrl-C (SIGINT) then stops the service and its warm-up process at once
    instead of after the compile and the runners' start."""
    service = Service(data_dir=tmp_path / "svc", blob_url=azurite.blob_url, runners=1,
                      extra_env={"NUMBA_CACHE_DIR": str(tmp_path / "empty-cache")})
    process = service.launch()
    try:
        deadline = time.monotonic() + 120
        while "compiling solvers (first start only" not in service.tail():
            assert process.poll() is None and time.monotonic() < deadline, service.tail()
            time.sleep(0.1)
        warm_up_pid = int(service.tail().split("solver warm-up started (pid ")[1].split(")")[0])
        pids = [warm_up_pid]
        if warmup._cores() >= 2:  # and the second process compiling alongside it
            while " alongside (pid " not in service.tail():
                assert process.poll() is None and time.monotonic() < deadline, service.tail()
                time.sleep(0.1)
            pids.append(int(service.tail().split(" alongside (pid ")[1].split(")")[0]))
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, service.tail()
        assert "stopped during start-up" in service.tail() and "runner 0 started" not in service.tail()
        time.sleep(1)  # the second process goes on its parent-death signal, a moment after the warm-up
        assert [pid for pid in pids if _alive(pid)] == []
    finally:
        service.stop(signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
async def test_runners_die_when_the_service_is_sigkilled(azurite, tmp_path):
    """Issue 11 §2: SIGKILL of the service process alone (not its process group) with a job without timeout
    executing: no runner remains within 5 s (parent-death signal, and the runners' watchdog)."""
    with Service(data_dir=tmp_path / "svc", blob_url=azurite.blob_url, runners=2) as service:
        async with Rest(service) as rest:
            job_id = await rest.submit(long_problem(seed=4), targets.SA, {"sweeps": 10**9, "restarts": 1})
            await rest.wait_status(job_id, JobStatus.EXECUTING)
        children = _children(service.process.pid)  # the runners, and multiprocessing's resource tracker
        assert sum("spawn_main" in cmd for cmd in children.values()) == 2, children
        os.kill(service.process.pid, signal.SIGKILL)
        try:
            deadline = time.monotonic() + 5.0
            while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
                time.sleep(0.05)
            left = {pid: cmd for pid, cmd in children.items() if _alive(pid)}
            assert not left, f"outlived the service: {left}"
        finally:
            service.stop(signal.SIGKILL)  # the whole process group: nothing stays behind if the test failed
