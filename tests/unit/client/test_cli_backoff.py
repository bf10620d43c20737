"""The CLI, told by the service that it is at capacity (429 with Retry-After), says so on stderr and waits as asked
instead of failing (issue 18); the answer it waited for is then printed as usual."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from services.cli.app import app
from services.client._transport import RestClient
from tests.unit.client.fake_service import job_wire


def test_the_cli_says_the_service_is_busy_and_waits(fake, connection_file, monkeypatch):
    monkeypatch.setattr(RestClient, "BACKPRESSURE_MIN_S", 0.01)
    monkeypatch.setattr(RestClient, "RETRY_AFTER_MAX_S", 1.0)  # (the fixtures cap waits at 0.05 s)
    fake.jobs["r"] = job_wire("r")
    busy = (429, {"error": {"code": "TooManyRequests", "message": "the service is at capacity"}}, {"Retry-After": "0"})
    told_ms = (429, busy[1], {"Retry-After": "1", "retry-after-ms": "200"})  # 0.2-0.25 s, said to a tenth
    fake.script["GET /jobs/r"] = [busy, told_ms]
    result = CliRunner().invoke(app, ["--connection", str(connection_file), "jobs", "show", "r", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("the service is busy (the service is at capacity); trying again in") == 2
    assert "trying again in 0.0 s" in result.stderr and "trying again in 0.2 s" in result.stderr
    assert json.loads(result.stdout)["id"] == "r"
    assert len(fake.calls("GET")) == 3
