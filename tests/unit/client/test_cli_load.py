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
