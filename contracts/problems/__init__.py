"""The `microsoft.qio.v2` problem format, shared by the service, the runner and the clients: the model
(model.py), the JSON codec (json_codec.py), the protobuf codec (protobuf.py), and `decode_problem`, which takes an
input blob as stored (gzip or not, JSON or protobuf tar) and picks the codec."""
from __future__ import annotations

import zlib

from .. import errors
from .json_codec import TermScanner, decode_json_bytes, encode_json, problem_document, problem_from_json
from .model import (
    DEFAULT_LIMITS,
    JSON_CONTENT_TYPE,
    MAX_VARIABLE_ID,
    PROBLEM_TYPES,
    PROTOBUF_CONTENT_TYPE,
    ProblemData,
    ProblemFormatError,
    ProblemLimits,
    TermLike,
    id_positions,
)
from .protobuf import PROTOBUF_CHUNK_TERMS, _decode_protobuf_tar, encode_protobuf

__all__ = [
    "DEFAULT_LIMITS", "JSON_CONTENT_TYPE", "MAX_VARIABLE_ID", "PROBLEM_TYPES", "PROTOBUF_CHUNK_TERMS",
    "PROTOBUF_CONTENT_TYPE", "ProblemData", "ProblemFormatError", "ProblemLimits", "TermLike", "TermScanner",
    "decode_json_bytes", "decode_problem", "encode_json", "encode_protobuf", "id_positions", "problem_document",
    "problem_from_json",
]


def decode_problem(data: bytes, content_type: str | None = None, limits: ProblemLimits = DEFAULT_LIMITS,
                   scan_terms: TermScanner | None = None) -> ProblemData:
    """Decode an input blob: JSON or protobuf tar, either of them gzip-compressed or not. `scan_terms`: a faster
    reader for a JSON document's terms (decode_json_bytes).

    The blob's Content-Type is the only sign of protobuf on the wire; a tar header is sniffed too, so a blob
    whose content type was lost still decodes.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProblemFormatError(errors.AZQ_UNPARSABLE, "input data must be bytes")
    raw = _gunzip_bounded(bytes(data), limits.max_input_bytes)
    is_tar = len(raw) > 262 and raw[257:262] == b"ustar"
    if is_tar or (content_type or "").split(";")[0].strip().lower() == PROTOBUF_CONTENT_TYPE:
        return _decode_protobuf_tar(raw, limits)
    return decode_json_bytes(raw, limits, scan_terms)


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
