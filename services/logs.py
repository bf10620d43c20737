"""Logging set-up: one line per record, `key=value` text for people or JSON for machines.

Fields passed in `extra` (job_id above all) are appended, so every job transition line carries its job id.
A job's status changes are logged once each, by the job store (the only writer of `status`), as
`job <id>: <from> -> <to>` with extras `job_id`, `from` (null for a new job) and `to`, plus what the change carries
(target, attempt, cost, error code...). With `--log-format json` (OPENQIO_LOG_FORMAT=json) every line is one JSON
object: `ts` (ISO 8601, UTC), `level`, `logger`, `msg`, then the extras as top-level keys (and `exception` when there
is a traceback), so `jq 'select(.job_id == "...")'` follows one job.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _text_value(value: object) -> str:
    """`key=value` stays one token per field: values with spaces or quotes are JSON-quoted."""
    text = "-" if value is None else str(value)
    return json.dumps(text) if (not text or any(c in text for c in " \t\n\"=")) else text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        line = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in sorted(extras.items()))
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            doc.setdefault(key, value if isinstance(value, (str, int, float, bool, type(None))) else str(value))
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("azure", "aiohttp.access", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
