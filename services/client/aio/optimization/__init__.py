"""Async optimization API: Problem/Term as in services.client.optimization, solvers with awaited submit()."""
from __future__ import annotations

from typing import Any

from services.client.aio.workspace import Job
from services.client.optimization.parameters import (
    ParallelTemperingParameters,
    PopulationAnnealingParameters,
    QuantumMonteCarloParameters,
    RangeSchedule,
    SimulatedAnnealingParameters,
    SolverParameters,
    SubstochasticMonteCarloParameters,
    TabuParameters,
)
from services.client.optimization.problem import ContentType, Problem, ProblemType, SlcTerm, Term


class Solver(SolverParameters):
    async def submit(self, problem: Problem | str) -> Job:
        return await self.workspace.submit_problem(problem, self.name, self.params)

    async def optimize(self, problem: Problem | str, timeout_secs: float = 300) -> dict[str, Any]:
        job = await self.submit(problem)
        return await job.get_results(timeout_secs=timeout_secs)


class SimulatedAnnealing(SimulatedAnnealingParameters, Solver): ...
class ParallelTempering(ParallelTemperingParameters, Solver): ...
class Tabu(TabuParameters, Solver): ...
class QuantumMonteCarlo(QuantumMonteCarloParameters, Solver): ...
class PopulationAnnealing(PopulationAnnealingParameters, Solver): ...
class SubstochasticMonteCarlo(SubstochasticMonteCarloParameters, Solver): ...


__all__ = ["ContentType", "Problem", "ProblemType", "SlcTerm", "Term", "RangeSchedule", "Solver", "SimulatedAnnealing",
           "ParallelTempering", "Tabu", "QuantumMonteCarlo", "PopulationAnnealing", "SubstochasticMonteCarlo"]
