"""Shared helpers for the scripts that run the UNMODIFIED azure-quantum 0.27 SDK against openqio.

These scripts run inside `.venv-sdk` (scripts/sdk_env.sh), never in the project's own venv: they may import only
the SDK and its dependencies, plus this module. The environment comes from the service's `sdk.env`
(AZURE_QUANTUM_BASEURL, REQUESTS_CA_BUNDLE, SSL_CERT_FILE, AZURE_QUANTUM_TOKEN_FILE, AZURE_TENANT_ID and the
OPENQIO_* workspace identity), exactly as a user would source it.

Each script records named checks with `Checks`; a failing check stores its error instead of stopping the script,
so one run reports every problem. The last stdout line is `SDK-RESULT <json>`; the pytest side parses it.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

RESULT_MARKER = "SDK-RESULT "

# The SDK's own reference problem (tests/unit/test_job.py create_problem): pubo, optimum {"0":1,"1":1,"2":0,"3":1} = -5.
SDK_TEST_TERMS = [(-3, [1, 0]), (5, [2, 0]), (9, [2, 1]), (2, [3, 0]), (-4, [3, 1]), (4, [3, 2])]
SDK_TEST_CONFIG = {"0": 1, "1": 1, "2": 0, "3": 1}
SDK_TEST_COST = -5.0
# The README's seed flow: ising, optimum {"0":1,"1":1,"2":-1} = -17.
SEED_TERMS = [(-9, [0]), (-3, [1, 0]), (5, [2, 0])]
SEED_CONFIG = {"0": 1, "1": 1, "2": -1}
SEED_COST = -17.0

# A unique tag per script run, so filters on the shared service only see this run's jobs.
RUN_ID = uuid.uuid4().hex[:8]


def workspace_kwargs() -> dict[str, str]:
    """Workspace identity as sdk.env exports it; `location` is required by the SDK but unused with a base URL."""
    return {
        "subscription_id": os.environ["OPENQIO_SUBSCRIPTION_ID"],
        "resource_group": os.environ["OPENQIO_RESOURCE_GROUP"],
        "name": os.environ["OPENQIO_WORKSPACE"],
        "location": os.environ.get("OPENQIO_LOCATION") or "local",
    }


def solve_seed(ws: Any, name: str) -> Any:
    """Submit the README's seed problem with SimulatedAnnealing (parameter-free), check the optimum, return the Job."""
    from azure.quantum.optimization import Problem, ProblemType, SimulatedAnnealing, Term

    problem = Problem(name=name, problem_type=ProblemType.ising)
    problem.terms = [Term(c=c, indices=ids) for c, ids in SEED_TERMS]
    job = SimulatedAnnealing(ws).submit(problem)
    results = job.get_results(timeout_secs=60)
    assert results["configuration"] == SEED_CONFIG and results["cost"] == SEED_COST, results
    return job


def require_environment() -> None:
    """Refuse to run without the variables that keep the SDK off the internet (contract §8)."""
    missing = [k for k in ("AZURE_QUANTUM_BASEURL", "AZURE_TENANT_ID", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
                           "OPENQIO_SUBSCRIPTION_ID") if not os.environ.get(k)]
    if missing:
        raise SystemExit(f"missing environment (source the service's sdk.env): {', '.join(missing)}")


def token_from_file() -> tuple[str, int]:
    """The bearer token and its expiry (epoch seconds) from AZURE_QUANTUM_TOKEN_FILE (expires_on is in ms)."""
    with open(os.environ["AZURE_QUANTUM_TOKEN_FILE"]) as f:
        data = json.load(f)
    return data["access_token"], int(data["expires_on"]) // 1000


class TokenFileCredential:
    """An async credential reading the token file the service writes (`expires_on` in epoch milliseconds): the aio
    SDK's own token-file path is broken in 0.27 (the coroutine that reads AZURE_QUANTUM_TOKEN_FILE is never awaited)."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        token, expires_on = token_from_file()
        return AccessToken(token, expires_on)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> TokenFileCredential:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        pass


def evaluate(terms: list[tuple[float, list[int]]], config: dict[str, int]) -> float:
    """Cost of a configuration: sum of c * prod(x_i) (a repeated index counts once per occurrence)."""
    total = 0.0
    for c, ids in terms:
        product = 1
        for i in ids:
            product *= config[str(i)]
        total += c * product
    return total


def sas_query(url: str | None) -> dict[str, str]:
    if not url:
        return {}
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def error_summary(exc: BaseException) -> dict[str, Any]:
    """What the SDK exposes of an error: class, HTTP status, wire error code and message."""
    error = getattr(exc, "error", None)
    response = getattr(exc, "response", None)
    return {
        "type": type(exc).__name__,
        "status_code": getattr(exc, "status_code", None) or getattr(response, "status_code", None),
        "code": getattr(error, "code", None),
        "message": str(exc),
    }


class Checks:
    """Named checks. `with checks.check("name") as c: ...; c["detail"] = ...`; assertion failures and exceptions
    are recorded, not raised. `emit()` prints the result line."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}
        self.started = time.monotonic()

    @contextmanager
    def check(self, name: str):
        detail: dict[str, Any] = {}
        t0 = time.monotonic()
        try:
            yield detail
        except Exception as exc:  # noqa: BLE001 - every failure becomes a reported check
            self.results[name] = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=6)[-2500:],
                "detail": _jsonable(detail),
            }
        else:
            self.results[name] = {"ok": True, "detail": _jsonable(detail)}
        self.results[name]["seconds"] = round(time.monotonic() - t0, 3)

    def skip(self, name: str, why: str) -> None:
        self.results[name] = {"ok": False, "error": f"not run: {why}", "detail": {}}

    def emit(self) -> None:
        payload = {"checks": self.results, "seconds": round(time.monotonic() - self.started, 2), "run_id": RUN_ID}
        sys.stdout.write("\n" + RESULT_MARKER + json.dumps(payload, default=str) + "\n")
        sys.stdout.flush()


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return repr(value)


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll `predicate` until it returns a truthy value; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)
