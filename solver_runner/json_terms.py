"""A compiled reader for the array of terms of a JSON problem, the bulk of every large input.

`scan_terms(raw, start, max_degree)` reads the JSON array that begins at byte `start` of `raw` (the value of
`cost_function.terms`) when it has the shape every serializer writes: objects with exactly the keys "c" (a number)
and "ids" (a list of at most `max_degree` distinct integers in 0..MAX_VARIABLE_ID), in either order, whitespace
anywhere JSON allows it. It returns (coeffs float64 [T], offsets int64 [T+1], ids int64) and the index just past
the array's closing bracket, or None for anything else: an escape in a key, another key, a number past float64,
malformed JSON, non-ASCII bytes. None is never an error: the caller decodes the document
the general way (contracts.problems.json_codec), which accepts or refuses it and words the refusal.

Numbers give the value Python's json module gives, bit for bit:
- an integer literal (no fraction, no exponent) of at most 19 digits: float(int), correctly rounded ("-0" → 0.0,
  as json reads it as the integer 0);
- a decimal with at most 19 significant digits whose value is m·10^e with m ≤ 2^53 and |e| ≤ 22: one IEEE
  multiplication or division of two exact doubles, correctly rounded (Clinger's fast path), "-0.0" → −0.0;
- any other valid JSON number (more digits, larger exponents: ~half of the doubles Python writes have 17
  significant digits) is converted by Python afterwards, float(int(text)) or float(text), as json does.

What json.loads plus the per-term checks cost, this does in one pass over the bytes (benchmarks/README.md, "Design
measurements"). contracts.problems.json_codec.decode_json_bytes takes it as its `scan_terms` (the runner passes it,
solver_runner.entry; the service and the client never import numba).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from contracts.problems import MAX_VARIABLE_ID
from solver_runner.numba_cache import keep_compiling_on_a_full_disk

keep_compiling_on_a_full_disk()  # before the functions below are decorated (as kernels/__init__.py)

_POW10 = np.array([10.0**k for k in range(23)], np.float64)  # exact doubles: 10^0 .. 10^22
# uint64 constants: numba compares a uint64 with a signed integer as floats, which rounds
_TWO53 = np.uint64(1 << 53)
_MAX_MANTISSA = np.uint64(10**18)  # one more digit after this still fits a uint64 (19 digits)

# byte values
_SP, _TAB, _LF, _CR = 32, 9, 10, 13
_QUOTE, _COMMA, _COLON = 34, 44, 58
_LBRACKET, _RBRACKET, _LBRACE, _RBRACE = 91, 93, 123, 125
_MINUS, _PLUS, _DOT, _ZERO, _NINE = 45, 43, 46, 48, 57
_LOWER_C, _LOWER_D, _LOWER_E, _LOWER_I, _LOWER_S, _UPPER_E = 99, 100, 101, 105, 115, 69


@njit(cache=True, nogil=True, inline="always")
def _ws(b, p):
    n = b.shape[0]
    while p < n and (b[p] == _SP or b[p] == _LF or b[p] == _CR or b[p] == _TAB):
        p += 1
    return p


@njit(cache=True, nogil=True, inline="always")
def _digit(b, p):
    return p < b.shape[0] and _ZERO <= b[p] <= _NINE


@njit(cache=True, nogil=True)
def _number(b, p, pow10):
    """The JSON number at b[p:]: (status, value, is_integer_literal, mantissa, index after it); status 1: value is
    exact, 2: a valid number this cannot convert exactly (Python converts it: `scan_terms`), 0: not read."""
    n = b.shape[0]
    neg = False
    if p < n and b[p] == _MINUS:
        neg = True
        p += 1
    if not _digit(b, p):
        return 0, 0.0, False, np.uint64(0), p
    m = np.uint64(0)
    exp10 = 0
    long = False  # more significant digits than a uint64 holds
    if b[p] == _ZERO:
        p += 1
        if _digit(b, p):  # a leading zero followed by digits is not JSON
            return 0, 0.0, False, m, p
    else:
        while _digit(b, p):
            if m >= _MAX_MANTISSA:
                long = True
            else:
                m = m * np.uint64(10) + np.uint64(b[p] - _ZERO)
            p += 1
    integer = True
    if p < n and b[p] == _DOT:
        integer = False
        p += 1
        if not _digit(b, p):
            return 0, 0.0, False, m, p
        while _digit(b, p):
            d = b[p] - _ZERO
            if m != np.uint64(0) or d != 0:  # leading zeros of a fraction are not significant
                if m >= _MAX_MANTISSA:
                    long = True
                else:
                    m = m * np.uint64(10) + np.uint64(d)
                    exp10 -= 1
            else:
                exp10 -= 1
            p += 1
    if p < n and (b[p] == _LOWER_E or b[p] == _UPPER_E):
        integer = False
        p += 1
        eneg = False
        if p < n and (b[p] == _PLUS or b[p] == _MINUS):
            eneg = b[p] == _MINUS
            p += 1
        if not _digit(b, p):
            return 0, 0.0, False, m, p
        e = 0
        while _digit(b, p):
            if e < 100_000:
                e = e * 10 + (b[p] - _ZERO)
            p += 1
        exp10 += -e if eneg else e
    if long:
        return 2, 0.0, integer, m, p
    if integer:
        v = float(m)  # uint64 → float64, correctly rounded
        return 1, (-v if neg and m != np.uint64(0) else v), True, m, p
    if m == np.uint64(0):
        return 1, (-0.0 if neg else 0.0), False, m, p
    if m > _TWO53 or exp10 < -22 or exp10 > 22:
        return 2, 0.0, False, m, p
    v = float(m) * pow10[exp10] if exp10 >= 0 else float(m) / pow10[-exp10]
    return 1, (-v if neg else v), False, m, p


@njit(cache=True, nogil=True, inline="always")
def _after_item(b, p, closer):
    """After an item of an array or object: (1, index past the comma and whitespace) for another, (0, index past
    `closer`) at the end, (-1, p) for anything else."""
    p = _ws(b, p)
    if p < b.shape[0] and b[p] == _COMMA:
        return 1, _ws(b, p + 1)
    if p < b.shape[0] and b[p] == closer:
        return 0, p + 1
    return -1, p


@njit(cache=True, nogil=True)
def _key(b, p):
    """The key whose opening quote is at b[p]: (1 for "c", 2 for "ids", 0 for anything else, index after it)."""
    n = b.shape[0]
    if p + 2 < n and b[p + 1] == _LOWER_C and b[p + 2] == _QUOTE:
        return 1, p + 3
    if p + 4 < n and b[p + 1] == _LOWER_I and b[p + 2] == _LOWER_D and b[p + 3] == _LOWER_S and b[p + 4] == _QUOTE:
        return 2, p + 5
    return 0, p


@njit(cache=True, nogil=True)
def _scan(b, start, max_degree, max_id, pow10, coeffs, offsets, ids, deferred):
    """Fill coeffs / offsets / ids from the array at b[start] ('['); (term count, deferred count, index after ']'),
    or (-1, 0, p) for an input this reader leaves to the general decoder. Coefficients it cannot convert exactly
    are listed in deferred (rows: term, first byte, end, 1 for an integer literal). The arrays hold at least
    terms + 1 entries (coeffs, offsets, deferred) and max_degree·terms (ids)."""
    n = b.shape[0]
    p = _ws(b, start + 1)
    t = 0
    k = 0
    nd = 0
    offsets[0] = 0
    if p < n and b[p] == _RBRACKET:
        return 0, 0, p + 1
    while True:
        if p >= n or b[p] != _LBRACE or t >= coeffs.shape[0]:
            return -1, 0, p
        p = _ws(b, p + 1)
        have_c = False
        have_ids = False
        while True:
            if p >= n or b[p] != _QUOTE:
                return -1, 0, p
            key, p = _key(b, p)
            if key == 0 or (key == 1 and have_c) or (key == 2 and have_ids):
                return -1, 0, p
            p = _ws(b, p)
            if p >= n or b[p] != _COLON:
                return -1, 0, p
            p = _ws(b, p + 1)
            if key == 1:
                first = p
                status, v, integer, _m, p = _number(b, p, pow10)
                if status == 0:
                    return -1, 0, p
                coeffs[t] = v
                if status == 2:
                    deferred[nd, 0] = t
                    deferred[nd, 1] = first
                    deferred[nd, 2] = p
                    deferred[nd, 3] = 1 if integer else 0
                    nd += 1
                have_c = True
            else:
                if p >= n or b[p] != _LBRACKET:
                    return -1, 0, p
                p = _ws(b, p + 1)
                count = 0
                if p < n and b[p] == _RBRACKET:
                    p += 1
                else:
                    while True:
                        if p < n and b[p] == _MINUS:  # json reads "-0" as 0; the general decoder decides
                            return -1, 0, p
                        status, _v, integer, m, p = _number(b, p, pow10)
                        if status != 1 or not integer or m > max_id or count >= max_degree:
                            return -1, 0, p
                        if count == 1 and ids[k - 1] == np.int64(m):  # a repeated id: pubo folds it, ising refuses
                            return -1, 0, p
                        ids[k] = np.int64(m)
                        k += 1
                        count += 1
                        more, p = _after_item(b, p, _RBRACKET)
                        if more < 0:
                            return -1, 0, p
                        if more == 0:
                            break
                have_ids = True
            more, p = _after_item(b, p, _RBRACE)
            if more < 0:
                return -1, 0, p
            if more == 0:
                break
        if not (have_c and have_ids):
            return -1, 0, p
        t += 1
        offsets[t] = k
        more, p = _after_item(b, p, _RBRACKET)
        if more < 0:
            return -1, 0, p
        if more == 0:
            return t, nd, p


def scan_terms(raw: bytes, start: int, max_degree: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """(coeffs, offsets, ids, end) of the JSON array of terms at raw[start] ('['), or None (module docstring)."""
    if start >= len(raw) or raw[start] != _LBRACKET or max_degree < 0:
        return None
    cap = raw.count(b"{", start) + 1  # every term opens an object
    coeffs = np.empty(cap, np.float64)
    offsets = np.empty(cap + 1, np.int64)
    ids = np.empty(cap * min(max_degree, 2) + 1, np.int64)
    deferred = np.empty((cap, 4), np.int64)
    count, nd, end = _scan(np.frombuffer(raw, np.uint8), start, min(max_degree, 2), np.uint64(MAX_VARIABLE_ID),
                           _POW10, coeffs, offsets, ids, deferred)
    if count < 0:
        return None
    for t, first, stop, integer in deferred[:nd].tolist():  # as json converts them: float(int) or float(text)
        text = raw[first:stop]
        try:
            value = float(int(text)) if integer else float(text)
        except (OverflowError, ValueError):  # past float64, or past Python's digit limit for int()
            return None
        if not math.isfinite(value):  # the general decoder refuses it, in its words
            return None
        coeffs[t] = value
    return coeffs[:count].copy(), offsets[: count + 1].copy(), ids[: offsets[count]].copy(), end
