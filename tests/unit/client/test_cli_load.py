"""`openqio load`'s table (services/cli/render.py show_load) for the states GET /dashboard/load reports."""
from __future__ import annotations

from services.cli import render

LOAD = {"waiting": 3, "beingSubmitted": 0, "promised": 0, "pacePerSecond": None, "paceMeasured": False,
        "queueingDelaySeconds": 0.0, "uploadSeconds": 0.0, "admitting": True, "refusedSinceStart": 0,
        "limits": {"maxWaiting": 10000, "maxQueueDelaySeconds": None}, "runners": {"total": 2, "busy": 1},
        "diskFullSeconds": None, "blobDiskFull": None}


def test_new_jobs_row_says_admitted_at_capacity_or_disk_full(capsys):
    render.show_load(LOAD)
    assert "new jobs" in (admitted := capsys.readouterr().out) and "admitted" in admitted
    render.show_load({**LOAD, "admitting": False})
    assert "refused (429, Retry-After): at capacity" in capsys.readouterr().out
    render.show_load({**LOAD, "diskFullSeconds": 42})
    assert "refused (507): the job database's disk has been full for 42 s" in capsys.readouterr().out
    render.show_load({k: v for k, v in LOAD.items() if k != "diskFullSeconds"})  # an older service: no such field
    assert "admitted" in capsys.readouterr().out


def test_results_waiting_for_space_on_blob_storage_have_a_row_of_their_own(capsys):
    render.show_load(LOAD)
    assert "blob storage" not in capsys.readouterr().out
    render.show_load({**LOAD, "blobDiskFull": {"seconds": 42, "resultsWaiting": 3}})
    shown = " ".join(capsys.readouterr().out.split())  # (the table wraps long values)
    assert "blob storage its disk has been full for 42 s: 3 finished job(s) wait to store their results" in shown


def test_each_disk_has_a_row_and_a_low_one_says_so(capsys):
    room = {"holds": ["the job database", "blob storage"], "freeBytes": 30 << 30, "totalBytes": 40 << 30, "low": False}
    render.show_load({**LOAD, "disks": [room]})
    shown = " ".join(capsys.readouterr().out.split())
    assert "disk the disk holding the job database and blob storage has 30.0 GiB free of 40.0 GiB (75.0 %)" in shown
    assert "running low" not in shown
    low = {"holds": ["blob storage"], "freeBytes": 5 << 20, "totalBytes": 48 << 20, "low": True}
    render.show_load({**LOAD, "disks": [{**room, "holds": ["the job database"]}, low]})
    shown = " ".join(capsys.readouterr().out.split())
    assert "the disk holding the job database has 30.0 GiB free" in shown
    assert "the disk holding blob storage has 5.0 MiB free of 48.0 MiB (10.4 %): running low" in shown
    render.show_load(LOAD)  # an older service: no such field
    assert "the disk holding" not in capsys.readouterr().out
