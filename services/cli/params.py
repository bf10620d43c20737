"""What the command line turns into request values: target short names, `--param k=v`, `--since`, problem files.

Pure functions (no I/O but reading the problem file), so they are unit-tested on their own.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts import targets
from contracts.errors import ContractError
from contracts.problems import ProblemData, decode_problem


class UsageError(ValueError):
    """A value on the command line that cannot be used; the message says what to write instead."""


SHORT_NAMES: dict[str, str] = {
    "sa": targets.SA,
    "sa-pf": targets.SA_PF,
    "pt": targets.PT,
    "pt-pf": targets.PT_PF,
    "tabu": targets.TABU,
    "tabu-pf": targets.TABU_PF,
    "qmc": targets.QMC,
    "pa": targets.PA,
    "pa-pf": targets.PA_PF,
    "ssmc": targets.SSMC,
    "ssmc-pf": targets.SSMC_PF,
    "sbm": targets.SBM,
    "1qbit-tabu": targets.QBIT_TABU,
    "pr": targets.QBIT_PR,
    "pticm": targets.QBIT_PTICM,
}
_ALIASES = {"simulatedannealing": "sa", "paralleltempering": "pt", "populationannealing": "pa",
            "substochasticmontecarlo": "ssmc", "simulatedbifurcation": "sbm", "toshiba": "sbm",
            "pathrelinking": "pr", "1qbittabu": "1qbit-tabu"}


def short_name(target_id: str) -> str | None:
    return next((short for short, full in SHORT_NAMES.items() if full == target_id), None)


def resolve_target(name: str) -> str:
    """`sa`, `SA-pf`, `simulatedannealing` or a full id like `microsoft.tabu.cpu` → the full target id."""
    key = name.strip().lower()
    if key in targets.SCHEMAS:
        return key
    key = key.replace("_", "-").replace("-parameterfree", "-pf")
    if key not in SHORT_NAMES:
        base, dash, pf = key.partition("-")
        key = _ALIASES.get(base, base) + dash + pf
    if key in SHORT_NAMES:
        return SHORT_NAMES[key]
    raise UsageError(f"unknown target {name!r}; use one of {', '.join(SHORT_NAMES)} or a full id "
                     f"(`openqio targets` lists them)")


def parse_value(text: str) -> Any:
    """A parameter value: JSON when it parses (numbers, true/false, lists, schedule objects), else the text.
    `1e3` is a number; `[0.1, 1]` a list; `{"type": "linear", "initial": 0.1, "final": 1}` a schedule."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    try:
        return json.loads(text)
    except ValueError:
        if "," in text:  # 0.1,0.5,1 → a list, for the shells where brackets need quoting
            try:
                return [json.loads(part) for part in text.split(",")]
            except ValueError:
                pass
        return text


def parse_params(items: list[str], target: str) -> dict[str, Any]:
    """`["sweeps=100", "beta_start=0.1"]` → typed values, checked against the target's schema (the same check
    the service makes), so a typo fails here with the list of accepted names instead of after the upload. The job
    sends them as `contracts.targets.input_params_body` writes them (nested, flat, or flat text for 1QBit)."""
    params: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--param {item!r} must look like NAME=VALUE, e.g. --param sweeps=1000")
        params[name] = parse_value(value)
    try:
        return targets.validate_params(target, targets.input_params_body(target, params))
    except ContractError as exc:
        raise UsageError(exc.message) from None


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`30m`, `2h`, `7d` (that long ago), `today`, or an ISO date/datetime (local time unless it has a zone)."""
    now = now or datetime.now(UTC)
    value = text.strip().lower()
    match = _RELATIVE.match(value)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    if value == "today":
        local = now.astimezone()
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since {text!r}: use e.g. 30m, 2h, 7d, today, 2026-01-31 or 2026-01-31T08:00") from None
    return moment if moment.tzinfo else moment.astimezone()


def read_problem(path: Path) -> tuple[bytes, ProblemData]:
    """The file's bytes, gzip-compressed for upload, and the decoded problem (checked as the service will)."""
    import gzip

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read problem file {path}: {exc.strerror or exc}") from None
    try:
        problem = decode_problem(raw, "application/json")
    except ContractError as exc:
        raise UsageError(f"{path} is not a microsoft.qio.v2 problem: {exc.message}") from None
    body = raw if raw[:2] == b"\x1f\x8b" else gzip.compress(raw, compresslevel=6)
    return body, problem
