"""The JSON form of `microsoft.qio.v2`: decoding a document (with the QIO input rules AZQ101-AZQ105) and writing
one as azure-quantum's `Problem.serialize` does."""
from __future__ import annotations

import gzip
import itertools
import json
import operator
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import errors
from .model import (
    DEFAULT_LIMITS,
    MAX_VARIABLE_ID,
    PROBLEM_TYPES,
    ProblemData,
    ProblemFormatError,
    ProblemLimits,
    TermLike,
    _as_coeff,
    _as_id,
    _check_variable_count,
    _reject_constant,
    _TermBuilder,
)

Terms = tuple[np.ndarray, np.ndarray, np.ndarray]  # coeffs float64 [T], offsets int64 [T+1], ids int64
# scan_terms(raw, start, max_degree): the array of terms at raw[start] (coeffs, offsets, ids) and the index past
# it, or None
TermScanner = Callable[[bytes, int, int], tuple[np.ndarray, np.ndarray, np.ndarray, int] | None]
_TERMS_ARRAY = re.compile(rb'"terms"[ \t\n\r]*:[ \t\n\r]*\[')


def decode_json_bytes(raw: bytes, limits: ProblemLimits = DEFAULT_LIMITS,
                      scan_terms: TermScanner | None = None) -> ProblemData:
    """Decode a JSON document. With `scan_terms` (the runner's compiled reader, solver_runner.json_terms) the array
    of terms is read by it and only the rest by json; whatever it does not take is decoded the general way, so the
    result and every error are the same either way."""
    if scan_terms is not None:
        scanned = _decode_scanning_terms(raw, limits, scan_terms)
        if scanned is not None:
            return scanned
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProblemFormatError(errors.AZQ_UNPARSABLE, "input is neither JSON (UTF-8) nor a protobuf tar") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ProblemFormatError(errors.AZQ_UNPARSABLE, "input JSON is nested too deeply") from None
    except ValueError as exc:
        raise ProblemFormatError(errors.AZQ_UNPARSABLE, f"input is not valid JSON: {exc}") from None
    return problem_from_json(doc, limits)


def _decode_scanning_terms(raw: bytes, limits: ProblemLimits, scan_terms: TermScanner) -> ProblemData | None:
    """The document with its first "terms" array read by `scan_terms` and the rest by json, or None (then the caller
    decodes it all the general way). The array's place in the text is replaced by a string no input can hold (a
    fresh random token) before json reads the rest: only if that string comes out as cost_function.terms was the
    array the one the general decoder would have read as the terms."""
    match = _TERMS_ARRAY.search(raw)
    if match is None:
        return None
    start = match.end() - 1
    scanned = scan_terms(raw, start, limits.max_term_degree)
    if scanned is None:
        return None
    coeffs, offsets, ids, end = scanned
    placeholder = f"openqio-terms-{secrets.token_hex(16)}"
    try:
        rest = raw[:start] + b'"' + placeholder.encode() + b'"' + raw[end:]
        doc = json.loads(rest.decode("utf-8-sig"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None  # the general path words the error, with positions in the text as sent
    cf = doc.get("cost_function") if isinstance(doc, dict) else None
    if not isinstance(cf, dict) or cf.get("terms") != placeholder:
        return None
    return problem_from_json(doc, limits, scanned=(coeffs, offsets, ids))


def problem_from_json(doc: Any, limits: ProblemLimits = DEFAULT_LIMITS, scanned: Terms | None = None) -> ProblemData:
    """Validate a parsed qio.v2 document and turn it into arrays. `scanned`: cost_function.terms already read into
    arrays (checked as `quadratic_terms` checks them; the document's own entry is then a placeholder)."""
    if not isinstance(doc, dict):
        raise ProblemFormatError(errors.AZQ_MISSING_SECTION, "the problem must be a JSON object")
    cf = doc.get("cost_function")
    if not isinstance(cf, dict):
        raise ProblemFormatError(errors.AZQ_MISSING_SECTION, "missing section 'cost_function'")
    ptype = cf.get("type")
    if not isinstance(ptype, str) or ptype.lower() not in PROBLEM_TYPES:
        raise ProblemFormatError(
            errors.AZQ_WRONG_TYPE, f"cost_function.type must be one of {', '.join(PROBLEM_TYPES)}; got {ptype!r}"
        )
    ptype = ptype.lower()
    ising = ptype.startswith("ising")
    terms = cf.get("terms", []) if scanned is None else []
    slc = cf.get("terms_slc")
    if "terms" not in cf and slc is None:
        raise ProblemFormatError(errors.AZQ_MISSING_SECTION, "missing section 'cost_function.terms'")
    if not isinstance(terms, list):
        raise ProblemFormatError(errors.AZQ_WRONG_TYPE, "cost_function.terms must be a list")
    term_count = len(terms) if scanned is None else scanned[0].shape[0]
    if term_count > limits.max_terms:
        raise ProblemFormatError(
            errors.AZQ_WRONG_TYPE, f"{term_count} terms exceed the limit of {limits.max_terms}", errors.PROBLEM_TOO_LARGE
        )
    builder = _TermBuilder(ising, limits)
    bulk = quadratic_terms(terms, limits) if scanned is None else scanned
    if bulk is not None:
        builder.take(*bulk)
    else:
        add_terms(builder, terms, limits)

    slc_coeffs: list[float] = []
    slc_offsets = [0]
    slc_tc: list[float] = []
    slc_ti: list[int] = []
    if slc is not None:
        if not ptype.endswith("_grouped"):
            raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"terms_slc requires type {ptype}_grouped")
        if not isinstance(slc, list):
            raise ProblemFormatError(errors.AZQ_WRONG_TYPE, "cost_function.terms_slc must be a list")
        if len(slc) + term_count > limits.max_terms:
            raise ProblemFormatError(errors.AZQ_WRONG_TYPE, "too many terms", errors.PROBLEM_TOO_LARGE)
        for g, group in enumerate(slc):
            where = f"terms_slc[{g}]"
            if not isinstance(group, dict) or "c" not in group or not isinstance(group.get("terms"), list):
                raise ProblemFormatError(errors.AZQ_MISSING_SECTION, f"{where} needs 'c' and a list 'terms'")
            slc_coeffs.append(_as_coeff(group["c"], where))
            seen: set[int] = set()
            for k, inner in enumerate(group["terms"]):
                iw = f"{where}.terms[{k}]"
                if not isinstance(inner, dict) or "c" not in inner or not isinstance(inner.get("ids"), list):
                    raise ProblemFormatError(errors.AZQ_MISSING_SECTION, f"{iw} needs 'c' and a list 'ids'")
                ids = inner["ids"]
                if len(ids) > 1:
                    raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"{iw}: SLC terms take at most one id")
                vid = _as_id(ids[0], iw, limits) if ids else -1
                if vid in seen:
                    raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"{iw}: id {vid} appears twice in the group")
                seen.add(vid)
                slc_tc.append(_as_coeff(inner["c"], iw))
                slc_ti.append(vid)
            slc_offsets.append(len(slc_ti))
    elif ptype.endswith("_grouped") and "terms" not in cf:
        raise ProblemFormatError(errors.AZQ_MISSING_SECTION, "missing section 'cost_function.terms_slc'")

    init = _parse_initial_configuration(cf.get("initial_configuration"), ising, limits)
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) and isinstance(metadata.get("name"), str) else None
    problem = builder.build(
        ptype,
        slc_coeffs=np.asarray(slc_coeffs, dtype=np.float64),
        slc_offsets=np.asarray(slc_offsets, dtype=np.int64),
        slc_term_coeffs=np.asarray(slc_tc, dtype=np.float64),
        slc_term_ids=np.asarray(slc_ti, dtype=np.int64),
        initial_configuration=init,
        name=name,
    )
    _check_variable_count(problem, limits)
    return problem


def add_terms(builder: _TermBuilder, terms: list, limits: ProblemLimits) -> None:
    """Check and add `terms` one by one (every input shape; the error messages name the term at fault)."""
    for t, term in enumerate(terms):
        if not isinstance(term, dict):
            raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"terms[{t}] must be an object with 'c' and 'ids'")
        if "c" not in term or "ids" not in term:
            raise ProblemFormatError(errors.AZQ_MISSING_SECTION, f"terms[{t}] needs both 'c' and 'ids'")
        ids = term["ids"]
        if not isinstance(ids, list):
            raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"terms[{t}].ids must be a list of integers")
        builder.add(_as_coeff(term["c"], f"terms[{t}]"), [_as_id(i, f"terms[{t}]", limits) for i in ids], f"terms[{t}]")


_C, _IDS = operator.itemgetter("c"), operator.itemgetter("ids")
_NUMBER_TYPES, _LIST_TYPE, _INT_TYPE = frozenset((float, int)), frozenset((list,)), frozenset((int,))


def quadratic_terms(terms: list, limits: ProblemLimits) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(coeffs, offsets, ids) of `terms` checked in bulk, for the common input: every term an object with a finite
    number `c` and `ids` a list of at most two distinct integer ids in range. None when any term is outside that
    shape: `add_terms` then decides, and words the error. The same arrays `add_terms` builds, ~30× faster (Gset G1,
    19 176 terms: 150 ms one by one on a slow VM)."""
    # map, set and chain loop in C: the checks cost a few ms where generator expressions cost tens
    try:
        cs = list(map(_C, terms))
        idss = list(map(_IDS, terms))
    except (TypeError, KeyError, IndexError):
        return None
    if not set(map(type, cs)) <= _NUMBER_TYPES or not set(map(type, idss)) <= _LIST_TYPE:
        return None
    lengths = np.fromiter(map(len, idss), np.int64, len(idss))
    if lengths.size and lengths.max() > min(2, limits.max_term_degree):
        return None
    flat = list(itertools.chain.from_iterable(idss))
    if not set(map(type, flat)) <= _INT_TYPE:
        return None
    try:
        coeffs = np.array(cs, np.float64)
        ids = np.array(flat, np.int64)
    except OverflowError:  # an integer past float64 or int64: the one-by-one check says which
        return None
    if not np.isfinite(coeffs).all() or (ids.size and (ids.min() < 0 or ids.max() > MAX_VARIABLE_ID)):
        return None
    offsets = np.zeros(lengths.size + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    pairs = offsets[:-1][lengths == 2]
    if np.any(ids[pairs] == ids[pairs + 1]):  # a repeated id: pubo folds it, ising refuses it
        return None
    return coeffs, offsets, ids


_CANONICAL_ID = re.compile(r"0|-?[1-9][0-9]{0,18}", re.ASCII)


def _parse_initial_configuration(value: Any, ising: bool, limits: ProblemLimits) -> dict[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProblemFormatError(errors.AZQ_BAD_INITIAL_CONFIGURATION, "initial_configuration must be an object")
    allowed = (-1, 1) if ising else (0, 1)
    out: dict[int, int] = {}
    for key, v in value.items():
        # Keys are decimal ids as str(int) writes them: int() alone would also take " 1 ", "1_0", "+1", "01" or
        # non-ASCII digits, aliases of one variable that QIO refused.
        if not _CANONICAL_ID.fullmatch(key):
            raise ProblemFormatError(
                errors.AZQ_BAD_INITIAL_CONFIGURATION, f"initial_configuration key {key!r} is not a variable id"
            )
        vid = int(key)
        if vid < 0 or vid > MAX_VARIABLE_ID:
            raise ProblemFormatError(errors.AZQ_BAD_INITIAL_CONFIGURATION, f"initial_configuration id {vid} is out of range")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v not in allowed:
            raise ProblemFormatError(
                errors.AZQ_BAD_INITIAL_CONFIGURATION,
                f"initial_configuration[{key!r}] = {v!r}; values must be {allowed[0]} or {allowed[1]} for this problem type",
            )
        out[vid] = int(v)
    return out


def problem_document(
    problem_type: str,
    terms: Iterable[TermLike],
    *,
    name: str | None = None,
    slc_terms: Iterable[tuple[float, Iterable[TermLike]]] = (),
    initial_configuration: dict[Any, int] | None = None,
) -> dict[str, Any]:
    """The qio.v2 JSON document, laid out as azure-quantum's `Problem.serialize` writes it."""
    slc = [
        {"c": _plain(c), "terms": [{"c": _plain(ic), "ids": [int(i) for i in iids]} for ic, iids in inner]}
        for c, inner in slc_terms
    ]
    if slc and not problem_type.endswith("_grouped"):
        problem_type = f"{problem_type}_grouped"
    cost_function: dict[str, Any] = {
        "version": "1.1" if initial_configuration else "1.0",
        "type": problem_type,
        "terms": [{"c": _plain(c), "ids": [int(i) for i in ids]} for c, ids in terms],
    }
    if slc:
        cost_function["terms_slc"] = slc
    if initial_configuration:
        cost_function["initial_configuration"] = {str(k): int(v) for k, v in initial_configuration.items()}
    return {"metadata": {"name": name or "Optimization problem"}, "cost_function": cost_function}


def _plain(c: Any) -> int | float:
    value = float(c)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def encode_json(document: dict[str, Any], compress: bool = True) -> bytes:
    body = json.dumps(document, separators=(", ", ": ")).encode("utf-8")
    return gzip.compress(body, compresslevel=6) if compress else body
