"""Explicit-state random numbers for the kernels: xorshift64* streams seeded through splitmix64.

Never numba's global `np.random`: its state is per thread and hidden, so parallel runs would not be reproducible.
Instead a run allocates `rng_states(seed, count, stream)`, a uint64 array holding one generator per walker
(restart, replica, population member, ...), and a kernel advances generator k with `next_u64(st, k)`. Walker k only
ever touches `st[k]`, so walkers can run in parallel (`prange`) and the result does not depend on the thread count.

- `splitmix64(x)`: the standard 64-bit mixer (Steele, Lea, Flood 2014), used to derive well-spread seeds.
- `rng_states(seed, count, stream=0)`: stream k of (seed, stream) is the k-th splitmix64 output after a base derived
  from both; different seeds or different `stream` values give unrelated generators. Never zero.
- `next_u64(st, k)`: xorshift64* (Vigna 2016, shifts 12/25/27, multiplier 0x2545F4914F6CDD1D); period 2^64 − 1.
- `rand01(st, k)`: uniform float64 in [0, 1), 53 random bits.
- `mix64(z)`: splitmix64's output function inside kernels (multi-spin coding's and the dense kernel's counter-based
  streams).
- `randint(st, k, n)`: uniform int in [0, n) (modulo bias < n / 2^64, irrelevant here).
All kernel-side functions are `inline="always"`: a draw costs ~1 ns inside a sweep.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def splitmix64(x: int) -> int:
    x = (x + _GOLDEN) & _MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def rng_states(seed: int, count: int, stream: int = 0) -> np.ndarray:
    """`count` independent xorshift64* states (uint64 [count]) for (seed, stream); never zero."""
    base = splitmix64((int(seed) & _MASK64) ^ splitmix64((int(stream) + 0x5851F42D4C957F2D) & _MASK64))
    out = np.empty(max(0, int(count)), np.uint64)
    x = base
    for k in range(out.shape[0]):
        x = splitmix64(x)
        out[k] = x or _GOLDEN
    return out


GOLDEN = np.uint64(_GOLDEN)  # SplitMix64's increment, for kernels that step a SplitMix64 counter themselves


@njit(cache=True, nogil=True, inline="always")
def mix64(z):
    """SplitMix64's output function (the finaliser of `splitmix64`, on a uint64 in a kernel)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def next_u64(st, k):
    x = st[k]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    st[k] = x
    return x * np.uint64(0x2545F4914F6CDD1D)


@njit(cache=True, nogil=True, inline="always")
def rand01(st, k):
    """Uniform in [0, 1) with 53 random bits."""
    return float(next_u64(st, k) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, inline="always")
def randint(st, k, n):
    """Uniform integer in [0, n), n >= 1."""
    return int(next_u64(st, k) % np.uint64(n))


# Walkers running on different threads must not share a cache line of generator state (every draw writes it):
# padded layouts keep stream k at word k·RNG_STRIDE (64 bytes apart). Same values as rng_states.
RNG_STRIDE = 8


def padded_rng_states(seed: int, count: int, stream: int = 0) -> np.ndarray:
    """rng_states(seed, count, stream) laid out RNG_STRIDE words apart: stream k is st[k·RNG_STRIDE]."""
    out = np.zeros(max(1, int(count)) * RNG_STRIDE, np.uint64)
    out[::RNG_STRIDE][: int(count)] = rng_states(seed, count, stream)
    return out
