"""CPU accounting per process during a phase, from /proc (Linux): who spends the machine's cores.

`CpuMeter(named_pids)` snapshots user+system time of each process (and of its children, e.g. the runner processes
of the service) and the machine's busy/idle jiffies; `stop()` returns seconds of CPU per name and the machine's busy
share, so the table can say how much of each job's cost is the client, Azurite, the service and the runners, and
how much else was running. Where /proc is missing (not Linux), the figures are empty rather than guessed.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of one process, or None when it is gone or /proc is unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def command_name(pid: int) -> str:
    """The process's command name (/proc/<pid>/comm), "" when it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, PermissionError):
        return ""


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, PermissionError):
        return []


def machine_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot."""
    try:
        parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (FileNotFoundError, ValueError):
        return None
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts) - idle, sum(parts)


@dataclass
class CpuMeter:
    pids: dict[str, list[int]]  # name -> processes counted under that name
    start_cpu: dict[str, float] = field(default_factory=dict)
    start_machine: tuple[int, int] | None = None
    started: float = 0.0

    @classmethod
    def for_stack(cls, client_pid: int, components: dict[str, list[int]]) -> CpuMeter:
        """`components`: pids per name (benchmarks/service/stack.processes); the client is this process."""
        return cls({"client": [client_pid], **components})

    def _read(self) -> dict[str, float]:
        return {name: sum(v for v in (process_cpu_s(p) for p in pids) if v is not None) for name, pids in self.pids.items()}

    def start(self) -> CpuMeter:
        self.start_cpu = self._read()
        self.start_machine = machine_jiffies()
        self.started = time.monotonic()
        return self

    def stop(self) -> dict[str, float]:
        """CPU seconds per name over the phase, plus `wall_s`, `machine_busy_cores` (average busy cores, all
        processes) and `other_cores` (busy cores not accounted to the named processes: everything else running)."""
        wall = time.monotonic() - self.started
        now = self._read()
        out = {name: round(now[name] - self.start_cpu.get(name, 0.0), 3) for name in now}
        out["wall_s"] = round(wall, 3)
        end_machine = machine_jiffies()
        if self.start_machine and end_machine and end_machine[1] > self.start_machine[1]:
            busy = (end_machine[0] - self.start_machine[0]) / (end_machine[1] - self.start_machine[1])
            cores = os.cpu_count() or 1
            out["machine_busy_cores"] = round(busy * cores, 2)
            named = sum(v for k, v in out.items() if k in self.pids) / wall if wall > 0 else 0.0
            out["other_cores"] = round(max(0.0, busy * cores - named), 2)
        return out
