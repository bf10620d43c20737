"""services/disks.py: the room left on the disks under openqio's data, one entry per file system, low under 5 % free,
logged once when a disk runs low and once when it has room again."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from services import disks
from services.disks import BLOB_STORAGE, JOB_DATABASE, Disk, Disks, size

GIB = 1 << 30


def usage(total: int, free: int):
    return shutil._ntuple_diskusage(total, total - free, free)


@pytest.fixture
def two_places(tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "blobs").mkdir()
    return {JOB_DATABASE: tmp_path / "db", BLOB_STORAGE: tmp_path / "blobs"}


def test_one_file_system_is_one_disk_and_two_are_two(two_places, monkeypatch):
    measured = Disks(two_places).measure()
    assert [d.holds for d in measured] == [(JOB_DATABASE, BLOB_STORAGE)]  # tmp_path: one file system
    real = shutil.disk_usage(two_places[JOB_DATABASE])
    assert measured[0].total_bytes == real.total and measured[0].path == str(two_places[JOB_DATABASE])

    stat = os.stat

    def two_devices(path, *args, **kwargs):
        result = stat(path, *args, **kwargs)
        if Path(path) == two_places[BLOB_STORAGE]:
            return os.stat_result((*result[:2], result.st_dev + 1, *result[3:]))
        return result

    monkeypatch.setattr(disks.os, "stat", two_devices)
    assert [d.holds for d in Disks(two_places).measure()] == [(JOB_DATABASE,), (BLOB_STORAGE,)]


def test_a_place_not_there_is_left_out(tmp_path):
    assert Disks({BLOB_STORAGE: tmp_path / "not-made-yet"}).measure() == []


@pytest.mark.parametrize(("total", "free", "low"), [
    (100 * GIB, 6 * GIB, False), (100 * GIB, 4 * GIB, True), (48 << 20, 47 << 20, False), (48 << 20, 2 << 20, True),
    (48 << 20, 0, True), (0, 0, False),
])
def test_low_is_under_5_percent_free(total, free, low):
    assert Disk((JOB_DATABASE,), free, total).low is low


def test_it_says_what_the_disk_holds_and_how_much_room(two_places, monkeypatch):
    monkeypatch.setattr(disks.shutil, "disk_usage", lambda where: usage(40 * GIB, 1288 << 20))
    disk, = Disks(two_places).measure()
    assert disk.describe() == "the disk holding the job database and blob storage has 1.3 GiB free of 40.0 GiB (3.1 %)"
    assert disk.as_json() == {"holds": ["the job database", "blob storage"], "freeBytes": 1288 << 20,
                              "totalBytes": 40 * GIB, "low": True}  # no path: every workspace may read the load
    assert [size(n) for n in (812, 3.4 * 1024 * 1024, 12 * GIB, 5000 * GIB)] == [
        "812 B", "3.4 MiB", "12.0 GiB", "4.9 TiB"]


async def test_a_disk_running_low_is_logged_once_and_its_room_again_once(two_places, monkeypatch, caplog):
    free = [10 * GIB]
    monkeypatch.setattr(disks.shutil, "disk_usage", lambda where: usage(40 * GIB, free[0]))
    watched = Disks(two_places)
    caplog.set_level(logging.INFO, logger="services.disks")
    for room in (10 * GIB, 1 * GIB, 1 * GIB, 512 << 20, 10 * GIB, 10 * GIB):
        free[0] = room
        assert (await watched.check())[0].free_bytes == room
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in said] == [logging.WARNING, logging.INFO]
    assert f"has 1.0 GiB free of 40.0 GiB (2.5 %), at {two_places[JOB_DATABASE]}: running low" in said[0][1]
    assert said[1][1].endswith(f"has 10.0 GiB free of 40.0 GiB (25.0 %), at {two_places[JOB_DATABASE]}: room again")
