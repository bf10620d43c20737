"""Population annealing kernel, and the resampling primitives it shares with substochastic Monte Carlo.

A population lives in slot arrays of fixed capacity: S [cap, n], F [cap, n], L [cap, G], E [cap], fam [cap]
(the ancestor each walker descends from); slots 0..R−1 hold the current R walkers. Slot j owns RNG stream j for
its whole life (walkers are copied between slots, streams never are), so a run is reproducible whatever the thread
count; stream `cap` drives resampling. Streams use the shared padded layout (kernels.rng: stream k at word
k·RNG_STRIDE), like every other kernel. bestS/bestE [cap] keep the best state ever seen in each slot, and an archive
archS/archE [k] (kernels.common.keep_best) the k best distinct walker states seen at step ends.

Resampling (`resample_counts_*` then `apply_counts`):
- Poisson: walker i gets Poisson(τ_i) copies, τ_i = R_target·w_i/Σw (QIO's variable population);
- floor + residual: floor(τ_i) copies, and the remaining R_target − Σ floor(τ_i) copies by systematic sampling on
  the residuals τ_i − floor(τ_i), so walker i gets one extra copy with probability exactly its residual and the
  total is exactly R_target (QIO's constant population, and SSMC's resampling). QIO drew the extra copies one by one
  without replacement ∝ residual; that successive sampling is biased (a walker with residual 0.87 got its extra copy
  73% of the time in our test), systematic sampling is not (E[copies] = τ_i).
`apply_counts` rearranges the slots in place: survivors below the new size stay where they are, extra copies and
survivors beyond the new size go into the freed slots (every copy reads a slot that is never written in the same
pass, so copies run in parallel).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import any_sweep, copy_into, keep_best, start_state
from solver_runner.kernels.rng import RNG_STRIDE, rand01

# ---------------------------------------------------------------------------------------------------------------
# Schedules

LINEAR = 0
GEOMETRIC = 1


@njit(cache=True, nogil=True, inline="always")
def sched_value(kind, a, b, count, t):
    """Value at step t of a schedule from a (step 0) to b (step count−1); t past the end gives b; count 1 gives a."""
    if count <= 1:
        return a
    if t >= count - 1:
        return b
    x = t / (count - 1)
    if kind == GEOMETRIC:
        return a * (b / a) ** x
    return a + (b - a) * x


# ---------------------------------------------------------------------------------------------------------------
# Resampling primitives


@njit(cache=True, nogil=True)
def poisson(st, k, lam):
    """Poisson(lam) draw from stream k: Knuth's product method below 30, a rounded normal above (documented
    approximation; resampling means are ~1 except in collapse, where the exact tail does not matter)."""
    if lam <= 0.0:
        return 0
    if lam < 30.0:
        limit = math.exp(-lam)
        x = 0
        prod = rand01(st, k)
        while prod > limit:
            x += 1
            prod *= rand01(st, k)
        return x
    u1 = rand01(st, k)
    u2 = rand01(st, k)
    z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
    v = int(math.floor(lam + math.sqrt(lam) * z + 0.5))
    return v if v > 0 else 0


@njit(cache=True, nogil=True)
def normalised_weights(tau, E, R, scale, offset, target):
    """tau[i] = target·w_i/Σw for i < R with w_i = exp(−scale·(E_i − offset)) (offset ≤ min E keeps w ≤ 1)."""
    total = 0.0
    for i in range(R):
        w = math.exp(-scale * (E[i] - offset))
        tau[i] = w
        total += w
    f = target / total
    for i in range(R):
        tau[i] *= f


@njit(cache=True, nogil=True)
def counts_poisson(tau, R, counts, st, k):
    """counts[i] ~ Poisson(tau[i]); returns the total."""
    total = 0
    for i in range(R):
        c = poisson(st, k, tau[i])
        counts[i] = c
        total += c
    return total


@njit(cache=True, nogil=True)
def counts_floor_residual(tau, R, target, counts, st, k):
    """floor(tau[i]) copies each, and the remaining target − Σ floor copies by systematic sampling on the residuals
    r_i = tau[i] − floor(tau[i]): one uniform offset u, points u, u+1, u+2, ... along the cumulative residuals, one
    extra copy per point. Since every r_i < 1, walker i gets an extra copy with probability exactly r_i (at most
    one), so E[counts[i]] = tau[i]; the total is exactly `target`. Returns the total."""
    total = 0
    res_total = 0.0
    for i in range(R):
        c = int(math.floor(tau[i]))
        counts[i] = c
        total += c
        res_total += tau[i] - c
    missing = target - total
    if missing > 0 and res_total > 0.0:
        scale = missing / res_total  # 1 up to rounding: the residuals sum to `missing`
        point = rand01(st, k)
        cum = 0.0
        for i in range(R):
            cum += (tau[i] - math.floor(tau[i])) * scale
            if point < cum and total < target:
                counts[i] += 1
                total += 1
                point += 1.0
    if total != target:
        # rounding left a copy unassigned (or one too many): settle it on the heaviest walkers, one each in turn
        # (a linear scan per copy, and there are one or two: no sort routine to compile for this rare path)
        used = np.zeros(R, np.bool_)
        while total != target:
            add = total < target
            best = -1
            for i in range(R):
                if not used[i] and (add or counts[i] > 0) and (best < 0 or tau[i] > tau[best]):
                    best = i
            if best < 0:  # every walker had its turn: another round
                for i in range(R):
                    used[i] = False
                continue
            used[best] = True
            counts[best] += 1 if add else -1
            total += 1 if add else -1
    return total


@njit(cache=True, nogil=True)
def plan_moves(counts, R, T, src, dst):
    """Copy jobs (src[j] → dst[j]) that turn slots 0..R−1 with `counts` into slots 0..T−1. Returns the job count."""
    nfree = 0
    free = np.empty(T, np.int64)
    for i in range(min(R, T)):
        if counts[i] == 0:
            free[nfree] = i
            nfree += 1
    for i in range(R, T):
        free[nfree] = i
        nfree += 1
    jobs = 0
    for i in range(R):
        c = counts[i]
        if c == 0:
            continue
        extra = c - 1 if i < T else c
        for _ in range(extra):
            src[jobs] = i
            dst[jobs] = free[jobs]
            jobs += 1
    return jobs


@njit(cache=True, nogil=True, inline="always")
def _copy_one(j, src, dst, S, F, Lg, E, fam):
    a = src[j]
    b = dst[j]
    copy_into(S[b], S[a])
    copy_into(F[b], F[a])
    copy_into(Lg[b], Lg[a])
    E[b] = E[a]
    fam[b] = fam[a]


@njit(cache=True, nogil=True)
def copy_walkers(src, dst, jobs, S, F, Lg, E, fam):
    for j in range(jobs):
        _copy_one(j, src, dst, S, F, Lg, E, fam)


@njit(cache=True, nogil=True, parallel=True)
def copy_walkers_parallel(src, dst, jobs, S, F, Lg, E, fam):
    for j in prange(jobs):
        _copy_one(j, src, dst, S, F, Lg, E, fam)


@njit(cache=True, nogil=True)
def apply_counts(counts, R, S, F, Lg, E, fam, parallel=False):
    """Rearrange slots so walker i appears counts[i] times in slots 0..T−1 (T = Σ counts ≤ capacity). Returns T.

    `parallel` copies in a parallel region: worth it only when the copies are large (a region costs ~20 µs)."""
    T = 0
    for i in range(R):
        T += counts[i]
    src = np.empty(T, np.int64)
    dst = np.empty(T, np.int64)
    jobs = plan_moves(counts, R, T, src, dst)
    if parallel and jobs > 1:
        copy_walkers_parallel(src, dst, jobs, S, F, Lg, E, fam)
    else:
        copy_walkers(src, dst, jobs, S, F, Lg, E, fam)
    return T


@njit(cache=True, nogil=True)
def resample_counts(tau, counts, E, R, dbeta, emin, target, cap, constant_population, st, k):
    """PA's copies per walker for a step of Δβ = dbeta (weights exp(−Δβ·(E_i − emin))): floor + residual to
    exactly `target`, or Poisson (at least one copy of the best walker survives; a total past the capacity `cap`
    falls back to floor + residual). Returns the new population size Σ counts."""
    normalised_weights(tau, E, R, dbeta, emin, float(target))
    if constant_population:
        return counts_floor_residual(tau, R, target, counts, st, k)
    T = counts_poisson(tau, R, counts, st, k)
    if T == 0:  # keep the population alive: one copy of the best walker
        best = 0
        for i in range(R):
            if E[i] < E[best]:
                best = i
        counts[best] = 1
        return 1
    if T > cap:
        return counts_floor_residual(tau, R, target, counts, st, k)
    return T


@njit(cache=True, nogil=True)
def effective_families(fam, R, fam_size):
    """R/ρ with ρ = Σ_f size_f²/R: the number of equally sized families the population is worth (fam_size: zeroed
    scratch [capacity], left zeroed)."""
    for i in range(R):
        fam_size[fam[i]] += 1
    rho = 0.0
    for i in range(R):
        f = fam[i]
        if fam_size[f] > 0:
            rho += float(fam_size[f]) * float(fam_size[f])
            fam_size[f] = 0
    return R / (rho / R)


# ---------------------------------------------------------------------------------------------------------------
# Population annealing


@njit(cache=True, nogil=True)
def init_walkers(R, S, F, Lg, E, fam, bestS, bestE, rng, initial, constant, ising, M):
    """Fresh random (or given) walkers in slots 0..R−1, each its own family. Serial: one energy per walker, at the
    start and after a collapse; a parallel twin cost 3 s of compile time at every cold start."""
    for i in range(R):
        E[i] = start_state(S[i], F[i], Lg[i], initial, ising, rng, i * RNG_STRIDE, constant, M)
        fam[i] = i
        if E[i] < bestE[i]:
            bestE[i] = E[i]
            copy_into(bestS[i], S[i])


@njit(cache=True, nogil=True, inline="always")
def _sweep_one(i, S, F, Lg, E, bestS, bestE, rng, beta, sweeps, ising, has_higher, has_slc, M):
    for _ in range(sweeps):
        E[i] += any_sweep(S[i], F[i], Lg[i], beta, ising, has_higher, has_slc, rng, i * RNG_STRIDE, M)
        if E[i] < bestE[i] - 1e-12:
            bestE[i] = E[i]
            copy_into(bestS[i], S[i])


@njit(cache=True, nogil=True)
def sweep_walkers(R, S, F, Lg, E, bestS, bestE, rng, beta, sweeps, ising, has_higher, has_slc, M):
    for i in range(R):
        _sweep_one(i, S, F, Lg, E, bestS, bestE, rng, beta, sweeps, ising, has_higher, has_slc, M)


@njit(cache=True, nogil=True, parallel=True)
def sweep_walkers_parallel(R, S, F, Lg, E, bestS, bestE, rng, beta, sweeps, ising, has_higher, has_slc, M):
    for i in prange(R):
        _sweep_one(i, S, F, Lg, E, bestS, bestE, rng, beta, sweeps, ising, has_higher, has_slc, M)


# ctl (int64 array) layout for pa_chunk
CTL_R = 0  # current population size
CTL_POS = 1  # position in the β schedule of the current anneal (0 after every restart)
CTL_RESTARTS = 2  # restarts so far (population collapse or zero variance)
CTL_STEPS = 3  # PA steps done
CTL_RESAMPLES = 4
CTL_SIZE = 5


@njit(cache=True, nogil=True)
def pa_chunk(steps, ctl, kind, beta0, beta1, count, target, alpha, constant_population, sweeps_per_replica,
             S, F, Lg, E, fam, bestS, bestE, archS, archE, rng, counts, tau, initial, constant, ising, has_higher,
             has_slc, M, parallel):
    """Run `steps` population-annealing steps. One step at schedule position τ:

    1. every walker does `sweeps_per_replica` Metropolis sweeps at β = β(τ), the schedule from beta0 (τ = 0) to
       beta1 (τ = count − 1), linear or geometric (`kind`);
    2. with Δβ = β(τ+1) − β(τ) > 0 (0 from the end of the schedule on), resample with weights
       exp(−Δβ·(E_i − E_min)) to the target size (Poisson copies, or floor + residual when constant_population);
    3. if fewer than `alpha` effective families remain (R/ρ < alpha, ρ = Σ_f size_f²/R) or all costs are equal,
       restart: fresh random walkers at τ = 0; otherwise τ += 1.
    `parallel`: sweep and copy walkers in parallel regions (worth it for large populations × n).
    """
    cap = S.shape[0]
    master = cap * RNG_STRIDE
    fam_size = np.zeros(cap, np.int64)
    for _ in range(steps):
        R = ctl[CTL_R]
        pos = ctl[CTL_POS]
        beta = sched_value(kind, beta0, beta1, count, pos)
        if parallel:
            sweep_walkers_parallel(R, S, F, Lg, E, bestS, bestE, rng, beta, sweeps_per_replica, ising, has_higher,
                                   has_slc, M)
        else:
            sweep_walkers(R, S, F, Lg, E, bestS, bestE, rng, beta, sweeps_per_replica, ising, has_higher, has_slc, M)
        for i in range(R):
            keep_best(E[i], S[i], archE, archS)
        emin = E[0]
        emax = E[0]
        mean = 0.0
        for i in range(R):
            emin = min(emin, E[i])
            emax = max(emax, E[i])
            mean += E[i]
        mean /= R
        flat = emax - emin <= 1e-9 * (1.0 + abs(emin))
        dbeta = sched_value(kind, beta0, beta1, count, pos + 1) - beta if pos + 1 < count else 0.0
        effective = float(R)
        if dbeta > 0.0 and not flat:
            resample_counts(tau, counts, E, R, dbeta, emin, target, cap, constant_population, rng, master)
            R = apply_counts(counts, R, S, F, Lg, E, fam, parallel)
            ctl[CTL_R] = R
            ctl[CTL_RESAMPLES] += 1
            effective = effective_families(fam, R, fam_size)
        # (a population smaller than alpha can never hold alpha families: the family rule is off then)
        if (effective < alpha and target > alpha) or flat:
            init_walkers(target, S, F, Lg, E, fam, bestS, bestE, rng, initial, constant, ising, M)
            ctl[CTL_R] = target
            ctl[CTL_POS] = 0
            ctl[CTL_RESTARTS] += 1
        else:
            ctl[CTL_POS] = pos + 1
        ctl[CTL_STEPS] += 1
