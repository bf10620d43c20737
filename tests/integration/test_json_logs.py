"""`openqio serve --log-format json` on the real service: every line of its output is one JSON object, each job
status change is exactly one line with the job id, the old and the new status, and a start says what it does in a
few lines (no solver's lines from the runners' warm-up)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.rest import Rest, long_problem, seed_problem
from tests.service import Service, serving

SA = "microsoft.simulatedannealing.cpu"


@pytest.fixture(scope="module")
def service(azurite, tmp_path_factory):
    svc = Service(data_dir=Path(tmp_path_factory.mktemp("logs")), blob_url=azurite.blob_url, runners=1,
                  args=["--log-format", "json"])
    yield from serving(svc)


def parse(log_text: str) -> list[dict]:
    lines = []
    for n, line in enumerate(log_text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            lines.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"line {n} of the service output is not JSON: {line!r}") from None
    return lines


async def test_json_lines_and_one_line_per_transition(service):
    async with Rest(service) as rest:
        done = await rest.submit(seed_problem(), SA, {"sweeps": 20, "seed": 1})
        await rest.wait(done)
        # one runner: the long job runs and the ones behind it queue (the dispatcher may already have claimed the
        # next one to read its input); all of them are cancelled, from whichever status they are in
        running = await rest.submit(long_problem(500), SA, {"sweeps": 10**8, "seed": 1})
        await rest.wait(running, until=frozenset({"Executing"}))
        queued = [await rest.submit(seed_problem(), SA, {"sweeps": 20}) for _ in range(3)]
        for job_id in (*reversed(queued), running):
            status, body = await rest.request("DELETE", f"jobs/{job_id}")
            assert status == 204, body
        for job_id in (running, *queued):
            assert (await rest.wait(job_id))["status"] == "Cancelled"
    service.stop()  # flushes everything; the shutdown lines must be JSON too

    lines = parse(service.log_file.read_text())
    for doc in lines:
        assert {"ts", "level", "logger", "msg"} <= doc.keys(), doc
    ready = next(n for n, d in enumerate(lines) if "(event loop: uvloop)" in d["msg"])  # OPENQIO_EVENT_LOOP's default
    # the runner's warm-up runs are not jobs: none of the solvers' lines about jobs (~170 a runner) before ready;
    # after, each names the job it is about, as the service's lines do
    solver_lines = [(n, d) for n, d in enumerate(lines) if d["logger"].startswith("solver_runner.solvers")]
    assert [d["msg"] for n, d in solver_lines if n < ready] == []
    assert any(d.get("job_id") == done for _, d in solver_lines), solver_lines
    assert {d.get("job_id") for _, d in solver_lines} <= {done, running, *queued}, solver_lines

    def moves(job_id: str) -> list[tuple[str | None, str]]:
        return [(d["from"], d["to"]) for d in lines if d.get("job_id") == job_id and "to" in d]

    assert moves(done) == [(None, "Waiting"), ("Waiting", "Executing"), ("Executing", "Succeeded")]
    assert moves(running) == [(None, "Waiting"), ("Waiting", "Executing"), ("Executing", "Cancelled")]
    assert moves(queued[-1]) == [(None, "Waiting"), ("Waiting", "Cancelled")]  # the last in the queue never ran
    for job_id in queued:  # one line per change, each from where the previous one left the job
        chain = moves(job_id)
        assert chain[0] == (None, "Waiting") and chain[-1][1] == "Cancelled", chain
        assert all(a[1] == b[0] for a, b in zip(chain, chain[1:])), chain
    succeeded = next(d for d in lines if d.get("job_id") == done and d.get("to") == "Succeeded")
    assert succeeded["level"] == "INFO" and succeeded["cost"] == -17.0 and done in succeeded["msg"]
    # the start-up announcement is a JSON line too, with where to connect
    started = [d for d in lines if d.get("base_url") == service.base_url]
    assert started and started[0]["msg"].startswith("openqio is running")
