"""Numba's on-disk cache on a full disk.

numba saves each function it compiles (`@njit(cache=True)`) into NUMBA_CACHE_DIR (solver_runner keys it by the
solvers' sources). Two things went wrong when that did not fit:
- a save that found the disk full raised ENOSPC (or EDQUOT) out of numba's compiler, though the machine code was
  compiled and usable: every job failed, and so did the warm-up and with it every runner's start, a traceback per
  compile while the service never listened;
- a cache directory that could not be made for want of space sent numba on to its next locators: `__pycache__`
  beside the sources, where a cache is keyed by its own file's time only (the stale inlined code
  solver_runner/__init__.py describes), and with none writable it raised at import.

`keep_compiling_on_a_full_disk()`, called before a solver module is imported: where NUMBA_CACHE_DIR cannot be made
for want of space, numba caches nowhere (`CacheDirOrNowhere`), and a save that finds the disk full fails alone: the
function runs from memory (compiled again by the next process that needs it: the warm-up and every runner at every
start), and one WARNING per process says so. numba writes each cache file under a temporary name, renames it into
place once whole and removes the temporary file when a write fails, and it compiles again where an index names a
data file that is not there: nothing half-written is left to load.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from numba.core import caching, config

from contracts.errors import NO_SPACE

log = logging.getLogger(__name__)

_said = False  # whether this process warned (and so failed to save) already


class CacheDirOrNowhere(caching.UserProvidedCacheLocator):
    """NUMBA_CACHE_DIR for a function whose cache directory cannot be made for want of space: it loads nothing from
    there and its saves fail (and are let fail); numba's locators after it are not tried. (A directory this user may
    not write still sends numba on to them, as before.)"""

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> CacheDirOrNowhere | None:
        if not config.CACHE_DIR or not os.path.exists(py_file):
            return None
        locator = cls(py_func, py_file)
        try:
            locator.ensure_cache_path()
        except OSError as exc:
            return locator if exc.errno in NO_SPACE else None
        return locator


def keep_compiling_on_a_full_disk() -> None:
    """Install CacheDirOrNowhere after numba's NUMBA_CACHE_DIR locator, and make a save that cannot be stored a
    WARNING instead of a failed compile (idempotent)."""
    locators = caching.CacheImpl._locator_classes
    if CacheDirOrNowhere in locators:
        return
    locators.insert(locators.index(caching.UserProvidedCacheLocator) + 1, CacheDirOrNowhere)
    save = caching.Cache.save_overload

    def save_overload(self: Any, sig: Any, data: Any) -> None:
        try:
            save(self, sig, data)
        except OSError as exc:
            if exc.errno not in NO_SPACE:
                raise
            said(config.CACHE_DIR or self._cache_path, exc)

    caching.Cache.save_overload = save_overload


def could_not_save() -> bool:
    """Whether a save of this process's failed (`said`): a warm-up then leaves no marker of a warm cache."""
    return _said


def said(directory: str, exc: OSError) -> None:
    """The one WARNING of this process about a solver cache it cannot write."""
    global _said
    if _said:
        return
    _said = True
    log.warning("the solver cache in %s cannot be saved (%s); the solvers compile in memory, in every runner at "
                "every start, until space is freed there", directory, exc.strerror or exc)
