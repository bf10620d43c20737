"""The runner pool on a Ray cluster (OPENQIO_EXECUTOR=ray): pool.py in the service, remote.py on Ray's workers.
Imported only when the executor is ray, so the embedded default never imports `ray`."""
import os

# Read by Ray when it is first imported: its crash handler would print a stack dump on every SIGTERM, which is how
# the service is normally stopped (the service has its own handler).
os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")

from .pool import RayPool, RayUnavailable  # noqa: E402

__all__ = ["RayPool", "RayUnavailable"]
