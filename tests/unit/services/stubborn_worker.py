"""Runner entry points for pool tests: real processes that misbehave on purpose (a solver that ignores its cancel
flag, one that dies mid-job). Started by RunnerPool through its `entry_point` setting."""
from __future__ import annotations

import os
import time

from contracts.runner import RunOutcome


def stubborn_main(conn, cancel_event, threads):
    conn.send(("ready", os.getpid()))
    while True:
        request = conn.recv()
        if request is None:
            return
        if request.params.get("mode") == "die":
            os._exit(3)
        if request.params.get("mode") == "ignore-cancel":
            time.sleep(3600)
        conn.send(("outcome", RunOutcome(job_id=request.job_id, status=RunOutcome.SUCCEEDED, result={"cost": 0})))
