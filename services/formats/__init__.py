"""Problem files in the formats the annealing world uses, read into and written from one `TermModel`:

| format | extensions | holds |
|---|---|---|
| `qio` | `.json`, `.json.gz` | microsoft.qio.v2: any degree, SLC terms, initial configuration, name |
| `protobuf` | `.tar.gz`, `.tgz`, `.tar` | the SDK's protobuf upload (a tar of chunks): plain ising/pubo terms |
| `gset` | `.gset`, `.rud`, `.txt` (`N M` first) | max-cut graph, 1-based → ising couplings |
| `bqp` | `.bqp`, `.txt` (one number first) | OR-Library bqp (max xᵀQx), 1-based → pubo; several instances a file |
| `qubo` | `.qubo` | qbsolv QUBO, 0-based; the constant as a `c offset` comment |
| `bqm-json` | `.bqm.json`, `.bqm` (or a `.json` holding one) | dimod's serialised BQM: labels, vartype, offset |

Any of them may be gzip-compressed (`.gz` after the extension). A `.txt` or `.json` file is told apart by its
content. Readers raise FormatError naming the file and line; writers raise it when the format cannot hold the
problem (a cubic term in a QUBO file, a constant in a bqp file, ...), never dropping a term silently.
"""
from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import documents, text
from .model import FormatError, TermModel, assign_ids

__all__ = ["FORMATS", "Format", "FormatError", "TermModel", "assign_ids", "default_name", "detect_format", "lost_in",
           "read_bytes", "read_file", "write_bytes", "write_file"]


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormatError("not a text file (UTF-8)") from None


@dataclass(frozen=True)
class Format:
    name: str
    title: str
    extensions: tuple[str, ...]
    read: Callable[[bytes, int | None], TermModel]  # (file content, OR-Library instance) -> model
    write: Callable[[TermModel], bytes]  # model -> file content, uncompressed
    labels: bool = False  # holds variable labels
    initial_configuration: bool = False  # holds an initial configuration


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("qio", "microsoft.qio.v2 JSON", (".json",), lambda data, _: documents.read_qio(data),
           documents.write_qio, initial_configuration=True),
    Format("protobuf", "microsoft.qio.v2 protobuf (tar of chunks)", (".tar", ".tgz"),
           lambda data, _: documents.read_qio(data), documents.write_protobuf),
    Format("gset", "Gset max-cut graph", (".gset", ".rud"), lambda data, _: text.read_gset(_text(data)),
           text.write_gset),
    Format("bqp", "OR-Library bqp", (".bqp",), lambda data, k: text.read_bqp(_text(data), k), text.write_bqp),
    Format("qubo", "qbsolv QUBO", (".qubo",), lambda data, _: text.read_qubo(_text(data)), text.write_qubo),
    Format("bqm-json", "dimod BinaryQuadraticModel JSON", (".bqm.json", ".bqm"),
           lambda data, _: documents.read_bqm_json(data), documents.write_bqm_json, labels=True),
)}
_GZIP = b"\x1f\x8b"
_BQM_JSON = re.compile(rb'"type"\s*:\s*"BinaryQuadraticModel"')


def _names() -> str:
    return ", ".join(FORMATS)


def _gunzip(data: bytes) -> bytes:
    if data[:2] != _GZIP:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise FormatError(f"not valid gzip data ({exc})") from None


def detect_format(path: str | Path, data: bytes | None = None) -> str:
    """The format a file name says (its content decides between gset and bqp for `.txt`, and between qio and
    bqm-json for `.json`; with no content, `.txt` is ambiguous and `.json` means qio)."""
    name = Path(path).name.lower()
    base = name.removesuffix(".gz")
    if base.endswith(".txt"):
        if data is None:
            raise FormatError(f"{name}: .txt is used by both Gset and OR-Library bqp files; say --format gset or bqp")
        first = next((line.split() for line in _gunzip(data)[:4096].splitlines() if line.strip()), [])
        if len(first) in (1, 2):
            return "bqp" if len(first) == 1 else "gset"
        raise FormatError(f"{name}: a .txt file starting with {len(first)} fields is neither Gset ('N M') nor "
                          "OR-Library bqp (the number of instances); say --format")
    for fmt in sorted(FORMATS.values(), key=lambda f: -max(len(e) for e in f.extensions)):
        if any(base.endswith(ext) or name.endswith(ext) for ext in fmt.extensions):
            if fmt.name == "qio" and data is not None and _BQM_JSON.search(_gunzip(data)[:65536]):
                return "bqm-json"
            return fmt.name
    raise FormatError(f"{name}: cannot tell the format from the file name; say --format ({_names()})")


def _format(fmt: str) -> Format:
    try:
        return FORMATS[fmt.lower()]
    except KeyError:
        raise FormatError(f"unknown format {fmt!r}; use one of {_names()}") from None


def read_bytes(data: bytes, fmt: str, *, instance: int | None = None, name: str | None = None) -> TermModel:
    """Read a file's content in format `fmt`. `instance` picks one of an OR-Library file's instances (1-based);
    `name` is the problem's name where the format has none."""
    spec = _format(fmt)
    if instance is not None and spec.name != "bqp":
        raise FormatError(f"--instance applies to OR-Library bqp files only; this is {spec.title}")
    model = spec.read(data if spec.name in ("qio", "protobuf") else _gunzip(data), instance)
    model.name = model.name or name
    return model


def default_name(path: str | Path) -> str | None:
    """A problem's name from its file name, for formats that hold none: `G11.txt.gz` → `G11`."""
    return Path(path).name.split(".")[0] or None


def read_file(path: str | Path, fmt: str | None = None, *, instance: int | None = None) -> TermModel:
    """Read a problem file, by its extension (and content) or in format `fmt`; FormatError names file and line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return read_bytes(data, fmt or detect_format(path, data), instance=instance, name=default_name(path))
    except FormatError as exc:
        raise exc.located(str(path)) from None


def write_bytes(model: TermModel, fmt: str, *, compress: bool = False) -> bytes:
    """`model` as the content of a `fmt` file, gzip-compressed if asked (a protobuf tar.gz is a gzipped tar)."""
    data = _format(fmt).write(model)
    return gzip.compress(data, compresslevel=6) if compress else data


def write_file(model: TermModel, path: str | Path, fmt: str | None = None) -> str:
    """Write `model` to `path` (gzip when the name ends .gz); returns the format written."""
    path = Path(path)
    name = fmt.lower() if fmt else detect_format(path)
    compress = path.name.lower().endswith((".gz", ".tgz"))
    data = write_bytes(model, name, compress=compress)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise FormatError(f"cannot write {path}: {exc.strerror or exc}") from None
    return name


def lost_in(model: TermModel, fmt: str) -> list[str]:
    """What writing `model` as `fmt` leaves behind without changing the cost function (labels, name, initial
    configuration), for a note to the user; the terms themselves are never dropped."""
    spec = _format(fmt)
    notes = []
    if model.labels is not None and not spec.labels:
        notes.append(f"{spec.title} numbers variables: labels were replaced by ids 0..{len(model.labels) - 1} in "
                     "the order of the input")
    if model.initial_configuration and not spec.initial_configuration:
        notes.append(f"{spec.title} has no initial configuration: it was left out")
    return notes
