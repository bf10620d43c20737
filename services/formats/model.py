"""The problem model every file format reads into and writes from, and the exact algebra between its forms.

A `TermModel` is a QIO problem as plain Python values: cost = Σ c·Π_{i∈ids} x_i over `terms` plus
Σ_g c_g·(Σ_k c_gk·x_k)² over `slc_terms`, minimised; `kind` "ising" means x ∈ {−1, +1}, "pubo" x ∈ {0, 1}.
Variable ids are non-negative ints (QIO ids). Formats that name variables otherwise (dimod's labels) keep the names in
`labels` (id → label) and number the variables; `assign_ids` is the one rule for that, shared with
`Problem.from_bqm`.

Everything here is exact rewriting (no rounding beyond float64 arithmetic): like terms combined, x·x = x (pubo) and
s·s = 1 (ising), SLC groups expanded, and the vartype changes s = 2x − 1 / x = (s + 1)/2.
"""
from __future__ import annotations

import operator
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from contracts.problems import MAX_VARIABLE_ID

KINDS = ("ising", "pubo")
Monomial = tuple[int, ...]  # sorted, distinct ids; () is the constant
# A vartype change rewrites a degree-d monomial into 2^d: beyond this the problem stays in its own vartype.
MAX_CONVERSION_DEGREE = 16


class FormatError(ValueError):
    """A file that cannot be read, or a problem a format cannot hold. `line` (1-based) points into the file
    where the fault is, when there is a line to point at; `source` names the file."""

    def __init__(self, message: str, *, line: int | None = None, source: str | None = None):
        self.reason = message
        self.line = line
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        where = ", ".join(part for part in (self.source, f"line {self.line}" if self.line else None) if part)
        return f"{where}: {self.reason}" if where else self.reason

    def located(self, source: str) -> FormatError:
        """The same error, naming the file it came from."""
        self.source = source
        self.args = (self._text(),)
        return self


@dataclass
class TermModel:
    """A problem as (c, ids) terms and SLC groups (c, [(c_k, ids_k)]) with ids_k of length ≤ 1; see the module
    docstring. Terms are kept as written (not combined): a file converted to QIO keeps its terms in their order."""

    kind: str
    terms: list[tuple[float, Monomial]]
    slc_terms: list[tuple[float, list[tuple[float, Monomial]]]] = field(default_factory=list)
    name: str | None = None
    initial_configuration: dict[int, int] | None = None
    labels: dict[int, Hashable] | None = None  # id → the file's own name for it; None: the ids are the names

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FormatError(f"problem kind must be one of {', '.join(KINDS)}; got {self.kind!r}")

    def variable_ids(self) -> list[int]:
        """Sorted ids used by any term (zero-coefficient terms included: they keep a variable in the model)."""
        ids = {i for _, monomial in self.terms for i in monomial}
        ids.update(i for _, inner in self.slc_terms for _, monomial in inner for i in monomial)
        return sorted(ids)

    def label(self, vid: int) -> Hashable:
        return vid if self.labels is None else self.labels.get(vid, vid)


def assign_ids(variables: Iterable[Hashable]) -> tuple[list[int], dict[int, Hashable] | None]:
    """Ids for labelled variables: the labels themselves when every one is an int in 0..2³¹−1 (numpy ints too,
    bools not), else 0..n−1 in the given order with the labels kept (id → label). Returns (ids, labels or None)."""
    variables = list(variables)
    ids: list[int] = []
    for v in variables:
        if isinstance(v, bool):
            break
        try:
            vid = operator.index(v)  # type: ignore[arg-type]  # any label; non-integers raise TypeError
        except TypeError:
            break
        if not 0 <= vid <= MAX_VARIABLE_ID:
            break
        ids.append(vid)
    else:
        return ids, None
    return list(range(len(variables))), dict(enumerate(variables))


def monomial(ids: Iterable[int], kind: str) -> Monomial:
    """A product of variables in canonical form: sorted, pubo x·x = x, ising s·s = 1."""
    if kind == "pubo":
        return tuple(sorted(set(ids)))
    odd: set[int] = set()
    for i in ids:
        odd ^= {i}
    return tuple(sorted(odd))


def polynomial(model: TermModel) -> dict[Monomial, float]:
    """Σ c·Π x over all terms, SLC groups expanded, like monomials combined. Zero coefficients stay (a variable
    with only a zero term is still part of the problem); the constant is under ()."""
    poly: dict[Monomial, float] = {}

    def add(c: float, ids: Iterable[int]) -> None:
        key = monomial(ids, model.kind)
        poly[key] = poly.get(key, 0.0) + c

    for c, ids in model.terms:
        add(float(c), ids)
    for c, inner in model.slc_terms:
        # c·(Σ_k a_k m_k)² = c·Σ_k Σ_l a_k a_l m_k m_l, with m the inner monomials (a variable or the constant)
        for (ak, mk), (al, ml) in ((a, b) for a in inner for b in inner):
            add(float(c) * float(ak) * float(al), (*mk, *ml))
    return poly


def convert(poly: Mapping[Monomial, float], source: str, target: str) -> dict[Monomial, float]:
    """The same function in the other vartype: ising → pubo with s = 2x − 1, pubo → ising with x = (s + 1)/2."""
    if source == target:
        return dict(poly)
    out: dict[Monomial, float] = {}
    for ids, c in poly.items():
        degree = len(ids)
        if degree > MAX_CONVERSION_DEGREE:
            raise FormatError(f"a term of degree {degree} is too large to rewrite from {source} to {target} "
                              f"(2^{degree} terms); keep the problem {source}")
        for size in range(degree + 1):
            for subset in combinations(ids, size):
                if source == "ising":  # Π (2x_i − 1) = Σ_T 2^|T| (−1)^(d−|T|) Π_T x
                    weight = 2.0**size * (-1.0) ** (degree - size)
                else:  # Π (s_i + 1)/2 = 2^−d Σ_T Π_T s
                    weight = 0.5**degree
                out[subset] = out.get(subset, 0.0) + c * weight
    return out


def quadratic(poly: Mapping[Monomial, float], what: str) -> tuple[dict[int, float], dict[tuple[int, int], float],
                                                                      float]:
    """(linear, quadratic, offset) of a polynomial of degree ≤ 2; FormatError naming `what` otherwise."""
    linear: dict[int, float] = {}
    pairs: dict[tuple[int, int], float] = {}
    offset = 0.0
    for ids, c in poly.items():
        if len(ids) == 0:
            offset += c
        elif len(ids) == 1:
            linear[ids[0]] = linear.get(ids[0], 0.0) + c
        elif len(ids) == 2:
            pairs[(ids[0], ids[1])] = pairs.get((ids[0], ids[1]), 0.0) + c
        else:
            raise FormatError(f"{what} holds terms of degree ≤ 2; this problem has a term of degree {len(ids)} "
                              f"(ids {list(ids)[:6]}{'…' if len(ids) > 6 else ''})")
    return linear, pairs, offset


def from_terms(kind: str, terms: Sequence[tuple[Any, Sequence[int]]], **rest: Any) -> TermModel:
    """A TermModel from (c, ids) pairs as a reader collects them (ids in the order written)."""
    return TermModel(kind, [(float(c), tuple(int(i) for i in ids)) for c, ids in terms], **rest)


def number(value: float) -> str:
    """A coefficient as text: integral values without a fraction, others with every digit (repr round-trips)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
