"""The `microsoft.qio-results.v2` output document (what `Job.get_results()` returns, unchanged)."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

RESULTS_VERSION = "1.0"


def solution_entry(configuration: Mapping[Any, int], cost: float) -> dict[str, Any]:
    return {"configuration": {str(k): int(v) for k, v in configuration.items()}, "cost": float(cost)}


def make_result(solutions: Sequence[dict[str, Any]], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Root `configuration`/`cost` are the best solution; `solutions` is sorted best first."""
    if not solutions:
        raise ValueError("a result needs at least one solution")
    ordered = sorted(solutions, key=lambda s: s["cost"])
    best = ordered[0]
    return {
        "version": RESULTS_VERSION,
        "configuration": dict(best["configuration"]),
        "cost": best["cost"],
        "parameters": dict(parameters),
        "solutions": list(ordered),
    }


def encode_result(result: Mapping[str, Any]) -> bytes:
    return json.dumps(result).encode("utf-8")
