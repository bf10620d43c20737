"""What the dashboard shows about a job's input: counts a person wants to see, computed where the input is already
decoded (the runner) and kept with the job, so the gateway never decodes an input (a large one held its event loop
for seconds). Pure functions of the decoded problem; units are counts and bytes.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .problems import ProblemData


def summarize(problem: ProblemData, input_bytes: int, content_type: str | None) -> dict[str, Any]:
    """The summary of a decoded problem (`available: True`), with the stored input's size and Content-Type."""
    degrees = np.diff(problem.offsets) if problem.n_terms else np.zeros(0, np.int64)
    return {
        "available": True,
        "problemType": problem.problem_type,
        "variables": int(problem.variable_ids().shape[0]),
        "terms": problem.n_terms,
        "groupedTerms": int(problem.slc_coeffs.shape[0]),
        "maxDegree": int(degrees.max()) if degrees.size else 0,
        "initialConfiguration": bool(problem.initial_configuration),
        "name": problem.name,
        "inputBytes": input_bytes,
        "contentType": content_type,
    }


def unavailable(reason: str, **known: Any) -> dict[str, Any]:
    """A summary that could not be made (input missing, undecodable, too large), saying why."""
    return {"available": False, "reason": reason, **known}
