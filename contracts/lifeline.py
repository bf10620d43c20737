"""A child process that dies with its parent, also when the parent is SIGKILLed (no cleanup code runs there).

`die_with_parent(parent_pid)` is the first thing a runner process does (contracts.logformat.child_entry). Two
mechanisms, because neither is enough alone:
- Linux: prctl(PR_SET_PDEATHSIG, SIGKILL): the kernel kills the child the moment its parent goes. The signal
  follows the *thread* that started the child, not the process: the runner pool starts its processes from the
  event loop's thread, which lives as long as the pool. A parent that died before prctl took effect (the child
  was still importing) is caught by comparing getppid() with the pid the parent passed.
- Everywhere: a daemon thread polls getppid() every POLL_S seconds and ends the process with os._exit when it
  changed (an orphan is re-parented to init or a subreaper). Solver kernels release the GIL (numba nogil), so the
  thread runs even inside a long kernel call: an orphan is gone within ~POLL_S.
Stdlib only: it runs before anything else is imported in the child.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

POLL_S = 0.25
EXIT_ORPHANED = 70  # the exit code of a child whose parent was gone (nobody reads it: its parent is dead)
_PR_SET_PDEATHSIG = 1


def set_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send `sig` to this process when its parent thread exits; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int, death_signal: bool = True, poll_s: float = POLL_S) -> None:
    """End this process when `parent_pid` (the process that started it) is gone: at once if it already is, else by
    the parent-death signal (`death_signal`, Linux) and a getppid() watchdog thread (everywhere)."""
    if death_signal:
        set_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(EXIT_ORPHANED)
    threading.Thread(target=_watch, args=(parent_pid, poll_s), name="openqio-lifeline", daemon=True).start()


def _watch(parent_pid: int, poll_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    os._exit(EXIT_ORPHANED)
