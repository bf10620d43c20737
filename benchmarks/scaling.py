"""Thread scaling of one SA job through the runner entry:
`python -m benchmarks.scaling FILE SWEEPS RESTARTS REPEATS [THREADS]` (THREADS: comma-separated counts, default
`1,<all cores>`).

Run in a child whose NUMBA_NUM_THREADS is the core count (the parent pins numba to one thread for the
side-by-side comparisons, and numba fixes its pool size at import). Prints one JSON line with the median elapsed
time of the same job (same seed, so the same work) at each thread count, and the machine's own ceiling for each:
the same ratio for a reference kernel of pure vector arithmetic, one independent piece per thread, no memory
traffic (a shared VM's cores can scale less than 1 → N even then; that is a bound no solver can beat there). The
job and the reference run interleaved, so both see the same neighbours.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time


def _reference_kernel():
    import numpy as np
    from numba import njit, prange

    @njit(parallel=True, nogil=True)
    def spin(out, rounds):  # per piece: 64 independent multiply-xorshift chains (packed SIMD), registers only
        for g in prange(out.shape[0]):
            a = np.arange(64).astype(np.uint64) + np.uint64(g)
            for _ in range(rounds):
                for k in range(64):
                    a[k] = (a[k] ^ (a[k] >> np.uint64(7))) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(k)
            out[g] = a.sum()

    return spin


def main(argv: list[str]) -> int:
    path, sweeps, restarts, repeats = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    from contracts import targets
    from contracts.runner import RunOutcome, RunRequest
    from solver_runner import entry

    raw = open(path, "rb").read()
    cores = os.cpu_count() or 1
    counts = sorted({int(t) for t in argv[4].split(",")} if len(argv) > 4 else {1, cores})
    if counts[0] != 1 or counts[-1] > cores:
        raise SystemExit(f"thread counts must start at 1 and stay within this machine's {cores} cores: {counts}")

    def job(threads: int, n_sweeps: int) -> tuple[float, float | None, str]:
        request = RunRequest(job_id="scaling", target=targets.SA, input_data=raw, threads=threads,
                             params={"sweeps": n_sweeps, "restarts": restarts, "seed": 7})
        outcome = entry.run(request, lambda: False, lambda p: None)
        cost = outcome.result["cost"] if outcome.status == RunOutcome.SUCCEEDED else None
        return outcome.elapsed_s, cost, outcome.error_message or ""

    import numba
    import numpy as np

    spin = _reference_kernel()
    pieces = np.zeros(counts[-1], np.uint64)  # one piece per thread at the most threads asked for
    rounds = 20_000_000 // len(pieces)  # the same work in all, whatever the count (one thread: ~0.2-0.4 s)

    def reference(threads: int) -> float:
        numba.set_num_threads(threads)
        t0 = time.perf_counter()
        spin(pieces, rounds)
        numba.set_num_threads(cores)
        return time.perf_counter() - t0

    for threads in counts:
        job(threads, 2)  # warm-up: JIT / cache load, thread pool start
    reference(1)
    times: dict[int, list[float]] = {t: [] for t in counts}
    ref: dict[int, list[float]] = {t: [] for t in counts}
    costs: dict[int, float | None] = {}
    errors = []
    for _ in range(repeats):
        for threads in counts:
            elapsed, cost, err = job(threads, sweeps)
            times[threads].append(elapsed)
            costs[threads] = cost
            if err:
                errors.append(err)
            ref[threads].append(reference(threads))
    t = {k: statistics.median(v) for k, v in times.items()}
    r = {k: statistics.median(v) for k, v in ref.items()}
    print(json.dumps({"cores": cores, "restarts": restarts, "sweeps": sweeps, "threads": counts,
                      "seconds": {str(k): t[k] for k in counts}, "each_s": times, "reference_each_s": ref,
                      "speedup": {str(k): t[1] / t[k] if t[k] > 0 else None for k in counts[1:]},
                      "ceiling": {str(k): r[1] / r[k] for k in counts[1:]},
                      "cost": {str(k): costs[k] for k in counts},
                      "errors": errors[:3], "load": "/".join(f"{x:.1f}" for x in os.getloadavg())}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
