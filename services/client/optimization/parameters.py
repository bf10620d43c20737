"""Solver parameters, target names and client-side validation, as azure-quantum 0.27 does them (contract §6).

These mixins hold no I/O: the sync classes (services.client.optimization) and the async classes
(services.client.aio.optimization) add `submit`/`optimize` on top.
"""
from __future__ import annotations

from typing import Any

from contracts import targets


class RangeSchedule:
    def __init__(self, schedule_type: str, initial: float, final: float):
        if schedule_type not in ("linear", "geometric"):
            raise ValueError('"schedule_type" must be "linear" or "geometric"!')
        self.schedule_name = schedule_type
        self.initial = initial
        self.final = final

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.schedule_name, "initial": self.initial, "final": self.final}


class SolverParameters:
    """name (target id), params (sent as inputParams.params) and the SDK's setters."""

    target = ""

    def __init__(self, workspace: Any, name: str | None = None):
        self.workspace = workspace
        self.name = name or self.target
        self.provider_id = targets.PROVIDER_ID
        self.params: dict[str, Any] = {"params": {}}

    def set_one_param(self, name: str, value: Any) -> None:
        if value is not None:
            self.params["params"][name] = value.to_dict() if isinstance(value, RangeSchedule) else value

    def set_number_of_solutions(self, number_of_solutions: int) -> None:
        self.set_one_param("number_of_solutions", number_of_solutions)

    # SDK-style checks (messages as the SDK words them)
    @staticmethod
    def check_int(name: str, value: Any, lower: float | None = None, positive: bool = False) -> None:
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be of type int; found type({name})={type(value).__name__}.")
        if positive and value <= 0:
            raise ValueError(f"{name} must be positive; found {name}={value}.")

    @staticmethod
    def check_float_greater(name: str, value: Any, bound: float) -> None:
        if value is None:
            return
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{name} must be a float!")
        if value <= bound:
            raise ValueError(f"{name} must be greater than {bound}; found {name}={value}.")

    @staticmethod
    def check_schedule(name: str, value: Any, increasing: bool, lower: float, strict: bool) -> None:
        if value is None:
            return
        if not isinstance(value, RangeSchedule):
            raise ValueError(f"{name} must be of type RangeSchedule; found type({name})={type(value).__name__}.")
        for end in ("initial", "final"):
            x = getattr(value, end)
            if (strict and x <= lower) or (not strict and x < lower):
                raise ValueError(f"{name}.{end} must be {'greater than' if strict else 'greater equal'} {lower}; "
                                 f"found {name}.{end}={x}.")
        if increasing and value.initial > value.final:
            raise ValueError(f"Schedule for {name} must be increasing; found {name}.initial={value.initial} > "
                             f"{value.final}={name}.final.")
        if not increasing and value.initial < value.final:
            raise ValueError(f"Schedule for {name} must be decreasing; found {name}.initial={value.initial} < "
                             f"{value.final}={name}.final.")


class SimulatedAnnealingParameters(SolverParameters):
    target = targets.SA

    def __init__(self, workspace, name=None, beta_start=None, beta_stop=None, sweeps=None, restarts=None,
                 timeout=None, seed=None, **kw):
        name = name or self.target
        if beta_start is None and beta_stop is None and sweeps is None and restarts is None:
            name = name.replace(".simulatedannealing.", ".simulatedannealing-parameterfree.")
        super().__init__(workspace, name)
        for key, value in (("beta_start", beta_start), ("beta_stop", beta_stop), ("sweeps", sweeps),
                           ("restarts", restarts), ("timeout", timeout), ("seed", seed)):
            self.set_one_param(key, value)


class ParallelTemperingParameters(SolverParameters):
    target = targets.PT

    def __init__(self, workspace, name=None, sweeps=None, replicas=None, all_betas=None, timeout=None, seed=None, **kw):
        name = name or self.target
        if sweeps is None and replicas is None and all_betas is None:
            name = name.replace(".paralleltempering.", ".paralleltempering-parameterfree.")
        super().__init__(workspace, name)
        if all_betas is not None:
            all_betas = list(all_betas)
            if replicas is None:
                replicas = len(all_betas)
            elif replicas != len(all_betas):
                raise ValueError("Parameter 'replicas' must equal the length of the 'all_betas' parameters.")
        for key, value in (("sweeps", sweeps), ("replicas", replicas), ("all_betas", all_betas), ("timeout", timeout),
                           ("seed", seed)):
            self.set_one_param(key, value)


class TabuParameters(SolverParameters):
    target = targets.TABU

    def __init__(self, workspace, name=None, sweeps=None, tabu_tenure=None, timeout=None, seed=None, restarts=None,
                 **kw):
        name = name or self.target
        if sweeps is None and tabu_tenure is None and restarts is None:
            name = name.replace(".tabu.", ".tabu-parameterfree.")
        super().__init__(workspace, name)
        for key, value in (("sweeps", sweeps), ("tabu_tenure", tabu_tenure), ("timeout", timeout), ("seed", seed),
                           ("restarts", restarts)):
            self.set_one_param(key, value)


class QuantumMonteCarloParameters(SolverParameters):
    target = targets.QMC

    def __init__(self, workspace, name=None, sweeps=None, trotter_number=None, seed=None, transverse_field_start=None,
                 transverse_field_stop=None, beta_start=None, restarts=None, **kw):
        super().__init__(workspace, name)
        for key, value in (("sweeps", sweeps), ("trotter_number", trotter_number), ("seed", seed),
                           ("transverse_field_start", transverse_field_start),
                           ("transverse_field_stop", transverse_field_stop), ("beta_start", beta_start),
                           ("restarts", restarts)):
            self.set_one_param(key, value)


class PopulationAnnealingParameters(SolverParameters):
    target = targets.PA

    def __init__(self, workspace, name=None, alpha=None, seed=None, population=None, sweeps=None, beta=None,
                 timeout=None, **kw):
        name = name or self.target
        if timeout is not None:
            name = targets.PA_PF
        super().__init__(workspace, name)
        self.check_float_greater("alpha", alpha, 1.0)
        self.check_int("population", population, positive=True)
        self.check_int("sweeps", sweeps, positive=True)
        self.check_int("timeout", timeout, positive=True)
        self.check_schedule("beta", beta, increasing=True, lower=0, strict=True)
        for key, value in (("alpha", alpha), ("seed", seed), ("population", population), ("sweeps", sweeps),
                           ("beta", beta), ("timeout", timeout)):
            self.set_one_param(key, value)


class SubstochasticMonteCarloParameters(SolverParameters):
    target = targets.SSMC

    def __init__(self, workspace, name=None, seed=None, alpha=None, beta=None, steps_per_walker=None,
                 target_population=None, step_limit=None, timeout=None, **kw):
        name = name or self.target
        if timeout is not None:
            name = targets.SSMC_PF
        super().__init__(workspace, name)
        self.check_int("steps_per_walker", steps_per_walker, positive=True)
        self.check_int("target_population", target_population, positive=True)
        self.check_int("step_limit", step_limit, positive=True)
        self.check_int("timeout", timeout, positive=True)
        self.check_schedule("alpha", alpha, increasing=False, lower=0, strict=False)
        self.check_schedule("beta", beta, increasing=True, lower=0, strict=True)
        for key, value in (("seed", seed), ("alpha", alpha), ("beta", beta), ("steps_per_walker", steps_per_walker),
                           ("target_population", target_population), ("step_limit", step_limit),
                           ("timeout", timeout)):
            self.set_one_param(key, value)
