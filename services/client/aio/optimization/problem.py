"""The async Problem: services.client.optimization.Problem with `upload` awaited (as azure.quantum.aio)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from services.client.optimization.problem import ContentType, Problem as _SyncProblem, ProblemType

if TYPE_CHECKING:
    from services.client.aio.workspace import Workspace

__all__ = ["ContentType", "Problem", "ProblemType"]


class Problem(_SyncProblem):
    async def upload(self, workspace: Workspace, container_name: str = "qio-problems",  # type: ignore[override]
                     blob_name: str = "inputData", container_uri: str | None = None) -> str:
        """Upload the problem to the workspace's storage; returns the blob URL (no SAS) to `solver.submit()`."""
        return await self._upload(workspace, container_name, blob_name, container_uri)
