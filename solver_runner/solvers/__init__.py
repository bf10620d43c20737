"""Solver registry: importing this package registers every solver module under its target ids."""
from __future__ import annotations

from solver_runner.solvers import annealing, parameter_free  # noqa: F401  (register their targets)
from solver_runner.solvers.base import SOLVERS, SolveContext, SolveResult

__all__ = ["SOLVERS", "SolveContext", "SolveResult"]
