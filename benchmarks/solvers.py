"""openqio solvers vs dwave-samplers and openjij: `python -m benchmarks.solvers [--quick] [--sections 0,1,...]`.

Prints the time-to-target table (the headline) and ONE table of everything else (all rows from this run) and
writes both to .bench/solvers.json. One thread each unless said. Sections:

0. Time to target (benchmarks.ttt) on the developer set (../shared/data: Gset, OR-Library bqp, planted): per
   instance, the median over seeds of the wall time each solver needs to reach the best-known cost, the residual
   at 1, 10 (and 60) s, the time each used, and when and why each of our parameter-free runs stopped.
1. SA speed: ns per spin-flip attempt, 64 walkers (our restarts, dwave's and openjij's reads), the same β per sweep
   for every library (custom schedules), for two schedules with equal weight: `lin` = QIO's linear schedule over
   our model-derived β range, `geo` = geometric over dwave-samplers' default range. Our kernels: scalar (one walker
   per loop), lanes (SIMD over walkers), msc (multi-spin coding, ±J inputs only). Ratios use each library's time
   of the algorithm alone (dwave sampling_ns, openjij execution time, our start states + sweeps + final costs);
   wall times of the whole call are printed beside them.
2. SQA speed: ns per spin·slice update, ours (solver_runner.solvers.walkers.sqa_sweeps) vs openjij SQASampler
   (P = 8), algorithm time alone; schedules differ (see the README), compare E/N loosely.
3. Quality at a fixed time on the generated instances: every contender of section 0 with the same measured wall
   budget (10 s, 2 s with --quick), one seed; residual against the proven optimum or the best any row found.
4. Thread scaling: one SA job through entry.run at threads = 1, 2 and all cores (child process), on a multi-spin
   input and a lanes input, 64 walkers per thread at the most threads (two 64-walker words on 2 cores).
5. Memory: a 100 000-variable, 1 000 000-term job in a fresh process; peak RSS (its own high-water mark).
6. Parameter-free stops on ship-loading problems (grouped terms, timeout 10 s, 8 seeds): when each run stopped,
   why, and whether a longer run found better.
7. Where dense SA's time goes (benchmarks.dense): on SK-512, the scalar kernel's cost per attempt fitted as base +
   per accepted flip (a row add) + per uniform drawn over fixed β, the flip and draw rates of section 1's two
   schedules, and a row add timed alone: why the ≥ 4× goal against openjij's dense path is out of reach in float64.
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread each for the side-by-side sections (children get their own settings)

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks import dense as D  # noqa: E402
from benchmarks import devset  # noqa: E402
from benchmarks import instances as I  # noqa: E402
from benchmarks import libs as L  # noqa: E402
from benchmarks import ttt as T  # noqa: E402
from benchmarks.report import Table, loadavg, machine  # noqa: E402
from contracts.heap import freeze_heap  # noqa: E402

OUT = I.ROOT / ".bench" / "solvers.json"
SA_WALKERS = 64
SA_ATTEMPTS = 6_400_000  # sweeps per instance = this / (walkers · n), at least 100 and at most 1000
SQA_P, SQA_BETA, SQA_GAMMA = 8, 5.0, 1.0
SQA_RUNS = {"rrg3_1000": (500, 4), "torus100": (100, 1), "sk512": (200, 2)}  # sweeps, reads
SCALING = (("rrg3_10000", 2000, 128), ("g1like", 2000, 128))  # instance, sweeps, restarts (two 64-walker groups)
MEMORY_LIMIT_MIB = 1024.0
GOALS = {"lanes": 5.0, "msc": 20.0}  # ns per attempt vs dwave-samplers, sparse ±J, 64 walkers
SK_GOAL = 4.0  # vs openjij's dense path
DENSE = "sk512"  # section 7's instance


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


# --- 1. SA speed ----------------------------------------------------------------------------------------------


def _sa_contenders(inst: I.Instance, model):
    """[(label, lib, run(betas, reads, seed) -> Run or None)] for one instance; a missing library gives run=None."""
    from solver_runner.solvers import msc
    from solver_runner.solvers.dense import dense_fits
    kernels = ["scalar", "lanes"] + (["msc"] if msc.prepare(model)[0] is not None else []) + (
        ["dense"] if dense_fits(model) else [])
    out = [(f"ours SA {kernel}", "ours", (lambda k: lambda b, r, s: L.run_ours_sa(model, b, r, s, kernel=k))(kernel))
           for kernel in kernels]
    if L.unavailable("dwave") is None:
        bqm = L.dimod_bqm(inst)
        out.append(("dwave-samplers SA", "dwave", lambda b, r, s: L.run_dwave_sa(bqm, b, r, s)))
    else:
        out.append(("dwave-samplers SA", "dwave", None))
    if L.unavailable("openjij") is None:
        sparse = L.openjij_bqm(inst, True)
        out.append(("openjij SA sparse", "openjij", lambda b, r, s: L.run_openjij_sa(sparse, b, r, True)))
        if inst.family == "sk":
            dense = L.openjij_bqm(inst, False)
            out.append(("openjij SA dense", "openjij", lambda b, r, s: L.run_openjij_sa(dense, b, r, False)))
    else:
        out.append(("openjij SA", "openjij", None))
    return out


def sa_schedules(inst: I.Instance, model) -> tuple[int, dict[str, np.ndarray]]:
    """(sweeps, {"lin": QIO's linear schedule over our β range, "geo": geometric over dwave-samplers' default range
    where dwave-samplers is installed}) for SA_WALKERS walkers on `inst`."""
    from solver_runner import params as P
    sweeps = int(min(1000, max(100, SA_ATTEMPTS // (SA_WALKERS * inst.n))))
    ours_range = P.default_beta_range(model)
    schedules = {"lin": P.annealing_betas(P.linear_schedule(ours_range.beta_start, ours_range.beta_stop), sweeps)}
    if L.unavailable("dwave") is None:
        lo, hi = L.dwave_default_beta_range(L.dimod_bqm(inst))
        schedules["geo"] = np.geomspace(lo, hi, sweeps)
    return sweeps, schedules


def section_sa(table: Table, repeats: int) -> None:
    for name in I.SPEED:
        inst = I.GENERATORS[name]()
        model = L.compiled(I.read_bytes(name))
        sweeps, schedules = sa_schedules(inst, model)
        contenders = _sa_contenders(inst, model)
        attempts = sweeps * SA_WALKERS * inst.n
        for tag, betas in schedules.items():
            log(f"SA {name} [{tag}] β {betas[0]:.4g}→{betas[-1]:.4g}, {sweeps} sweeps × {SA_WALKERS}, {repeats} repeats")
            for _, _, run in contenders:
                if run is not None:
                    run(betas[:10], 1, 0)  # warm-up (JIT / first-call costs), not timed
            samples: dict[str, list] = {label: [] for label, _, _ in contenders}
            for rep in range(repeats):
                for label, _, run in contenders:
                    if run is not None:
                        samples[label].append(run(betas, SA_WALKERS, 100 + rep))
            algo = {label: median(None if r.algo_seconds is None else r.algo_seconds / attempts * 1e9 for r in runs)
                    for label, runs in samples.items() if runs}
            libs = {lib: min((algo[label] for label, lb, run in contenders if lb == lib and run is not None),
                             default=None) for lib in ("dwave", "openjij")}
            dense_oj = algo.get("openjij SA dense")
            for label, lib, run in contenders:
                if run is None:
                    table.add(section="1 SA", instance=name, solver=f"{label} ({tag})",
                              note=f"unavailable: {L.unavailable(lib)}")
                    continue
                runs = samples[label]
                row = table.add(section="1 SA", instance=name, solver=f"{label} ({tag})",
                                ns_per_op=median(r.seconds / attempts * 1e9 for r in runs), algo_ns_per_op=algo[label],
                                energy_per_n=median(r.energies.min() / inst.n for r in runs),
                                seconds=median(r.seconds for r in runs),
                                note=f"β {betas[0]:.3g}→{betas[-1]:.3g}, {sweeps} sweeps, {len(runs)} runs")
                if lib == "ours":
                    row["dwave_over_ours"] = ratio(libs["dwave"], algo[label])
                    row["openjij_over_ours"] = ratio(dense_oj if dense_oj is not None else libs["openjij"], algo[label])
                    if dense_oj is not None:
                        row["note"] += "; openjij/ours against its dense path"


# --- 2. SQA speed ---------------------------------------------------------------------------------------------


def quartic(sweeps: int) -> np.ndarray:
    s = np.linspace(0.0, 1.0, sweeps)
    return s**4 * (35 - 84 * s + 70 * s**2 - 20 * s**3)


def section_sqa(table: Table, repeats: int) -> None:
    try:
        from solver_runner.solvers import walkers
        ours_ok = hasattr(walkers, "sqa_sweeps")
        ours_reason = None if ours_ok else "solver_runner.solvers.walkers.sqa_sweeps not present"
    except Exception as exc:  # noqa: BLE001
        ours_ok, ours_reason = False, f"{type(exc).__name__}: {exc}"
    for name, (sweeps, reads) in SQA_RUNS.items():
        inst = I.GENERATORS[name]()
        model = L.compiled(I.read_bytes(name))
        gammas = np.maximum(SQA_GAMMA * (1.0 - quartic(sweeps)), 1e-3 * SQA_GAMMA)
        contenders = []
        contenders.append(("ours SQA", "ours", (lambda m, b, g: lambda sw, r, s: L.run_ours_sqa(m, b, g[:sw], SQA_P, r, s))(
            model, SQA_BETA, gammas) if ours_ok else None))
        if L.unavailable("openjij") is None:
            for sparse in ((True, False) if inst.family == "sk" else (True,)):
                bqm = L.openjij_bqm(inst, sparse)
                contenders.append((f"openjij SQA {'sparse' if sparse else 'dense'}", "openjij",
                                   (lambda bq, sp: lambda sw, r, s: L.run_openjij_sqa(bq, SQA_BETA, SQA_GAMMA, sw, SQA_P, r, sp))(bqm, sparse)))
        else:
            contenders.append(("openjij SQA", "openjij", None))
        log(f"SQA {name}: P={SQA_P}, {sweeps} sweeps × {reads} reads, {repeats} repeats")
        for _, _, run in contenders:
            if run is not None:
                run(5, 1, 0)
        samples: dict[str, list] = {label: [] for label, _, _ in contenders}
        for rep in range(repeats):
            for label, _, run in contenders:
                if run is not None:
                    samples[label].append(run(sweeps, reads, 200 + rep))
        updates = sweeps * reads * SQA_P * inst.n
        ours_ns = None
        for label, lib, run in contenders:
            if run is None:
                reason = ours_reason if lib == "ours" else L.unavailable(lib)
                table.add(section="2 SQA", instance=name, solver=label, note=f"unavailable: {reason}")
                continue
            runs = samples[label]
            ns = median(r.seconds / updates * 1e9 for r in runs)
            algo = median(None if r.algo_seconds is None else r.algo_seconds / updates * 1e9 for r in runs)
            if lib == "ours":
                ours_ns = algo
            table.add(section="2 SQA", instance=name, solver=label, ns_per_op=ns, algo_ns_per_op=algo,
                      openjij_over_ours=ratio(algo, ours_ns) if lib == "openjij" else None,
                      energy_per_n=median(r.energies.min() / inst.n for r in runs),
                      seconds=median(r.seconds for r in runs),
                      note=f"P={SQA_P}, {sweeps} sweeps × {reads} reads, β={SQA_BETA}, Γ={SQA_GAMMA}")


# --- 3. quality at a fixed time -------------------------------------------------------------------------------


# --- 4. and 5.: child processes ---------------------------------------------------------------------------------


def _child(module: str, args: list[str], threads: int, timeout: float) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(I.ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=I.ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{module} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return json.loads(lines[-1])


def section_scaling(table: Table, repeats: int) -> None:
    """One job at 1, 2 and all threads; 64 walkers per thread at the most threads (the kernels' unit of work), the
    sweeps cut so that the job's work stays SCALING's whatever the core count."""
    cores = os.cpu_count() or 1
    counts = sorted({1, min(2, cores), cores})
    if len(counts) == 1:
        log("scaling: one core, nothing to compare")
        return
    manifest = I.load_manifest()
    for name, base_sweeps, base_restarts in SCALING:
        restarts = max(base_restarts, 64 * counts[-1])
        sweeps = max(100, base_sweeps * base_restarts // restarts)
        log(f"scaling: SA {sweeps} sweeps × {restarts} restarts on {name}, threads {counts}")
        try:
            r = _child("benchmarks.scaling", [str(I.path_of(name)), str(sweeps), str(restarts), str(repeats),
                                              ",".join(map(str, counts))], cores, 600)
        except Exception as exc:  # noqa: BLE001
            r = {"errors": [str(exc)]}
        if r["errors"]:  # a failed job's time is no speed-up
            table.add(section="4 scaling", instance=name, solver="ours SA (entry.run)",
                      note=f"failed: {r['errors'][0][-300:]}")
            continue
        attempts = sweeps * restarts * manifest[name]["n"]
        for k in counts:
            seconds = r["seconds"][str(k)]
            if k == 1:
                note = f"{restarts} restarts × {sweeps} sweeps, whole job; load {r.get('load', '?')}"
            else:
                note = (f"speedup {r['speedup'][str(k)]:.2f}× on {k} threads of {cores} cores (this machine's "
                        f"ceiling: {r['ceiling'][str(k)]:.2f}× for pure vector arithmetic)")
            table.add(section="4 scaling", instance=name, solver=f"ours SA threads={k}", seconds=seconds,
                      ns_per_op=seconds / attempts * 1e9, cost=r["cost"][str(k)], note=note)


def section_memory(table: Table) -> None:
    log("memory: 100 000 variables, 1 000 000 terms in a fresh process")
    try:
        r = _child("benchmarks.memory", [str(I.path_of(I.MEMORY)), "10"], 1, 600)
    except Exception as exc:  # noqa: BLE001
        table.add(section="5 memory", instance=I.MEMORY, solver="ours SA (entry.run)", note=f"failed: {exc}")
        return
    ok = r["peak_mib"] < MEMORY_LIMIT_MIB and r["status"] == "succeeded"
    table.add(section="5 memory", instance=I.MEMORY, solver="ours SA 10 sweeps (entry.run)", cost=r["cost"],
              seconds=r["job_s"],
              note=(f"peak RSS {r['peak_mib']:.0f} MiB {'<' if r['peak_mib'] < MEMORY_LIMIT_MIB else '>='} "
                    f"{MEMORY_LIMIT_MIB:.0f}: {'OK' if ok else 'FAIL'}; "
                    f"decode {r['decode_s']:.1f} s, compile {r['compile_s']:.1f} s; job {r['status']}"))


def goal_lines(table: Table) -> list[str]:
    """The issue's speed goals on this run's rows, both schedules with equal weight (a goal is met when it is met
    on both): ns per attempt ≥ 5× dwave-samplers with the lanes kernel and ≥ 20× with multi-spin coding on sparse
    ±J (rrg3_10000, torus100), SK-512 ≥ 4× openjij's dense path with the dense kernel (our fastest there)."""
    out = []
    by: dict[tuple[str, str], dict[str, float]] = {}
    for row in table.rows:
        if row["section"] != "1 SA" or not row["solver"].startswith("ours SA "):
            continue
        kernel, tag = row["solver"][len("ours SA "):].split(" (")
        key = "dwave_over_ours" if row["instance"] != "sk512" else "openjij_over_ours"
        if row.get(key) is not None:
            by.setdefault((row["instance"], kernel), {})[tag.rstrip(")")] = row[key]
    for (name, kernel), ratios in sorted(by.items()):
        if name in ("rrg3_10000", "torus100") and kernel in GOALS:
            goal, lib = GOALS[kernel], "dwave-samplers"
        elif name == "sk512" and kernel == "dense":
            goal, lib = SK_GOAL, "openjij dense"
        else:
            continue
        shown = ", ".join(f"{tag} {r:.2f}×" for tag, r in sorted(ratios.items()))
        met = all(r >= goal for r in ratios.values())
        out.append(f"  {name} ours {kernel} vs {lib}: {shown} (goal ≥ {goal:.0f}× on both) {'met' if met else 'NOT met'}")
    for row in table.rows:
        if row["section"] == "4 scaling" and (row["solver"].endswith("threads=2") or row["note"].startswith("failed")):
            out.append(f"  scaling {row['instance']}: {row['note']} (goal ≥ 1.8× on 2 cores)")
    return out


# --- main -----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.solvers", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 repeat, 2 s budgets, 2 seeds, fewer instances (a smoke run, not a measurement)")
    parser.add_argument("--sections", default="0,1,2,3,4,5,6,7", help="comma-separated subset of 0..7")
    parser.add_argument("--budget", type=float, default=None, help="quality and TTT budget per run, seconds")
    parser.add_argument("--seeds", type=int, default=None, help="TTT seeds per solver and instance (default 5)")
    parser.add_argument("--instances", default=None, help="comma-separated quality instances (default: all)")
    parser.add_argument("--ttt-instances", default=None, help="comma-separated developer-set instances")
    parser.add_argument("--libraries", default=None, help="TTT and quality contenders: ours,dwave,openjij")
    parser.add_argument("--data", default=None, help="the developer set (default: ../shared/data)")
    args = parser.parse_args(argv)
    sections = {int(s) for s in args.sections.split(",") if s.strip()}
    repeats = 1 if args.quick else 5
    budget = args.budget if args.budget is not None else (2.0 if args.quick else 10.0)
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 5)
    only = set(args.libraries.split(",")) if args.libraries else None
    started = time.perf_counter()
    load_start = loadavg()
    manifest = I.ensure(log=log)
    table = Table(meta={"machine": machine({lib: L.version(lib) for lib in ("dwave-samplers", "openjij", "dimod")}), "quick": args.quick, "repeats": repeats, "quality_budget_s": budget,
                        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "manifest": list(manifest.values())})
    headline = Table(columns=T.TTT_COLUMNS)
    for lib in ("dwave", "openjij"):
        if L.unavailable(lib):
            log(f"{lib} unavailable: {L.unavailable(lib)}")
    ttt_goals: list[str] = []
    if 0 in sections:
        data = devset.shared_data(args.data)
        if data is None:
            log("TTT: no developer set (../shared/data or --data): section 0 skipped")
        else:
            from solver_runner import warmup
            warmup.warm()
            freeze_heap()  # as a runner does once warm (solver_runner.worker)
            names = args.ttt_instances.split(",") if args.ttt_instances else (
                ["gset_G11", "bqp50_1", "bqp250_1"] if args.quick else None)
            rows, ttt_goals = T.section_ttt(data, budget, seeds, names, log, only)
            for row in rows:
                headline.add(**{k: v for k, v in row.items() if k in {c for c, _, _ in T.TTT_COLUMNS}})
    if 1 in sections:
        section_sa(table, repeats)
    if 2 in sections:
        section_sqa(table, max(1, repeats - 2))
    if 3 in sections:
        names = [n for n in I.QUALITY if not (args.quick and n in I.SPEED)]
        if args.instances:
            names = [n for n in args.instances.split(",") if n.strip()]
            unknown = sorted(set(names) - set(I.QUALITY))
            if unknown:
                parser.error(f"unknown instances {unknown}; known: {', '.join(I.QUALITY)}")
        T.section_quality(table, manifest, budget, names, log, only)
    if 4 in sections:
        section_scaling(table, 1 if args.quick else 3)
    if 5 in sections:
        section_memory(table)
    if 6 in sections:
        for row in T.section_pf_stops(budget, 2 if args.quick else T.PF_STOP_SEEDS, log):
            headline.add(**row)
    if 7 in sections:
        inst = I.GENERATORS[DENSE]()
        model = L.compiled(I.read_bytes(DENSE))
        D.section_dense(table, DENSE, model, sa_schedules(inst, model)[1], SA_WALKERS, log)
    table.meta["total_s"] = time.perf_counter() - started
    table.meta["loadavg_start"], table.meta["loadavg_end"] = load_start, loadavg()
    m = table.meta["machine"]
    print(f"openqio solver benchmark — {m['cpu']}, {m['cores']} cores; python {m['python']}, numpy {m['numpy']}, "
          f"numba {m['numba']}, dwave-samplers {m['dwave-samplers']}, openjij {m['openjij']}; "
          f"{'--quick, ' if args.quick else ''}{repeats} repeat(s), budget {budget:g} s, {seeds} TTT seeds; "
          f"total {table.meta['total_s']:.0f} s; load average {load_start} at start, {table.meta['loadavg_end']} at end")
    if headline.rows:
        print("Time to target (one thread each; median over seeds, unreached runs count as infinite; residuals are "
              "medians of (cost − best known)/|best known| at that time; 'used s' = the median wall time a run used):")
        print(headline.render())
    if ttt_goals:
        print("time-to-target goals:")
        print("\n".join(ttt_goals))
    print(table.render())
    print("ns/op: wall ns per spin-flip attempt (sec 1: sweeps·walkers·N) or per spin·slice update (sec 2: "
          "sweeps·reads·P·N) of the whole sampling call; algo ns/op: the algorithm alone (dwave sampling_ns, openjij "
          "execution time, ours: start states + sweeps + final costs). Ratios dwave/ours and openjij/ours compare "
          "algorithm times; > 1 means ours is faster. Reference 'proven' = exact optimum (branch-and-bound or "
          "planted by construction); 'best found' = best of the rows above in this run. One thread except section 4.")
    goals = goal_lines(table)
    if goals:
        print("speed goals:")
        print("\n".join(goals))
    table.meta["goals"] = goals + ttt_goals
    table.meta["ttt"] = headline.rows
    table.write_json(OUT)
    print(f"(JSON: {OUT.relative_to(I.ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
