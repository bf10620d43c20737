"""The Toshiba and 1QBit targets through the native client (sync and aio) and the CLI, against the real service:
each provider's result format, and `openqio solve -t sbm|1qbit-tabu|pr|pticm`."""
from __future__ import annotations

import json

import pytest

from services.client import Workspace
from services.client.aio import Workspace as AioWorkspace
from services.client.aio import optimization as aopt
from services.client.optimization import (
    PathRelinkingSolver,
    Problem,
    ProblemType,
    PticmSolver,
    SimulatedBifurcationMachine,
    TabuSearch,
)
from tests.integration.test_cli import cli, conn, seed_file  # noqa: F401 - conn and seed_file are fixtures

pytestmark = pytest.mark.integration

SEED_CONFIG = {"0": 1, "1": 1, "2": -1}


def seed_problem(cls=Problem) -> Problem:
    problem = cls(name="catalog-seed", problem_type=ProblemType.ising)
    problem.add_term(c=-9, indices=[0]); problem.add_term(c=-3, indices=[1, 0]); problem.add_term(c=5, indices=[2, 0])
    return problem


def assert_best(results: dict, text: bool) -> None:
    best = results["solutions"][0]
    assert best["cost"] == -17.0
    assert best["configuration"] == ({k: str(v) for k, v in SEED_CONFIG.items()} if text else SEED_CONFIG)


def test_sync_native_client(openqio_service):
    with Workspace(connection_file=openqio_service.connection_file) as ws:
        sbm = SimulatedBifurcationMachine(ws, loops=2, seed=1).optimize(seed_problem())
        assert sbm["target"] == "toshiba.sbm.ising" and sbm["input_params"] == {"loops": 2, "seed": 1}
        assert sbm["solutions"][0]["parameters"]["runs"] == 320
        assert_best(sbm, text=False)
        for solver in (TabuSearch(ws, seed=1), PathRelinkingSolver(ws, seed=1, ref_set_count=3),
                       PticmSolver(ws, seed=1, num_sweeps_per_run=20)):
            results = solver.optimize(seed_problem())
            assert results["target"] == solver.name and results["input_params"]["seed"] == "1"
            assert_best(results, text=True)
        targets = ws.get_targets(provider_id="1qbit")
        assert sorted(type(t).__name__ for t in targets) == ["PathRelinkingSolver", "PticmSolver", "TabuSearch"]


async def test_aio_native_client(openqio_service):
    async with AioWorkspace(connection_file=openqio_service.connection_file) as ws:
        job = await aopt.SimulatedBifurcationMachine(ws, algo="1.5", dt=0.5).submit(seed_problem(aopt.Problem))
        assert job.details.provider_id == "toshiba" and job.details.input_params == {"algo": "1.5", "dt": 0.5}
        assert_best(await job.get_results(), text=False)
        job = await aopt.PticmSolver(ws, goal="SAMPLE", seed=2).submit(seed_problem(aopt.Problem))
        assert job.details.output_data_format == "microsoft.qio-results.v1"
        sampled = await job.get_results()
        assert sampled["input_params"]["goal"] == "SAMPLE" and len(sampled["solutions"]) >= 1
        assert_best(sampled, text=True)


@pytest.mark.parametrize("short,params,text", [
    ("sbm", ["loops=2"], False), ("1qbit-tabu", ["timeout=200"], True), ("pr", ["ref_set_count=3"], True),
    ("pticm", ["goal=OPTIMIZE"], True),
])
def test_cli_solves_with_the_short_names(conn, seed_file, short, params, text):  # noqa: F811 - fixtures
    solved = cli("solve", str(seed_file), "-t", short, *(x for p in params for x in ("-p", p)), "-p", "seed=3",
                 "--json", connection=conn)
    assert solved.returncode == 0, solved.stderr
    assert_best(json.loads(solved.stdout), text=text)
    shown = cli("solve", str(seed_file), "-t", short, "-p", "seed=3", connection=conn)
    assert shown.returncode == 0 and "cost -17" in shown.stdout and "configuration (3 variables)" in shown.stdout
