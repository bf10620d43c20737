"""Adapters for the comparison libraries (dwave-samplers, openjij) and for our own kernels, with one shape:

every `run_*` takes a prepared model and returns a `Run` (wall seconds of the sampling call alone, energies of the
returned samples, optional library-reported algorithm time). Model conversion happens before timing, for every
library alike. A library that does not import gives `unavailable(name)` a reason, and its rows say so.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from benchmarks.instances import Instance


@dataclass
class Run:
    seconds: float  # wall time of the sampling call
    energies: np.ndarray  # float64, one per returned sample
    algo_seconds: float | None = None  # library-reported time of the algorithm alone (openjij), all reads


_REASONS: dict[str, str | None] = {}


def unavailable(lib: str) -> str | None:
    """None when `lib` ("dwave" | "openjij") imports, else why not (the exception, one line)."""
    if lib not in _REASONS:
        try:
            if lib == "dwave":
                import dimod  # noqa: F401
                from dwave.samplers import SimulatedAnnealingSampler  # noqa: F401
            elif lib == "openjij":
                import openjij  # noqa: F401
            else:
                raise ValueError(lib)
            _REASONS[lib] = None
        except Exception as exc:  # noqa: BLE001 - any import failure makes the row unavailable
            _REASONS[lib] = f"{type(exc).__name__}: {str(exc)[:120]}"
    return _REASONS[lib]


def version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as v
    try:
        return v(dist)
    except PackageNotFoundError:
        return "not installed"


def _split(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(linear [n], rows, cols, quadratic) of a degree ≤ 2 instance."""
    lin = inst.j < 0
    h = np.bincount(inst.i[lin], weights=inst.c[lin], minlength=inst.n).astype(np.float64)
    return h, inst.i[~lin], inst.j[~lin], inst.c[~lin]


# --- dwave-samplers -------------------------------------------------------------------------------------------


def dimod_bqm(inst: Instance):
    import dimod
    h, r, c, q = _split(inst)
    vartype = dimod.SPIN if inst.problem_type == "ising" else dimod.BINARY
    return dimod.BinaryQuadraticModel.from_numpy_vectors(h, (r, c, q), inst.offset, vartype)


def run_dwave_sa(bqm, betas: np.ndarray, reads: int, seed: int) -> Run:
    """dwave-samplers SA, Metropolis, sweep t at betas[t] (custom schedule), `reads` independent reads."""
    from dwave.samplers import SimulatedAnnealingSampler
    sampler = SimulatedAnnealingSampler()
    t0 = time.perf_counter()
    ss = sampler.sample(bqm, num_reads=reads, beta_schedule_type="custom", beta_schedule=np.asarray(betas),
                        seed=seed)
    seconds = time.perf_counter() - t0
    algo = ss.info.get("timing", {}).get("sampling_ns")
    return Run(seconds, np.asarray(ss.record.energy, np.float64), None if algo is None else algo * 1e-9)


def dwave_default_beta_range(bqm) -> tuple[float, float]:
    """The β range dwave-samplers picks by default for this model (its geometric schedule spans it)."""
    from dwave.samplers import SimulatedAnnealingSampler
    ss = SimulatedAnnealingSampler().sample(bqm, num_reads=1, num_sweeps=1, seed=0)
    lo, hi = ss.info["beta_range"]
    return float(lo), float(hi)


def run_dwave_sa_default(bqm, sweeps: int, reads: int, seed: int) -> Run:
    """dwave-samplers SA with its default schedule (geometric over its own β range), `sweeps` sweeps per read."""
    from dwave.samplers import SimulatedAnnealingSampler
    t0 = time.perf_counter()
    ss = SimulatedAnnealingSampler().sample(bqm, num_reads=reads, num_sweeps=sweeps, seed=seed)
    return Run(time.perf_counter() - t0, np.asarray(ss.record.energy, np.float64))


def run_dwave_tabu(bqm, timeout_s: float, seed: int, target: float | None = None) -> Run:
    """dwave-samplers TabuSampler, one read of `timeout_s` (its restarts inside); `target` is passed as its
    energy_threshold (None: run to the timeout)."""
    from dwave.samplers import TabuSampler
    t0 = time.perf_counter()
    ss = TabuSampler().sample(bqm, num_reads=1, timeout=max(1, int(timeout_s * 1000)), seed=seed,
                              energy_threshold=target)
    return Run(time.perf_counter() - t0, np.asarray(ss.record.energy, np.float64))


# --- openjij --------------------------------------------------------------------------------------------------


def openjij_bqm(inst: Instance, sparse: bool):
    """An openjij BQM built from dicts (a dimod BQM would make SQASampler fall back to its dense model)."""
    import openjij as oj
    h, r, c, q = _split(inst)
    linear = {int(k): float(v) for k, v in enumerate(h)}
    quadratic: dict[tuple[int, int], float] = {}
    for a, b, w in zip(r.tolist(), c.tolist(), q.tolist()):
        key = (a, b) if a < b else (b, a)
        quadratic[key] = quadratic.get(key, 0.0) + w
    vartype = "SPIN" if inst.problem_type == "ising" else "BINARY"
    return oj.BinaryQuadraticModel(linear, quadratic, inst.offset, vartype, sparse=sparse)


def run_openjij_sa(bqm, betas: np.ndarray, reads: int, sparse: bool) -> Run:
    """openjij SASampler, one sweep per β (custom schedule). No seed: with one, openjij repeats it for every
    read, so all reads would be identical."""
    import openjij as oj
    schedule = [(float(b), 1) for b in betas]
    t0 = time.perf_counter()
    res = oj.SASampler().sample(bqm, schedule=schedule, num_reads=reads, sparse=sparse)
    seconds = time.perf_counter() - t0
    algo = float(np.sum(res.info["list_exec_times"])) * 1e-6
    return Run(seconds, np.asarray(res.record.energy, np.float64), algo)


def run_openjij_sa_default(bqm, sweeps: int, reads: int, seed: int) -> Run:
    """openjij SASampler with its default schedule (its own β range from the model), `sweeps` sweeps per read.
    Seeded per call (a seed makes openjij repeat it for every read of the call, so callers use reads=1)."""
    import openjij as oj
    t0 = time.perf_counter()
    res = oj.SASampler().sample(bqm, num_sweeps=sweeps, num_reads=reads, seed=seed)
    return Run(time.perf_counter() - t0, np.asarray(res.record.energy, np.float64))


def run_openjij_sqa(bqm, beta: float, gamma: float, sweeps: int, trotter: int, reads: int, sparse: bool,
                    seed: int | None = None) -> Run:
    """openjij SQASampler, its default quartic s-schedule (H = s·H_p + Γ(1−s)·Σσˣ at fixed β)."""
    import openjij as oj
    t0 = time.perf_counter()
    res = oj.SQASampler().sample(bqm, beta=beta, gamma=gamma, num_sweeps=sweeps, trotter=trotter, num_reads=reads,
                                 sparse=sparse, seed=seed)
    seconds = time.perf_counter() - t0
    algo = float(np.sum(res.info["list_exec_times"])) * 1e-6
    return Run(seconds, np.asarray(res.record.energy, np.float64), algo)


# --- ours -----------------------------------------------------------------------------------------------------


def compiled(raw: bytes):
    """Our model of raw, decoded and compiled as a runner does (solver_runner.entry)."""
    from contracts.problems import decode_problem
    from solver_runner.json_terms import scan_terms
    from solver_runner.model import compile_problem
    return compile_problem(decode_problem(raw, scan_terms=scan_terms))


def run_ours_sa(model, betas: np.ndarray, reads: int, seed: int, kernel: str | None = None) -> Run:
    """Our SA (solver_runner.solvers.walkers.anneal_run) on `kernel` (None: the automatic choice); algo_seconds is
    the algorithm alone (start states, sweeps, final costs), as dwave's sampling_ns and openjij's execution time."""
    from solver_runner.solvers.walkers import anneal_run
    t0 = time.perf_counter()
    out = anneal_run(model, np.ascontiguousarray(betas, np.float64), reads, seed, threads=1, kernel=kernel)
    return Run(time.perf_counter() - t0, np.asarray(out["energies"], np.float64), float(out["seconds"]))


def run_ours_sqa(model, beta: float, gammas: np.ndarray, trotter: int, reads: int, seed: int) -> Run:
    """Our discrete-time SQA (local moves); energies = the best slice of each restart."""
    from solver_runner.solvers.walkers import sqa_sweeps
    t0 = time.perf_counter()
    out = sqa_sweeps(model, trotter, beta, np.ascontiguousarray(gammas, np.float64), seed, restarts=reads, threads=1)
    seconds = time.perf_counter() - t0
    return Run(seconds, np.asarray(out["energies"], np.float64).min(axis=1), float(out["seconds"]))
