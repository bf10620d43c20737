"""dimod samplers that solve on openqio: Ocean code keeps its models and gets remote, cancellable, observable jobs.

    import dimod
    from services.client import Workspace
    from services.client.dimod import OpenQIOSampler

    sampler = OpenQIOSampler(Workspace(), target="pt", timeout=5)     # one sampler per solver (target)
    sampleset = sampler.sample(dimod.generators.ran_r(1, 20))        # submitted now, read when first used
    print(sampleset.first.energy, sampleset.info["job_id"])

Needs the `ocean` extra (`pip install 'openqio[ocean]'`, which adds only dimod). Built on the public client API
only (Workspace, Job, the solver classes, Problem.from_bqm / from_polynomial).

- `sample(bqm)` / `sample_poly(poly)` upload the problem and submit the job, then return at once: a
  `dimod.SampleSet.from_future` that waits for the job on first read, so `[sampler.sample(b) for b in bqms]`
  runs the jobs side by side. `submit(...)` returns the `SampleFuture` itself, whose `job` can be cancelled,
  streamed (`job.stream_events()`) or inspected (`job.details`).
- Energies are recomputed by dimod from the model (its vartype, its offset), so they are exactly the model's;
  rows are the job's solutions, best first (`number_of_solutions` = 1..10 rows, distinct, one occurrence each).
  A variable the model holds but no term touches gets the vartype's lower value.
- `info`: job_id, target (the id that ran: parameter-free when no tuning parameter is given, as in the SDK),
  parameters (the effective ones the solver echoed, seed included) and timing (queue_s, run_s, total_s: seconds
  from the job's creation, start and end times).
"""
from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import dimod
import numpy as np

from services.client import Job, Workspace
from services.client.optimization import (
    ParallelTempering,
    PopulationAnnealing,
    Problem,
    QuantumMonteCarlo,
    SimulatedAnnealing,
    Solver,
    SubstochasticMonteCarlo,
    Tabu,
)

__all__ = ["OpenQIOPolySampler", "OpenQIOSampler", "SampleFuture", "SOLVERS"]

SOLVERS: dict[str, type[Solver]] = {
    "sa": SimulatedAnnealing, "pt": ParallelTempering, "tabu": Tabu, "qmc": QuantumMonteCarlo,
    "pa": PopulationAnnealing, "ssmc": SubstochasticMonteCarlo,
}
MAX_SOLUTIONS = 10  # the service's bound on number_of_solutions
POLL_S = 1.0  # longest pause between status polls while a sample set waits for its job
_NOT_PARAMETERS = {"self", "workspace", "name", "platform", "content_type", "kwargs"}


def solver_class(target: str) -> type[Solver]:
    """`sa`, `pt`, `tabu`, `qmc`, `pa`, `ssmc` (`-pf` accepted), a class name or a full target id → the solver
    class. The class picks its parameter-free target itself when no tuning parameter is given, as the SDK does."""
    key = target.strip().lower().removesuffix("-pf")
    by_name = {cls.__name__.lower(): cls for cls in SOLVERS.values()}
    by_id = {tid.lower(): cls for cls in SOLVERS.values() for tid in cls.target_names}
    found = SOLVERS.get(key) or by_name.get(key) or by_id.get(key)
    if found is None:
        raise ValueError(f"unknown target {target!r}; use one of {', '.join(SOLVERS)}, a solver class name or a "
                         "full target id such as microsoft.tabu.cpu")
    return found


class SampleFuture:
    """A submitted job whose result becomes a dimod.SampleSet. `job` is the services.client.Job: `job.cancel()`,
    `job.stream_events()`, `job.details`. `done()` asks the service; `result()` waits and builds the SampleSet."""

    def __init__(self, job: Job, build: Callable[[dict[str, Any], Job], dimod.SampleSet]):
        self.job = job
        self._build = build
        self._sampleset: dimod.SampleSet | None = None

    def done(self) -> bool:
        if not self.job.has_completed():
            self.job.refresh()
        return self.job.has_completed()

    def result(self, timeout: float | None = None) -> dimod.SampleSet:
        """The sample set, once the job has finished (TimeoutError after `timeout` seconds; RuntimeError, with the
        job's errorData, for a failed or cancelled job)."""
        if self._sampleset is None:
            self.job.wait_until_completed(max_poll_wait_secs=POLL_S, timeout_secs=timeout, print_progress=False)
            self._sampleset = self._build(self.job.get_results(), self.job)
        return self._sampleset

    def cancel(self) -> bool:
        """Cancel the job; False when it had already finished."""
        if self.done():
            return False
        self.job.cancel()
        return True

    def __repr__(self) -> str:
        return f"<SampleFuture job={self.job.id} status={getattr(self.job.details.status, 'value', '?')}>"


class _OpenQIOBase:
    """What both samplers share: the workspace, the solver class and its parameters, submission, results."""

    def __init__(self, workspace: Workspace | None = None, target: str = "sa", **parameters: Any):
        self._solver_class = solver_class(target)
        names = inspect.signature(self._solver_class.__init__).parameters
        self._parameters: dict[str, list[Any]] = {name: [] for name in names if name not in _NOT_PARAMETERS}
        self._parameters["number_of_solutions"] = []
        unknown = sorted(set(parameters) - set(self._parameters))
        if unknown:
            raise TypeError(f"{self._solver_class.__name__} has no parameter {', '.join(unknown)}; it takes "
                            f"{', '.join(sorted(self._parameters))}")
        self._defaults = dict(parameters)
        self._owns_workspace = workspace is None
        self.workspace = Workspace() if workspace is None else workspace
        self._properties = {"solver": self._solver_class.__name__, "target": self._solver(self._defaults).name,
                            "max_number_of_solutions": MAX_SOLUTIONS}

    @property
    def parameters(self) -> dict[str, list]:
        return {name: list(props) for name, props in self._parameters.items()}

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self._properties)

    def close(self) -> None:
        """Close the workspace if this sampler opened it (no workspace given)."""
        if self._owns_workspace:
            self.workspace.close()

    def _solver(self, params: Mapping[str, Any]) -> Solver:
        """A solver with these parameters; the solver classes check the values (ValueError), as in the SDK."""
        params = dict(params)
        solutions = params.pop("number_of_solutions", None)
        solver = self._solver_class(self.workspace, **params)
        if solutions is not None:
            if isinstance(solutions, bool) or not isinstance(solutions, int) or not 1 <= solutions <= MAX_SOLUTIONS:
                raise ValueError(f"number_of_solutions must be an integer in 1..{MAX_SOLUTIONS}; got {solutions!r}")
            solver.set_number_of_solutions(solutions)
        return solver

    def _known(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """The per-call parameters over the sampler's own; unknown ones are dropped with dimod's warning."""
        for name in [k for k in parameters if k not in self._parameters]:
            warnings.warn(f"Ignoring unknown kwarg: {name!r}", dimod.exceptions.SamplerUnknownArgWarning, stacklevel=4)
            parameters.pop(name)
        return {**self._defaults, **parameters}

    def _submit(self, problem: Problem, parameters: dict[str, Any], energies: Callable[[Any], Any],
                vartype: dimod.Vartype) -> SampleFuture:
        job = self._solver(self._known(parameters)).submit(problem)
        variables = _variables(problem)

        def build(results: dict[str, Any], finished: Job) -> dimod.SampleSet:
            samples = (_rows(results, variables, vartype), [label for _, label in variables])
            return dimod.SampleSet.from_samples(samples, vartype, energies(samples), info=_info(results, finished))

        return SampleFuture(job, build)


class OpenQIOSampler(_OpenQIOBase, dimod.Sampler):
    """A dimod Sampler on one openqio target: `OpenQIOSampler(workspace, target="pt", timeout=5)`. Constructor
    keywords are the solver's parameters (SimulatedAnnealing's sweeps, beta_start, ..., seed, timeout) plus
    `number_of_solutions`; `sample(bqm, **parameters)` overrides them for one call. Without a workspace it
    connects through .openqio/connection.json (and closes that connection on `close()`)."""

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
        """Submit the BQM (SPIN as ising, BINARY as pubo, its offset as a constant term) and return a SampleSet
        that resolves when first read."""
        if not bqm.num_variables:  # nothing to solve: the one empty sample, energy = the offset
            self._known(parameters)
            return dimod.SampleSet.from_samples_bqm((np.empty((1, 0), dtype=np.int8), []), bqm)
        return dimod.SampleSet.from_future(self.submit(bqm, **parameters))

    def submit(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> SampleFuture:
        """Submit the BQM; the SampleFuture's `job` is the running job, `result()` the SampleSet."""
        return self._submit(Problem.from_bqm(bqm, name=_name(bqm)), parameters, bqm.energies, bqm.vartype)


class OpenQIOPolySampler(_OpenQIOBase, dimod.PolySampler):
    """A dimod PolySampler on one openqio target, for binary polynomials of any degree (QIO terms are k-local):
    `OpenQIOPolySampler(workspace, target="sa", sweeps=1000).sample_poly(poly)`; parameters as OpenQIOSampler."""

    def sample_poly(self, polynomial: dimod.BinaryPolynomial, **parameters: Any) -> dimod.SampleSet:
        """Submit the polynomial and return a SampleSet that resolves when first read."""
        if not polynomial.variables:
            self._known(parameters)
            empty: tuple[np.ndarray, list[Any]] = (np.empty((1, 0), dtype=np.int8), [])
            return dimod.SampleSet.from_samples(empty, polynomial.vartype, polynomial.energies(empty))
        return dimod.SampleSet.from_future(self.submit_poly(polynomial, **parameters))

    def submit_poly(self, polynomial: dimod.BinaryPolynomial, **parameters: Any) -> SampleFuture:
        return self._submit(Problem.from_polynomial(polynomial, name=_name(polynomial)), parameters,
                            polynomial.energies, polynomial.vartype)


def _name(model: Any) -> str:
    return f"dimod {type(model).__name__} ({len(model.variables)} variables)"


def _variables(problem: Problem) -> list[tuple[int, Hashable]]:
    """(id, label) of every variable the problem holds, in id order."""
    ids = sorted({i for t in problem.terms for i in t.ids} | set((problem.labels or {}).keys()))
    return [(vid, (problem.labels or {}).get(vid, vid)) for vid in ids]


def _rows(results: dict[str, Any], variables: Sequence[tuple[int, Hashable]], vartype: dimod.Vartype) -> np.ndarray:
    """One row per solution (best first), columns in `variables` order; unlisted variables take the low value."""
    solutions = results.get("solutions") or [{"configuration": results["configuration"]}]
    low = min(vartype.value)
    rows = np.full((len(solutions), len(variables)), low, dtype=np.int8)
    for r, solution in enumerate(solutions):
        configuration = solution["configuration"]
        for c, (vid, _) in enumerate(variables):
            rows[r, c] = configuration.get(str(vid), low)
    return rows


def _info(results: dict[str, Any], job: Job) -> dict[str, Any]:
    d = job.details
    timing: dict[str, float] = {}
    if d.creation_time and d.begin_execution_time and d.end_execution_time:
        timing = {"queue_s": (d.begin_execution_time - d.creation_time).total_seconds(),
                  "run_s": (d.end_execution_time - d.begin_execution_time).total_seconds(),
                  "total_s": (d.end_execution_time - d.creation_time).total_seconds()}
    return {"job_id": job.id, "target": d.target, "parameters": dict(results.get("parameters") or {}),
            "timing": timing}
