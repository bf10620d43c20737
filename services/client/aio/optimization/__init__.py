"""Async optimization API, shaped like azure.quantum.aio.optimization: the same Problem/Term model as
services.client.optimization (both share services.client._optimization), with `Problem.upload`, `Solver.submit` and
`Solver.optimize` awaited."""
from services.client._optimization.term import GroupType, SlcTerm, Term, TermBase
from services.client.aio.optimization.problem import ContentType, Problem, ProblemType
from services.client.aio.optimization.solvers import (
    HardwarePlatform,
    ParallelTempering,
    PathRelinkingSolver,
    PopulationAnnealing,
    PticmSolver,
    QuantumMonteCarlo,
    RangeSchedule,
    SimulatedAnnealing,
    SimulatedBifurcationMachine,
    Solver,
    SubstochasticMonteCarlo,
    Tabu,
    TabuSearch,
)

__all__ = [
    "ContentType", "GroupType", "HardwarePlatform", "ParallelTempering", "PathRelinkingSolver", "PopulationAnnealing",
    "PticmSolver", "Problem", "ProblemType", "QuantumMonteCarlo", "RangeSchedule", "SimulatedAnnealing",
    "SimulatedBifurcationMachine", "SlcTerm", "Solver", "SubstochasticMonteCarlo", "Tabu", "TabuSearch", "Term",
    "TermBase",
]
