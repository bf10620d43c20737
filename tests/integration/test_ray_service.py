"""The whole service with `--executor ray` on the session's real multi-node Ray cluster (tests/ray_cluster.py:
a head without CPUs, two worker nodes of one CPU each), real Azurite and the real TLS gateway.

Seed flow with the native client and the azure-quantum 0.27 SDK; 200 small jobs from 20 clients; cancels (with
progress events first, which come through the job board); worker nodes killed under running jobs. The node tests
restart what they killed, so the cluster is whole again for the next test.
"""
from __future__ import annotations

import asyncio
import re

import pytest

from benchmarks.service import load
from contracts import targets
from contracts.status import JobStatus
from tests.integration.rest import Rest, long_problem, seed_problem
from tests.sdk.harness import assert_check, run_sdk_script
from tests.service import Service

pytestmark = pytest.mark.integration

RUNNING = re.compile(r"job (\S+) running on Ray node (\w+) \(worker pid (\d+)")


WARMED = re.compile(r"Ray node (\w+): solver kernels loaded in")


def assert_nodes_warmed(service, nodes: int) -> None:
    """At least `nodes` nodes compiled or loaded the solver kernels (runners' first jobs pay no JIT time), and no
    warm-up failed."""
    log = service.log_file.read_text(errors="replace")
    assert "warm-up failed" not in log and len(set(WARMED.findall(log))) >= nodes, service.tail(30)


def running_lines(service, job_id: str) -> list[tuple[str, int]]:
    """(node id, worker pid) of each run of `job_id` the service logged, in order."""
    return [(m.group(2), int(m.group(3))) for m in RUNNING.finditer(service.log_file.read_text(errors="replace"))
            if m.group(1) == job_id]


async def wait_for_run(service, job_id: str, count: int, timeout: float = 90.0) -> tuple[str, int]:
    """The node and worker pid of the job's `count`-th run, once the pool logged it."""
    for _ in range(int(timeout / 0.1)):
        runs = running_lines(service, job_id)
        if len(runs) >= count:
            return runs[count - 1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {count} of job {job_id} was never logged:\n{service.tail(30)}")


async def test_seed_flow_with_the_native_client(ray_service):
    async with Rest(ray_service) as rest:
        job_id = await rest.submit(seed_problem(), targets.SA, {"sweeps": 100, "seed": 3})
        job = await rest.wait(job_id)
        assert job["status"] == "Succeeded", job
        result = await rest.result(job)
        assert result["cost"] == -17.0 and result["configuration"] == {"0": 1, "1": 1, "2": -1}
        status, load = await rest.request("GET", f"{rest.base}/dashboard/load")  # the cluster's slots, none running
        assert status == 200 and load["runners"]["total"] >= 2 and load["runners"]["busy"] == 0, load
    assert_nodes_warmed(ray_service, nodes=2)


def test_sdk_seed_flow_and_job_management(ray_service):
    """The unmodified SDK's own flow (tests/sdk/sync_jobs.py): seed job, details, cancel of a waiting and of an
    executing job once long jobs fill the cluster's CPUs, listing and paging."""
    checks = run_sdk_script(ray_service, "sync_jobs.py", timeout=300)
    for name in ("seed_flow", "get_job_details", "output_uri_and_fresh_sas", "long_jobs_start", "cancel_waiting",
                 "cancel_executing", "cancel_cleanup", "get_results_cancelled_raises", "list_jobs_filters"):
        assert_check(checks, name)


async def test_200_small_jobs_from_20_clients_on_both_nodes(ray_service):
    """Every job Succeeded once, listed once, one terminal event, its cost recomputed; both worker nodes ran jobs."""
    result = await load.burst(str(ray_service.connection_file), jobs=200, clients=20, seed=7)
    assert result.failures == [] and result.verified == 200
    pattern = re.compile(r"Ray jobs finished per node since start: (.*)")
    for _ in range(100):
        lines = pattern.findall(ray_service.log_file.read_text(errors="replace"))
        counts = dict(item.split("=") for item in lines[-1].split(", ")) if lines else {}
        if sum(int(n) for n in counts.values()) >= 200:
            break
        await asyncio.sleep(0.1)
    assert len(counts) == 2 and all(int(n) > 0 for n in counts.values()), counts


async def test_cancel_of_executing_jobs_after_progress(ray_service):
    """A long job reports progress (board → dispatcher → event log), then DELETE ends it Cancelled: the solver
    stopped on its flag, not by force (no hard-deadline kill is logged)."""
    result = await load.cancels(str(ray_service.connection_file), trials=3)
    assert result.failures == [] and result.server.n == 3
    assert "force-cancelling" not in ray_service.log_file.read_text(errors="replace")


async def test_ray_client_address(azurite, ray_cluster, tmp_path):
    """OPENQIO_RAY_ADDRESS=ray://head:port (Ray Client, what docker/compose.ray.yaml uses): the service is no Ray
    node; jobs, progress and cancel go through the head's client server. Before the tests that kill nodes: a killed
    node stays listed a few seconds, and the restarted one joins 2-8 s after its kill."""
    service = Service(data_dir=tmp_path, blob_url=azurite.blob_url, args=["--executor", "ray"],
                      extra_env={"OPENQIO_RAY_ADDRESS": ray_cluster.client_address})
    try:
        service.start()
    except Exception as exc:  # noqa: BLE001 - the head's client server logs say why a ray:// connection failed
        pytest.fail(f"openqio failed to start: {exc}\n{ray_cluster.head_logs('ray_client_server*')}", pytrace=False)
    try:
        async with Rest(service) as rest:
            job_id = await rest.submit(seed_problem(), targets.SA, {"sweeps": 100, "seed": 3})
            job = await rest.wait(job_id)
            assert job["status"] == "Succeeded", job
            assert (await rest.result(job))["cost"] == -17.0
        result = await load.cancels(str(service.connection_file), trials=1)
        assert result.failures == [] and result.server.n == 1
        assert_nodes_warmed(service, nodes=2)
    finally:
        service.stop()


async def test_worker_node_killed_mid_job_completes_on_the_other(ray_service, ray_cluster):
    async with Rest(ray_service) as rest:
        job_id = await rest.submit(long_problem(seed=5), targets.SA, {"sweeps": 10**9, "timeout": 4, "seed": 1})
        node_id, pid = await wait_for_run(ray_service, job_id, 1)
        node = ray_cluster.node_of_pid(pid)
        assert node is not None and not node.head
        ray_cluster.kill_node(node)
        try:
            other_node, _ = await wait_for_run(ray_service, job_id, 2)
            assert other_node != node_id
            job = await rest.wait(job_id, timeout=120)
            assert job["status"] == "Succeeded", job
            status, events = await rest.request("GET", f"jobs/{job_id}/events")
            kinds = [e["kind"] for e in events["value"]]
            assert kinds.count("started") == 2 and "requeued" in kinds and kinds[-1] == "succeeded"
        finally:
            ray_cluster.start_node(node)


async def test_node_holding_a_job_killed_three_times_fails_it_with_a_clear_code(ray_service, ray_cluster):
    """OPENQIO_MAX_ATTEMPTS (3) bounds the retries: the third node death ends the job Failed, RunnerCrashed."""
    async with Rest(ray_service) as rest:
        job_id = await rest.submit(long_problem(seed=6), targets.SA, {"sweeps": 10**9, "timeout": 120, "seed": 1})
        for attempt in (1, 2, 3):
            _, pid = await wait_for_run(ray_service, job_id, attempt)
            node = ray_cluster.node_of_pid(pid)
            assert node is not None and not node.head
            ray_cluster.restart_node(node)  # killed, then back (the next attempt may land on it)
        job = await rest.wait(job_id, timeout=60)
        assert job["status"] == "Failed", job
        error = job["errorData"]
        assert error["code"] == "RunnerCrashed" and "3 time(s)" in error["message"], error
        assert "Ray" in error["message"] and "died" in error["message"], error
        # the cluster (both nodes back) still runs jobs
        ok = await rest.submit(seed_problem(), targets.SA, {"sweeps": 50})
        assert (await rest.wait(ok, timeout=60))["status"] == JobStatus.SUCCEEDED.value
