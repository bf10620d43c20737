"""How much room is left on the disks that hold openqio's data: the job database's directory and, where the service
runs Azurite itself (`make run`, `openqio serve --with-azurite`), Azurite's data directory. An Azurite the service
does not run (Docker's, a remote one) keeps its data where this process cannot look.

`GET /dashboard/load` gives them (`disks`), `openqio load` and the dashboard show a disk running low, and the service
logs a warning when one starts to and a line when it has room again (seen at each read of the load, and every
CHECK_EVERY_S). Before, a filling disk showed only once it was full: the job database's when a commit failed
(services/jobs/group_commit.py), blob storage's when a finished job's result was refused (the dispatcher's
`results_waiting_for_space`), which, with no job ending, could be long after new inputs stopped fitting.

Low: less than LOW_FRACTION of the disk free, what this user may still write (statvfs's f_bavail), as SQLite and
Azurite see it.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOW_FRACTION = 0.05
CHECK_EVERY_S = 30.0  # how often the service looks, to log a disk that runs low

JOB_DATABASE = "the job database"
BLOB_STORAGE = "blob storage"


def size(n: float) -> str:
    """Bytes for people: 812 B, 3.4 MiB, 12.0 GiB."""
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} TiB"


@dataclass(frozen=True)
class Disk:
    holds: tuple[str, ...]  # what of openqio's data it holds (JOB_DATABASE, BLOB_STORAGE)
    free_bytes: int
    total_bytes: int
    path: str = ""  # the directory measured (for the operator's log; not in the load every workspace may read)

    @property
    def low(self) -> bool:
        return self.free_bytes < LOW_FRACTION * self.total_bytes

    def describe(self) -> str:
        share = 100 * self.free_bytes / self.total_bytes if self.total_bytes else 0.0
        return (f"the disk holding {' and '.join(self.holds)} has {size(self.free_bytes)} free of "
                f"{size(self.total_bytes)} ({share:.1f} %)")

    def as_json(self) -> dict[str, Any]:
        return {"holds": list(self.holds), "freeBytes": self.free_bytes, "totalBytes": self.total_bytes,
                "low": self.low}


class Disks:
    """The disks under `places` ({what: directory}); two places on one file system are one disk."""

    def __init__(self, places: dict[str, str | Path]):
        self.places = {what: Path(where) for what, where in places.items()}
        self._low: set[tuple[str, ...]] = set()

    @classmethod
    def of_service(cls, database_dir: Path, azurite_location: str | None = None) -> Disks:
        """The service's: its job database's folder, and Azurite's when the service runs it (one run apart keeps its
        data out of this process's sight)."""
        places: dict[str, str | Path] = {JOB_DATABASE: database_dir}
        if azurite_location:
            places[BLOB_STORAGE] = azurite_location
        return cls(places)

    def measure(self) -> list[Disk]:
        """Each disk's room now (a place that cannot be looked at, e.g. not made yet, is left out)."""
        found: dict[int, tuple[list[str], Path]] = {}
        for what, where in self.places.items():
            try:
                device = os.stat(where).st_dev
            except OSError:
                continue
            found.setdefault(device, ([], where))[0].append(what)
        disks = []
        for holds, where in found.values():
            try:
                usage = shutil.disk_usage(where)
            except OSError:
                continue
            disks.append(Disk(tuple(holds), usage.free, usage.total, str(where)))
        return disks

    async def check(self) -> list[Disk]:
        """Measure (statvfs in a thread: a hung network mount must not stop the event loop), and log each disk that
        has run low since the last check (a warning) or has room again."""
        disks = await asyncio.to_thread(self.measure)
        for disk in disks:
            if disk.low and disk.holds not in self._low:
                log.warning("%s, at %s: running low; once it is full, new jobs or their results wait until space "
                            "is freed", disk.describe(), disk.path)
            elif not disk.low and disk.holds in self._low:
                log.info("%s, at %s: room again", disk.describe(), disk.path)
        self._low = {disk.holds for disk in disks if disk.low}
        return disks

    async def watch(self, every_s: float = CHECK_EVERY_S) -> None:
        """Check every `every_s` seconds until cancelled."""
        while True:
            await self.check()
            await asyncio.sleep(every_s)
