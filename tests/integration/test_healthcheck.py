"""The container healthcheck (`python -m services.healthcheck`, run by docker/entrypoint.sh healthcheck) against the
real service: healthy over verified TLS, unhealthy with a reason when nothing listens, and no side effects."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENQIO_DATA_DIR": str(data_dir),
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_healthy_service(openqio_service):
    result = run([sys.executable, "-m", "services.healthcheck"], openqio_service.data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok: {openqio_service.base_url}healthz"


def test_through_the_entrypoint(openqio_service):
    result = run(["sh", "docker/entrypoint.sh", "healthcheck"], openqio_service.data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: https://")


def test_unhealthy_when_nothing_listens(tmp_path, openqio_service):
    result = run([sys.executable, "-m", "services.healthcheck"], tmp_path)
    assert result.returncode == 1 and "not listening" in result.stderr
    assert not (tmp_path / "token").exists()  # the check never creates the service's token
    # a connection file naming a port nobody listens on
    (tmp_path / "connection.json").write_text(
        json.dumps({"base_url": "https://127.0.0.1:9/", "ca_file": openqio_service.ca_file}))
    result = run([sys.executable, "-m", "services.healthcheck"], tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("unhealthy: https://127.0.0.1:9/healthz")


def test_unhealthy_when_the_certificate_is_not_the_services(tmp_path, openqio_service):
    """A CA that did not sign the gateway's certificate fails the check: TLS is verified, not skipped."""
    import certifi

    (tmp_path / "connection.json").write_text(
        json.dumps({"base_url": openqio_service.base_url, "ca_file": certifi.where()}))
    result = run([sys.executable, "-m", "services.healthcheck"], tmp_path)
    assert result.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in result.stderr
