"""Population annealing (`microsoft.populationannealing.cpu`), plus helpers shared by the QMC and SSMC solvers.

PA: a population of Metropolis walkers is annealed along an increasing β schedule; each step every walker does
`sweeps_per_replica` sweeps, then the population is resampled with weights exp(−Δβ·(E_i − E_min)) (Poisson copies,
or floor + residual to exactly `population` with `constant_population`). When fewer than `alpha` effective families
remain (R/ρ < alpha, ρ = Σ family_size²/R) or all walkers have the same cost, the population restarts from random
states at the start of the schedule (QIO's rule); the step budget `sweeps` is shared by all restarts.
With `culling_fraction` (QIO's experimental "constant culling" strategy) Δβ is chosen at every step so that the
expected fraction of walkers dropped by the resampling equals it, from the schedule's initial β up to its final β.

Defaults (echoed in `parameters`), β in the problem's own cost units like our SA. They differ from QIO's (linear
β 0 → 5, Poisson resampling, population = threads, 10000 sweeps) because those collapse: a linear schedule from β = 0
culls almost the whole population in its first steps, and Poisson resampling kills ~37% of the walkers per step
even without selection (Poisson(1) = 0), so the ancestry coalesces, the alpha rule restarts, and the anneal never
gets cold. Constant population on a geometric schedule with sweeps ≈ 2 × population runs clean; anneals much longer
than ~2 × population still collapse (the runs on Gset G1 that show it: benchmarks/README.md, "Design measurements").
- `beta`: geometric from the model's SA β_start = −ln(0.5)/ΔE_max to β_stop = −ln(1e−4)/(ΔE_min + 0.001·(ΔE_max −
  ΔE_min)) (QIO's parameter-free PA used this geometric schedule). Given `beta_start`/`beta_stop` (without `beta`)
  make a linear schedule, as QIO read them.
- `constant_population` = true; `population` = max(64, threads); `sweeps` = 2 × population; `sweeps_per_replica` =
  1; `alpha` = 2.

Kernel: inputs with only linear and quadratic terms and sparse couplings run the population in SIMD lanes
(`LanePopulationRun`, kernels.lanes_population: the same steps, walkers side by side), others on the scalar kernel;
solvers.lanes.choose_kernel decides and logs it (the speed-up: benchmarks/README.md, "Design measurements").
"""
from __future__ import annotations

import math

import numpy as np

from contracts import targets
from solver_runner import params as P
from solver_runner.kernels import lanes as LK
from solver_runner.kernels import lanes_population as LPK
from solver_runner.kernels import population as K
from solver_runner.kernels.rng import RNG_STRIDE, padded_rng_states, rng_states
from solver_runner.model import CompiledModel, model_arrays
from solver_runner.solvers.base import (
    SolveContext,
    SolveResult,
    check_walker_memory,
    exact_best,
    register,
    run_steps,
)
from solver_runner.solvers.lanes import LANE_BLOCK, choose_kernel, energy_flush

# A parallel region costs ~20 µs to start: below this much work per step (≈ ns), walkers run on one thread.
PARALLEL_MIN_STEP_WORK = 50_000


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers (QMC, PA, SSMC, parameter-free)


def schedule_kind(schedule: dict) -> int:
    return K.GEOMETRIC if schedule["type"] == "geometric" else K.LINEAR


def flip_work(model: CompiledModel) -> float:
    """Rough cost of one flip attempt in ns-like units (a dense row update touches every variable)."""
    if model.dense is not None:
        return float(model.n)
    return 1.0 + model.adj_idx.shape[0] / max(1, model.n) + (8.0 if model.has_higher or model.has_slc else 0.0)


def use_parallel(threads: int, step_work: float) -> bool:
    return threads > 1 and step_work >= PARALLEL_MIN_STEP_WORK


# ---------------------------------------------------------------------------------------------------------------
# Population annealing


def culling_delta_beta(E: np.ndarray, fraction: float) -> float:
    """Δβ whose resampling is expected to drop `fraction` of the walkers: (1/R)·Σ max(0, 1 − τ_i) = fraction
    with τ_i = R·w_i/Σw, w_i = exp(−Δβ·(E_i − E_min)). Bisection on a log scale (the culled fraction grows with Δβ)."""
    x = E - E.min()
    if not np.any(x > 0):
        return 0.0

    def culled(db: float) -> float:
        w = np.exp(-db * x)
        tau = w * (len(x) / w.sum())
        return float(np.maximum(0.0, 1.0 - tau).mean())

    lo, hi = 0.0, 1.0 / float(x[x > 0].min())
    while culled(hi) < fraction and hi < 1e12:
        lo, hi = hi, hi * 2.0
    if culled(hi) < fraction:
        return hi
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if culled(mid) < fraction:
            lo = mid
        else:
            hi = mid
    return hi


class Walkers:
    """The slot arrays of a population (layout in solver_runner.kernels.population): walkers S/F/L/E/fam, per-slot
    best states, the best-k archive, resampling scratch and RNG streams (one per slot, plus the resampler's).
    The first `size` slots start as fresh random (or the model's initial) walkers."""

    def __init__(self, model: CompiledModel, capacity: int, size: int, seed: int, stream: int, keep: int,
                 parallel: bool, what: str):
        check_walker_memory(model, capacity, keep=1, what=what)
        n, G = model.n, model.slc_c.shape[0]
        self.model = model
        self.M = model_arrays(model)
        self.parallel = parallel
        self.S: np.ndarray = np.empty((capacity, n), np.int8)  # [slots, n]; LanePopulationRun: lane blocks [B, n, W]
        self.F: np.ndarray = np.empty((capacity, n), np.float64)
        self.L: np.ndarray = np.empty((capacity, G), np.float64)
        self.E = np.empty(capacity, np.float64)
        self.fam = np.zeros(capacity, np.int64)
        self.bestS: np.ndarray = np.zeros((capacity, n), np.int8)
        self.bestE = np.full(capacity, np.inf)
        self.archS = np.zeros((max(1, keep), n), np.int8)
        self.archE = np.full(max(1, keep), np.inf)
        self.counts = np.zeros(capacity, np.int64)
        self.tau = np.zeros(capacity, np.float64)
        self.rng = padded_rng_states(seed, capacity + 1, stream)
        self.initial = model.initial_state if model.initial_state is not None else np.zeros(0, np.int8)
        K.init_walkers(size, self.S, self.F, self.L, self.E, self.fam, self.bestS, self.bestE, self.rng,
                       self.initial, model.constant, model.ising, self.M)

    def size(self) -> int:
        return self.S.shape[0]

    def best_cost(self) -> float:
        return float(self.bestE.min())

    def candidates(self) -> np.ndarray:
        """The archive, every slot's best state and the current walkers (int8 [·, n])."""
        return np.concatenate([self.archS[np.isfinite(self.archE)], self.bestS[np.isfinite(self.bestE)],
                               self.S[: self.size()]])


class PopulationRun(Walkers):
    """A population-annealing run that can be advanced step by step (used by PA and parameter-free PA)."""

    def __init__(self, model: CompiledModel, params: dict, seed: int, stream: int = 0, keep: int = 1,
                 threads: int = 1):
        target = params["population"]
        self.target = target
        self.alpha = params["alpha"]
        self.constant = params["constant_population"]
        self.spr = params["sweeps_per_replica"]
        self.culling = params.get("culling_fraction")
        self.sweeps = params["sweeps"]
        cap = target if self.constant else target + max(16, int(math.ceil(6 * math.sqrt(target))))
        parallel = use_parallel(threads, target * self.spr * model.n * flip_work(model))
        super().__init__(model, cap, target, seed, stream, keep, parallel, "population walkers (with headroom)")
        self.ctl = np.zeros(K.CTL_SIZE, np.int64)
        self.kind = schedule_kind(params["beta"])
        if self.culling is None:
            self.beta0, self.beta1 = float(params["beta"]["initial"]), float(params["beta"]["final"])
        else:
            self.beta_initial = float(params["beta"]["initial"])
            self.beta_final = float(params["beta"]["final"])
            self.cur_beta = self.beta_initial
        self.ctl[K.CTL_R] = target

    @property
    def steps_done(self) -> int:
        return int(self.ctl[K.CTL_STEPS])

    @property
    def restarts(self) -> int:
        return int(self.ctl[K.CTL_RESTARTS])

    def size(self) -> int:
        return int(self.ctl[K.CTL_R])

    def _kernel_steps(self, steps: int, kind: int, beta0: float, beta1: float, count: int, sweeps_per_replica: int
                      ) -> None:
        m = self.model
        K.pa_chunk(steps, self.ctl, kind, beta0, beta1, count, self.target, self.alpha, self.constant,
                   sweeps_per_replica, self.S, self.F, self.L, self.E, self.fam, self.bestS, self.bestE, self.archS,
                   self.archE, self.rng, self.counts, self.tau, self.initial, m.constant, m.ising, m.has_higher,
                   m.has_slc, self.M, self.parallel)

    @property
    def walkers(self) -> int:
        return self.size()  # run_steps may split a long step's sweeps by walkers (piece, then finish)

    def piece(self, lo: int, hi: int) -> None:
        """The sweeps of the current step for walkers lo..hi−1 (views: each keeps its slot's RNG stream)."""
        m = self.model
        sweep = K.sweep_walkers_parallel if self.parallel else K.sweep_walkers
        if self.culling is None:
            beta = K.sched_value(self.kind, self.beta0, self.beta1, self.sweeps, int(self.ctl[K.CTL_POS]))
        else:
            beta = self.cur_beta
        w = slice(lo, hi)
        sweep(hi - lo, self.S[w], self.F[w], self.L[w], self.E[w], self.bestS[w], self.bestE[w],
              self.rng[lo * RNG_STRIDE:], beta, self.spr, m.ising, m.has_higher, m.has_slc, self.M)

    def finish(self) -> None:
        """The rest of the step once every walker swept: archive, resampling, restart rule (a kernel step with no
        sweeps); with culling, Δβ from the swept costs first."""
        if self.culling is None:
            self._kernel_steps(1, self.kind, self.beta0, self.beta1, self.sweeps, 0)
            return
        R = int(self.ctl[K.CTL_R])
        nxt = min(self.beta_final, self.cur_beta + culling_delta_beta(self.E[:R], self.culling))
        self.ctl[K.CTL_POS] = 0
        self._kernel_steps(1, K.LINEAR, self.cur_beta, nxt, 2, 0)
        self.cur_beta = self.beta_initial if self.ctl[K.CTL_POS] == 0 else nxt

    def advance(self, steps: int) -> None:
        if self.culling is None:
            self._kernel_steps(steps, self.kind, self.beta0, self.beta1, self.sweeps, self.spr)
            return
        for _ in range(steps):  # constant culling: Δβ is chosen from the costs after each step's sweeps
            self.piece(0, self.size())
            self.finish()


class LanePopulationRun(PopulationRun):
    """PopulationRun with its walkers in SIMD lanes (kernels.lanes_population): same start, same rules; S, F,
    bestS float64 [B, n, W], E, bestE, fam flat [B·W] (slot k = lane k mod W of block k // W)."""

    def __init__(self, model: CompiledModel, params: dict, seed: int, stream: int = 0, keep: int = 1,
                 threads: int = 1):
        super().__init__(model, params, seed, stream, keep, threads=1)  # the scalar start states, then lanes
        cap, n = self.S.shape
        B = math.ceil(cap / LANE_BLOCK)
        W = math.ceil(cap / B)
        self.capacity, self.dt = cap, np.float64  # float32 lanes would save ~20 %, and cost ~5 s of first-start compile
        self.flush = energy_flush(model, self.dt)
        rows = np.concatenate([self.S, np.repeat(self.S[:1], B * W - cap, axis=0)])
        self.h = model.h.astype(self.dt)
        self.adj_w = model.adj_w.astype(self.dt)
        self.dense = (model.dense if model.dense is not None else np.zeros((0, 0))).astype(self.dt)
        self.S = np.empty((B, n, W), self.dt)
        self.F = np.empty((B, n, W), self.dt)
        for b in range(B):
            LK.to_lanes(rows[b * W:(b + 1) * W], self.S[b], self.F[b], self.h, model.adj_ptr, model.adj_idx,
                        self.adj_w, self.dense)
        self.bestS = self.S.copy()
        pad = B * W - cap
        self.E = np.concatenate([self.E, np.full(pad, self.E[0])])
        self.bestE = np.concatenate([self.bestE, np.full(pad, np.inf)])
        self.fam = np.concatenate([self.fam, np.zeros(pad, np.int64)])
        self.st = rng_states(seed, B * W, stream + 0x1A9E)
        self.xst = rng_states(seed, 1, stream + 0x1A9F)
        self.beta_lanes = np.zeros(B * W)
        self.dm = np.zeros(W, self.dt)
        self.ud = np.zeros(W, self.dt)
        self.row = np.zeros(n, np.int8)
        self.rows = np.zeros((W, n), np.int8)
        self.L = np.zeros((0, 0))  # no grouped terms in lanes: the scalar start's SLC sums are not kept

    def _kernel_steps(self, steps: int, kind: int, beta0: float, beta1: float, count: int, sweeps_per_replica: int
                      ) -> None:
        m = self.model
        LPK.lane_pa_chunk(steps, self.ctl, kind, beta0, beta1, count, self.target, self.alpha, self.constant,
                          sweeps_per_replica, self.S, self.F, self.E, self.fam, self.bestS, self.bestE, self.archS,
                          self.archE, self.st, self.xst, self.counts, self.tau, self.row, self.rows, self.beta_lanes, self.dm,
                          self.ud, float(m.constant), m.ising, self.h, m.adj_ptr, m.adj_idx, self.adj_w, self.dense,
                          self.flush, self.dt)

    @property
    def walkers(self) -> int:
        return math.ceil(self.size() / self.S.shape[2])  # run_steps splits a long step's sweeps by lane blocks

    def piece(self, lo: int, hi: int) -> None:
        """The sweeps of the current step for lane blocks lo..hi−1."""
        m = self.model
        W = self.S.shape[2]
        if self.culling is None:
            beta = K.sched_value(self.kind, self.beta0, self.beta1, self.sweeps, int(self.ctl[K.CTL_POS]))
        else:
            beta = self.cur_beta
        lanes = slice(lo * W, hi * W)
        LPK.lane_sweeps(min(self.size(), hi * W) - lo * W, self.S[lo:hi], self.F[lo:hi], self.E[lanes],
                        self.st[lanes], self.bestS[lo:hi], self.bestE[lanes], self.beta_lanes[lanes], self.dm,
                        self.ud, beta, self.spr, m.ising, m.adj_ptr, m.adj_idx, self.adj_w, self.dense, self.flush,
                        self.dt)

    def _rows(self, S: np.ndarray) -> np.ndarray:
        B, n, W = S.shape
        out = np.empty((B * W, n), np.int8)
        for b in range(B):
            LK.from_lanes(S[b], W, out[b * W:(b + 1) * W])
        return out

    def candidates(self) -> np.ndarray:
        """The archive, every slot's best state and the current walkers (int8 [·, n])."""
        ok = np.isfinite(self.bestE)
        return np.concatenate([self.archS[np.isfinite(self.archE)], self._rows(self.bestS)[ok],
                               self._rows(self.S)[: self.size()]])


def population_run(model: CompiledModel, params: dict, seed: int, keep: int, threads: int) -> PopulationRun:
    """The PA run on the kernel solvers.lanes.choose_kernel picks for its population (lanes or scalar)."""
    kind, _ = choose_kernel(model, int(params["population"]), allow_msc=False)
    cls = LanePopulationRun if kind == "lanes" else PopulationRun
    return cls(model, params, seed, keep=keep, threads=threads)


@register(targets.PA)
def population_annealing(ctx: SolveContext) -> SolveResult:
    params = P.pa_parameters(ctx)
    run = population_run(ctx.model, params, ctx.seed, ctx.number_of_solutions, ctx.threads)
    done, stopped = run_steps(ctx, run, params["sweeps"])
    states, costs = exact_best(ctx.model, run.candidates(), ctx.number_of_solutions)
    return SolveResult(states=states, costs=costs, parameters=params, sweeps_done=done, stopped_early=stopped)
