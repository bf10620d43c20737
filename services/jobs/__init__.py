from .store import ClaimedJob, JobEvent, JobExists, JobStore  # noqa: F401
