"""The runner's entry point `run(request, is_cancelled, on_progress)`, once per job (solver_runner.warmup.warm runs first, once per process).

`run`: decode (contracts.problems.decode_problem; the terms of a JSON input read by solver_runner.json_terms) →
re-validate params (contracts.targets.validate_params) → compile (solver_runner.model) → resolve the seed (given,
else random) → set numba threads (min(request.threads, NUMBA_NUM_THREADS)) → SOLVERS[target](SolveContext) with
should_stop = cancelled or past `timeout` (parameter-free targets: 5 s default) → result document
(contracts.results.make_result; configuration keys are the original ids as strings, costs recomputed from the terms
with the constant included).
Progress (contracts.runner.Progress) is rate-limited to request.progress_interval_s, the first one interval into the
solve, and a final one follows when any was sent. A job that ends sooner (most are tiny) sends none: its outcome
carries its summary and result, and each report cost the service a pipe message and the first a SQLite write.
A problem with zero variables succeeds with cost = its constant and an empty configuration.

`run` never raises: every failure becomes a RunOutcome with a wire error code and a one-line message (the
traceback stays in the runner's log), because a job must always end with a clear status. ProblemFormatError /
ContractError keep their code and message; anything else is "SolverError". Cancellation → status "cancelled".
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numba
import numpy as np

from contracts import errors, targets
from contracts.errors import ContractError
from contracts.logformat import JOB_ID
from contracts.problems import decode_problem
from contracts.results import make_result, solution_entry
from contracts.runner import Progress, RunOutcome, RunRequest
from contracts.summary import summarize, unavailable
from solver_runner import params as P
from solver_runner.json_terms import scan_terms
from solver_runner.kernels.common import energy
from solver_runner.model import compile_problem, model_arrays
from solver_runner.solvers import SOLVERS, SolveContext

log = logging.getLogger(__name__)


def run(request: RunRequest, is_cancelled: Callable[[], bool], on_progress: Callable[[Progress], None]) -> RunOutcome:
    running = JOB_ID.set(request.job_id)  # every line logged while the job runs names it (contracts.logformat)
    try:
        return _run(request, is_cancelled, on_progress)
    finally:
        JOB_ID.reset(running)


def _run(request: RunRequest, is_cancelled: Callable[[], bool], on_progress: Callable[[Progress], None]) -> RunOutcome:
    started = time.monotonic()
    summary: list[dict | None] = [None]  # the input's summary (contracts.summary), set once decoding was tried

    def outcome(status: str, **kw) -> RunOutcome:
        return RunOutcome(job_id=request.job_id, status=status, elapsed_s=time.monotonic() - started,
                          summary=summary[0], **kw)

    try:
        params = request.params  # validated and normalised by the service (contracts.targets.validate_params)
        solver = SOLVERS.get(request.target)
        if solver is None:
            raise ContractError(errors.INVALID_TARGET, f"target {request.target} has no solver in this runner")
        try:
            problem = decode_problem(request.input_data, request.content_type, request.limits, scan_terms)
        except ContractError as exc:
            summary[0] = unavailable(f"the input could not be decoded: {exc.message}",
                                     inputBytes=len(request.input_data), contentType=request.content_type)
            raise
        summary[0] = summarize(problem, len(request.input_data), request.content_type)
        model = compile_problem(problem)
        numba.set_num_threads(max(1, min(request.threads, numba.config.NUMBA_NUM_THREADS)))
        timeout = targets.effective_timeout(request.target, params)
        solve_start = time.monotonic()
        deadline = None if timeout is None else solve_start + float(timeout)
        cancelled = [False]

        def should_stop() -> bool:
            if is_cancelled():
                cancelled[0] = True
                return True
            return deadline is not None and time.monotonic() >= deadline

        last = [solve_start]
        reported = [False]

        def report(sweeps_done: int, best: float) -> None:
            now = time.monotonic()
            if now - last[0] >= request.progress_interval_s:
                last[0] = now
                # the first report also carries the input's summary, so a long job's shows while it runs
                first = summary[0] if not reported[0] else None
                reported[0] = True
                on_progress(Progress(request.job_id, now - solve_start, int(sweeps_done), float(best), summary=first))

        if is_cancelled():
            return outcome(RunOutcome.CANCELLED)
        if model.n == 0:
            cost = float(model.constant)
            result = make_result([solution_entry({}, cost)], P.trivial_parameters(request.target, params))
            return outcome(RunOutcome.SUCCEEDED, result=result)
        ctx = SolveContext(
            model=model,
            params=params,
            threads=max(1, request.threads),
            seed=P.resolve_seed(params),
            number_of_solutions=int(params.get("number_of_solutions", 1)),
            timeout_s=None if timeout is None else float(timeout),
            should_stop=should_stop,
            report=report,
            deadline=deadline,
        )
        solved = solver(ctx)
        if cancelled[0]:
            return outcome(RunOutcome.CANCELLED)
        M = model_arrays(model)
        solutions = []
        for state in solved.states:
            cost = float(energy(np.ascontiguousarray(state, np.int8), model.constant, M))  # exact, not incremental
            solutions.append(solution_entry(model.configuration(state), cost))
        result = make_result(solutions, solved.parameters)
        if reported[0]:  # a stream that showed the run gets its last figures
            on_progress(Progress(request.job_id, time.monotonic() - solve_start, solved.sweeps_done, result["cost"]))
        return outcome(RunOutcome.SUCCEEDED, result=result)
    except ContractError as exc:
        return outcome(RunOutcome.FAILED, error_code=exc.code, error_message=exc.message)
    except MemoryError:
        return outcome(RunOutcome.FAILED, error_code=errors.PROBLEM_TOO_LARGE,
                       error_message="the problem does not fit in the runner's memory")
    except Exception as exc:  # noqa: BLE001 - a job must end Failed, not take the runner down
        log.exception("job %s: solver error", request.job_id)
        detail = " ".join(str(exc).split())[:200]
        return outcome(RunOutcome.FAILED, error_code=errors.SOLVER_ERROR,
                       error_message=f"the solver failed: {type(exc).__name__}: {detail}".rstrip(": "))
