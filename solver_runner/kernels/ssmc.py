"""Substochastic Monte Carlo kernel: a population of random walkers with cost-biased resampling.

One step at schedule position t (alpha(t), beta(t): linear or geometric schedules over the `count` steps):
1. every walker attempts `steps_per_walker` moves; each is taken with probability alpha/steps_per_walker and is a
   flip of one uniformly random variable, whatever it costs (no Metropolis test);
2. with E_min/E_max the population's cost range, walker i gets weight exp(beta·(E_max − E_i)/(E_max − E_min)) and
   the population is resampled back to its size by floor + residual (kernels.population); with a zero range
   nothing happens.
Slots, RNG streams, per-slot best states (updated after every flip) and the best-k archive (walker states at step
ends) work as in kernels.population.
"""
from __future__ import annotations

import math

from numba import njit, prange

from solver_runner.kernels.common import apply_flip, copy_into, delta, keep_best
from solver_runner.kernels.population import apply_counts, counts_floor_residual, sched_value
from solver_runner.kernels.rng import RNG_STRIDE, rand01, randint


@njit(cache=True, nogil=True, inline="always")
def _walk_one(i, S, F, Lg, E, bestS, bestE, rng, p_step, steps_per_walker, ising, has_higher, has_slc, M):
    n = S.shape[1]
    k = i * RNG_STRIDE
    s = S[i]
    f = F[i]
    L = Lg[i]
    e = E[i]
    for _ in range(steps_per_walker):
        if rand01(rng, k) < p_step:
            v = randint(rng, k, n)
            e += delta(s, f, L, v, ising, has_higher, has_slc, M)
            apply_flip(s, f, L, v, ising, has_slc, M)
            if e < bestE[i] - 1e-12:
                bestE[i] = e
                copy_into(bestS[i], s)
    E[i] = e


@njit(cache=True, nogil=True)
def random_steps(R, S, F, Lg, E, bestS, bestE, rng, p_step, steps_per_walker, ising, has_higher, has_slc, M):
    """Each walker: `steps_per_walker` attempts, each a random single flip taken with probability p_step."""
    for i in range(R):
        _walk_one(i, S, F, Lg, E, bestS, bestE, rng, p_step, steps_per_walker, ising, has_higher, has_slc, M)


@njit(cache=True, nogil=True, parallel=True)
def random_steps_parallel(R, S, F, Lg, E, bestS, bestE, rng, p_step, steps_per_walker, ising, has_higher, has_slc,
                          M):
    for i in prange(R):
        _walk_one(i, S, F, Lg, E, bestS, bestE, rng, p_step, steps_per_walker, ising, has_higher, has_slc, M)


@njit(cache=True, nogil=True)
def ssmc_resample(R, beta, S, F, Lg, E, fam, counts, tau, rng, master, parallel=False):
    """Resample R walkers by floor + residual with weights exp(beta·(E_max − E_i)/(E_max − E_min)).

    Returns the number of walkers replaced (0 when the population's costs are all equal)."""
    emin = E[0]
    emax = E[0]
    for i in range(R):
        emin = min(emin, E[i])
        emax = max(emax, E[i])
    rng_ = emax - emin
    if not rng_ > 0.0:
        return 0
    # exp(beta·(E_max − E_i)/range) ∝ exp(−(beta/range)·(E_i − E_min)): the shared form, with weights ≤ 1
    total = 0.0
    for i in range(R):
        w = math.exp(-(beta / rng_) * (E[i] - emin))
        tau[i] = w
        total += w
    f = R / total
    for i in range(R):
        tau[i] *= f
    counts_floor_residual(tau, R, R, counts, rng, master)
    replaced = 0
    for i in range(R):
        if counts[i] == 0:
            replaced += 1
    apply_counts(counts, R, S, F, Lg, E, fam, parallel)
    return replaced


@njit(cache=True, nogil=True)
def ssmc_chunk(start, steps, count, a_kind, a0, a1, b_kind, b0, b1, steps_per_walker, S, F, Lg, E, fam, bestS,
               bestE, archS, archE, rng, counts, tau, ising, has_higher, has_slc, M, parallel):
    """Run steps start..start+steps−1 of `count` (alpha: a0 → a1, beta: b0 → b1). Returns walkers replaced."""
    R = S.shape[0]
    master = R * RNG_STRIDE
    replaced = 0
    for t in range(start, start + steps):
        p_step = sched_value(a_kind, a0, a1, count, t) / steps_per_walker
        if parallel:
            random_steps_parallel(R, S, F, Lg, E, bestS, bestE, rng, p_step, steps_per_walker, ising, has_higher,
                                  has_slc, M)
        else:
            random_steps(R, S, F, Lg, E, bestS, bestE, rng, p_step, steps_per_walker, ising, has_higher, has_slc, M)
        for i in range(R):
            keep_best(E[i], S[i], archE, archS)
        replaced += ssmc_resample(R, sched_value(b_kind, b0, b1, count, t), S, F, Lg, E, fam, counts, tau, rng,
                                  master, parallel)
    return replaced
