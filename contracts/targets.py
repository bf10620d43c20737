"""Targets the service offers, the parameters each accepts, and the rules that differ by provider family.

One table serves the gateway (reject bad parameters at submit, HTTP 400) and the runner (the same check again,
defaults applied in `solver_runner.params`). Parameter-free targets accept their parameterised twin's parameters:
the SDK lets them through, and values given are held fixed while the rest is tuned.

Three families (contract §6), each with one rule for where parameters sit, how values are typed, what a job's time
limit is and which output format it gets (`FAMILIES`):
- Microsoft (`microsoft.*`): nested, `inputParams = {"params": {...}}`, native JSON values, `timeout` in seconds;
- Toshiba (`toshiba.sbm.ising`): flat, `inputParams = {"loops": 10}`, native values, `timeout` in seconds (default
  10, at most 3600);
- 1QBit (`1qbit.*`): flat, every value a string as the SDK's `str()` made it (`"True"`, `"1e-09"`, `"[1.0, 2.0]"`;
  native JSON values are accepted too), `timeout` in milliseconds (0: none), output `microsoft.qio-results.v1`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import errors
from .errors import ContractError
from .jobs import OUTPUT_FORMAT
from .param_checks import Param, check_value, fail, from_text

__all__ = ["Param"]  # re-exported: the schemas' type

PROVIDER_ID = "Microsoft"
TOSHIBA_PROVIDER_ID = "toshiba"
ONEQBIT_PROVIDER_ID = "1qbit"
OUTPUT_FORMAT_V1 = "microsoft.qio-results.v1"  # 1QBit's results format

SA = "microsoft.simulatedannealing.cpu"
SA_PF = "microsoft.simulatedannealing-parameterfree.cpu"
PT = "microsoft.paralleltempering.cpu"
PT_PF = "microsoft.paralleltempering-parameterfree.cpu"
TABU = "microsoft.tabu.cpu"
TABU_PF = "microsoft.tabu-parameterfree.cpu"
QMC = "microsoft.qmc.cpu"
PA = "microsoft.populationannealing.cpu"
PA_PF = "microsoft.populationannealing-parameterfree.cpu"
SSMC = "microsoft.substochasticmontecarlo.cpu"
SSMC_PF = "microsoft.substochasticmontecarlo-parameterfree.cpu"
SBM = "toshiba.sbm.ising"
QBIT_TABU = "1qbit.tabu"
QBIT_PR = "1qbit.pathrelinking"
QBIT_PTICM = "1qbit.pticm"

MICROSOFT_TARGETS: tuple[str, ...] = (SA, SA_PF, PT, PT_PF, TABU, TABU_PF, QMC, PA, PA_PF, SSMC, SSMC_PF)
TOSHIBA_TARGETS: tuple[str, ...] = (SBM,)
ONEQBIT_TARGETS: tuple[str, ...] = (QBIT_TABU, QBIT_PR, QBIT_PTICM)
ALL_TARGETS: tuple[str, ...] = MICROSOFT_TARGETS + TOSHIBA_TARGETS + ONEQBIT_TARGETS
PARAMETER_FREE: frozenset[str] = frozenset({SA_PF, PT_PF, TABU_PF, PA_PF, SSMC_PF})
PARAMETER_FREE_DEFAULT_TIMEOUT_S = 5.0
MAX_SOLUTIONS = 10
TRANSVERSE_FIELD_ALIASES = {"transverse_field_start": "transverse_field_high", "transverse_field_stop": "transverse_field_low"}


_COMMON = {
    "seed": Param("int", min=0, max=2**63 - 1),
    "timeout": Param("number", min=0, min_exclusive=True, max=86_400),
    "number_of_solutions": Param("int", min=1, max=MAX_SOLUTIONS),
}
COMMON_PARAMS = _COMMON  # every target's parameters besides its own SCHEMAS entry
_SWEEPS = Param("int", min=1, max=10**9)
_COUNT = Param("int", min=1, max=100_000)

SCHEMAS: dict[str, dict[str, Param]] = {
    SA: {
        "beta_start": Param("number", min=0),
        "beta_stop": Param("number", min=0),
        "beta": Param("schedule", min=0, direction="increasing"),  # openqio: a RangeSchedule, as PA's
        "sweeps": _SWEEPS,
        "restarts": _COUNT,
    },
    PT: {
        "sweeps": _SWEEPS,
        "replicas": _COUNT,
        "all_betas": Param("number_list", min=0),
    },
    TABU: {
        "sweeps": _SWEEPS,
        "tabu_tenure": Param("int", min=0, max=10**7),
        "restarts": _COUNT,
        "disabled_features": Param("int_list", min=0),
    },
    QMC: {
        "sweeps": _SWEEPS,
        "trotter_number": Param("int", min=1, max=4096),
        "restarts": _COUNT,
        "beta_start": Param("number", min=0, min_exclusive=True),
        "beta_stop": Param("number", min=0, min_exclusive=True),
        "transverse_field_start": Param("number", min=0),
        "transverse_field_stop": Param("number", min=0),
        "transverse_field_low": Param("number", min=0),
        "transverse_field_high": Param("number", min=0),
    },
    PA: {
        "alpha": Param("number", min=1, min_exclusive=True),
        "population": _COUNT,
        "sweeps": _SWEEPS,
        "beta": Param("schedule", min=0, direction="increasing"),
        "beta_start": Param("number", min=0),
        "beta_stop": Param("number", min=0),
        "sweeps_per_replica": Param("int", min=1, max=1000),
        "culling_fraction": Param("number", min=0, min_exclusive=True, max=1),
        "constant_population": Param("bool"),
    },
    SSMC: {
        "steps_per_walker": Param("int", min=1, max=10**6),
        "target_population": _COUNT,
        "step_limit": _SWEEPS,
        "alpha": Param("schedule", min=0, direction="decreasing"),
        "beta": Param("schedule", min=0, min_exclusive=True, direction="increasing"),
    },
}
_TWIN = {SA_PF: SA, PT_PF: PT, TABU_PF: TABU, PA_PF: PA, SSMC_PF: SSMC}
for _pf, _base in _TWIN.items():
    SCHEMAS[_pf] = SCHEMAS[_base]

TOSHIBA_DEFAULT_TIMEOUT_S = 10.0
_FRACTION = Param("number", min=0, max=1)
_MS = Param("int", min=0, max=86_400_000)  # 1QBit `timeout`: milliseconds, 0 = none
_TEMPERATURE = Param("number", min=0, min_exclusive=True)
SCHEMAS.update({
    SBM: {  # Toshiba SQBM+ (contract §6; the provider's documented ranges)
        "steps": Param("int", min=0, max=100_000_000),
        "loops": Param("int", min=0, max=10_000_000),
        "target": Param("number"),
        "maxout": Param("int", min=1, max=1000),
        "timeout": Param("number", min=0.001, max=3600),
        "dt": Param("number", min=0, min_exclusive=True, max=1),
        "C": Param("number", min=0),
        "algo": Param("choice", choices=("1.5", "2.0")),
        "auto": Param("bool"),
    },
    QBIT_TABU: {
        "improvement_cutoff": Param("int", min=0, max=10**9),
        "improvement_tolerance": Param("number", min=0),
        "tabu_tenure": Param("int", min=0, max=10**7),
        "tabu_tenure_rand_max": Param("int", min=0, max=200_000),
        "timeout": _MS,
    },
    QBIT_PR: {
        "distance_scale": Param("number", min=0, max=0.5),
        "greedy_path_relinking": Param("bool"),
        "ref_set_count": Param("int", min=2, max=1000),
        "timeout": _MS,
    },
    QBIT_PTICM: {
        "auto_set_temperatures": Param("bool"),
        "elite_threshold": _FRACTION,
        "frac_icm_thermal_layers": _FRACTION,
        "frac_sweeps_fixing": _FRACTION,
        "frac_sweeps_idle": _FRACTION,
        "frac_sweeps_stagnation": Param("number", min=0, min_exclusive=True, max=1),
        "goal": Param("choice", choices=("OPTIMIZE", "SAMPLE")),
        "high_temp": _TEMPERATURE,
        "low_temp": _TEMPERATURE,
        "max_samples_per_layer": Param("int", min=1, max=100_000),
        "max_total_sweeps": _SWEEPS,
        "manual_temperatures": Param("number_list", min=0, min_exclusive=True, max_items=1000),
        "num_elite_temps": Param("int", min=1, max=1000),
        "num_replicas": Param("int", min=1, max=1000),
        "num_sweeps_per_run": _SWEEPS,
        "num_temps": Param("int", min=1, max=1000),
        "perform_icm": Param("bool"),
        "scaling_type": Param("choice", choices=("MEDIAN", "NO_SCALING")),
        "var_fixing_type": Param("choice", choices=("NO_FIXING", "PERSISTENCY", "SPVAR")),
        "timeout": _MS,  # an openqio extension (PTICM stops by sweeps), like the other 1QBit solvers' timeout
    },
})


@dataclass(frozen=True)
class Family:
    """What differs between providers: where `inputParams` puts the parameters (`nested`: inside "params"),
    whether values arrive as strings, the parameters every target of the family accepts, how `timeout` reads
    (`timeout_s_per_unit`: seconds per unit; `zero_timeout_is_none`: 0 means no limit; `default_timeout_s`), and
    the output format of its jobs."""

    provider_id: str
    output_format: str
    nested: bool
    strings: bool
    common: dict[str, Param] = field(default_factory=dict)
    timeout_s_per_unit: float = 1.0
    zero_timeout_is_none: bool = False
    default_timeout_s: float | None = None


MICROSOFT = Family(PROVIDER_ID, OUTPUT_FORMAT, nested=True, strings=False, common=_COMMON)
TOSHIBA = Family(TOSHIBA_PROVIDER_ID, OUTPUT_FORMAT, nested=False, strings=False, default_timeout_s=TOSHIBA_DEFAULT_TIMEOUT_S,
                 common={"seed": _COMMON["seed"], "number_of_solutions": Param("int", min=1, max=1000)})
ONEQBIT = Family(ONEQBIT_PROVIDER_ID, OUTPUT_FORMAT_V1, nested=False, strings=True, timeout_s_per_unit=0.001,
                 zero_timeout_is_none=True, common={"seed": _COMMON["seed"], "number_of_solutions": _COMMON["number_of_solutions"]})
FAMILIES: dict[str, Family] = {
    **{t: MICROSOFT for t in MICROSOFT_TARGETS}, **{t: TOSHIBA for t in TOSHIBA_TARGETS},
    **{t: ONEQBIT for t in ONEQBIT_TARGETS},
}


def parameterised_twin(target: str) -> str:
    """The parameterised target a parameter-free one tunes (itself for parameterised targets)."""
    return _TWIN.get(target, target)


def check_target(target: Any) -> str:
    if not isinstance(target, str) or target not in SCHEMAS:
        raise ContractError(
            errors.INVALID_TARGET,
            f"target {target!r} is not offered by this service; offered targets: {', '.join(ALL_TARGETS)}",
        )
    return target


def family_of(target: str) -> Family:
    """The family of an offered target (check_target first)."""
    return FAMILIES[check_target(target)]


def accepted_params(target: str) -> dict[str, Param]:
    """Every parameter `target` accepts: its own and its family's common ones."""
    return {**family_of(target).common, **SCHEMAS[target]}


def effective_timeout(target: str, params: dict[str, Any]) -> float | None:
    """The wall-clock limit of a job's solve, in seconds (validated `params`): its `timeout` in its family's unit
    (1QBit: milliseconds, 0 = none); else the family's default (Toshiba: 10 s), or PARAMETER_FREE_DEFAULT_TIMEOUT_S
    for a parameter-free target; else None (it runs to its end). The one rule: the runner stops its solver there, and
    the dispatcher's hard deadline (after which the runner is killed) follows it."""
    family = family_of(target)
    timeout = params.get("timeout")
    if timeout is not None and not (family.zero_timeout_is_none and timeout == 0):
        return float(timeout) * family.timeout_s_per_unit
    if family.default_timeout_s is not None:
        return family.default_timeout_s
    return PARAMETER_FREE_DEFAULT_TIMEOUT_S if target in PARAMETER_FREE else None


def _flat_params(target: str, input_params: dict) -> dict:
    if "params" in input_params and isinstance(input_params["params"], dict):
        raise ContractError(errors.INVALID_PARAMETERS,
                            f"{target} takes flat parameters (inputParams = {{\"loops\": 10}}), not inside "
                            "inputParams.params")
    return input_params


def _nested_params(input_params: dict) -> dict:
    extra = set(input_params) - {"params"}
    if extra:
        raise ContractError(
            errors.INVALID_PARAMETERS,
            f"inputParams has unknown keys {sorted(extra)}; Microsoft solver parameters go inside inputParams.params",
        )
    params = input_params.get("params", {})
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ContractError(errors.INVALID_PARAMETERS, "inputParams.params must be a JSON object")
    return params


def validate_params(target: str, input_params: Any) -> dict[str, Any]:
    """Check `inputParams` for `target`; returns the normalised, flat parameters (no defaults added).

    Microsoft targets take `{"params": {...}}` (what the SDK sends), `{}` or None; Toshiba and 1QBit targets take
    the parameters flat, 1QBit values as text (from_text) or as JSON values. Raises ContractError(INVALID_PARAMETERS).
    """
    family = family_of(target)
    if input_params is None:
        return {}
    if not isinstance(input_params, dict):
        shape = '{"params": {...}}' if family.nested else '{"name": value, ...}'
        raise ContractError(errors.INVALID_PARAMETERS, f"inputParams must be a JSON object like {shape}")
    params = _nested_params(input_params) if family.nested else _flat_params(target, input_params)
    schema = accepted_params(target)
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue  # the SDK skips None; treat an explicit null the same way
        spec = schema.get(name)
        if spec is None:
            raise fail(name, f"is not a parameter of {target}; accepted: {', '.join(sorted(schema))}")
        if family.strings and isinstance(value, str):
            value = from_text(name, value, spec)
        out[name] = check_value(name, value, spec)
    _check_together(out)
    return out


def _check_together(out: dict[str, Any]) -> None:
    """Rules between parameters of one target."""
    if "all_betas" in out and "replicas" in out and out["replicas"] != len(out["all_betas"]):
        raise fail("replicas", f"must equal the length of 'all_betas' ({len(out['all_betas'])}); got {out['replicas']}")
    # The SDK's transverse_field_start/stop and the service's transverse_field_high/low name one setting each:
    # an annealer starts at the strong field and ends at the weak one.
    for sdk_name, service_name in TRANSVERSE_FIELD_ALIASES.items():
        if sdk_name in out and service_name in out and out[sdk_name] != out[service_name]:
            raise fail(sdk_name, f"and '{service_name}' name the same setting but differ ({out[sdk_name]} vs {out[service_name]})")
    if "low_temp" in out and "high_temp" in out and out["low_temp"] > out["high_temp"]:
        raise fail("low_temp", f"must be at most high_temp ({out['high_temp']}); got {out['low_temp']}")
    if "manual_temperatures" in out and "num_temps" in out and out["num_temps"] != len(out["manual_temperatures"]):
        raise fail("num_temps", f"must equal the length of 'manual_temperatures' ({len(out['manual_temperatures'])}); "
                                f"got {out['num_temps']}")


def input_params_body(target: str, params: dict[str, Any]) -> dict[str, Any]:
    """The `inputParams` a client sends for these (validated) parameters: nested for Microsoft targets, flat for
    the others, 1QBit values as text the way the SDK writes them (`str()`)."""
    family = family_of(target)
    if family.nested:
        return {"params": dict(params)}
    return {k: str(v) for k, v in params.items()} if family.strings else dict(params)


def stored_input_params(target: str, input_params: Any, params: dict[str, Any]) -> dict[str, Any]:
    """What a job keeps and shows as its `inputParams`: for Microsoft targets the normalised `{"params": ...}`; for
    Toshiba and 1QBit what the client sent (flat, explicit nulls left out), as the real service echoed it."""
    if family_of(target).nested or not isinstance(input_params, dict):
        return input_params_body(target, params)
    return {k: v for k, v in input_params.items() if v is not None}
