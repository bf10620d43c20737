"""Path-integral (Suzuki–Trotter) quantum Monte Carlo: P classical slices per restart, coupled along imaginary time.

For a cost E(s) and a transverse field Γ at inverse temperature β, the Trotter decomposition with P slices samples

    w(s¹..sᴾ) ∝ exp( −(β/P)·Σ_k E(sᵏ) + J⊥·Σ_k Σ_i σ_iᵏ σ_iᵏ⁺¹ ),   J⊥ = −½·ln tanh(βΓ/P)

(slices on a ring, σ = s for ising, σ = 2x − 1 for pubo). Two moves, both exact for this weight:

- **cluster move** (`qmc_chunk`, what the solver runs every sweep): for each variable i, the ring σ_i¹..σ_iᴾ is cut into
  clusters along imaginary time, Swendsen–Wang style: each of the P ring bonds (k, k+1) between *aligned*
  neighbours is kept with probability p = 1 − exp(−2J⊥) = 1 − tanh(βΓ/P) (QIO's "Wolff-type" bond probability),
  then every cluster flips with Metropolis probability min(1, exp(−(β/P)·Σ_{k∈C} ΔE_k)) on the classical cost.
  Small Γ ⇒ p → 1: whole rings flip together (classical moves at β). Large Γ ⇒ p → 0: one-slice clusters, i.e. local
  moves whose inter-slice coupling is handled by the bond step.
- **local move** (`sqa_sweeps`, the benchmark kernel; optionally a second pass of each QMC sweep): one Metropolis
  update of one spin in one slice, accepted with min(1, exp(−(β/P)·ΔE_k) · tᵐ), t = tanh(βΓ/P),
  m = σ_iᵏ(σ_iᵏ⁻¹ + σ_iᵏ⁺¹) ∈ {−2, 0, 2}.

State of R restarts × P slices lives in 3-D arrays S[r, k, :] (slice-major, so every slice is a contiguous classical
state that the shared primitives of `kernels.common` work on).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from solver_runner.kernels.common import (
    accept_uphill,
    apply_flip,
    delta,
    energy,
    keep_best,
    start_state,
)
from solver_runner.kernels.rng import RNG_STRIDE, rand01


@njit(cache=True, nogil=True, inline="always")
def _spin(v, ising):
    """±1 spin of a state value (pubo x ∈ {0,1} ↦ 2x − 1)."""
    return v if ising else 2 * v - 1


@njit(cache=True, nogil=True)
def init_slices(S, F, Lg, E, topS, topE, rng, initial, constant, ising, M):
    """Random (or given) states for every restart and slice, their fields and energies, offered to the restart's
    best-k set (topE [R, k] ascending, topS [R, k, n]; see kernels.common.keep_best)."""
    R = S.shape[0]
    P = S.shape[1]
    for r in range(R):
        for k in range(P):
            E[r, k] = start_state(S[r, k], F[r, k], Lg[r, k], initial, ising, rng, r * RNG_STRIDE, constant, M)
            keep_best(E[r, k], S[r, k], topE[r], topS[r])


@njit(cache=True, nogil=True)
def ring_clusters(S, i, de, bp, bond_p, st, r, bond, flip):
    """Cut variable i's ring of slices into clusters and decide which clusters flip (flip[k] = True).

    Ring bond k joins slices k and k+1 (mod P); it is kept with probability bond_p when the two are aligned
    (P == 1: no bonds). Each cluster C flips with probability min(1, exp(−bp·Σ_{k∈C} de[k])). Returns slices flipped.
    """
    P = S.shape[0]
    cut = -1
    for k in range(P):
        kn = k + 1 if k + 1 < P else 0
        b = False
        if P > 1 and S[k, i] == S[kn, i]:
            if bond_p >= 1.0:
                b = True
            elif bond_p > 0.0:
                b = rand01(st, r) < bond_p
        bond[k] = b
        if not b and cut < 0:
            cut = k
    flipped = 0
    if cut < 0:
        # one cluster around the whole ring
        tot = 0.0
        for k in range(P):
            tot += de[k]
        x = bp * tot
        ok = x <= 0.0 or accept_uphill(x, st, r)
        for k in range(P):
            flip[k] = ok
        return P if ok else 0
    # clusters are the runs of slices between cut bonds; start just after the first cut
    k = cut + 1 if cut + 1 < P else 0
    visited = 0
    while visited < P:
        first = k
        tot = de[k]
        length = 1
        while bond[k]:
            k = k + 1 if k + 1 < P else 0
            tot += de[k]
            length += 1
        x = bp * tot
        ok = x <= 0.0 or accept_uphill(x, st, r)
        q = first
        for _ in range(length):
            flip[q] = ok
            q = q + 1 if q + 1 < P else 0
        if ok:
            flipped += length
        visited += length
        k = k + 1 if k + 1 < P else 0
    return flipped


@njit(cache=True, nogil=True)
def cluster_sweep_quadratic(S, F, E, bp, bond_p, ising, st, r, adj_ptr, adj_idx, adj_w, dense, use_dense, de,
                            bond, flip):
    """cluster_sweep for models with only linear and quadratic terms (CSR rows, or dense rows if use_dense)."""
    P = S.shape[0]
    n = S.shape[1]
    flips = 0
    for i in range(n):
        for k in range(P):
            si = S[k, i]
            d = -2.0 * si if ising else 1.0 - 2.0 * si
            de[k] = d * F[k, i]
        if ring_clusters(S, i, de, bp, bond_p, st, r, bond, flip) == 0:
            continue
        for k in range(P):
            if not flip[k]:
                continue
            si = S[k, i]
            d = -2.0 * si if ising else 1.0 - 2.0 * si
            S[k, i] = si + np.int8(d)
            E[k] += de[k]
            if use_dense:
                row = dense[i]
                for j in range(n):
                    F[k, j] += row[j] * d
            else:
                for p in range(adj_ptr[i], adj_ptr[i + 1]):
                    F[k, adj_idx[p]] += adj_w[p] * d
            flips += 1
    return flips


@njit(cache=True, nogil=True)
def cluster_sweep(S, F, Lg, E, bp, bond_p, ising, has_higher, has_slc, st, r, M, de, bond, flip):
    """One cluster pass over all variables of one restart (S, F, Lg, E: that restart's [P, ...] slices), any model.

    bp = β/P, bond_p = 1 − tanh(βΓ/P); de, bond, flip are [P] scratch. Returns the number of slice flips.
    """
    P = S.shape[0]
    n = S.shape[1]
    flips = 0
    for i in range(n):
        for k in range(P):
            de[k] = delta(S[k], F[k], Lg[k], i, ising, has_higher, has_slc, M)
        if ring_clusters(S, i, de, bp, bond_p, st, r, bond, flip) == 0:
            continue
        for k in range(P):
            if flip[k]:
                apply_flip(S[k], F[k], Lg[k], i, ising, has_slc, M)
                E[k] += de[k]
                flips += 1
    return flips


@njit(cache=True, nogil=True, parallel=True)
def qmc_chunk(S, F, Lg, E, topS, topE, rng, bps, bond_ps, log_ts, local, ising, has_higher, has_slc, M):
    """Advance every restart by len(bps) sweeps (bps[t] = β/P, bond_ps[t] = 1 − tanh(βΓ_t/P)).

    With `local`, every cluster pass is followed by a local-move pass (log_ts[t] = ln tanh(βΓ_t/P)); both moves
    leave the Trotter weight invariant, so any mix of them is exact. Every slice is offered to its restart's best-k
    set after every sweep.
    """
    R = S.shape[0]
    P = S.shape[1]
    for r in prange(R):
        de = np.empty(P, np.float64)
        bond = np.empty(P, np.bool_)
        flip = np.empty(P, np.bool_)
        kr = r * RNG_STRIDE
        quadratic = not has_higher and not has_slc
        use_dense = M[4].shape[0] == S.shape[2] and S.shape[2] > 0
        Sr = S[r]
        Fr = F[r]
        Lr = Lg[r]
        Er = E[r]
        for t in range(bps.shape[0]):
            if quadratic:
                cluster_sweep_quadratic(Sr, Fr, Er, bps[t], bond_ps[t], ising, rng, kr, M[1], M[2], M[3], M[4],
                                        use_dense, de, bond, flip)
            else:
                cluster_sweep(Sr, Fr, Lr, Er, bps[t], bond_ps[t], ising, has_higher, has_slc, rng, kr, M, de, bond,
                              flip)
            if local:
                local_sweep(Sr, Fr, Lr, Er, bps[t], log_ts[t], ising, has_higher, has_slc, rng, kr, M)
            for k in range(P):
                keep_best(Er[k], Sr[k], topE[r], topS[r])


# ----------------------------------------------------------------------------------------------------------------
# Benchmark kernel: exactly one Metropolis update per spin·slice per sweep.


@njit(cache=True, nogil=True)
def _sqa_sweep_sparse(S, F, bp, log_t, ising, st, k_rng, adj_ptr, adj_idx, adj_w):
    """One sweep of single spin·slice updates, slice by slice (k outer, i inner), sparse quadratic models."""
    P = S.shape[0]
    n = S.shape[1]
    accepted = 0
    for k in range(P):
        kp = k - 1 if k > 0 else P - 1
        kn = k + 1 if k + 1 < P else 0
        s = S[k]
        f = F[k]
        sp = S[kp]
        sn = S[kn]
        for i in range(n):
            si = s[i]
            d = -2.0 * si if ising else 1.0 - 2.0 * si
            x = -bp * d * f[i]  # log of the classical acceptance factor
            if P > 1:
                m = _spin(si, ising) * (_spin(sp[i], ising) + _spin(sn[i], ising))
                if m != 0:
                    x += m * log_t
            if x < 0.0 and not accept_uphill(-x, st, k_rng):
                continue
            s[i] = si + np.int8(d)
            for p in range(adj_ptr[i], adj_ptr[i + 1]):
                f[adj_idx[p]] += adj_w[p] * d
            accepted += 1
    return accepted


@njit(cache=True, nogil=True)
def local_sweep(S, F, Lg, E, bp, log_t, ising, has_higher, has_slc, st, k_rng, M):
    """One local-move sweep of one restart (slice by slice, variables in order) for any model (dense rows,
    higher-order terms, SLC groups), keeping the slice energies E [P] current. Returns accepted updates."""
    P = S.shape[0]
    n = S.shape[1]
    accepted = 0
    for k in range(P):
        kp = k - 1 if k > 0 else P - 1
        kn = k + 1 if k + 1 < P else 0
        for i in range(n):
            de = delta(S[k], F[k], Lg[k], i, ising, has_higher, has_slc, M)
            x = -bp * de
            if P > 1:
                m = _spin(S[k, i], ising) * (_spin(S[kp, i], ising) + _spin(S[kn, i], ising))
                if m != 0:
                    x += m * log_t
            if x < 0.0 and not accept_uphill(-x, st, k_rng):
                continue
            apply_flip(S[k], F[k], Lg[k], i, ising, has_slc, M)
            E[k] += de
            accepted += 1
    return accepted


@njit(cache=True, nogil=True, parallel=True)
def sqa_chunk(S, F, Lg, rng, bp, log_ts, ising, has_higher, has_slc, sparse_quadratic, M):
    """len(log_ts) local-move sweeps of every restart (S: [R, P, n]); returns accepted updates per restart."""
    R = S.shape[0]
    acc = np.zeros(R, np.int64)
    for r in prange(R):
        E = np.zeros(S.shape[1], np.float64)  # energies are recomputed by the caller
        for t in range(log_ts.shape[0]):
            if sparse_quadratic:
                acc[r] += _sqa_sweep_sparse(S[r], F[r], bp, log_ts[t], ising, rng, r * RNG_STRIDE, M[1], M[2], M[3])
            else:
                acc[r] += local_sweep(S[r], F[r], Lg[r], E, bp, log_ts[t], ising, has_higher, has_slc, rng,
                                      r * RNG_STRIDE, M)
    return acc


@njit(cache=True, nogil=True)
def slice_energies(S, constant, M):
    """Exact energy of every slice of every restart, float64 [R, P]."""
    R, P = S.shape[0], S.shape[1]
    out = np.empty((R, P), np.float64)
    for r in range(R):
        for k in range(P):
            out[r, k] = energy(S[r, k], constant, M)
    return out
