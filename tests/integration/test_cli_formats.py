"""`openqio solve/submit FILE` for every file format, as a real subprocess against the real service."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from services.client import Workspace
from services.client.optimization import Problem, SimulatedAnnealing
from tests.integration.test_cli import cli

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data" / "formats"


@pytest.fixture(scope="module")
def conn(openqio_service) -> Path:
    return openqio_service.connection_file


def cut(cost: float, weights: float) -> float:
    """Max-cut value of an Ising configuration of cost Σ w s_i s_j: (W − cost)/2."""
    return (weights - cost) / 2


def test_gset_file_gives_the_same_cut_through_the_cli_and_the_native_client(conn):
    weights = sum(float(line.split()[2]) for line in (DATA / "G11.txt").read_text().splitlines()[1:])
    solved = cli("solve", str(DATA / "G11.txt"), "-t", "sa", "-p", "sweeps=300", "-p", "seed=5", "--json",
                 connection=conn)
    assert solved.returncode == 0, solved.stderr
    by_cli = json.loads(solved.stdout)

    problem = Problem.read(DATA / "G11.txt")
    with Workspace(connection_file=conn) as workspace:
        by_client = SimulatedAnnealing(workspace, sweeps=300, seed=5).submit(problem).get_results()

    assert cut(by_cli["cost"], weights) == cut(by_client["cost"], weights)
    assert by_cli["configuration"] == by_client["configuration"]
    assert 500 <= cut(by_cli["cost"], weights) <= 564  # G11's best-known cut is 564
    assert problem.evaluate(by_cli["configuration"]) == by_cli["cost"]


def test_submit_picks_an_instance_and_a_format(conn, tmp_path):
    submitted = cli("submit", str(DATA / "bqp50_1_2.txt"), "--instance", "2", "-t", "tabu", "-p", "sweeps=200",
                    connection=conn)
    assert submitted.returncode == 0, submitted.stderr
    result = json.loads(cli("results", submitted.stdout.strip(), "--wait", "--json", connection=conn).stdout)
    reference = Problem.read(DATA / "bqp50_2.json.gz")
    assert reference.evaluate(result["configuration"]) == result["cost"] >= -3702  # optimum: max 3702

    odd_name = tmp_path / "graph.dat"
    shutil.copy(DATA / "G11.txt", odd_name)
    unknown = cli("submit", str(odd_name), connection=conn)
    assert unknown.returncode == 2 and "--format" in unknown.stderr
    named = cli("solve", str(odd_name), "--format", "gset", "-t", "tabu", "-p", "sweeps=20", "--json",
                connection=conn)
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout)["cost"] <= 34  # never worse than the all-equal configuration

    several = cli("submit", str(DATA / "bqp50_1_2.txt"), connection=conn)
    assert several.returncode == 2 and "line 1" in several.stderr and "--instance 1..2" in several.stderr


def test_qubo_protobuf_and_dimod_json_files(conn, tmp_path):
    qubo = cli("solve", str(DATA / "bqp50_1.qubo"), "-t", "tabu", "-p", "sweeps=200", "--json", connection=conn)
    assert qubo.returncode == 0, qubo.stderr
    result = json.loads(qubo.stdout)
    assert Problem.read(DATA / "bqp50_1.qubo").evaluate(result["configuration"]) == result["cost"]

    protobuf = tmp_path / "bqp.tar.gz"
    assert Problem.read(DATA / "bqp50_1.json.gz").write(protobuf) == "protobuf"
    solved = cli("solve", str(protobuf), "-t", "sa", "-p", "sweeps=100", "--json", connection=conn)
    assert solved.returncode == 0, solved.stderr
    assert json.loads(solved.stdout)["cost"] >= -2098  # bqp50_1's optimum

    labelled = tmp_path / "labelled.json"
    labelled.write_text(json.dumps({
        "type": "BinaryQuadraticModel", "version": {"bqm_schema": "3.0.0"}, "use_bytes": False,
        "variable_labels": ["a", "b"], "variable_type": "SPIN", "offset": 1.5, "linear_biases": [1.0, -1.0],
        "quadratic_biases": [2.0], "quadratic_head": [0], "quadratic_tail": [1]}))
    answer = cli("solve", str(labelled), "-t", "sa", "-p", "sweeps=50", "--json", connection=conn)
    assert answer.returncode == 0, answer.stderr
    assert "labels were replaced by ids 0..1" in answer.stderr
    assert json.loads(answer.stdout)["cost"] == -2.5  # a − b + 2ab + 1.5 at a=−1, b=+1


def test_malformed_files_fail_on_the_command_line_with_the_line(conn, tmp_path):
    broken = tmp_path / "broken.gset"
    broken.write_text("4 2\n1 2 1\n2 five 1\n")
    result = cli("solve", str(broken), connection=conn)
    assert result.returncode == 2
    assert f"{broken}, line 3: vertex must be an integer, got 'five'" in result.stderr.replace("\n", "")
    repeated = tmp_path / "repeated.json"
    repeated.write_text('{"cost_function": {"type": "ising", "terms": [{"c": 1, "ids": [0, 0]}]}}')
    refused = cli("submit", str(repeated), connection=conn)
    assert refused.returncode == 2 and "AZQ101" in refused.stderr
