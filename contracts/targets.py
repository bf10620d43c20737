"""Targets the service offers and the parameters each accepts (inside `inputParams.params`).

One table serves the gateway (reject bad parameters at submit, HTTP 400) and the runner (the same check again,
defaults applied in `solver_runner.params`). Parameter-free targets accept their parameterised twin's parameters:
the SDK lets them through, and values given are held fixed while the rest is tuned.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import errors
from .errors import ContractError

PROVIDER_ID = "Microsoft"

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

ALL_TARGETS: tuple[str, ...] = (SA, SA_PF, PT, PT_PF, TABU, TABU_PF, QMC, PA, PA_PF, SSMC, SSMC_PF)
PARAMETER_FREE: frozenset[str] = frozenset({SA_PF, PT_PF, TABU_PF, PA_PF, SSMC_PF})
PARAMETER_FREE_DEFAULT_TIMEOUT_S = 5.0
MAX_SOLUTIONS = 10
TRANSVERSE_FIELD_ALIASES = {"transverse_field_start": "transverse_field_high", "transverse_field_stop": "transverse_field_low"}


@dataclass(frozen=True)
class Param:
    """kind: int | number | bool | number_list | int_list | schedule. Bounds apply to numbers (and list items)."""

    kind: str
    min: float | None = None
    min_exclusive: bool = False
    max: float | None = None
    direction: str | None = None  # schedules: "increasing" | "decreasing"
    max_items: int = 10_000


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


def _fail(name: str, why: str) -> ContractError:
    return ContractError(errors.INVALID_PARAMETERS, f"{errors.AZQ_INVALID_PARAMETER}: parameter '{name}' {why}")


def _check_number(name: str, value: Any, spec: Param, integer: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(name, f"must be {'an integer' if integer else 'a number'}; got {type(value).__name__} {value!r}")
    if integer and not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise _fail(name, f"must be an integer; got {value!r}")
    if not math.isfinite(value):
        raise _fail(name, f"must be finite; got {value!r}")
    if spec.min is not None:
        if spec.min_exclusive and value <= spec.min:
            raise _fail(name, f"must be greater than {spec.min:g}; got {value!r}")
        if not spec.min_exclusive and value < spec.min:
            raise _fail(name, f"must be at least {spec.min:g}; got {value!r}")
    if spec.max is not None and value > spec.max:
        raise _fail(name, f"must be at most {spec.max:g}; got {value!r}")
    return value


def _check_schedule(name: str, value: Any, spec: Param) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(name, f"must be a schedule object {{'type', 'initial', 'final'}}; got {value!r}")
    kind = value.get("type")
    if kind not in ("linear", "geometric"):
        raise _fail(name, f"schedule type must be 'linear' or 'geometric'; got {kind!r}")
    unknown = set(value) - {"type", "initial", "final"}
    if unknown:
        raise _fail(name, f"schedule has unknown keys {sorted(unknown)}")
    if "initial" not in value or "final" not in value:
        raise _fail(name, "schedule needs both 'initial' and 'final'")
    num = Param("number", min=spec.min, min_exclusive=spec.min_exclusive)
    initial = _check_number(f"{name}.initial", value["initial"], num, False)
    final = _check_number(f"{name}.final", value["final"], num, False)
    if kind == "geometric" and (initial <= 0 or final <= 0):
        raise _fail(name, "a geometric schedule needs positive end points")
    if spec.direction == "increasing" and initial > final:
        raise _fail(name, f"must be increasing; got initial {initial} > final {final}")
    if spec.direction == "decreasing" and initial < final:
        raise _fail(name, f"must be decreasing; got initial {initial} < final {final}")
    return {"type": kind, "initial": float(initial), "final": float(final)}


def _check_one(name: str, value: Any, spec: Param) -> Any:
    if spec.kind == "int":
        return _check_number(name, value, spec, True)
    if spec.kind == "number":
        return float(_check_number(name, value, spec, False))
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise _fail(name, f"must be true or false; got {value!r}")
        return value
    if spec.kind in ("number_list", "int_list"):
        if not isinstance(value, list) or not value:
            raise _fail(name, f"must be a non-empty list; got {value!r}")
        if len(value) > spec.max_items:
            raise _fail(name, f"has {len(value)} items, more than {spec.max_items}")
        item = Param("number", min=spec.min, min_exclusive=spec.min_exclusive, max=spec.max)
        integer = spec.kind == "int_list"
        return [
            (_check_number(f"{name}[{i}]", v, item, integer) if integer else float(_check_number(f"{name}[{i}]", v, item, False)))
            for i, v in enumerate(value)
        ]
    if spec.kind == "schedule":
        return _check_schedule(name, value, spec)
    raise AssertionError(spec.kind)


def effective_timeout(target: str, params: dict[str, Any]) -> float | None:
    """The wall-clock limit of a job's solve, in seconds (validated `params`): its `timeout`; else
    PARAMETER_FREE_DEFAULT_TIMEOUT_S for a parameter-free target; else None (it runs to its end). The one rule: the
    runner stops its solver there, and the dispatcher's hard deadline (after which the runner is killed) follows it."""
    timeout = params.get("timeout")
    if timeout is not None:
        return float(timeout)
    return PARAMETER_FREE_DEFAULT_TIMEOUT_S if target in PARAMETER_FREE else None


def validate_params(target: str, input_params: Any) -> dict[str, Any]:
    """Check `inputParams` for `target`; returns the normalised `params` dict (no defaults added).

    Accepts `{"params": {...}}` (what the SDK sends), `{}`, or None. Raises ContractError(INVALID_PARAMETERS).
    """
    check_target(target)
    if input_params is None:
        return {}
    if not isinstance(input_params, dict):
        raise ContractError(errors.INVALID_PARAMETERS, "inputParams must be a JSON object like {\"params\": {...}}")
    params = input_params.get("params", {})
    extra = set(input_params) - {"params"}
    if extra:
        raise ContractError(
            errors.INVALID_PARAMETERS,
            f"inputParams has unknown keys {sorted(extra)}; Microsoft solver parameters go inside inputParams.params",
        )
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ContractError(errors.INVALID_PARAMETERS, "inputParams.params must be a JSON object")
    schema = {**_COMMON, **SCHEMAS[target]}
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue  # the SDK skips None; treat an explicit null the same way
        spec = schema.get(name)
        if spec is None:
            raise _fail(name, f"is not a parameter of {target}; accepted: {', '.join(sorted(schema))}")
        out[name] = _check_one(name, value, spec)
    if "all_betas" in out and "replicas" in out and out["replicas"] != len(out["all_betas"]):
        raise _fail("replicas", f"must equal the length of 'all_betas' ({len(out['all_betas'])}); got {out['replicas']}")
    # The SDK's transverse_field_start/stop and the service's transverse_field_high/low name one setting each:
    # an annealer starts at the strong field and ends at the weak one.
    for sdk_name, service_name in TRANSVERSE_FIELD_ALIASES.items():
        if sdk_name in out and service_name in out and out[sdk_name] != out[service_name]:
            raise _fail(sdk_name, f"and '{service_name}' name the same setting but differ ({out[sdk_name]} vs {out[service_name]})")
    return out
