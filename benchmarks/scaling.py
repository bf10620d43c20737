"""Thread scaling of one SA job through the runner entry: `python -m benchmarks.scaling FILE SWEEPS RESTARTS REPEATS`.

Run in a child whose NUMBA_NUM_THREADS is the core count (the parent pins numba to one thread for the
side-by-side comparisons, and numba fixes its pool size at import). Prints one JSON line with the median elapsed
time of the same job (same seed, so the same work) at threads=1 and threads=all cores.
"""
from __future__ import annotations

import json
import os
import statistics
import sys


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

    job(1, 2)
    job(cores, 2)  # warm-up: JIT / cache load, thread pool start
    times: dict[int, list[float]] = {1: [], cores: []}
    costs: dict[int, float | None] = {}
    errors = []
    for _ in range(repeats):
        for threads in times:
            elapsed, cost, err = job(threads, sweeps)
            times[threads].append(elapsed)
            costs[threads] = cost
            if err:
                errors.append(err)
    one, many = statistics.median(times[1]), statistics.median(times[cores])
    print(json.dumps({"cores": cores, "restarts": restarts, "sweeps": sweeps, "t1_s": one, "tall_s": many,
                      "speedup": one / many if many > 0 else None, "cost_1": costs[1], "cost_all": costs[cores],
                      "errors": errors[:3], "load": "/".join(f"{x:.1f}" for x in os.getloadavg())}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
