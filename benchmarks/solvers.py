"""openqio solvers vs dwave-samplers and openjij: `python -m benchmarks.solvers [--quick] [--sections 1,2,...]`.

Prints ONE table (all rows from this run) and writes it to .bench/solvers.json. Sections:

1. SA speed: ns per spin-flip attempt, our kernel (solver_runner.solvers.walkers.anneal) vs dwave-samplers
   SimulatedAnnealingSampler vs openjij SASampler (sparse; SK also dense), one thread each, same instance, same
   1000 sweeps × 10 reads and the *same β per sweep* for all three (passed as a custom schedule), for two schedules:
   `lin` = QIO's linear schedule over our model-derived β range (what our SA runs), `geo` = geometric over
   dwave-samplers' default β range (what dwave runs by default). Medians over repeats; ratios lib/ours of the
   medians; E/N = median over repeats of the best-of-10 final energy per spin.
2. SQA speed: ns per spin·slice update, our solver_runner.solvers.walkers.sqa_sweeps vs openjij SQASampler (P = 8, openjij's own
   sparse BQM; SK also dense), β = 5, Γ = 1 (openjij's defaults); openjij anneals H = s·H_p + Γ(1−s)·X with its
   quartic s-schedule, ours keeps β and lowers Γ(t) = Γ·(1 − f(s)) with the same quartic f. Schedules are not
   equivalent, so compare E/N loosely.
3. Quality at a fixed time: parameter-free SA and Tabu through solver_runner.entry.run (threads=1, timeout 10 s,
   2 s with --quick), plus dwave-samplers SA (default schedule, 1000 sweeps, reads sized to the time our SA-PF
   used). Residual vs the proven optimum, or vs the best cost any row found when no optimum is known.
4. Thread scaling: one SA job (16 restarts) through entry.run at threads=1 and threads=all cores (child process).
5. Memory: a 100 000-variable, 1 000 000-term job (decode + compile + SA + results) in a fresh process; peak RSS.
"""
from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread each for the side-by-side sections (children get their own settings)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks import instances as I  # noqa: E402
from benchmarks import libs as L  # noqa: E402
from benchmarks.report import Table  # noqa: E402

OUT = I.ROOT / ".bench" / "solvers.json"
SA_SWEEPS, SA_READS = 1000, 10
SQA_P, SQA_BETA, SQA_GAMMA = 8, 5.0, 1.0
SQA_RUNS = {"rrg3_1000": (500, 4), "torus100": (100, 1), "sk512": (200, 2)}  # sweeps, reads
SCALING_INSTANCE, SCALING_SWEEPS, SCALING_RESTARTS = "rrg3_10000", 500, 16
MEMORY_LIMIT_MIB = 1024.0


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


# --- 1. SA speed ----------------------------------------------------------------------------------------------


def _sa_contenders(inst: I.Instance, model, schedule_betas):
    """[(label, lib, run(betas, reads, seed) -> Run)] for one instance; a missing library gives run=None."""
    out = [("ours SA", "ours", lambda b, r, s: L.run_ours_sa(model, b, r, s))]
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


def section_sa(table: Table, repeats: int) -> None:
    from solver_runner import params as P
    for name in I.SPEED:
        inst = I.GENERATORS[name]()
        model = L.compiled(I.read_bytes(name))
        ours_range = P.default_beta_range(model)
        schedules = {"lin": P.linear_betas(ours_range.beta_start, ours_range.beta_stop, SA_SWEEPS)}
        if L.unavailable("dwave") is None:
            lo, hi = L.dwave_default_beta_range(L.dimod_bqm(inst))
            schedules["geo"] = np.geomspace(lo, hi, SA_SWEEPS)
        contenders = _sa_contenders(inst, model, schedules)
        attempts = SA_SWEEPS * SA_READS * inst.n
        for tag, betas in schedules.items():
            log(f"SA {name} [{tag}] β {betas[0]:.4g}→{betas[-1]:.4g}, {repeats} repeats")
            for _, _, run in contenders:
                if run is not None:
                    run(betas[:10], 1, 0)  # warm-up (JIT / first-call costs), not timed
            samples: dict[str, list] = {label: [] for label, _, _ in contenders}
            for rep in range(repeats):
                for label, _, run in contenders:
                    if run is not None:
                        samples[label].append(run(betas, SA_READS, 100 + rep))
            ours_ns = None
            for label, lib, run in contenders:
                if run is None:
                    table.add(section="1 SA", instance=name, solver=f"{label} ({tag})",
                              note=f"unavailable: {L.unavailable(lib)}")
                    continue
                runs = samples[label]
                ns = median(r.seconds / attempts * 1e9 for r in runs)
                algo = median(None if r.algo_seconds is None else r.algo_seconds / attempts * 1e9 for r in runs)
                if lib == "ours":
                    ours_ns = ns
                row = table.add(section="1 SA", instance=name, solver=f"{label} ({tag})", ns_per_op=ns,
                                algo_ns_per_op=algo, energy_per_n=median(r.energies.min() / inst.n for r in runs),
                                seconds=median(r.seconds for r in runs),
                                note=f"β {betas[0]:.3g}→{betas[-1]:.3g}, {len(runs)} runs")
                if lib == "dwave":
                    row["dwave_over_ours"] = ratio(ns, ours_ns)
                elif lib == "openjij":
                    row["openjij_over_ours"] = ratio(ns, ours_ns)


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
                ours_ns = ns
            table.add(section="2 SQA", instance=name, solver=label, ns_per_op=ns, algo_ns_per_op=algo,
                      openjij_over_ours=ratio(ns, ours_ns) if lib == "openjij" else None,
                      energy_per_n=median(r.energies.min() / inst.n for r in runs),
                      seconds=median(r.seconds for r in runs),
                      note=f"P={SQA_P}, {sweeps} sweeps × {reads} reads, β={SQA_BETA}, Γ={SQA_GAMMA}")


# --- 3. quality at a fixed time --------------------------------------------------------------------------------


def _entry_run(target: str, raw: bytes, budget: float, name: str):
    from contracts.runner import RunOutcome, RunRequest
    from solver_runner import entry
    request = RunRequest(job_id=f"bench-{name}", target=target, params={"timeout": budget, "seed": 1},
                         input_data=raw, threads=1)
    outcome = entry.run(request, lambda: False, lambda p: None)
    if outcome.status != RunOutcome.SUCCEEDED:
        return None, outcome.elapsed_s, f"{outcome.status}: {outcome.error_code}: {outcome.error_message}"
    echo = outcome.result.get("parameters", {})
    shown = ", ".join(f"{k}={v}" for k, v in echo.items() if k in ("sweeps", "restarts", "tabu_tenure"))
    return float(outcome.result["cost"]), outcome.elapsed_s, shown


def section_quality(table: Table, manifest: dict, budget: float, names) -> None:
    from contracts import targets
    from solver_runner import warmup
    from solver_runner.solvers import SOLVERS
    t0 = time.perf_counter()
    warmup.warm()
    log(f"runner warm-up (warmup.warm) {time.perf_counter() - t0:.1f} s")
    contenders = [("ours SA-PF", targets.SA_PF), ("ours Tabu-PF", targets.TABU_PF)]
    for name in names:
        meta = manifest[name]
        raw = I.read_bytes(name)
        log(f"quality {name}: budget {budget:g} s")
        rows = []
        sa_elapsed = budget
        for label, target in contenders:
            if target not in SOLVERS:
                rows.append(table.add(section="3 quality", instance=name, solver=label,
                                      note=f"unavailable: target {target} not registered"))
                continue
            cost, elapsed, note = _entry_run(target, raw, budget, name)
            if target == targets.SA_PF:
                sa_elapsed = elapsed
            rows.append(table.add(section="3 quality", instance=name, solver=label, cost=cost, seconds=elapsed,
                                  note=note))
        if L.unavailable("dwave") is None:
            inst = I.GENERATORS[name]()
            dw, reads = L.run_dwave_sa_budget(L.dimod_bqm(inst), 1000, max(0.2, sa_elapsed), 5)
            rows.append(table.add(section="3 quality", instance=name, solver="dwave-samplers SA",
                                  cost=float(dw.energies.min()), seconds=dw.seconds,
                                  note=f"1000 sweeps × {reads} reads (time of our SA-PF)"))
        else:
            rows.append(table.add(section="3 quality", instance=name, solver="dwave-samplers SA",
                                  note=f"unavailable: {L.unavailable('dwave')}"))
        found = [r["cost"] for r in rows if r.get("cost") is not None]
        if meta["status"] == "proven":
            ref, label = float(meta["best_known"]), "proven"
        elif found:
            ref, label = min(found), "best found"
        else:
            continue
        for r in rows:
            r["reference"] = f"{ref:.6g} ({label})"
            if r.get("cost") is None:
                continue
            r["residual_pct"] = (r["cost"] - ref) / abs(ref) * 100.0 if ref else r["cost"] - ref
            if label == "proven" and r["cost"] < ref - 1e-6 * max(1.0, abs(ref)):
                r["note"] = f"BELOW THE PROVEN OPTIMUM: generator or cost bug. {r.get('note', '')}"
            if "maxcut_total_weight" in meta:
                w = meta["maxcut_total_weight"]
                r["note"] = f"cut {(w - r['cost']) / 2:.0f} vs {(w - ref) / 2:.0f}; {r.get('note', '')}"


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
    cores = os.cpu_count() or 1
    log(f"scaling: SA {SCALING_SWEEPS} sweeps × {SCALING_RESTARTS} restarts on {SCALING_INSTANCE}, 1 vs {cores} threads")
    try:
        r = _child("benchmarks.scaling", [str(I.path_of(SCALING_INSTANCE)), str(SCALING_SWEEPS),
                                          str(SCALING_RESTARTS), str(repeats)], cores, 600)
    except Exception as exc:  # noqa: BLE001
        table.add(section="4 scaling", instance=SCALING_INSTANCE, solver="ours SA (entry.run)", note=f"failed: {exc}")
        return
    attempts = SCALING_SWEEPS * SCALING_RESTARTS * I.load_manifest()[SCALING_INSTANCE]["n"]
    table.add(section="4 scaling", instance=SCALING_INSTANCE, solver="ours SA threads=1", seconds=r["t1_s"],
              ns_per_op=r["t1_s"] / attempts * 1e9, cost=r["cost_1"],
              note=f"{SCALING_RESTARTS} restarts × {SCALING_SWEEPS} sweeps, whole job")
    table.add(section="4 scaling", instance=SCALING_INSTANCE, solver=f"ours SA threads={r['cores']}",
              seconds=r["tall_s"], ns_per_op=r["tall_s"] / attempts * 1e9, cost=r["cost_all"],
              note=f"speedup {r['speedup']:.2f}× on {r['cores']} cores" + (f"; errors {r['errors']}" if r["errors"] else ""))


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
                    f"{MEMORY_LIMIT_MIB:.0f}: {'OK' if ok else 'FAIL'}; after imports {r['after_imports_mib']:.0f} MiB; "
                    f"decode {r['decode_s']:.1f} s, compile {r['compile_s']:.1f} s; job {r['status']}"))


def goal_lines(table: Table) -> list[str]:
    """The issue's speed goals, checked on this run's rows: ≥ 1.3× dwave-samplers on sparse SA, not slower than
    openjij's dense path on SK-512."""
    out = []
    for row in table.rows:
        if row["section"] != "1 SA":
            continue
        if row.get("dwave_over_ours") is not None and row["instance"] != "sk512":
            r = row["dwave_over_ours"]
            out.append(f"  {row['instance']} {row['solver']}: {r:.2f}× (goal ≥ 1.30×) {'met' if r >= 1.3 else 'NOT met'}")
        if row["instance"] == "sk512" and "dense" in row["solver"] and row.get("openjij_over_ours") is not None:
            r = row["openjij_over_ours"]
            out.append(f"  sk512 {row['solver']}: {r:.2f}× (goal ≥ 1.00×) {'met' if r >= 1.0 else 'NOT met'}")
    return out


# --- main -----------------------------------------------------------------------------------------------------


def _loadavg() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numba
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "dwave-samplers": L.version("dwave-samplers"),
            "openjij": L.version("openjij"), "dimod": L.version("dimod")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.solvers", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat, 2 s quality budget, fewer quality instances")
    parser.add_argument("--sections", default="1,2,3,4,5", help="comma-separated subset of 1..5")
    parser.add_argument("--budget", type=float, default=None, help="quality time budget in seconds")
    parser.add_argument("--instances", default=None, help="comma-separated quality instances (default: all)")
    args = parser.parse_args(argv)
    sections = {int(s) for s in args.sections.split(",") if s.strip()}
    repeats = 1 if args.quick else 5
    budget = args.budget if args.budget is not None else (2.0 if args.quick else 10.0)
    started = time.perf_counter()
    load_start = _loadavg()
    manifest = I.ensure(log=log)
    table = Table(meta={"machine": machine(), "quick": args.quick, "repeats": repeats, "quality_budget_s": budget,
                        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "manifest": list(manifest.values())})
    for lib in ("dwave", "openjij"):
        if L.unavailable(lib):
            log(f"{lib} unavailable: {L.unavailable(lib)}")
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
        section_quality(table, manifest, budget, names)
    if 4 in sections:
        section_scaling(table, 1 if args.quick else 3)
    if 5 in sections:
        section_memory(table)
    table.meta["total_s"] = time.perf_counter() - started
    table.meta["loadavg_start"], table.meta["loadavg_end"] = load_start, _loadavg()
    m = table.meta["machine"]
    print(f"openqio solver benchmark — {m['cpu']}, {m['cores']} cores; python {m['python']}, numpy {m['numpy']}, "
          f"numba {m['numba']}, dwave-samplers {m['dwave-samplers']}, openjij {m['openjij']}; "
          f"{'--quick, ' if args.quick else ''}{repeats} repeat(s), quality budget {budget:g} s; "
          f"total {table.meta['total_s']:.0f} s; load average {load_start} at start, {table.meta['loadavg_end']} at end")
    print(table.render())
    print("ns/op: wall ns per spin-flip attempt (sec 1: sweeps·reads·N) or per spin·slice update (sec 2: "
          "sweeps·reads·P·N) of the whole sampling call; algo ns/op: the library's own timing of its algorithm "
          "(dwave sampling_ns, openjij execution time). Ratios lib/ours > 1 mean ours is faster. Reference "
          "'proven' = exact optimum (branch-and-bound or planted by construction); 'best found' = best of the rows "
          "above in this run. All single-threaded except section 4.")
    goals = goal_lines(table)
    if goals:
        print("speed goals (ratio lib/ours):")
        print("\n".join(goals))
    table.meta["goals"] = goals
    table.write_json(OUT)
    print(f"(JSON: {OUT.relative_to(I.ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
