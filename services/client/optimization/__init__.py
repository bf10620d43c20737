"""Sync optimization API, shaped like azure.quantum.optimization (0.27): Problem, ProblemType, Term, SlcTerm and
the QIO solvers (Microsoft, Toshiba, 1QBit). The async flavour is services.client.aio.optimization; this one wraps it."""
from services.client._job_base import ContentType
from services.client._optimization.term import GroupType, SlcTerm, Term, TermBase
from services.client.optimization.problem import Problem, ProblemType
from services.client.optimization.solvers import (
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
