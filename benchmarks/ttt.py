"""Time to target (TTT): how long each solver takes, one thread each, to reach an instance's best-known cost.

For every instance and contender, `seeds` runs (seed 0, 1, ..., taken round the contenders: seed 0 of each, then seed
1 of each), each given the same wall-clock budget and stopped as soon as it reaches the target (the best-known cost,
within 1e−9 relative). Every run records the best cost it had at every moment it could say (a progress report, the
end of a library call), so one run gives both its time to target and its residual (cost − target)/|target| at each
checkpoint (1, 10, 60 s) within the budget. Times are wall clock of the whole call, set-up included, for every
contender alike: our decode and model compile (entry.run), dwave's and openjij's own model conversion inside their
sample calls.

Contenders (each at its best settings: a library with a run-length knob gets the best of a small grid, chosen on
seed 0 by (reached, time to target, final residual) with a budget of min(budget, 5 s), and keeps it for all seeds):
- ours SA-PF, PT-PF, Tabu-PF: solver_runner.entry.run on the parameter-free target with timeout = budget; the
  runs report progress after every chunk, and the benchmark cancels a run once it reached the target. Each run's
  stop (time and reason, from the tuner's log line) is recorded.
- ours SA kernel: repeated SA runs of 64 walkers on the kernel our SA picks (multi-spin coding or lanes), sweeps
  from SWEEP_GRID, the model's default β range; each run from new random states.
- dwave-samplers SA (its default geometric schedule, SWEEP_GRID sweeps, 4 reads per call, repeated calls) and
  tabu (one TabuSampler read per call, its own restarts inside, timeouts 0.1, 0.3, 1, 3, 10, ... s until one
  reaches the target: the checkpoints are those calls).
- openjij SA (its default schedule, SWEEP_GRID sweeps, one read per call) and SQA (trotter 8, SQA_GRID sweeps,
  β = our model's cold-end β and Γ = the model's largest flip energy, one read per call).
Median TTT over the seeds counts unreached runs as infinite (so a median is finite only when most seeds reached).
"""
from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks import instances as I
from benchmarks import libs as L
from benchmarks.report import Table
from contracts.heap import freeze_heap

SWEEP_GRID = (100, 1000, 10_000)
SQA_GRID = (100, 1000)
SELECT_BUDGET_S = 5.0
CHECKPOINTS = (1.0, 10.0, 60.0)
OUR_PF = (("ours SA-PF", "microsoft.simulatedannealing-parameterfree.cpu"),
          ("ours PT-PF", "microsoft.paralleltempering-parameterfree.cpu"),
          ("ours Tabu-PF", "microsoft.tabu-parameterfree.cpu"))


@dataclass
class Trace:
    """One run: (seconds since start, best cost so far) points, the time it used, why it ended, its settings."""

    points: list[tuple[float, float]] = field(default_factory=list)
    seconds: float = 0.0
    stop: str = ""
    settings: str = ""

    def add(self, t: float, cost: float) -> None:
        best = min(cost, self.points[-1][1]) if self.points else cost
        self.points.append((t, best))

    def best(self) -> float:
        return self.points[-1][1] if self.points else math.inf

    def best_at(self, t: float) -> float:
        out = math.inf
        for when, cost in self.points:
            if when > t:
                break
            out = cost
        return out

    def ttt(self, target: float) -> float | None:
        for when, cost in self.points:
            if reached(cost, target):
                return when
        return None


def reached(cost: float, target: float) -> bool:
    return cost <= target + 1e-9 * max(1.0, abs(target))


def residual_pct(cost: float, target: float) -> float:
    return (cost - target) / abs(target) * 100.0 if target else cost - target


def loop_calls(call: Callable[[int], tuple[float, float]], budget: float, target: float, settings: str,
               setup_s: float = 0.0) -> Trace:
    """Repeat call(k) → (seconds, best cost) with k = 0, 1, ... until the target or the budget (the last call may
    end past it: calls are never cut; the checkpoints read the trace at their time). `setup_s`: time spent before
    the first call (our decode and compile of the input), counted like the calls'."""
    trace = Trace(settings=settings)
    used = setup_s
    k = 0
    while used < budget:
        seconds, cost = call(k)
        used += seconds
        trace.add(used, cost)
        k += 1
        if reached(cost, target):
            trace.stop = "target"
            break
    trace.seconds = used
    trace.stop = trace.stop or "budget"
    return trace


class _StopRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def ours_pf(target_id: str) -> Callable:
    def run(ctx: Contest, seed: int, budget: float, setting) -> Trace:
        from contracts.runner import RunRequest
        from solver_runner import entry
        trace = Trace(settings="parameter-free")
        done = [False]

        # times from the call, not Progress.elapsed_s (which starts after decode and compile): set-up counts
        # for us as the BQM build inside their sample calls counts for dwave-samplers and openjij
        t0 = time.monotonic()

        def progress(p) -> None:
            if p.best_cost is not None and math.isfinite(p.best_cost):
                trace.add(time.monotonic() - t0, p.best_cost)
                done[0] = done[0] or reached(p.best_cost, ctx.target)

        recorder = _StopRecorder()
        pf_log = logging.getLogger("solver_runner.solvers.parameter_free")
        pf_log.addHandler(recorder)
        level = pf_log.level
        pf_log.setLevel(logging.INFO)
        try:
            request = RunRequest(f"ttt-{ctx.name}", target_id, {"timeout": budget, "seed": seed}, ctx.raw, threads=1,
                                 progress_interval_s=0.0)
            outcome = entry.run(request, lambda: done[0], progress)
        finally:
            pf_log.removeHandler(recorder)
            pf_log.setLevel(level)
        trace.seconds = outcome.elapsed_s
        if outcome.result is not None:
            trace.add(outcome.elapsed_s, float(outcome.result["cost"]))
        stop = recorder.messages[-1].split("): ", 1)[-1] if recorder.messages else outcome.status
        trace.stop = f"target at {trace.ttt(ctx.target):.2f} s" if done[0] else f"{outcome.elapsed_s:.2f} s: {stop}"
        return trace
    return run


def ours_kernel(ctx: Contest, seed: int, budget: float, sweeps: int) -> Trace:
    from solver_runner import params as P
    from solver_runner.solvers.walkers import anneal_run
    rng = P.annealing_beta_range(ctx.model)  # the parameter-free SA's schedule: our best for a fixed run length
    betas = P.annealing_betas(P.geometric_schedule(rng.beta_start, rng.beta_stop), sweeps)
    kind = []

    def call(k: int) -> tuple[float, float]:
        t0 = time.perf_counter()
        out = anneal_run(ctx.model, betas, 64, seed * 100_003 + k, threads=1)
        kind.append(out["kernel"])
        return time.perf_counter() - t0, float(out["energies"].min())

    trace = loop_calls(call, budget, ctx.target, f"{sweeps} sweeps × 64 walkers", ctx.setup_s)
    trace.settings += f" ({kind[0]})" if kind else ""
    return trace


def dwave_sa(ctx: Contest, seed: int, budget: float, sweeps: int) -> Trace:
    def call(k: int) -> tuple[float, float]:
        r = L.run_dwave_sa_default(ctx.bqm(), sweeps, 4, seed * 100_003 + k)
        return r.seconds, float(r.energies.min())
    return loop_calls(call, budget, ctx.target, f"{sweeps} sweeps × 4 reads per call")


TABU_TIMEOUTS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 60.0)


def dwave_tabu(ctx: Contest, seed: int, budget: float, setting) -> Trace:
    """One TabuSampler read per call (its own restarts inside), with the timeouts of TABU_TIMEOUTS up to the budget,
    until one reaches the target: its time to target is that call's wall time (within 3.3× of the best timeout; a
    read cannot be observed while it runs). Its `energy_threshold` is not used: on SPIN models it stopped reads
    early with energies above the threshold (seen on G11: −1062 for a threshold of −1094)."""
    trace = Trace(settings="1 read per call, timeouts " + "/".join(f"{t:g}" for t in TABU_TIMEOUTS if t <= budget)
                  + " s")
    used = 0.0
    for timeout in (t for t in TABU_TIMEOUTS if t <= budget + 1e-9):
        r = L.run_dwave_tabu(ctx.bqm(), timeout, seed, None)
        used += r.seconds
        trace.add(r.seconds, float(r.energies.min()))
        if reached(trace.best(), ctx.target):
            break
    trace.seconds = used
    trace.stop = "target" if reached(trace.best(), ctx.target) else "budget"
    return trace


def openjij_sa(ctx: Contest, seed: int, budget: float, sweeps: int) -> Trace:
    def call(k: int) -> tuple[float, float]:
        r = L.run_openjij_sa_default(ctx.ojbqm(), sweeps, 1, seed * 100_003 + k)
        return r.seconds, float(r.energies.min())
    return loop_calls(call, budget, ctx.target, f"{sweeps} sweeps, 1 read per call")


def openjij_sqa(ctx: Contest, seed: int, budget: float, sweeps: int) -> Trace:
    from solver_runner import params as P
    beta = P.default_beta_range(ctx.model).beta_stop
    gamma = P.flip_scales(ctx.model)[0]

    def call(k: int) -> tuple[float, float]:
        r = L.run_openjij_sqa(ctx.ojbqm(), beta, gamma, sweeps, 8, 1, True, seed * 100_003 + k)
        return r.seconds, float(r.energies.min())
    return loop_calls(call, budget, ctx.target, f"{sweeps} sweeps, trotter 8, β {beta:.3g}, Γ {gamma:.3g}")


@dataclass
class Contest:
    """One instance as every contender needs it: raw input, our model, the libraries' models (built lazily)."""

    name: str
    raw: bytes
    target: float
    instance: Any  # benchmarks.instances.Instance (degree ≤ 2), None when the libraries cannot take it
    model: Any = None  # solver_runner.model.CompiledModel
    setup_s: float = 0.0  # our decode + compile of raw (what entry.run does before solving)
    _bqm: Any = None
    _oj: Any = None

    def __post_init__(self) -> None:
        if self.model is None:
            t0 = time.perf_counter()
            self.model = L.compiled(self.raw)
            self.setup_s = time.perf_counter() - t0

    def bqm(self):
        if self._bqm is None:
            self._bqm = L.dimod_bqm(self.instance)
        return self._bqm

    def ojbqm(self):
        if self._oj is None:
            self._oj = L.openjij_bqm(self.instance, True)
        return self._oj


def contenders() -> list[tuple[str, str, Callable, tuple]]:
    """(label, library, run(contest, seed, budget, setting) → Trace, settings grid)."""
    out: list[tuple[str, str, Callable, tuple]] = [(label, "ours", ours_pf(tid), (None,)) for label, tid in OUR_PF]
    out.append(("ours SA kernel", "ours", ours_kernel, SWEEP_GRID))
    out += [("dwave-samplers SA", "dwave", dwave_sa, SWEEP_GRID), ("dwave-samplers tabu", "dwave", dwave_tabu, (None,)),
            ("openjij SA", "openjij", openjij_sa, SWEEP_GRID), ("openjij SQA", "openjij", openjij_sqa, SQA_GRID)]
    return out


def pick_setting(run: Callable, contest: Contest, grid: tuple, budget: float) -> object:
    """The grid value whose seed-0 run (budget min(budget, SELECT_BUDGET_S)) is best: reached first, else lowest
    final cost."""
    if len(grid) == 1:
        return grid[0]
    scored = []
    for value in grid:
        trace = run(contest, 0, min(budget, SELECT_BUDGET_S), value)
        t = trace.ttt(contest.target)
        scored.append((t is None, t if t is not None else trace.best(), value))
    return min(scored, key=lambda x: (x[0], x[1]))[2]


def summarise(traces: list[Trace], target: float, budget: float) -> dict:
    ttts = [t.ttt(target) for t in traces]
    hits = [t for t in ttts if t is not None]
    median = statistics.median([t if t is not None else math.inf for t in ttts])
    out = {"reached": f"{len(hits)}/{len(traces)}", "ttt_median_s": median if math.isfinite(median) else None,
           "ttt_s": ttts,
           "seconds": statistics.median(t.seconds for t in traces), "settings": traces[0].settings,
           "stops": [t.stop for t in traces]}
    for cp in CHECKPOINTS:
        if cp <= budget + 1e-9:
            out[f"resid_{cp:g}s"] = statistics.median(residual_pct(t.best_at(cp), target) for t in traces)
    out["best"] = min(t.best() for t in traces)
    return out


def run_instance(contest: Contest, budget: float, seeds: int, log: Callable[[str], None],
                 only: set[str] | None = None) -> list[dict]:
    """Every contender (or those in `only`, by library) on one instance; one summary row each. Seeds go round the
    contenders (seed 0 of each, then seed 1 of each, ...): the speed of a shared VM drifts by a third from minute to
    minute, and a contender run all at once could meet a slow minute the others did not."""
    rows: list[dict | None] = []
    runs: list[tuple[int, str, Callable, object, list[Trace]]] = []  # (row index, label, run, setting, traces)
    for label, lib, run, grid in contenders():
        if only and lib not in only:
            continue
        reason = None if lib == "ours" else L.unavailable(lib)
        if reason is None and lib != "ours" and contest.instance is None:
            reason = "the input has terms of degree > 2 or grouped terms"
        if reason:
            rows.append({"instance": contest.name, "solver": label, "note": f"unavailable: {reason}"})
            continue
        runs.append((len(rows), label, run, pick_setting(run, contest, grid, budget), []))
        rows.append(None)
    for seed in range(seeds):
        for _, label, run, setting, traces in runs:
            traces.append(run(contest, seed, budget, setting))
            log(f"  {contest.name} {label} seed {seed}: best {traces[-1].best():.8g} "
                f"ttt {traces[-1].ttt(contest.target)} ({traces[-1].stop})")
    for index, label, _, _, traces in runs:
        rows[index] = {"instance": contest.name, "solver": label, **summarise(traces, contest.target, budget)}
    return [row for row in rows if row is not None]


def faster_share(ours: list[float | None], theirs: list[float | None]) -> float:
    """The share of seed pairs (one run of ours, one of theirs) in which ours reached the target first (not reached =
    never; a tie counts half): 0.5 when neither is faster, as two medians of a few seeds each can hide."""
    a = [math.inf if t is None else t for t in ours]
    b = [math.inf if t is None else t for t in theirs]
    wins = sum(1.0 if x < y else 0.5 if x == y else 0.0 for x in a for y in b)
    return wins / (len(a) * len(b)) if a and b else math.nan


def medians_by_solver(rows: list[dict]) -> dict[str, float]:
    return {r["solver"]: float(r["ttt_median_s"]) if r.get("ttt_median_s") is not None else math.inf for r in rows
            if "reached" in r}


def _seconds(v: float) -> str:
    return f"{v:.2f} s" if math.isfinite(v) else "not reached"


def goal_lines(rows: list[dict], goal_instances: list[str]) -> list[str]:
    """The issue's TTT goals, checked on this run: our best parameter-free median beats every other library's on
    G1, G11, G14 and each bqp250, and G1 is reached within 10 s on one core. Each line also says in what share of
    seed pairs the two were faster (faster_share): medians of a few seeds each decide little when both spread."""
    out = []
    for name in goal_instances:
        here = [r for r in rows if r["instance"] == name]
        m = medians_by_solver(here)
        if not any(k.endswith("-PF") for k in m):  # not in this run, or only other libraries' rows (--libraries)
            continue
        ours_label = min((k for k in m if k.endswith("-PF")), key=lambda k: m[k])
        ours = m[ours_label]
        others = {k: v for k, v in m.items() if not k.startswith("ours")}
        best_other = min(others.values()) if others else math.inf
        met = math.isfinite(ours) and ours < best_other
        line = (f"  {name}: ours (best parameter-free median) {_seconds(ours)} vs best other library "
                f"{_seconds(best_other)}: {'met' if met else 'NOT met'}")
        if others:
            other_label = min(others, key=lambda k: others[k])
            samples = {r["solver"]: r.get("ttt_s") for r in here}
            share = faster_share(samples[ours_label] or [], samples[other_label] or [])
            if math.isfinite(share):
                line += f" ({ours_label} first in {share:.0%} of seed pairs against {other_label})"
        out.append(line)
        if name == "gset_G1":
            out.append(f"  gset_G1 within 10 s on one core: {_seconds(ours)}: "
                       f"{'met' if math.isfinite(ours) and ours <= 10 else 'NOT met'}")
    return out


TTT_COLUMNS = (
    ("instance", "instance", "{}"),
    ("solver", "solver", "{}"),
    ("reached", "reached", "{}"),
    ("ttt_median_s", "TTT med s", "{:.3f}"),
    ("resid_1s", "resid@1s %", "{:.3f}"),
    ("resid_10s", "resid@10s %", "{:.3f}"),
    ("resid_60s", "resid@60s %", "{:.3f}"),
    ("seconds", "used s", "{:.2f}"),
    ("settings", "settings", "{}"),
    ("note", "note", "{}"),
)
DEFAULT_FAMILIES = ("gset_", "bqp50_", "bqp250_", "tile_", "wishart_", "frustrated_")


def section_ttt(directory, budget: float, seeds: int, names: list[str] | None, log: Callable[[str], None],
                only: set[str] | None = None) -> tuple[list[dict], list[str]]:
    """TTT rows for the developer set (`names`, default every instance of DEFAULT_FAMILIES) and the goal lines."""
    from benchmarks import devset
    manifest = devset.shared_manifest(directory)
    names = names or [n for n in manifest if n.startswith(DEFAULT_FAMILIES)]
    rows = []
    for name in names:
        meta = manifest[name]
        raw = (directory / meta["file"]).read_bytes()
        contest = Contest(name, raw, float(meta["best_known_cost"]), devset.from_qio(name, raw))
        log(f"TTT {name}: target {contest.target:g}, budget {budget:g} s, {seeds} seeds")
        for row in run_instance(contest, budget, seeds, log, only):
            if row["solver"].endswith("-PF") and "stops" in row:
                row["note"] = "stops: " + "; ".join(row["stops"])
            rows.append(row)
    goals = goal_lines(rows, ["gset_G1", "gset_G11", "gset_G14", "bqp250_1", "bqp250_2", "bqp250_3"])
    return rows, goals


SHIP_LOADS = ((10, 3, 1), (40, 4, 2))  # containers, ships, seed
PF_STOP_SEEDS = 8


def section_pf_stops(budget: float, seeds: int, log: Callable[[str], None]) -> list[dict]:
    """Ship-loading problems: when each parameter-free SA run stopped and why, and whether a run that stopped
    before 10 % of the budget ended with a worse cost than a longer run found."""
    from benchmarks.devset import ship_loading
    from contracts.problems import encode_json
    rows = []
    for containers, ships, seed in SHIP_LOADS:
        raw = encode_json(ship_loading(containers, ships, seed))
        name = f"shipload_{ships}x{containers}"
        contest = Contest(name, raw, -math.inf, None)
        traces = [ours_pf(OUR_PF[0][1])(contest, s, budget, None) for s in range(seeds)]
        best = min(t.best() for t in traces)
        early = [t for t in traces if t.seconds < 0.1 * budget and t.best() > best + 1e-9 * max(1.0, abs(best))]
        log(f"PF stops {name}: {[round(t.seconds, 2) for t in traces]}")
        rows.append({"instance": name, "solver": OUR_PF[0][0], "reached": f"{len(early)} early and worse",
                     "seconds": statistics.median(t.seconds for t in traces), "settings": f"timeout {budget:g} s",
                     "note": "; ".join(f"{t.best():.6g} after {t.stop}" for t in traces)})
    return rows


def section_quality(table: Table, manifest: dict, budget: float, names: list[str], log: Callable[[str], None],
                    only: set[str] | None = None) -> None:
    """Every contender of the TTT section (or those of the libraries in `only`) with the same wall budget (measured
    and printed), one seed; the target is the proven optimum (runs stop there) or unreachable, so every run uses its
    whole budget."""
    from solver_runner import warmup
    t0 = time.perf_counter()
    warmup.warm()
    freeze_heap()  # as a runner does once warm (solver_runner.worker)
    log(f"runner warm-up (warmup.warm) {time.perf_counter() - t0:.1f} s")
    for name in names:
        meta = manifest[name]
        raw = I.read_bytes(name)
        proven = meta["status"] == "proven"
        contest = Contest(name, raw, float(meta["best_known"]) if proven else -math.inf, I.GENERATORS[name]())
        log(f"quality {name}: budget {budget:g} s")
        rows = run_instance(contest, budget, 1, log, only)
        found = [r["best"] for r in rows if r.get("best") is not None and math.isfinite(r["best"])]
        ref, label = (float(meta["best_known"]), "proven") if proven else (min(found, default=math.nan), "best found")
        for r in rows:
            row = table.add(section="3 quality", instance=name, solver=r["solver"], cost=r.get("best"),
                            seconds=r.get("seconds"), reference=f"{ref:.6g} ({label})",
                            note=r.get("note") or f"{r['settings']}; {r['stops'][0]}")
            if r.get("best") is not None and math.isfinite(ref):
                row["residual_pct"] = residual_pct(r["best"], ref)
                if proven and r["best"] < ref - 1e-6 * max(1.0, abs(ref)):
                    row["note"] = f"BELOW THE PROVEN OPTIMUM: generator or cost bug. {row['note']}"
