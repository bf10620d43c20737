"""Peak memory of one large job, measured in a fresh process: `python -m benchmarks.memory FILE [SWEEPS]`.

The child reads the input blob, then runs it exactly as a runner does (solver_runner.entry.run: decode, compile,
solve with SA, build the results document) and prints one JSON line: its peak RSS at the end, the blob size and
the phase times. The peak is the process's own high-water mark (VmHWM in /proc/self/status): getrusage's
ru_maxrss is not, because Linux carries the parent's peak over into a child across fork and exec (an audit found
the old "RSS after imports" figure was the benchmark parent's). The 1 GB check is the parent's.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def peak_mib() -> float:
    """This process's peak resident set (MiB): VmHWM, or ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str]) -> int:
    path = argv[0]
    sweeps = int(argv[1]) if len(argv) > 1 else 10
    from contracts import targets
    from contracts.problems import decode_problem
    from contracts.runner import RunOutcome, RunRequest
    from solver_runner import entry
    from solver_runner.json_terms import scan_terms
    from solver_runner.model import compile_problem

    out: dict = {}
    with open(path, "rb") as fh:
        raw = fh.read()
    out["blob_mib"] = len(raw) / 2**20
    # Phase timings on a separate decode + compile as a runner's (the job below repeats them, as a runner would).
    t0 = time.perf_counter()
    problem = decode_problem(raw, scan_terms=scan_terms)
    out["decode_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = compile_problem(problem)
    out["compile_s"] = time.perf_counter() - t0
    out["n"], out["terms"], out["quadratic"] = model.n, int(problem.n_terms), model.n_quadratic
    del problem, model
    out["after_decode_compile_mib"] = peak_mib()
    t0 = time.perf_counter()
    request = RunRequest(job_id="memory", target=targets.SA, params={"sweeps": sweeps, "restarts": 8, "seed": 1},
                         input_data=raw, threads=1)
    outcome = entry.run(request, lambda: False, lambda p: None)
    out["job_s"] = time.perf_counter() - t0
    out["status"] = outcome.status
    out["error"] = outcome.error_message
    out["cost"] = outcome.result["cost"] if outcome.status == RunOutcome.SUCCEEDED else None
    out["peak_mib"] = peak_mib()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
