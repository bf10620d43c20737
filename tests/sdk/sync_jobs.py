"""Job management with the unmodified sync SDK (azure.quantum 0.27) against openqio.

Run inside .venv-sdk with the service's sdk.env in the environment; prints `SDK-RESULT <json>` last.
Covers: the README seed flow with credential=None (token file), job.details, get_job, fresh SAS URLs, outputDataUri,
jobs.patch (tags), 404/409 errors, cancel of Waiting and Executing jobs (isCancelling), list_jobs filters and paging,
get_targets, get_quotas, and the 400 for the Toshiba/1QBit targets openqio does not offer.
"""
from __future__ import annotations

import atexit
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from sdk_common import (
    RUN_ID,
    SDK_TEST_TERMS,
    SEED_CONFIG,
    SEED_COST,
    SEED_TERMS,
    Checks,
    error_summary,
    require_environment,
    sas_query,
    wait_for,
    workspace_kwargs,
)

require_environment()

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError  # noqa: E402
from azure.quantum import Workspace  # noqa: E402
from azure.quantum._client.models import JobStatus, JsonPatchDocument  # noqa: E402
from azure.quantum.optimization import Problem, ProblemType, SimulatedAnnealing, Term  # noqa: E402
from azure.quantum.target.oneqbit import TabuSearch  # noqa: E402
from azure.quantum.target.toshiba import SimulatedBifurcationMachine  # noqa: E402

PF_TARGETS = {"microsoft.simulatedannealing-parameterfree.cpu", "microsoft.paralleltempering-parameterfree.cpu",
              "microsoft.tabu-parameterfree.cpu", "microsoft.populationannealing-parameterfree.cpu",
              "microsoft.substochasticmontecarlo-parameterfree.cpu"}
PARAMETERISED_TARGETS = {"microsoft.simulatedannealing.cpu", "microsoft.paralleltempering.cpu", "microsoft.tabu.cpu",
                         "microsoft.qmc.cpu", "microsoft.populationannealing.cpu",
                         "microsoft.substochasticmontecarlo.cpu"}

checks = Checks()
ws = Workspace(**workspace_kwargs())  # credential=None: the SDK's chain reads AZURE_QUANTUM_TOKEN_FILE
jobs_client = ws._get_jobs_client()


def raw_get(job_id: str) -> dict:
    """The wire JSON of GET jobs/{id}, through the SDK's own pipeline (auth, TLS, retries)."""
    return json.loads(jobs_client.get(job_id, cls=lambda pipeline_response, _d, _h: pipeline_response.http_response.text()))


def seed_problem(name: str) -> Problem:
    problem = Problem(name=name, problem_type=ProblemType.ising)
    problem.terms = [Term(c=c, indices=ids) for c, ids in SEED_TERMS]
    return problem


def long_problem(n: int = 2000, degree: int = 3, seed: int = 11) -> Problem:
    """A random sparse 2000-spin ising problem: SA with 1e8 sweeps on it runs for hours unless cancelled."""
    rng = random.Random(seed)
    terms = [Term(c=rng.choice([-1, 1]), indices=[i, (i + 1 + rng.randrange(n - 1)) % n])
             for i in range(n) for _ in range(degree)]
    return Problem(name=f"SdkLong-{RUN_ID}", problem_type=ProblemType.ising, terms=terms)


# ---------------------------------------------------------------- the seed flow (README example, unmodified SDK)
seed_job = None
with checks.check("seed_flow") as d:
    solver = SimulatedAnnealing(ws)
    d["solver_target"] = solver.name
    seed_job = solver.submit(seed_problem("MyOptimizationJob"))
    d["job_id"] = seed_job.id
    d["submit_status"] = seed_job.details.status
    assert seed_job.details.target == "microsoft.simulatedannealing-parameterfree.cpu", seed_job.details.target
    assert seed_job.details.status in ("Waiting", "Executing", "Succeeded"), seed_job.details.status
    uuid.UUID(seed_job.id)
    results = seed_job.get_results(timeout_secs=60)
    d["results"] = results
    assert results["configuration"] == SEED_CONFIG, results
    assert results["cost"] == SEED_COST, results
    assert results["solutions"][0] == {"configuration": SEED_CONFIG, "cost": SEED_COST}, results
    assert results["version"] == "1.0", results

with checks.check("get_job_details") as d:
    job = ws.get_job(seed_job.id)
    det = job.details
    d["details"] = det.as_dict()
    assert det.id == seed_job.id and det.name == "MyOptimizationJob"
    assert det.status == "Succeeded" and job.has_completed()
    assert det.input_data_format == "microsoft.qio.v2" and det.output_data_format == "microsoft.qio-results.v2"
    assert det.input_params == {"params": {}}, det.input_params
    assert det.provider_id.lower() == "microsoft", det.provider_id
    assert det.target == "microsoft.simulatedannealing-parameterfree.cpu"
    assert det.container_uri and f"job-{seed_job.id}" in det.container_uri
    assert det.input_data_uri and det.input_data_uri.split("?")[0].endswith(f"job-{seed_job.id}/inputData")
    assert det.output_data_uri, "outputDataUri must be set once Succeeded"
    assert det.creation_time and det.begin_execution_time and det.end_execution_time
    assert det.creation_time <= det.begin_execution_time <= det.end_execution_time
    assert det.cancellation_time is None and det.error_data is None
    assert det.tags == [] or det.tags is None, det.tags
    assert det.additional_properties.get("isCancelling") is False, det.additional_properties
    # get_results does not cache: a second call downloads again through the SAS URL of this GET
    assert job.get_results()["cost"] == SEED_COST

with checks.check("output_uri_and_fresh_sas") as d:
    first = raw_get(seed_job.id)
    time.sleep(1.1)
    second = raw_get(seed_job.id)
    d["first"] = {k: first.get(k) for k in ("containerUri", "inputDataUri", "outputDataUri")}
    d["second"] = {k: second.get(k) for k in ("containerUri", "inputDataUri", "outputDataUri")}
    now = datetime.now(UTC)
    for key in ("containerUri", "inputDataUri", "outputDataUri"):
        q1, q2 = sas_query(first[key]), sas_query(second[key])
        assert "sig" in q1 and "se" in q1, f"{key} has no SAS: {first[key]}"
        expiry = datetime.fromisoformat(q1["se"].replace("Z", "+00:00"))
        assert expiry > now + timedelta(hours=1), f"{key} SAS expires too soon: {q1['se']}"
        # a signed SAS may be handed out again for up to a tenth of its lifetime (services/gateway/job_urls.py):
        # never an older one than the first GET's
        assert q2["se"] >= q1["se"], f"{key}: the second GET handed out an older SAS"
    assert first["outputDataUri"].split("?")[0].endswith(f"/job-{seed_job.id}/rawOutputData"), first["outputDataUri"]
    container = sas_query(first["containerUri"])
    # the job's containerUri reads that one container (the SDK uploads through sasUri's account SAS, never this one)
    assert container.get("sr") == "c" and set(container.get("sp", "")) == set("rl"), container
    assert "r" in sas_query(first["outputDataUri"]).get("sp", ""), first["outputDataUri"]
    assert first.get("isCancelling") is False and first.get("creationTime") and first.get("name")

# ---------------------------------------------------------------- generated client: jobs.patch (tags)
with checks.check("patch_tags") as d:
    patched = jobs_client.patch(seed_job.id, [
        JsonPatchDocument(op="add", path="/tags/-", value="new_tag"),
        JsonPatchDocument(op="add", path="/tags/-", value=f"run-{RUN_ID}"),
        JsonPatchDocument(op="remove", path="/tags/0"),
    ])
    d["patched_tags"] = patched.tags if patched is not None else None
    assert patched is None or patched.tags == [f"run-{RUN_ID}"], patched and patched.tags
    assert ws.get_job(seed_job.id).details.tags == [f"run-{RUN_ID}"]
    patched = jobs_client.patch(seed_job.id, [JsonPatchDocument(op="replace", path="/tags", value=["a", "b"])])
    assert ws.get_job(seed_job.id).details.tags == ["a", "b"]
    try:
        jobs_client.patch(seed_job.id, [JsonPatchDocument(op="replace", path="/status", value="Cancelled")])
    except HttpResponseError as exc:
        d["bad_patch"] = error_summary(exc)
        assert exc.status_code == 400, d["bad_patch"]
    else:
        raise AssertionError("patching /status must be refused with 400")
    assert ws.get_job(seed_job.id).details.status == "Succeeded"

# ---------------------------------------------------------------- errors: 404 and cancel of a finished job (409)
with checks.check("get_job_not_found") as d:
    try:
        ws.get_job(str(uuid.uuid1()))
    except ResourceNotFoundError as exc:
        d["error"] = error_summary(exc)
        assert exc.status_code == 404 and exc.error is not None and exc.error.code, d["error"]
    else:
        raise AssertionError("an unknown job id must raise ResourceNotFoundError")

with checks.check("cancel_finished_job") as d:
    try:
        ws.cancel_job(seed_job)
    except ResourceExistsError as exc:
        d["error"] = error_summary(exc)
        assert exc.status_code == 409 and exc.error is not None and exc.error.code, d["error"]
    else:
        raise AssertionError("cancelling a finished job must raise ResourceExistsError (409)")
    assert ws.get_job(seed_job.id).details.status == "Succeeded"

# ---------------------------------------------------------------- cancel: Waiting and Executing jobs
long_jobs: list = []
waiting_job = None


@atexit.register
def _cancel_leftover_long_jobs() -> None:
    """Never leave hour-long jobs on the shared service's runners, whatever happened above."""
    for job in long_jobs:
        try:
            if not ws.get_job(job.id).has_completed():
                ws.cancel_job(job)
        except Exception:  # noqa: BLE001 - best effort
            pass


with checks.check("long_jobs_start") as d:
    # Fill every runner with a job that would run for hours, until one more job stays Waiting.
    problem = long_problem()
    # timeout=120 bounds the damage if this script dies before cancelling (it does not change the target id).
    solver = SimulatedAnnealing(ws, sweeps=10**8, restarts=1, beta_start=0.1, beta_stop=3.0, seed=7, timeout=120)
    for _ in range(8):
        job = solver.submit(problem)
        long_jobs.append(job)
        try:
            wait_for(lambda job=job: ws.get_job(job.id).details.status == "Executing", timeout=6, interval=0.1,
                     what=f"job {job.id} Executing")
        except TimeoutError:
            if ws.get_job(job.id).details.status == "Waiting":
                waiting_job = job
                break
            raise
    d["submitted"] = len(long_jobs)
    d["statuses"] = {j.id: ws.get_job(j.id).details.status for j in long_jobs}
    assert waiting_job is not None, "no job stayed Waiting behind the long-running ones"
    assert list(d["statuses"].values()).count("Executing") == len(long_jobs) - 1, d["statuses"]

with checks.check("cancel_waiting") as d:
    assert waiting_job is not None, "no Waiting job"
    assert ws.get_job(waiting_job.id).details.status == "Waiting", "the Waiting job was claimed before the cancel"
    cancelled = ws.cancel_job(waiting_job)
    det = cancelled.details
    d["details"] = det.as_dict()
    assert cancelled is not waiting_job and cancelled.id == waiting_job.id
    assert det.status == "Cancelled", det.status
    assert det.cancellation_time is not None and det.begin_execution_time is None
    assert cancelled.has_completed()

executing = [j for j in long_jobs if j is not waiting_job]
with checks.check("cancel_executing") as d:
    assert executing, "no Executing job"
    target = executing[0]
    t0 = time.monotonic()
    returned = ws.cancel_job(target)
    d["returned_status"] = returned.details.status
    d["returned_is_cancelling"] = returned.details.additional_properties.get("isCancelling")
    wire = raw_get(target.id)
    d["raw_after_delete"] = {k: wire.get(k) for k in ("status", "isCancelling", "cancellationTime")}
    # Cancelling is not a wire status: the job stays Executing (isCancelling true) until the runner stops, which
    # may already have happened when the DELETE answers or when the job is read again (then: Cancelled, with
    # isCancelling back to false and a cancellationTime).
    assert returned.details.status in ("Executing", "Cancelled"), returned.details.status
    if returned.details.status == "Executing":
        assert d["returned_is_cancelling"] is True, "isCancelling must be visible while the cancel is in progress"
    assert wire["status"] in ("Executing", "Cancelled"), d["raw_after_delete"]
    if wire["status"] == "Executing":
        assert wire.get("isCancelling") is True, d["raw_after_delete"]
    else:
        assert wire.get("cancellationTime"), d["raw_after_delete"]
    final = wait_for(lambda: (lambda j: j if j.has_completed() else None)(ws.get_job(target.id)), timeout=45,
                     interval=0.2, what="cancelled job terminal")
    d["seconds_to_cancelled"] = round(time.monotonic() - t0, 2)
    det = final.details
    d["details"] = det.as_dict()
    assert det.status == "Cancelled", det.status
    assert det.cancellation_time is not None and det.begin_execution_time is not None
    assert det.output_data_uri is None or det.status != "Succeeded"

with checks.check("cancel_cleanup") as d:
    for job in executing[1:]:
        ws.cancel_job(job)
    statuses = {}
    for job in long_jobs:
        statuses[job.id] = wait_for(lambda job=job: (lambda s: s if s in ("Cancelled", "Failed", "Succeeded") else None)(
            ws.get_job(job.id).details.status), timeout=45, interval=0.2, what="cancelled")
    d["statuses"] = statuses
    assert set(statuses.values()) == {"Cancelled"}, statuses

with checks.check("get_results_cancelled_raises") as d:
    try:
        ws.get_job(long_jobs[0].id).get_results(timeout_secs=5)
    except RuntimeError as exc:
        d["message"] = str(exc)
        assert "Cancelled" in str(exc), exc
    else:
        raise AssertionError("get_results on a Cancelled job must raise RuntimeError")

# ---------------------------------------------------------------- list_jobs: client-side filters and paging
list_ids: list[str] = []
with checks.check("list_jobs_filters") as d:
    solver = SimulatedAnnealing(ws, sweeps=20, restarts=2, beta_start=0.1, beta_stop=3.0, seed=1)
    list_jobs_submitted = [solver.submit(seed_problem(f"SdkList-{RUN_ID}-{i}")) for i in range(3)]
    list_ids = [j.id for j in list_jobs_submitted]
    for job in list_jobs_submitted:
        job.wait_until_completed(timeout_secs=60)
    by_name = {j.id for j in ws.list_jobs(name_match=f"SdkList-{RUN_ID}")}
    assert by_name == set(list_ids), (by_name, list_ids)
    exact = [j.id for j in ws.list_jobs(name_match=f"^SdkList-{RUN_ID}-1$")]
    assert exact == [list_ids[1]], exact
    succeeded = {j.id for j in ws.list_jobs(name_match=RUN_ID, status=JobStatus.SUCCEEDED)}
    assert succeeded == set(list_ids), succeeded
    cancelled = {j.id for j in ws.list_jobs(name_match=f"SdkLong-{RUN_ID}", status=JobStatus.CANCELLED)}
    assert cancelled == {j.id for j in long_jobs}, cancelled
    # created_after: the SDK truncates any datetime to midnight (datetime is a date subclass), so days are the unit.
    today = datetime.now(UTC).date()
    after_yesterday = {j.id for j in ws.list_jobs(name_match=f"SdkList-{RUN_ID}", created_after=today - timedelta(days=1))}
    after_tomorrow = ws.list_jobs(name_match=f"SdkList-{RUN_ID}", created_after=today + timedelta(days=1))
    assert after_yesterday == set(list_ids) and after_tomorrow == [], (after_yesterday, after_tomorrow)
    aware = ws.list_jobs(name_match=f"SdkList-{RUN_ID}", created_after=datetime.now(UTC) + timedelta(days=2))
    assert aware == [], aware
    for job in ws.list_jobs(name_match=f"SdkList-{RUN_ID}"):
        assert job.details.creation_time is not None and job.details.name

with checks.check("list_jobs_paging") as d:
    pages = [list(page) for page in jobs_client.list().by_page()]
    d["page_sizes"] = [len(p) for p in pages]
    ids = [j.id for page in pages for j in page]
    assert len(pages) > 1, f"expected more than one page, got sizes {d['page_sizes']}"
    assert len(ids) == len(set(ids)), "a job appeared on two pages"
    everything = {j.id for j in ws.list_jobs()}
    mine = {seed_job.id, *list_ids, *(j.id for j in long_jobs)}
    assert mine <= everything, mine - everything
    assert set(ids) == everything

# ---------------------------------------------------------------- workspace: targets, quotas
with checks.check("get_targets") as d:
    targets = ws.get_targets()
    d["targets"] = {t.name: type(t).__name__ for t in targets}
    # The SDK drops the -parameterfree ids, then builds each class without tuning parameters, so SA, PT and Tabu
    # rename themselves to their parameter-free ids (target/target_factory.py + the classes' name switch).
    assert d["targets"] == {
        "microsoft.simulatedannealing-parameterfree.cpu": "SimulatedAnnealing",
        "microsoft.paralleltempering-parameterfree.cpu": "ParallelTempering",
        "microsoft.tabu-parameterfree.cpu": "Tabu",
        "microsoft.qmc.cpu": "QuantumMonteCarlo",
        "microsoft.populationannealing.cpu": "PopulationAnnealing",
        "microsoft.substochasticmontecarlo.cpu": "SubstochasticMonteCarlo",
    }, d["targets"]
    statuses = ws._get_target_status(None, None)
    d["all_ids"] = sorted(s.id for _, s in statuses)
    assert set(d["all_ids"]) == PARAMETERISED_TARGETS | PF_TARGETS, d["all_ids"]
    assert all(s.current_availability == "Available" for _, s in statuses)
    single = ws.get_targets(name="microsoft.tabu.cpu")
    assert type(single).__name__ == "Tabu", single
    assert ws.get_targets(provider_id="toshiba") == []

with checks.check("get_quotas") as d:
    quotas = ws.get_quotas()
    d["quotas"] = quotas
    assert quotas and all({"dimension", "scope", "provider_id", "utilization", "limit", "period"} <= set(q) for q in quotas)
    assert all(q["scope"] in ("Workspace", "Subscription") for q in quotas)

# ---------------------------------------------------------------- providers openqio does not run
for check_name, make_solver, target_id in (
    ("unsupported_toshiba", lambda: SimulatedBifurcationMachine(ws, loops=10), "toshiba.sbm.ising"),
    ("unsupported_1qbit", lambda: TabuSearch(ws, seed=1), "1qbit.tabu"),
):
    with checks.check(check_name) as d:
        problem = Problem(name=f"SdkUnsupported-{RUN_ID}", problem_type=ProblemType.pubo,
                          terms=[Term(c=c, indices=ids) for c, ids in SDK_TEST_TERMS])
        try:
            make_solver().submit(problem)
        except HttpResponseError as exc:
            d["error"] = error_summary(exc)
            assert exc.status_code == 400, d["error"]
            assert target_id in str(exc), d["error"]
            assert "microsoft.simulatedannealing.cpu" in str(exc), "the message must name the offered targets"
        else:
            raise AssertionError(f"{target_id} must be refused with 400")
        assert ws.list_jobs(name_match=f"SdkUnsupported-{RUN_ID}") == []

checks.emit()
