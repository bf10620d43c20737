"""Sync optimization API, shaped like azure.quantum.optimization."""
from __future__ import annotations

from typing import Any

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
    def submit(self, problem: Problem | str):
        return self.workspace.submit_problem(problem, self.name, self.params)

    def optimize(self, problem: Problem | str, timeout_secs: float = 300) -> dict[str, Any]:
        return self.submit(problem).get_results(timeout_secs=timeout_secs)


class SimulatedAnnealing(SimulatedAnnealingParameters, Solver): ...
class ParallelTempering(ParallelTemperingParameters, Solver): ...
class Tabu(TabuParameters, Solver): ...
class QuantumMonteCarlo(QuantumMonteCarloParameters, Solver): ...
class PopulationAnnealing(PopulationAnnealingParameters, Solver): ...
class SubstochasticMonteCarlo(SubstochasticMonteCarloParameters, Solver): ...


__all__ = ["ContentType", "Problem", "ProblemType", "SlcTerm", "Term", "RangeSchedule", "Solver", "SimulatedAnnealing",
           "ParallelTempering", "Tabu", "QuantumMonteCarlo", "PopulationAnnealing", "SubstochasticMonteCarlo"]
