"""Compile every numba kernel into the on-disk cache once, saying what it does, so no job pays JIT time.

A cold compile costs about 2.5 min of one core (118-147 s on the 2-vCPU VM of the README's timing); on two cores or
more the warm-up compiles about half the groups in a second process meanwhile (`warm(alongside=True)`: 76 s against
147 in the same hour); loading the cache takes about a second.
Three callers:
- the service: the runner pool runs `warm_up` in one spawned process before it starts any runner
  (services.dispatch.runner_pool), so N runners never compile the same kernels in parallel, and the log says
  "compiling solvers (first start only, ...)" with one line per solver group while it does;
- `python -m solver_runner.warmup`: the same with progress lines on stdout (`make test`, the Docker build);
- every runner (`worker.worker_main` → `warm`) before it reports ready: then it only loads the cache, and a runner
  whose solvers fail on the warm-up problems refuses to start (WarmUpError) instead of failing every job.

`warm` runs every target on small problems that reach every kernel signature a job reaches: for the Microsoft
targets seven (ising with a degree-3 term; pubo with a grouped term; a dense pubo; three sparse rings, with small
integer couplings on 600 variables, real ones and large integer ones: the rings take the multi-spin, the float32 and
float64 lane and the tree tabu kernels; the dense pubo and the small rings the gains tabu kernel; a dense ising with
real couplings SA's dense kernel), for the quadratic-only Toshiba and 1QBit targets three (ising with a field,
sparse and dense pubo). Every model has the same array types, and the flags `ising`, `has_higher`, `has_slc` are
plain booleans; some problems run again with every unit split into walker groups (what heavy inputs do,
solvers.base.run_steps). A marker file in the cache directory (per numba version)
records a complete warm-up: its absence is how a first start is recognised.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numba

from contracts import logformat, targets
from contracts.errors import NO_SPACE
from contracts.problems import decode_problem, encode_json, problem_document
from contracts.runner import RunOutcome, RunRequest
from solver_runner import KEYED, entry
from solver_runner.model import compile_problem
from solver_runner.numba_cache import could_not_save, said
from solver_runner.solvers import SOLVERS, SolveContext
from solver_runner.solvers.annealing import run_tempering
from solver_runner.solvers.base import splitting_every_unit

log = logging.getLogger(__name__)

# Solver groups in the order they are compiled; one progress line each. Parameter-free targets reuse their
# parameterised kernels, so they cost nothing once their group is compiled.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("simulated annealing", (targets.SA, targets.SA_PF)),
    ("parallel tempering", (targets.PT, targets.PT_PF)),
    ("tabu search", (targets.TABU, targets.TABU_PF)),
    ("population annealing", (targets.PA, targets.PA_PF)),
    ("substochastic Monte Carlo", (targets.SSMC, targets.SSMC_PF)),
    ("quantum Monte Carlo", (targets.QMC,)),
    ("simulated bifurcation", (targets.SBM,)),
    ("1QBit tabu and path relinking", (targets.QBIT_TABU, targets.QBIT_PR)),
    ("1QBit PTICM", (targets.QBIT_PTICM,)),
)
COLD_ESTIMATE = "1-3 min"  # `warm` from cold: 76-147 s on the 2-vCPU VM, one or two processes

WARM_PROBLEMS = (
    problem_document("ising", [(1.0, [0, 1]), (-1.0, [1]), (0.5, [0, 1, 2])]),
    problem_document("pubo", [(1.0, [0, 1]), (-1.0, [1])], slc_terms=[(1.0, [(1.0, [0]), (-1.0, [])])]),
    problem_document("pubo", [(1.0, [i, j]) for i in range(4) for j in range(i + 1, 4)]),
    # sparse rings (density < model.DENSE_MIN_DENSITY): small integer couplings take the multi-spin SA kernel and
    # float32 lanes (PT, PA), large integer ones float32 lanes for SA too, real ones float64 lanes
    # (solvers.lanes.choose_kernel); 600 variables take the tree tabu kernel (solvers.walkers.tabu_tree_fits)
    problem_document("ising", [(float((-1) ** i), [i, (i + 1) % 600]) for i in range(600)] + [(1.0, [0])]),
    problem_document("pubo", [(0.1 * (i + 1), [i, (i + 1) % 12]) for i in range(12)] + [(-0.3, [0])]),
    problem_document("pubo", [(float(100 * (i % 3) - 90), [i, (i + 1) % 12]) for i in range(12)] + [(7.0, [3])]),
    # dense with real couplings: SA's dense kernel (solvers.dense; the dense pubo above takes multi-spin coding)
    problem_document("ising", [(round(0.37 * (i - j) + 0.11 * i, 2), [i, j]) for i in range(6) for j in range(i + 1, 6)]
                     + [(0.2, [1])]),
)
# The Toshiba and 1QBit targets take quadratic problems only: ising with a field, sparse pubo, dense pubo.
QUADRATIC_WARM_PROBLEMS = (
    problem_document("ising", [(1.0, [0, 1]), (-1.0, [1]), (0.5, [1, 2])]),
    problem_document("pubo", [(1.0, [0, 1]), (-1.0, [1]), (2.0, [2, 3])]),
    WARM_PROBLEMS[2],
)
QUADRATIC_ONLY = frozenset(targets.TOSHIBA_TARGETS + targets.ONEQBIT_TARGETS)


class WarmUpError(RuntimeError):
    """A solver failed on the warm-up problems: a runner in this state cannot solve (message: which, and why)."""


def cache_dir() -> Path:
    return Path(numba.config.CACHE_DIR)


def _marker() -> Path:
    return cache_dir() / f"warmed-numba-{numba.__version__}"


def is_warm() -> bool:
    """True once a warm-up completed into this cache directory (same sources, same numba)."""
    return _marker().is_file()


def cached_functions(directory: Path) -> int:
    """Numba writes one index file (*.nbi) per cached function."""
    return sum(1 for _ in directory.rglob("*.nbi")) if directory.is_dir() else 0


def warm_runs(target: str) -> list[tuple[dict, bool, dict]]:
    """`target`'s warm-up runs, (problem, split every unit, parameters): every kernel signature its jobs reach."""
    if target in QUADRATIC_ONLY:
        runs = [(doc, False) for doc in QUADRATIC_WARM_PROBLEMS] + [(QUADRATIC_WARM_PROBLEMS[0], True)]
    else:
        runs = [(doc, False) for doc in WARM_PROBLEMS] + [(WARM_PROBLEMS[i], True) for i in (0, 3, 4, 5)]
    params = _warm_params(target)
    warm = [(doc, split, params) for doc, split in runs]
    if target == targets.SA:  # short runs with few walkers reach neither multi-spin coding nor the dense kernel
        long = _warm_params(target, LONG_SA_RUN)
        warm += [(doc, split, long) for doc, split in runs]
    return warm


_SHORT_RUNS = {
    targets.SSMC: {"step_limit": 2},
    targets.SBM: {"steps": 2},
    targets.QBIT_TABU: {"improvement_cutoff": 2},
    targets.QBIT_PR: {"ref_set_count": 2},
    targets.QBIT_PTICM: {"max_total_sweeps": 4, "num_sweeps_per_run": 2, "num_temps": 2},
}


# SA with walkers enough for multi-spin coding on any bit planes (solvers.lanes.msc_min_walkers) and long enough for
# the dense kernel on the warm-up's dense problems (solvers.dense.dense_fits: 64 · 200 · 4 ≥ 50 000 + 4²/4).
LONG_SA_RUN = {"restarts": 64, "sweeps": 200}


def _warm_params(target: str, run: dict | None = None) -> dict:
    """A short run's parameters (or `run`'s), validated as the service would (1QBit's arrive as text)."""
    if target in targets.PARAMETER_FREE:
        return {"seed": 1, "timeout": 0.01}
    params = {"seed": 1, **(run or _SHORT_RUNS.get(target, {"sweeps": 2}))}
    return targets.validate_params(target, targets.input_params_body(target, params))


@contextlib.contextmanager
def _quiet_solvers() -> Iterator[None]:
    """The solvers' INFO lines (a kernel's choice, a parameter-free run's stop) are about jobs: the warm-up's runs
    printed ~170 of them at every start of every runner, burying the service's own lines. Warnings still show,
    and with OPENQIO_LOG_LEVEL=DEBUG everything does."""
    solvers = logging.getLogger("solver_runner.solvers")
    level = solvers.level
    if not solvers.isEnabledFor(logging.DEBUG):
        solvers.setLevel(logging.WARNING)
    try:
        yield
    finally:
        solvers.setLevel(level)


# The groups a second process compiles on a cold start with two cores or more, while the warm-up compiles the rest:
# the two shares take about as long (70 and 80 s, measured together: 82.5 s to both done, against 147 s in one
# process; the kernels both need are compiled twice).
ALONGSIDE = ("tabu search", "population annealing", "simulated bifurcation", "1QBit tabu and path relinking",
             "1QBit PTICM")


def warm(progress: Callable[[str, float], None] | None = None, alongside: bool = False,
         printing: bool = False) -> None:
    """Run every solver on the warm-up problems (compiling, or loading from the cache, every kernel);
    progress(group, seconds) after each group it compiles. Raises WarmUpError naming every failure.

    `alongside` (a cold cache): on two cores or more, a second process (`compile_alongside`, tied to this one's
    life) compiles the ALONGSIDE groups meanwhile, its lines printed (`printing`) or logged; this one then runs every
    group once more, loading what the other compiled (about a second) and compiling whatever it left undone, so its
    failure costs time, never a kernel."""
    assert {t for _, group in GROUPS for t in group} == set(SOLVERS), "a solver is missing from GROUPS"
    with _quiet_solvers():
        helper = _start_alongside(printing) if alongside and _cores() >= 2 else None
        if helper is None:
            _warm(progress, GROUPS)
        else:
            log.info("compiling %s alongside (pid %s)", ", ".join(ALONGSIDE), helper.pid)
            try:
                _warm(progress, tuple(g for g in GROUPS if g[0] not in ALONGSIDE))
            except BaseException:  # a failed solver, Ctrl-C: the start fails, the helper's work is moot
                helper.kill()
                raise
            finally:
                helper.join()
            if helper.exitcode != 0:
                log.warning("the solvers compiled alongside stopped (exit code %s); compiling what they left here",
                            helper.exitcode)
            _warm(None, GROUPS)
    _mark_warm()


def _mark_warm() -> None:
    """The marker of a warm-up that completed into the cache; none where numba could not save what it compiled
    (solver_runner.numba_cache), so that the next start says it compiles, and does."""
    if could_not_save():
        return
    try:
        _marker().touch()
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        said(str(cache_dir()), exc)


def _cores() -> int:
    return os.cpu_count() or 1  # as the runner count's default counts them (services.config)


def _start_alongside(printing: bool) -> multiprocessing.process.BaseProcess:
    level, fmt = logformat.current()
    helper = multiprocessing.get_context("spawn").Process(
        target=logformat.child_entry, args=(level, fmt, "solver_runner.warmup:compile_alongside", printing),
        kwargs={"parent_pid": os.getpid()}, name="openqio-warmup-alongside")
    helper.start()
    return helper


def compile_alongside(printing: bool) -> None:
    """The second process of a cold warm-up: compile the ALONGSIDE groups, one line each (printed, for `python -m
    solver_runner.warmup`, else logged); what fails here is compiled, or reported, by the warm-up itself."""
    def progress(name: str, seconds: float) -> None:
        if printing:
            print(f"  {name} ({seconds:.1f} s, alongside)", flush=True)
        else:
            log.info("solvers compiled alongside: %s (%.1f s)", name, seconds)

    with _quiet_solvers():
        _warm(progress, tuple(g for g in GROUPS if g[0] in ALONGSIDE))


def _warm(progress: Callable[[str, float], None] | None,
          groups: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    failures = []
    for name, group in groups:
        started = time.perf_counter()
        for target in group:
            for doc, split, params in warm_runs(target):
                request = RunRequest(job_id="warm-up", target=target, params=params,
                                     input_data=encode_json(doc, compress=False))
                with splitting_every_unit() if split else contextlib.nullcontext():  # heavy inputs split units
                    outcome = entry.run(request, lambda: False, lambda p: None)
                if outcome.status != RunOutcome.SUCCEEDED:
                    failures.append(f"{target}: {outcome.error_code}: {outcome.error_message}")
                    break
        if targets.PT in group:  # the parallel replica kernels: the tiny problems are below their work threshold
            for doc in (WARM_PROBLEMS[0], *WARM_PROBLEMS[3:]):
                model = compile_problem(decode_problem(encode_json(doc, compress=False)))
                ctx = SolveContext(model, {}, 1, 1, 1, None, lambda: False, lambda done, best: None)
                run_tempering(ctx, [0.5, 1.0, 2.0, 4.0], 2, parallel=True)
        if progress is not None:
            progress(name, time.perf_counter() - started)
    if failures:
        raise WarmUpError("; ".join(failures))


UNUSED_CACHE_DAYS = 30


def prune_unused_caches(here: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove the caches of other solver sources (an older openqio, an edited solver) beside `here` (this one) that
    no runner started from for UNUSED_CACHE_DAYS: 12-14 MB each, and every upgrade left one behind. A warm-up touches
    its cache's marker whenever it completes, at every runner's start; a cache without a marker may be another
    version's first start filling it, and is left alone, as is anything not named as a keyed cache."""
    here = here or cache_dir()
    cutoff = (time.time() if now is None else now) - UNUSED_CACHE_DAYS * 86400
    removed = []
    for other in sorted(here.parent.iterdir()):
        if other == here or not KEYED.fullmatch(other.name) or not other.is_dir():
            continue
        used = [marker.stat().st_mtime for marker in other.glob("warmed-numba-*")]
        if used and max(used) < cutoff:
            shutil.rmtree(other, ignore_errors=True)
            removed.append(other)
    return removed


def warm_up() -> None:
    """The runner pool's warm-up process: `warm` with log lines (a first start says so, and reports each group),
    then `prune_unused_caches`."""
    cold = not is_warm()
    if cold:
        log.info("compiling solvers (first start only, %s); numba cache: %s", COLD_ESTIMATE, cache_dir())
    started = time.perf_counter()

    def progress(name: str, seconds: float) -> None:
        log.log(logging.INFO if cold else logging.DEBUG, "solvers compiled: %s (%.1f s)", name, seconds)

    try:
        warm(progress, alongside=cold)
    except WarmUpError as exc:
        log.error("solver warm-up failed: %s", exc)
        sys.exit(1)
    log.info("solvers ready in %.1f s%s", time.perf_counter() - started, " (compiled)" if cold else " (cached)")
    try:
        removed = prune_unused_caches()
    except OSError as exc:  # housekeeping: never a reason not to start
        log.warning("could not look for unused solver caches beside %s: %s", cache_dir(), exc)
    else:
        if removed:
            log.info("removed %d solver cache(s) unused for %d days: %s", len(removed), UNUSED_CACHE_DAYS,
                     ", ".join(p.name for p in removed))


def main() -> int:
    """`python -m solver_runner.warmup`: prints progress and where the cache is; 1 when a solver failed or not all
    was cached (a cache directory that cannot be written, or a full disk: solver_runner.numba_cache)."""
    started = time.perf_counter()
    cold = not is_warm()
    if cold:
        print(f"compiling solvers (first start only, {COLD_ESTIMATE}) into {cache_dir()}", flush=True)

    def progress(name: str, seconds: float) -> None:
        print(f"  {name} ({seconds:.1f} s)", flush=True)

    try:
        warm(progress if cold else None, alongside=cold, printing=True)
    except WarmUpError as exc:
        print(f"solver warm-up failed: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    if could_not_save():
        print(f"the solvers ran, but the numba cache in {cache_dir()} could not be saved (the warning above says why): "
              f"they compile again at every start ({elapsed:.1f} s)", file=sys.stderr)
        return 1
    count = cached_functions(cache_dir())
    print(f"numba cache warmed: {count} cached functions in {cache_dir()} ({elapsed:.1f} s)")
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main())
