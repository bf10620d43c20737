"""Problem, Term, SlcTerm: the azure.quantum.optimization problem model (numpy 2 friendly), serialised through
contracts.problems so the client and the service share one codec."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from contracts.problems import encode_json, encode_protobuf, problem_document


class ProblemType(str, Enum):
    pubo = "pubo"
    ising = "ising"
    pubo_grouped = "pubo_grouped"
    ising_grouped = "ising_grouped"


class ContentType(str, Enum):
    json = "application/json"
    protobuf = "application/x-protobuf"


class Term:
    """c · Π x_i over `indices` (an empty list is a constant)."""

    def __init__(self, c: float = 1.0, indices: Sequence[int] | None = None, *, w: float | None = None):
        if w is not None:  # the SDK's deprecated spelling
            c = w
        self.c = float(c)
        self.ids = [int(i) for i in (indices or [])]

    @property
    def indices(self) -> list[int]:
        return self.ids

    def evaluate(self, configuration: dict[int, int]) -> float:
        value = self.c
        for i in self.ids:
            value *= configuration[i]
        return value

    def to_dict(self) -> dict[str, Any]:
        return {"c": self.c, "ids": list(self.ids)}

    def __repr__(self) -> str:
        return f"Term(c={self.c:g}, indices={self.ids})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Term) and self.c == other.c and self.ids == other.ids


class SlcTerm:
    """c · (Σ_k c_k x_k + const)²: a squared linear combination (grouped problems)."""

    def __init__(self, terms: Iterable[Term], c: float = 1.0):
        self.c = float(c)
        self.terms = list(terms)
        seen: set[int] = set()
        for term in self.terms:
            if len(term.ids) > 1:
                raise ValueError("SlcTerm terms take at most one index each")
            key = term.ids[0] if term.ids else -1
            if key in seen:
                raise ValueError(f"index {key} appears twice in an SlcTerm" if key >= 0 else "two constants in an SlcTerm")
            seen.add(key)

    def evaluate(self, configuration: dict[int, int]) -> float:
        inner = sum(t.evaluate(configuration) for t in self.terms)
        return self.c * inner * inner

    def __repr__(self) -> str:
        return f"SlcTerm(c={self.c:g}, terms={self.terms})"


class Problem:
    def __init__(
        self,
        name: str,
        terms: Iterable[Term | SlcTerm] | None = None,
        init_config: dict[Any, int] | None = None,
        problem_type: ProblemType = ProblemType.ising,
        content_type: ContentType = ContentType.json,
    ):
        self.name = name
        self.problem_type = ProblemType(problem_type)
        self.content_type = ContentType(content_type)
        self.init_config = dict(init_config) if init_config else None
        self.terms: list[Term] = []
        self.terms_slc: list[SlcTerm] = []
        self.uploaded_blob_uri: str | None = None
        self.add_terms(list(terms or []))

    def add_term(self, c: float, indices: Sequence[int]) -> None:
        self.terms.append(Term(c=c, indices=indices))

    def add_terms(self, terms: Iterable[Term | SlcTerm]) -> None:
        for term in terms:
            if isinstance(term, SlcTerm):
                self.add_slc_term(term)
            elif isinstance(term, Term):
                self.terms.append(term)
            else:
                raise TypeError(f"expected Term or SlcTerm, got {type(term).__name__}")

    def add_slc_term(self, terms: SlcTerm | Iterable[tuple[float, int | None]], c: float = 1.0) -> None:
        slc = terms if isinstance(terms, SlcTerm) else SlcTerm(
            [Term(c=tc, indices=[] if i is None else [i]) for tc, i in terms], c=c)
        self.terms_slc.append(slc)
        if self.problem_type in (ProblemType.pubo, ProblemType.ising):
            self.problem_type = ProblemType(f"{self.problem_type.value}_grouped")

    def evaluate(self, configuration: dict[Any, int]) -> float:
        values = {int(k): int(v) for k, v in configuration.items()}
        return sum(t.evaluate(values) for t in self.terms) + sum(s.evaluate(values) for s in self.terms_slc)

    def document(self) -> dict[str, Any]:
        base = self.problem_type.value.replace("_grouped", "")
        return problem_document(
            base if not self.terms_slc else self.problem_type.value,
            [(t.c, t.ids) for t in self.terms],
            name=self.name,
            slc_terms=[(s.c, [(t.c, t.ids) for t in s.terms]) for s in self.terms_slc],
            initial_configuration=self.init_config,
        )

    def serialize(self) -> str:
        return json.dumps(self.document(), separators=(", ", ": "))

    def to_blob(self) -> bytes:
        """The input blob: gzip JSON, or a tar.gz of protobuf chunks for ContentType.protobuf."""
        if self.content_type == ContentType.protobuf:
            if self.terms_slc:
                raise ValueError("grouped (SlcTerm) problems cannot be serialised as protobuf; use ContentType.json")
            return encode_protobuf(self.problem_type.value, [(t.c, t.ids) for t in self.terms], name=self.name)
        return encode_json(self.document())

    def __repr__(self) -> str:
        return f"Problem(name={self.name!r}, type={self.problem_type.value}, terms={len(self.terms)}, slc={len(self.terms_slc)})"
