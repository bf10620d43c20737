"""Problem / Term / SlcTerm: the SDK's model and its exact JSON layout, numpy 2 scalars, protobuf through contracts."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from contracts.problems import decode_problem
from services.client.optimization import (
    ContentType,
    GroupType,
    Problem,
    ProblemType,
    SlcTerm,
    Term,
)
from tests.reference import reference_cost

REFERENCE = [(-3, [1, 0]), (5, [2, 0]), (9, [2, 1]), (2, [3, 0]), (-4, [3, 1]), (4, [3, 2])]  # SDK test_job.py


def reference_problem(**kw) -> Problem:
    return Problem(name="test", terms=[Term(c=c, indices=i) for c, i in REFERENCE], problem_type=ProblemType.pubo, **kw)


# -- the SDK's own serialisation tests (tests/unit/test_optimization.py, release/v0.27.258160) ---------------------

def test_serialization_with_slc_terms_is_the_sdk_string():
    terms = [Term(c=i, indices=[i, i + 1]) for i in range(2)]
    terms.append(SlcTerm([Term(c=0, indices=[0]), Term(c=1, indices=[1]), Term(c=-5, indices=[])], c=1))
    problem = Problem(name="test", terms=terms)
    expected = json.dumps({"metadata": {"name": "test"}, "cost_function": {
        "version": "1.0", "type": "ising_grouped",
        "terms": [{"c": 0, "ids": [0, 1]}, {"c": 1, "ids": [1, 2]}],
        "terms_slc": [{"c": 1, "terms": [{"c": 0, "ids": [0]}, {"c": 1, "ids": [1]}, {"c": -5, "ids": []}]}]}})
    assert problem.serialize() == expected
    assert problem.problem_type is ProblemType.ising_grouped


def test_serialization_with_initial_configuration_is_the_sdk_string():
    problem = Problem(name="test", terms=[Term(c=i, indices=[i, i + 1]) for i in range(2)],
                      init_config={"0": -1, "1": 1, "2": -1})
    expected = json.dumps({"metadata": {"name": "test"}, "cost_function": {
        "version": "1.1", "type": "ising", "terms": [{"c": 0, "ids": [0, 1]}, {"c": 1, "ids": [1, 2]}],
        "initial_configuration": {"0": -1, "1": 1, "2": -1}}})
    assert problem.serialize() == expected


def test_seed_problem_layout_and_blob():
    problem = Problem(name="MyOptimizationJob", problem_type=ProblemType.ising)
    problem.add_term(c=-9, indices=[0])
    problem.add_term(c=-3, indices=[1, 0])
    problem.add_term(c=5, indices=[2, 0])
    text = ('{"metadata": {"name": "MyOptimizationJob"}, "cost_function": {"version": "1.0", "type": "ising", '
            '"terms": [{"c": -9, "ids": [0]}, {"c": -3, "ids": [1, 0]}, {"c": 5, "ids": [2, 0]}]}}')
    assert problem.serialize() == text
    blob = problem.to_blob()
    assert blob[:2] == b"\x1f\x8b" and gzip.decompress(blob).decode() == text
    assert problem.evaluate({"0": 1, "1": 1, "2": -1}) == -17


def test_name_defaults_and_problem_type_enum_matches_sdk():
    assert Problem(name=None).name == "Optimization problem"
    assert [(t.name, t.value) for t in ProblemType] == [("pubo", "0"), ("ising", "1"), ("pubo_grouped", "2"),
                                                        ("ising_grouped", "3")]
    assert Problem("p", problem_type="pubo").problem_type is ProblemType.pubo  # names are accepted too
    assert ContentType.protobuf == "application/x-protobuf"


def test_terms_keep_sdk_shapes_and_checks():
    term = Term([0, 1], c=2)  # positional indices, as the SDK's add_slc_term calls it
    assert term.to_dict() == {"c": 2, "ids": [0, 1]} and repr(term) == "{'c': 2, 'ids': [0, 1]}"
    assert Term(indices=[3], w=1.5).c == 1.5  # legacy `w`
    assert Term(c=1) == Term(c=1, indices=[])
    with pytest.raises(RuntimeError, match="Cost should be provided"):
        Term(indices=[1])
    with pytest.raises(RuntimeError, match="c must be a float or int value"):
        Term(indices=[1], c="3")
    with pytest.raises(RuntimeError, match="c must be a float or int value"):
        Term(indices=[1], c=True)


@pytest.mark.parametrize("value", [np.float64(2.5), np.int64(-3), np.float32(0.5), np.int8(4), np.array([7.0]),
                                   [np.int32(6)]])
def test_numpy_2_scalars_become_python_numbers(value):
    term = Term(c=value, indices=[0])
    assert type(term.c) in (int, float)
    assert json.loads(Problem("n", terms=[term]).serialize())["cost_function"]["terms"][0]["c"] == pytest.approx(term.c)


def test_slc_validation_messages():
    with pytest.raises(ValueError, match="like terms must be combined"):
        SlcTerm([Term(c=i + 2, indices=[i % 2]) for i in range(3)], c=1)
    with pytest.raises(ValueError, match="terms must be linear"):
        SlcTerm([Term(c=i + 1, indices=[i, i + 1]) for i in range(2)], c=1)
    with pytest.raises(ValueError, match="like terms must be combined"):
        SlcTerm([Term(c=i, indices=[]) for i in range(1, 3)], c=1)


def test_add_slc_term_forms_and_evaluate():
    problem = Problem("g", problem_type=ProblemType.pubo)
    problem.add_term(c=1, indices=[0])
    problem.add_slc_term([(2, 0), (3, 1), (-1, None)], c=2)
    problem.add_slc_term([Term(c=1, indices=[2]), Term(c=1, indices=[])])
    problem.add_terms([Term(c=1, indices=[3]), Term(c=-1, indices=[])], term_type=GroupType.squared_linear_combination,
                      c=3)
    assert problem.problem_type is ProblemType.pubo_grouped
    doc = json.loads(problem.serialize())["cost_function"]
    assert doc["type"] == "pubo_grouped"
    assert doc["terms_slc"][0] == {"c": 2, "terms": [{"c": 2, "ids": [0]}, {"c": 3, "ids": [1]}, {"c": -1, "ids": []}]}
    config = {0: 1, 1: 0, 2: 1, 3: 0}
    # 1 + 2·(2−1)² + 1·(1+1)² + 3·(0−1)²
    assert problem.evaluate(config) == 1 + 2 + 4 + 3
    assert problem.evaluate(config) == pytest.approx(reference_cost(decode_problem(problem.to_blob()), config))


def test_set_fixed_variables_matches_the_original_cost():
    problem = reference_problem(init_config={"0": 1, "1": 0, "2": 1, "3": 0})
    problem.add_slc_term([(1, 0), (2, 3), (-1, None)], c=2)
    fixed = problem.set_fixed_variables({"1": 1, 3: 0})
    assert fixed.init_config == {"0": 1, "2": 1}
    for x0 in (0, 1):
        for x2 in (0, 1):
            full = {0: x0, 1: 1, 2: x2, 3: 0}
            assert fixed.evaluate({0: x0, 2: x2}) == pytest.approx(problem.evaluate(full))
    with pytest.raises(RuntimeError, match="fixed_variables is empty"):
        problem.set_fixed_variables({})


def test_float_coefficients_and_numpy_ids_serialise():
    problem = Problem("f", terms=[Term(c=2.5, indices=[np.int64(0), 1]), Term(c=2.0, indices=[])])
    terms = json.loads(problem.serialize())["cost_function"]["terms"]
    assert terms == [{"c": 2.5, "ids": [0, 1]}, {"c": 2, "ids": []}]  # integral floats are written as integers


def test_from_json_round_trip():
    problem = reference_problem(init_config={"0": 1})
    problem.add_slc_term([(1, 0), (1, 1)])
    back = Problem.from_json(problem.serialize())
    assert back.name == "test" and back.problem_type is ProblemType.pubo_grouped
    assert back.terms == problem.terms and back.init_config == {"0": 1}
    assert [s.to_dict() for s in back.terms_slc] == [s.to_dict() for s in problem.terms_slc]
    assert Problem.from_json(problem.serialize(), name="other").name == "other"


def test_protobuf_blob_decodes_to_the_same_problem():
    terms = [Term(c=(i % 7) - 3.5, indices=[i, (i * 7 + 1) % 2500]) for i in range(2500)]
    problem = Problem("pb", terms=terms, problem_type=ProblemType.pubo, content_type=ContentType.protobuf)
    blob = problem.to_blob()
    assert blob[:2] == b"\x1f\x8b"
    decoded = decode_problem(blob, "application/x-protobuf")
    assert decoded.problem_type == "pubo" and decoded.name == "pb" and decoded.n_terms == 2500
    assert [c for c, _ in decoded.terms()] == [t.c for t in terms]  # every term once, in order (no SDK chunk bug)
    assert len(problem.serialize()) == 3  # serialize(): the protobuf messages, 1000 terms each


def test_protobuf_refuses_slc_terms():
    problem = Problem("pb", content_type=ContentType.protobuf)
    problem.add_slc_term([(1, 0), (1, 1)])
    assert isinstance(problem.serialize(), str)  # the SDK falls back to JSON here...
    with pytest.raises(ValueError, match="protobuf"):
        problem.to_blob()  # ...but would crash on upload; we say why


def test_is_large_and_get_terms():
    problem = reference_problem()
    assert not problem.is_large()
    assert problem.get_terms(3) == [Term(c=2, indices=[3, 0]), Term(c=-4, indices=[3, 1]), Term(c=4, indices=[3, 2])]
    with pytest.raises(Exception, match="no terms"):
        Problem("empty").get_terms(0)
