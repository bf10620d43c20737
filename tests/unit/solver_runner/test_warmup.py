"""solver_runner.warmup: after it, no job compiles anything (split units and two threads included); it logs none of
the solvers' lines about jobs; a solver that fails on the warm-up problems fails the warm-up, naming it (a runner
then refuses to start); a cold one compiles in two processes on two cores, and a second process that stops leaves
no kernel out; caches of other solver sources unused for a month are removed."""
from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from numba.core import event

from contracts import targets
from contracts.problems import encode_json, problem_document
from contracts.runner import RunRequest
from solver_runner import entry, warmup
from solver_runner.solvers import SOLVERS
from solver_runner.solvers.base import splitting_every_unit


def test_no_job_compiles_anything_after_the_warm_up():
    warmup.warm()
    recorder = event.RecordingListener()
    event.register("numba:compile", recorder)
    try:
        docs = [problem_document("pubo", [(1.0, [0, 1, 2]), (-2.0, [1, 3]), (0.5, [2]), (1.5, [0, 3])]),
                # sparse and quadratic (rings): the multi-spin and the float32 / float64 lane kernels for every solver
                problem_document("pubo", [(float(i % 3 - 1 or 2), [i, (i + 1) % 15]) for i in range(15)]
                                 + [(-1.0, [0, 7]), (2.0, [3])]),
                problem_document("ising", [(0.3 * i - 1.1, [i, (i + 1) % 15]) for i in range(15)] + [(0.7, [4])]),
                problem_document("ising", [(float(70 * (i % 4) - 100), [i, (i + 1) % 15]) for i in range(15)]),
                problem_document("pubo", [(float(i % 5 - 2 or 3), [i, (i + 7) % 700]) for i in range(700)]),
                # dense, real couplings: SA's dense kernel
                problem_document("pubo", [(0.3 * i - 0.45 * j, [i, j]) for i in range(9) for j in range(i + 1, 9)])]
        quadratic = problem_document("pubo", [(1.0, [0, 2]), (-2.0, [1, 3]), (0.5, [2]), (1.5, [0, 3])])
        for index, doc in enumerate(docs):
            for target in SOLVERS:
                job_doc = quadratic if target in warmup.QUADRATIC_ONLY and index == 0 else doc  # (no degree 3 there)
                # SA also with many walkers and long runs: multi-spin coding and the dense kernel take only those
                runs = [None, {"restarts": 64, "sweeps": 300}] if target == targets.SA else [None]
                for (threads, split), run in itertools.product(((1, False), (2, False), (1, True), (2, True)), runs):
                    request = RunRequest("job", target, warmup._warm_params(target, run), encode_json(job_doc),
                                         threads=threads)
                    with splitting_every_unit() if split else contextlib.nullcontext():
                        assert entry.run(request, lambda: False, lambda p: None).status == "succeeded", target
    finally:
        event.unregister("numba:compile", recorder)
    assert sorted({e.data["dispatcher"].py_func.__qualname__ for _, e in recorder.buffer}) == []


def test_the_warm_up_keeps_the_solvers_lines_about_jobs_out_of_the_log(caplog):
    """Every runner warms up at every start: its ~170 runs' kernel choices and stops buried the service's lines."""
    def solver_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name.startswith("solver_runner.solvers.")]

    caplog.set_level(logging.INFO)
    warmup.warm()
    assert solver_lines() == []
    job = RunRequest("job", targets.SA, warmup._warm_params(targets.SA, warmup.LONG_SA_RUN),
                     encode_json(warmup.WARM_PROBLEMS[3]))
    assert entry.run(job, lambda: False, lambda p: None).status == "succeeded"
    assert any("Metropolis kernel: msc" in line for line in solver_lines())  # a job's lines show as before
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="solver_runner.solvers")  # OPENQIO_LOG_LEVEL=DEBUG: everything
    warmup.warm()
    assert len(solver_lines()) > 100


def test_a_cold_warm_up_compiles_half_the_groups_in_a_second_process(monkeypatch, capfd):
    """On two cores a first start compiles in two processes (76 s against 147 in one, measured on the 2-vCPU VM)."""
    monkeypatch.setattr(warmup, "_cores", lambda: 2)
    here: list[str] = []
    warmup.warm(lambda name, seconds: here.append(name), alongside=True, printing=True)
    alongside = [line for line in capfd.readouterr().out.splitlines() if line.endswith("alongside)")]
    assert sorted(line.strip().split(" (")[0] for line in alongside) == sorted(warmup.ALONGSIDE)
    assert here == [name for name, _ in warmup.GROUPS if name not in warmup.ALONGSIDE]
    assert warmup.is_warm()


def test_a_second_process_that_stops_costs_time_not_a_kernel(monkeypatch, caplog):
    """The warm-up loads every group once the other process is done, compiling what it left: a helper killed at once
    (the OOM killer, say) leaves a complete cache all the same."""
    def stopped(printing: bool):
        helper = multiprocessing.get_context("spawn").Process(target=os._exit, args=(3,))
        helper.start()
        return helper

    monkeypatch.setattr(warmup, "_cores", lambda: 2)
    monkeypatch.setattr(warmup, "_start_alongside", stopped)
    caplog.set_level(logging.WARNING, logger="solver_runner.warmup")
    recorder = event.RecordingListener()
    warmup.warm(alongside=True)
    assert "the solvers compiled alongside stopped (exit code 3)" in caplog.text
    event.register("numba:compile", recorder)  # and nothing is left to compile
    try:
        warmup.warm()
    finally:
        event.unregister("numba:compile", recorder)
    assert recorder.buffer == []


def test_caches_of_other_solver_sources_unused_for_30_days_are_removed(tmp_path):
    now = time.time()

    def cache(name: str, used_days_ago: float | None) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "anneal-1.nbi").write_bytes(b"index")
        if used_days_ago is not None:  # the marker a completed warm-up touches
            marker = folder / "warmed-numba-0.61.2"
            marker.touch()
            os.utime(marker, (now - used_days_ago * 86400,) * 2)
        os.utime(folder, (now - 400 * 86400,) * 2)
        return folder

    here = cache("openqio-0123456789abcdef", 400)  # this version's, however old its marker
    unused = cache("openqio-1111111111111111", 31)
    used = cache("openqio-2222222222222222", 29)
    filling = cache("openqio-3333333333333333", None)  # another version's first start, compiling into it
    not_ours = cache("openqio-not-a-digest", 100)
    assert warmup.prune_unused_caches(here, now) == [unused]
    assert [p.exists() for p in (here, unused, used, filling, not_ours)] == [True, False, True, True, True]


def test_a_solver_that_fails_fails_the_warm_up(monkeypatch):
    def broken(ctx):
        raise RuntimeError("no kernels today")

    monkeypatch.setitem(SOLVERS, targets.QMC, broken)
    with pytest.raises(warmup.WarmUpError, match="microsoft.qmc.cpu: SolverError: .*no kernels today"):
        warmup.warm()
