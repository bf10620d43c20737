"""Every Microsoft QIO solver class and every problem form, through the unmodified sync SDK, against openqio.

Run inside .venv-sdk with the service's sdk.env in the environment; prints `SDK-RESULT <json>` last.
All jobs are submitted first and collected afterwards, so the service's runners work in parallel with the client.
Covers: SimulatedAnnealing, ParallelTempering, Tabu, QuantumMonteCarlo, PopulationAnnealing and
SubstochasticMonteCarlo (RangeSchedule) parameterised and parameter-free; grouped (SlcTerm) problems; init_config;
protobuf problems (small, and 2500 terms, which hits the SDK's chunking bug); Problem.upload + submit by URI;
OnlineProblem; StreamingProblem; and the StreamingProblem init_config bug (invalid JSON -> job Failed).
"""
from __future__ import annotations

import itertools
import time

from sdk_common import (
    RUN_ID,
    SDK_TEST_CONFIG,
    SDK_TEST_COST,
    SDK_TEST_TERMS,
    Checks,
    evaluate,
    require_environment,
    workspace_kwargs,
)

require_environment()

from azure.core.exceptions import ResourceExistsError  # noqa: E402
from azure.quantum import Workspace  # noqa: E402
from azure.quantum.job.base_job import ContentType  # noqa: E402
from azure.quantum.optimization import (  # noqa: E402
    OnlineProblem,
    ParallelTempering,
    PopulationAnnealing,
    Problem,
    ProblemType,
    QuantumMonteCarlo,
    RangeSchedule,
    SimulatedAnnealing,
    SlcTerm,
    StreamingProblem,
    SubstochasticMonteCarlo,
    Tabu,
    Term,
)

checks = Checks()
ws = Workspace(**workspace_kwargs())
PF = "-parameterfree"

# The SLC variant of the SDK's test_grouped: adds 1 * (2 x0 + 3 x1 + 4 x2)^2.
SLC = (1, [(2, [0]), (3, [1]), (4, [2])])


def sdk_problem(name: str, content_type: ContentType = ContentType.json, grouped: bool = False,
                init_config: dict | None = None) -> Problem:
    terms = [Term(c=c, indices=ids) for c, ids in SDK_TEST_TERMS]
    if grouped:
        terms.append(SlcTerm(c=SLC[0], terms=[Term(c=c, indices=ids) for c, ids in SLC[1]]))
    return Problem(name=name, problem_type=ProblemType.pubo, terms=terms, content_type=content_type,
                   init_config=init_config)


def grouped_cost(config: dict[str, int]) -> float:
    inner = sum(c * config[str(ids[0])] for c, ids in SLC[1])
    return evaluate(SDK_TEST_TERMS, config) + SLC[0] * inner * inner


def grouped_optimum() -> float:
    return min(grouped_cost({str(i): x for i, x in enumerate(xs)}) for xs in itertools.product((0, 1), repeat=4))


# name -> (solver, expected target id, kind of problem)
SOLVERS = {
    "sa": (lambda: SimulatedAnnealing(ws, beta_start=0.1, beta_stop=5.0, sweeps=50, restarts=4, seed=1),
           "microsoft.simulatedannealing.cpu"),
    "pt": (lambda: ParallelTempering(ws, sweeps=50, all_betas=[0.2, 0.5, 1.0, 2.0, 4.0], seed=1),
           "microsoft.paralleltempering.cpu"),
    "tabu": (lambda: Tabu(ws, sweeps=50, tabu_tenure=1, restarts=4, seed=1), "microsoft.tabu.cpu"),
    "qmc": (lambda: QuantumMonteCarlo(ws, sweeps=50, trotter_number=4, restarts=4, seed=1, beta_start=2.0,
                                      transverse_field_start=3.0, transverse_field_stop=0.1),
            "microsoft.qmc.cpu"),
    "pa": (lambda: PopulationAnnealing(ws, sweeps=50, population=8, alpha=2.0,
                                       beta=RangeSchedule("linear", 0.1, 5.0), seed=1),
           "microsoft.populationannealing.cpu"),
    "ssmc": (lambda: SubstochasticMonteCarlo(ws, step_limit=50, target_population=8, steps_per_walker=1,
                                             alpha=RangeSchedule("linear", 1.0, 0.0),
                                             beta=RangeSchedule("geometric", 0.1, 5.0), seed=1),
             "microsoft.substochasticmontecarlo.cpu"),
}
PARAMETER_FREE = {
    "sa_pf": (lambda: SimulatedAnnealing(ws, timeout=1, seed=1), "microsoft.simulatedannealing-parameterfree.cpu"),
    "pt_pf": (lambda: ParallelTempering(ws, timeout=1, seed=1), "microsoft.paralleltempering-parameterfree.cpu"),
    "tabu_pf": (lambda: Tabu(ws, timeout=1, seed=1), "microsoft.tabu-parameterfree.cpu"),
    "pa_pf": (lambda: PopulationAnnealing(ws, timeout=1, seed=1), "microsoft.populationannealing-parameterfree.cpu"),
    "ssmc_pf": (lambda: SubstochasticMonteCarlo(ws, timeout=1, seed=1),
                "microsoft.substochasticmontecarlo-parameterfree.cpu"),
}

# check name -> (job, verify(results, job) -> None)
pending: dict[str, tuple] = {}


def submit(check_name: str, make_job, verify) -> None:
    """Submit now (recording submission errors as the check's failure); verify after everything was submitted."""
    with checks.check(check_name) as d:
        t0 = time.monotonic()
        job = make_job()
        d["submit_seconds"] = round(time.monotonic() - t0, 3)
        d["job_id"] = job.id
        d["target"] = job.details.target
        pending[check_name] = (job, verify, d)


def expect_sdk_optimum(target: str):
    def verify(results: dict, job) -> None:
        assert job.details.target == target, job.details.target
        assert results["configuration"] == SDK_TEST_CONFIG, results
        assert results["cost"] == SDK_TEST_COST, results
        assert results["solutions"][0]["cost"] == SDK_TEST_COST, results
        assert isinstance(results.get("parameters"), dict), results
    return verify


# ---------------------------------------------------------------- every solver, parameterised and parameter-free
for key, (make, target) in {**SOLVERS, **PARAMETER_FREE}.items():
    submit(f"solver_{key}", lambda make=make, key=key: make().submit(sdk_problem(f"SdkSolver-{RUN_ID}-{key}")),
           expect_sdk_optimum(target))

# ---------------------------------------------------------------- grouped problems (SlcTerm) on every solver
GROUPED_OPT = grouped_optimum()
for key, (make, target) in SOLVERS.items():
    def verify_grouped(results: dict, job, target=target) -> None:
        assert job.details.target == target, job.details.target
        config = {k: int(v) for k, v in results["configuration"].items()}
        assert results["cost"] == GROUPED_OPT, (results, GROUPED_OPT)
        assert abs(grouped_cost(config) - results["cost"]) < 1e-9, (config, results["cost"])
    submit(f"grouped_{key}", lambda make=make, key=key: make().submit(
        sdk_problem(f"SdkGrouped-{RUN_ID}-{key}", grouped=True)), verify_grouped)

# ---------------------------------------------------------------- initial configuration (JSON version 1.1)
submit("init_config", lambda: SOLVERS["sa"][0]().submit(
    sdk_problem(f"SdkInit-{RUN_ID}", init_config={"0": 0, "1": 1, "2": 1, "3": 0})),
    expect_sdk_optimum("microsoft.simulatedannealing.cpu"))

# ---------------------------------------------------------------- protobuf
for key in ("sa", "pa"):
    submit(f"protobuf_small_{key}", lambda key=key: SOLVERS[key][0]().submit(
        sdk_problem(f"SdkProto-{RUN_ID}-{key}", content_type=ContentType.protobuf)), expect_sdk_optimum(SOLVERS[key][1]))

# 2500 linear terms -x_i. The SDK's to_proto() sends terms 0-999, 1000-1999 and again 0-499 (the tail is lost and
# the head duplicated); the service solves what it receives: variables 0..1999, optimum all ones, cost -2500.
BIG = [(-1.0, [i]) for i in range(2500)]
BIG_SENT = BIG[0:2000] + BIG[0:500]


def verify_big(results: dict, job) -> None:
    config = results["configuration"]
    assert set(config) == {str(i) for i in range(2000)}, f"{len(config)} variables"
    assert results["cost"] == -2500.0, results["cost"]
    assert evaluate(BIG_SENT, config) == results["cost"]


submit("protobuf_2500_terms", lambda: SimulatedAnnealing(ws, beta_start=0.5, beta_stop=20.0, sweeps=30, restarts=2,
                                                         seed=1).submit(
    Problem(name=f"SdkProtoBig-{RUN_ID}", problem_type=ProblemType.pubo, content_type=ContentType.protobuf,
            terms=[Term(c=c, indices=ids) for c, ids in BIG])), verify_big)

# ---------------------------------------------------------------- Problem.upload + submit by URI, OnlineProblem
uploaded: dict[str, str] = {}


def upload_then_submit():
    problem = sdk_problem(f"SdkUploaded-{RUN_ID}")
    try:
        uri = problem.upload(ws)  # qio-problems/inputData, never overwritten (SDK default)
    except ResourceExistsError:  # another client in this Azurite already used the default blob name
        uri = problem.upload(ws, blob_name=f"inputData-{RUN_ID}")
    uploaded["uri"] = uri
    return SOLVERS["sa"][0]().submit(uri)


def verify_uploaded(results: dict, job) -> None:
    expect_sdk_optimum("microsoft.simulatedannealing.cpu")(results, job)
    assert job.details.name == "Optimization problem", job.details.name
    assert "/qio-problems/" in job.details.input_data_uri, job.details.input_data_uri
    assert uploaded["uri"].startswith("http") and "sig=" not in uploaded["uri"], uploaded["uri"]


submit("problem_upload_uri", upload_then_submit, verify_uploaded)


def submit_online():
    online = OnlineProblem(name=f"SdkOnline-{RUN_ID}", blob_uri=uploaded["uri"])
    return SOLVERS["tabu"][0]().submit(online)


def verify_online(results: dict, job) -> None:
    expect_sdk_optimum("microsoft.tabu.cpu")(results, job)
    assert job.details.name == f"SdkOnline-{RUN_ID}", job.details.name


submit("online_problem", submit_online, verify_online)

# ---------------------------------------------------------------- StreamingProblem
streamed: dict[str, str] = {}


def submit_streaming():
    problem = StreamingProblem(ws, name=f"SdkStreaming-{RUN_ID}", problem_type=ProblemType.pubo,
                               terms=[Term(c=c, indices=ids) for c, ids in SDK_TEST_TERMS[:3]])
    problem.add_terms([Term(c=c, indices=ids) for c, ids in SDK_TEST_TERMS[3:]])
    uri = problem.upload(ws)
    streamed["uri"] = uri
    return SOLVERS["sa"][0]().submit(uri)


def verify_streaming(results: dict, job) -> None:
    expect_sdk_optimum("microsoft.simulatedannealing.cpu")(results, job)
    container = streamed["uri"].split("?")[0].rstrip("/").split("/")[-2]
    assert container in job.details.input_data_uri, (container, job.details.input_data_uri)


submit("streaming_problem", submit_streaming, verify_streaming)


def submit_streaming_init_config():
    problem = StreamingProblem(ws, name=f"SdkStreamingInit-{RUN_ID}", problem_type=ProblemType.ising,
                               terms=[Term(c=1, indices=[0, 1]), Term(c=-1, indices=[1, 2])],
                               init_config={"0": 1, "1": -1, "2": 1})
    return SOLVERS["sa"][0]().submit(problem.upload(ws))


submit("streaming_init_config_fails", submit_streaming_init_config, None)  # verified below: the job must fail

# ---------------------------------------------------------------- collect
for name, (job, verify, detail) in pending.items():
    with checks.check(name) as d:
        d.update(detail)
        t0 = time.monotonic()
        if verify is None:
            job.wait_until_completed(timeout_secs=60)
            job.refresh()
            det = job.details
            d["status"] = det.status
            d["error_data"] = det.error_data.as_dict() if det.error_data else None
            assert det.status == "Failed", det.status
            assert det.error_data is not None and det.error_data.code and det.error_data.message, d["error_data"]
            try:
                job.get_results(timeout_secs=5)
            except RuntimeError as exc:
                d["get_results_error"] = str(exc)
                assert "Failed" in str(exc), exc
            else:
                raise AssertionError("get_results on a Failed job must raise RuntimeError")
            continue
        results = job.get_results(timeout_secs=60)
        d["wait_seconds"] = round(time.monotonic() - t0, 3)
        d["cost"] = results.get("cost") if isinstance(results, dict) else None
        d["parameters"] = results.get("parameters") if isinstance(results, dict) else None
        assert isinstance(results, dict), f"results are not JSON: {results!r:.300}"
        job.refresh()
        assert job.details.status == "Succeeded" and job.details.output_data_uri
        verify(results, job)

checks.emit()
