"""The Microsoft QIO solvers, as azure.quantum 0.27 defines them (target/solvers.py, target/microsoft/qio/*.py):
the same constructor arguments, the same parameter-free switching and the same client-side checks and messages
(contract §6). Parameters travel nested: `inputParams = {"params": {...}}`.

The classes here hold what both flavours share (parameters, checks, the async submission `_submit_async`); the
public ones add `submit` and `optimize`: awaited in services.client.aio.optimization, blocking in
services.client.optimization, which runs the async one on its workspace's loop thread. So the sync client wraps the
async one, never the other way round.
"""
from __future__ import annotations

import asyncio
import logging
from enum import Enum
from typing import TYPE_CHECKING, Any

from contracts import targets as ids
from contracts.jobs import INPUT_FORMAT, OUTPUT_FORMAT

from .._job_base import ContentType
from ..target import Target
from .problem import Problem, ProblemType

# A problem with up to this many terms is encoded on the event loop: 30 terms take 0.08 ms, 300 take 0.6 ms, and the
# hop to a thread and back costs a small problem more than the encoding itself.
INLINE_ENCODE_TERMS = 200

if TYPE_CHECKING:
    from ..aio.job import Job as AioJob

log = logging.getLogger(__name__)

__all__ = ["HardwarePlatform", "RangeSchedule", "Solver", "SimulatedAnnealing", "ParallelTempering", "Tabu",
           "QuantumMonteCarlo", "PopulationAnnealing", "SubstochasticMonteCarlo"]


class HardwarePlatform(Enum):
    CPU = 1
    FPGA = 2


class RangeSchedule:
    """A schedule from `initial` to `final`, "linear" or "geometric"; sent as {"type", "initial", "final"}."""

    def __init__(self, schedule_type: str, initial: float, final: float):
        self.schedule_type = schedule_type
        self.initial = initial
        self.final = final
        if schedule_type not in ("linear", "geometric"):
            raise ValueError('"schedule_type" must be "linear" or "geometric"!')

    def __repr__(self) -> str:
        return f"RangeSchedule({self.schedule_type!r}, {self.initial!r}, {self.final!r})"


class Solver(Target):
    """A Microsoft QIO solver target. `params` is the inputParams body, `{"params": {...}}`."""

    SWEEPS_WARNING = 10000
    TIMEOUT_WARNING = 600

    class ScheduleEvolution(Enum):
        INCREASING = 1
        DECREASING = 2

    def __init__(self, workspace: Any, name: str, provider_id: str = ids.PROVIDER_ID,
                 input_data_format: str = INPUT_FORMAT, output_data_format: str = OUTPUT_FORMAT,
                 content_type: ContentType = ContentType.json, **kwargs: Any):
        self.params: dict[str, Any] = {"params": {}}
        super().__init__(workspace=workspace, name=name, input_data_format=input_data_format,
                         output_data_format=output_data_format, provider_id=provider_id, content_type=content_type,
                         encoding="gzip", **kwargs)

    # -- parameters --------------------------------------------------------------------------------------------

    def set_one_param(self, name: str, value: Any) -> None:
        """Set inputParams.params[name]; None is skipped (the parameter is left out)."""
        if value is not None:
            self.params["params"][name] = value

    def set_number_of_solutions(self, number_of_solutions: int) -> None:
        """How many solutions the result lists (the service allows 1..10; default 1)."""
        self.set_one_param("number_of_solutions", number_of_solutions)

    def supports_grouped_terms(self) -> bool:
        return False

    def check_valid_problem(self, problem: Problem) -> None:
        if problem.problem_type in (ProblemType.pubo_grouped, ProblemType.ising_grouped) \
                and not self.supports_grouped_terms():
            raise ValueError(f"Solver type is not compatiblewith problem type {problem.problem_type};"
                             "Try PopulationAnnealing or SubstochasticMonteCarlo.")
        if problem.content_type == ContentType.protobuf and not self.supports_protobuf():
            raise ValueError(f"Solver `{self.name} type is not compatible for serialization with protobuf; "
                             "Try PopulationAnnealing or SubstochasticMonteCarlo.")

    def check_submission_warnings(self, problem: Problem) -> None:
        params = self.params["params"]
        if problem.is_large() and "sweeps" in params and int(params["sweeps"]) >= self.SWEEPS_WARNING:
            log.warning("There is a large problem submitted and a large number of sweeps (%s) configured. "
                        "This submission could result in a long runtime.", params["sweeps"])
        if "timeout" in params and int(params["timeout"]) >= self.TIMEOUT_WARNING:
            log.warning("A large timeout has been set for this submission (%s). If this is intended, disregard this "
                        "warning. Otherwise, consider cancelling the job and resubmitting with a lower timeout.",
                        params["timeout"])

    def check_set_schedule(self, schedule_name: str, schedule_value: Any, evolution: ScheduleEvolution | None = None,
                           lower_bound_exclusive: float | None = None,
                           lower_bound_inclusive: float | None = None) -> None:
        if schedule_value is None:
            return
        if not isinstance(schedule_value, RangeSchedule):
            raise ValueError(f"{schedule_name} must be of type RangeSchedule; found"
                             f" type({schedule_name})={type(schedule_value).__name__}.")
        initial, final = schedule_value.initial, schedule_value.final
        if evolution == self.ScheduleEvolution.INCREASING and initial > final:
            raise ValueError(f"Schedule for {schedule_name} must be increasing; found {schedule_name}.initial"
                             f"={initial} > {final}={schedule_name}.final.")
        if evolution == self.ScheduleEvolution.DECREASING and initial < final:
            raise ValueError(f"Schedule for {schedule_name} must be decreasing; found {schedule_name}.initial"
                             f"={initial} < {final}={schedule_name}.final.")
        for end, value in (("initial", initial), ("final", final)):
            self.check_limit(f"{schedule_name}.{end}", value, lower_bound_exclusive, lower_bound_inclusive)
        self.set_one_param(schedule_name, {"type": schedule_value.schedule_type, "initial": initial, "final": final})

    def check_set_positive_int(self, parameter_name: str, parameter_value: Any) -> None:
        if parameter_value is None:
            return
        if not isinstance(parameter_value, int):
            raise ValueError(f"{parameter_name} must be of type int; foundtype({parameter_name})"
                             f"={type(parameter_value).__name__}.")
        if parameter_value <= 0:
            raise ValueError(f"{parameter_name} must be positive; found {parameter_name}={parameter_value}.")
        self.set_one_param(parameter_name, parameter_value)

    def check_set_float(self, parameter_name: str, parameter_value: Any, lower_bound_exclusive: float | None = None,
                        lower_bound_inclusive: float | None = None) -> None:
        if parameter_value is None:
            return
        if not isinstance(parameter_value, (float, int)):
            raise ValueError(f"{parameter_name} must be a float!")
        self.check_limit(parameter_name, parameter_value, lower_bound_exclusive, lower_bound_inclusive)
        self.set_one_param(parameter_name, parameter_value)

    @staticmethod
    def check_limit(parameter_name: str, parameter_value: Any, lower_bound_exclusive: float | None = None,
                    lower_bound_inclusive: float | None = None) -> None:
        if parameter_value is None:
            return
        if lower_bound_exclusive is not None and parameter_value <= lower_bound_exclusive:
            raise ValueError(f"{parameter_name} must be greater than {lower_bound_exclusive}; "
                             f"found {parameter_name}={parameter_value}.")
        if lower_bound_inclusive is not None and parameter_value < lower_bound_inclusive:
            raise ValueError(f"{parameter_name} must be greater equal {lower_bound_inclusive}; "
                             f"found {parameter_name}={parameter_value}.")

    @staticmethod
    def check_supported_hardware(platform: Any) -> None:
        if platform == HardwarePlatform.FPGA:
            raise ValueError("The FPGA hardware option for Microsoft QIO solvers has been deprecated. Please remove "
                             "the 'platform' parameter from your solver declaration and resubmit your problem.")

    # -- submission --------------------------------------------------------------------------------------------

    async def _submit_async(self, workspace: Any, problem: Problem | str) -> AioJob:
        """The SDK's submit, on an aio Workspace: a Problem is encoded and uploaded into job-<id>; a blob URL (or an
        object with `uploaded_blob_uri`) is submitted as the job's inputDataUri."""
        from ..aio.job import Job as AioJob

        if isinstance(problem, Problem):
            self.check_valid_problem(problem)
            if problem.content_type == ContentType.protobuf:
                problem._check_protobuf()  # what encoding it would refuse, refused before any request

            async def encode() -> bytes:  # called once the service admitted the submission (its sasUri answered)
                if len(problem.terms) + len(problem.terms_slc) <= INLINE_ENCODE_TERMS:  # less than a thread hop
                    return problem.to_blob()
                return await asyncio.to_thread(problem.to_blob)  # CPU work: keep the event loop free

            return await AioJob.from_input_data(
                workspace, name=problem.name, target=self.name, input_data=encode, content_type=problem.content_type,
                blob_name="inputData", encoding="gzip", provider_id=self.provider_id,
                input_data_format=self.input_data_format, output_data_format=self.output_data_format,
                input_params=self.params,
            )
        if hasattr(problem, "uploaded_blob_uri"):  # an object the SDK's users pass: an uploaded problem
            name, uri = problem.name, problem.uploaded_blob_uri  # type: ignore[attr-defined]
        elif isinstance(problem, str):
            name, uri = "Optimization problem", problem
        else:
            raise ValueError("Cannot submit problem: should be of type str, Problem or have uploaded_blob_uri "
                             "attribute.")
        return await AioJob.from_storage_uri(
            workspace, name=name, target=self.name, input_data_uri=uri, provider_id=self.provider_id,
            input_data_format=self.input_data_format, output_data_format=self.output_data_format,
            input_params=self.params,
        )

class _MicrosoftSolver(Solver):
    def supports_grouped_terms(self) -> bool:
        return True

    def supports_protobuf(self) -> bool:
        return True


class SimulatedAnnealing(_MicrosoftSolver):
    """Parameter-free (`...simulatedannealing-parameterfree.cpu`) when beta_start, beta_stop, sweeps and
    restarts are all None."""

    target_names = (ids.SA, ids.SA_PF)

    def __init__(self, workspace: Any, name: str = ids.SA, beta_start: float | None = None,
                 beta_stop: float | None = None, sweeps: int | None = None, restarts: int | None = None,
                 timeout: int | None = None, seed: int | None = None,
                 platform: HardwarePlatform = HardwarePlatform.CPU, **kwargs: Any):
        if beta_start is None and beta_stop is None and sweeps is None and restarts is None:
            name = name.replace(".simulatedannealing.", ".simulatedannealing-parameterfree.")
        self.check_supported_hardware(platform)
        super().__init__(workspace=workspace, name=name, **kwargs)
        for key, value in (("beta_start", beta_start), ("beta_stop", beta_stop), ("sweeps", sweeps),
                           ("restarts", restarts), ("timeout", timeout), ("seed", seed)):
            self.set_one_param(key, value)


class ParallelTempering(_MicrosoftSolver):
    """Parameter-free when sweeps, replicas and all_betas are all None; `all_betas` alone sets replicas."""

    target_names = (ids.PT, ids.PT_PF)

    def __init__(self, workspace: Any, name: str = ids.PT, sweeps: int | None = None, replicas: int | None = None,
                 all_betas: list[float] | None = None, timeout: int | None = None, seed: int | None = None,
                 **kwargs: Any):
        if sweeps is None and replicas is None and all_betas is None:
            name = name.replace(".paralleltempering.", ".paralleltempering-parameterfree.")
        super().__init__(workspace=workspace, name=name, **kwargs)
        for key, value in (("sweeps", sweeps), ("replicas", replicas), ("all_betas", all_betas), ("seed", seed),
                           ("timeout", timeout)):
            self.set_one_param(key, value)
        if all_betas is not None:
            if replicas is None:
                self.set_one_param("replicas", len(all_betas))
            elif len(all_betas) != replicas:
                raise ValueError("Parameter 'replicas' must equal the" + "length of the 'all_betas' parameters.")


class Tabu(_MicrosoftSolver):
    """Parameter-free when sweeps, tabu_tenure and restarts are all None."""

    target_names = (ids.TABU, ids.TABU_PF)

    def __init__(self, workspace: Any, name: str = ids.TABU, sweeps: int | None = None,
                 tabu_tenure: int | None = None, timeout: int | None = None, seed: int | None = None,
                 restarts: int | None = None, **kwargs: Any):
        if sweeps is None and tabu_tenure is None and restarts is None:
            name = name.replace(".tabu.", ".tabu-parameterfree.")
        super().__init__(workspace=workspace, name=name, **kwargs)
        for key, value in (("sweeps", sweeps), ("tabu_tenure", tabu_tenure), ("timeout", timeout), ("seed", seed),
                           ("restarts", restarts)):
            self.set_one_param(key, value)


class QuantumMonteCarlo(_MicrosoftSolver):
    """Simulated quantum annealing (no parameter-free variant, no client checks)."""

    target_names = (ids.QMC,)

    def __init__(self, workspace: Any, name: str = ids.QMC, trotter_number: int | None = None,
                 seed: int | None = None, transverse_field_start: float | None = None,
                 transverse_field_stop: float | None = None, restarts: int | None = None, sweeps: int | None = None,
                 beta_start: float | None = None, **kwargs: Any):
        super().__init__(workspace=workspace, name=name, **kwargs)
        for key, value in (("sweeps", sweeps), ("trotter_number", trotter_number), ("seed", seed),
                           ("transverse_field_start", transverse_field_start),
                           ("transverse_field_stop", transverse_field_stop), ("beta_start", beta_start),
                           ("restarts", restarts)):
            self.set_one_param(key, value)


class PopulationAnnealing(_MicrosoftSolver):
    """`timeout` given ⇒ the parameter-free target. alpha > 1, population/sweeps/timeout positive ints, beta an
    increasing RangeSchedule with both ends > 0."""

    target_names = (ids.PA, ids.PA_PF)

    def __init__(self, workspace: Any, name: str = ids.PA, alpha: float | None = None, seed: int | None = None,
                 population: int | None = None, sweeps: int | None = None, beta: RangeSchedule | None = None,
                 timeout: int | None = None, content_type: ContentType = ContentType.json, **kwargs: Any):
        if timeout is not None:
            name = ids.PA_PF
        super().__init__(workspace=workspace, name=name, content_type=content_type, **kwargs)
        self.check_set_float("alpha", alpha, lower_bound_exclusive=1.0)
        self.set_one_param("seed", seed)
        self.check_set_positive_int("population", population)
        self.check_set_positive_int("sweeps", sweeps)
        self.check_set_schedule("beta", beta, evolution=self.ScheduleEvolution.INCREASING, lower_bound_exclusive=0)
        self.check_set_positive_int("timeout", timeout)


class SubstochasticMonteCarlo(_MicrosoftSolver):
    """`timeout` given ⇒ the parameter-free target. steps_per_walker/target_population/step_limit/timeout positive
    ints, alpha a decreasing RangeSchedule (ends ≥ 0), beta an increasing one (ends > 0)."""

    target_names = (ids.SSMC, ids.SSMC_PF)

    def __init__(self, workspace: Any, name: str = ids.SSMC, alpha: RangeSchedule | None = None,
                 seed: int | None = None, target_population: int | None = None, step_limit: int | None = None,
                 beta: RangeSchedule | None = None, steps_per_walker: int | None = None, timeout: int | None = None,
                 content_type: ContentType = ContentType.json, **kwargs: Any):
        if timeout is not None:
            name = ids.SSMC_PF
        super().__init__(workspace=workspace, name=name, content_type=content_type, **kwargs)
        self.set_one_param("seed", seed)
        self.check_set_positive_int("steps_per_walker", steps_per_walker)
        self.check_set_positive_int("target_population", target_population)
        self.check_set_positive_int("step_limit", step_limit)
        self.check_set_schedule("alpha", alpha, evolution=self.ScheduleEvolution.DECREASING, lower_bound_inclusive=0)
        self.check_set_schedule("beta", beta, evolution=self.ScheduleEvolution.INCREASING, lower_bound_exclusive=0)
        self.check_set_positive_int("timeout", timeout)


SOLVER_CLASSES = (SimulatedAnnealing, ParallelTempering, Tabu, QuantumMonteCarlo, PopulationAnnealing,
                  SubstochasticMonteCarlo)
