"""Run a tests/sdk script under .venv-sdk against the session's openqio service; parse its `SDK-RESULT` line.

Used by tests/integration/test_sdk_*.py (the project's venv). The SDK venv is created on first use by
scripts/sdk_env.sh (cached by a stamp of tests/sdk/requirements.txt, so later runs cost ~50 ms).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = ROOT / "tests" / "sdk"
SDK_PYTHON = ROOT / ".venv-sdk" / "bin" / "python"
RESULT_MARKER = "SDK-RESULT "
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_venv_ready: bool | None = None


def ensure_sdk_venv() -> None:
    """Create or reuse .venv-sdk once per test session; unavailable means skip locally and fail in CI."""
    global _venv_ready
    if _venv_ready is None:
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "sdk_env.sh")], cwd=ROOT, capture_output=True,
                              text=True, timeout=900)
        _venv_ready = proc.returncode == 0 and SDK_PYTHON.exists()
        ensure_sdk_venv.log = (proc.stdout + proc.stderr)[-3000:]  # type: ignore[attr-defined]
    if not _venv_ready:
        reason = f"the azure-quantum SDK venv could not be created (scripts/sdk_env.sh):\n{ensure_sdk_venv.log}"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def sdk_environment(service: Any) -> dict[str, str]:
    """The user's environment plus the service's sdk.env, exactly what `source .openqio/sdk.env` gives."""
    env = {**os.environ, **service.sdk_env, "PYTHONUNBUFFERED": "1"}
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):  # never leak the project venv into the SDK's
        env.pop(key, None)
    local = "127.0.0.1,localhost"
    env["NO_PROXY"] = env["no_proxy"] = ",".join(x for x in (env.get("NO_PROXY") or env.get("no_proxy"), local) if x)
    return env


def run_sdk_script(service: Any, script: str, timeout: float = 180) -> dict[str, Any]:
    """Run tests/sdk/<script> with .venv-sdk's python; return {check name: {"ok", "error", "detail", ...}}."""
    ensure_sdk_venv()
    try:
        proc = subprocess.run([str(SDK_PYTHON), str(SDK_DIR / script)], cwd=ROOT, env=sdk_environment(service),
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script} ran past {timeout} s\nstdout: {str(exc.stdout)[-3000:]}\nstderr: {str(exc.stderr)[-3000:]}"
                    f"\nservice log:\n{_service_tail(service)}", pytrace=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if proc.returncode != 0 or not lines:
        pytest.fail(f"{script} exited {proc.returncode} without a result\nstdout: {proc.stdout[-3000:]}\n"
                    f"stderr: {proc.stderr[-5000:]}\nservice log:\n{_service_tail(service)}", pytrace=False)
    payload = json.loads(lines[-1][len(RESULT_MARKER):])
    payload["stderr"] = proc.stderr[-5000:]
    return payload


def assert_check(payload: dict[str, Any], name: str) -> dict[str, Any]:
    """Fail with the script's own error, traceback and details when check `name` failed or did not run."""
    result = payload["checks"].get(name)
    if result is None:
        pytest.fail(f"check {name!r} was not reported; reported: {sorted(payload['checks'])}", pytrace=False)
    if not result["ok"]:
        pytest.fail(f"{name}: {result.get('error')}\n{result.get('traceback', '')}\n"
                    f"detail: {json.dumps(result.get('detail'), indent=1, default=str)[:4000]}", pytrace=False)
    return result["detail"]


def _service_tail(service: Any) -> str:
    tail = getattr(service, "tail", None)
    return tail(40) if callable(tail) else "(no service log)"
