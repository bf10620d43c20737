"""The `microsoft.qio.v2` problem format: decoder (JSON, gzip, protobuf tar[.gz]) and encoders.

A decoded problem is a `ProblemData`: flat numpy arrays, so a 10^6-term problem costs tens of MB rather than a
million Python objects once decoded, and crosses a process boundary cheaply.

Term storage is CSR-like: term t has coefficient `coeffs[t]` and variable ids `ids[offsets[t]:offsets[t+1]]`
(original ids as the user wrote them, distinct within a term; an empty slice is a constant term).
Grouped problems add squared linear combinations (SLC): group g has coefficient `slc_coeffs[g]` and inner
terms `slc_term_coeffs[k], slc_term_ids[k]` for k in `slc_offsets[g]:slc_offsets[g+1]`, where id −1 is the
group's constant. Cost of group g = slc_coeffs[g] * (Σ_k slc_term_coeffs[k] * x[slc_term_ids[k]])².

Every malformed input raises `ProblemFormatError` whose message starts with the QIO `AZQnnn` code.
"""
from __future__ import annotations

import gzip
import io
import json
import math
import re
import struct
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import errors
from .errors import ContractError

PROBLEM_TYPES = ("ising", "pubo", "ising_grouped", "pubo_grouped")
PROTOBUF_CONTENT_TYPE = "application/x-protobuf"
JSON_CONTENT_TYPE = "application/json"
MAX_VARIABLE_ID = 2**31 - 1
# protobuf enum ProblemType { PUBO=0; ISING=1; MAXSAT=2; SOFTSPIN=3; }
_PB_TYPES = {0: "pubo", 1: "ising"}
_PB_TYPE_CODES = {"pubo": 0, "ising": 1}
PROTOBUF_CHUNK_TERMS = 1000


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
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def terms(self) -> Iterable[tuple[float, tuple[int, ...]]]:
        """(c, ids) pairs; convenient for tests and small problems, not for hot paths."""
        for t in range(self.n_terms):
            yield float(self.coeffs[t]), tuple(int(i) for i in self.ids[self.offsets[t] : self.offsets[t + 1]])


# --------------------------------------------------------------------------------------------------------------
# Reference cost: the obvious evaluator, independent of the solver kernels.


def reference_cost(problem: ProblemData, configuration: dict[Any, int]) -> float:
    """Cost of `configuration` (keys: ids as int or str; values ±1 for ising, 0/1 for pubo)."""
    values = {int(k): int(v) for k, v in configuration.items()}
    total = 0.0
    for c, ids in problem.terms():
        prod = 1
        for i in ids:
            prod *= values[i]
        total += c * prod
    for g in range(problem.slc_coeffs.shape[0]):
        inner = 0.0
        for k in range(int(problem.slc_offsets[g]), int(problem.slc_offsets[g + 1])):
            vid = int(problem.slc_term_ids[k])
            inner += float(problem.slc_term_coeffs[k]) * (1 if vid < 0 else values[vid])
        total += float(problem.slc_coeffs[g]) * inner * inner
    return total


# --------------------------------------------------------------------------------------------------------------
# Decoding


def decode_problem(data: bytes, content_type: str | None = None, limits: ProblemLimits = DEFAULT_LIMITS) -> ProblemData:
    """Decode an input blob: JSON or protobuf tar, either of them gzip-compressed or not.

    The blob's Content-Type is the only sign of protobuf on the wire; a tar header is sniffed too, so a blob
    whose content type was lost still decodes.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProblemFormatError(errors.AZQ_UNPARSABLE, "input data must be bytes")
    raw = _gunzip_bounded(bytes(data), limits.max_input_bytes)
    is_tar = len(raw) > 262 and raw[257:262] == b"ustar"
    if is_tar or (content_type or "").split(";")[0].strip().lower() == PROTOBUF_CONTENT_TYPE:
        return _decode_protobuf_tar(raw, limits)
    return decode_json_bytes(raw, limits)


def _gunzip_bounded(data: bytes, max_bytes: int) -> bytes:
    """Decompress gzip (possibly several members) without ever holding more than `max_bytes` of output."""
    if data[:2] != b"\x1f\x8b":
        if len(data) > max_bytes:
            raise ProblemFormatError(
                errors.AZQ_UNPARSABLE, f"input is {len(data)} bytes, over the limit of {max_bytes}", errors.PROBLEM_TOO_LARGE
            )
        return data
    out = bytearray()
    rest = data
    try:
        while rest:
            d = zlib.decompressobj(wbits=31)
            chunk = d.decompress(rest, max_bytes + 1 - len(out))
            out += chunk
            while d.unconsumed_tail and len(out) <= max_bytes:
                out += d.decompress(d.unconsumed_tail, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise ProblemFormatError(
                    errors.AZQ_UNPARSABLE,
                    f"decompressed input exceeds the limit of {max_bytes} bytes",
                    errors.PROBLEM_TOO_LARGE,
                )
            if not d.eof:
                raise ProblemFormatError(errors.AZQ_UNPARSABLE, "gzip data is truncated")
            rest = d.unused_data
            if rest and rest[:2] != b"\x1f\x8b":
                break  # trailing garbage after a complete member: ignore, as gzip(1) does
    except zlib.error as exc:
        raise ProblemFormatError(errors.AZQ_UNPARSABLE, f"input is not valid gzip data ({exc})") from None
    return bytes(out)


def decode_json_bytes(raw: bytes, limits: ProblemLimits = DEFAULT_LIMITS) -> ProblemData:
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


def problem_from_json(doc: Any, limits: ProblemLimits = DEFAULT_LIMITS) -> ProblemData:
    """Validate a parsed qio.v2 document and turn it into arrays."""
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
    terms = cf.get("terms", [])
    slc = cf.get("terms_slc")
    if "terms" not in cf and slc is None:
        raise ProblemFormatError(errors.AZQ_MISSING_SECTION, "missing section 'cost_function.terms'")
    if not isinstance(terms, list):
        raise ProblemFormatError(errors.AZQ_WRONG_TYPE, "cost_function.terms must be a list")
    if len(terms) > limits.max_terms:
        raise ProblemFormatError(
            errors.AZQ_WRONG_TYPE, f"{len(terms)} terms exceed the limit of {limits.max_terms}", errors.PROBLEM_TOO_LARGE
        )
    builder = _TermBuilder(ising, limits)
    for t, term in enumerate(terms):
        if not isinstance(term, dict):
            raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"terms[{t}] must be an object with 'c' and 'ids'")
        if "c" not in term or "ids" not in term:
            raise ProblemFormatError(errors.AZQ_MISSING_SECTION, f"terms[{t}] needs both 'c' and 'ids'")
        ids = term["ids"]
        if not isinstance(ids, list):
            raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"terms[{t}].ids must be a list of integers")
        builder.add(_as_coeff(term["c"], f"terms[{t}]"), [_as_id(i, f"terms[{t}]", limits) for i in ids], f"terms[{t}]")

    slc_coeffs: list[float] = []
    slc_offsets = [0]
    slc_tc: list[float] = []
    slc_ti: list[int] = []
    if slc is not None:
        if not ptype.endswith("_grouped"):
            raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"terms_slc requires type {ptype}_grouped")
        if not isinstance(slc, list):
            raise ProblemFormatError(errors.AZQ_WRONG_TYPE, "cost_function.terms_slc must be a list")
        if len(slc) + len(terms) > limits.max_terms:
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
        return ProblemData(
            problem_type=ptype,
            coeffs=np.asarray(self.coeffs, dtype=np.float64),
            offsets=np.asarray(self.offsets, dtype=np.int64),
            ids=np.asarray(self.ids, dtype=np.int64),
            **rest,
        )


# --- protobuf -------------------------------------------------------------------------------------------------
# A small decoder for the wire format of azure-quantum's problem.proto; no generated code needed:
#   Problem { CostFunction cost_function = 1; google.protobuf.Struct metadata = 2; }
#   CostFunction { ProblemType type = 1; string version = 2; repeated Term terms = 3; map<string,int64> init_config = 4; }
#   Term { double c = 1; repeated int64 ids = 2; }
#   Struct { map<string, Value> fields = 1; }  Value { ...; string string_value = 3; ... }


class _PbError(Exception):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _PbError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _PbError("varint too long")


def _fields(buf: bytes):
    """Yield (field number, wire type, value) where value is an int or a bytes slice."""
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise _PbError("field number 0")
        if wt == 0:
            value, pos = _varint(buf, pos)
        elif wt == 1:
            if pos + 8 > n:
                raise _PbError("truncated fixed64")
            value, pos = buf[pos : pos + 8], pos + 8
        elif wt == 2:
            length, pos = _varint(buf, pos)
            if pos + length > n:
                raise _PbError("truncated length-delimited field")
            value, pos = buf[pos : pos + length], pos + length
        elif wt == 5:
            if pos + 4 > n:
                raise _PbError("truncated fixed32")
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise _PbError(f"unsupported wire type {wt}")
        yield num, wt, value


def _signed64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def _pb_term(buf: bytes) -> tuple[float, list[int]]:
    c = 0.0
    ids: list[int] = []
    for num, wt, value in _fields(buf):
        if num == 1 and wt == 1:
            c = struct.unpack("<d", value)[0]
        elif num == 2 and wt == 2:  # packed
            pos = 0
            while pos < len(value):
                v, pos = _varint(value, pos)
                ids.append(_signed64(v))
        elif num == 2 and wt == 0:
            ids.append(_signed64(value))
    return c, ids


def _pb_struct_name(buf: bytes) -> str | None:
    for num, wt, entry in _fields(buf):
        if num != 1 or wt != 2:
            continue
        key = None
        sval = None
        for enum_, ewt, ev in _fields(entry):
            if enum_ == 1 and ewt == 2:
                key = bytes(ev).decode("utf-8", "replace")
            elif enum_ == 2 and ewt == 2:
                for vnum, vwt, vv in _fields(ev):
                    if vnum == 3 and vwt == 2:
                        sval = bytes(vv).decode("utf-8", "replace")
        if key == "name":
            return sval
    return None


_MAX_CHUNK_DIGITS = 18  # chunk numbers of a tar member name `..._<n>.pb`: 10**18 chunks is beyond any input limit


def _decode_protobuf_tar(raw: bytes, limits: ProblemLimits) -> ProblemData:
    try:
        tar = tarfile.open(fileobj=io.BytesIO(raw), mode="r:*")
        members = [m for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ProblemFormatError(errors.AZQ_UNPARSABLE, f"protobuf input is not a valid tar archive ({exc})") from None
    if not members:
        raise ProblemFormatError(errors.AZQ_MISSING_SECTION, "protobuf input archive holds no problem chunks")

    def order(m: tarfile.TarInfo) -> tuple[int, str]:
        digits = "".join(ch for ch in m.name.rsplit("_", 1)[-1] if "0" <= ch <= "9")  # str.isdigit() takes '²'
        if len(digits) > _MAX_CHUNK_DIGITS:  # int() of 4300+ digits raises, and no SDK writes such a chunk number
            raise ProblemFormatError(errors.AZQ_UNPARSABLE, f"protobuf chunk name {m.name[:80]!r}... has a chunk "
                                     f"number of {len(digits)} digits (at most {_MAX_CHUNK_DIGITS})")
        return (int(digits) if digits else 0, m.name)

    members.sort(key=order)
    ptype = None
    name = None
    total = 0
    builder: _TermBuilder | None = None
    try:
        for index, member in enumerate(members):
            total += member.size
            if total > limits.max_input_bytes:
                raise ProblemFormatError(errors.AZQ_UNPARSABLE, "protobuf input is too large", errors.PROBLEM_TOO_LARGE)
            fh = tar.extractfile(member)
            chunk = fh.read() if fh is not None else b""
            cost_function = None
            for num, wt, value in _fields(chunk):
                if num == 1 and wt == 2:
                    cost_function = value
                elif num == 2 and wt == 2 and index == 0:
                    name = _pb_struct_name(value)
            if cost_function is None:
                if index == 0:
                    raise ProblemFormatError(errors.AZQ_MISSING_SECTION, "protobuf chunk 0 has no cost_function")
                continue
            chunk_type = 0
            term_bufs = []
            for num, wt, value in _fields(cost_function):
                if num == 1 and wt == 0:
                    chunk_type = value
                elif num == 3 and wt == 2:
                    term_bufs.append(value)
            if index == 0:
                if chunk_type not in _PB_TYPES:
                    raise ProblemFormatError(errors.AZQ_WRONG_TYPE, f"protobuf problem type {chunk_type} is not supported")
                ptype = _PB_TYPES[chunk_type]
                builder = _TermBuilder(ptype == "ising", limits)
            assert builder is not None
            if len(builder.coeffs) + len(term_bufs) > limits.max_terms:
                raise ProblemFormatError(errors.AZQ_WRONG_TYPE, "too many terms", errors.PROBLEM_TOO_LARGE)
            for t, tb in enumerate(term_bufs):
                c, ids = _pb_term(tb)
                where = f"chunk {index} term {t}"
                builder.add(_as_coeff(c, where), [_as_id(i, where, limits) for i in ids], where)
    except _PbError as exc:
        raise ProblemFormatError(errors.AZQ_UNPARSABLE, f"protobuf input is malformed ({exc})") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ProblemFormatError(errors.AZQ_UNPARSABLE, f"protobuf input archive is corrupt ({exc})") from None
    assert builder is not None and ptype is not None
    empty_f = np.zeros(0, np.float64)
    problem = builder.build(
        ptype,
        slc_coeffs=empty_f,
        slc_offsets=np.zeros(1, np.int64),
        slc_term_coeffs=empty_f,
        slc_term_ids=np.zeros(0, np.int64),
        initial_configuration=None,
        name=name,
    )
    _check_variable_count(problem, limits)
    return problem


# --------------------------------------------------------------------------------------------------------------
# Encoding (clients and tests)

TermLike = tuple[float, Sequence[int]]


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


def _pb_varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _pb_len(num: int, payload: bytes) -> bytes:
    return _pb_varint((num << 3) | 2) + _pb_varint(len(payload)) + payload


def _pb_problem_chunk(ptype_code: int, terms: Sequence[TermLike], name: str | None) -> bytes:
    cf = bytearray()
    if ptype_code:
        cf += _pb_varint(1 << 3) + _pb_varint(ptype_code)
    cf += _pb_len(2, b"1.0")
    for c, ids in terms:
        term = _pb_varint((1 << 3) | 1) + struct.pack("<d", float(c))
        if ids:
            term += _pb_len(2, b"".join(_pb_varint(int(i)) for i in ids))
        cf += _pb_len(3, term)
    out = _pb_len(1, bytes(cf))
    if name is not None:
        value = _pb_len(3, name.encode())
        entry = _pb_len(1, b"name") + _pb_len(2, value)
        out += _pb_len(2, _pb_len(1, entry))
    return out


def encode_protobuf(problem_type: str, terms: Sequence[TermLike], name: str | None = None, compress: bool = True) -> bytes:
    """A tar(.gz) of protobuf chunks of 1000 terms, as the SDK lays them out (without its last-chunk bug)."""
    if problem_type not in _PB_TYPE_CODES:
        raise ValueError("protobuf supports only ising and pubo problems")
    terms = list(terms)
    chunks = [terms[i : i + PROTOBUF_CHUNK_TERMS] for i in range(0, len(terms), PROTOBUF_CHUNK_TERMS)] or [[]]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if compress else "w") as tar:
        for n, chunk in enumerate(chunks):
            payload = _pb_problem_chunk(_PB_TYPE_CODES[problem_type] if n == 0 else 0, chunk, name if n == 0 else None)
            info = tarfile.TarInfo(name=f"gzipinputfile_pb_{n}.pb")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()
