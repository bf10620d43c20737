"""The sync Problem: the shared model (services.client._optimization.problem) with a blocking `upload`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._optimization.problem import ContentType, ProblemType
from .._optimization.problem import Problem as _Problem

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["ContentType", "Problem", "ProblemType"]


class Problem(_Problem):
    __doc__ = _Problem.__doc__

    def upload(self, workspace: Workspace, container_name: str = "qio-problems", blob_name: str = "inputData",
               container_uri: str | None = None) -> str:
        """Upload the problem to the workspace's storage; returns the blob URL (no SAS) to `solver.submit()`."""
        return workspace._run(self._upload(workspace._aio, container_name, blob_name, container_uri))
