"""The structured formats: microsoft.qio.v2 (JSON, gzip, protobuf tar) through the service's own codec
(contracts.problems, so a file is checked exactly as the service will check it), and dimod's serialised
BinaryQuadraticModel (`json.dumps(bqm.to_serializable())`, schema 3.0.0), read and written without dimod.

dimod labels are any JSON value (lists stand for tuples, as in dimod's `deserialize_variable`); they become ids by
`model.assign_ids` and come back on writing, so dimod JSON → TermModel → dimod JSON keeps them.
"""
from __future__ import annotations

import json
import math
from collections.abc import Hashable
from typing import Any

from contracts.errors import ContractError
from contracts.problems import ProblemData, decode_problem, encode_json, encode_protobuf, problem_document

from .model import FormatError, TermModel, assign_ids, polynomial, quadratic

BQM_SCHEMA = "3.0.0"
_VARTYPES = {"SPIN": "ising", "BINARY": "pubo"}


# -- microsoft.qio.v2 ------------------------------------------------------------------------------------------

def read_qio(data: bytes) -> TermModel:
    """JSON, gzip JSON or a protobuf tar(.gz), told apart by their first bytes."""
    try:
        return model_from_data(decode_problem(data))
    except ContractError as exc:
        raise FormatError(exc.message) from None


def model_from_data(problem: ProblemData) -> TermModel:
    slc = []
    for g in range(problem.slc_coeffs.shape[0]):
        span = range(int(problem.slc_offsets[g]), int(problem.slc_offsets[g + 1]))
        inner: list[tuple[float, tuple[int, ...]]] = [
            (float(problem.slc_term_coeffs[k]), () if problem.slc_term_ids[k] < 0 else (int(problem.slc_term_ids[k]),))
            for k in span]
        slc.append((float(problem.slc_coeffs[g]), inner))
    return TermModel("ising" if problem.is_ising else "pubo", list(problem.terms()), slc, name=problem.name,
                     initial_configuration=problem.initial_configuration)


def write_qio(model: TermModel) -> bytes:
    document = problem_document(model.kind, model.terms, name=model.name, slc_terms=model.slc_terms,
                                initial_configuration=model.initial_configuration)
    return encode_json(document, compress=False)


def write_protobuf(model: TermModel) -> bytes:
    """A tar of protobuf chunks (services.formats gzips it for .tar.gz)."""
    if model.slc_terms or model.initial_configuration:
        raise FormatError("the protobuf format holds plain terms only (no SLC terms, no initial configuration); "
                          "write QIO JSON instead")
    return encode_protobuf(model.kind, model.terms, name=model.name, compress=False)


# -- dimod BinaryQuadraticModel JSON ---------------------------------------------------------------------------

def _label(value: Any) -> Hashable:
    return tuple(_label(v) for v in value) if isinstance(value, list) else value


def _serialisable(label: Hashable) -> Any:
    return [_serialisable(v) for v in label] if isinstance(label, tuple) else label


def _numbers(doc: dict[str, Any], key: str, size: int | None, integer: bool = False) -> list[Any]:
    values = doc.get(key)
    if not isinstance(values, list):
        raise FormatError(f"'{key}' must be a list")
    if size is not None and len(values) != size:
        raise FormatError(f"'{key}' has {len(values)} entries; expected {size}")
    for k, v in enumerate(values):
        bad = isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int))
        if bad or not math.isfinite(v):
            raise FormatError(f"{key}[{k}] must be a finite {'integer' if integer else 'number'}, got {v!r}")
    return values


def read_bqm_json(data: bytes) -> TermModel:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise FormatError("not a text file (UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    if not isinstance(doc, dict) or doc.get("type") != "BinaryQuadraticModel":
        raise FormatError('not a dimod BinaryQuadraticModel serialisation (no "type": "BinaryQuadraticModel")')
    version = doc.get("version")
    schema = version.get("bqm_schema") if isinstance(version, dict) else None
    if not isinstance(schema, str) or schema < "2.0.0":
        raise FormatError(f"bqm_schema {schema!r} is not supported; write the model with dimod ≥ 0.9")
    if doc.get("use_bytes"):
        raise FormatError("use_bytes serialisations hold raw bytes, which JSON cannot; write with use_bytes=False")
    vartype = doc.get("variable_type")
    kind = _VARTYPES.get(vartype) if isinstance(vartype, str) else None
    if kind is None:
        raise FormatError(f"variable_type must be SPIN or BINARY, got {vartype!r}")
    raw_labels = doc.get("variable_labels")
    if not isinstance(raw_labels, list):
        raise FormatError("'variable_labels' must be a list")
    variables = [_label(v) for v in raw_labels]
    if len(set(variables)) != len(variables):
        raise FormatError("'variable_labels' names a variable twice")
    n = len(variables)
    linear = _numbers(doc, "linear_biases", n)
    biases = _numbers(doc, "quadratic_biases", None)
    heads = _numbers(doc, "quadratic_head", len(biases), integer=True)
    tails = _numbers(doc, "quadratic_tail", len(biases), integer=True)
    offset = doc.get("offset", 0.0)
    if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not math.isfinite(offset):
        raise FormatError(f"'offset' must be a finite number, got {offset!r}")
    ids, labels = assign_ids(variables)
    terms: list[tuple[float, tuple[int, ...]]] = [(float(offset), ())] if offset else []
    coupled: set[int] = set()
    for k, (u, v, b) in enumerate(zip(heads, tails, biases)):
        if not (0 <= u < n and 0 <= v < n) or u == v:
            raise FormatError(f"interaction {k} joins variables {u} and {v}; expected two different ones in 0..{n - 1}")
        coupled.update((u, v))
        terms.append((float(b), (ids[u], ids[v])))
    # A variable keeps a (possibly zero) linear term unless an interaction already names it: nothing is lost.
    terms += [(float(b), (ids[k],)) for k, b in enumerate(linear) if b or k not in coupled]
    return TermModel(kind, terms, labels=labels)


def write_bqm_json(model: TermModel) -> bytes:
    linear, pairs, offset = quadratic(polynomial(model), "dimod's BinaryQuadraticModel")
    ids = model.variable_ids()
    index = {vid: k for k, vid in enumerate(ids)}
    couplings = sorted(pairs.items())
    doc = {
        "type": "BinaryQuadraticModel",
        "version": {"bqm_schema": BQM_SCHEMA},
        "use_bytes": False,
        "index_type": "int32",
        "bias_type": "float64",
        "num_variables": len(ids),
        "num_interactions": len(couplings),
        "variable_labels": [_serialisable(model.label(vid)) for vid in ids],
        "variable_type": "SPIN" if model.kind == "ising" else "BINARY",
        "offset": offset,
        "info": {},
        "linear_biases": [linear.get(vid, 0.0) for vid in ids],
        "quadratic_biases": [c for _, c in couplings],
        "quadratic_head": [index[i] for (i, _), _ in couplings],
        "quadratic_tail": [index[j] for (_, j), _ in couplings],
    }
    return json.dumps(doc).encode()
