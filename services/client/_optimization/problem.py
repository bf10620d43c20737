"""Problem and ProblemType, as in azure.quantum.optimization (0.27), serialised through contracts.problems so the
client and the service share one microsoft.qio.v2 codec. The model both public flavours share: the async one
(services.client.aio.optimization) adds `await problem.upload(...)`, the sync one (services.client.optimization)
`problem.upload(...)`, both through `_upload`.

JSON layout (`serialize()`, gzip in `to_blob()`): {"metadata": {"name"}, "cost_function": {"version", "type",
"terms": [{"c", "ids"}], "terms_slc"?: [{"c", "terms": [...]}], "initial_configuration"?: {"id": value}}}; version
"1.1" with an initial configuration, else "1.0". Protobuf (`ContentType.protobuf`, no SLC terms): a tar.gz of
protobuf chunks of 1000 terms (without the SDK's last-chunk bug). Integral coefficients are written as integers.
"""
from __future__ import annotations

import io
import logging
import tarfile
from collections.abc import Hashable, Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Self

from contracts.problems import encode_json, encode_protobuf, problem_document
from services.formats import TermModel, read_file, write_file

from .._job_base import ContentType
from . import ocean
from .term import GroupType, SlcTerm, Term, TermBase

log = logging.getLogger(__name__)

__all__ = ["ContentType", "Problem", "ProblemType"]


class ProblemType(str, Enum):
    pubo = 0
    ising = 1
    pubo_grouped = 2
    ising_grouped = 3


_GROUPED = {ProblemType.pubo: ProblemType.pubo_grouped, ProblemType.ising: ProblemType.ising_grouped}


def _problem_type(value: ProblemType | str) -> ProblemType:
    if isinstance(value, str) and not isinstance(value, ProblemType) and value in ProblemType.__members__:
        return ProblemType[value]  # "ising" as well as ProblemType.ising
    return ProblemType(value)


class Problem:
    """A problem to submit: `name`, `terms` (Term and SlcTerm), `init_config` ({variable id: value}),
    `problem_type` (ProblemType.ising by default) and `content_type` (JSON or protobuf upload).

    `labels` ({variable id: label}) is set by the conversions from dimod models and files whose variables are not
    QIO ids (ints 0..2³¹−1): `to_labels(configuration)` maps a result back, `to_ids(sample)` the other way."""

    NUM_VARIABLES_LARGE = 2500
    NUM_TERMS_LARGE = 1e6

    def __init__(
        self,
        name: str | None,
        terms: Sequence[TermBase] | None = None,
        init_config: dict[Any, int] | None = None,
        problem_type: ProblemType | str = ProblemType.ising,
        content_type: ContentType | str | None = ContentType.json,
        *,
        labels: dict[int, Hashable] | None = None,
    ):
        self.name = name or "Optimization problem"
        self.labels = labels  # variable id → the user's label (from_bqm, from_polynomial, read); None: ids are labels
        self.problem_type = _problem_type(problem_type)
        self.init_config = init_config
        self.uploaded_blob_uri: str | None = None
        self.uploaded_blob_params: list[Any] | None = None
        self.content_type = ContentType(content_type or ContentType.json)
        self.terms: list[Term] = []
        self.terms_slc: list[SlcTerm] = []
        for term in terms or []:
            if isinstance(term, SlcTerm):
                self.terms_slc.append(term)
            elif isinstance(term, Term):
                self.terms.append(term)
            else:
                raise TypeError(f"a problem's terms are Term or SlcTerm objects; got {type(term).__name__}")
        self.check_for_grouped_term()

    # -- building ----------------------------------------------------------------------------------------------

    def add_term(self, c: int | float, indices: list[int]) -> None:
        """Add the monomial c · Π x_i."""
        self.terms.append(Term(indices=indices, c=c))
        self.uploaded_blob_uri = None

    def add_terms(self, terms: list[Term], term_type: GroupType = GroupType.combination, c: int | float = 1) -> None:
        """Add monomials, or (term_type=GroupType.squared_linear_combination) one SLC term of them with weight c."""
        if term_type is GroupType.combination:
            self.terms += terms
        else:
            self.terms_slc.append(SlcTerm(terms=terms, c=c))
            self.problem_type_to_grouped()
        self.uploaded_blob_uri = None

    def add_slc_term(self, terms: list[tuple[int | float, int | None]] | list[Term] | SlcTerm,
                     c: int | float = 1) -> None:
        """Add c · (Σ c_k x_k)²: `terms` are (c_k, index or None for the constant) pairs, or Term objects
        (or a ready SlcTerm, whose own c is kept)."""
        if isinstance(terms, SlcTerm):
            self.terms_slc.append(terms)
            self.problem_type_to_grouped()
            self.uploaded_blob_uri = None
            return
        inner: list[Term] = []
        for term in terms:
            if isinstance(term, Term):
                inner.append(term)
            else:
                tc, index = term
                inner.append(Term([index] if index is not None else [], c=tc))
        self.terms_slc.append(SlcTerm(inner, c=c))
        self.problem_type_to_grouped()
        self.uploaded_blob_uri = None

    def check_for_grouped_term(self) -> None:
        if self.terms_slc:
            self.problem_type_to_grouped()

    def problem_type_to_grouped(self) -> None:
        self.problem_type = _GROUPED.get(self.problem_type, self.problem_type)

    # -- evaluation --------------------------------------------------------------------------------------------

    def evaluate(self, configuration: dict[Any, int]) -> float:
        """The cost of a configuration {variable id (int or str): value}."""
        values = {int(k): v for k, v in configuration.items()}
        return sum((t.evaluate(values) for t in self.terms), 0) + sum((t.evaluate(values) for t in self.terms_slc), 0)

    def set_fixed_variables(self, fixed_variables: dict[Any, int]) -> Self:
        """A new Problem with the given variables fixed (substituted); this one is unchanged."""
        if not fixed_variables:
            raise RuntimeError("Error: fixed_variables is empty - please specify at least one fixed variable")
        fixed = {int(k): v for k, v in fixed_variables.items()}
        new_terms: list[TermBase] = []
        constant: float = 0
        all_terms: list[Term | SlcTerm] = [*self.terms, *self.terms_slc]
        for term in all_terms:
            reduced = term.reduce_by_variable_state(fixed)
            if reduced:
                if not isinstance(reduced, Term) or reduced.ids:
                    new_terms.append(reduced)
                else:
                    constant += reduced.c
        if constant:
            new_terms.append(Term(c=constant, indices=[]))
        init = None
        if self.init_config:
            init = {k: v for k, v in self.init_config.items() if int(k) not in fixed}
        return type(self)(self.name, terms=new_terms, init_config=init, problem_type=self.problem_type,
                       content_type=self.content_type, labels=self.labels)

    def is_large(self) -> bool:
        """At least NUM_VARIABLES_LARGE variables and NUM_TERMS_LARGE terms (counting SLC inner terms)."""
        variables: set[int] = set()
        count = 0
        for term in self.terms:
            variables.update(term.ids)
            count += 1
        for slc in self.terms_slc:
            for inner in slc.terms:
                variables.update(inner.ids)
                count += 1
        return len(variables) >= self.NUM_VARIABLES_LARGE and count >= self.NUM_TERMS_LARGE

    def get_terms(self, id: int) -> list[TermBase]:
        """The terms (and SLC terms) that contain variable `id`."""
        if not self.terms and not self.terms_slc:
            raise Exception("There are currently no terms in this problem. Please download the problem on the client "
                            "or add terms to the problem to perform this operation")
        found: list[TermBase] = [t for t in self.terms if id in t.ids]
        found += [s for s in self.terms_slc if any(id in t.ids for t in s.terms)]
        return found

    # -- serialisation -----------------------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        """The qio.v2 JSON document (a dict)."""
        return problem_document(
            self.problem_type.name,
            [(t.c, t.ids) for t in self.terms],
            name=self.name,
            slc_terms=[(s.c, [(t.c, t.ids) for t in s.terms]) for s in self.terms_slc],
            initial_configuration=self.init_config,
        )

    def to_json(self) -> str:
        return encode_json(self.document(), compress=False).decode("utf-8")

    def to_proto(self) -> list[bytes]:
        """The serialised protobuf messages (chunks of 1000 terms), as the SDK's `to_proto`."""
        self._check_protobuf()
        archive = encode_protobuf(self.problem_type.name, [(t.c, t.ids) for t in self.terms], name=self.name,
                                  compress=False)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            return [tar.extractfile(member).read() for member in tar.getmembers()]  # type: ignore[union-attr]

    def serialize(self) -> str | list[bytes]:
        """JSON text; a list of protobuf messages for ContentType.protobuf without SLC terms (as the SDK)."""
        if self.content_type == ContentType.protobuf and not self.terms_slc:
            return self.to_proto()
        return self.to_json()

    def to_blob(self) -> bytes:
        """The input blob: gzip JSON, or for ContentType.protobuf a tar.gz of protobuf chunks."""
        if self.content_type == ContentType.protobuf:
            self._check_protobuf()
            return encode_protobuf(self.problem_type.name, [(t.c, t.ids) for t in self.terms], name=self.name)
        return encode_json(self.document())

    def _check_protobuf(self) -> None:
        if self.terms_slc or self.problem_type not in _GROUPED:
            raise ValueError(f"protobuf serialisation supports ising and pubo problems without SLC terms; "
                             f"{self.name!r} is {self.problem_type.name}: use ContentType.json")

    @classmethod
    def from_json(cls, input_problem: str, name: str | None = None) -> Self:
        """A Problem from its JSON text (`serialize()`); `name` overrides the serialised name."""
        import json

        doc = json.loads(input_problem)
        cost = doc["cost_function"]
        if name is None:
            name = (doc.get("metadata") or {}).get("name")
        terms: list[TermBase] = [Term.from_dict(t) for t in cost.get("terms", [])]
        terms += [SlcTerm.from_dict(t) for t in cost.get("terms_slc", [])]
        problem = cls(name=name, terms=terms, problem_type=ProblemType[cost["type"]])
        if "initial_configuration" in cost:
            problem.init_config = cost["initial_configuration"]
        return problem

    # -- Ocean (dimod) models, files and labels -------------------------------------------------------------------

    @classmethod
    def from_bqm(cls, bqm: Any, name: str | None = None) -> Self:
        """A problem with the cost of a dimod BinaryQuadraticModel: SPIN → ising, BINARY → pubo, its offset as a
        constant term; labels that are not QIO ids are numbered 0..n−1 in `bqm.variables` order (`labels`)."""
        return cls._from_model(ocean.model_from_bqm(bqm), name)

    @classmethod
    def from_polynomial(cls, poly: Mapping[Any, float], vartype: Any = None, name: str | None = None) -> Self:
        """A problem from a dimod BinaryPolynomial or a mapping {(u, v, ...): bias} (any degree). `vartype`
        (SPIN/BINARY) is required for a plain mapping; given for a BinaryPolynomial of the other vartype, the
        polynomial is rewritten exactly."""
        return cls._from_model(ocean.model_from_polynomial(poly, vartype), name)

    @classmethod
    def read(cls, path: str | Path, format: str | None = None, instance: int | None = None) -> Self:
        """A problem from a file: QIO JSON (gz), protobuf, Gset, OR-Library bqp (`instance` of several), qbsolv
        .qubo or dimod BQM JSON, by extension or `format` (services.formats). FormatError names file and line."""
        return cls._from_model(read_file(path, format, instance=instance), None)

    @classmethod
    def _from_model(cls, model: TermModel, name: str | None) -> Self:
        return cls(name or model.name or "Optimization problem", terms=ocean.problem_terms(model),
                   init_config=model.initial_configuration, problem_type=ProblemType[model.kind], labels=model.labels)

    def to_bqm(self, vartype: Any = None) -> Any:
        """The same cost as a dimod.BinaryQuadraticModel (labels restored, SLC terms expanded), in this problem's
        vartype or `vartype`; ValueError for terms of degree > 2 (use to_polynomial). Needs dimod."""
        return ocean.to_bqm(ocean.model_from_problem(self), vartype)

    def to_polynomial(self, vartype: Any = None) -> Any:
        """The same cost as a dimod.BinaryPolynomial (labels restored, SLC terms expanded). Needs dimod."""
        return ocean.to_polynomial(ocean.model_from_problem(self), vartype)

    def write(self, path: str | Path, format: str | None = None) -> str:
        """Write the problem to a file (format by extension or `format`); returns the format written. A format
        that cannot hold the problem (a cubic term in .qubo, ...) raises FormatError; nothing is dropped."""
        return write_file(ocean.model_from_problem(self), path, format)

    def to_labels(self, configuration: Mapping[Any, int]) -> dict[Hashable, int]:
        """A result's configuration ({"id": value}) keyed by the user's labels."""
        labels = self.labels or {}
        return {labels.get(int(k), int(k)): int(v) for k, v in configuration.items()}

    def to_ids(self, sample: Mapping[Hashable, int]) -> dict[int, int]:
        """A sample keyed by labels ({label: value}) keyed by variable ids, e.g. for `init_config`."""
        ids = {label: vid for vid, label in (self.labels or {}).items()}
        return {ids[k] if k in ids else int(k): int(v) for k, v in sample.items()}  # type: ignore[call-overload]

    # -- storage -----------------------------------------------------------------------------------------------

    async def _upload(self, workspace: Any, container_name: str, blob_name: str | None,
                      container_uri: str | None) -> str:
        from ..aio.job import Job as AioJob

        params = [workspace, container_name, blob_name]
        if self.uploaded_blob_uri and self.uploaded_blob_params == params:
            return self.uploaded_blob_uri
        if blob_name is None:
            import uuid

            blob_name = f"{self.name}-{uuid.uuid1()}"
        given = container_uri is not None
        if container_uri is None:
            container_uri = await workspace.get_container_uri(container_name=container_name)  # creates it
        uri = await AioJob.upload_input_data(container_uri, self.to_blob(), content_type=self.content_type,
                                             blob_name=blob_name, encoding="gzip", create_container=given,
                                             **workspace._storage_kwargs(container_uri))
        self.uploaded_blob_params = params
        self.uploaded_blob_uri = uri
        return uri

    def __repr__(self) -> str:
        return (f"<Problem name={self.name!r} type={self.problem_type.name} terms={len(self.terms)} "
                f"slc_terms={len(self.terms_slc)} content_type={self.content_type.value}>")
