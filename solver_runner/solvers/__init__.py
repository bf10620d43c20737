"""Solver registry: importing this package registers every solver module under its target ids (`@register`)."""
from __future__ import annotations

from solver_runner.solvers import annealing, parameter_free, population, pticm, qbit, qmc, sbm, ssmc, tabu  # noqa: F401
from solver_runner.solvers.base import SOLVERS, SolveContext, SolveResult

__all__ = ["SOLVERS", "SolveContext", "SolveResult"]
