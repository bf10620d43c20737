"""Processes that die with the service, and a data directory that one service at a time owns.

- `DataDirLock`: an exclusive `flock` on DATA_DIR/service.lock, held for the service's whole life. The kernel drops
  it when the process dies, however it dies, so a second `openqio serve` on the same data directory is refused with
  the holder's pid while the first runs, and proceeds once it is gone (crashed or not).
- `die_with_parent()`: a `preexec_fn` that makes a child get a signal when the service dies (Linux
  `PR_SET_PDEATHSIG`). The kernel sends it when the *thread* that forked the child exits, so children are spawned
  from the event loop's (main) thread.
- `Children`: the pid and start time of every process the service started, kept in DATA_DIR/children.json. A
  start-up that holds the lock stops what an earlier, crashed run of the same data directory left running (a
  process is ours only if both its pid and its start time match, so a recycled pid is never touched).
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = "service.lock"
CHILDREN_FILE = "children.json"
_PR_SET_PDEATHSIG = 1


class DataDirBusy(RuntimeError):
    pass


class DataDirLock:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise DataDirBusy(f"another openqio (pid {holder}) is running with data directory {self.path.parent}; "
                                  "stop it first, or give this one its own OPENQIO_DATA_DIR") from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl


_PRCTL = _prctl()


def die_with_parent(sig: int = signal.SIGTERM):
    """A `preexec_fn` for subprocess.Popen: the child gets `sig` when the thread that spawned it (spawn from the main
    thread) dies. None where the system has no such call: `Children` then stops leftovers at the next start."""
    if _PRCTL is None:
        return None
    parent = os.getpid()

    def preexec() -> None:  # runs in the child between fork and exec: only the async-signal-safe minimum here
        _PRCTL(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the service died before prctl took effect
            os._exit(1)

    return preexec


def start_time(pid: int) -> str | None:
    """The process's start time as the kernel counts it (clock ticks since boot; Linux), or its `ps` start time
    elsewhere; None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:  # not Linux: ask ps
        import subprocess

        out = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class Children:
    """DATA_DIR/children.json: {name: {"pid", "start"}} of the processes this service started."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / CHILDREN_FILE
        self._known: dict[str, dict[str, object]] = {}

    def record(self, name: str, pid: int) -> None:
        self._known[name] = {"pid": pid, "start": start_time(pid)}
        self._save()

    def forget(self, name: str) -> None:
        if self._known.pop(name, None) is not None:
            with contextlib.suppress(OSError):  # (a full disk at shutdown) an entry left behind is harmless: the
                self._save()                     # next start stops only a process of that pid and start time

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._known))
        os.replace(tmp, self.path)

    def stop_leftovers(self, grace_s: float = 5.0) -> list[str]:
        """Stop every recorded process that still runs (a crashed run's); returns their names. Call with the lock."""
        try:
            recorded = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            recorded = {}
        alive = {}
        for name, entry in recorded.items() if isinstance(recorded, dict) else ():
            pid, started = entry.get("pid"), entry.get("start")
            if isinstance(pid, int) and started is not None and start_time(pid) == started:
                alive[name] = pid
        for name, pid in alive.items():
            log.warning("stopping %s (pid %d), left running by an earlier openqio that did not stop cleanly", name, pid)
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while alive and time.monotonic() < deadline and any(_exists(pid) for pid in alive.values()):
            time.sleep(0.05)
        for pid in alive.values():
            if _exists(pid):
                _signal(pid, signal.SIGKILL)
        self.path.unlink(missing_ok=True)
        return sorted(alive)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _exists(pid: int) -> bool:
    """True while `pid` runs (a zombie whose parent is gone is reaped by init soon and counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
