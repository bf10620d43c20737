"""The line-based benchmark formats: Gset (max-cut), OR-Library bqp and qbsolv `.qubo`.

Each reader checks every line it uses and raises FormatError with the line number (1-based, counting blank and
comment lines) and what it expected there. The conventions follow the files in shared/data (see
shared/reference/qio-solvers.md §4), so a file read here equals the instance converted there term for term:

- Gset: `N M`, then M lines `i j w` (1-based, undirected). Max-cut of weight w maps to the Ising problem
  min Σ w_ij s_i s_j (cut = (W − cost)/2, W = Σ w): ising terms {c: w, ids: [i−1, j−1]}.
- OR-Library bqp: the number of instances K, then per instance `n nnz` and nnz lines `i j q` (1-based) holding
  the diagonal and upper triangle of a symmetric Q; the problem is max xᵀQx = Σ q_ii x_i + Σ_{i<j} 2 q_ij x_i x_j,
  so the pubo terms are {c: −q_ii, ids: [i−1]} and {c: −2 q_ij, ids: [i−1, j−1]} (minimised).
- qbsolv: `c` comment lines, `p qubo <topology> maxNodes nNodes nCouplers`, then nNodes diagonal lines `i i q` and
  nCouplers lines `i j q` (0-based); the problem is min Σ q x_i x_j over the listed entries (off-diagonals as
  written, not doubled). qbsolv has no constant: openqio writes one as the comment `c offset <value>` and reads it
  back; other programs skip it as a comment.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

from .model import FormatError, TermModel, convert, from_terms, number, polynomial, quadratic

_Rows = Iterator[tuple[int, list[str]]]


def _rows(text: str, comment: str | None = None) -> _Rows:
    """(line number, fields) of the lines that hold something; `comment` lines are skipped."""
    for line_no, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if fields and fields[0] != comment:
            yield line_no, fields


def _int(token: str, line: int, what: str, low: int | None = None, high: int | None = None) -> int:
    try:
        value = int(token)
    except ValueError:
        raise FormatError(f"{what} must be an integer, got {token!r}", line=line) from None
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"{low}..{high}" if high is not None else f"at least {low}"
        raise FormatError(f"{what} {value} is outside {span}", line=line)
    return value


def _coeff(token: str, line: int, what: str = "weight") -> float:
    try:
        value = float(token)
    except ValueError:
        raise FormatError(f"{what} must be a number, got {token!r}", line=line) from None
    if not math.isfinite(value):
        raise FormatError(f"{what} must be finite, got {token!r}", line=line)
    return value


def _fields(fields: list[str], line: int, count: int, shape: str) -> list[str]:
    if len(fields) != count:
        raise FormatError(f"expected {shape}, got {' '.join(fields)!r}", line=line)
    return fields


def _header(rows: _Rows, shape: str, what: str) -> tuple[int, list[str]]:
    try:
        return next(rows)
    except StopIteration:
        raise FormatError(f"the file is empty; a {what} file starts with {shape}") from None


def _last_line(text: str) -> int:
    return max(len(text.splitlines()), 1)


# -- Gset ------------------------------------------------------------------------------------------------------

def read_gset(text: str) -> TermModel:
    rows = _rows(text)
    head_line, head = _header(rows, "'N M' (vertices, edges)", "Gset")
    n_text, m_text = _fields(head, head_line, 2, "'N M' (vertices, edges)")
    n = _int(n_text, head_line, "the vertex count N", 1)
    m = _int(m_text, head_line, "the edge count M", 0)
    terms: list[tuple[float, tuple[int, int]]] = []
    for line, fields in rows:
        i_text, j_text, w_text = _fields(fields, line, 3, "an edge 'i j w'")
        i = _int(i_text, line, "vertex", 1, n)
        j = _int(j_text, line, "vertex", 1, n)
        if i == j:
            raise FormatError(f"edge {i} {j} is a self-loop; a cut never contains it", line=line)
        terms.append((_coeff(w_text, line), (i - 1, j - 1)))
        if len(terms) > m:
            raise FormatError(f"more edges than the {m} declared on line {head_line}", line=line)
    if len(terms) < m:
        raise FormatError(f"line {head_line} declares {m} edges; the file has {len(terms)}",
                          line=_last_line(text))
    return from_terms("ising", terms)


def write_gset(model: TermModel) -> bytes:
    linear, pairs, offset = quadratic(convert(polynomial(model), model.kind, "ising"), "Gset")
    fields = sum(1 for c in linear.values() if c)
    if fields or offset:
        raise FormatError(f"Gset holds a max-cut graph (Ising couplings only); this problem has {fields} linear "
                          f"terms and constant {number(offset)} as an Ising model: write qbsolv .qubo or dimod BQM "
                          "JSON instead")
    edges = [(i, j, w) for (i, j), w in sorted(pairs.items()) if w]
    n = max(model.variable_ids(), default=-1) + 1
    lines = [f"{n} {len(edges)}", *(f"{i + 1} {j + 1} {number(w)}" for i, j, w in edges)]
    return ("\n".join(lines) + "\n").encode()


# -- OR-Library bqp --------------------------------------------------------------------------------------------

def read_bqp(text: str, instance: int | None = None) -> TermModel:
    rows = _rows(text)
    count_line, head = _header(rows, "the number of instances", "OR-Library bqp")
    count = _int(_fields(head, count_line, 1, "the number of instances")[0], count_line, "the number of instances", 1)
    if instance is None:
        if count != 1:
            raise FormatError(f"the file holds {count} instances; choose one with --instance 1..{count}",
                              line=count_line)
        instance = 1
    if not 1 <= instance <= count:
        raise FormatError(f"instance {instance} asked for; the file holds {count} (1..{count})", line=count_line)
    terms: list[tuple[float, tuple[int, ...]]] = []
    for k in range(1, instance + 1):
        try:
            line, fields = next(rows)
        except StopIteration:
            raise FormatError(f"line {count_line} declares {count} instances; the file ends before instance {k}",
                              line=_last_line(text)) from None
        n_text, nnz_text = _fields(fields, line, 2, f"the header 'n nnz' of instance {k}")
        n = _int(n_text, line, "the variable count n", 1)
        nnz = _int(nnz_text, line, "the entry count nnz", 0)
        for entry in range(nnz):
            try:
                at, fields = next(rows)
            except StopIteration:
                raise FormatError(f"instance {k} (line {line}) declares {nnz} entries; the file ends after {entry}",
                                  line=_last_line(text)) from None
            i_text, j_text, q_text = _fields(fields, at, 3, "an entry 'i j q'")
            i = _int(i_text, at, "index", 1, n)
            j = _int(j_text, at, "index", 1, n)
            q = _coeff(q_text, at, "q")
            if k == instance:  # Q is symmetric and only one triangle is listed: q_ij stands for q_ij + q_ji
                terms.append((-q, (i - 1,)) if i == j else (-2.0 * q, (i - 1, j - 1)))
    return from_terms("pubo", terms)


def write_bqp(model: TermModel) -> bytes:
    linear, pairs, offset = quadratic(convert(polynomial(model), model.kind, "pubo"), "OR-Library bqp")
    if offset:
        raise FormatError(f"OR-Library bqp has no constant term; this problem has constant {number(offset)} as a "
                          "QUBO: write qbsolv .qubo (keeps it as a comment) or dimod BQM JSON instead")
    entries = [(i, i, -c) for i, c in sorted(linear.items()) if c]
    entries += [(i, j, -c / 2) for (i, j), c in sorted(pairs.items()) if c]
    n = max(model.variable_ids(), default=0) + 1
    lines = ["1", f"{n} {len(entries)}", *(f"{i + 1} {j + 1} {number(q)}" for i, j, q in entries)]
    return ("\n".join(lines) + "\n").encode()


# -- qbsolv .qubo ----------------------------------------------------------------------------------------------

PROGRAM_LINE = "'p qubo <topology> <maxNodes> <nNodes> <nCouplers>'"


def read_qubo(text: str) -> TermModel:
    offset = 0.0
    for line_no, text_line in enumerate(text.splitlines(), 1):
        fields = text_line.split()
        if fields[:2] == ["c", "offset"] and len(fields) == 3:
            offset = _coeff(fields[2], line_no, "offset")
    rows = _rows(text, comment="c")
    p_line, program = _header(rows, PROGRAM_LINE, "qbsolv .qubo")
    if program[:2] != ["p", "qubo"] or len(program) != 6:
        raise FormatError(f"expected the program line {PROGRAM_LINE}, got {' '.join(program)!r}", line=p_line)
    max_nodes = _int(program[3], p_line, "maxNodes", 0)
    n_nodes = _int(program[4], p_line, "nNodes", 0)
    n_couplers = _int(program[5], p_line, "nCouplers", 0)
    terms: list[tuple[float, tuple[int, ...]]] = [(offset, ())] if offset else []
    nodes = couplers = 0
    for line, fields in rows:
        i_text, j_text, q_text = _fields(fields, line, 3, "an entry 'i j q'")
        i = _int(i_text, line, "node", 0, max_nodes - 1)
        j = _int(j_text, line, "node", 0, max_nodes - 1)
        q = _coeff(q_text, line, "q")
        if i == j:
            nodes += 1
            terms.append((q, (i,)))
        else:
            couplers += 1
            terms.append((q, (i, j)))
    if (nodes, couplers) != (n_nodes, n_couplers):
        raise FormatError(f"the program line declares {n_nodes} diagonal entries and {n_couplers} couplers; the file "
                          f"has {nodes} and {couplers}", line=p_line)
    return from_terms("pubo", terms)


def write_qubo(model: TermModel) -> bytes:
    linear, pairs, offset = quadratic(convert(polynomial(model), model.kind, "pubo"), "qbsolv .qubo")
    couplers = [(i, j, c) for (i, j), c in sorted(pairs.items()) if c]
    max_nodes = max(model.variable_ids(), default=-1) + 1
    title = " ".join(str(model.name or "problem").split())
    lines = [f"c {title}: minimise the sum of q * x_i * x_j over the entries (openqio)"]
    if offset:
        lines.append(f"c offset {number(offset)}")
    lines.append(f"p qubo 0 {max_nodes} {len(linear)} {len(couplers)}")
    lines += [f"{i} {i} {number(c)}" for i, c in sorted(linear.items())]
    lines += [f"{i} {j} {number(c)}" for i, j, c in couplers]
    return ("\n".join(lines) + "\n").encode()
