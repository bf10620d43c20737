"""Dispatching jobs to runner processes: the dispatcher loop and the runner pool (the async ↔ process bridge)."""
