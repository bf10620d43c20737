"""Instances beyond the generated set: the developer set (../shared/data: Gset, OR-Library bqp, planted, with
best-known costs in its manifest) read as benchmark Instances, and a ship-loading generator (grouped terms).

Nothing is downloaded: the developer set is a directory next to this checkout (or next to its parent, for a git
worktree under wt/), or `--data DIR`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.instances import ROOT, Instance
from contracts.problems import problem_document


def ship_loading(containers: int, ships: int, seed: int) -> dict:
    """A multi-ship loading problem shaped like Microsoft's public QIO sample: x_{s,c} = container c on ship s
    (pubo), grouped terms only: balance Σ_s (Σ_c w_c·x_{s,c} − W/S)² plus, per container, the one-ship constraint
    λ·(Σ_s x_{s,c} − 1)² with λ = W (any violation costs more than any imbalance it could fix). Weights 1..40."""
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 41, containers).astype(float)
    total = float(w.sum())
    var = lambda s_, c_: s_ * containers + c_  # noqa: E731
    balance = [(1.0, [(float(w[c]), [var(s_, c)]) for c in range(containers)] + [(-total / ships, [])])
               for s_ in range(ships)]
    one_ship = [(total, [(1.0, [var(s_, c)]) for s_ in range(ships)] + [(-1.0, [])]) for c in range(containers)]
    return problem_document("pubo_grouped", [], slc_terms=balance + one_ship,
                            name=f"shipload_{ships}x{containers}_s{seed}")


def shared_data(directory: str | None = None) -> Path | None:
    """The developer instance set: `directory`, else ../shared/data next to this checkout (or next to its
    parent, for a git worktree under wt/)."""
    candidates = [Path(directory)] if directory else [ROOT.parent / "shared" / "data",
                                                      ROOT.parent.parent / "shared" / "data"]
    return next((c for c in candidates if (c / "manifest.json").is_file()), None)


def shared_manifest(directory: Path) -> dict[str, dict]:
    return {e["name"]: e for e in json.loads((directory / "manifest.json").read_text())["instances"]}


def from_qio(name: str, raw: bytes) -> Instance | None:
    """An Instance (variables renumbered 0..n−1, constant as `offset`) of a microsoft.qio.v2 input with terms of
    degree ≤ 2 only; None for anything else (the comparison libraries take quadratic models only)."""
    from contracts.problems import decode_problem
    problem = decode_problem(raw)
    deg = np.diff(problem.offsets)
    if problem.slc_coeffs.shape[0] or (deg.size and deg.max() > 2):
        return None
    ids = problem.variable_ids()
    idx = np.searchsorted(ids, problem.ids)
    last = max(idx.shape[0] - 1, 0)
    first = idx[np.minimum(problem.offsets[:-1], last)]
    second = np.where(deg == 2, idx[np.minimum(problem.offsets[:-1] + 1, last)], -1)
    keep = deg > 0
    return Instance(name, "file", "ising" if problem.is_ising else "pubo", int(ids.shape[0]), first[keep],
                    second[keep], problem.coeffs[keep].astype(np.float64),
                    offset=float(problem.coeffs[deg == 0].sum()))

