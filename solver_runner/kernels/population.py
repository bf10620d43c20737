"""Population annealing kernel, and the resampling primitives it shares with substochastic Monte Carlo.

A population lives in slot arrays of fixed capacity: S [cap, n], F [cap, n], L [cap, G], E [cap], fam [cap]
(the ancestor each walker descends from); slots 0..R−1 hold the current R walkers. Slot j owns RNG stream j for
its whole life (walkers are copied between slots, streams never are), so a run is reproducible whatever the thread
count; stream `cap` drives resampling. bestS/bestE [cap] keep the best state ever seen in each slot.

Resampling (`resample_counts_*` then `apply_counts`):
- Poisson: walker i gets Poisson(τ_i) copies, τ_i = R_target·w_i/Σw (QIO's variable population);
- floor + residual: floor(τ_i) copies, and the remaining R_target − Σ floor(τ_i) copies go to distinct walkers
  drawn without replacement with probability ∝ the residuals τ_i − floor(τ_i) (Efraimidis–Spirakis keys), so each
  walker gets floor(τ_i) or floor(τ_i)+1 copies and the total is exactly R_target (QIO's constant population, and
  SSMC's resampling).
`apply_counts` rearranges the slots in place: survivors below the new size stay where they are, extra copies and
survivors beyond the new size go into the freed slots (every copy reads a slot that is never written in the same
pass, so copies run in parallel).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import any_sweep, energy, init_fields, rand01, random_state


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
    """floor(tau[i]) copies each, the rest to distinct walkers drawn ∝ residual without replacement. Total = target."""
    total = 0
    keys = np.empty(R, np.float64)
    for i in range(R):
        c = int(math.floor(tau[i]))
        counts[i] = c
        total += c
        res = tau[i] - c
        if res > 0.0:
            # Efraimidis–Spirakis: the K largest log(u)/w are a weighted sample without replacement
            keys[i] = math.log(1.0 - rand01(st, k)) / res
        else:
            keys[i] = -np.inf
    missing = target - total
    if missing > 0:
        order = np.argsort(-keys)
        for j in range(min(missing, R)):
            counts[order[j]] += 1
        total += min(missing, R)
        # rounding can leave a few unassigned when almost every residual is ~0: give them to the heaviest walkers
        j = 0
        heaviest = np.argsort(-tau[:R])
        while total < target:
            counts[heaviest[j % R]] += 1
            total += 1
            j += 1
    elif missing < 0:
        # tau summed slightly above target through rounding: take copies back from the heaviest walkers
        heaviest = np.argsort(-tau[:R])
        j = 0
        while total > target:
            i = heaviest[j % R]
            if counts[i] > 0:
                counts[i] -= 1
                total -= 1
            j += 1
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


@njit(cache=True, nogil=True, parallel=True)
def copy_walkers(src, dst, jobs, S, F, Lg, E, fam):
    for j in prange(jobs):
        a = src[j]
        b = dst[j]
        S[b, :] = S[a]
        F[b, :] = F[a]
        Lg[b, :] = Lg[a]
        E[b] = E[a]
        fam[b] = fam[a]


@njit(cache=True, nogil=True)
def apply_counts(counts, R, S, F, Lg, E, fam):
    """Rearrange slots so walker i appears counts[i] times in slots 0..T−1 (T = Σ counts ≤ capacity). Returns T."""
    T = 0
    for i in range(R):
        T += counts[i]
    src = np.empty(T, np.int64)
    dst = np.empty(T, np.int64)
    jobs = plan_moves(counts, R, T, src, dst)
    copy_walkers(src, dst, jobs, S, F, Lg, E, fam)
    return T


# ---------------------------------------------------------------------------------------------------------------
# Population annealing


@njit(cache=True, nogil=True, parallel=True)
def init_walkers(R, S, F, Lg, E, fam, bestS, bestE, rng, initial, constant, ising, M):
    """Fresh random (or given) walkers in slots 0..R−1, each its own family."""
    for i in prange(R):
        if initial.shape[0] == S.shape[1]:
            S[i, :] = initial
        else:
            random_state(S[i], ising, rng, i)
        init_fields(S[i], F[i], Lg[i], M)
        E[i] = energy(S[i], constant, M)
        fam[i] = i
        if E[i] < bestE[i]:
            bestE[i] = E[i]
            bestS[i, :] = S[i]


@njit(cache=True, nogil=True, parallel=True)
def sweep_walkers(R, S, F, Lg, E, bestS, bestE, rng, beta, sweeps, ising, has_higher, has_slc, M):
    for i in prange(R):
        for _ in range(sweeps):
            E[i] += any_sweep(S[i], F[i], Lg[i], beta, ising, has_higher, has_slc, rng, i, M)
            if E[i] < bestE[i] - 1e-12:
                bestE[i] = E[i]
                bestS[i, :] = S[i]


# ctl (int64 array) layout for pa_chunk
CTL_R = 0  # current population size
CTL_POS = 1  # position in the β schedule of the current anneal (0 after every restart)
CTL_RESTARTS = 2  # restarts so far (population collapse or zero variance)
CTL_STEPS = 3  # PA steps done
CTL_RESAMPLES = 4
CTL_SIZE = 5


@njit(cache=True, nogil=True)
def pa_chunk(steps, ctl, betas, target, alpha, constant_population, sweeps_per_replica,
             S, F, Lg, E, fam, bestS, bestE, rng, counts, tau, initial, constant, ising, has_higher, has_slc, M):
    """Run `steps` population-annealing steps. One step at schedule position τ:

    1. every walker does `sweeps_per_replica` Metropolis sweeps at β = betas[τ];
    2. with Δβ = betas[τ+1] − betas[τ] > 0 (0 past the end), resample with weights exp(−Δβ·(E_i − E_min)) to the
       target size (Poisson copies, or floor + residual when constant_population);
    3. if fewer than `alpha` effective families remain (R/ρ < alpha, ρ = Σ_f size_f²/R) or all costs are equal,
       restart: fresh random walkers at τ = 0; otherwise τ += 1.
    """
    cap = S.shape[0]
    master = cap
    T_sched = betas.shape[0]
    fam_size = np.zeros(cap, np.int64)
    for _ in range(steps):
        R = ctl[CTL_R]
        pos = ctl[CTL_POS]
        beta = betas[min(pos, T_sched - 1)]
        sweep_walkers(R, S, F, Lg, E, bestS, bestE, rng, beta, sweeps_per_replica, ising, has_higher, has_slc, M)
        emin = E[0]
        emax = E[0]
        mean = 0.0
        for i in range(R):
            emin = min(emin, E[i])
            emax = max(emax, E[i])
            mean += E[i]
        mean /= R
        flat = emax - emin <= 1e-9 * (1.0 + abs(emin))
        dbeta = betas[pos + 1] - betas[pos] if pos + 1 < T_sched else 0.0
        effective = float(R)
        if dbeta > 0.0 and not flat:
            normalised_weights(tau, E, R, dbeta, emin, float(target))
            if constant_population:
                T = counts_floor_residual(tau, R, target, counts, rng, master)
            else:
                T = counts_poisson(tau, R, counts, rng, master)
                if T == 0:
                    # keep the population alive: one copy of the best walker
                    best = 0
                    for i in range(R):
                        if E[i] < E[best]:
                            best = i
                    counts[best] = 1
                    T = 1
                elif T > cap:
                    T = counts_floor_residual(tau, R, target, counts, rng, master)
            R = apply_counts(counts, R, S, F, Lg, E, fam)
            ctl[CTL_R] = R
            ctl[CTL_RESAMPLES] += 1
            for i in range(R):
                fam_size[fam[i]] += 1
            rho = 0.0
            for i in range(R):
                f = fam[i]
                if fam_size[f] > 0:
                    rho += float(fam_size[f]) * float(fam_size[f])
                    fam_size[f] = 0
            rho /= R
            effective = R / rho
        # (a population smaller than alpha can never hold alpha families: the family rule is off then)
        if (effective < alpha and target > alpha) or flat:
            init_walkers(target, S, F, Lg, E, fam, bestS, bestE, rng, initial, constant, ising, M)
            ctl[CTL_R] = target
            ctl[CTL_POS] = 0
            ctl[CTL_RESTARTS] += 1
        else:
            ctl[CTL_POS] = pos + 1
        ctl[CTL_STEPS] += 1
