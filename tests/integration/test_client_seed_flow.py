"""The README's job-management example, verbatim, with the sync and the async native client."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import targets
from services.client import ConflictError, JobNotFoundError, Workspace
from services.client import aio
from services.client.optimization import Problem, ProblemType, SimulatedAnnealing, SlcTerm, Term
from services.client.aio.optimization import ParallelTempering as AioParallelTempering

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run_example(service, script: str) -> list[str]:
    env = {**os.environ, "OPENQIO_CONNECTION": str(service.connection_file)}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / script)], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.splitlines()


@pytest.mark.parametrize("script", ["job_management.py", "job_management_aio.py"])
def test_documented_example_prints_the_documented_results(openqio_service, script):
    lines = run_example(openqio_service, script)
    results = next(ast.literal_eval(line) for line in lines if line.startswith("{"))
    assert results["solutions"][0] == {"configuration": {"0": 1, "1": 1, "2": -1}, "cost": -17.0}
    assert results["configuration"] == {"0": 1, "1": 1, "2": -1} and results["cost"] == -17.0
    details = next(line for line in lines if line.startswith("JobDetails("))
    for name in ("id=", "name='MyOptimizationJob'", "container_uri=", "input_data_uri=",
                 "input_data_format='microsoft.qio.v2'", "input_params=", "provider_id='Microsoft'",
                 "target='microsoft.simulatedannealing-parameterfree.cpu'", "metadata=", "output_data_uri=",
                 "output_data_format='microsoft.qio-results.v2'", "status=<JobStatus.SUCCEEDED",
                 "creation_time=datetime", "begin_execution_time=datetime", "end_execution_time=datetime",
                 "cancellation_time=None", "error_data=None", "additional_properties={'isCancelling': False}"):
        assert name in details, f"{name} missing from {details}"
    assert any(line.startswith("cancel_job: (JobAlreadyFinished)") for line in lines), lines


def test_sync_client_details_cancel_and_errors(openqio_service):
    with Workspace(connection_file=openqio_service.connection_file) as ws:
        problem = Problem(name="grouped", problem_type=ProblemType.pubo)
        problem.add_term(c=1, indices=[0])
        problem.add_slc_term(SlcTerm([Term(c=1, indices=[0]), Term(c=1, indices=[1]), Term(c=-1, indices=[])], c=2))
        job = SimulatedAnnealing(ws, sweeps=100, seed=5).submit(problem)
        assert job.details.status.value == "Waiting" and not job.has_completed()
        result = job.get_results()
        assert result["cost"] == 0.0 and result["configuration"] == {"0": 0, "1": 1}
        done = ws.get_job(job.id)
        assert done.details.end_execution_time >= done.details.begin_execution_time >= done.details.creation_time
        with pytest.raises(ConflictError) as info:
            ws.cancel_job(done)
        assert info.value.code == "JobAlreadyFinished"
        with pytest.raises(JobNotFoundError):
            ws.get_job("no-such-job")
        assert {t["id"] for t in ws.get_targets()} >= {targets.SA, targets.PT}
        assert ws.get_quotas()[0]["dimension"] == "combined_job_hours"
        names = [j.details.name for j in ws.list_jobs(name_match="^grouped$")]
        assert names and set(names) == {"grouped"}


async def test_async_client_cancels_an_executing_job(openqio_service):
    import random

    rng = random.Random(3)
    async with aio.Workspace(connection_file=openqio_service.connection_file) as ws:
        problem = Problem(name="long", problem_type=ProblemType.ising)
        for i in range(3000):
            problem.add_term(c=rng.choice([-1, 1]), indices=[i, (i + rng.randint(1, 2999)) % 3000])
        job = await AioParallelTempering(ws, sweeps=10**8, replicas=4, all_betas=[0.1, 0.5, 1, 2]).submit(problem)
        for _ in range(600):
            await job.refresh()
            if job.details.status.value == "Executing":
                break
            import asyncio

            await asyncio.sleep(0.1)
        cancelled = await ws.cancel_job(job)
        assert cancelled.details.status.value in ("Executing", "Cancelled")
        if cancelled.details.status.value == "Executing":
            assert cancelled.details.additional_properties == {"isCancelling": True}
        await cancelled.wait_until_completed(timeout_secs=30)
        assert cancelled.details.status.value == "Cancelled"
        assert cancelled.details.cancellation_time is not None
        with pytest.raises(RuntimeError, match="Cancelled"):
            await cancelled.get_results()
