"""contracts.lifeline: a child dies with its parent, also when the parent is SIGKILLed, also inside a long nogil
numba call (the watchdog), and at once when its parent was gone before it armed itself."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contracts import lifeline

ROOT = Path(__file__).resolve().parents[3]

# The child: arm the lifeline, say so, then block the main thread (a nogil numba loop, or a sleep).
CHILD = """
import os, sys, time
from contracts.lifeline import die_with_parent
die_with_parent(os.getppid(), death_signal={death_signal}, poll_s={poll_s})
if {nogil}:
    from numba import njit

    @njit(nogil=True)
    def spin(seconds):
        x = 0.0
        for i in range(int(seconds * 3e8)):
            x += i * 1e-9
        return x

    spin(0.0)  # compiled before 'armed', so the kill lands inside the kernel
print("armed", flush=True)
spin(120.0) if {nogil} else time.sleep(120)
"""

# The parent: start the child, print its pid once armed, then wait to be killed.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "armed"
print(child.pid, flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that never comes, e.g. PID 1 of a container, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def orphan_after_parent_sigkill(death_signal: bool, nogil: bool, poll_s: float = lifeline.POLL_S) -> int:
    """SIGKILL the parent of an armed child; the child's pid."""
    code = CHILD.format(death_signal=death_signal, nogil=nogil, poll_s=poll_s)
    with subprocess.Popen([sys.executable, "-c", PARENT, code], cwd=ROOT, stdout=subprocess.PIPE, text=True) as parent:
        try:
            child_pid = int(parent.stdout.readline())
        finally:
            parent.kill()
            parent.wait(timeout=10)
    return child_pid


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)  # do not leave it behind
            return False
        time.sleep(0.05)
    return True


def test_the_watchdog_ends_an_orphan_inside_a_nogil_numba_call():
    pid = orphan_after_parent_sigkill(death_signal=False, nogil=True)
    assert gone_within(pid, 5.0), "the orphan outlived its parent"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_the_death_signal_ends_an_orphan_blocked_in_a_sleep():
    assert lifeline.set_death_signal(0)  # supported here (0 disarms it again for this process)
    pid = orphan_after_parent_sigkill(death_signal=True, nogil=False, poll_s=3600)  # the watchdog sleeps
    assert gone_within(pid, 5.0), "the orphan outlived its parent"


def test_a_child_whose_parent_is_already_gone_exits_at_once():
    code = "from contracts.lifeline import die_with_parent; die_with_parent(1 << 22); import time; time.sleep(60)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60)
    assert result.returncode == lifeline.EXIT_ORPHANED
