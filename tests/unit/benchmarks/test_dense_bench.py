"""benchmarks.dense (section 7): its move counter makes the dense kernel's decisions, and its counts are real."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks import dense as D
from benchmarks import instances as I
from benchmarks import libs as L
from contracts.problems import encode_json
from solver_runner.model import model_arrays


def test_the_move_counter_ends_where_the_dense_kernel_does() -> None:
    model = L.compiled(encode_json(I.sk(48, 7).document()))
    M = model_arrays(model)
    assert M[4].shape == (48, 48)  # the dense path
    attempts = 16 * 48 * 5
    # _timed_sweeps raises when the counter's final states differ from the kernel's on the same draws
    _, hot_flips, hot_draws = D._timed_sweeps(model, M, 16, np.full(5, 0.1), 3, True)
    _, cold_flips, cold_draws = D._timed_sweeps(model, M, 16, np.full(5, 50.0), 3, True)
    assert 0.5 * attempts < hot_flips <= attempts and 0 < hot_draws  # near β = 0 almost every move is taken
    assert cold_flips < 0.05 * attempts and cold_draws < hot_draws  # cold: few moves, most uphill ones past β·ΔE 40
    _, flips, _ = D._timed_sweeps(model, M, 16, np.geomspace(0.1, 50.0, 5), 3, False)
    assert cold_flips < flips < hot_flips


def test_a_changed_decision_is_caught(monkeypatch) -> None:
    model = L.compiled(encode_json(I.sk(48, 7).document()))
    M = model_arrays(model)
    real = D.count_moves

    def off_by_one_sweep(S, F, rng, betas, ising, dense):
        return real(S, F, rng, betas[:-1], ising, dense)

    monkeypatch.setattr(D, "count_moves", off_by_one_sweep)
    with pytest.raises(AssertionError, match="decisions"):
        D._timed_sweeps(model, M, 8, np.full(4, 1.0), 3, True)
