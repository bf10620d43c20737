"""The sync solvers: the shared classes (services.client._optimization.solvers) with blocking `submit` and
`optimize`, which run the async submission on the sync Workspace's loop thread."""
from __future__ import annotations

import logging
from typing import Any

from .. import _optimization
from .._job_base import DEFAULT_TIMEOUT
from .._optimization.problem import Problem
from .._optimization.solvers import HardwarePlatform, RangeSchedule
from ..job import Job
from ..target import target_classes

log = logging.getLogger(__name__)

__all__ = ["HardwarePlatform", "RangeSchedule", "Solver", "SimulatedAnnealing", "ParallelTempering", "Tabu",
           "QuantumMonteCarlo", "PopulationAnnealing", "SubstochasticMonteCarlo", "SimulatedBifurcationMachine",
           "TabuSearch", "PticmSolver", "PathRelinkingSolver", "TARGET_CLASSES"]


class Solver(_optimization.solvers.Solver):
    __doc__ = _optimization.solvers.Solver.__doc__

    def submit(self, problem: Problem | str) -> Job:
        """Submit the problem (a Problem, or the URL of an uploaded problem blob); returns the Job at once."""
        run = getattr(self.workspace, "_run", None)
        if run is None:
            raise TypeError("this solver needs a services.client.Workspace; with services.client.aio.Workspace use "
                            "the solvers of services.client.aio.optimization")
        return Job(self.workspace, run(self._submit_async(self.workspace._aio, problem)).details)

    def optimize(self, problem: Problem | str, timeout_secs: float = DEFAULT_TIMEOUT) -> Any:
        """Submit and wait for the results (`Job.get_results(timeout_secs)`)."""
        if not isinstance(problem, str):
            self.check_submission_warnings(problem)
        job = self.submit(problem)
        log.info("Submitted job: '%s'", job.id)
        return job.get_results(timeout_secs=timeout_secs)


class SimulatedAnnealing(Solver, _optimization.solvers.SimulatedAnnealing):
    __doc__ = _optimization.solvers.SimulatedAnnealing.__doc__


class ParallelTempering(Solver, _optimization.solvers.ParallelTempering):
    __doc__ = _optimization.solvers.ParallelTempering.__doc__


class Tabu(Solver, _optimization.solvers.Tabu):
    __doc__ = _optimization.solvers.Tabu.__doc__


class QuantumMonteCarlo(Solver, _optimization.solvers.QuantumMonteCarlo):
    __doc__ = _optimization.solvers.QuantumMonteCarlo.__doc__


class PopulationAnnealing(Solver, _optimization.solvers.PopulationAnnealing):
    __doc__ = _optimization.solvers.PopulationAnnealing.__doc__


class SubstochasticMonteCarlo(Solver, _optimization.solvers.SubstochasticMonteCarlo):
    __doc__ = _optimization.solvers.SubstochasticMonteCarlo.__doc__


class SimulatedBifurcationMachine(Solver, _optimization.catalog.SimulatedBifurcationMachine):
    __doc__ = _optimization.catalog.SimulatedBifurcationMachine.__doc__


class TabuSearch(Solver, _optimization.catalog.TabuSearch):
    __doc__ = _optimization.catalog.TabuSearch.__doc__


class PticmSolver(Solver, _optimization.catalog.PticmSolver):
    __doc__ = _optimization.catalog.PticmSolver.__doc__


class PathRelinkingSolver(Solver, _optimization.catalog.PathRelinkingSolver):
    __doc__ = _optimization.catalog.PathRelinkingSolver.__doc__


TARGET_CLASSES = target_classes(SimulatedAnnealing, ParallelTempering, Tabu, QuantumMonteCarlo, PopulationAnnealing,
                                SubstochasticMonteCarlo, SimulatedBifurcationMachine, TabuSearch, PticmSolver,
                                PathRelinkingSolver)
