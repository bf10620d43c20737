"""The README seed flow with the unmodified sync SDK in the workspace sdk.env names (OPENQIO_WORKSPACE), reporting
which storage account each blob URL the SDK used or got points at (tests/integration/test_isolation.py: one account
per workspace). Run inside .venv-sdk; prints `SDK-RESULT <json>` last.
"""
from __future__ import annotations

from urllib.parse import urlparse

from sdk_common import Checks, require_environment, solve_seed, workspace_kwargs

require_environment()

from azure.quantum import Workspace  # noqa: E402

checks = Checks()


def account_of(url: str | None) -> str | None:
    """The account of a path-style (Azurite) blob URL: its first path segment."""
    return urlparse(url).path.strip("/").split("/")[0] if url else None


with checks.check("seed_flow") as d:
    ws = Workspace(**workspace_kwargs())  # credential=None: the SDK's chain reads AZURE_QUANTUM_TOKEN_FILE
    job = solve_seed(ws, "WorkspaceFlow")
    details = ws.get_job(job.id).details
    d["job_id"] = job.id
    d["workspace"] = ws.name
    d["accounts"] = sorted({account_of(details.container_uri), account_of(details.input_data_uri),
                            account_of(details.output_data_uri)})

checks.emit()
