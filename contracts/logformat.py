"""Log line formats shared by the service and its runner processes: `key=value` text for people, JSON for machines.

Stdlib only, so a runner process (which never imports `services`) writes the same lines as the service: the runner
pool starts each runner through `child_entry`, which sets up logging the way the service's was set up.
services/logs.py describes the fields.
"""
from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from contracts.lifeline import die_with_parent

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _text_value(value: object) -> str:
    """`key=value` stays one token per field: values with spaces or quotes are JSON-quoted."""
    text = "-" if value is None else str(value)
    return json.dumps(text) if (not text or any(c in text for c in " \t\n\"=")) else text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        line = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in sorted(extras.items()))
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            doc.setdefault(key, value if isinstance(value, (str, int, float, bool, type(None))) else str(value))
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc)


# The job a runner is running (solver_runner.entry.run sets it): its solvers' lines carry its id, as the service's
# lines about it do, so one job's lines can be picked out of a log of many.
JOB_ID: ContextVar[str | None] = ContextVar("openqio_job_id", default=None)


class _JobId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        job = JOB_ID.get()
        if job is not None and not hasattr(record, "job_id"):
            record.job_id = job
        return True


OWN_LOGGERS = ("openqio", "services", "contracts", "solver_runner")
_configured = "WARNING"  # the level spec `configure` was given, passed on to runner processes by `current`


def parse_level(spec: str) -> tuple[str, dict[str, str]]:
    """`LEVEL[,logger=LEVEL...]` → (openqio's level, {other logger: level}), names checked; ValueError otherwise.

    `DEBUG` makes openqio's own loggers verbose and nothing else; `DEBUG,aiosqlite=DEBUG,azure=INFO` also opens
    those libraries' loggers (aiosqlite at DEBUG logs every SQL statement with its parameters: gigabytes)."""
    first, *rest = [part.strip() for part in spec.split(",")]
    levels = logging.getLevelNamesMapping()
    own = first.upper()
    if own not in levels:
        raise ValueError(f"log level {first!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    others: dict[str, str] = {}
    for item in filter(None, rest):
        name, sep, level = (x.strip() for x in item.partition("="))
        if not sep or not name or level.upper() not in levels:
            raise ValueError(f"log level entry {item!r} is not `logger=LEVEL` (e.g. aiosqlite=DEBUG)")
        others[name] = level.upper()
    return own, others


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Root logging to stderr, one line per record, in `fmt` ("text" or "json").

    `level` (see `parse_level`) applies to openqio's own loggers; every other logger (aiosqlite, aiohttp, azure,
    numba, ...) stays at WARNING unless the spec names it, so a DEBUG service log holds openqio's lines only."""
    global _configured
    own, others = parse_level(level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_JobId())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    for name, other in others.items():
        logging.getLogger(name).setLevel(other)
    _configured = level


def current() -> tuple[str, str]:
    """(level spec, format) as `configure` was given them; ("WARNING", "text") if it never ran."""
    root = logging.getLogger()
    fmt = "json" if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers) else "text"
    return _configured, fmt


def child_entry(log_level: str, log_format: str, entry_point: str, *args: Any, parent_pid: int | None = None) -> Any:
    """A spawned process's first call: die with `parent_pid` when given (contracts.lifeline), log like the parent,
    then run `module:function`(*args)."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    configure(log_level, log_format)
    module, _, name = entry_point.partition(":")
    target: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return target(*args)
