"""The `microsoft.qio.v2` problem model: `ProblemData` (flat numpy arrays, so a 10^6-term problem costs tens of MB
rather than a million Python objects once decoded, and crosses a process boundary cheaply), its limits, the format
error, and what both codecs (json_codec.py, protobuf.py) use to build and check one.

Term storage is CSR-like: term t has coefficient `coeffs[t]` and variable ids `ids[offsets[t]:offsets[t+1]]`
(original ids as the user wrote them, distinct within a term; an empty slice is a constant term).
Grouped problems add squared linear combinations (SLC): group g has coefficient `slc_coeffs[g]` and inner
terms `slc_term_coeffs[k], slc_term_ids[k]` for k in `slc_offsets[g]:slc_offsets[g+1]`, where id −1 is the
group's constant. Cost of group g = slc_coeffs[g] * (Σ_k slc_term_coeffs[k] * x[slc_term_ids[k]])².

Every malformed input raises `ProblemFormatError` whose message starts with the QIO `AZQnnn` code.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import errors
from ..errors import ContractError

PROBLEM_TYPES = ("ising", "pubo", "ising_grouped", "pubo_grouped")
PROTOBUF_CONTENT_TYPE = "application/x-protobuf"
JSON_CONTENT_TYPE = "application/json"
MAX_VARIABLE_ID = 2**31 - 1
# protobuf enum ProblemType { PUBO=0; ISING=1; MAXSAT=2; SOFTSPIN=3; }


class ProblemFormatError(ContractError):
    """The input is not a valid microsoft.qio.v2 problem (job fails with InvalidInputData)."""

    def __init__(self, azq: str, message: str, code: str = errors.INVALID_INPUT_DATA):
        super().__init__(code, f"{azq}: {message}")
        self.azq = azq


@dataclass(frozen=True)
class ProblemLimits:
    """Bounds that protect the service from inputs that would exhaust memory. All configurable."""

    max_input_bytes: int = 512 * 1024 * 1024  # after decompression
    max_terms: int = 10_000_000
    max_variables: int = 2_000_000
    max_term_degree: int = 64


DEFAULT_LIMITS = ProblemLimits()


@dataclass
class ProblemData:
    problem_type: str
    coeffs: np.ndarray  # float64 [T]
    offsets: np.ndarray  # int64 [T+1]
    ids: np.ndarray  # int64 [nnz]
    slc_coeffs: np.ndarray  # float64 [G]
    slc_offsets: np.ndarray  # int64 [G+1]
    slc_term_coeffs: np.ndarray  # float64 [K]
    slc_term_ids: np.ndarray  # int64 [K]; -1 = constant
    initial_configuration: dict[int, int] | None = None
    name: str | None = None

    @property
    def is_ising(self) -> bool:
        return self.problem_type.startswith("ising")

    @property
    def is_grouped(self) -> bool:
        return self.problem_type.endswith("_grouped")

    @property
    def n_terms(self) -> int:
        return int(self.coeffs.shape[0])

    def variable_ids(self) -> np.ndarray:
        """Sorted distinct variable ids used by any term, SLC term or the initial configuration."""
        parts = [self.ids, self.slc_term_ids[self.slc_term_ids >= 0]]
        if self.initial_configuration:
            parts.append(np.fromiter(self.initial_configuration.keys(), dtype=np.int64))
        return distinct_ids(np.concatenate(parts))

    def terms(self) -> Iterable[tuple[float, tuple[int, ...]]]:
        """(c, ids) pairs; convenient for tests and small problems, not for hot paths."""
        for t in range(self.n_terms):
            yield float(self.coeffs[t]), tuple(int(i) for i in self.ids[self.offsets[t] : self.offsets[t + 1]])


# Variable ids up to this many times their count (plus a constant) are looked up through a table indexed by id
# rather than sorted or hashed: the usual numbering 0..n−1, or one with gaps.
TABLE_SPAN = 4
TABLE_SLACK = 1024


def _table_fits(top: int, count: int) -> bool:
    return top < TABLE_SPAN * count + TABLE_SLACK


def distinct_ids(ids: np.ndarray) -> np.ndarray:
    """The sorted distinct values of the non-negative int64 `ids`. Gset G1's 38 352 term ids: 1.0 ms with
    np.unique, 0.05 ms through a presence table (benchmarks/README.md, "Design measurements")."""
    if ids.size == 0:
        return np.zeros(0, np.int64)
    top = int(ids.max())
    if int(ids.min()) >= 0 and _table_fits(top, ids.size):
        present = np.zeros(top + 1, np.bool_)
        present[ids] = True
        return np.flatnonzero(present).astype(np.int64)
    return np.unique(ids)


def id_positions(var_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The position (int64) of each of `ids` in `var_ids`, the sorted distinct ids that hold every one of them.
    Gset G1's 38 352 term ids: 2.3 ms by binary search, 0.1 ms through a table."""
    if var_ids.size and _table_fits(int(var_ids[-1]), var_ids.size):
        table = np.empty(int(var_ids[-1]) + 1, np.int64)
        table[var_ids] = np.arange(var_ids.size, dtype=np.int64)
        return table[ids]
    return np.searchsorted(var_ids, ids).astype(np.int64)


def _check_variable_count(problem: ProblemData, limits: ProblemLimits) -> None:
    n = problem.variable_ids().shape[0]
    if n > limits.max_variables:
        raise ProblemFormatError(
            errors.AZQ_WRONG_TYPE, f"{n} variables exceed the limit of {limits.max_variables}", errors.PROBLEM_TOO_LARGE
        )
    _check_cost_range(problem)


def _check_cost_range(problem: ProblemData) -> None:
    """Every configuration's cost must be a finite float64: Σ|c| + Σ_g |c_g|·(Σ_k |c_gk|)² bounds |cost|. Finite
    coefficients can still sum past 1.8e308, and then solvers compare infinities and find no solution to report."""
    with np.errstate(over="ignore", invalid="ignore"):
        bound = float(np.abs(problem.coeffs).sum())
        groups = problem.slc_coeffs.shape[0]
        if groups:
            owners = np.repeat(np.arange(groups), np.diff(problem.slc_offsets))
            inner = np.bincount(owners, weights=np.abs(problem.slc_term_coeffs), minlength=groups)
            bound += float((np.abs(problem.slc_coeffs) * inner * inner).sum())
    if not math.isfinite(bound):
        raise ProblemFormatError(
            errors.AZQ_WRONG_TYPE, "coefficients are too large: some configuration's cost would overflow float64 "
            "(the sum of |c| must stay below 1.8e308); scale the problem down"
        )


class _TermBuilder:
    """Accumulates terms into flat arrays, canonicalising ids (pubo: x·x = x; ising: repeats are an error)."""

    def __init__(self, ising: bool, limits: ProblemLimits):
        self.ising = ising
        self.limits = limits
        self.coeffs: list[float] = []
        self.offsets: list[int] = [0]
        self.ids: list[int] = []
        self._taken: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def take(self, coeffs: np.ndarray, offsets: np.ndarray, ids: np.ndarray) -> None:
        """All terms at once, already checked and canonical (the JSON codec's bulk path); only on an empty builder."""
        if self.coeffs or self._taken is not None:
            raise ValueError("take() needs an empty builder")
        self._taken = (coeffs, offsets, ids)

    def add(self, c: float, ids: Sequence[int], where: str) -> None:
        if len(ids) > self.limits.max_term_degree:
            raise ProblemFormatError(
                errors.AZQ_WRONG_TYPE, f"{where} has {len(ids)} ids, over the limit of {self.limits.max_term_degree}"
            )
        if len(ids) > 1:
            distinct = sorted(set(ids))
            if len(distinct) != len(ids):
                if self.ising:
                    raise ProblemFormatError(
                        errors.AZQ_REPEATED_ISING_INDEX, f"{where}: ising terms must not repeat an index ({list(ids)})"
                    )
                ids = distinct
        self.coeffs.append(c)
        self.ids.extend(ids)
        self.offsets.append(len(self.ids))

    def build(self, ptype: str, **rest: Any) -> ProblemData:
        coeffs, offsets, ids = self._taken if self._taken is not None else (self.coeffs, self.offsets, self.ids)
        return ProblemData(
            problem_type=ptype,
            coeffs=np.asarray(coeffs, dtype=np.float64),
            offsets=np.asarray(offsets, dtype=np.int64),
            ids=np.asarray(ids, dtype=np.int64),
            **rest,
        )


TermLike = tuple[float, Sequence[int]]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid number")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_id(value: Any, where: str, limits: ProblemLimits) -> int:
    """A variable id: a JSON integer (never a float such as 1.0, -0.0 or 1e0, which QIO's typed parser refused)
    in 0..MAX_VARIABLE_ID."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"{where}: variable ids must be integers, got {value!r}")
    if value < 0 or value > MAX_VARIABLE_ID:
        raise ProblemFormatError(
            errors.AZQ_WRONG_TYPE, f"{where}: variable id {value} is outside 0..{MAX_VARIABLE_ID}"
        )
    return value


def _as_coeff(value: Any, where: str) -> float:
    if not _is_number(value):
        raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"{where}: coefficient 'c' must be a number, got {value!r}")
    try:
        c = float(value)
    except OverflowError:  # a JSON integer such as 10**400: no float64 holds it
        c = math.inf
    if not math.isfinite(c):
        raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"{where}: coefficient 'c' must be finite, got {value!r}")
    return c
