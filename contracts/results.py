"""Result documents: the runner's `microsoft.qio-results.v2` document, and what a job's `rawOutputData` holds in its
target's output format (what `Job.get_results()` returns, unchanged; contract §5).

Every solver's result is first the Microsoft document `make_result` builds (root `configuration`/`cost` = the best
solution, `solutions` best first, `parameters` = the effective parameters); the dispatcher keeps its cost for the
job's events. `output_document` is the one rule that turns it into the target's format:
- Microsoft targets: the document as it is;
- Toshiba (`microsoft.qio-results.v2` as SQBM+ wrote it): `{"target", "version", "input_params" (the job's
  inputParams), "input_data_uri", "solutions": [{"cost", "configuration", "parameters"}]}`, every solution carrying
  the run's `parameters` (`runs`, `message`, `time`, and with `auto` also `dt`, `algo`, `total_time`);
- 1QBit (`microsoft.qio-results.v1`): `{"input_data_uri", "input_params" (the effective parameters, every value
  text, with `solver_name`), "solutions": [{"configuration" (values as text), "cost"}], "target", "version"}`.
`input_data_uri` is the job's input blob URL without a SAS (a SAS would expire; the job's GET gives a fresh one).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .jobs import JobDetails
from .targets import FAMILIES, ONEQBIT, TOSHIBA

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


def as_text(value: Any) -> str:
    """A 1QBit output value: booleans `true`/`false`, lists `[a, b]`, numbers as Python prints them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(as_text(v) for v in value) + "]"
    return str(value)


def output_document(result: Mapping[str, Any], target: str | None = None, input_params: Any = None,
                    input_data_uri: str | None = None) -> dict[str, Any]:
    """`result` (a `make_result` document) in `target`'s output format (see the module docstring)."""
    family = FAMILIES.get(target or "")
    if family is TOSHIBA:
        per_run = dict(result.get("parameters") or {})
        return {"target": target, "version": RESULTS_VERSION, "input_params": input_params or {},
                "input_data_uri": input_data_uri,
                "solutions": [{"cost": s["cost"], "configuration": dict(s["configuration"]), "parameters": per_run}
                              for s in result["solutions"]]}
    if family is ONEQBIT:
        return {"input_data_uri": input_data_uri,
                "input_params": {k: as_text(v) for k, v in (result.get("parameters") or {}).items()},
                "solutions": [{"configuration": {k: str(v) for k, v in s["configuration"].items()}, "cost": s["cost"]}
                              for s in result["solutions"]],
                "target": target, "version": RESULTS_VERSION}
    return dict(result)


def encode_result(result: Mapping[str, Any], job: JobDetails | None = None) -> bytes:
    """The bytes of a job's `rawOutputData`: `result` in the job's target's output format (as it is without a job)."""
    document = result if job is None else output_document(result, job.target, job.input_params, job.input_data_uri)
    return json.dumps(document).encode("utf-8")


def best_of(document: Mapping[str, Any]) -> tuple[float | None, dict[str, Any]]:
    """(cost, configuration) of the best solution of a result document in any of the three formats."""
    if "cost" in document:
        return document.get("cost"), dict(document.get("configuration") or {})
    solutions = document.get("solutions") or [{}]
    return solutions[0].get("cost"), dict(solutions[0].get("configuration") or {})
