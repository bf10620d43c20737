"""The Toshiba and 1QBit targets through the unmodified azure-quantum 0.27 SDK, sync and aio, against openqio.

Run inside .venv-sdk with the service's sdk.env in the environment; prints `SDK-RESULT <json>` last.
Every target is submitted by both clients with the SDK's own test parameters (tests/unit/test_job.py) on the SDK's
test problem (pubo, optimum {"0":1,"1":1,"2":0,"3":1} = −5), and its result is read back in the provider's format
(contract §5): Toshiba `microsoft.qio-results.v2` with per-solution {runs, message, time}; 1QBit
`microsoft.qio-results.v1` with text configuration values and the effective parameters echoed with solver_name.
Also: Toshiba's target/maxout/auto, a degree-3 problem failing with errorData, a bad 1QBit value refused at submit,
a cancelled Toshiba run, and number_of_solutions. Jobs are submitted first and collected afterwards.
"""
from __future__ import annotations

import asyncio
import time
import warnings

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

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.quantum import Workspace  # noqa: E402
from azure.quantum.aio import Workspace as AioWorkspace  # noqa: E402
from azure.quantum.aio.optimization import Problem as AioProblem  # noqa: E402
from azure.quantum.aio.target import oneqbit as aio_oneqbit  # noqa: E402
from azure.quantum.aio.target import toshiba as aio_toshiba  # noqa: E402
from azure.quantum.optimization import Problem, ProblemType, Term  # noqa: E402
from azure.quantum.target import oneqbit, toshiba  # noqa: E402

checks = Checks()
ws = Workspace(**workspace_kwargs())  # credential=None: the SDK's chain reads AZURE_QUANTUM_TOKEN_FILE

# the SDK's own test parameters (azure-quantum tests/unit/test_job.py)
TABU_KWARGS = {"improvement_cutoff": 2, "improvement_tolerance": 1e-9, "seed": 123, "tabu_tenure": 2,
               "tabu_tenure_rand_max": 2, "timeout": 2}
PTICM_KWARGS = {"auto_set_temperatures": False, "elite_threshold": 0.3, "frac_icm_thermal_layers": 0.5,
                "frac_sweeps_fixing": 0.15, "frac_sweeps_idle": 1.0, "frac_sweeps_stagnation": 1.0, "goal": "OPTIMIZE",
                "high_temp": 2, "low_temp": 0.2, "max_samples_per_layer": 10, "max_total_sweeps": 1000,
                "num_elite_temps": 4, "num_replicas": 2, "num_sweeps_per_run": 100, "num_temps": 30,
                "scaling_type": "MEDIAN", "seed": 42, "var_fixing_type": "NO_FIXING"}
PR_KWARGS = {"distance_scale": 0.33, "greedy_path_relinking": False, "ref_set_count": 10, "seed": 123, "timeout": 0}
SOLVER_NAMES = {"1qbit.tabu": "Tabu", "1qbit.pticm": "PTICM", "1qbit.pathrelinking": "PathRelinking"}

# name -> (sync factory, aio factory, target id, the inputParams the SDK sends)
SOLVERS = {
    "sbm": (lambda w: toshiba.SimulatedBifurcationMachine(w, loops=10),
            lambda w: aio_toshiba.SimulatedBifurcationMachine(w, loops=10), "toshiba.sbm.ising", {"loops": 10}),
    "tabu": (lambda w: oneqbit.TabuSearch(w, **TABU_KWARGS), lambda w: aio_oneqbit.TabuSearch(w, **TABU_KWARGS),
             "1qbit.tabu", {k: str(v) for k, v in TABU_KWARGS.items()}),
    "pticm": (lambda w: oneqbit.PticmSolver(w, **PTICM_KWARGS), lambda w: aio_oneqbit.PticmSolver(w, **PTICM_KWARGS),
              "1qbit.pticm", {k: str(v) for k, v in PTICM_KWARGS.items()}),
    "pr": (lambda w: oneqbit.PathRelinkingSolver(w, **PR_KWARGS),
           lambda w: aio_oneqbit.PathRelinkingSolver(w, **PR_KWARGS), "1qbit.pathrelinking",
           {k: str(v) for k, v in PR_KWARGS.items()}),
}


def sdk_problem(name: str, problem_class=Problem, terms=SDK_TEST_TERMS, kind=ProblemType.pubo):
    return problem_class(name=name, problem_type=kind, terms=[Term(c=c, indices=ids) for c, ids in terms])


def check_result(d: dict, job, results: dict, target: str, sent: dict, expected_config=SDK_TEST_CONFIG) -> None:
    """The job as the SDK sees it, and its result in the provider's format."""
    details = job.details
    d["results"] = results
    assert details.status == "Succeeded" and details.target == target, details.status
    assert details.input_params == sent, details.input_params  # kept as sent (flat; 1QBit: strings)
    assert results["target"] == target and results["version"] == "1.0", results
    assert results["input_data_uri"].endswith("/inputData"), results["input_data_uri"]
    best = results["solutions"][0]
    config = {k: int(v) for k, v in best["configuration"].items()}
    assert best["cost"] == evaluate(SDK_TEST_TERMS, config), best
    if target == "1qbit.tabu":  # the SDK's test stops walkers after 2 moves without improvement, within 2 ms
        expected_config = config
    assert best["cost"] == evaluate(SDK_TEST_TERMS, expected_config), best
    if target.startswith("toshiba."):
        assert details.provider_id == "toshiba" and details.output_data_format == "microsoft.qio-results.v2"
        assert results["input_params"] == sent and best["configuration"] == expected_config, results
        assert set(best["parameters"]) == {"runs", "message", "time"}, best
    else:
        assert details.provider_id == "1qbit" and details.output_data_format == "microsoft.qio-results.v1"
        assert best["configuration"] == {k: str(v) for k, v in expected_config.items()}, best  # values as text
        echoed = results["input_params"]
        assert echoed["solver_name"] == SOLVER_NAMES[target], echoed
        assert all(isinstance(v, str) for v in echoed.values()), echoed


# ---------------------------------------------------------------- sync SDK: submit everything, then collect
jobs = {}
for name, (make, _, target, _sent) in SOLVERS.items():
    with checks.check(f"submit_{name}") as d:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            jobs[name] = make(ws).submit(sdk_problem(f"Catalog-{name}-{RUN_ID}"))
        d["job_id"] = jobs[name].id
        assert jobs[name].details.status == "Waiting" and jobs[name].details.target == target

with checks.check("submit_sbm_target_maxout") as d:  # ising, stop at the optimum, up to 3 solutions
    jobs["sbm_target"] = toshiba.SimulatedBifurcationMachine(ws, loops=0, target=SEED_COST, timeout=30,
                                                             maxout=3).submit(
        sdk_problem(f"Catalog-sbm-target-{RUN_ID}", terms=SEED_TERMS, kind=ProblemType.ising))

with checks.check("submit_sbm_auto") as d:
    jobs["sbm_auto"] = toshiba.SimulatedBifurcationMachine(ws, auto=True, timeout=1).submit(
        sdk_problem(f"Catalog-sbm-auto-{RUN_ID}"))

with checks.check("submit_tabu_number_of_solutions") as d:
    solver = oneqbit.TabuSearch(ws, seed=1)
    solver.set_number_of_solutions(3)
    jobs["tabu_solutions"] = solver.submit(sdk_problem(f"Catalog-tabu-n-{RUN_ID}"))
    d["params"] = jobs["tabu_solutions"].details.input_params
    assert d["params"] == {"seed": "1", "number_of_solutions": "3"}, d["params"]

for name, (_, _, target, sent) in SOLVERS.items():
    with checks.check(f"sync_{name}") as d:
        job = jobs[name]
        results = job.get_results(timeout_secs=120)
        job.refresh()
        check_result(d, job, results, target, sent)

with checks.check("sbm_target_maxout") as d:
    results = jobs["sbm_target"].get_results(timeout_secs=120)
    d["results"] = results
    best = results["solutions"][0]
    assert best["configuration"] == SEED_CONFIG and best["cost"] == SEED_COST, best
    assert best["parameters"]["message"] == "reached" and len(results["solutions"]) <= 3, results
    assert results["input_params"] == {"loops": 0, "target": SEED_COST, "timeout": 30, "maxout": 3}

with checks.check("sbm_auto") as d:
    results = jobs["sbm_auto"].get_results(timeout_secs=120)
    d["results"] = results
    params = results["solutions"][0]["parameters"]
    assert set(params) == {"runs", "message", "time", "dt", "algo", "total_time"}, params
    assert params["algo"] in ("1.5", "2.0") and params["message"] == "timeout", params

with checks.check("tabu_number_of_solutions") as d:
    results = jobs["tabu_solutions"].get_results(timeout_secs=120)
    d["costs"] = [s["cost"] for s in results["solutions"]]
    assert 1 <= len(results["solutions"]) <= 3 and d["costs"] == sorted(d["costs"]) and d["costs"][0] == SDK_TEST_COST

with checks.check("sbm_degree_3_fails_clearly") as d:
    cubic = Problem(name=f"Catalog-cubic-{RUN_ID}", problem_type=ProblemType.pubo,
                    terms=[Term(c=1, indices=[0, 1, 2]), Term(c=-1, indices=[0])])
    job = toshiba.SimulatedBifurcationMachine(ws).submit(cubic)
    try:
        job.get_results(timeout_secs=60)
    except RuntimeError:
        pass
    else:
        raise AssertionError("a degree-3 problem must fail on toshiba.sbm.ising")
    job.refresh()
    d["error"] = {"code": job.details.error_data.code, "message": job.details.error_data.message}
    assert job.details.status == "Failed" and d["error"]["code"] == "InvalidInputData", d
    assert "3 variables" in d["error"]["message"] and "toshiba.sbm.ising" in d["error"]["message"], d

with checks.check("bad_1qbit_value_is_400") as d:
    try:
        oneqbit.TabuSearch(ws, tabu_tenure="two").submit(sdk_problem(f"Catalog-bad-{RUN_ID}"))
    except HttpResponseError as exc:
        d["error"] = error_summary(exc)
        assert exc.status_code == 400 and "tabu_tenure" in str(exc), d["error"]
    else:
        raise AssertionError("tabu_tenure='two' must be refused at submit")
    assert ws.list_jobs(name_match=f"Catalog-bad-{RUN_ID}") == []

with checks.check("grouped_refused_by_the_sdk") as d:
    grouped = sdk_problem(f"Catalog-grouped-{RUN_ID}")
    grouped.add_slc_term([(1, 0), (1, 1)])
    try:
        toshiba.SimulatedBifurcationMachine(ws).submit(grouped)
    except ValueError as exc:
        d["error"] = str(exc)
    else:
        raise AssertionError("the SDK refuses grouped problems for Toshiba")

with checks.check("sbm_cancel_executing") as d:
    n = 3000
    ring = [Term(c=1, indices=[i, (i + 1) % n]) for i in range(n)] + [Term(c=1, indices=[i, (i + 7) % n]) for i in
                                                                       range(n)]
    job = toshiba.SimulatedBifurcationMachine(ws, loops=0, timeout=600).submit(
        Problem(name=f"Catalog-long-{RUN_ID}", problem_type=ProblemType.ising, terms=ring))
    deadline = time.monotonic() + 60
    while job.details.status != "Executing" and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh()
    ws.cancel_job(job)
    while job.details.status not in ("Cancelled", "Succeeded", "Failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh()
    d["status"] = job.details.status
    assert job.details.status == "Cancelled", d


# ---------------------------------------------------------------- aio SDK
async def aio_flow() -> None:
    aws = AioWorkspace(**workspace_kwargs(), credential=TokenFileCredential())
    submitted = {}
    for name, (_, make, _target, _sent) in SOLVERS.items():
        with checks.check(f"aio_submit_{name}") as d:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                submitted[name] = await make(aws).submit(sdk_problem(f"AioCatalog-{name}-{RUN_ID}", AioProblem))
            d["job_id"] = submitted[name].id
    for name, (_, _, target, sent) in SOLVERS.items():
        with checks.check(f"aio_{name}") as d:
            job = submitted[name]
            results = await job.get_results(timeout_secs=120)
            await job.refresh()
            check_result(d, job, results, target, sent)


asyncio.run(aio_flow())
checks.emit()
