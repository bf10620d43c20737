"""Checks of one parameter value against its `Param` spec, and the reading of values sent as text.

contracts.targets holds the tables (which parameters each target takes); this module holds what a value may be.
Every failure is a ContractError(INVALID_PARAMETERS) whose message names the parameter and says why, with QIO's
AZQ107 code, on one line.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from . import errors
from .errors import ContractError


@dataclass(frozen=True)
class Param:
    """kind: int | number | bool | number_list | int_list | schedule | choice. Bounds apply to numbers (and list
    items); a choice is one of `choices` (compared without case, normalised to the spelling listed)."""

    kind: str
    min: float | None = None
    min_exclusive: bool = False
    max: float | None = None
    direction: str | None = None  # schedules: "increasing" | "decreasing"
    max_items: int = 10_000
    choices: tuple[str, ...] = ()


def fail(name: str, why: str) -> ContractError:
    return ContractError(errors.INVALID_PARAMETERS, f"{errors.AZQ_INVALID_PARAMETER}: parameter '{name}' {why}")


def _check_number(name: str, value: Any, spec: Param, integer: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(name, f"must be {'an integer' if integer else 'a number'}; got {type(value).__name__} {value!r}")
    if integer and not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise fail(name, f"must be an integer; got {value!r}")
    if not math.isfinite(value):
        raise fail(name, f"must be finite; got {value!r}")
    if spec.min is not None:
        if spec.min_exclusive and value <= spec.min:
            raise fail(name, f"must be greater than {spec.min:g}; got {value!r}")
        if not spec.min_exclusive and value < spec.min:
            raise fail(name, f"must be at least {spec.min:g}; got {value!r}")
    if spec.max is not None and value > spec.max:
        raise fail(name, f"must be at most {spec.max:g}; got {value!r}")
    return value


def _check_schedule(name: str, value: Any, spec: Param) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(name, f"must be a schedule object {{'type', 'initial', 'final'}}; got {value!r}")
    kind = value.get("type")
    if kind not in ("linear", "geometric"):
        raise fail(name, f"schedule type must be 'linear' or 'geometric'; got {kind!r}")
    unknown = set(value) - {"type", "initial", "final"}
    if unknown:
        raise fail(name, f"schedule has unknown keys {sorted(unknown)}")
    if "initial" not in value or "final" not in value:
        raise fail(name, "schedule needs both 'initial' and 'final'")
    num = Param("number", min=spec.min, min_exclusive=spec.min_exclusive)
    initial = _check_number(f"{name}.initial", value["initial"], num, False)
    final = _check_number(f"{name}.final", value["final"], num, False)
    if kind == "geometric" and (initial <= 0 or final <= 0):
        raise fail(name, "a geometric schedule needs positive end points")
    if spec.direction == "increasing" and initial > final:
        raise fail(name, f"must be increasing; got initial {initial} > final {final}")
    if spec.direction == "decreasing" and initial < final:
        raise fail(name, f"must be decreasing; got initial {initial} < final {final}")
    return {"type": kind, "initial": float(initial), "final": float(final)}


def check_value(name: str, value: Any, spec: Param) -> Any:
    """`value` checked against `spec`, normalised (ints as int, numbers as float, choices as listed)."""
    if spec.kind == "int":
        return _check_number(name, value, spec, True)
    if spec.kind == "number":
        return float(_check_number(name, value, spec, False))
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise fail(name, f"must be true or false; got {value!r}")
        return value
    if spec.kind in ("number_list", "int_list"):
        if not isinstance(value, list) or not value:
            raise fail(name, f"must be a non-empty list; got {value!r}")
        if len(value) > spec.max_items:
            raise fail(name, f"has {len(value)} items, more than {spec.max_items}")
        item = Param("number", min=spec.min, min_exclusive=spec.min_exclusive, max=spec.max)
        integer = spec.kind == "int_list"
        return [
            (_check_number(f"{name}[{i}]", v, item, integer) if integer else float(_check_number(f"{name}[{i}]", v, item, False)))
            for i, v in enumerate(value)
        ]
    if spec.kind == "schedule":
        return _check_schedule(name, value, spec)
    if spec.kind == "choice":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(float(value))  # Toshiba's algo 2.0 sent as a number: "2.0"
        chosen = [c for c in spec.choices if isinstance(value, str) and c.lower() == value.strip().lower()]
        if not chosen:
            raise fail(name, f"must be one of {', '.join(repr(c) for c in spec.choices)}; got {value!r}")
        return chosen[0]
    raise AssertionError(spec.kind)


_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


def from_text(name: str, text: str, spec: Param) -> Any:
    """A value the way 1QBit's clients send it: Python's `str()` of it (`"10"`, `"1e-09"`, `"True"`,
    `"[1.0, 2.0]"`, `"OPTIMIZE"`), read into the JSON value `check_value` takes. Choices stay text."""
    raw = text.strip()
    if spec.kind in ("choice", "schedule"):
        return raw if spec.kind == "choice" else _json(name, raw, "a schedule object")
    if spec.kind == "bool":
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise fail(name, f"must be true or false; got {text!r}")
    if spec.kind in ("number_list", "int_list"):
        body = raw if raw.startswith("[") else f"[{raw}]"
        return _json(name, body, "a list of numbers like '[1.0, 2.0]'")
    try:
        number = float(raw)
    except ValueError:
        raise fail(name, f"must be {'an integer' if spec.kind == 'int' else 'a number'}; got {text!r}") from None
    if spec.kind == "int":
        if not number.is_integer():
            raise fail(name, f"must be an integer; got {text!r}")
        return int(number) if abs(number) < 2**63 else number
    return number


def _json(name: str, text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise fail(name, f"must be {what}; got {text!r}") from None
