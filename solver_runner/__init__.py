"""openqio's solvers: numba kernels (`kernels/`), QIO solver semantics (`solvers/`), and the runner entry point.

Numba's on-disk cache (`@njit(cache=True)`) is invalidated by the timestamp of each function's *own* source file
only, yet kernels inline functions from other files (`kernels/common.py` into every sweep). An edit to common.py
would leave the cached machine code of sa.py, qmc.py, ... running the old version (seen: a sweep change measured in
a fresh function but not through `anneal`). So the cache directory is keyed by a digest of every source file of
this package: `<base>/openqio-<digest>`, base = $NUMBA_CACHE_DIR when set (the Docker image warms one there at
build time), else `solver_runner/__pycache__`.

Importing this package does not import numba. It writes the keyed directory into the environment
(NUMBA_CACHE_DIR) before numba is imported, for two reasons:
- numba's compiler calls `config.reload_config()` on every compilation, which re-reads all NUMBA_* variables
  whenever one changed since numba was imported; a value set only on `numba.config` is then silently replaced by
  the environment's;
- a runner sets NUMBA_NUM_THREADS (solver_runner.worker) before its first numba import; importing numba earlier
  would launch its thread pool with another count, and the next compilation would fail with "Cannot set
  NUMBA_NUM_THREADS to a different value once the threads have been launched".
Spawned children inherit the keyed directory; `cache_dir()` recognises it and keys its base again, never nesting.

Vector width: on CPUs with AVX-512, LLVM's tuning for most Intel models prefers 256-bit vectors, so numba's loops
over walkers (kernels.lanes, kernels.msc) would use half the register width. Unless the environment already sets
NUMBA_CPU_NAME or NUMBA_CPU_FEATURES, this package sets NUMBA_CPU_FEATURES to the host's features plus
`-prefer-256-bit` on such CPUs (full-width vectors: benchmarks/README.md, "Design measurements"). The features are part of numba's cache key, so
a cache built elsewhere is not reused by mistake.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
KEYED = re.compile(r"openqio-[0-9a-f]{16}")  # a keyed cache directory's name


def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir(numba_cache_dir: str | None) -> Path:
    """The keyed cache directory for a NUMBA_CACHE_DIR value (None or "": the package's __pycache__). A value that
    already is a keyed directory (inherited from the process that spawned this one) counts as its parent."""
    if not numba_cache_dir:
        return _PACKAGE / "__pycache__" / f"openqio-{_source_digest()}"
    base = Path(numba_cache_dir)
    if KEYED.fullmatch(base.name):
        base = base.parent
    return base / f"openqio-{_source_digest()}"


def _use_source_keyed_cache() -> None:
    os.environ["NUMBA_CACHE_DIR"] = str(cache_dir(os.environ.get("NUMBA_CACHE_DIR")))
    if "numba" in sys.modules:  # imported before us (a benchmark, a test): make it read the variable now
        from numba.core import config

        config.reload_config()


def _prefer_full_width_vectors() -> None:
    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES") is not None:
        return  # the user's choice wins
    if os.environ.get("NUMBA_ENABLE_AVX", "1") == "0":
        return
    try:
        import llvmlite.binding as ll

        features = ll.get_host_cpu_features()
    except Exception:  # noqa: BLE001 - no LLVM features: numba's own defaults apply
        return
    if features.get("avx512f"):
        os.environ["NUMBA_CPU_FEATURES"] = features.flatten() + ",-prefer-256-bit"
        if "numba" in sys.modules:
            from numba.core import config

            config.reload_config()


_use_source_keyed_cache()
_prefer_full_width_vectors()
