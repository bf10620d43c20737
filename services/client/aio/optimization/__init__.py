"""Async optimization API, shaped like azure.quantum.aio.optimization: the same Problem/Term model as
services.client.optimization, with `Problem.upload`, `Solver.submit` and `Solver.optimize` awaited."""
from services.client.aio.optimization.problem import ContentType, Problem, ProblemType
from services.client.aio.optimization.solvers import (
    ParallelTempering,
    PopulationAnnealing,
    QuantumMonteCarlo,
    RangeSchedule,
    SimulatedAnnealing,
    Solver,
    SubstochasticMonteCarlo,
    Tabu,
)
from services.client.optimization.solvers import HardwarePlatform
from services.client.optimization.term import GroupType, SlcTerm, Term, TermBase

__all__ = [
    "ContentType", "GroupType", "HardwarePlatform", "ParallelTempering", "PopulationAnnealing", "Problem",
    "ProblemType", "QuantumMonteCarlo", "RangeSchedule", "SimulatedAnnealing", "SlcTerm", "Solver",
    "SubstochasticMonteCarlo", "Tabu", "Term", "TermBase",
]
