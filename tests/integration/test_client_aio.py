"""The async native client (services.client.aio) against the real service."""
from __future__ import annotations

import asyncio
import random

import pytest

from services.client import ConflictError
from services.client.aio import JobStatus, Workspace
from services.client.aio.optimization import ParallelTempering, Problem, ProblemType, SimulatedAnnealing, Tabu

pytestmark = pytest.mark.integration


def seed_problem(name: str = "MyOptimizationJob") -> Problem:
    problem = Problem(name=name, problem_type=ProblemType.ising)
    problem.add_term(c=-9, indices=[0]); problem.add_term(c=-3, indices=[1, 0]); problem.add_term(c=5, indices=[2, 0])
    return problem


async def test_the_briefs_usage_with_await(openqio_service):
    async with Workspace(connection_file=openqio_service.connection_file) as workspace:
        assert isinstance(await workspace.list_jobs(), list)
        job = await SimulatedAnnealing(workspace).submit(seed_problem())
        job = await workspace.get_job(job.id)
        results = await job.get_results()
        assert results["configuration"] == {"0": 1, "1": 1, "2": -1} and results["cost"] == -17.0
        assert job.details.status == JobStatus.SUCCEEDED
        with pytest.raises(ConflictError, match="JobAlreadyFinished"):
            await workspace.cancel_job(job)


async def test_concurrent_submissions_share_one_workspace(openqio_service):
    async with Workspace(connection_file=openqio_service.connection_file) as workspace:
        solvers = [SimulatedAnnealing(workspace, sweeps=50, seed=i) for i in range(4)] + \
                  [Tabu(workspace, sweeps=20, seed=i) for i in range(4)]
        jobs = await asyncio.gather(*(s.submit(seed_problem(f"concurrent-{i}")) for i, s in enumerate(solvers)))
        assert len({j.id for j in jobs}) == 8
        results = await asyncio.gather(*(j.get_results() for j in jobs))
    assert all(r["cost"] == -17.0 for r in results)


async def test_workspace_without_async_with(openqio_service):
    workspace = Workspace(connection_file=openqio_service.connection_file)  # a session per call: nothing to close
    result = await ParallelTempering(workspace, sweeps=50, replicas=2, all_betas=[0.5, 2.0], seed=1).optimize(
        seed_problem("no-context"))
    assert result["cost"] == -17.0


async def test_cancel_an_executing_job(openqio_service):
    rng = random.Random(3)
    async with Workspace(connection_file=openqio_service.connection_file) as ws:
        problem = Problem(name="long", problem_type=ProblemType.ising)
        for i in range(3000):
            problem.add_term(c=rng.choice([-1, 1]), indices=[i, (i + rng.randint(1, 2999)) % 3000])
        job = await ParallelTempering(ws, sweeps=10**8, replicas=4, all_betas=[0.1, 0.5, 1, 2]).submit(problem)
        for _ in range(600):
            await job.refresh()
            if job.details.status == JobStatus.EXECUTING:
                break
            await asyncio.sleep(0.1)
        cancelled = await ws.cancel_job(job)
        assert cancelled.details.status in (JobStatus.EXECUTING, JobStatus.CANCELLED)
        if cancelled.details.status == JobStatus.EXECUTING:
            assert cancelled.details.additional_properties == {"isCancelling": True}
        await cancelled.wait_until_completed(timeout_secs=30, print_progress=False)
        assert cancelled.details.status == JobStatus.CANCELLED and cancelled.details.cancellation_time is not None
        with pytest.raises(RuntimeError, match="Cancelled"):
            await cancelled.get_results()
        with pytest.raises(ConflictError):
            await job.cancel()
