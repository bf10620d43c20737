"""`python -m benchmarks.service [--quick] [--runs N] [--stack supervised|external]`: the service load benchmark.

Runs the real service and a real Azurite in a temporary directory and drives them over HTTPS with the native async
client. Each run (3 by default; benchmarks/service/runs.py) measures the capacity with a burst (each service it
starts first gets an unmeasured burst of the same size, so that every phase measures a warm stack), then offers paced
load at 100 jobs/s and at 50 %, 100 % and 200 % of that capacity to a service that refuses work past half a second of
queueing (200 % twice: as the native client submits, holding a workspace's submissions after a 429, and with every
submission sent, as the SDK's clients), and a burst to that service whose refused clients wait as told ("flood"),
then bursts again (the 200 % and flood phases are judged against the mean of the two bursts). Then, once: cancel
latency, what one refused submission costs the client and the service against the same request to a bare aiohttp
server (benchmarks/service/refusals.py), and reads from a store of 10⁵ jobs. Prints one table (median and range over
the runs, each goal with PASS/MISS and how many runs met it) and writes every figure to .bench/service.json.

How a goal is judged (issue 18 asks for the median and range of 3 runs, and a run count only of the paced goal): a
goal on a rate or on CPU per job (burst capacity, the burst's CPU per job, the 200 % phase's share of capacity and
its CPU per job against the bursts') is judged on the median of the runs; a bound on latency (paced p50, the 200 %
phase's p99) and every correctness check (refusals with Retry-After, jobs lost) on every run. Until 2026-12-07 noon
every goal was judged on every run; a rate compared between phases minutes apart on a 2-core VM spreads by several
percent between runs of the same code (the 200 % share 86-94 % in nine runs that morning), so the verdict now says
both: the median's, and how many runs met the goal.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from contracts.heap import freeze_heap

from . import big_store, load, refusals, stack
from .runs import UNHELD, Plan, bracketed, disturbed, log, one_run, spread
from .stats import verdict

ROOT = Path(__file__).resolve().parents[2]
GOALS = {"cpu_per_job_ms": 12.0, "burst_jobs_per_s": 150.0, "paced_p50_ms": 50.0, "overload_share": 0.9,
         "overload_cpu_ratio": 1.2, "overload_p99_ms": 2000.0, "cancel_p99_ms": 200.0, "read_p50_ms": 20.0}


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(), "service_event_loop": _service_loop()}


def _service_loop() -> str:
    """The event loop the services started here run on (OPENQIO_EVENT_LOOP, inherited; services.server.loop_runner)."""
    from services.server import StartupError, loop_runner
    try:
        runner = loop_runner(os.environ.get("OPENQIO_EVENT_LOOP") or "auto")
    except StartupError as exc:
        return f"none ({exc})"
    return runner.__module__.split(".")[0]


def _rows(runs: list[dict], phases: list[str]) -> list[tuple[str, str, str, str]]:
    """The table: (measure, median [range], goal, verdict and how many runs met the goal; the module's docstring says
    which goals are judged on the median and which on every run)."""
    rows: list[tuple[str, str, str, str]] = []
    burst_cpu = spread(runs, "burst", "cpu_total_ms")
    capacity = spread(runs, "burst", "jobs_per_s")
    if capacity is None or burst_cpu is None:
        return rows

    def counted(values, ok, passed: bool) -> str:
        return f"{'PASS' if passed else 'MISS'} ({sum(1 for v in values if ok(v))} of {len(values)} runs)"

    def every(values, ok) -> str:  # bounds and correctness
        return counted(values, ok, all(ok(v) for v in values))

    def median(values, ok) -> str:  # rates and CPU per job
        return counted(values, ok, ok(statistics.median(values)))

    def shares(values) -> str:
        each = " ".join(f"{v:.1%}" for v in values)
        return each if len(values) == 1 else f"{statistics.median(values):.1%} ({each})"

    rows.append(("burst: completed jobs/s (capacity)", capacity.brief(), "median ≥ 150",
                 median(capacity.values, lambda v: v >= GOALS["burst_jobs_per_s"])))
    for phase in phases:
        cpu = spread(runs, phase, "cpu_total_ms")
        parts = [spread(runs, phase, f"cpu_{name}_ms") for name in ("client", "azurite", "service", "runners")]
        goal, check = (("median ≤ 12", median(cpu.values, lambda v: v <= GOALS["cpu_per_job_ms"])) if phase == "burst"
                       else ("", ""))
        rows.append((f"{phase}: CPU ms per job, all (client / Azurite / service / runners)",
                     f"{cpu.brief()} ({' / '.join(p.brief() for p in parts)})", goal, check))
        if phase == "burst":
            after = spread(runs, "burst after", "jobs_per_s")
            after_cpu = spread(runs, "burst after", "cpu_total_ms")
            if after is not None and after_cpu is not None:
                rows.append(("burst after the 200 % phase: jobs/s; CPU ms per job", f"{after.brief()}; "
                             f"{after_cpu.brief()}", "", ""))
            continue
        done, p50, p99 = (spread(runs, phase, k) for k in ("jobs_per_s", "server_p50_ms", "server_p99_ms"))
        offered, refused, held = (spread(runs, phase, k) for k in ("offered_per_s", "refused", "held"))
        rows.append((f"{phase}: offered / completed jobs/s; refused (429; of them held by the client, not sent)",
                     f"{offered.brief(0)} / {done.brief()}; {refused.brief(0)} ({held.brief(0) if held else '-'})",
                     "", ""))
        if phase == "paced 100/s":
            rows.append((f"{phase}: latency p50 / p99 ms (created → ended)", f"{p50.brief()} / {p99.brief()}",
                         "p50 < 50 every run", every(p50.values, lambda v: v < GOALS["paced_p50_ms"])))
        elif phase == UNHELD:  # not judged: how the SDK's clients, which send every submission, fare
            judged = [r for r in runs if phase in r]
            rows.append((f"{phase} (as the SDK's clients): completed / capacity; CPU per job / the bursts'",
                         " ".join(f"{s:.1%}" for s in _against_bursts(judged, phase, "jobs_per_s")) + "; "
                         + " ".join(f"{r:.2f}" for r in _against_bursts(judged, phase, "cpu_total_ms")), "", ""))
            rows.append((f"{phase}: latency of admitted jobs p50 / p99 ms", f"{p50.brief()} / {p99.brief()}", "", ""))
        elif phase == "200 %":
            # against the bursts before and after it (runs.bracketed: the VM's speed drifts between phases)
            judged = [r for r in runs if phase in r]
            share = _against_bursts(judged, phase, "jobs_per_s")
            ratio = _against_bursts(judged, phase, "cpu_total_ms")
            rows.append((f"{phase}: completed / capacity (mean of the bursts before and after)",
                         shares(share), "median ≥ 90 %",  # 89.7 % is not "90%" beside a MISS
                         median(share, lambda v: v >= GOALS["overload_share"])))
            rows.append((f"{phase}: CPU per job / the bursts'", " ".join(f"{r:.2f}" for r in ratio), "median ≤ 1.20",
                         median(ratio, lambda v: v <= GOALS["overload_cpu_ratio"])))
            # the runners do the same work for each job in every phase (and, kept busy by the backlog, wait no more
            # between jobs than in a burst): their ratio is how fast this service is against the burst services.
            # Mostly not the VM's speed: a fixed piece of work timed beside 7 runs ran as fast in the phase as in
            # the bursts in six, while the runners cost up to 1.22x; the stack's runners and Azurite vary by up to
            # ~25 % per job between instances, and within one from burst to burst (benchmarks/README.md, "2026-12-06
            # late morning" and "noon")
            vm = [r[phase]["cpu_runners_ms"] / bracketed(r, "cpu_runners_ms") for r in judged]
            rows.append((f"{phase}: runners' CPU per job / the bursts' (the same work per job: this service's speed "
                         "against the burst services')", " ".join(f"{v:.2f}" for v in vm), "", ""))
            # against the flood, which runs on this same service after the phase: burst-shaped, with ~0.3 refusals a
            # job of clients that wait as told, so a capacity a little low; but no instance-to-instance difference
            same = [r for r in judged if "flood" in r]
            if same:
                rows.append((f"{phase}: completed / the flood's; CPU per job / the flood's (the same service)",
                             " ".join(f"{r[phase]['jobs_per_s'] / r['flood']['jobs_per_s']:.0%}" for r in same) + "; "
                             + " ".join(f"{r[phase]['cpu_total_ms'] / r['flood']['cpu_total_ms']:.2f}" for r in same),
                             "", ""))
            # the same open-loop pattern, at capacity and uncongested: jobs that arrive one by one cost more than a
            # burst's, overload or not (at 80 % of capacity, 11-17 % more than the same jobs arriving ten at a time,
            # nothing refused: benchmarks/README.md, "2026-12-06 late evening"); against 100 %: what overload adds
            for other, why in (("100 %", "the same one-by-one arrivals, at capacity"), ("50 %", "no backlog")):
                same_pattern = spread(runs, other, "cpu_total_ms")
                if same_pattern is not None and len(same_pattern.values) == len(cpu.values):
                    measure = f"CPU per job / {other}'s ({why})"
                    value = " ".join(f"{a / b:.2f}" for a, b in zip(cpu.values, same_pattern.values))
                    if other == "100 %":  # and its jobs completed against that phase's (0.94-1.04 on 2026-12-07)
                        completed = spread(runs, other, "jobs_per_s")
                        measure = f"completed; {measure}"
                        value = " ".join(f"{a / b:.0%}" for a, b in zip(done.values, completed.values)) + f"; {value}"
                    rows.append((f"{phase}: {measure}", value, "", ""))
            # capacity offered one job at a time completes less than a burst's rate (it queues to the limit and
            # refuses too): past capacity the stack does what one-by-one arrivals allow, overload or not
            # (benchmarks/README.md, "2026-12-06, towards midnight")
            at_capacity = [r for r in judged if "100 %" in r]
            if at_capacity:
                rows.append(("100 %: completed / capacity (capacity offered one job at a time, without overload)",
                             " ".join(f"{s:.1%}" for s in _against_bursts(at_capacity, "100 %", "jobs_per_s")), "",
                             ""))
            rows.append((f"{phase}: latency of admitted jobs p50 / p99 ms", f"{p50.brief()} / {p99.brief()}",
                         "p99 ≤ 2000 every run", every(p99.values, lambda v: v <= GOALS["overload_p99_ms"])))
            # admission sending clients away for longer than the backlog lasts leaves the runners nothing queued
            # (a pace misjudged at the start of an overload did, until 2026-12-06 evening: one such phase at 27 %)
            rows.append((f"{phase}: share of the phase with no admitted job waiting",
                         " ".join(f"{r[phase].get('none_waiting', 0.0):.1%}" for r in judged), "", ""))
            missing = spread(runs, phase, "refused_without_retry_after")
            rows.append((f"{phase}: refused without Retry-After", missing.brief(0), "0",
                         every(missing.values, lambda v: v == 0)))
        else:
            rows.append((f"{phase}: latency p50 / p99 ms (created → ended)", f"{p50.brief()} / {p99.brief()}", "",
                         ""))
    flood = [r for r in runs if "flood" in r]
    if flood:  # the limited service flooded by clients that retry: does it still complete jobs at its capacity?
        rate, waited, p99 = (spread(flood, "flood", k) for k in ("jobs_per_s", "refused", "server_p99_ms"))
        share = " ".join(f"{r['flood']['jobs_per_s'] / bracketed(r, 'jobs_per_s'):.0%}" for r in flood)
        rows.append(("flood (a burst to the limited service, refused clients waiting as told): completed jobs/s "
                     "(share of capacity); 429s; p99 ms", f"{rate.brief()} ({share}); {waited.brief(0)}; "
                     f"{p99.brief(0)}", "", ""))
    lost = [sum(r[p]["failures"] for p in r) for r in runs]
    rows.append(("jobs lost, failed or wrong (all phases)", " ".join(str(n) for n in lost), "0",
                 every(lost, lambda v: v == 0)))
    return rows


def _against_bursts(runs: list[dict], phase: str, key: str) -> list[float]:
    """A phase's figure over the bursts' before and after it, per run (runs.bracketed: the VM's speed drifts)."""
    return [r[phase][key] / bracketed(r, key) for r in runs]


def _refusal_rows(measured: refusals.Refusals, runs: list[dict]) -> list[tuple[str, str, str, str]]:
    """What a refusal sent costs, and what the 200 % phases' refusals sent cost per completed job against a burst job:
    the part of that phase's CPU per job that no job's work explains (~1.2 sent per completed job when every
    submission is sent; a submission the client holds back costs it ~0.05 ms and the service nothing)."""
    ours, floor = measured.ours, measured.floor
    rows = [("refused submission sent: CPU ms, client / service (the same request to bare aiohttp over TLS: the floor)",
             f"{ours.client_ms:.2f} / {ours.server_ms:.2f} (floor {floor.client_ms:.2f} / {floor.server_ms:.2f})", "",
             "")]
    for phase in ("200 %", UNHELD):
        cells = []
        for r in runs:
            if r.get(phase, {}).get("jobs"):
                sent = (r[phase]["refused"] - r[phase].get("held", 0)) / r[phase]["jobs"]
                at_ours, at_floor = (sent * (side.client_ms + side.server_ms) / bracketed(r, "cpu_total_ms")
                                     for side in (ours, floor))
                cells.append(f"{sent:.2f}, {at_ours:.0%} ({at_floor:.0%})")
        if cells:
            rows.append((f"{phase}: refusals sent per completed job, their CPU / the bursts' CPU per job (at the "
                         "floor's cost)", " ".join(cells), "", ""))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.service", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run, 200 burst jobs, 3 s phases (6 s at 200 %%), "
                                                             "5 cancels, 10k stored jobs: ~2 min")
    parser.add_argument("--runs", type=int, help="runs of the load phases (default 3; 1 with --quick)")
    parser.add_argument("--jobs", type=int, help="burst jobs (default 1000; 200 with --quick)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--paced-seconds", type=float, help="length of the paced phases (default 10; 3 with --quick)")
    parser.add_argument("--overload-seconds", type=float, help="length of the 200 %% phase (default 30; 6 --quick)")
    parser.add_argument("--max-queue-delay", type=float, default=0.5,
                        help="OPENQIO_MAX_QUEUE_DELAY_S of the paced phases' service (default 0.5)")
    parser.add_argument("--stack", choices=stack.STACKS, default="supervised",
                        help="supervised: `openqio serve --with-azurite` as `make run` (default); external: an "
                             "in-memory Azurite started here, as with Docker's (the service checks each result blob)")
    parser.add_argument("--cancels", type=int, help="cancel trials (default 20; 5 with --quick)")
    parser.add_argument("--stored", type=int, help="jobs in the big store (default 100000; 10000 with --quick)")
    parser.add_argument("--runners", type=int, default=os.cpu_count() or 1, help="runner processes (default: cores)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="ray: the Ray executor against the local pool on a Ray cluster started here "
                             "(benchmarks/service/ray_bench.py; needs the ray extra)")
    parser.add_argument("--out", type=Path, help="where the figures go (default .bench/service.json, "
                                                  ".bench/service-ray.json with --executor ray)")
    args = parser.parse_args(argv)
    if args.executor == "ray":
        return _main_ray(args)
    args.out = args.out or ROOT / ".bench" / "service.json"
    quick = args.quick
    plan = Plan(burst_jobs=args.jobs or (200 if quick else 1000), clients=args.clients, runners=args.runners,
                paced_s=args.paced_seconds or (3.0 if quick else 10.0),
                overload_s=args.overload_seconds or (6.0 if quick else 30.0), max_queue_delay_s=args.max_queue_delay,
                stack=args.stack)
    runs_wanted = args.runs or (1 if quick else 3)
    trials = args.cancels or (5 if quick else 20)
    stored = args.stored or (10_000 if quick else 100_000)
    report: dict = {"machine": _machine(), "plan": vars(plan), "runs": [], "load_average": []}
    failures: list[str] = []
    external_cm = stack.azurite() if plan.stack == "external" else None
    # What this process has loaded stays out of the garbage collector's walks during the phases (as in the service
    # and its runners): the client's CPU is charged per job, and full collections walking ~10⁵ objects are not a
    # client's cost (benchmarks/README.md, item 19). Here, not in load.py, whose phases the tests also run.
    freeze_heap()
    with tempfile.TemporaryDirectory(prefix="openqio-bench-") as tmp:
        work = Path(tmp)
        external = external_cm.__enter__() if external_cm is not None else None
        try:
            for index in range(1, runs_wanted + 1):
                report["load_average"].append(os.getloadavg())
                figures, run_failures = one_run(index, plan, work, external, keep=args.out.parent / "service-logs")
                report["runs"].append(figures)
                failures += run_failures
            blob_url = external.blob_url if external is not None else None
            with stack.service(work / "cancel", blob_url, plan.runners) as svc:
                log(f"cancel: {trials} trials")
                c = asyncio.run(load.cancels(str(svc.connection_file), trials=trials))
                failures += c.failures
            refused = refusals.measure(work / "refusals", blob_url, plan.runners, 600 if quick else 3000, log)
            failures += refused.failures
            log(f"big store: inserting {stored} jobs")
            (work / "big").mkdir()
            with stack.azurite() as reads_storage:  # (its jobs name the development account: an Azurite serving it)
                ids, fill_s = big_store.run_fill(work / "big" / "jobs.sqlite3", stored, "openqio",
                                                 reads_storage.blob_url)
                with stack.service(work / "big", reads_storage.blob_url, 1, {"OPENQIO_WORKSPACE": "openqio"}) as svc:
                    r = asyncio.run(big_store.time_reads(str(svc.connection_file), ids, repeats=200))
        finally:
            if external_cm is not None:
                external_cm.__exit__(None, None, None)
    report["load_average"].append(os.getloadavg())

    phases = ["burst", "paced 100/s", "50 %", "100 %", "200 %", UNHELD]
    rows = _rows(report["runs"], phases) + _refusal_rows(refused, report["runs"])
    rows += [
        ("cancel latency p50 / p99 ms (DELETE sent → cancellationTime)", f"{c.server.p50_ms:.1f} / {c.server.p99_ms:.1f}",
         "p99 < 200", verdict(c.server.p99_ms, GOALS["cancel_p99_ms"])),
        (f"list_jobs first page p50 / p99 ms, {r.jobs_in_store} in store",
         f"{r.list_first_page.p50_ms:.1f} / {r.list_first_page.p99_ms:.1f}", "p50 < 20",
         verdict(r.list_first_page.p50_ms, GOALS["read_p50_ms"])),
        (f"get_job p50 / p99 ms, {r.jobs_in_store} in store", f"{r.get_job.p50_ms:.1f} / {r.get_job.p99_ms:.1f}",
         "p50 < 20", verdict(r.get_job.p50_ms, GOALS["read_p50_ms"])),
    ]
    report.update({
        "cancel": {"trials": c.trials, "server": c.server.to_dict(), "client": c.client.to_dict(),
                   "failures": c.failures},
        "refusals": refused.to_dict(),
        "reads": {"jobs_in_store": r.jobs_in_store, "page_size": r.page_size, "fill_s": fill_s,
                  "list_first_page": r.list_first_page.to_dict(), "list_next_page": r.list_next_page.to_dict(),
                  "get_job": r.get_job.to_dict()},
        "failures": failures[:100], "table": rows,
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))

    loads = " ".join(f"{la[0]:.2f}" for la in report["load_average"])
    print(f"\nopenqio service benchmark: {os.cpu_count()} cores, {plan.runners} runners, stack {plan.stack}, "
          f"service event loop {report['machine']['service_event_loop']}, "
          f"load average before each run and at the end: {loads}")
    _print_table(rows, f"median [range] of {runs_wanted} run(s)")
    busy = [r[p].get("other_cores") for r in report["runs"] for p in r if r[p].get("other_cores") is not None]
    if busy:
        print(f"busy cores outside the benchmark during the phases: {min(busy):.2f}-{max(busy):.2f}")
    if (warning := disturbed(report["runs"])) is not None:
        print(warning)
    if failures:
        print(f"\n{len(failures)} correctness failure(s):")
        for f in failures[:20]:
            print(f"  - {f}")
    print(f"\nwritten to {args.out}")
    return 1 if failures else 0


def _print_table(rows: list, value: str = "value") -> None:
    header = ("measure", value, "goal", "")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(4)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def _main_ray(args: argparse.Namespace) -> int:
    """`--executor ray`: benchmarks/service/ray_bench.py, printed and written like the main run."""
    from . import ray_bench

    out = args.out or ROOT / ".bench" / "service-ray.json"
    with tempfile.TemporaryDirectory(prefix="openqio-bench-") as tmp, stack.azurite() as blob:
        report = {"machine": _machine(), **ray_bench.run(Path(tmp), blob, args, log)}
    report["load_average_at_end"] = os.getloadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nopenqio service benchmark, Ray executor: {report['machine']['cpus']} cores, load average at start "
          f"{report['machine']['load_average_at_start'][0]:.2f}, at end {report['load_average_at_end'][0]:.2f}")
    _print_table(report["table"])
    for failure in report["failures"][:20]:
        print(f"  - {failure}")
    print(f"\nwritten to {out}")
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
