"""Toshiba SBM and 1QBit PTICM against our SA and PT and dwave-samplers: `python -m benchmarks.catalog [--quick]`.

Prints one table (every row from this run) and writes it to .bench/catalog.json. Sections:

1. Time to target on the Gset max-cut instances G1, G11, G14 of the shared data set (`--data`, default
   ../shared/data; best-known cuts from its manifest). Contenders, each single-threaded, `--repeats` runs with
   different seeds, each stopped at the best-known cost or after `--budget` seconds: discrete SB and ballistic SB
   (toshiba.sbm.ising: loops 0, target = the best-known cost, steps automatic), our SA (runs of SA_SWEEPS sweeps, one
   restart, its model-derived β range, run after run), our PT (one run, default ladder), dwave-samplers'
   SimulatedAnnealingSampler (reads of SA_SWEEPS sweeps, its default β range, read after read); plus discrete SB on
   every core. A run's time is wall time from the solver call to the moment it holds the target (our solvers: the
   first progress report at or below it; dwave: the read that found it). Reported: median time over the runs that
   reached it and how many did; for the others the best cut found within the budget.
2. PTICM vs PT on a 2-D ±J torus (TORUS_SIDE², generated from a seed, ground state unknown): 1qbit.pticm (its
   defaults, sweeps unbounded) and our PT (its defaults), single-threaded, `--repeats` seeds each for `--budget`
   seconds: median best cost at TORUS_CHECKPOINTS, and the median time to the best cost any run of either reached.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from benchmarks import instances as I
from benchmarks import libs as L
from benchmarks.report import Table
from contracts import targets
from contracts.problems import ProblemData, decode_problem, encode_json
from solver_runner.model import compile_problem
from solver_runner.solvers import SOLVERS, SolveContext

OUT = I.ROOT / ".bench" / "catalog.json"
GSET = ("gset_G1", "gset_G11", "gset_G14")
SA_SWEEPS = 4000  # sweeps per SA run (ours and dwave-samplers'): 50 % of dwave's reads reach G1's best cut
TORUS_SIDE, TORUS_SEED = 32, 7
TORUS_CHECKPOINTS = (0.5, 2.0)  # seconds; the budget is the last checkpoint
COLUMNS = (
    ("section", "sec", "{}"), ("instance", "instance", "{}"), ("solver", "solver", "{}"),
    ("threads", "thr", "{}"), ("median_s", "median s", "{:.2f}"), ("reached", "reached", "{}"),
    ("best", "best cost", "{:.6g}"), ("reference", "reference", "{}"), ("note", "note", "{}"),
)


@dataclass
class Trace:
    """One run: when it first held a cost ≤ the goal (None: never), and the best cost it had at each checkpoint."""

    reached_s: float | None = None
    best: float = np.inf
    at: dict[float, float] = field(default_factory=dict)
    times: list[tuple[float, float]] = field(default_factory=list)  # (seconds, best so far) at each report


def log(msg: str) -> None:
    print(f"[catalog {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def default_data_dir() -> Path:
    for base in (I.ROOT.parent, I.ROOT.parent.parent):
        if (base / "shared" / "data" / "manifest.json").is_file():
            return base / "shared" / "data"
    return I.ROOT.parent / "shared" / "data"


def run_ours(target: str, problem: ProblemData, params: dict, goal: float, budget: float, seed: int,
             threads: int = 1, model=None) -> Trace:
    """One run of one of our solvers as the runner makes it (parameters validated as the service does), stopped at
    the goal or the budget."""
    numba.set_num_threads(threads)
    model = model or compile_problem(problem)
    checked = targets.validate_params(target, targets.input_params_body(target, params))
    trace = Trace()
    t0 = time.perf_counter()
    deadline = time.monotonic() + budget

    def report(done: int, best: float) -> None:
        elapsed = time.perf_counter() - t0
        trace.best = min(trace.best, best)
        trace.times.append((elapsed, trace.best))
        if trace.reached_s is None and trace.best <= goal:
            trace.reached_s = elapsed

    ctx = SolveContext(model, checked, threads, seed, 1, budget,
                       lambda: trace.reached_s is not None or time.monotonic() >= deadline, report, deadline)
    result = SOLVERS[target](ctx)
    report(0, float(result.costs[0]))
    return trace


def repeat_runs(one_run, budget: float, goal: float) -> Trace:
    """Annealing runs one after another (each `one_run(seconds left, k)` → best cost) until the goal or budget."""
    trace = Trace()
    t0 = time.perf_counter()
    k = 0
    while trace.reached_s is None and (left := budget - (time.perf_counter() - t0)) > 0:
        trace.best = min(trace.best, one_run(left, k))
        k += 1
        if trace.best <= goal:
            trace.reached_s = time.perf_counter() - t0
    return trace


def ours_sa(problem: ProblemData, goal: float, budget: float, seed: int) -> Trace:
    model = compile_problem(problem)
    return repeat_runs(lambda left, k: run_ours(targets.SA, problem, {"sweeps": SA_SWEEPS, "restarts": 1}, goal, left,
                                                seed * 1000 + k, model=model).best, budget, goal)


def dwave_sa(bqm, goal: float, budget: float, seed: int) -> Trace:
    from dwave.samplers import SimulatedAnnealingSampler

    sampler = SimulatedAnnealingSampler()
    return repeat_runs(lambda left, k: float(sampler.sample(bqm, num_reads=1, num_sweeps=SA_SWEEPS,
                                                            seed=seed * 1000 + k).first.energy), budget, goal)


def dimod_bqm(problem: ProblemData):
    """The problem as dimod's BinaryQuadraticModel (degree ≤ 2), its constant included."""
    import dimod

    linear: dict[int, float] = {}
    quadratic: dict[tuple[int, int], float] = {}
    offset = 0.0
    for c, ids in problem.terms():
        if not ids:
            offset += c
        elif len(ids) == 1:
            linear[ids[0]] = linear.get(ids[0], 0.0) + c
        else:
            key = (min(ids), max(ids))
            quadratic[key] = quadratic.get(key, 0.0) + c
    return dimod.BinaryQuadraticModel(linear, quadratic, offset, "SPIN" if problem.is_ising else "BINARY")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


Run = Callable[[int, float], Trace]  # (seed, budget) -> one run


def gset_contenders(problem: ProblemData, goal: float, cores: int) -> list[tuple[str, int, Run]]:
    sbm = {"loops": 0, "target": goal}

    def sb(extra: dict, threads: int = 1) -> Run:
        return lambda seed, budget: run_ours(targets.SBM, problem, {**sbm, "timeout": budget, **extra}, goal, budget,
                                             seed, threads=threads)

    out: list[tuple[str, int, Run]] = [
        ("dSB (toshiba.sbm.ising)", 1, sb({})),
        ("bSB (toshiba.sbm.ising, algo 1.5)", 1, sb({"algo": "1.5"})),
        (f"ours SA ({SA_SWEEPS} sweeps a run)", 1, lambda seed, budget: ours_sa(problem, goal, budget, seed)),
        ("ours PT (defaults)", 1,
         lambda seed, budget: run_ours(targets.PT, problem, {"sweeps": 10**9}, goal, budget, seed)),
    ]
    if L.unavailable("dwave") is None:
        bqm = dimod_bqm(problem)
        out.append((f"dwave-samplers SA ({SA_SWEEPS} sweeps a read)", 1,
                    lambda seed, budget: dwave_sa(bqm, goal, budget, seed)))
    if cores > 1:
        out.append(("dSB, every core", cores, sb({}, cores)))
    return out


def section_gset(table: Table, data: Path, repeats: int, budget: float, cores: int, names=GSET) -> None:
    manifest = {e["name"]: e for e in json.loads((data / "manifest.json").read_text())["instances"]}
    for name in names:
        entry = manifest[name]
        goal, total = float(entry["best_known_cost"]), float(entry["total_weight_W"])
        problem = decode_problem((data / entry["file"]).read_bytes())
        if L.unavailable("dwave") is not None:
            table.add(section="1 ttt", instance=name, solver="dwave-samplers SA",
                      note=f"unavailable: {L.unavailable('dwave')}")
        for label, threads, run in gset_contenders(problem, goal, cores):
            log(f"time to target {name}: {label}")
            run(99, 0.5)  # warm: numba cache load, first-call costs
            traces = [run(seed, budget) for seed in range(repeats)]
            times = [t.reached_s for t in traces]
            missed = [t.best for t in traces if t.reached_s is None]
            note = f"not reached: best cuts {sorted(round((total - b) / 2) for b in missed)}" if missed else ""
            table.add(section="1 ttt", instance=name, solver=label, threads=threads, median_s=median(times),
                      reached=f"{sum(t is not None for t in times)}/{repeats}", best=min(t.best for t in traces),
                      reference=f"cut {entry['best_known_cut']} ({goal:g})", note=note)


def torus_problem() -> ProblemData:
    inst = I.torus(TORUS_SIDE, TORUS_SEED)
    return decode_problem(encode_json(inst.document()))


def section_torus(table: Table, repeats: int) -> None:
    problem = torus_problem()
    budget = TORUS_CHECKPOINTS[-1]
    runs = {"1qbit.pticm (defaults)": (targets.QBIT_PTICM, {"max_total_sweeps": 10**9}),
            "ours PT (defaults)": (targets.PT, {"sweeps": 10**9})}
    traces: dict[str, list[Trace]] = {}
    for label, (target, params) in runs.items():
        log(f"torus: {label}")
        run_ours(target, problem, params, -np.inf, 0.2, 99)  # warm
        traces[label] = [run_ours(target, problem, params, -np.inf, budget, seed) for seed in range(repeats)]
    common = min(t.best for ts in traces.values() for t in ts)
    for label, ts in traces.items():
        at = {c: median([min([b for s, b in t.times if s <= c], default=None) for t in ts]) for c in TORUS_CHECKPOINTS}
        reached = [next((s for s, b in t.times if b <= common), None) for t in ts]
        shown = ", ".join(f"{c:g} s: {at[c]:g}" for c in TORUS_CHECKPOINTS if at[c] is not None)
        table.add(section="2 torus", instance=f"torus{TORUS_SIDE} (seed {TORUS_SEED})", solver=label, threads=1,
                  median_s=median(reached), reached=f"{sum(r is not None for r in reached)}/{repeats}",
                  best=min(t.best for t in ts), reference=f"{common:g} (best of all runs)",
                  note=f"median best at {shown}")


def _machine() -> dict:
    cpu = platform.processor()
    if Path("/proc/cpuinfo").is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cores": os.cpu_count(), "numba": numba.__version__,
            "dwave-samplers": L.version("dwave-samplers"), "loadavg": "/".join(f"{x:.1f}" for x in os.getloadavg())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.catalog", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats, 3 s budget")
    parser.add_argument("--repeats", type=int, default=None, help="runs per contender (default 5)")
    parser.add_argument("--budget", type=float, default=None, help="seconds per run (default 10)")
    parser.add_argument("--sections", default="1,2", help="comma-separated subset of 1, 2")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="the shared data set (Gset files)")
    parser.add_argument("--instances", default=",".join(GSET), help="comma-separated Gset instances of section 1")
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    budget = args.budget or (3.0 if args.quick else 10.0)
    sections = {int(s) for s in args.sections.split(",") if s.strip()}
    cores = numba.config.NUMBA_NUM_THREADS
    started = time.perf_counter()
    table = Table(columns=COLUMNS, meta={"machine": _machine(), "repeats": repeats, "budget_s": budget,
                                         "started": time.strftime("%Y-%m-%d %H:%M:%S"), "data": str(args.data)})
    if 1 in sections:
        if not (args.data / "manifest.json").is_file():
            parser.error(f"no Gset data at {args.data} (give --data DIR: the shared data set with manifest.json)")
        section_gset(table, args.data, repeats, budget, cores, [n for n in args.instances.split(",") if n])
    if 2 in sections:
        section_torus(table, repeats)
    table.meta["total_s"] = time.perf_counter() - started
    m = table.meta["machine"]
    print(f"openqio catalog benchmark — {m['cpu']}, {m['cores']} cores; numba {m['numba']}, dwave-samplers "
          f"{m['dwave-samplers']}; {repeats} runs per row, budget {budget:g} s; total {table.meta['total_s']:.0f} s; "
          f"load average {m['loadavg']} at start, {_machine()['loadavg']} at end")
    print(table.render())
    print("median s: median wall time to the reference over the runs that reached it (reached: how many of them); "
          "best cost: the best any run of the row found. All single-threaded but 'every core'.")
    table.write_json(OUT)
    print(f"(JSON: {OUT.relative_to(I.ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
