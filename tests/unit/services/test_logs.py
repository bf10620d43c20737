"""Structured logs: exactly one line per job status change, with job id, old and new status, in text and JSON."""
from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from contracts.jobs import ErrorData
from contracts.logformat import OWN_LOGGERS
from contracts.status import JobStatus
from services import logs
from services.config import Settings, SettingsError
from services.jobs.store import JobExists
from tests.unit.services.test_sqlite_store import job

W, E, S, F, C = (JobStatus.WAITING, JobStatus.EXECUTING, JobStatus.SUCCEEDED, JobStatus.FAILED,
                 JobStatus.CANCELLED)


@pytest.fixture
def json_lines():
    """Route every record through the real JsonFormatter, as `openqio serve --log-format json` does."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def transitions(lines: list[dict], job_id: str) -> list[tuple[str | None, str]]:
    return [(d["from"], d["to"]) for d in lines if d.get("job_id") == job_id and "to" in d]


async def test_every_status_change_is_one_json_line(store, json_lines):
    await store.insert("ws", job("a"))
    claimed = await store.claim_next()
    assert claimed is not None and claimed.details.id == "a"
    await store.transition("a", W, expected=[E], event_data={"reason": "runner crashed", "attempts": 1})
    await store.claim_next()
    await store.transition("a", S, expected=[E], event_data={"cost": -17.0, "elapsed_s": 0.5})
    assert await store.transition("a", F, expected=[E]) is None  # a refused change is not a transition: no line

    lines = json_lines()
    assert transitions(lines, "a") == [(None, "Waiting"), ("Waiting", "Executing"), ("Executing", "Waiting"),
                                       ("Waiting", "Executing"), ("Executing", "Succeeded")]
    for d in lines:
        assert {"ts", "level", "logger", "msg"} <= d.keys()
    moved = [d for d in lines if d.get("job_id") == "a" and "to" in d]
    assert all(d["level"] == "INFO" and d["logger"] == "services.jobs.sqlite_store" for d in moved)
    assert moved[0]["target"] == "microsoft.simulatedannealing.cpu"
    assert moved[1]["attempt"] == 1 and moved[3]["attempt"] == 2
    assert moved[2]["reason"] == "runner crashed"
    assert moved[4]["cost"] == -17.0 and moved[4]["msg"] == "job a: Executing -> Succeeded"
    assert moved[0]["ts"].endswith("+00:00") and "T" in moved[0]["ts"]


async def test_failed_and_cancelled_lines_carry_their_reason(store, json_lines):
    await store.insert("ws", job("f"))
    await store.insert("ws", job("c"))
    await store.claim_next()  # f (oldest first)
    await store.transition("f", F, expected=[E], error=ErrorData(code="InvalidInputData", message="bad term"))
    await store.transition("c", C)  # no `expected`: the old status is read in the same transaction
    lines = json_lines()
    assert transitions(lines, "f") == [(None, "Waiting"), ("Waiting", "Executing"), ("Executing", "Failed")]
    assert transitions(lines, "c") == [(None, "Waiting"), ("Waiting", "Cancelled")]
    failed = [d for d in lines if d.get("job_id") == "f" and d.get("to") == "Failed"][0]
    assert (failed["error_code"], failed["error_message"]) == ("InvalidInputData", "bad term")


async def test_resubmitting_the_same_job_logs_nothing(store, json_lines):
    await store.insert("ws", job("same"))
    with pytest.raises(JobExists):
        await store.insert("ws", job("same"))
    assert transitions(json_lines(), "same") == [(None, "Waiting")]


def test_text_lines_keep_one_token_per_field():
    record = logging.LogRecord("services.jobs", logging.INFO, __file__, 1, "job %s: %s -> %s",
                               ("j1", "Executing", "Failed"), None)
    record.job_id, record.to, record.error_message = "j1", "Failed", 'bad "term" = 3'
    setattr(record, "from", None)
    line = logs.TextFormatter().format(record)
    assert "\n" not in line and " INFO    services.jobs: job j1: Executing -> Failed " in line
    assert line.endswith('error_message="bad \\"term\\" = 3" from=- job_id=j1 to=Failed')


def test_json_lines_stringify_what_json_cannot_hold():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "m", None, None)
    record.job_id, record.path = "j", Path("/tmp/a")
    doc = json.loads(logs.JsonFormatter().format(record))
    assert doc["path"] == "/tmp/a" and doc["job_id"] == "j" and doc["level"] == "WARNING" and doc["msg"] == "m"


def test_configure_picks_the_format():
    root = logging.getLogger()
    own = [logging.getLogger(name) for name in OWN_LOGGERS]
    saved = root.handlers[:], root.level, [logger.level for logger in own]
    try:
        logs.configure("debug", "json")
        assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
        assert logging.getLogger("services.gateway.app").isEnabledFor(logging.DEBUG)
        assert root.level == logging.WARNING  # everyone else's
        logs.configure("INFO", "text")
        assert isinstance(root.handlers[0].formatter, logs.TextFormatter)
    finally:
        root.handlers[:], _, levels = saved
        root.setLevel(saved[1])
        for logger, level in zip(own, levels):
            logger.setLevel(level)


_SQL_AT_DEBUG = """
import asyncio, logging, sys
import aiosqlite
from contracts import logformat
logformat.configure(sys.argv[1], "text")
async def main():
    async with aiosqlite.connect(":memory:") as db:
        await db.execute("SELECT 'secret-parameter'")
logging.getLogger("services.jobs").debug("our own debug line")
asyncio.run(main())
"""


@pytest.mark.parametrize("spec,aiosqlite_lines", [("DEBUG", False), ("DEBUG,aiosqlite=DEBUG", True)])
def test_debug_opens_our_loggers_not_the_libraries(spec, aiosqlite_lines):
    """Issue 11 §8: OPENQIO_LOG_LEVEL=DEBUG made aiosqlite log every statement with its parameters (2.4 GiB from 90
    PATCHes). Third-party loggers stay at WARNING unless the spec names them."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _SQL_AT_DEBUG, spec], capture_output=True, text=True, timeout=60,
                            check=True)
    assert "our own debug line" in result.stderr
    assert ("secret-parameter" in result.stderr) is aiosqlite_lines, result.stderr[-2000:]


@pytest.mark.parametrize("spec", ["LOUD", "DEBUG,aiosqlite", "DEBUG,aiosqlite=CHATTY", "DEBUG,=INFO"])
def test_a_bad_log_level_is_a_settings_error(spec):
    with pytest.raises(SettingsError, match="OPENQIO_LOG_LEVEL"):
        Settings.from_env({"OPENQIO_LOG_LEVEL": spec}, tokens={"t" * 16: "openqio"})


def test_a_runner_process_logs_in_the_services_format():
    """The runner pool starts runners through child_entry: their lines are JSON when the service's are."""
    import subprocess
    import sys

    code = "from contracts.logformat import child_entry; child_entry('INFO', 'json', 'logging:warning', 'from %s', 'a runner')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    doc = json.loads(result.stderr.strip())
    assert (doc["level"], doc["logger"], doc["msg"]) == ("WARNING", "root", "from a runner")
    code = "from contracts import logformat as f; f.configure('DEBUG', 'json'); print(f.current())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "('DEBUG', 'json')"
