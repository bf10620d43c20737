"""Command-line value parsing (services.cli.params): targets, --param, --since, problem files."""
from __future__ import annotations

import gzip
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts import targets as ids
from contracts.problems import decode_problem, problem_document
from services.cli.formats import read_problem_file
from services.cli.params import (
    UsageError,
    parse_params,
    parse_since,
    parse_value,
    read_problem,
    resolve_target,
    short_name,
)
from tests.reference import reference_cost

ROOT = Path(__file__).resolve().parents[3]


def test_target_names():
    assert resolve_target("sa") == ids.SA and resolve_target("SA-PF") == ids.SA_PF
    assert resolve_target("tabu_parameterfree") == ids.TABU_PF
    assert resolve_target("simulatedannealing") == ids.SA and resolve_target("paralleltempering-pf") == ids.PT_PF
    assert resolve_target(ids.SSMC_PF) == ids.SSMC_PF
    assert {resolve_target(short_name(t)) for t in ids.ALL_TARGETS} == set(ids.ALL_TARGETS)  # every target has one
    with pytest.raises(UsageError, match="unknown target 'annealer'.*sa, sa-pf"):
        resolve_target("annealer")
    assert resolve_target("sbm") == ids.SBM and resolve_target("toshiba") == ids.SBM
    assert resolve_target("1qbit-tabu") == ids.QBIT_TABU and resolve_target("1QBit_Tabu") == ids.QBIT_TABU
    assert resolve_target("pr") == ids.QBIT_PR and resolve_target("pathrelinking") == ids.QBIT_PR
    assert resolve_target("pticm") == ids.QBIT_PTICM and resolve_target("1qbit.pticm") == ids.QBIT_PTICM


def test_values_are_typed():
    assert parse_value("100") == 100 and isinstance(parse_value("100"), int)
    assert parse_value("0.5") == 0.5 and parse_value("1e3") == 1000.0
    assert parse_value("true") is True and parse_value("off") is False
    assert parse_value("[0.1, 1]") == [0.1, 1] and parse_value("0.1,0.5,1") == [0.1, 0.5, 1]
    assert parse_value('{"type": "linear", "initial": 0.1, "final": 1}')["type"] == "linear"
    assert parse_value("abc") == "abc"


def test_params_are_checked_against_the_target():
    assert parse_params(["sweeps=100", "beta_start=0.1", "seed=3"], ids.SA) == {"sweeps": 100, "beta_start": 0.1, "seed": 3}
    assert parse_params(["sweeps=1e3"], ids.SA) == {"sweeps": 1000}  # an integral float is an integer
    assert parse_params(["all_betas=0.1,1", "replicas=2"], ids.PT) == {"all_betas": [0.1, 1.0], "replicas": 2}
    with pytest.raises(UsageError, match="'sweeps' must be an integer"):
        parse_params(["sweeps=abc"], ids.SA)
    with pytest.raises(UsageError, match="'sweepz' is not a parameter.*accepted: .*sweeps"):
        parse_params(["sweepz=1"], ids.SA)
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_params(["sweeps"], ids.SA)
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_params(["=3"], ids.SA)
    assert parse_params(["loops=10", "algo=1.5", "auto=true"], ids.SBM) == {"loops": 10, "algo": "1.5", "auto": True}
    assert parse_params(["goal=sample", "manual_temperatures=[2, 1]"], ids.QBIT_PTICM) == \
        {"goal": "SAMPLE", "manual_temperatures": [2.0, 1.0]}
    assert parse_params(["timeout=500", "seed=1"], ids.QBIT_TABU) == {"timeout": 500, "seed": 1}
    with pytest.raises(UsageError, match="'distance_scale' must be at most 0.5"):
        parse_params(["distance_scale=0.9"], ids.QBIT_PR)


def test_since():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("1.5d", now) == now - timedelta(days=1.5)
    assert parse_since("2026-02-01T10:00+00:00") == datetime(2026, 2, 1, 10, tzinfo=UTC)
    assert parse_since("2026-02-01").tzinfo is not None  # local midnight, made aware
    assert parse_since("today", now) <= now
    with pytest.raises(UsageError, match="30m, 2h"):
        parse_since("last week")


def test_problem_files(tmp_path):
    doc = problem_document("ising", [(-9, [0]), (-3, [1, 0])], name="p")
    plain = tmp_path / "p.json"
    plain.write_text(json.dumps(doc))
    body, problem = read_problem(plain)
    assert json.loads(gzip.decompress(body)) == doc and problem.name == "p" and problem.n_terms == 2
    packed = tmp_path / "p.json.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    body, problem = read_problem(packed)
    assert body == packed.read_bytes() and problem.n_terms == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"cost_function": {"type": "ising"}}')
    with pytest.raises(UsageError, match="not a microsoft.qio.v2 problem"):
        read_problem(bad)
    with pytest.raises(UsageError, match="cannot read problem file"):
        read_problem(tmp_path / "missing.json")


# examples/problems/: file -> (problem type, variables, best cost by brute force), as the README's table says
EXAMPLES = {
    "ising.json": ("ising", 3, -17.0),
    "pubo.json": ("pubo", 5, 7.5),
    "grouped.json": ("pubo_grouped", 3, 1.0),
    "protobuf.tar.gz": ("ising", 8, -8.5),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_problems_are_what_the_readme_says(name):
    path = ROOT / "examples" / "problems" / name
    body, problem = read_problem_file(path)
    assert decode_problem(body).n_terms == problem.n_terms  # what goes up (protobuf as JSON) is the same problem
    kind, variables, best = EXAMPLES[name]
    ids = [int(i) for i in problem.variable_ids()]
    values = (-1, 1) if problem.is_ising else (0, 1)
    assert (problem.problem_type, len(ids)) == (kind, variables)
    assert min(reference_cost(problem, dict(zip(ids, c))) for c in itertools.product(values, repeat=len(ids))) == best
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if f"`{name}`" in line)
    assert f"{best:g}" in row.replace("−", "-"), row
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(EXAMPLES)
