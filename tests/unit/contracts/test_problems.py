"""The qio.v2 codec: round trips (JSON, gzip, protobuf), the SDK's layouts, and bad input → AZQ errors."""
from __future__ import annotations

import gzip
import io
import itertools
import json
import tarfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.problems import (
    ProblemFormatError,
    ProblemLimits,
    decode_problem,
    encode_json,
    encode_protobuf,
    id_positions,
    problem_document,
)
from contracts.problems.model import distinct_ids
from tests.reference import reference_cost

SEED_TERMS = [(-9, [0]), (-3, [1, 0]), (5, [2, 0])]


def test_seed_problem_brute_force_optimum():
    p = decode_problem(encode_json(problem_document("ising", SEED_TERMS, name="MyOptimizationJob")))
    assert p.name == "MyOptimizationJob" and p.problem_type == "ising"
    best = min(itertools.product([-1, 1], repeat=3), key=lambda s: reference_cost(p, dict(enumerate(s))))
    assert best == (1, 1, -1)
    assert reference_cost(p, dict(enumerate(best))) == -17.0


def test_plain_and_gzip_json_decode_the_same():
    doc = problem_document("pubo", [(1.5, [0, 1, 2]), (2, []), (-1, [7])], initial_configuration={0: 1, 7: 0})
    a, b = decode_problem(encode_json(doc)), decode_problem(encode_json(doc, compress=False))
    assert list(a.terms()) == list(b.terms()) == [(1.5, (0, 1, 2)), (2.0, ()), (-1.0, (7,))]
    assert a.initial_configuration == {0: 1, 7: 0}
    assert json.loads(encode_json(doc, compress=False))["cost_function"]["version"] == "1.1"


def test_grouped_terms_and_cost():
    doc = problem_document("pubo", [(1, [0])], slc_terms=[(2, [(1, [0]), (-2, [1]), (3, [])])])
    p = decode_problem(encode_json(doc))
    assert p.problem_type == "pubo_grouped" and p.is_grouped
    # 1*x0 + 2*(x0 - 2 x1 + 3)^2 at x0=1, x1=1 -> 1 + 2*4 = 9
    assert reference_cost(p, {0: 1, 1: 1}) == 9.0


def test_pubo_repeated_index_collapses_and_ising_repeat_is_rejected():
    p = decode_problem(encode_json(problem_document("pubo", [(2, [3, 3, 1])])))
    assert list(p.terms()) == [(2.0, (1, 3))]
    with pytest.raises(ProblemFormatError, match="AZQ101"):
        decode_problem(encode_json(problem_document("ising", [(2, [3, 3])])))


def test_protobuf_round_trip_plain_and_gzip_tar():
    terms = [(float(i % 7) - 3, [i % 50, (i * 7 + 1) % 50]) for i in range(2500)]
    for compress in (True, False):
        p = decode_problem(encode_protobuf("ising", terms, name="pb", compress=compress), "application/x-protobuf")
        assert p.problem_type == "ising" and p.name == "pb" and p.n_terms == 2500
        assert [c for c, _ in p.terms()] == [c for c, _ in terms]


def test_protobuf_detected_without_content_type():
    p = decode_problem(encode_protobuf("pubo", [(1.0, [0, 1])]))
    assert p.problem_type == "pubo"


BAD_INPUTS = [
    (b"", "AZQ105"),
    (b"{", "AZQ105"),
    (b"[]", "AZQ102"),
    (b'{"cost_function": {"type": "ising"}}', "AZQ102"),
    (b'{"metadata": {}}', "AZQ102"),
    (b'{"cost_function": {"type": "qubo", "terms": []}}', "AZQ103"),
    (b'{"cost_function": {"type": "ising", "terms": {}}}', "AZQ103"),
    (b'{"cost_function": {"type": "ising", "terms": [{"c": "1", "ids": [0]}]}}', "AZQ103"),
    (b'{"cost_function": {"type": "ising", "terms": [{"c": 1, "ids": [-1]}]}}', "AZQ103"),
    (b'{"cost_function": {"type": "ising", "terms": [{"c": 1, "ids": [99999999999]}]}}', "AZQ103"),
    (b'{"cost_function": {"type": "ising", "terms": [{"c": 1, "ids": ["a"]}]}}', "AZQ103"),
    (b'{"cost_function": {"type": "ising", "terms": [{"c": Infinity, "ids": [0]}]}}', "AZQ105"),
    (b'{"cost_function": {"type": "ising", "terms": [{"c": 1e999, "ids": [0]}]}}', "AZQ103"),
    (b'{"cost_function": {"type": "ising", "terms": [{"c": 1}]}}', "AZQ102"),
    (b'{"cost_function": {"type": "ising", "terms": [], "initial_configuration": {"0": 0}}}', "AZQ104"),
    (b'{"cost_function": {"type": "pubo", "terms": [], "initial_configuration": {"x": 1}}}', "AZQ104"),
    (b'{"cost_function": {"type": "ising", "terms": [], "terms_slc": []}}', "AZQ103"),
    # issue 11 §8: an integer no float64 holds is a bad coefficient (not a crash of the solver) ...
    (b'{"cost_function": {"type": "pubo", "terms": [{"c": 1' + b"0" * 400 + b', "ids": [0]}]}}', "AZQ103"),
    # ... ids are JSON integers, never floats that happen to be whole ...
    (b'{"cost_function": {"type": "pubo", "terms": [{"c": 1, "ids": [0.0]}]}}', "AZQ103"),
    (b'{"cost_function": {"type": "pubo", "terms": [{"c": 1, "ids": [-0.0]}]}}', "AZQ103"),
    (b'{"cost_function": {"type": "pubo", "terms": [{"c": 1, "ids": [1e0]}]}}', "AZQ103"),
    (b'{"cost_function": {"type": "pubo_grouped", "terms_slc": [{"c": 1, "terms": [{"c": 1, "ids": [2.0]}]}]}}', "AZQ103"),
    # ... and initial_configuration keys are ids as str(int) writes them
    (b'{"cost_function": {"type": "pubo", "terms": [], "initial_configuration": {" 1 ": 1}}}', "AZQ104"),
    (b'{"cost_function": {"type": "pubo", "terms": [], "initial_configuration": {"1_0": 1}}}', "AZQ104"),
    (b'{"cost_function": {"type": "pubo", "terms": [], "initial_configuration": {"+1": 1}}}', "AZQ104"),
    (b'{"cost_function": {"type": "pubo", "terms": [], "initial_configuration": {"01": 1}}}', "AZQ104"),
    (b'{"cost_function": {"type": "pubo", "terms": [], "initial_configuration": {"-0": 1}}}', "AZQ104"),
    ('{"cost_function": {"type": "pubo", "terms": [], "initial_configuration": {"\u0661": 1}}}'.encode(), "AZQ104"),
    (b'{"cost_function": {"type": "pubo", "terms": [], "initial_configuration": {"-1": 1}}}', "AZQ104"),
    (b'\x1f\x8b\x08\x00garbage', "AZQ105"),
    (b"[" * 100000 + b"]" * 100000, "AZQ105"),
    (b'{"cost_function":{"version":"1.0","type":"ising",initial_configuration{"0": 1},"terms":[]}}', "AZQ105"),
]


@pytest.mark.parametrize("data,azq", BAD_INPUTS)
def test_bad_inputs_name_their_rule(data, azq):
    with pytest.raises(ProblemFormatError) as info:
        decode_problem(data)
    assert info.value.message.startswith(azq), info.value.message


def test_gzip_bomb_is_bounded():
    bomb = gzip.compress(b" " * (20 * 1024 * 1024))
    with pytest.raises(ProblemFormatError) as info:
        decode_problem(bomb, limits=ProblemLimits(max_input_bytes=1024 * 1024))
    assert info.value.code == "ProblemTooLarge"


def test_term_and_variable_limits():
    doc = problem_document("pubo", [(1, [i]) for i in range(100)])
    with pytest.raises(ProblemFormatError, match="terms exceed"):
        decode_problem(encode_json(doc), limits=ProblemLimits(max_terms=10))
    with pytest.raises(ProblemFormatError, match="variables exceed"):
        decode_problem(encode_json(doc), limits=ProblemLimits(max_variables=10))


def test_bad_tar_member_is_a_format_error():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("gzipinputfile_pb_0.pb")
        payload = b"\x0a\xff\xff\xff\xff\x0f"  # length far beyond the data
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(ProblemFormatError, match="AZQ105"):
        decode_problem(buf.getvalue(), "application/x-protobuf")


def test_protobuf_chunk_named_with_thousands_of_digits_is_bad_input():
    """int() refuses strings of more than 4300 digits (ValueError): the member name must fail as input, AZQ105."""
    buf = io.BytesIO()
    payload = encode_protobuf("pubo", [(1.0, [0])], compress=False)
    with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
        member = tar.getmembers()[0]
        chunk = tar.extractfile(member).read()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("gzipinputfile_pb_" + "7" * 5000 + ".pb")
        info.size = len(chunk)
        tar.addfile(info, io.BytesIO(chunk))
    with pytest.raises(ProblemFormatError) as info:
        decode_problem(buf.getvalue(), "application/x-protobuf")
    assert info.value.message.startswith("AZQ105") and "5000 digits" in info.value.message


def test_canonical_initial_configuration_keys_are_kept():
    doc = b'{"cost_function": {"type": "pubo", "terms": [], "initial_configuration": {"0": 1, "10": 0, "2147483647": 1}}}'
    assert decode_problem(doc).initial_configuration == {0: 1, 10: 0, 2147483647: 1}


terms_strategy = st.lists(
    st.tuples(
        st.floats(allow_nan=False, allow_infinity=False, width=32, min_value=-1e6, max_value=1e6),
        st.lists(st.integers(min_value=0, max_value=30), max_size=4, unique=True),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(terms=terms_strategy, ising=st.booleans())
def test_json_round_trip(terms, ising):
    kind = "ising" if ising else "pubo"
    p = decode_problem(encode_json(problem_document(kind, terms)))
    assert [(c, tuple(sorted(ids))) for c, ids in p.terms()] == [(float(c), tuple(sorted(ids))) for c, ids in terms]


@settings(max_examples=40, deadline=None)
@given(terms=terms_strategy, ising=st.booleans())
def test_protobuf_round_trip(terms, ising):
    kind = "ising" if ising else "pubo"
    p = decode_problem(encode_protobuf(kind, terms), "application/x-protobuf")
    assert [(c, tuple(sorted(ids))) for c, ids in p.terms()] == [(float(c), tuple(sorted(ids))) for c, ids in terms]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), content_type=st.sampled_from([None, "application/json", "application/x-protobuf"]))
def test_random_bytes_never_crash_the_decoder(data, content_type):
    try:
        decode_problem(data, content_type)
    except ProblemFormatError:
        pass


@settings(max_examples=150, deadline=None)
@given(doc=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["cost_function", "type", "terms", "c", "ids", "terms_slc", "initial_configuration", "metadata"]),
        children, max_size=4),
    max_leaves=20))
def test_random_json_never_crashes_the_decoder(doc):
    try:
        decode_problem(json.dumps(doc).encode())
    except ProblemFormatError:
        pass


def test_variable_ids_include_initial_configuration_only_ids():
    p = decode_problem(encode_json(problem_document("pubo", [(1, [2])], initial_configuration={5: 1})))
    assert np.array_equal(p.variable_ids(), [2, 5])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**31 - 1) | st.integers(0, 3000), max_size=300))
def test_distinct_ids_and_their_positions_match_sorting_whatever_the_numbering(values):
    """The table path (ids within a few times their count) and the sorting path give the same answers."""
    ids = np.asarray(values, np.int64)
    distinct = distinct_ids(ids)
    assert distinct.dtype == np.int64 and np.array_equal(distinct, np.unique(ids))
    positions = id_positions(distinct, ids)
    assert positions.dtype == np.int64 and np.array_equal(distinct[positions], ids)


def test_ids_numbered_from_0_are_looked_up_without_sorting(monkeypatch):
    empty = np.zeros(0, np.int64)
    assert distinct_ids(empty).shape == (0,) and id_positions(empty, empty).shape == (0,)

    def no_sorting(*args, **kwargs):
        raise AssertionError("sorted")

    monkeypatch.setattr(np, "unique", no_sorting)
    monkeypatch.setattr(np, "searchsorted", no_sorting)
    ids = np.tile(np.arange(800, dtype=np.int64), 48)[::-1].copy()
    assert np.array_equal(distinct_ids(ids), np.arange(800)) and np.array_equal(id_positions(np.arange(800), ids), ids)
