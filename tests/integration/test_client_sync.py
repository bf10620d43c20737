"""The sync native client (services.client) against the real service: TLS gateway, Azurite, runner processes."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ResourceExistsError

from contracts import targets
from services.client import AuthenticationError, ConflictError, JobNotFoundError, JobStatus, Workspace
from services.client.optimization import (
    ContentType,
    ParallelTempering,
    PopulationAnnealing,
    Problem,
    ProblemType,
    QuantumMonteCarlo,
    SimulatedAnnealing,
    SlcTerm,
    SubstochasticMonteCarlo,
    Tabu,
    Term,
)

pytestmark = pytest.mark.integration
REFERENCE = [(-3, [1, 0]), (5, [2, 0]), (9, [2, 1]), (2, [3, 0]), (-4, [3, 1]), (4, [3, 2])]  # SDK test_job.py
REFERENCE_BEST = {"0": 1, "1": 1, "2": 0, "3": 1}


@pytest.fixture
def workspace(openqio_service):
    with Workspace(connection_file=openqio_service.connection_file) as ws:
        yield ws


def reference_problem(name: str, **kw) -> Problem:
    return Problem(name=name, terms=[Term(c=c, indices=i) for c, i in REFERENCE], problem_type=ProblemType.pubo, **kw)


def test_the_briefs_usage_verbatim(openqio_service, monkeypatch):
    monkeypatch.setenv("OPENQIO_CONNECTION", str(openqio_service.connection_file))
    workspace = Workspace()
    print([job.id for job in workspace.list_jobs()])
    problem = Problem(name="MyOptimizationJob", problem_type=ProblemType.ising)
    problem.add_term(c=-9, indices=[0]); problem.add_term(c=-3, indices=[1, 0]); problem.add_term(c=5, indices=[2, 0])
    job = SimulatedAnnealing(workspace).submit(problem)
    job = workspace.get_job(job.id)
    results = job.get_results()
    assert results["version"] == "1.0" and results["cost"] == -17.0
    assert results["configuration"] == {"0": 1, "1": 1, "2": -1} and results["solutions"][0]["cost"] == -17.0
    d = job.details
    assert (d.id, d.name, d.provider_id, d.target) == (job.id, "MyOptimizationJob", "Microsoft", targets.SA_PF)
    assert d.container_uri.split("?")[0].endswith(f"/job-{job.id}") and d.input_data_uri.split("?")[0].endswith(
        f"/job-{job.id}/inputData")
    assert (d.input_data_format, d.output_data_format) == ("microsoft.qio.v2", "microsoft.qio-results.v2")
    assert d.input_params == {"params": {}} and d.status == JobStatus.SUCCEEDED and "rawOutputData" in d.output_data_uri
    assert d.creation_time <= d.begin_execution_time <= d.end_execution_time
    assert all(t.tzinfo == UTC for t in (d.creation_time, d.begin_execution_time, d.end_execution_time))
    assert d.cancellation_time is None and d.error_data is None and d.additional_properties == {"isCancelling": False}
    with pytest.raises(ConflictError) as info:
        workspace.cancel_job(job)
    assert info.value.status == 409 and info.value.code == "JobAlreadyFinished"
    assert isinstance(info.value, ResourceExistsError)
    workspace.close()


@pytest.mark.parametrize(
    "solver",
    [
        lambda ws: SimulatedAnnealing(ws, sweeps=200, restarts=4, seed=7),
        lambda ws: SimulatedAnnealing(ws, timeout=1, seed=7),
        lambda ws: ParallelTempering(ws, sweeps=200, all_betas=[0.2, 0.5, 1.0, 3.0], seed=7),
        lambda ws: ParallelTempering(ws, timeout=1, seed=7),
        lambda ws: Tabu(ws, sweeps=50, restarts=4, seed=7),
        lambda ws: Tabu(ws, timeout=1, seed=7),
        lambda ws: QuantumMonteCarlo(ws, sweeps=200, trotter_number=4, restarts=2, seed=7),
        lambda ws: PopulationAnnealing(ws, sweeps=100, population=16, seed=7),
        lambda ws: PopulationAnnealing(ws, timeout=1, seed=7),
        lambda ws: SubstochasticMonteCarlo(ws, step_limit=200, target_population=16, seed=7),
        lambda ws: SubstochasticMonteCarlo(ws, timeout=1, seed=7),
    ],
    ids=["sa", "sa-pf", "pt", "pt-pf", "tabu", "tabu-pf", "qmc", "pa", "pa-pf", "ssmc", "ssmc-pf"],
)
def test_every_solver_solves_the_sdk_reference_problem(workspace, solver):
    s = solver(workspace)
    job = s.submit(reference_problem(f"ref-{s.name}"))
    assert job.details.target == s.name and job.details.input_params == {"params": s.params["params"]}
    result = job.get_results(timeout_secs=120)
    assert result["configuration"] == REFERENCE_BEST and result["cost"] == -5.0


def test_protobuf_grouped_and_several_solutions(workspace):
    pb = reference_problem("protobuf", content_type=ContentType.protobuf)
    assert SimulatedAnnealing(workspace, sweeps=100, seed=1).optimize(pb)["cost"] == -5.0

    grouped = Problem(name="grouped", problem_type=ProblemType.pubo)
    grouped.add_term(c=1, indices=[0])
    grouped.add_slc_term(SlcTerm([Term(c=1, indices=[0]), Term(c=1, indices=[1]), Term(c=-1, indices=[])], c=2))
    result = SimulatedAnnealing(workspace, sweeps=100, seed=5).optimize(grouped)
    assert result["cost"] == 0.0 and result["configuration"] == {"0": 0, "1": 1}

    solver = SimulatedAnnealing(workspace, sweeps=100, restarts=8, seed=2)
    solver.set_number_of_solutions(3)
    result = solver.optimize(reference_problem("three"))
    assert 1 <= len(result["solutions"]) <= 3
    assert [s["cost"] for s in result["solutions"]] == sorted(s["cost"] for s in result["solutions"])


def test_uploaded_problem_is_submitted_by_uri(workspace):
    problem = reference_problem("by-uri")
    uri = problem.upload(workspace, container_name=f"problems-{uuid.uuid4().hex[:8]}")
    assert "?" not in uri and problem.uploaded_blob_uri == uri
    job = Tabu(workspace, sweeps=20, seed=3).submit(uri)
    assert job.details.name == "Optimization problem"
    assert job.get_results()["cost"] == -5.0


def test_missing_input_fails_the_job_with_error_data(workspace):
    job = SimulatedAnnealing(workspace, sweeps=10).submit(
        workspace.get_container_uri(container_name="nothing-here").split("?")[0] + "/absent")
    with pytest.raises(RuntimeError, match="InputDataNotFound"):
        job.get_results()
    assert job.details.status == JobStatus.FAILED and job.details.error_data.code == "InputDataNotFound"


def test_list_filters_tags_targets_quotas_and_errors(workspace, openqio_service):
    marker = f"listed-{uuid.uuid4().hex[:8]}"
    before = datetime.now(UTC) - timedelta(seconds=1)
    jobs = [SimulatedAnnealing(workspace, sweeps=10, seed=i).submit(reference_problem(f"{marker}-{i}"))
            for i in range(6)]  # more than one page (the fixture's page size is 5)
    for job in jobs:
        job.wait_until_completed(print_progress=False)
    listed = workspace.list_jobs(name_match=f"^{marker}-")
    assert sorted(j.id for j in listed) == sorted(j.id for j in jobs)
    assert len(workspace.list_jobs(name_match=marker, status=JobStatus.SUCCEEDED, created_after=before)) == 6
    assert workspace.list_jobs(name_match=marker, status="Failed") == []
    assert workspace.list_jobs(name_match=marker, created_after=datetime.now(UTC) + timedelta(hours=1)) == []

    tagged = workspace.set_job_tags(jobs[0], ["a", "b"])
    assert tagged.details.tags == ["a", "b"]
    tagged = workspace.patch_job(jobs[0].id, [{"op": "add", "path": "/tags/-", "value": "c"}])
    assert workspace.get_job(jobs[0].id).details.tags == ["a", "b", "c"] == tagged.details.tags

    found = workspace.get_targets()
    assert {type(t).__name__ for t in found} >= {"SimulatedAnnealing", "ParallelTempering", "Tabu"}
    assert all(t.current_availability == "Available" for t in found)
    assert workspace.get_targets(name=targets.PT).name == targets.PT_PF  # the SDK's parameter-free switch, too
    quota = workspace.get_quotas()[0]
    assert quota["dimension"] == "combined_job_hours" and quota["provider_id"] == "Microsoft"
    load = workspace.service_load()  # openqio's own: what admission control sees
    assert load["admitting"] is True and load["limits"]["maxWaiting"] == 10000 and load["runners"]["total"] >= 1

    with pytest.raises(JobNotFoundError):
        workspace.get_job("no-such-job")
    with Workspace(connection_file=openqio_service.connection_file, token="wrong") as denied:
        with pytest.raises(AuthenticationError):
            denied.list_jobs()
