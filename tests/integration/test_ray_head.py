"""The Ray head's availability, each case on its own: a head that cannot be reached at start stops the service with
one clear line; a head lost while jobs run hands them back to the queue (the log says so) and, once a head answers
at the address again, the service reconnects and runs them. The second case kills its head, so it uses a small
cluster of its own (one node, the head with one CPU), not the session's."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts import targets
from contracts.status import JobStatus
from tests.integration.rest import Rest, long_problem
from tests.integration.test_ray_service import wait_for_run
from tests.ray_cluster import NODE_IP, RayCluster, free_ports
from tests.service import Service, ServiceError, serving

pytestmark = pytest.mark.integration


def test_unreachable_head_refuses_to_start_with_one_line(azurite, ray_cluster, tmp_path: Path):
    address = f"{NODE_IP}:{free_ports(1)[0]}"  # nothing listens there
    service = Service(data_dir=tmp_path, blob_url=azurite.blob_url, args=["--executor", "ray"],
                      extra_env={"OPENQIO_RAY_ADDRESS": address})
    with pytest.raises(ServiceError, match="exited with 1"):
        service.start(timeout=60)
    log = service.log_file.read_text()
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert len(errors) == 1, log
    assert f"cannot reach the Ray head at {address}" in errors[0] and "OPENQIO_RAY_ADDRESS" in errors[0]
    assert "Traceback" not in log


@pytest.fixture
def own_cluster(ray_cluster):  # after the session's cluster, so the two never start at once
    cluster = RayCluster(worker_cpus=(), head_cpus=1).start()
    try:
        yield cluster
    finally:
        cluster.stop()


async def test_head_lost_while_running_requeues_then_reconnects(azurite, own_cluster, tmp_path: Path):
    service = Service(data_dir=tmp_path, blob_url=azurite.blob_url, args=["--executor", "ray"],
                      extra_env={"OPENQIO_RAY_ADDRESS": own_cluster.address})
    for running in serving(service):
        async with Rest(running) as rest:
            job_id = await rest.submit(long_problem(seed=8), targets.SA, {"sweeps": 10**9, "timeout": 2, "seed": 1})
            await wait_for_run(running, job_id, 1)
            own_cluster.kill_node(own_cluster.nodes[0])
            job = await rest.wait_status(job_id, JobStatus.WAITING, timeout=60)  # handed back, not lost
            assert re.search(r"lost the Ray head at \S+ \(.*\): 1 running job\(s\) handed back", running.tail(200))
            status, events = await rest.request("GET", f"jobs/{job_id}/events")
            assert [e["kind"] for e in events["value"]][-1] == "requeued"
            own_cluster.start_node(own_cluster.nodes[0])  # a new head at the same address
            job = await rest.wait(job_id, timeout=120)
            assert job["status"] == "Succeeded", job
            assert "reconnected to the Ray head" in running.tail(200)
