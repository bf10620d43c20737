"""Sync optimization API, shaped like azure.quantum.optimization (0.27): Problem, ProblemType, Term, SlcTerm and
the Microsoft QIO solvers. The async flavour is services.client.aio.optimization; this one wraps it."""
from services.client._job_base import ContentType
from services.client._optimization.term import GroupType, SlcTerm, Term, TermBase
from services.client.optimization.problem import Problem, ProblemType
from services.client.optimization.solvers import (
    HardwarePlatform,
    ParallelTempering,
    PopulationAnnealing,
    QuantumMonteCarlo,
    RangeSchedule,
    SimulatedAnnealing,
    Solver,
    SubstochasticMonteCarlo,
    Tabu,
)

__all__ = [
    "ContentType", "GroupType", "HardwarePlatform", "ParallelTempering", "PopulationAnnealing", "Problem",
    "ProblemType", "QuantumMonteCarlo", "RangeSchedule", "SimulatedAnnealing", "SlcTerm", "Solver",
    "SubstochasticMonteCarlo", "Tabu", "Term", "TermBase",
]
