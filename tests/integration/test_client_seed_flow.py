"""The README's job-management examples (examples/*.py), run as scripts against the real service."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run_example(service, script: str) -> list[str]:
    env = {**os.environ, "OPENQIO_CONNECTION": str(service.connection_file)}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / script)], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.splitlines()


@pytest.mark.parametrize("script", ["job_management.py", "job_management_aio.py"])
def test_documented_example_prints_the_documented_results(openqio_service, script):
    lines = run_example(openqio_service, script)
    # get_results prints a dot per poll, as the SDK does: "...{'version': ...}"
    results = next(ast.literal_eval(line.lstrip(".")) for line in lines if line.lstrip(".").startswith("{"))
    assert results["solutions"][0] == {"configuration": {"0": 1, "1": 1, "2": -1}, "cost": -17.0}
    assert results["configuration"] == {"0": 1, "1": 1, "2": -1} and results["cost"] == -17.0
    details = next(line for line in lines if line.startswith("JobDetails("))
    for name in ("id=", "name='MyOptimizationJob'", "container_uri=", "input_data_uri=",
                 "input_data_format='microsoft.qio.v2'", "input_params=", "provider_id='Microsoft'",
                 "target='microsoft.simulatedannealing-parameterfree.cpu'", "metadata=", "output_data_uri=",
                 "output_data_format='microsoft.qio-results.v2'", "status=<JobStatus.SUCCEEDED",
                 "creation_time=datetime", "begin_execution_time=datetime", "end_execution_time=datetime",
                 "cancellation_time=None", "error_data=None", "additional_properties={'isCancelling': False}"):
        assert name in details, f"{name} missing from {details}"
    assert "cancel_job: JobAlreadyFinished; the job stays Succeeded" in lines, lines


def test_the_readme_shows_the_example_file():
    """The README's first Python example is examples/job_management.py (which the test above runs), so the README
    never shows code that ends in an uncaught exception."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```python\n") + len("```python\n")
    block = readme[start:readme.index("```", start)]
    assert "except ConflictError" in block
    assert (ROOT / "examples" / "job_management.py").read_text().endswith(block)
