"""Problem ↔ dimod (Ocean) models and problem files, through services.formats' TermModel.

dimod is optional (`pip install openqio[ocean]`): reading a BQM or polynomial needs only its attributes
(`vartype`, `variables`, `linear`, `quadratic`, `offset`; a polynomial is a mapping of variable tuples or
frozensets to biases), and dimod itself is imported only to build one. Labels that are not QIO ids (ints
0..2³¹−1) are numbered by `services.formats.assign_ids` and kept on the Problem, so results map back to them.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from services.formats import TermModel, assign_ids
from services.formats.model import convert, polynomial, quadratic

from .term import SlcTerm, Term

if TYPE_CHECKING:
    from .problem import Problem

__all__ = ["kind_of", "model_from_bqm", "model_from_polynomial", "model_from_problem", "problem_terms", "to_bqm",
           "to_polynomial"]

_KINDS = {"SPIN": "ising", "BINARY": "pubo", "ISING": "ising", "PUBO": "pubo"}


def kind_of(vartype: Any) -> str:
    """"ising" or "pubo" for dimod.SPIN / dimod.BINARY, their names, or ProblemType.ising / pubo (grouped too)."""
    name = getattr(vartype, "name", vartype)
    kind = _KINDS.get(str(name).upper().removesuffix("_GROUPED")) if isinstance(name, str) else None
    if kind is None:
        raise ValueError(f"vartype must be SPIN (ising) or BINARY (pubo); got {vartype!r}")
    return kind


def dimod_module() -> Any:
    try:
        import dimod
    except ImportError:
        raise ImportError("this needs dimod: pip install 'openqio[ocean]' (or pip install dimod)") from None
    return dimod


def _ordered(variables: Iterable[Hashable]) -> list[Hashable]:
    """Sorted labels where they sort (so ids do not depend on hash order), else first-seen order."""
    seen = list(dict.fromkeys(variables))
    try:
        return sorted(seen)  # type: ignore[type-var]  # labels of one kind sort; mixed ones raise TypeError
    except TypeError:
        return seen


# -- into the model ----------------------------------------------------------------------------------------------

def model_from_bqm(bqm: Any) -> TermModel:
    """A BinaryQuadraticModel's terms: offset as the constant, one term per interaction, a linear term per
    variable whose bias is not zero or that has no interaction (so no variable is lost)."""
    ids, labels = assign_ids(bqm.variables)
    index = dict(zip(bqm.variables, ids))
    terms: list[tuple[float, tuple[int, ...]]] = [(float(bqm.offset), ())] if bqm.offset else []
    coupled: set[Hashable] = set()
    for (u, v), bias in bqm.quadratic.items():
        coupled.update((u, v))
        terms.append((float(bias), (index[u], index[v])))
    terms += [(float(bias), (index[v],)) for v, bias in bqm.linear.items() if bias or v not in coupled]
    return TermModel(kind_of(bqm.vartype), terms, labels=labels)


def model_from_polynomial(poly: Mapping[Any, float], vartype: Any = None) -> TermModel:
    """A binary polynomial ({(u, v, ...) or frozenset: bias}); `vartype` defaults to the polynomial's own."""
    if vartype is None:
        vartype = getattr(poly, "vartype", None)
        if vartype is None:
            raise ValueError("a plain mapping has no vartype: pass vartype=dimod.SPIN or dimod.BINARY")
    kind = kind_of(vartype)
    own = getattr(poly, "vartype", None)
    if own is not None and kind_of(own) != kind:  # a BinaryPolynomial in the other vartype: rewrite it exactly
        poly = dict(poly.to_spin() if kind == "ising" else poly.to_binary())  # type: ignore[attr-defined]
    variables = _ordered(v for term in poly for v in term)
    ids, labels = assign_ids(variables)
    index = dict(zip(variables, ids))
    return TermModel(kind, [(float(bias), tuple(index[v] for v in term)) for term, bias in poly.items()],
                     labels=labels)


def model_from_problem(problem: Problem) -> TermModel:
    kind = kind_of(problem.problem_type)
    slc = [(t.c, [(inner.c, tuple(inner.ids)) for inner in t.terms]) for t in problem.terms_slc]
    init = {int(k): int(v) for k, v in problem.init_config.items()} if problem.init_config else None
    return TermModel(kind, [(t.c, tuple(t.ids)) for t in problem.terms], slc, name=problem.name,
                     initial_configuration=init, labels=problem.labels)


# -- out of the model --------------------------------------------------------------------------------------------

def problem_terms(model: TermModel) -> list[Term | SlcTerm]:
    terms: list[Term | SlcTerm] = [Term(indices=list(ids), c=_plain(c)) for c, ids in model.terms]
    terms += [SlcTerm([Term(indices=list(ids), c=_plain(ic)) for ic, ids in inner], c=_plain(c))
              for c, inner in model.slc_terms]
    return terms


def _plain(c: float) -> int | float:
    return int(c) if float(c).is_integer() and abs(c) < 2**53 else float(c)


def to_bqm(model: TermModel, vartype: Any = None) -> Any:
    """A dimod.BinaryQuadraticModel of the same cost (SLC terms expanded); ValueError above degree 2."""
    dimod = dimod_module()
    linear, pairs, offset = quadratic(polynomial(model), "a BinaryQuadraticModel (use to_polynomial())")
    bqm = dimod.BinaryQuadraticModel("SPIN" if model.kind == "ising" else "BINARY")
    for vid in model.variable_ids():
        bqm.add_variable(model.label(vid), linear.get(vid, 0.0))
    bqm.add_quadratic_from((model.label(i), model.label(j), c) for (i, j), c in pairs.items())
    bqm.offset = offset
    if vartype is not None and kind_of(vartype) != model.kind:
        bqm.change_vartype("SPIN" if kind_of(vartype) == "ising" else "BINARY", inplace=True)
    return bqm


def to_polynomial(model: TermModel, vartype: Any = None) -> Any:
    """A dimod.BinaryPolynomial of the same cost, in the model's vartype or `vartype`."""
    dimod = dimod_module()
    kind = model.kind if vartype is None else kind_of(vartype)
    poly = convert(polynomial(model), model.kind, kind)
    return dimod.BinaryPolynomial({tuple(model.label(i) for i in ids): c for ids, c in poly.items()},
                                  "SPIN" if kind == "ising" else "BINARY")

