"""The Toshiba and 1QBit solvers, as azure.quantum 0.27 defines them (target/toshiba/solvers.py,
target/oneqbit/solvers.py; contract §6): the same constructor arguments, parameters flat in `inputParams` (not
under "params"), 1QBit's values sent as `str()`, providers `toshiba` and `1qbit`, 1QBit's output format
`microsoft.qio-results.v1`. None of them takes grouped (SLC) or protobuf problems (the SDK's check_valid_problem
refuses both) or terms of more than two variables (the service's job then fails, saying so).

Shared by both flavours; services.client.optimization and services.client.aio.optimization add `submit`.
"""
from __future__ import annotations

import warnings
from typing import Any

from contracts import targets as ids

from .solvers import Solver

__all__ = ["SimulatedBifurcationMachine", "TabuSearch", "PticmSolver", "PathRelinkingSolver"]


class _FlatSolver(Solver):
    """A solver whose parameters travel flat in inputParams, as text when `as_text` (1QBit)."""

    as_text = False

    def __init__(self, workspace: Any, name: str, **kwargs: Any):
        family = ids.family_of(self.target_names[0])
        kwargs = {"provider_id": family.provider_id, "output_data_format": family.output_format, **kwargs}
        super().__init__(workspace=workspace, name=name, **kwargs)
        self.params: dict[str, Any] = {}

    def set_one_param(self, name: str, value: Any) -> None:
        """Set inputParams[name] (1QBit: str(value), as the SDK does); None is skipped."""
        if value is not None:
            self.params[name] = str(value) if self.as_text else value

    def _set_params(self, **values: Any) -> None:
        for key, value in values.items():
            self.set_one_param(key, value)

    def check_submission_warnings(self, problem: Any) -> None:
        """The SDK warns about sweeps and timeouts of nested (Microsoft) parameters only."""


class SimulatedBifurcationMachine(_FlatSolver):
    """Toshiba SQBM+ (`toshiba.sbm.ising`): steps (0: automatic), loops (0: until timeout or target), target,
    maxout, timeout (seconds, default 10), dt, C (ξ0; 0: automatic), algo ("2.0" discrete SB, "1.5" ballistic),
    auto. `seed` is an openqio extension (SQBM+ has none)."""

    target_names = (ids.SBM,)

    def __init__(self, workspace: Any, name: str = ids.SBM, steps: int | None = None, loops: int | None = None,
                 target: float | None = None, maxout: int | None = None, timeout: float | None = None,
                 dt: float | None = None, C: float | None = None, algo: str | None = None,  # noqa: N803 - SDK name
                 auto: bool | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(workspace, name, **kwargs)
        self._set_params(steps=steps, loops=loops, target=target, maxout=maxout, timeout=timeout, dt=dt, C=C,
                         algo=algo, auto=auto, seed=seed)


class TabuSearch(_FlatSolver):
    """1QBit tabu search (`1qbit.tabu`); timeout in milliseconds (0: none)."""

    target_names = (ids.QBIT_TABU,)
    as_text = True

    def __init__(self, workspace: Any, name: str = ids.QBIT_TABU, improvement_cutoff: int | None = None,
                 improvement_tolerance: float | None = None, seed: int | None = None, tabu_tenure: int | None = None,
                 tabu_tenure_rand_max: int | None = None, timeout: int | None = None, **kwargs: Any):
        super().__init__(workspace, name, **kwargs)
        self._set_params(improvement_cutoff=improvement_cutoff, improvement_tolerance=improvement_tolerance, seed=seed,
                         tabu_tenure=tabu_tenure, tabu_tenure_rand_max=tabu_tenure_rand_max, timeout=timeout)


class PticmSolver(_FlatSolver):
    """1QBit parallel tempering with isoenergetic cluster moves (`1qbit.pticm`). `perform_icm` is deprecated: a
    DeprecationWarning, and not sent (as the SDK)."""

    target_names = (ids.QBIT_PTICM,)
    as_text = True

    def __init__(self, workspace: Any, name: str = ids.QBIT_PTICM, auto_set_temperatures: bool | None = None,
                 elite_threshold: float | None = None, frac_icm_thermal_layers: float | None = None,
                 frac_sweeps_fixing: float | None = None, frac_sweeps_idle: float | None = None,
                 frac_sweeps_stagnation: float | None = None, goal: str | None = None, high_temp: float | None = None,
                 low_temp: float | None = None, max_samples_per_layer: int | None = None,
                 max_total_sweeps: int | None = None, manual_temperatures: list[float] | None = None,
                 num_elite_temps: int | None = None, num_replicas: int | None = None,
                 num_sweeps_per_run: int | None = None, num_temps: int | None = None, perform_icm: bool | None = None,
                 scaling_type: str | None = None, seed: int | None = None, var_fixing_type: str | None = None,
                 **kwargs: Any):
        if perform_icm is not None:
            warnings.warn(DeprecationWarning("The perform_icm parameter has been deprecated and will be ignored."),
                          stacklevel=2)
        super().__init__(workspace, name, **kwargs)
        self._set_params(auto_set_temperatures=auto_set_temperatures, elite_threshold=elite_threshold,
                         frac_icm_thermal_layers=frac_icm_thermal_layers, frac_sweeps_fixing=frac_sweeps_fixing,
                         frac_sweeps_idle=frac_sweeps_idle, frac_sweeps_stagnation=frac_sweeps_stagnation, goal=goal,
                         high_temp=high_temp, low_temp=low_temp, max_samples_per_layer=max_samples_per_layer,
                         max_total_sweeps=max_total_sweeps, manual_temperatures=manual_temperatures,
                         num_elite_temps=num_elite_temps, num_replicas=num_replicas,
                         num_sweeps_per_run=num_sweeps_per_run, num_temps=num_temps, scaling_type=scaling_type,
                         seed=seed, var_fixing_type=var_fixing_type)


class PathRelinkingSolver(_FlatSolver):
    """1QBit path relinking (`1qbit.pathrelinking`); timeout in milliseconds (0: none)."""

    target_names = (ids.QBIT_PR,)
    as_text = True

    def __init__(self, workspace: Any, name: str = ids.QBIT_PR, distance_scale: float | None = None,
                 greedy_path_relinking: bool | None = None, ref_set_count: int | None = None,
                 seed: int | None = None, timeout: int | None = None, **kwargs: Any):
        super().__init__(workspace, name, **kwargs)
        self._set_params(distance_scale=distance_scale, greedy_path_relinking=greedy_path_relinking,
                         ref_set_count=ref_set_count, seed=seed, timeout=timeout)
