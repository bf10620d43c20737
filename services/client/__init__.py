"""The native openqio client, shaped like azure.quantum (sync facade; the async twin is services.client.aio):

    from services.client import Workspace
    from services.client.optimization import Problem, ProblemType, Term, SimulatedAnnealing

    workspace = Workspace()                      # reads .openqio/connection.json (written by `make run`)
    job = SimulatedAnnealing(workspace).submit(problem)
    print(job.get_results())

The sync classes run the async implementation on a private event loop per Workspace.
"""
from contracts.status import JobStatus
from services.client.details import JobDetails
from services.client.errors import (
    AuthenticationError,
    ClientError,
    ConflictError,
    JobNotFoundError,
    NotFoundError,
    ServiceConnectionError,
)
from services.client.events import JobEvent
from services.client.job import Job
from services.client.workspace import Workspace

__all__ = [
    "AuthenticationError", "ClientError", "ConflictError", "Job", "JobDetails", "JobEvent", "JobNotFoundError",
    "JobStatus", "NotFoundError", "ServiceConnectionError", "Workspace",
]
