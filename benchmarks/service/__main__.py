"""`python -m benchmarks.service [--quick]`: the service load benchmark (issue 6, "load held").

Starts a real Azurite and the real service in a temporary directory, drives it over HTTPS with the native async
client, and prints one table with each goal and PASS/MISS. Writes the figures to .bench/service.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from . import big_store, load, stack
from .cpu import CpuMeter
from .stats import verdict

ROOT = Path(__file__).resolve().parents[2]
GOALS = {"burst_jobs_per_s": 100.0, "paced_p50_ms": 50.0, "cancel_p99_ms": 200.0, "read_p50_ms": 20.0}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_at_start": os.getloadavg()}


def _per_job(cpu: dict[str, float], jobs: int) -> str:
    names = ("client", "azurite", "service", "runners")
    if not jobs or not all(n in cpu for n in names):
        return "n/a"
    return " / ".join(f"{cpu[n] / jobs * 1000:.1f}" for n in names) + " ms"


def _cores(cpu: dict[str, float]) -> str:
    if "machine_busy_cores" not in cpu:
        return "n/a"
    return f"{cpu['machine_busy_cores']:.2f} / {cpu['other_cores']:.2f} of {os.cpu_count()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.service", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (200 burst jobs, 3 s paced, 5 cancels, "
                                                             "10k stored jobs), ~2 min")
    parser.add_argument("--jobs", type=int, help="burst jobs (default 1000; 200 with --quick)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--rate", type=float, default=100.0, help="offered rate of the paced phase, jobs/s")
    parser.add_argument("--paced-seconds", type=float, help="length of the paced phase (default 10; 3 with --quick)")
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
    jobs = args.jobs or (200 if args.quick else 1000)
    paced_s = args.paced_seconds or (3.0 if args.quick else 10.0)
    trials = args.cancels or (5 if args.quick else 20)
    stored = args.stored or (10_000 if args.quick else 100_000)

    report: dict = {"machine": _machine(), "args": {"jobs": jobs, "clients": args.clients, "rate": args.rate,
                                                     "paced_s": paced_s, "cancels": trials, "stored": stored,
                                                     "runners": args.runners}}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="openqio-bench-") as tmp, stack.azurite() as blob:
        work = Path(tmp)
        _log(f"Azurite on {blob.blob_url}; starting the service ({args.runners} runners)")
        with stack.service(work / "load", blob.blob_url, args.runners) as svc:
            conn = str(svc.connection_file)

            def meter() -> CpuMeter:
                return CpuMeter.for_stack(os.getpid(), blob.process.pid if blob.process else None, svc.process.pid)

            _log("warm-up: 20 jobs")
            asyncio.run(load.burst(conn, jobs=20, clients=5, seed=99))
            _log(f"burst: {jobs} jobs from {args.clients} clients")
            b = asyncio.run(load.burst(conn, jobs=jobs, clients=args.clients, meter=meter()))
            failures += b.failures
            _log(f"paced: {args.rate:g} jobs/s for {paced_s:g} s")
            p = asyncio.run(load.paced(conn, offered_per_s=args.rate, seconds=paced_s, clients=args.clients,
                                       meter=meter()))
            failures += p.failures
            _log(f"cancel: {trials} trials")
            c = asyncio.run(load.cancels(conn, trials=trials))
            failures += c.failures
            report["service_log_tail"] = svc.tail(5)
        _log(f"big store: inserting {stored} jobs")
        big_dir = work / "big"
        big_dir.mkdir()
        ids, fill_s = big_store.run_fill(big_dir / "jobs.sqlite3", stored, "openqio", blob.blob_url)
        _log(f"inserted in {fill_s:.1f} s; starting the service on it")
        with stack.service(big_dir, blob.blob_url, 1, {"OPENQIO_WORKSPACE": "openqio"}) as svc:
            r = asyncio.run(big_store.time_reads(str(svc.connection_file), ids, repeats=200))
    report["load_average_at_end"] = os.getloadavg()

    rows = [
        (f"burst: {jobs} jobs / {args.clients} clients, all terminal, once, cost rechecked",
         f"{b.verified}/{jobs} verified", f"{jobs}/{jobs}", "PASS" if b.verified == jobs and not b.failures else "MISS"),
        ("burst throughput (service clock: first created → last ended)", f"{b.server_jobs_per_s:.1f} jobs/s",
         "≥ 100 jobs/s", verdict(b.server_jobs_per_s, GOALS["burst_jobs_per_s"], lower_is_better=False)),
        ("  burst throughput seen by clients (SDK polling, ≤ 1 s)", f"{b.client_jobs_per_s:.1f} jobs/s", "", ""),
        ("  burst submissions (all clients)", f"{jobs / b.submit_s:.1f} jobs/s", "", ""),
        ("  burst queued (created → began) / created → ended", f"{b.queue.brief()} / {b.server.brief()}", "", ""),
        ("  burst CPU per job: client / Azurite / service / runners", _per_job(b.cpu, jobs), "", ""),
        ("  burst busy cores: all / outside the benchmark", _cores(b.cpu), "", ""),
        (f"paced {args.rate:g} jobs/s offered: completed (first created → last ended)", f"{p.achieved_per_s:.1f} jobs/s",
         f"≥ {0.95 * args.rate:g} (95 %)", verdict(p.achieved_per_s, 0.95 * args.rate, lower_is_better=False)),
        ("paced latency, server (created → ended)", p.server.brief(), "p50 < 50 ms",
         verdict(p.server.p50_ms, GOALS["paced_p50_ms"])),
        ("  of which queued (created → began)", p.queue.brief(), "", ""),
        ("  paced latency, client (submit start → terminal seen; 1 job in 10, 20 ms poll)", p.client.brief(), "", ""),
        ("  submit call (sasUri + container + upload + PUT)", p.submit.brief(), "", ""),
        ("  paced CPU per job: client / Azurite / service / runners", _per_job(p.cpu, p.jobs), "", ""),
        ("  paced busy cores: all / outside the benchmark", _cores(p.cpu), "", ""),
        ("cancel latency, server (DELETE sent → cancellationTime)", c.server.brief(), "p99 < 200 ms",
         verdict(c.server.p99_ms, GOALS["cancel_p99_ms"])),
        ("  cancel latency, client (DELETE sent → Cancelled seen, 5 ms poll)", c.client.brief(), "", ""),
        (f"list_jobs first page ({r.page_size} jobs), {r.jobs_in_store} in store", r.list_first_page.brief(),
         "< 20 ms", verdict(r.list_first_page.p50_ms, GOALS["read_p50_ms"])),
        ("  list_jobs second page (cursor)", r.list_next_page.brief(), "", ""),
        (f"get_job, {r.jobs_in_store} in store", r.get_job.brief(), "< 20 ms",
         verdict(r.get_job.p50_ms, GOALS["read_p50_ms"])),
    ]
    report.update({
        "burst": {**{k: v for k, v in vars(b).items() if k not in ("queue", "server")},
                  "queue": b.queue.to_dict(), "server": b.server.to_dict()},
        "paced": {"offered_per_s": p.offered_per_s, "jobs": p.jobs, "achieved_per_s": p.achieved_per_s,
                  "server": p.server.to_dict(), "queue": p.queue.to_dict(), "client": p.client.to_dict(),
                  "submit": p.submit.to_dict(), "failures": p.failures, "cpu": p.cpu},
        "cancel": {"trials": c.trials, "server": c.server.to_dict(), "client": c.client.to_dict(),
                   "delete_call": c.delete_call.to_dict(), "failures": c.failures},
        "reads": {"jobs_in_store": r.jobs_in_store, "page_size": r.page_size, "fill_s": fill_s,
                  "list_first_page": r.list_first_page.to_dict(), "list_next_page": r.list_next_page.to_dict(),
                  "get_job": r.get_job.to_dict()},
        "table": rows,
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))

    print(f"\nopenqio service benchmark: {report['machine']['cpus']} cores, {args.runners} runners, "
          f"load average at start {report['machine']['load_average_at_start'][0]:.2f}, "
          f"at end {report['load_average_at_end'][0]:.2f}")
    _print_table(rows)
    if failures:
        print(f"\n{len(failures)} correctness failure(s):")
        for f in failures[:20]:
            print(f"  - {f}")
    print(f"\nwritten to {args.out}")
    return 1 if failures or b.verified != jobs else 0


def _print_table(rows: list) -> None:
    header = ("measure", "value", "goal", "")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(4)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def _main_ray(args: argparse.Namespace) -> int:
    """`--executor ray`: benchmarks/service/ray_bench.py, printed and written like the main run."""
    from . import ray_bench

    out = args.out or ROOT / ".bench" / "service-ray.json"
    with tempfile.TemporaryDirectory(prefix="openqio-bench-") as tmp, stack.azurite() as blob:
        report = {"machine": _machine(), **ray_bench.run(Path(tmp), blob, args, _log)}
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
