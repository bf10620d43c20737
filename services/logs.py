"""Logging set-up: one line per record, `key=value` text for people or JSON for machines.

Fields passed in `extra` (job_id above all) are appended, so every job transition line carries its job id.
A job's status changes are logged once each, by the job store (the only writer of `status`), as
`job <id>: <from> -> <to>` with extras `job_id`, `from` (null for a new job) and `to`, plus what the change carries
(target, attempt, cost, error code...). With `--log-format json` (OPENQIO_LOG_FORMAT=json) every line is one JSON
object: `ts` (ISO 8601, UTC), `level`, `logger`, `msg`, then the extras as top-level keys (and `exception` when there
is a traceback), so `jq 'select(.job_id == "...")'` follows one job, its solver's lines included: runner processes
log in the same format (the formatters live in contracts/logformat.py, which runner processes may import), and
what a runner logs while it runs a job carries that job's `job_id`.
"""
from __future__ import annotations

from contracts.logformat import JsonFormatter, TextFormatter, child_entry, configure, current

__all__ = ["JsonFormatter", "TextFormatter", "child_entry", "configure", "current"]
