"""The async native client (the primary one): `from services.client.aio import Workspace`."""
from services.client.aio.workspace import Job, Workspace
from services.client.details import JobDetails

__all__ = ["Job", "JobDetails", "Workspace"]
