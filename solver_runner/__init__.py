"""openqio's solvers: numba kernels (`kernels/`), QIO solver semantics (`solvers/`), and the runner entry point.

Numba's on-disk cache (`@njit(cache=True)`) is invalidated by the timestamp of each function's *own* source file
only, yet kernels inline functions from other files (`kernels/common.py` into every sweep). An edit to common.py
would leave the cached machine code of sa.py, qmc.py, ... running the old version (seen: a sweep change measured in
a fresh function but not through `anneal`). So the cache directory is keyed by a digest of every source file of
this package: `$NUMBA_CACHE_DIR/openqio-<digest>` when NUMBA_CACHE_DIR is set (the Docker image warms one there at
build time), else `solver_runner/__pycache__/numba-<digest>`. Importing this package sets numba's CACHE_DIR, which
numba reads when each cached function is decorated, so it must stay the first thing the kernels import.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _numba_cache_dir() -> Path:
    base = os.environ.get("NUMBA_CACHE_DIR")
    if base:
        return Path(base) / f"openqio-{_source_digest()}"
    return _PACKAGE / "__pycache__" / f"numba-{_source_digest()}"


def _use_source_keyed_cache() -> None:
    import numba

    numba.config.CACHE_DIR = str(_numba_cache_dir())


_use_source_keyed_cache()
