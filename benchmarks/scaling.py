"""Thread scaling of one SA job through the runner entry: `python -m benchmarks.scaling FILE SWEEPS RESTARTS REPEATS`.

Run in a child whose NUMBA_NUM_THREADS is the core count (the parent pins numba to one thread for the
side-by-side comparisons, and numba fixes its pool size at import). Prints one JSON line with the median elapsed
time of the same job (same seed, so the same work) at threads=1 and threads=all cores, and the machine's own ceiling:
the same ratio for a reference kernel of pure vector arithmetic, one independent piece per core, no memory traffic
(a shared VM's cores can scale less than 1 → N even then; that is a bound no solver can beat there). The job and
the reference run interleaved, so both see the same neighbours.
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

    def job(threads: int, n_sweeps: int) -> tuple[float, float | None, str]:
        request = RunRequest(job_id="scaling", target=targets.SA, input_data=raw, threads=threads,
                             params={"sweeps": n_sweeps, "restarts": restarts, "seed": 7})
        outcome = entry.run(request, lambda: False, lambda p: None)
        cost = outcome.result["cost"] if outcome.status == RunOutcome.SUCCEEDED else None
        return outcome.elapsed_s, cost, outcome.error_message or ""

    import numba
    import numpy as np

    spin = _reference_kernel()
    pieces = np.zeros(cores, np.uint64)

    def reference(threads: int) -> float:
        numba.set_num_threads(threads)
        t0 = time.perf_counter()
        spin(pieces, 10_000_000)
        numba.set_num_threads(cores)
        return time.perf_counter() - t0

    job(1, 2)
    job(cores, 2)  # warm-up: JIT / cache load, thread pool start
    reference(1)
    times: dict[int, list[float]] = {1: [], cores: []}
    ref: dict[int, list[float]] = {1: [], cores: []}
    costs: dict[int, float | None] = {}
    errors = []
    for _ in range(repeats):
        for threads in times:
            elapsed, cost, err = job(threads, sweeps)
            times[threads].append(elapsed)
            costs[threads] = cost
            if err:
                errors.append(err)
            ref[threads].append(reference(threads))
    one, many = statistics.median(times[1]), statistics.median(times[cores])
    ceiling = statistics.median(ref[1]) / statistics.median(ref[cores])
    print(json.dumps({"cores": cores, "restarts": restarts, "sweeps": sweeps, "t1_s": one, "tall_s": many,
                      "speedup": one / many if many > 0 else None, "ceiling": ceiling, "cost_1": costs[1], "cost_all": costs[cores],
                      "errors": errors[:3], "load": "/".join(f"{x:.1f}" for x in os.getloadavg())}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
