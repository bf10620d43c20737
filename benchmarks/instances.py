"""Benchmark instances, generated deterministically from seeds and cached as microsoft.qio.v2 JSON under .bench/.

Nothing is downloaded and no data file is committed: `ensure()` (re)generates what is missing or stale and writes
`.bench/instances/manifest.json`. Costs follow the QIO minimisation convention (cost = the problem's terms
evaluated on the configuration). Each manifest entry records how its reference cost is known:

- `proven`:  exact minimum, computed here (branch-and-bound, benchmarks.exact), or guaranteed by construction
             (planted instances: the cost is a sum of parts each bounded below by the part's planted value);
- `unknown`: no reference; the benchmark reports the best cost found in the same run instead.

Families (Ising unless said otherwise; ±J couplings are ±1 with probability ½ each):

- rrg3_<N>     random 3-regular graph (configuration model, resampled until simple), ±J.
- torus100     100×100 square lattice with periodic boundaries, ±J.
- sk512        Sherrington–Kirkpatrick: all pairs, J ~ N(0, 1)/√N.
- fl_chimera8_a<α>   frustrated loops planted on a Chimera C(8,8,4) graph (512 spins), α·N loops. Each loop is a
               simple cycle (non-backtracking random walk) of length L ≥ 6 whose ±1 couplings are satisfied by a
               random planted state t on every edge but one. Flipping a spin changes the number of unsatisfied edges
               of a simple cycle by 0 or ±2, so every state leaves an odd number (≥ 1) unsatisfied: each loop's
               energy is ≥ −(L−1) + 1 = −(L−2), t reaches that bound on every loop at once, and the sum of loop
               Hamiltonians (couplings of shared edges add) has the proven minimum E₀ = −Σ (L−2).
- wishart_pubo<N>_m<M>  dense PUBO from a binary planted Wishart matrix: W ∈ {±1}^{N×M} with Wᵀt = 0 exactly, so
               Σ_{i<j} 2(WWᵀ)_ij s_i s_j = |Wᵀs|² − N·M ≥ −N·M with equality at s = t; rewritten in x = (s+1)/2
               (integer coefficients, constant dropped), so the proven minimum is −N·M − Σ_{i<j} 2(WWᵀ)_ij.
- tile<L>      2-D tile planting: an L×L torus cut into L²/2 checkerboard 4-cycle tiles (every edge in exactly one
               tile), each a frustrated cycle from class C1 (−1,−1,−1,+1), C2 (−2,−1,−1,+1) or C3 (−2,−2,−1,+1) with
               probabilities 0.2/0.4/0.4, the positive coupling on a random edge, gauged by a random planted state t.
               A frustrated cycle leaves at least one edge unsatisfied, so each tile's energy is ≥ −Σ|J| + 2·min|J|;
               t violates only the positive edge, whose |J| is the minimum, on every tile at once: E₀ = Σ tile minima.
- bqp50_<k>    OR-Library bqp50 style: 50 variables, each upper-triangle entry of Q (diagonal included) nonzero
               with probability 0.1, uniform integer in [−100, 100]; maximise Σ q_ii x_i + Σ_{i<j} 2 q_ij x_i x_j,
               stored as the minimisation of its negative. Optimum by branch-and-bound (proven).
- g1like       G1-style max-cut: 800 nodes, 19176 distinct random edges (6% density), weight +1; cost = Σ s_i s_j,
               cut = (19176 − cost)/2. Best cut unknown (the real G1's 11624 is for a different graph).
- mem_100k     memory test only (not a quality instance): 100 000 variables, 1 000 000 PUBO terms, 100 000 linear
               and 900 000 quadratic on random pairs.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks import exact
from contracts.problems import encode_json, problem_document

GENERATOR_VERSION = 1
ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench" / "instances"
MANIFEST = CACHE / "manifest.json"


@dataclass
class Instance:
    """A generated problem: terms as flat arrays (j = −1 marks a linear term) plus what is known about its optimum."""

    name: str
    family: str
    problem_type: str  # "ising" | "pubo"
    n: int
    i: np.ndarray
    j: np.ndarray
    c: np.ndarray
    best_known: float | None = None
    status: str = "unknown"  # "proven" | "unknown"
    method: str = ""
    planted: np.ndarray | None = None  # a state reaching best_known (planted families)
    extra: dict = field(default_factory=dict)
    offset: float = 0.0  # the constant term (instances read from a file; generated ones have none)

    def terms(self):
        for a, b, c in zip(self.i.tolist(), self.j.tolist(), self.c.tolist()):
            yield (c, [a] if b < 0 else [a, b])

    def document(self) -> dict:
        return problem_document(self.problem_type, self.terms(), name=self.name)

    def cost(self, state: np.ndarray) -> float:
        """Cost of a state indexed by variable id 0..n−1 (±1 or 0/1), vectorised."""
        s = np.asarray(state, np.float64)
        lin = self.j < 0
        return float(np.sum(self.c[lin] * s[self.i[lin]]) + np.sum(self.c[~lin] * s[self.i[~lin]] * s[self.j[~lin]]))


def _instance(name, family, ptype, n, pairs_i, pairs_j, c, **kw) -> Instance:
    return Instance(name, family, ptype, int(n), np.asarray(pairs_i, np.int64), np.asarray(pairs_j, np.int64),
                    np.asarray(c, np.float64), **kw)


def _pm1(rng: np.random.Generator, m: int) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size=m)


# --- sparse spin glasses ---------------------------------------------------------------------------------------


def random_regular_edges(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Edges [m, 2] of a uniformly paired simple d-regular graph (configuration model with rejection)."""
    if n * d % 2:
        raise ValueError("n·d must be even")
    for _ in range(1000):
        stubs = rng.permutation(np.repeat(np.arange(n), d)).reshape(-1, 2)
        lo, hi = stubs.min(axis=1), stubs.max(axis=1)
        if np.any(lo == hi):
            continue
        if np.unique(lo * n + hi).shape[0] == lo.shape[0]:
            return np.stack([lo, hi], axis=1)
    raise RuntimeError("no simple regular graph after 1000 pairings")


def rrg3(n: int, seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    e = random_regular_edges(n, 3, rng)
    return _instance(f"rrg3_{n}", "rrg3", "ising", n, e[:, 0], e[:, 1], _pm1(rng, e.shape[0]),
                     method=f"random 3-regular ±J, seed {seed}")


def torus(side: int, seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    idx = np.arange(side * side).reshape(side, side)
    a = np.concatenate([idx.ravel(), idx.ravel()])
    b = np.concatenate([np.roll(idx, -1, axis=1).ravel(), np.roll(idx, -1, axis=0).ravel()])
    return _instance(f"torus{side}", "torus", "ising", side * side, a, b, _pm1(rng, a.shape[0]),
                     method=f"{side}×{side} periodic ±J, seed {seed}")


def sk(n: int, seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    a, b = np.triu_indices(n, 1)
    return _instance(f"sk{n}", "sk", "ising", n, a, b, rng.standard_normal(a.shape[0]) / math.sqrt(n),
                     method=f"SK Gaussian J/√N, seed {seed}")


# --- planted ---------------------------------------------------------------------------------------------------


def chimera_edges(m: int, t: int = 4) -> np.ndarray:
    """Chimera C(m, m, t): m×m cells of K_{t,t}; side 0 couples vertically, side 1 horizontally (D-Wave layout)."""
    def node(r, c, u, k):
        return ((r * m + c) * 2 + u) * t + k
    edges = []
    for r in range(m):
        for c in range(m):
            for k in range(t):
                for k2 in range(t):
                    edges.append((node(r, c, 0, k), node(r, c, 1, k2)))
                if r + 1 < m:
                    edges.append((node(r, c, 0, k), node(r + 1, c, 0, k)))
                if c + 1 < m:
                    edges.append((node(r, c, 1, k), node(r, c + 1, 1, k)))
    return np.array(edges, np.int64)


def _random_cycle(adj: list[list[int]], rng: np.random.Generator, min_len: int) -> list[int] | None:
    """A cycle from a non-backtracking random walk: walk until a vertex repeats, keep the loop part."""
    start = int(rng.integers(len(adj)))
    path = [start]
    pos = {start: 0}
    prev = -1
    while True:
        here = path[-1]
        choices = [v for v in adj[here] if v != prev]
        nxt = choices[int(rng.integers(len(choices)))]
        if nxt in pos:
            cycle = path[pos[nxt]:]
            return cycle if len(cycle) >= min_len else None
        pos[nxt] = len(path)
        path.append(nxt)
        prev = here


def frustrated_loops(n: int, edges: np.ndarray, alpha: float, seed: int, name: str, min_len: int = 6) -> Instance:
    rng = np.random.default_rng(seed)
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges.tolist():
        adj[a].append(b)
        adj[b].append(a)
    t = rng.choice(np.array([-1, 1]), size=n)
    J: dict[tuple[int, int], int] = {}
    loops = int(round(alpha * n))
    e0 = 0
    made = 0
    while made < loops:
        cycle = _random_cycle(adj, rng, min_len)
        if cycle is None:
            continue
        L = len(cycle)
        bad = int(rng.integers(L))
        for k in range(L):
            a, b = cycle[k], cycle[(k + 1) % L]
            key = (min(a, b), max(a, b))
            # satisfied edge: J·t_a·t_b = −1; the one frustrated edge: +1
            J[key] = J.get(key, 0) + (t[a] * t[b] if k == bad else -t[a] * t[b])
        e0 -= L - 2
        made += 1
    keys = [k for k, v in J.items() if v != 0]
    ii = [k[0] for k in keys]
    jj = [k[1] for k in keys]
    cc = [J[k] for k in keys]
    return _instance(name, "planted-fl", "ising", n, ii, jj, cc, best_known=float(e0), status="proven",
                     method=f"frustrated loops (α={alpha}, {loops} loops, L≥{min_len}), planted E₀ = −Σ(L−2), seed {seed}",
                     planted=t.astype(np.int8))


def wishart_pubo(n: int, m: int, seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    t = rng.choice(np.array([-1, 1]), size=n)
    W = np.empty((n, m), np.int64)
    for mu in range(m):  # w_i = t_i on a random half, −t_i on the other half: Σ_i w_i t_i = 0 exactly
        agree = np.zeros(n, bool)
        agree[rng.permutation(n)[: n // 2]] = True
        W[:, mu] = np.where(agree, t, -t)
    A = W @ W.T
    Jm = 2 * np.triu(A, 1)  # Ising couplings J_ij (i<j)
    # Σ_{i<j} J_ij s_i s_j with s = 2x − 1 → Σ 4J_ij x_i x_j − Σ_i 2(Σ_j J_ij) x_i + Σ J_ij
    a, b = np.triu_indices(n, 1)
    quad = 4 * Jm[a, b]
    full = Jm + Jm.T
    lin = -2 * full.sum(axis=1)
    constant = int(Jm.sum())
    keep = quad != 0
    ii = np.concatenate([np.arange(n), a[keep]])
    jj = np.concatenate([np.full(n, -1), b[keep]])
    cc = np.concatenate([lin, quad[keep]])
    best = float(-n * m - constant)
    return _instance(f"wishart_pubo{n}_m{m}", "planted-wishart", "pubo", n, ii, jj, cc, best_known=best,
                     status="proven", method=f"binary planted Wishart (N={n}, M={m}), E₀ = −N·M − const, seed {seed}",
                     planted=((t + 1) // 2).astype(np.int8))


# Tile classes of the 2-D tile-planting ensemble: couplings of one 4-cycle tile, the single positive (frustrating)
# one last. |J₊| = min |J| on every class, so the planted state violates only the tile's weakest edge.
TILE_CLASSES = ((-1, -1, -1, 1), (-2, -1, -1, 1), (-2, -2, -1, 1))
TILE_CLASS_P = (0.2, 0.4, 0.4)


def tile_planting(side: int, seed: int, name: str | None = None) -> Instance:
    rng = np.random.default_rng(seed)
    if side % 2 or side < 4:
        raise ValueError("tile planting needs an even side ≥ 4")
    t = rng.choice(np.array([-1, 1]), size=side * side)
    node = lambda x, y: (y % side) * side + (x % side)  # noqa: E731
    ii, jj, cc = [], [], []
    e0 = 0
    for y in range(side):
        for x in range(side):
            if (x + y) % 2:
                continue  # checkerboard: every lattice edge lies in exactly one tile
            cycle = (node(x, y), node(x + 1, y), node(x + 1, y + 1), node(x, y + 1))
            couplings = list(TILE_CLASSES[rng.choice(len(TILE_CLASSES), p=TILE_CLASS_P)])
            bad = int(rng.integers(4))
            couplings[bad], couplings[3] = couplings[3], couplings[bad]  # the positive coupling on a random edge
            for k in range(4):
                a, b = cycle[k], cycle[(k + 1) % 4]
                ii.append(min(a, b))
                jj.append(max(a, b))
                cc.append(couplings[k] * t[a] * t[b])  # gauge: the planted state t sees the class couplings
            e0 += sum(couplings)  # = −Σ|J| + 2·|J₊|, the tile's minimum
    name = name or f"tile{side}"
    return _instance(name, "planted-tile", "ising", side * side, ii, jj, cc, best_known=float(e0), status="proven",
                     method=f"tile planting on a {side}×{side} torus, classes {TILE_CLASS_P}, E₀ = Σ tile minima, seed {seed}",
                     planted=t.astype(np.int8))


# --- small exact QUBOs and max-cut ------------------------------------------------------------------------------


def bqp_like(n: int, density: float, seed: int, index: int) -> Instance:
    rng = np.random.default_rng(seed)
    q = np.zeros((n, n), np.int64)
    iu, ju = np.triu_indices(n)
    mask = rng.random(iu.shape[0]) < density
    vals = rng.integers(-100, 101, size=iu.shape[0])
    q[iu[mask], ju[mask]] = vals[mask]
    diag = np.diag(q).copy()
    off = np.triu(q, 1)
    # minimise −(Σ q_ii x_i + Σ_{i<j} 2 q_ij x_i x_j)
    a_lin = -diag.astype(np.float64)
    B = -2.0 * (off + off.T).astype(np.float64)
    cost, x, proven, nodes = exact.solve(a_lin, B)
    li = np.flatnonzero(diag)
    qi, qj = np.nonzero(off)
    ii = np.concatenate([li, qi])
    jj = np.concatenate([np.full(li.shape[0], -1), qj])
    cc = np.concatenate([-diag[li], -2 * off[qi, qj]])
    return _instance(f"bqp{n}_{index}", "bqp-like", "pubo", n, ii, jj, cc, best_known=cost,
                     status="proven" if proven else "unknown",
                     method=(f"bqp-style n={n} density {density}, seed {seed}; "
                             + (f"optimum by branch-and-bound ({nodes} nodes)" if proven
                                else f"branch-and-bound unfinished after {nodes} nodes: best found only")),
                     planted=x)


def g1_like(seed: int, n: int = 800, m: int = 19176) -> Instance:
    rng = np.random.default_rng(seed)
    a, b = np.triu_indices(n, 1)
    pick = np.sort(rng.choice(a.shape[0], size=m, replace=False))
    return _instance("g1like", "maxcut", "ising", n, a[pick], b[pick], np.ones(m),
                     method=f"G1-style random graph n={n}, m={m}, w=+1, seed {seed}; cut = (m − cost)/2",
                     extra={"maxcut_total_weight": m})


def memory_instance(seed: int, n: int = 100_000, terms: int = 1_000_000) -> Instance:
    rng = np.random.default_rng(seed)
    quad = terms - n
    a = rng.integers(0, n, size=quad)
    b = (a + rng.integers(1, n, size=quad)) % n  # distinct from a
    ii = np.concatenate([np.arange(n), a])
    jj = np.concatenate([np.full(n, -1), b])
    cc = np.concatenate([rng.integers(-10, 11, size=n), rng.integers(-10, 11, size=quad)]).astype(np.float64)
    cc[cc == 0] = 1.0
    return _instance("mem_100k", "memory", "pubo", n, ii, jj, cc, method=f"{n} vars, {terms} terms (degree 1–2), seed {seed}")


# --- registry, cache and manifest -------------------------------------------------------------------------------

SPEED = ("rrg3_1000", "rrg3_10000", "torus100", "sk512")
GENERATORS: dict[str, Callable[[], Instance]] = {
    "rrg3_1000": lambda: rrg3(1000, 1001),
    "rrg3_10000": lambda: rrg3(10000, 1002),
    "torus100": lambda: torus(100, 1003),
    "sk512": lambda: sk(512, 1004),
    "fl_chimera8_a025": lambda: frustrated_loops(512, chimera_edges(8), 0.25, 1005, "fl_chimera8_a025"),
    "fl_chimera8_a050": lambda: frustrated_loops(512, chimera_edges(8), 0.50, 1006, "fl_chimera8_a050"),
    "wishart_pubo256_m64": lambda: wishart_pubo(256, 64, 1007),
    "tile32": lambda: tile_planting(32, 1008),
    "bqp50_1": lambda: bqp_like(50, 0.1, 1011, 1),
    "bqp50_2": lambda: bqp_like(50, 0.1, 1012, 2),
    "bqp50_3": lambda: bqp_like(50, 0.1, 1013, 3),
    "g1like": lambda: g1_like(1020),
}
QUALITY = tuple(GENERATORS)  # the quality section runs every manifest instance
MEMORY = "mem_100k"


def path_of(name: str) -> Path:
    return CACHE / f"{name}.json.gz"


def _entry(inst: Instance) -> dict:
    return {
        "name": inst.name, "file": path_of(inst.name).name, "family": inst.family, "type": inst.problem_type,
        "n": inst.n, "terms": int(inst.c.shape[0]), "best_known": inst.best_known, "status": inst.status,
        "method": inst.method, "generator_version": GENERATOR_VERSION, **inst.extra,
    }


def write(inst: Instance) -> dict:
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path_of(inst.name).with_suffix(".tmp")
    tmp.write_bytes(encode_json(inst.document(), compress=True))
    tmp.replace(path_of(inst.name))
    return _entry(inst)


def load_manifest() -> dict[str, dict]:
    if not MANIFEST.exists():
        return {}
    return {e["name"]: e for e in json.loads(MANIFEST.read_text())["instances"]}


def ensure(names=None, log: Callable[[str], None] = lambda s: None) -> dict[str, dict]:
    """Generate every missing or stale instance among `names` (default: all + memory); return the manifest."""
    names = list(GENERATORS) + [MEMORY] if names is None else list(names)
    manifest = load_manifest()
    changed = False
    for name in names:
        entry = manifest.get(name)
        if entry and entry.get("generator_version") == GENERATOR_VERSION and path_of(name).exists():
            continue
        log(f"generating {name} ...")
        inst = memory_instance(1030) if name == MEMORY else GENERATORS[name]()
        manifest[name] = write(inst)
        changed = True
    if changed:
        order = list(GENERATORS) + [MEMORY]
        ordered = [manifest[k] for k in sorted(manifest, key=lambda k: order.index(k) if k in order else len(order))]
        MANIFEST.write_text(json.dumps({"generator_version": GENERATOR_VERSION, "instances": ordered}, indent=1))
    return manifest


def read_bytes(name: str) -> bytes:
    return path_of(name).read_bytes()
