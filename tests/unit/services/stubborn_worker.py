"""Runner entry points for pool tests: real processes that misbehave on purpose (a solver that ignores its cancel
flag, one that dies mid-job). Started by RunnerPool through its `entry_point` setting."""
from __future__ import annotations

import os
import signal
import time

from contracts.runner import Progress, RunOutcome


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
        if request.params.get("mode") == "slow" or request.job_id.startswith("slow"):  # works until cancelled or
            # `seconds` pass (params, or a job id starting "slow" for jobs whose params a target checks); says which
            deadline = time.monotonic() + float(request.params.get("seconds", 3600))
            while time.monotonic() < deadline and not cancel_event.is_set():
                time.sleep(0.005)
            status = RunOutcome.CANCELLED if cancel_event.is_set() else RunOutcome.SUCCEEDED
            conn.send(("outcome", RunOutcome(job_id=request.job_id, status=status, result={"cost": 0})))
            continue
        result: dict = {"cost": 0}
        if request.params.get("mode") == "chatty":  # many progress messages in a row, then a result of several MiB
            for k in range(200):
                conn.send(("progress", Progress(request.job_id, 0.0, k, -float(k))))
            result["configuration"] = {str(i): 1 - 2 * (i % 2) for i in range(200_000)}
        if request.params.get("mode") == "torn":  # dies in the middle of a message
            conn._send(b"\x00\x00\x10\x00" + b"x" * 100)
            os._exit(4)
        conn.send(("outcome", RunOutcome(job_id=request.job_id, status=RunOutcome.SUCCEEDED, result=result)))


def failing_main(conn, cancel_event, threads):
    """A runner whose warm-up fails (what solver_runner.worker does then)."""
    conn.send(("failed", "WarmUpError: no solver today"))
    raise SystemExit(1)


def dying_main(conn, cancel_event, threads):
    """A runner that dies before it is ready (an import error, a segfault in the warm-up)."""
    os._exit(5)


FLAKY_FILE = "OPENQIO_TEST_FLAKY_FILE"


def flaky_main(conn, cancel_event, threads):
    """Fails its warm-up while the file named by $OPENQIO_TEST_FLAKY_FILE exists, then works as stubborn_main."""
    if os.path.exists(os.environ[FLAKY_FILE]):
        failing_main(conn, cancel_event, threads)
    stubborn_main(conn, cancel_event, threads)


def failing_warm_up():
    """A warm-up process that fails."""
    raise SystemExit(3)


def killed_warm_up():
    """A warm-up process the OOM killer (or anyone) SIGKILLs mid-compile."""
    os.kill(os.getpid(), signal.SIGKILL)
