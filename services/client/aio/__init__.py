"""The async native client (the primary one), shaped like azure.quantum.aio:

    from services.client.aio import Workspace
    from services.client.aio.optimization import Problem, SimulatedAnnealing

Same names as the sync client (services.client); methods that talk to the service are awaited.
"""
from contracts.status import JobStatus
from services.client.aio.job import Job
from services.client.aio.workspace import Workspace
from services.client.details import JobDetails
from services.client.events import JobEvent

__all__ = ["Job", "JobDetails", "JobEvent", "JobStatus", "Workspace"]
