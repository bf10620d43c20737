"""services/supervise.py on real processes: one service per data directory, children that die with the service,
and leftovers of a crashed run stopped at the next start (and nothing else, even where a pid was recycled)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.supervise import CHILDREN_FILE, Children, DataDirBusy, DataDirLock, die_with_parent, start_time


def test_a_second_holder_of_the_data_directory_is_refused_until_the_first_is_gone(tmp_path: Path):
    first = DataDirLock(tmp_path).acquire()
    with pytest.raises(DataDirBusy, match=r"another openqio \(pid \d+\) is running with data directory"):
        DataDirLock(tmp_path).acquire()
    first.release()
    DataDirLock(tmp_path).acquire().release()


def test_the_lock_goes_with_a_killed_holder(tmp_path: Path):
    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
from services.supervise import DataDirLock
DataDirLock({str(tmp_path)!r}).acquire()
print("held", flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DataDirBusy, match=f"pid {holder.pid}"):
            DataDirLock(tmp_path).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        DataDirLock(tmp_path).acquire().release()  # no stale lock file to clean up by hand
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_leftovers_of_a_crashed_run_are_stopped_and_recycled_pids_are_not(tmp_path: Path):
    leftover = subprocess.Popen(["sleep", "60"])
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        children = Children(tmp_path)
        children.record("azurite", leftover.pid)
        recorded = json.loads((tmp_path / CHILDREN_FILE).read_text())
        recorded["runner-0"] = {"pid": bystander.pid, "start": "0"}  # the pid now belongs to someone else
        (tmp_path / CHILDREN_FILE).write_text(json.dumps(recorded))
        assert Children(tmp_path).stop_leftovers(grace_s=5) == ["azurite"]
        assert leftover.wait(5) == -signal.SIGTERM
        assert bystander.poll() is None
        assert not (tmp_path / CHILDREN_FILE).exists()
        assert Children(tmp_path).stop_leftovers() == []
    finally:
        for p in (leftover, bystander):
            p.kill()
            p.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_spawned_with_die_with_parent_dies_when_its_parent_is_killed(tmp_path: Path):
    """The parent (a python process) spawns `sleep` with die_with_parent and is SIGKILLed: sleep gets SIGTERM."""
    parent = subprocess.Popen([sys.executable, "-c", f"""
import subprocess, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
from services.supervise import die_with_parent
child = subprocess.Popen(["sleep", "60"], start_new_session=True, preexec_fn=die_with_parent())
print(child.pid, flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert start_time(child) is not None
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 5
    while start_time(child) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    state = start_time(child)
    assert state is None or Path(f"/proc/{child}/stat").read_text().split(")")[1].split()[0] == "Z"
    assert die_with_parent() is not None
