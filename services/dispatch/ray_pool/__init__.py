"""The runner pool on a Ray cluster (OPENQIO_EXECUTOR=ray): pool.py in the service, remote.py on Ray's workers.
Imported only when the executor is ray, so the embedded default never imports `ray`."""
from .pool import RayPool, RayUnavailable

__all__ = ["RayPool", "RayUnavailable"]
