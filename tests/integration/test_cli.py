"""The `openqio` command line, run as a real subprocess (`python -m services ...`) against the real service."""
from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from contracts import targets as ids
from contracts.problems import encode_json, problem_document
from tests.integration.rest import SEED_TERMS, Rest
from tests.service import ROOT

pytestmark = pytest.mark.integration

UUID_LEN = 36


def cli(*args: str, connection: Path | None = None, cwd: Path | None = None, timeout: float = 180,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("OPENQIO_CONNECTION", "COLUMNS")}
    command = [sys.executable, "-m", "services", *(["--connection", str(connection)] if connection else []), *args]
    result = subprocess.run(command, cwd=cwd or ROOT, env={**base, **(env or {})}, capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture(scope="module")
def conn(openqio_service) -> Path:
    return openqio_service.connection_file


@pytest.fixture(scope="module")
def seed_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("problems") / "seed.json"
    path.write_text(json.dumps(problem_document("ising", SEED_TERMS, name="cli-seed")))
    return path


@pytest.fixture(scope="module")
def long_file(tmp_path_factory) -> Path:
    rng = random.Random(11)
    n = 1500
    terms = [(rng.choice([-1, 1]), [i, (i + rng.randint(1, n - 1)) % n]) for i in range(n) for _ in range(2)]
    path = tmp_path_factory.mktemp("problems") / "long.json.gz"
    path.write_bytes(gzip.compress(json.dumps(problem_document("ising", terms, name="cli-long")).encode()))
    return path


def test_serve_keeps_every_flag():
    result = cli("serve", "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0
    for flag in ("--data-dir", "--host", "--port", "--runners", "--blob-url", "--with-azurite", "--log-level",
                 "--log-format"):
        assert flag in result.stdout, flag
    bad = cli("serve", "--log-format", "yaml")
    assert bad.returncode == 2 and "yaml" in bad.stderr


def test_targets_table_and_json(conn):
    table = cli("targets", connection=conn, env={"COLUMNS": "250"})
    assert table.returncode == 0, table.stderr
    for target in ids.ALL_TARGETS:
        assert target in table.stdout
    rows = json.loads(cli("targets", "--json", connection=conn).stdout)
    assert {r["id"] for r in rows} == set(ids.ALL_TARGETS)
    sa = next(r for r in rows if r["short"] == "sa")
    assert sa["id"] == ids.SA and "sweeps" in sa["parameters"] and sa["availability"] == "Available"
    # each parameter's type, default and meaning; parameter-free targets only what they accept
    sweeps = next(p for p in sa["parameter_details"] if p["name"] == "sweeps")
    assert (sweeps["type"], sweeps["default"]) == ("int 1..1e9", "1000") and "per restart" in sweeps["meaning"]
    sa_pf = next(r for r in rows if r["short"] == "sa-pf")
    assert "parameter_details" not in sa_pf and "held fixed" in sa_pf["accepts"] and "beta_start" in sa_pf["accepts"]
    for text in ("Default", "Meaning", "max(8, threads)", "int 1..1e9", "held fixed", "schedule {type, initial"):
        assert text in table.stdout, text


def test_load_says_whether_new_jobs_are_admitted(conn):
    table = cli("load", connection=conn)
    assert table.returncode == 0, table.stderr
    for row in ("new jobs", "admitted", "runners busy", "of 2", "limit", "10000 waiting", "since the service started"):
        assert row in table.stdout, (row, table.stdout)
    answer = json.loads(cli("load", "--json", connection=conn).stdout)
    assert answer["admitting"] is True and answer["limits"]["maxWaiting"] == 10000 and answer["runners"]["total"] == 2
    assert answer["paceMeasured"] in (True, False)  # false: the pace shown is an estimate
    assert answer["diskFullSeconds"] is None  # (a number while the job database's disk is full: test_full_disk.py)


# examples/problems/: what the README's "Problem files" table promises
EXAMPLE_COSTS = {"ising.json": -17.0, "pubo.json": 7.5, "grouped.json": 1.0, "protobuf.tar.gz": -8.5}


@pytest.mark.parametrize("name", sorted(EXAMPLE_COSTS))
def test_example_problems_solve_as_the_readme_says(conn, name):
    solved = cli("solve", f"examples/problems/{name}", "--target", "sa", "--json", connection=conn)
    assert solved.returncode == 0, solved.stderr
    assert json.loads(solved.stdout)["cost"] == EXAMPLE_COSTS[name]


def test_the_first_command_a_user_types(conn):
    solved = cli("solve", "examples/problems/ising.json", "--target", "sa", connection=conn)
    assert solved.returncode == 0, solved.stderr
    assert "cost -17" in solved.stdout and "0=+1 1=+1 2=-1" in solved.stdout and "Succeeded" in solved.stderr


def test_submit_show_list_and_results(conn, seed_file, tmp_path):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    sub = cli("submit", str(seed_file), "--target", "sa", "-p", "sweeps=200", "-p", "seed=7", "-p", "beta_start=0.5",
              "--name", name, connection=conn)
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip()
    assert len(job_id) == UUID_LEN and uuid.UUID(job_id)  # only the id on stdout

    done = cli("results", job_id, "--wait", "--json", connection=conn)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["cost"] == -17.0 and result["configuration"] == {"0": 1, "1": 1, "2": -1}

    pretty = cli("results", job_id, connection=conn)
    assert pretty.returncode == 0 and "cost -17" in pretty.stdout and "0=+1" in pretty.stdout

    show = json.loads(cli("jobs", "show", job_id, "--json", connection=conn).stdout)
    assert show["status"] == "Succeeded" and show["name"] == name and show["target"] == ids.SA
    assert show["inputParams"]["params"] == {"sweeps": 200, "seed": 7, "beta_start": 0.5}  # typed, not strings
    table = cli("jobs", "show", job_id, connection=conn)
    assert table.returncode == 0 and "Succeeded" in table.stdout and '"sweeps": 200' in table.stdout

    listed = cli("jobs", "list", "--name", name, connection=conn)
    assert listed.returncode == 0 and job_id in listed.stdout and "Succeeded" in listed.stdout
    as_json = json.loads(cli("jobs", "list", "--name", name, "--since", "1h", "--json", connection=conn).stdout)
    assert [j["id"] for j in as_json] == [job_id]
    assert json.loads(cli("jobs", "list", "--name", name, "--status", "failed", "--json", connection=conn).stdout) == []
    assert json.loads(cli("jobs", "list", "--name", name, "--since", "2099-01-01", "--json", connection=conn).stdout) == []
    none = cli("jobs", "list", "--name", name, "--status", "Waiting", connection=conn)
    assert none.returncode == 0 and "no jobs match" in none.stderr

    gz = tmp_path / "seed.json.gz"
    gz.write_bytes(gzip.compress(seed_file.read_bytes()))
    sub_gz = cli("submit", str(gz), "-t", "tabu", "-p", "sweeps=20", connection=conn)
    assert sub_gz.returncode == 0, sub_gz.stderr
    assert json.loads(cli("results", sub_gz.stdout.strip(), "--wait", "--json", connection=conn).stdout)["cost"] == -17.0


def test_solve_shows_live_progress_then_the_result(conn, long_file, seed_file):
    solved = cli("solve", str(long_file), "-t", "sa-pf", "-p", "timeout=3", "-p", "seed=1", connection=conn)
    assert solved.returncode == 0, solved.stderr
    err = solved.stderr
    assert "submitted job" in err and "Executing" in err and "Succeeded" in err
    progress = [line for line in err.splitlines() if line.startswith("progress:")]
    assert len(progress) >= 2, err  # ~3 s of solving, one progress event a second
    assert "sweeps" in progress[-1] and "best cost" in progress[-1]
    assert "cost " in solved.stdout and "configuration (1500 variables)" in solved.stdout

    quick = cli("solve", str(seed_file), "-t", "pt", "-p", "sweeps=50", "--json", connection=conn)
    assert quick.returncode == 0, quick.stderr
    assert json.loads(quick.stdout)["cost"] == -17.0


def test_cancel_and_the_errors_that_follow(conn, long_file):
    job_id = cli("submit", str(long_file), "-t", "sa", "-p", "sweeps=100000000", connection=conn).stdout.strip()
    assert uuid.UUID(job_id)
    early = cli("results", job_id, connection=conn)
    assert early.returncode == 1 and "--wait" in early.stderr  # not finished: says how to wait, prints no result
    cancel = cli("jobs", "cancel", job_id, connection=conn)
    assert cancel.returncode == 0 and job_id in cancel.stdout and "cancel" in cancel.stdout
    waited = cli("results", job_id, "--wait", connection=conn)
    assert waited.returncode == 1 and "Cancelled" in waited.stderr
    again = cli("jobs", "cancel", job_id, connection=conn)
    assert again.returncode == 1 and "already finished" in again.stderr


def test_clear_errors_and_exit_codes(conn, seed_file, tmp_path, openqio_service):
    missing = cli("jobs", "list", cwd=tmp_path)  # no connection file anywhere above tmp_path
    assert missing.returncode == 1 and "no connection file" in missing.stderr
    assert cli("--connection", str(tmp_path / "nope.json"), "targets").returncode == 2

    unknown = cli("jobs", "show", "no-such-job", connection=conn)
    assert unknown.returncode == 1 and "no-such-job" in unknown.stderr and "not found" in unknown.stderr
    assert cli("results", "no-such-job", connection=conn).returncode == 1

    bad_value = cli("submit", str(seed_file), "-p", "sweeps=abc", connection=conn)
    assert bad_value.returncode == 2 and "sweeps" in bad_value.stderr
    bad_name = cli("submit", str(seed_file), "-p", "sweepz=10", connection=conn)
    assert bad_name.returncode == 2 and "sweepz" in bad_name.stderr and "accepted" in bad_name.stderr
    assert cli("submit", str(seed_file), "-p", "novalue", connection=conn).returncode == 2
    bad_target = cli("submit", str(seed_file), "-t", "quantum-magic", connection=conn)
    assert bad_target.returncode == 2 and "unknown target" in bad_target.stderr
    not_json = tmp_path / "p.json"
    not_json.write_text("{not json")
    bad_file = cli("submit", str(not_json), connection=conn)
    assert bad_file.returncode == 2 and "not a microsoft.qio.v2 problem" in bad_file.stderr
    assert cli("submit", str(tmp_path / "absent.json"), connection=conn).returncode == 2
    assert cli("jobs", "list", "--status", "Sleeping", connection=conn).returncode == 2
    assert cli("jobs", "list", "--since", "yesterday-ish", connection=conn).returncode == 2

    wrong_token = tmp_path / "wrong.json"
    wrong_token.write_text(json.dumps({**json.loads(conn.read_text()), "token": "x" * 43}))
    refused = cli("jobs", "list", connection=wrong_token)
    assert refused.returncode == 1 and "refused the token" in refused.stderr

    down = tmp_path / "down.json"
    down.write_text(json.dumps({**json.loads(conn.read_text()), "base_url": "https://127.0.0.1:9/"}))
    unreachable = cli("targets", connection=down)
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr


async def test_job_ids_by_unique_prefix(conn, openqio_service):
    stem = uuid.uuid4().hex[:12]
    job_ids = [f"{stem}0-{uuid.uuid4().hex[:8]}", f"{stem}1-{uuid.uuid4().hex[:8]}"]
    async with Rest(openqio_service) as rest:
        for job_id in job_ids:
            uri = await rest.upload(job_id, encode_json(problem_document("ising", SEED_TERMS)))
            status, body = await rest.request("PUT", f"jobs/{job_id}", json=rest.job_body(job_id, uri, ids.SA,
                                                                                         {"sweeps": 20}))
            assert status == 200, body
        for job_id in job_ids:
            await rest.wait(job_id)
    shown = cli("jobs", "show", job_ids[0][:13], "--json", connection=conn)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == job_ids[0]
    result = cli("results", job_ids[1][:13], "--json", connection=conn)
    assert result.returncode == 0 and json.loads(result.stdout)["cost"] == -17.0, result.stderr
    finished = cli("jobs", "cancel", job_ids[1][:13], connection=conn)
    assert finished.returncode == 1 and job_ids[1] in finished.stderr and "already finished" in finished.stderr
    ambiguous = cli("jobs", "show", stem, connection=conn)
    assert ambiguous.returncode == 1 and "ambiguous: 2 jobs match" in ambiguous.stderr
    assert job_ids[0] in ambiguous.stderr and job_ids[1] in ambiguous.stderr
    unknown = cli("results", stem + "x", connection=conn)
    assert unknown.returncode == 1 and "not found" in unknown.stderr
