"""The async solvers: the sync classes' parameters and checks, with `submit` and `optimize` awaited."""
from __future__ import annotations

import logging
from typing import Any

from services.client import optimization as sync
from services.client._job_base import DEFAULT_TIMEOUT
from services.client.aio.job import Job
from services.client.optimization.problem import Problem
from services.client.optimization.solvers import RangeSchedule
from services.client.target import target_classes

log = logging.getLogger(__name__)

__all__ = ["RangeSchedule", "Solver", "SimulatedAnnealing", "ParallelTempering", "Tabu", "QuantumMonteCarlo",
           "PopulationAnnealing", "SubstochasticMonteCarlo"]


class Solver(sync.Solver):
    async def submit(self, problem: Problem | str) -> Job:  # type: ignore[override]
        """Submit the problem (a Problem, or the URL of an uploaded problem blob); returns the Job at once."""
        if hasattr(self.workspace, "_aio"):
            raise TypeError("this solver needs a services.client.aio.Workspace; with services.client.Workspace use "
                            "the solvers of services.client.optimization")
        return await self._submit_async(self.workspace, problem)

    async def optimize(self, problem: Problem | str, timeout_secs: float = DEFAULT_TIMEOUT) -> Any:  # type: ignore[override]
        """Submit and wait for the results (`await Job.get_results(timeout_secs)`)."""
        if not isinstance(problem, str):
            self.check_submission_warnings(problem)
        job = await self.submit(problem)
        log.info("Submitted job: '%s'", job.id)
        return await job.get_results(timeout_secs=timeout_secs)


class SimulatedAnnealing(Solver, sync.SimulatedAnnealing):
    __doc__ = sync.SimulatedAnnealing.__doc__


class ParallelTempering(Solver, sync.ParallelTempering):
    __doc__ = sync.ParallelTempering.__doc__


class Tabu(Solver, sync.Tabu):
    __doc__ = sync.Tabu.__doc__


class QuantumMonteCarlo(Solver, sync.QuantumMonteCarlo):
    __doc__ = sync.QuantumMonteCarlo.__doc__


class PopulationAnnealing(Solver, sync.PopulationAnnealing):
    __doc__ = sync.PopulationAnnealing.__doc__


class SubstochasticMonteCarlo(Solver, sync.SubstochasticMonteCarlo):
    __doc__ = sync.SubstochasticMonteCarlo.__doc__


TARGET_CLASSES = target_classes(SimulatedAnnealing, ParallelTempering, Tabu, QuantumMonteCarlo, PopulationAnnealing,
                                SubstochasticMonteCarlo)
