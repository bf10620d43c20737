"""Property-based tests (hypothesis) for the wire codecs, beyond test_problems.py's plain-term round trips and raw
random bytes: grouped (SLC) terms and initial configurations, every container (plain, gzip, protobuf tar with and
without gzip, several chunks), JSON/protobuf agreement, the cost a decoded problem assigns, the results document, and
hostile bytes that get past the outer layers (valid gzip or tar around garbage, mutated valid encodings). The decoder
may only ever raise its own ProblemFormatError.
"""
from __future__ import annotations

import gzip
import io
import json
import math
import tarfile
from unittest import mock

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from contracts import problems
from contracts.errors import ContractError
from contracts.problems import (
    ProblemFormatError,
    ProblemLimits,
    decode_problem,
    encode_json,
    encode_protobuf,
    problem_document,
)
from contracts.results import encode_result, make_result, solution_entry
from tests.reference import reference_cost

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

coeff = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6, width=32)
var_id = st.integers(min_value=0, max_value=40)
terms_st = st.lists(st.tuples(coeff, st.lists(var_id, max_size=4, unique=True)), max_size=25)
# an SLC group: inner terms with one distinct id each, optionally one constant (no id)
slc_group = st.tuples(
    coeff,
    st.tuples(st.lists(st.tuples(coeff, var_id), max_size=5, unique_by=lambda t: t[1]), st.one_of(st.none(), coeff)),
).map(lambda g: (g[0], [(c, [i]) for c, i in g[1][0]] + ([(g[1][1], [])] if g[1][1] is not None else [])))


def _canonical(terms):
    return [(float(c), tuple(sorted(ids))) for c, ids in terms]


@FAST
@given(terms=terms_st, groups=st.lists(slc_group, min_size=1, max_size=4), ising=st.booleans(),
       compress=st.booleans(), data=st.data())
def test_grouped_problem_with_initial_configuration_round_trips(terms, groups, ising, compress, data):
    values = [-1, 1] if ising else [0, 1]
    used = sorted({i for _, ids in terms for i in ids} | {i for _, inner in groups for _, ids in inner for i in ids})
    init = {i: data.draw(st.sampled_from(values)) for i in used}
    doc = problem_document("ising" if ising else "pubo", terms, slc_terms=groups, initial_configuration=init or None,
                           name="grouped")
    p = decode_problem(encode_json(doc, compress=compress), "application/json")
    assert p.problem_type == ("ising_grouped" if ising else "pubo_grouped") and p.name == "grouped"
    assert _canonical(p.terms()) == _canonical(terms)
    assert [float(c) for c in p.slc_coeffs] == [float(c) for c, _ in groups]
    decoded_groups = [
        [(float(p.slc_term_coeffs[k]), int(p.slc_term_ids[k])) for k in range(p.slc_offsets[g], p.slc_offsets[g + 1])]
        for g in range(len(groups))
    ]
    assert decoded_groups == [[(float(c), ids[0] if ids else -1) for c, ids in inner] for _, inner in groups]
    assert (p.initial_configuration or {}) == init
    # the decoded problem assigns every configuration the cost the document defines
    if used:
        config = {i: data.draw(st.sampled_from(values)) for i in used}
        expected = sum(c * math.prod(config[i] for i in ids) for c, ids in terms)
        expected += sum(gc * sum(c * (config[ids[0]] if ids else 1) for c, ids in inner) ** 2 for gc, inner in groups)
        assert math.isclose(reference_cost(p, config), expected, rel_tol=1e-9, abs_tol=1e-6)


@FAST
@given(terms=terms_st, ising=st.booleans(), compress=st.booleans(), chunk=st.integers(min_value=1, max_value=7),
       name=st.one_of(st.none(), st.text(max_size=20)))
def test_protobuf_round_trips_in_any_chunking_and_agrees_with_json(terms, ising, compress, chunk, name):
    kind = "ising" if ising else "pubo"
    with mock.patch.object(problems, "PROTOBUF_CHUNK_TERMS", chunk):
        blob = encode_protobuf(kind, terms, name=name, compress=compress)
    # the content type is the only sign on the wire; a tar header is sniffed when it is lost
    for content_type in ("application/x-protobuf", None):
        p = decode_problem(blob, content_type)
        assert p.problem_type == kind and p.name == name
        assert _canonical(p.terms()) == _canonical(terms)
    from_json = decode_problem(encode_json(problem_document(kind, terms)))
    assert _canonical(from_json.terms()) == _canonical(p.terms())


solutions_st = st.lists(
    st.tuples(st.dictionaries(st.integers(min_value=0, max_value=10**6), st.sampled_from([-1, 0, 1]), max_size=8),
              st.floats(allow_nan=False, allow_infinity=False)),
    min_size=1, max_size=10,
)
params_st = st.dictionaries(st.text(max_size=10), st.one_of(st.integers(), st.floats(allow_nan=False,
                            allow_infinity=False), st.text(max_size=10), st.booleans()), max_size=5)


@FAST
@given(solutions=solutions_st, params=params_st)
def test_results_document_round_trips(solutions, params):
    result = make_result([solution_entry(conf, cost) for conf, cost in solutions], params)
    back = json.loads(encode_result(result))
    assert back == result
    costs = [s["cost"] for s in back["solutions"]]
    assert costs == sorted(costs) and back["cost"] == min(cost for _, cost in solutions)
    assert back["configuration"] == back["solutions"][0]["configuration"]
    assert all(isinstance(k, str) for s in back["solutions"] for k in s["configuration"])
    assert back["version"] == "1.0" and back["parameters"] == params


def _decode_only_format_errors(data: bytes, content_type: str | None, limits: ProblemLimits | None = None) -> None:
    try:
        decode_problem(data, content_type, **({"limits": limits} if limits else {}))
    except ProblemFormatError as exc:
        assert exc.message.startswith("AZQ"), exc.message
        assert isinstance(exc, ContractError) and exc.code in ("InvalidInputData", "ProblemTooLarge")


content_types = st.sampled_from([None, "application/json", "application/x-protobuf"])


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=600), content_type=content_types)
def test_garbage_inside_valid_gzip_raises_only_format_errors(payload, content_type):
    _decode_only_format_errors(gzip.compress(payload), content_type)


@settings(max_examples=200, deadline=None)
@given(members=st.lists(st.tuples(st.text(min_size=1, max_size=30), st.binary(max_size=300)), min_size=1, max_size=3),
       compress=st.booleans())
def test_garbage_chunks_inside_a_valid_tar_raise_only_format_errors(members, compress):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if compress else "w") as tar:
        for name, payload in members:
            info = tarfile.TarInfo(name.replace("\x00", "_") or "x")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    _decode_only_format_errors(buf.getvalue(), "application/x-protobuf")


def _valid_encodings() -> list[tuple[bytes, str]]:
    doc = problem_document("pubo", [(1.5, [0, 1]), (-2, [2]), (3, [])], slc_terms=[(2.0, [(1, [0]), (-1, [])])],
                           initial_configuration={0: 1, 1: 0, 2: 1})
    terms = [(float(i % 5) - 2, [i % 7, (i + 3) % 7]) for i in range(12)]
    with mock.patch.object(problems, "PROTOBUF_CHUNK_TERMS", 5):
        return [
            (encode_json(doc, compress=False), "application/json"),
            (encode_json(doc), "application/json"),
            (encode_protobuf("ising", terms, name="p", compress=False), "application/x-protobuf"),
            (encode_protobuf("pubo", terms, name="p"), "application/x-protobuf"),
        ]


VALID = _valid_encodings()


@settings(max_examples=300, deadline=None)
@given(which=st.integers(min_value=0, max_value=len(VALID) - 1), data=st.data())
def test_mutated_valid_encodings_raise_only_format_errors(which, data):
    """Bit flips, byte overwrites and truncations of real inputs reach the inner parsers (tar, protobuf, JSON)."""
    blob, content_type = VALID[which]
    mutated = bytearray(blob)
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        pos = data.draw(st.integers(min_value=0, max_value=len(mutated) - 1))
        mutated[pos] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.one_of(st.none(), st.integers(min_value=0, max_value=len(mutated))))
    if cut is not None:
        del mutated[cut:]
    assume(bytes(mutated) != blob)
    _decode_only_format_errors(bytes(mutated), content_type,
                               ProblemLimits(max_input_bytes=1 << 20, max_terms=1000, max_variables=1000))


def test_costs_that_overflow_float64_are_refused_at_decode():
    """Each coefficient is finite, but together they reach ±inf: a format error, not a solver crash."""
    big = problem_document("pubo", [(-1e308, [0]), (-1e308, [1])])
    grouped = problem_document("pubo", [(1, [0])], slc_terms=[(1e300, [(1e5, [0]), (1e5, [1])])])
    for doc in (big, grouped):
        try:
            decode_problem(encode_json(doc))
        except ProblemFormatError as exc:
            assert exc.message.startswith("AZQ103") and "overflow" in exc.message
        else:
            raise AssertionError("an overflowing problem decoded")
    pb = encode_protobuf("ising", [(1.5e308, [0]), (1.5e308, [1])])
    try:
        decode_problem(pb, "application/x-protobuf")
    except ProblemFormatError as exc:
        assert "overflow" in exc.message
    else:
        raise AssertionError("an overflowing protobuf problem decoded")
    # large but representable: still decodes
    assert decode_problem(encode_json(problem_document("pubo", [(-8e307, [0]), (-8e307, [1])]))).n_terms == 2


# values a JSON term may hold: the bulk path must take exactly what the one-by-one path takes, or step aside
json_scalar = st.one_of(coeff, st.integers(-2**70, 2**70), st.booleans(), st.none(), st.text(max_size=2),
                        st.sampled_from([1.0, -0.0, 2**63, -1, 10**400]))
loose_term = st.one_of(
    st.builds(lambda c, ids: {"c": c, "ids": ids}, st.one_of(coeff, json_scalar), st.lists(st.one_of(var_id, json_scalar), max_size=3)),
    st.fixed_dictionaries({"c": coeff}), st.lists(var_id, max_size=2), json_scalar,
)


@FAST
@given(terms=st.lists(st.one_of(st.tuples(coeff, st.lists(var_id, max_size=2)).map(lambda t: {"c": t[0], "ids": t[1]}),
                                loose_term), max_size=12), ising=st.booleans())
def test_bulk_term_path_agrees_with_the_one_by_one_path(terms, ising):
    from contracts.problems.json_codec import add_terms, quadratic_terms
    from contracts.problems.model import DEFAULT_LIMITS, _TermBuilder
    bulk = quadratic_terms(terms, DEFAULT_LIMITS)
    builder = _TermBuilder(ising, DEFAULT_LIMITS)
    try:
        add_terms(builder, terms, DEFAULT_LIMITS)
    except ProblemFormatError:
        assert bulk is None  # whatever the one-by-one path refuses, the bulk path leaves to it
        return
    if bulk is None:
        return  # a shape the bulk path leaves to the one-by-one path (repeated ids, three ids)
    coeffs, offsets, ids = bulk
    assert coeffs.tolist() == builder.coeffs and offsets.tolist() == builder.offsets and ids.tolist() == builder.ids


def test_bulk_term_path_takes_the_common_input():
    from contracts.problems.json_codec import quadratic_terms
    from contracts.problems.model import DEFAULT_LIMITS
    coeffs, offsets, ids = quadratic_terms([{"c": 1, "ids": [0, 1]}, {"c": -2.5, "ids": [2]}, {"c": 3, "ids": []}],
                                           DEFAULT_LIMITS)
    assert coeffs.tolist() == [1.0, -2.5, 3.0] and offsets.tolist() == [0, 2, 3, 3] and ids.tolist() == [0, 1, 2]
