"""The `openqio` command line: `serve` plus client commands (submit, solve, jobs, results, targets)."""
from services.cli.app import app, main

__all__ = ["app", "main"]
