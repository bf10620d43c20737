"""The protobuf form of `microsoft.qio.v2` (azure-quantum's problem.proto, chunks of PROTOBUF_CHUNK_TERMS terms in a
tar(.gz)): a small decoder and encoder of the wire format, no generated code."""
from __future__ import annotations

import io
import struct
import tarfile
import zlib
from collections.abc import Sequence

import numpy as np

from .. import errors
from .model import (
    ProblemData,
    ProblemFormatError,
    ProblemLimits,
    TermLike,
    _as_coeff,
    _as_id,
    _check_variable_count,
    _TermBuilder,
)

_PB_TYPES = {0: "pubo", 1: "ising"}
_PB_TYPE_CODES = {"pubo": 0, "ising": 1}
PROTOBUF_CHUNK_TERMS = 1000


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
        value: int | bytes
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
