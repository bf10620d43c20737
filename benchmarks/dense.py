"""Section 7 of benchmarks.solvers: where dense SA's time goes (SK-512, the scalar kernel, 64 walkers, one thread).

The dense kernel (solver_runner.kernels.common.sweep_dense_quadratic) does three kinds of work: every attempt
reads a field and tests it; an uphill move with β·ΔE ≤ 40 draws a uniform (`accept_uphill`); an accepted move adds
its coupling row (n float64) to the walker's fields. At fixed β from hot to cold, the sweeps' time per attempt is
fitted as base + t_flip·flips + t_draw·draws (least squares, rates counted per attempt), and the rates on section
1's two schedules say how much of each schedule's time is row adds. A row add alone (n float64, rows of the model
in random order, one walker's fields) is timed beside it. benchmarks/README.md, "Why SK-512 stays short of 4×",
says what the numbers mean for the ≥ 4× goal against openjij's dense path.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from numba import njit

from solver_runner.kernels.common import accept_uphill
from solver_runner.kernels.rng import RNG_STRIDE

FIT_BETAS = (0.05, 0.3, 1.0, 2.0, 4.0, 8.0, 20.0, 1000.0)
EQUILIBRATE = 30  # sweeps at each β before it is timed
FIT_SWEEPS = 20


@njit(cache=False, nogil=True)
def count_moves(S, F, rng, betas, ising, dense):
    """The dense kernel's sweeps (same decisions on the same draws, so S ends as the kernel leaves it), counting
    (accepted flips, uniforms drawn) over every walker and sweep."""
    R, n = S.shape
    flips = 0
    draws = 0
    for r in range(R):
        s = S[r]
        f = F[r]
        for t in range(betas.shape[0]):
            beta = betas[t]
            for i in range(n):
                si = s[i]
                d = -2.0 * si if ising else 1.0 - 2.0 * si
                de = d * f[i]
                if de > 0.0:
                    draws += beta * de <= 40.0
                    if not accept_uphill(beta * de, rng, r * RNG_STRIDE):
                        continue
                s[i] = si + np.int8(d)
                row = dense[i]
                for j in range(n):
                    f[j] += row[j] * d
                flips += 1
    return flips, draws


@njit(cache=False, nogil=True)
def row_adds(dense, f, order):
    """f += dense[i] for each i in order: the flips' work alone."""
    n = f.shape[0]
    for k in range(order.shape[0]):
        row = dense[order[k]]
        for j in range(n):
            f[j] += row[j]


def _timed_sweeps(model, M, walkers: int, betas: np.ndarray, seed: int, equilibrate: bool
                  ) -> tuple[float, int, int]:
    """(best of 3 times of the kernel's sweeps at `betas`, flips, draws) from one random start, first equilibrated
    at betas[0] when `equilibrate`."""
    from solver_runner.kernels.sa import anneal_chunk
    from solver_runner.solvers.walkers import AnnealState
    st = AnnealState(model, walkers, seed)
    if equilibrate:
        anneal_chunk(*st.rows(0, None), np.full(EQUILIBRATE, betas[0]), model.ising, False, False, M)
    S, F, rng = st.S.copy(), st.F.copy(), st.rng.copy()
    flips, draws = count_moves(S, F, rng, betas, model.ising, M[4])
    best = np.inf
    for _ in range(3):
        rows = tuple(a.copy() for a in st.rows(0, None))
        t0 = time.perf_counter()
        anneal_chunk(*rows, betas, model.ising, False, False, M)
        best = min(best, time.perf_counter() - t0)
    if not np.array_equal(rows[0], S):
        raise AssertionError("count_moves no longer makes the dense kernel's decisions")
    return best, flips, draws


def section_dense(table, name: str, model, schedules: dict[str, np.ndarray], walkers: int,
                  log: Callable[[str], None]) -> None:
    from solver_runner.model import model_arrays
    M = model_arrays(model)
    if M[4].shape[0] != model.n or model.has_higher or model.has_slc:
        raise ValueError(f"{name} does not run on the dense kernel")
    n = model.n
    log(f"dense cost breakdown on {name}: {len(FIT_BETAS)} fixed β × {FIT_SWEEPS} sweeps, then the two schedules")
    points = []
    for beta in FIT_BETAS:
        seconds, flips, draws = _timed_sweeps(model, M, walkers, np.full(FIT_SWEEPS, beta), 3, True)
        attempts = walkers * n * FIT_SWEEPS
        points.append((flips / attempts, draws / attempts, seconds / attempts * 1e9))
        table.add(section="7 dense", instance=name, solver=f"ours SA scalar, fixed β {beta:g}",
                  algo_ns_per_op=points[-1][2],
                  note=f"flips {points[-1][0]:.4f}, draws {points[-1][1]:.4f} per attempt")
    A = np.array([[1.0, f, d] for f, d, _ in points])
    base, t_flip, t_draw = np.linalg.lstsq(A, np.array([t for _, _, t in points]), rcond=None)[0]
    table.add(section="7 dense", instance=name, solver="ours SA scalar: fitted cost",
              note=f"{base:.2f} ns per attempt + {t_flip:.1f} ns per flip + {t_draw:.2f} ns per draw")
    for tag, betas in schedules.items():
        seconds, flips, draws = _timed_sweeps(model, M, walkers, betas, 5, False)
        attempts = walkers * n * betas.shape[0]
        fr, dr = flips / attempts, draws / attempts
        table.add(section="7 dense", instance=name, solver=f"ours SA scalar sweeps ({tag})",
                  algo_ns_per_op=seconds / attempts * 1e9,
                  note=f"flips {fr:.4f}, draws {dr:.4f} per attempt; flips' share by the fit "
                       f"{t_flip * fr:.1f} ns, draws' {t_draw * dr:.1f} ns")
    order = np.random.default_rng(0).integers(0, n, 100_000)
    f = np.zeros(n)
    row_adds(M[4], f, order[:10])
    t0 = time.perf_counter()
    row_adds(M[4], f, order)
    table.add(section="7 dense", instance=name, solver=f"a {n}-long float64 row add alone",
              ns_per_op=(time.perf_counter() - t0) / order.shape[0] * 1e9, note="rows in random order, per add")
