"""Term, SlcTerm, GroupType: azure.quantum.optimization's term model (same constructors, checks and messages),
without the SDK's numpy<2 dependency: numpy scalars (any version) are accepted and turned into int/float."""
from __future__ import annotations

import math
from enum import Enum
from typing import Any

__all__ = ["TermBase", "Term", "GroupType", "SlcTerm"]


def _plain_number(value: Any) -> Any:
    """numpy scalars and one-element arrays/lists become Python numbers, as the SDK's `_convert_if_numpy_type`."""
    if hasattr(value, "__iter__") and not isinstance(value, (str, bytes, dict)):
        value = value[0]
    if hasattr(value, "dtype") and hasattr(value, "item"):
        value = value.item()
    return value


def _coefficient(value: Any, name: str = "c") -> int | float:
    """A term's coefficient as a Python int or float (plain numbers, the usual case, taken as they are: a problem
    is built term by term); RuntimeError naming `name` otherwise."""
    if type(value) is int or type(value) is float:
        return value
    value = _plain_number(value)
    if type(value) is not int and type(value) is not float:
        raise RuntimeError(f"{name} must be a float or int value, or a NumPy value that can be converted to those.")
    return value


class TermBase:
    """A cost term with coefficient `c` (int or float; numpy scalars are converted)."""

    def __init__(self, c: Any = None):
        if c is None:
            raise RuntimeError("Cost should be provided for each term.")
        self.c = _coefficient(c)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def evaluate(self, *args: Any, **kwargs: Any) -> float:
        return self.c

    def __repr__(self) -> str:
        return str(self.__dict__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: unhashable, as the SDK's


class Term(TermBase):
    """A monomial: c · Π x_i over `indices` (an empty list is a constant). `w` is the SDK's legacy name of `c`."""

    def __init__(self, indices: list[int] | None = None, w: Any = None, c: Any = None):
        if w is not None:
            coeff, used = w, "w"
        elif c is not None:
            coeff, used = c, "c"
        else:
            raise RuntimeError("Cost should be provided for each term.")
        self.c = _coefficient(coeff, used)  # (not TermBase.__init__: it would check it a second time)
        self.ids = list(indices) if indices is not None else []

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Term:
        return cls(indices=obj.get("ids"), c=obj.get("c"))

    def evaluate(self, configuration: dict[int, int]) -> float:
        """The term's value for a configuration {variable id: value}."""
        multiplier = math.prod(configuration[i] for i in self.ids) if self.ids else 1.0
        return multiplier * self.c

    def reduce_by_variable_state(self, fixed_variables: dict[int, int]) -> Term | None:
        """The term with `fixed_variables` substituted; None when it becomes 0."""
        new_ids = []
        new_c = self.c
        for i in self.ids:
            if i not in fixed_variables:
                new_ids.append(i)
            else:
                new_c *= fixed_variables[i]
                if new_c == 0:
                    return None
        return Term(indices=new_ids, c=new_c)


class GroupType(str, Enum):
    combination = "na"
    squared_linear_combination = "slc"


class SlcTerm(TermBase):
    """A squared linear combination: c · (Σ_k c_k x_k + constant)². Inner terms are linear (at most one index)
    and like terms are combined (each index, and the constant, appears once)."""

    def __init__(self, terms: list[Term], c: Any = 1.0):
        super().__init__(c=c)
        self.terms = list(terms)
        self.validate()

    def validate(self) -> None:
        seen = set()
        for term in self.terms:
            if len(term.ids) > 1:
                raise ValueError("Error - terms must be linear in type SlcTerm")
            key = term.ids[0] if term.ids else -1
            if key in seen:
                raise ValueError("Error - like terms must be combined in type SlcTerm")
            seen.add(key)

    def to_dict(self) -> dict[str, Any]:
        return {"c": self.c, "terms": [t.to_dict() for t in self.terms]}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> SlcTerm:
        return cls(terms=[Term.from_dict(t) for t in obj["terms"]], c=obj["c"])

    def evaluate(self, configuration: dict[int, int]) -> float:
        combination = sum((t.evaluate(configuration) for t in self.terms), 0.0)
        return self.c * combination**2

    def reduce_by_variable_state(self, fixed_variables: dict[int, int]) -> TermBase | None:
        combined: dict[tuple[int, ...], Any] = {}
        for monomial in self.terms:
            reduced = monomial.reduce_by_variable_state(fixed_variables)
            if reduced:
                key = tuple(sorted(reduced.ids))
                combined[key] = combined.get(key, 0) + reduced.c
        new_terms = [Term(indices=list(ids), c=c) for ids, c in combined.items()]
        if not new_terms:
            return None
        if len(new_terms) == 1 and not new_terms[0].ids:  # c·k² is a constant term
            return Term(indices=[], c=self.c * new_terms[0].c ** 2)
        return SlcTerm(terms=new_terms, c=self.c)
