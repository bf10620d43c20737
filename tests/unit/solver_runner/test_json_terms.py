"""The runner's compiled reader of JSON terms (solver_runner.json_terms) against the general decoder: the same
problem bit for bit, the same errors, and None (never a guess) for whatever it does not read."""
from __future__ import annotations

import json
import math
import random
import struct

import numpy as np
import pytest

from contracts.problems import ProblemFormatError, decode_problem, encode_json, problem_document
from solver_runner.json_terms import scan_terms


def both(raw: bytes):
    """(general, scanned) decodes of raw, or the errors they raise (code, message)."""
    out = []
    for scanner in (None, scan_terms):
        try:
            out.append(decode_problem(raw, scan_terms=scanner))
        except ProblemFormatError as exc:
            out.append((exc.code, exc.message))
    return out


def assert_same(raw: bytes) -> None:
    general, scanned = both(raw)
    if isinstance(general, tuple):
        assert scanned == general
        return
    assert not isinstance(scanned, tuple), scanned
    for field in ("coeffs", "offsets", "ids", "slc_coeffs", "slc_offsets", "slc_term_coeffs", "slc_term_ids"):
        a, b = getattr(general, field), getattr(scanned, field)
        assert a.dtype == b.dtype and a.shape == b.shape, field
        assert a.tobytes() == b.tobytes(), field  # bit for bit: -0.0 and 0.0 differ
    assert (general.problem_type, general.initial_configuration, general.name) == (
        scanned.problem_type, scanned.initial_configuration, scanned.name)


def read(text: str, max_degree: int = 2):
    raw = text.encode()
    return scan_terms(raw, raw.index(b"["), max_degree)


def test_reads_what_serializers_write():
    rng = np.random.default_rng(5)
    terms = [(float(rng.normal()), [int(i), int(j)]) for i, j in rng.integers(0, 300, (500, 2)) if i != j]
    terms += [(3, [7]), (-2.5, []), (0.0, [1, 2])]
    doc = problem_document("ising", terms)
    for raw in (encode_json(doc, compress=False), json.dumps(doc, indent=2).encode(),
                json.dumps(doc, separators=(",", ":")).encode(), encode_json(doc)):
        assert_same(raw)
    plain = json.dumps(doc, indent=1).encode()
    start = plain.index(b'"terms": [') + len(b'"terms": ')
    out = scan_terms(plain, start, 2)
    assert out is not None, "the reader must take the common shape, not leave it to the general decoder"
    coeffs, offsets, ids, end = out
    assert plain[end - 1:end] == b"]" and coeffs.shape[0] == len(terms) and offsets[-1] == ids.shape[0]


@pytest.mark.parametrize("text", [
    "1", "-1", "0", "-0", "0.0", "-0.0", "1.5", "-2.25e-3", "1E+05", "1e22", "1e-22", "123456789012345678",
    "9007199254740993", "1234567890123456789", "0.1", "0.30000000000000004", "2.2250738585072014e-308", "5e-324",
    "1e23", "1.7976931348623157e308", "12345678901234567890", "0.000000000000000000000000001", "4.35", "1e0",
    "100e-2", "0.5e1", "9007199254740993.0", "9007199254740992.5", "1" * 25, "-12345678901234567890123", "1e308",
    "-1e-400", "1" * 400, "7" * 5000,
])
def test_numbers_are_json_s_or_left_to_it(text):
    out = read(f'[{{"c": {text}, "ids": [0]}}]')
    if out is not None:  # when read, bit for bit what json.loads gives (an integer literal as float(int))
        value = json.loads(text)
        assert struct.pack("<d", out[0][0]) == struct.pack("<d", float(value)), text
    assert_same(f'{{"cost_function": {{"type": "pubo", "terms": [{{"c": {text}, "ids": [0]}}]}}}}'.encode())


def test_random_decimals_match_json_bit_for_bit():
    rnd = random.Random(11)
    taken = 0
    for _ in range(20_000):
        kind = rnd.randrange(4)
        if kind == 0:
            text = repr(rnd.uniform(-1e6, 1e6))
        elif kind == 1:
            text = f"{rnd.uniform(-1, 1):.{rnd.randrange(1, 18)}f}"
        elif kind == 2:
            text = f"{rnd.uniform(-10, 10):.{rnd.randrange(1, 16)}e}"
        else:
            text = str(rnd.randrange(-10**rnd.randrange(1, 19), 10**rnd.randrange(1, 19)))
        out = read(f'[{{"ids": [], "c": {text}}}]')
        if out is not None:
            taken += 1
            assert struct.pack("<d", out[0][0]) == struct.pack("<d", float(json.loads(text))), text
    assert taken == 20_000  # every valid number is read (the longer ones converted by Python afterwards)


@pytest.mark.parametrize("terms", [
    '[{"c": 1, "ids": [0], "x": 1}]',        # another key
    '[{"\\u0063": 1, "ids": [0]}]',          # an escaped key
    '[{"c": 1, "c": 2, "ids": [0]}]',        # a repeated key
    '[{"c": 1}]',                            # no ids
    '[{"c": 1, "ids": [1.0]}]',              # a float id
    '[{"c": 1, "ids": [-1]}]',               # a negative id
    '[{"c": 1, "ids": [-0]}]',               # json reads -0 as 0: the general decoder decides
    '[{"c": 1, "ids": [0, 1, 2]}]',          # degree 3
    '[{"c": 1, "ids": [3, 3]}]',             # a repeated id
    '[{"c": 1, "ids": [2147483648]}]',       # past MAX_VARIABLE_ID
    '[{"c": NaN, "ids": [0]}]', '[{"c": Infinity, "ids": [0]}]', '[{"c": 01, "ids": [0]}]',
    '[{"c": 1., "ids": [0]}]', '[{"c": .5, "ids": [0]}]', '[{"c": +1, "ids": [0]}]', '[{"c": "1", "ids": [0]}]',
    '[{"c": 1, "ids": [0]},]', '[{"c": 1, "ids": [0]}', '[{"c": 1, "ids": [0,]}]', '[{"c": 1 "ids": [0]}]',
    '[{"c": 1, "ids": [0]} {"c": 1, "ids": [1]}]', '[{"c": 1, "ids": [0]}\u00a0]', '[1]', '[[]]',
    '[{"c": 1e400, "ids": [0]}]',
])
def test_anything_else_is_left_to_the_general_decoder(terms):
    assert read(terms) is None
    raw = f'{{"cost_function": {{"version": "1.0", "type": "pubo", "terms": {terms}}}}}'.encode()
    assert_same(raw)  # and the general decoder's answer (problem or error) is what the caller gets


def test_degree_limit_is_the_callers():
    assert read('[{"c": 1, "ids": [0, 1]}]', max_degree=1) is None
    assert read('[{"c": 1, "ids": [0, 1]}]', max_degree=5) is not None


@pytest.mark.parametrize("raw", [
    # the first "terms" array is not cost_function's: inside terms_slc, in a key, in metadata, duplicated
    b'{"cost_function": {"type": "pubo_grouped", "terms_slc": [{"c": 1, "terms": [{"c": 2, "ids": [1]}]}],'
    b' "terms": [{"c": 3, "ids": [0, 1]}]}}',
    b'{"metadata": {"x\\"terms": [{"c": 5, "ids": [9]}]}, "cost_function": {"type": "ising", "terms": '
    b'[{"c": 3, "ids": [0, 1]}]}}',
    b'{"metadata": {"terms": [{"c": 5, "ids": [9]}]}, "cost_function": {"type": "ising", "terms": []}}',
    b'{"cost_function": {"type": "ising", "terms": [{"c": 5, "ids": [9]}], "terms": [{"c": 1, "ids": [2]}]}}',
    b'{"cost_function": {"type": "ising", "terms": [{"c": 5, "ids": [9]}]}, "cost_function": {"type": "pubo",'
    b' "terms": [{"c": 1, "ids": [2]}]}}',
    b'{"cost_function": {"type": "ising", "terms": [{"c": 5, "ids": [9]}]}}}',  # broken after the terms
    b'\xef\xbb\xbf{"cost_function": {"type": "ising", "terms": [{"c": 5, "ids": [9]}]}}',  # a BOM
    b'{"cost_function": {"type": "ising", "terms": [{"c": 5, "ids": [9]}], "initial_configuration": {"9": -1}},'
    b' "metadata": {"name": "caf\xc3\xa9"}}',
    b'{"cost_function": {"type": "ising", "terms": [{"c": 5, "ids": [9]}]}, "metadata": {"name": "\xff"}}',
    b'{"cost_function": {"type": "tsp", "terms": [{"c": 5, "ids": [9]}]}}',
    b'[{"cost_function": {"type": "ising", "terms": [{"c": 5, "ids": [9]}]}}]',
])
def test_the_terms_taken_are_cost_function_s(raw):
    assert_same(raw)


def test_term_count_limit_and_slc_share_it():
    from contracts.problems import ProblemLimits
    raw = encode_json(problem_document("ising", [(1.0, [i, i + 1]) for i in range(10)]), compress=False)
    for scanner in (None, scan_terms):
        with pytest.raises(ProblemFormatError, match="10 terms exceed the limit of 9"):
            decode_problem(raw, limits=ProblemLimits(max_terms=9), scan_terms=scanner)
    grouped = encode_json(problem_document("pubo", [(1.0, [0, 1])] * 3, slc_terms=[(1.0, [(1.0, [0])])] * 2),
                          compress=False)
    errors = []
    for scanner in (None, scan_terms):  # 3 terms and 2 groups: over a limit of 4 together
        with pytest.raises(ProblemFormatError, match="too many terms") as caught:
            decode_problem(grouped, limits=ProblemLimits(max_terms=4), scan_terms=scanner)
        errors.append(caught.value.message)
    assert errors[0] == errors[1]
    assert_same(grouped)


def test_large_problem_same_arrays():
    rng = np.random.default_rng(1)
    n, m = 2000, 20_000
    pairs = rng.integers(0, n, (m, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    coeffs = np.round(rng.normal(size=pairs.shape[0]), rng.integers(0, 8))
    doc = problem_document("pubo", [(float(c), [int(i), int(j)]) for c, (i, j) in zip(coeffs, pairs)]
                           + [(float(c), [int(i)]) for c, i in zip(coeffs[:50], range(50))])
    raw = encode_json(doc)
    assert_same(raw)
    assert math.isclose(decode_problem(raw, scan_terms=scan_terms).coeffs.sum(), float(coeffs.sum() + coeffs[:50].sum()),
                        rel_tol=1e-9, abs_tol=1e-9)
