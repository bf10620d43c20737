"""Issue 11 §5: `timeout` and cancel are honoured however expensive one sweep is.

The input of the report: 64 variables in 20 000 PUBO terms of degree 32, so every variable sits in ~10 000 terms
and one sweep of one walker costs ~27 ms (on the 2-core development VM). Chunks sized by variables × walkers made
one chunk of SA take minutes: `timeout: 2` ended DeadlineExceeded after 42 s. Every solver runs here with
`timeout: 2` and with a cancel.

What is asserted is the solver's CPU time (one numba thread), not wall time: the solver stops by the wall clock, so
on a busy machine its CPU time is less, never more, than the work it did; a chunk too large shows up the same way
on an idle or a loaded machine. Budget: timeout + 10 % (issue 11), and ≤ 1 s of work after a cancel.
"""
from __future__ import annotations

import threading
import time

import numba
import numpy as np
import pytest

from contracts import targets
from contracts.problems import decode_problem, encode_json, problem_document
from contracts.problems.model import ProblemData
from solver_runner import warmup
from solver_runner.model import compile_problem
from solver_runner.solvers import SOLVERS, SolveContext

TIMEOUT_S = 2.0
CANCEL_AFTER_S = 0.5


@pytest.fixture(scope="module")
def heavy_models():
    """(any degree, quadratic): the issue's PUBO, and for the quadratic-only Toshiba and 1QBit targets a dense one of
    2000 variables (one SB step of a loop's 160 runs, or one PTICM sweep of its 60 replicas, is 0.2-1 s of work)."""
    warmup.warm()  # compiled (or loaded) before anything is measured
    rng = np.random.default_rng(11)
    terms = [(float(rng.normal()), sorted(rng.choice(64, 32, replace=False).tolist())) for _ in range(20_000)]
    heavy = compile_problem(decode_problem(encode_json(problem_document("pubo", terms), compress=False)))
    n = 2000
    upper = np.triu(rng.normal(size=(n, n)), 1)
    i, j = np.nonzero(upper)
    # its 2·10⁶ terms as arrays, as a decoder returns them: through JSON they took 15-25 s of the suite
    dense = ProblemData("ising", upper[i, j], np.arange(0, 2 * i.size + 1, 2), np.column_stack([i, j]).ravel(),
                        np.zeros(0), np.zeros(1, np.int64), np.zeros(0), np.zeros(0, np.int64))
    return heavy, compile_problem(dense)


# runs longer than the test: the Toshiba and 1QBit targets' own stopping rules pushed out
ENDLESS = {targets.SBM: {"loops": 0}, targets.QBIT_TABU: {"improvement_cutoff": 10**9},
           targets.QBIT_PTICM: {"max_total_sweeps": 10**9}}


def context(models, target: str, params: dict, should_stop, deadline: float | None) -> SolveContext:
    """What solver_runner.entry.run builds, with one thread; `timeout` in seconds (1QBit's own unit: ms)."""
    numba.set_num_threads(1)
    params = {**params, **ENDLESS.get(target, {})}
    if "timeout" in params and targets.family_of(target) is targets.ONEQBIT:
        params["timeout"] = int(params["timeout"] * 1000)
    checked = targets.validate_params(target, targets.input_params_body(target, params))
    model = models[1] if target in warmup.QUADRATIC_ONLY else models[0]
    return SolveContext(model=model, params=checked, threads=1, seed=1, number_of_solutions=1,
                        timeout_s=targets.effective_timeout(target, checked), should_stop=should_stop,
                        report=lambda done, best: None, deadline=deadline)


@pytest.mark.parametrize("target", sorted(SOLVERS))
def test_timeout_is_kept_when_one_sweep_is_expensive(heavy_models, target):
    start = time.monotonic()
    deadline = start + TIMEOUT_S
    cpu0 = time.process_time()
    result = SOLVERS[target](context(heavy_models, target, {"timeout": TIMEOUT_S, "seed": 1},
                                     lambda: time.monotonic() >= deadline, deadline))
    cpu = time.process_time() - cpu0
    assert result.states and np.isfinite(result.costs[0])
    assert cpu <= 1.1 * TIMEOUT_S, f"{target}: {cpu:.2f} s of CPU for a {TIMEOUT_S} s timeout"


@pytest.mark.parametrize("target", sorted(SOLVERS))
def test_cancel_lands_within_a_second_when_one_sweep_is_expensive(heavy_models, target):
    cancelled = threading.Event()
    cpu_at_cancel: list[float] = []

    def cancel() -> None:
        cpu_at_cancel.append(time.process_time())
        cancelled.set()

    timer = threading.Timer(CANCEL_AFTER_S, cancel)
    timer.start()
    try:  # no timeout: only the cancel ends it (parameter-free targets: their run lengths are unbounded)
        result = SOLVERS[target](context(heavy_models, target, {"seed": 1}, cancelled.is_set, None))
    finally:
        timer.cancel()
    assert cancelled.is_set(), f"{target} finished before the cancel: make the run longer"
    work_after_cancel = time.process_time() - cpu_at_cancel[0]
    assert result.states
    assert work_after_cancel <= 1.0, f"{target}: {work_after_cancel:.2f} s of CPU after the cancel"


@pytest.mark.parametrize("target", [targets.SA, targets.PT, targets.TABU, targets.QMC, targets.PA])
def test_a_split_unit_gives_the_same_result(monkeypatch, target):
    """Splitting a unit into walker groups (what run_steps does when a unit outlasts a chunk) changes nothing: the
    same seed gives the same states and costs with every unit split as far as it goes, and with none split."""
    from solver_runner.solvers import base

    rng = np.random.default_rng(5)
    terms = [(float(rng.normal()), sorted(rng.choice(24, int(rng.integers(1, 4)), replace=False).tolist()))
             for _ in range(120)]
    model = compile_problem(decode_problem(encode_json(problem_document("pubo", terms), compress=False)))
    params = {"seed": 3, "sweeps": 40} if target != targets.PA else {"seed": 3, "sweeps": 40, "population": 16}

    def solve():
        result = SOLVERS[target](context((model, model), target, params, lambda: False, None))
        return [s.tobytes() for s in result.states], result.costs, result.sweeps_done

    monkeypatch.setattr(base.Chunker, "pieces", lambda self: 1)
    whole = solve()
    monkeypatch.setattr(base.Chunker, "pieces", lambda self: base.CHUNK_LIMIT)
    assert solve() == whole


def test_the_first_chunk_is_sized_by_the_estimate_or_split():
    """Before anything is timed: a unit estimated far below a chunk starts with a full chunk in one call (tiny jobs
    cost what they did), anything else with one unit split as far as it goes; past the deadline nothing starts."""
    from solver_runner.solvers.base import CHUNK_LIMIT, CHUNK_TARGET_S, Chunker

    tiny = Chunker(estimate_s=CHUNK_TARGET_S / 1000)
    assert tiny.pieces() == 1 and tiny.start(10**9) == 1000
    for estimate in (None, CHUNK_TARGET_S / 2, 30.0):
        unknown = Chunker(estimate_s=estimate)
        assert unknown.pieces() == CHUNK_LIMIT and unknown.start(10**9) == 1
    assert Chunker(deadline=time.monotonic() - 1.0, estimate_s=CHUNK_TARGET_S / 1000).start(10) == 0
