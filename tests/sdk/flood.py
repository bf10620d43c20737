"""A flood of submissions through the unmodified azure-quantum 0.27 sync SDK against a service with a small backlog
limit (OPENQIO_MAX_WAITING): the service answers some of them 429 with Retry-After, the SDK's retry policy
(azure-core: any answer with Retry-After is retried, three times) waits as told, and every job is admitted, runs and
has the right result. Run inside .venv-sdk with the service's sdk.env; prints `SDK-RESULT <json>` last.

FLOOD_JOBS (environment) submissions run at once, each from its own thread and Workspace, as many independent
clients would. The 429 answers the SDK saw are counted from azure-core's HTTP log (the SDK never shows them), per
client too: one that waits as told is refused at most twice (the second refusal promises it a place,
services/gateway/admission.py), so the SDK's three retries always suffice.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from sdk_common import RUN_ID, SEED_CONFIG, SEED_COST, SEED_TERMS, Checks, require_environment, workspace_kwargs

require_environment()

from azure.quantum import Workspace  # noqa: E402
from azure.quantum.optimization import Problem, ProblemType, SimulatedAnnealing, Term  # noqa: E402

checks = Checks()
JOBS = int(os.environ.get("FLOOD_JOBS", "40"))


class StatusCounter(logging.Handler):
    """Counts the statuses azure-core's HttpLoggingPolicy logs ("Response status: 429"), and the 429s of each client
    (the submission whose thread logged it)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.statuses: dict[int, int] = {}
        self.refused: dict[int, int] = {}  # client -> 429s it was answered
        self.client = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        marker = "Response status:"
        if marker in text:
            try:
                status = int(text.split(marker, 1)[1].split()[0].strip("'\","))
            except (ValueError, IndexError):
                return
            self.statuses[status] = self.statuses.get(status, 0) + 1  # (handle() holds the handler's lock)
            k = getattr(self.client, "k", None)
            if status == 429 and k is not None:
                self.refused[k] = self.refused.get(k, 0) + 1


counter = StatusCounter()
http_log = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
http_log.setLevel(logging.INFO)
http_log.addHandler(counter)
http_log.propagate = False


def one(k: int) -> dict:
    counter.client.k = k
    ws = Workspace(**workspace_kwargs())
    problem = Problem(name=f"flood-{RUN_ID}-{k}", problem_type=ProblemType.ising)
    problem.terms = [Term(c=c, indices=ids) for c, ids in SEED_TERMS]
    job = SimulatedAnnealing(ws, beta_start=0.1, beta_stop=3.0, sweeps=20, restarts=1, seed=k).submit(problem)
    results = job.get_results(timeout_secs=240)
    job.refresh()
    return {"id": job.id, "status": job.details.status, "cost": results["cost"],
            "configuration": results["configuration"]}


with checks.check("flood_completes") as detail:
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        futures = [pool.submit(one, k) for k in range(JOBS)]
        errors, done = [], []
        for future in futures:
            try:
                done.append(future.result())
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
    detail["submitted"] = JOBS
    detail["errors"] = errors[:5]
    detail["statuses_seen"] = dict(counter.statuses)
    assert not errors, f"{len(errors)} of {JOBS} submissions failed: {errors[:3]}"
    assert len({d["id"] for d in done}) == JOBS
    assert all(d["status"] == "Succeeded" and d["cost"] == SEED_COST and d["configuration"] == SEED_CONFIG
               for d in done), done[:3]

with checks.check("saw_429") as detail:
    detail["statuses_seen"] = dict(counter.statuses)
    assert counter.statuses.get(429, 0) > 0, f"the SDK was never told to wait: {counter.statuses}"

with checks.check("refused_at_most_twice") as detail:
    times = list(counter.refused.values())
    detail["clients_refused"] = {n: times.count(n) for n in sorted(set(times))}  # times refused -> clients
    assert max(times, default=0) <= 2, f"a client waiting as told was refused more than twice: {detail}"

checks.emit()
