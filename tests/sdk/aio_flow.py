"""The unmodified async SDK (azure.quantum.aio 0.27) against openqio.

Run inside .venv-sdk with the service's sdk.env in the environment; prints `SDK-RESULT <json>` last.
The aio client trusts the service's CA through SSL_CERT_FILE, and gets an explicit async credential: its own
token-file path is broken in 0.27 (the coroutine that reads AZURE_QUANTUM_TOKEN_FILE is never awaited).
Covers: the seed flow, job.details, get_job, jobs.patch, 404/409, cancel of Waiting and Executing jobs (isCancelling),
list_jobs filters and paging, get_targets, get_quotas, every solver parameterised and parameter-free, grouped and
protobuf problems, Problem.upload/OnlineProblem/StreamingProblem and the StreamingProblem init_config failure. The
Toshiba and 1QBit targets: catalog_flow.py.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from sdk_common import (
    RUN_ID,
    SDK_TEST_CONFIG,
    SDK_TEST_COST,
    SDK_TEST_TERMS,
    SEED_CONFIG,
    SEED_COST,
    SEED_TERMS,
    Checks,
    TokenFileCredential,
    error_summary,
    evaluate,
    require_environment,
    workspace_kwargs,
)

require_environment()

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError  # noqa: E402
from azure.quantum._client.models import JobStatus, JsonPatchDocument  # noqa: E402
from azure.quantum.aio import Workspace  # noqa: E402
from azure.quantum.aio.optimization import OnlineProblem, Problem, StreamingProblem  # noqa: E402
from azure.quantum.aio.target import (  # noqa: E402
    ParallelTempering,
    PopulationAnnealing,
    QuantumMonteCarlo,
    SimulatedAnnealing,
    SubstochasticMonteCarlo,
    Tabu,
)
from azure.quantum.job.base_job import ContentType  # noqa: E402
from azure.quantum.optimization import ProblemType, RangeSchedule, SlcTerm, Term  # noqa: E402

checks = Checks()
ws = Workspace(**workspace_kwargs(), credential=TokenFileCredential())
SLC = (1, [(2, [0]), (3, [1]), (4, [2])])


def seed_problem(name: str) -> Problem:
    return Problem(name=name, problem_type=ProblemType.ising, terms=[Term(c=c, indices=ids) for c, ids in SEED_TERMS])


def sdk_problem(name: str, content_type: ContentType = ContentType.json, grouped: bool = False) -> Problem:
    terms = [Term(c=c, indices=ids) for c, ids in SDK_TEST_TERMS]
    if grouped:
        terms.append(SlcTerm(c=SLC[0], terms=[Term(c=c, indices=ids) for c, ids in SLC[1]]))
    return Problem(name=name, problem_type=ProblemType.pubo, terms=terms, content_type=content_type)


def grouped_cost(config: dict[str, int]) -> float:
    inner = sum(c * config[str(ids[0])] for c, ids in SLC[1])
    return evaluate(SDK_TEST_TERMS, config) + SLC[0] * inner * inner


GROUPED_OPT = min(grouped_cost({str(i): (bits >> i) & 1 for i in range(4)}) for bits in range(16))


async def raw_get(job_id: str) -> dict:
    """The wire JSON of GET jobs/{id} through the SDK's async pipeline (the model drops isCancelling)."""
    client = ws._create_client()
    try:
        text = await client.jobs.get(job_id, cls=lambda pipeline_response, _d, _h: pipeline_response.http_response.text())
    finally:
        await client.close()
    return json.loads(text)


async def wait_status(job_id: str, statuses: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = (await ws.get_job(job_id)).details.status
        if status in statuses:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {status} after {timeout} s (waiting for {statuses})")
        await asyncio.sleep(0.1)


async def seed_and_jobs() -> None:
    seed_job = None
    with checks.check("aio_seed_flow") as d:
        seed_job = await SimulatedAnnealing(ws).submit(seed_problem("MyOptimizationJob"))
        d["job_id"] = seed_job.id
        assert seed_job.details.target == "microsoft.simulatedannealing-parameterfree.cpu", seed_job.details.target
        results = await seed_job.get_results(timeout_secs=60)
        d["results"] = results
        assert results["configuration"] == SEED_CONFIG and results["cost"] == SEED_COST, results

    with checks.check("aio_get_job_details") as d:
        job = await ws.get_job(seed_job.id)
        det = job.details
        d["details"] = det.as_dict()
        assert det.status == "Succeeded" and det.name == "MyOptimizationJob" and det.output_data_uri
        assert det.creation_time <= det.begin_execution_time <= det.end_execution_time
        assert det.input_params == {"params": {}} and det.provider_id.lower() == "microsoft"
        assert det.additional_properties.get("isCancelling") is False, det.additional_properties
        assert (await job.get_results())["cost"] == SEED_COST

    with checks.check("aio_patch_tags") as d:
        client = ws._create_client()
        try:
            patched = await client.jobs.patch(seed_job.id, [
                JsonPatchDocument(op="add", path="/tags/-", value="new_tag"),
                JsonPatchDocument(op="add", path="/tags/-", value=f"aio-{RUN_ID}"),
                JsonPatchDocument(op="remove", path="/tags/0"),
            ])
        finally:
            await client.close()
        d["tags"] = patched.tags if patched is not None else None
        assert (await ws.get_job(seed_job.id)).details.tags == [f"aio-{RUN_ID}"]

    with checks.check("aio_errors_404_409") as d:
        try:
            await ws.get_job(str(uuid.uuid1()))
        except ResourceNotFoundError as exc:
            d["not_found"] = error_summary(exc)
            assert exc.status_code == 404
        else:
            raise AssertionError("unknown job: expected ResourceNotFoundError")
        try:
            await ws.cancel_job(seed_job)
        except ResourceExistsError as exc:
            d["finished"] = error_summary(exc)
            assert exc.status_code == 409 and exc.error.code, d["finished"]
        else:
            raise AssertionError("cancelling a finished job: expected ResourceExistsError")

    # ------------------------------------------------------------ cancel Waiting and Executing jobs
    rng = random.Random(5)
    n = 2000
    big = Problem(name=f"AioLong-{RUN_ID}", problem_type=ProblemType.ising,
                  terms=[Term(c=rng.choice([-1, 1]), indices=[i, (i + 1 + rng.randrange(n - 1)) % n])
                         for i in range(n) for _ in range(3)])
    long_jobs = LONG_JOBS
    waiting = None
    with checks.check("aio_cancel_waiting") as d:
        solver = SimulatedAnnealing(ws, sweeps=10**8, restarts=1, beta_start=0.1, beta_stop=3.0, seed=9, timeout=120)
        for _ in range(8):
            job = await solver.submit(big)
            long_jobs.append(job)
            try:
                await wait_status(job.id, {"Executing"}, timeout=6)
            except TimeoutError:
                if (await ws.get_job(job.id)).details.status == "Waiting":
                    waiting = job
                    break
                raise
        assert waiting is not None, "no job stayed Waiting"
        cancelled = await ws.cancel_job(waiting)
        d["details"] = cancelled.details.as_dict()
        assert cancelled.details.status == "Cancelled" and cancelled.details.cancellation_time is not None

    with checks.check("aio_cancel_executing") as d:
        executing = [j for j in long_jobs if j is not waiting]
        assert executing, "no Executing job"
        returned = await ws.cancel_job(executing[0])
        wire = await raw_get(executing[0].id)
        d["returned_status"] = returned.details.status
        d["raw_after_delete"] = {k: wire.get(k) for k in ("status", "isCancelling", "cancellationTime")}
        # the runner may have stopped already (Cancelled, isCancelling back to false) by the time the job is read
        assert wire["status"] in ("Executing", "Cancelled"), d["raw_after_delete"]
        if wire["status"] == "Executing":
            assert wire.get("isCancelling") is True, d["raw_after_delete"]
        else:
            assert wire.get("cancellationTime"), d["raw_after_delete"]
        for job in executing[1:]:
            await ws.cancel_job(job)
        for job in executing:
            assert await wait_status(job.id, {"Cancelled", "Failed", "Succeeded"}, timeout=45) == "Cancelled"
        final = (await ws.get_job(executing[0].id)).details
        d["details"] = final.as_dict()
        assert final.cancellation_time is not None and final.begin_execution_time is not None
        try:
            await (await ws.get_job(executing[0].id)).get_results(timeout_secs=5)
        except RuntimeError as exc:
            d["get_results_error"] = str(exc)
        else:
            raise AssertionError("get_results on a Cancelled job must raise RuntimeError")

    # ------------------------------------------------------------ list_jobs
    with checks.check("aio_list_jobs") as d:
        solver = SimulatedAnnealing(ws, sweeps=20, restarts=2, beta_start=0.1, beta_stop=3.0, seed=1)
        listed = [await solver.submit(seed_problem(f"AioList-{RUN_ID}-{i}")) for i in range(3)]
        for job in listed:
            await job.wait_until_completed(timeout_secs=60)
        ids = {j.id for j in listed}
        assert {j.id for j in await ws.list_jobs(name_match=f"AioList-{RUN_ID}")} == ids
        assert {j.id for j in await ws.list_jobs(name_match=RUN_ID, status=JobStatus.SUCCEEDED)} == ids
        assert {j.id for j in await ws.list_jobs(name_match=f"AioLong-{RUN_ID}", status=JobStatus.CANCELLED)} == {
            j.id for j in long_jobs}
        today = datetime.now(UTC).date()
        assert {j.id for j in await ws.list_jobs(name_match=RUN_ID, created_after=today - timedelta(days=1))} >= ids
        assert await ws.list_jobs(name_match=RUN_ID, created_after=today + timedelta(days=1)) == []
        client = ws._create_client()
        try:
            pages = []
            async for page in client.jobs.list().by_page():
                pages.append([j.id async for j in page])
        finally:
            await client.close()
        d["page_sizes"] = [len(p) for p in pages]
        assert len(pages) > 1, d["page_sizes"]
        everything = {j.id for j in await ws.list_jobs()}
        assert {j for p in pages for j in p} == everything and ids | {seed_job.id} <= everything

    with checks.check("aio_get_targets_and_quotas") as d:
        targets = await ws.get_targets()
        d["targets"] = {t.name: type(t).__name__ for t in targets}
        assert set(d["targets"].values()) == {"SimulatedAnnealing", "ParallelTempering", "Tabu", "QuantumMonteCarlo",
                                              "PopulationAnnealing", "SubstochasticMonteCarlo",
                                              "SimulatedBifurcationMachine", "TabuSearch", "PathRelinkingSolver",
                                              "PticmSolver"}, d["targets"]
        quotas = await ws.get_quotas()
        d["quotas"] = quotas
        assert quotas and all("dimension" in q and "limit" in q for q in quotas)


SOLVERS = {
    "sa": (lambda: SimulatedAnnealing(ws, beta_start=0.1, beta_stop=5.0, sweeps=50, restarts=4, seed=2),
           "microsoft.simulatedannealing.cpu"),
    "pt": (lambda: ParallelTempering(ws, sweeps=50, replicas=4, all_betas=[0.2, 1.0, 2.0, 4.0], seed=2),
           "microsoft.paralleltempering.cpu"),
    "tabu": (lambda: Tabu(ws, sweeps=50, tabu_tenure=1, restarts=4, seed=2), "microsoft.tabu.cpu"),
    "qmc": (lambda: QuantumMonteCarlo(ws, sweeps=50, trotter_number=4, restarts=4, seed=2), "microsoft.qmc.cpu"),
    "pa": (lambda: PopulationAnnealing(ws, sweeps=50, population=8, beta=RangeSchedule("geometric", 0.1, 5.0), seed=2),
           "microsoft.populationannealing.cpu"),
    "ssmc": (lambda: SubstochasticMonteCarlo(ws, step_limit=50, target_population=8,
                                             beta=RangeSchedule("linear", 0.1, 5.0), seed=2),
             "microsoft.substochasticmontecarlo.cpu"),
    "sa_pf": (lambda: SimulatedAnnealing(ws, timeout=1), "microsoft.simulatedannealing-parameterfree.cpu"),
    "pt_pf": (lambda: ParallelTempering(ws, timeout=1), "microsoft.paralleltempering-parameterfree.cpu"),
    "tabu_pf": (lambda: Tabu(ws, timeout=1), "microsoft.tabu-parameterfree.cpu"),
    "pa_pf": (lambda: PopulationAnnealing(ws, timeout=1), "microsoft.populationannealing-parameterfree.cpu"),
    "ssmc_pf": (lambda: SubstochasticMonteCarlo(ws, timeout=1), "microsoft.substochasticmontecarlo-parameterfree.cpu"),
}


async def solvers_and_problems() -> None:
    async def run(name: str, submit, verify) -> None:
        with checks.check(name) as d:
            job = await submit()
            d["job_id"], d["target"] = job.id, job.details.target
            if verify is None:  # must fail
                await job.wait_until_completed(timeout_secs=60)
                await job.refresh()
                d["status"] = job.details.status
                d["error_data"] = job.details.error_data.as_dict() if job.details.error_data else None
                assert job.details.status == "Failed" and job.details.error_data.code, d
                try:
                    await job.get_results(timeout_secs=5)
                except RuntimeError as exc:
                    d["get_results_error"] = str(exc)
                else:
                    raise AssertionError("get_results on a Failed job must raise RuntimeError")
                return
            results = await job.get_results(timeout_secs=60)
            d["cost"] = results.get("cost")
            verify(results, job)

    def optimum(target: str):
        def verify(results: dict, job) -> None:
            assert job.details.target == target, job.details.target
            assert results["configuration"] == SDK_TEST_CONFIG and results["cost"] == SDK_TEST_COST, results
        return verify

    tasks = [run(f"aio_solver_{key}", lambda make=make, key=key: make().submit(sdk_problem(f"AioSolver-{RUN_ID}-{key}")),
                 optimum(target)) for key, (make, target) in SOLVERS.items()]

    def grouped_ok(results: dict, job) -> None:
        config = {k: int(v) for k, v in results["configuration"].items()}
        assert abs(grouped_cost(config) - results["cost"]) < 1e-9 and results["cost"] == GROUPED_OPT, results
    for key in ("pa", "ssmc", "sa"):
        tasks.append(run(f"aio_grouped_{key}", lambda key=key: SOLVERS[key][0]().submit(
            sdk_problem(f"AioGrouped-{RUN_ID}-{key}", grouped=True)), grouped_ok))
    tasks.append(run("aio_protobuf_small", lambda: SOLVERS["ssmc"][0]().submit(
        sdk_problem(f"AioProto-{RUN_ID}", content_type=ContentType.protobuf)), optimum(SOLVERS["ssmc"][1])))

    big_sent = [(-1.0, [i]) for i in range(2000)] + [(-1.0, [i]) for i in range(500)]

    def big_ok(results: dict, job) -> None:
        assert set(results["configuration"]) == {str(i) for i in range(2000)}, len(results["configuration"])
        assert results["cost"] == -2500.0 == evaluate(big_sent, results["configuration"]), results["cost"]
    tasks.append(run("aio_protobuf_2500_terms", lambda: SimulatedAnnealing(
        ws, beta_start=0.5, beta_stop=20.0, sweeps=30, restarts=2, seed=3).submit(
        Problem(name=f"AioProtoBig-{RUN_ID}", problem_type=ProblemType.pubo, content_type=ContentType.protobuf,
                terms=[Term(c=-1.0, indices=[i]) for i in range(2500)])), big_ok))

    async def upload_and_online():
        problem = sdk_problem(f"AioUploaded-{RUN_ID}")
        uri = await problem.upload(ws, container_name="qio-problems", blob_name=f"aio-{RUN_ID}")
        job = await SOLVERS["sa"][0]().submit(uri)
        online = await SOLVERS["tabu"][0]().submit(OnlineProblem(name=f"AioOnline-{RUN_ID}", blob_uri=uri))
        return job, online

    with checks.check("aio_upload_and_online_problem"):
        job, online = await upload_and_online()
        for j in (job, online):
            results = await j.get_results(timeout_secs=60)
            assert results["configuration"] == SDK_TEST_CONFIG and results["cost"] == SDK_TEST_COST, results
        assert job.details.name == "Optimization problem" and online.details.name == f"AioOnline-{RUN_ID}"

    async def protobuf_upload():
        # aio Problem.upload labels every blob application/json, even a protobuf tar.gz (aio/optimization/problem.py):
        # the service has to recognise protobuf by its bytes.
        problem = sdk_problem(f"AioProtoUploaded-{RUN_ID}", content_type=ContentType.protobuf)
        uri = await problem.upload(ws, container_name="qio-problems", blob_name=f"aio-pb-{RUN_ID}")
        return await SOLVERS["pa"][0]().submit(uri)
    tasks.append(run("aio_protobuf_upload_labelled_json", protobuf_upload, optimum(SOLVERS["pa"][1])))

    async def streaming():
        problem = await StreamingProblem.create(ws, name=f"AioStreaming-{RUN_ID}", problem_type=ProblemType.pubo,
                                                terms=[Term(c=c, indices=ids) for c, ids in SDK_TEST_TERMS])
        return await SOLVERS["sa"][0]().submit(await problem.upload(ws))
    tasks.append(run("aio_streaming_problem", streaming, optimum(SOLVERS["sa"][1])))

    async def streaming_init_config():
        problem = await StreamingProblem.create(ws, name=f"AioStreamingInit-{RUN_ID}", problem_type=ProblemType.ising,
                                                terms=[Term(c=1, indices=[0, 1])], init_config={"0": 1, "1": -1})
        return await SOLVERS["sa"][0]().submit(await problem.upload(ws))
    tasks.append(run("aio_streaming_init_config_fails", streaming_init_config, None))

    await asyncio.gather(*tasks)


LONG_JOBS: list = []


async def main() -> None:
    try:
        await seed_and_jobs()
        await solvers_and_problems()
    finally:
        for job in LONG_JOBS:  # never leave hour-long jobs on the shared service's runners
            try:
                if not (await ws.get_job(job.id)).has_completed():
                    await ws.cancel_job(job)
            except Exception:  # noqa: BLE001 - best effort
                pass
    checks.emit()


asyncio.run(main())
