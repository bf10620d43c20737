"""Problem files in every format services.formats reads, for `openqio submit/solve FILE`, and `openqio convert`.

A QIO JSON file is uploaded as written (params.read_problem); any other format is converted to microsoft.qio.v2
here and checked by the service's own codec before anything is uploaded, so a malformed file fails on the command
line with its line number (exit code 2), never as a Failed job.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import typer

from contracts.errors import ContractError
from contracts.problems import ProblemData, decode_json_bytes
from services.formats import (
    FORMATS,
    FormatError,
    TermModel,
    default_name,
    detect_format,
    lost_in,
    read_bytes,
    read_file,
    write_file,
)
from services.formats.documents import write_qio

from . import render
from .params import UsageError, read_problem

FORMAT_NAMES = ", ".join(FORMATS)
FORMAT_OPT = typer.Option(None, "--format", "-f", metavar="FORMAT",
                          help=f"problem file format: {FORMAT_NAMES} (default: from the file name and content)")
INSTANCE_OPT = typer.Option(None, "--instance", min=1, metavar="K",
                            help="the instance to read from an OR-Library bqp file that holds several (1-based)")


def read_problem_file(path: Path, fmt: str | None = None, instance: int | None = None) -> tuple[bytes, ProblemData]:
    """The upload body (gzip JSON) and the decoded problem, from a file in any supported format."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read problem file {path}: {exc.strerror or exc}") from None
    try:
        name = (fmt or detect_format(path, data)).lower()
        if name == "qio" and instance is None:
            return read_problem(path)
        model = read_bytes(data, name, instance=instance, name=default_name(path))
    except FormatError as exc:
        raise UsageError(str(exc.located(str(path)))) from None
    _notes(model, "qio")
    raw = write_qio(model)
    try:
        problem = decode_json_bytes(raw)
    except ContractError as exc:
        raise UsageError(f"{path} converts to a problem the service refuses: {exc.message}") from None
    return gzip.compress(raw, compresslevel=6), problem


def _notes(model: TermModel, fmt: str) -> None:
    for note in lost_in(model, fmt):
        render.err.print(f"note: {note}", highlight=False, markup=False)


def convert_command(
    source: Path = typer.Argument(..., metavar="IN", help="problem file to read", show_default=False),
    target: Path = typer.Argument(..., metavar="OUT", help="file to write (gzip when the name ends .gz)",
                                  show_default=False),
    from_format: str | None = typer.Option(None, "--from", metavar="FORMAT",
                                              help=f"format of IN: {FORMAT_NAMES} (default: from its name)"),
    to_format: str | None = typer.Option(None, "--to", metavar="FORMAT",
                                            help=f"format of OUT: {FORMAT_NAMES} (default: from its name)"),
    instance: int | None = INSTANCE_OPT,
) -> None:
    """Convert a problem file: QIO JSON (gz), protobuf, Gset, OR-Library bqp, qbsolv .qubo, dimod BQM JSON.

    The cost function is kept exactly; a format that cannot hold it (a constant in bqp, fields in Gset, a cubic
    term in a QUBO) is an error, never a silent loss."""
    try:
        model = read_file(source, from_format, instance=instance)
        written = write_file(model, target, to_format)
    except FormatError as exc:
        render.err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _notes(model, written)
    render.err.print(f"wrote {target}: {FORMATS[written].title}, {model.kind}, {len(model.variable_ids())} "
                     f"variables, {len(model.terms) + len(model.slc_terms)} terms", highlight=False, markup=False,
                     soft_wrap=True)
