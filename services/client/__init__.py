"""The native openqio client, shaped like azure.quantum: `from services.client import Workspace`.

The async twin is services.client.aio (same names, awaited); this sync facade runs it on a private event loop.
"""
from services.client.details import JobDetails
from services.client.errors import AuthenticationError, ClientError, ConflictError, JobNotFoundError
from services.client.workspace import Job, Workspace

__all__ = ["AuthenticationError", "ClientError", "ConflictError", "Job", "JobDetails", "JobNotFoundError", "Workspace"]
