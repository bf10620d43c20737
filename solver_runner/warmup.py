"""`python -m solver_runner.warmup`: compile every numba kernel into the on-disk cache, so no job pays JIT time.

The Docker image runs this at build time with NUMBA_CACHE_DIR set (docker/Dockerfile); runner processes run the
same warm-up (`entry.init_worker`) when they start, which then only loads the cache. Prints where the cache is and
how many cached functions it holds; exits 1 when nothing was cached (a cache directory that cannot be written).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numba

from solver_runner import entry


def cached_functions(cache_dir: Path) -> int:
    """Numba writes one index file (*.nbi) per cached function."""
    return sum(1 for _ in cache_dir.rglob("*.nbi")) if cache_dir.is_dir() else 0


def main() -> int:
    started = time.perf_counter()
    entry.init_worker()
    cache_dir = Path(numba.config.CACHE_DIR)
    count = cached_functions(cache_dir)
    print(f"numba cache warmed: {count} cached functions in {cache_dir} ({time.perf_counter() - started:.1f} s)")
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main())
