"""`accept_uphill` is the Metropolis test u < e^−a, only faster: same decision, same random numbers drawn."""
import math

import numpy as np
from numba import njit

from solver_runner.kernels.common import accept_uphill
from solver_runner.kernels.rng import rand01, rng_states


@njit(cache=False)
def _decisions(a_values, st_fast, st_ref):
    fast = np.empty(a_values.shape[0], np.bool_)
    ref = np.empty(a_values.shape[0], np.bool_)
    for t in range(a_values.shape[0]):
        a = a_values[t]
        fast[t] = accept_uphill(a, st_fast, 0)
        ref[t] = False if a > 40.0 else rand01(st_ref, 0) < math.exp(-a)
    return fast, ref


def test_same_decision_and_same_draws_as_the_plain_exp_test():
    rng = np.random.default_rng(7)
    a = np.concatenate([
        10.0 ** rng.uniform(-9, 0, 100_000),  # small: the lower bound decides most
        rng.uniform(0.0, 45.0, 100_000),      # across the cutoff at 40
        np.array([1e-300, 40.0, np.nextafter(40.0, 41.0), 5e-324]),
    ])
    rng.shuffle(a)
    st_fast, st_ref = rng_states(3, 1), rng_states(3, 1)
    fast, ref = _decisions(a, st_fast, st_ref)
    assert np.array_equal(fast, ref)
    assert st_fast[0] == st_ref[0]  # exactly the same uniforms were consumed


def test_acceptance_rate_is_e_to_the_minus_a():
    st = rng_states(11, 1)
    draws = 200_000
    for a in (0.01, 0.3, 1.0, 2.5, 6.0):
        hits = _decisions(np.full(draws, a), st, rng_states(0, 1))[0].sum()
        p = math.exp(-a)
        sigma = math.sqrt(p * (1 - p) / draws)
        assert abs(hits / draws - p) < 5 * sigma + 1e-12, (a, hits / draws, p)
