"""Problem ↔ dimod: BQMs and polynomials round-trip (property-based) with offsets, both vartypes and labels that
are not QIO ids; results map back to the labels; files go through Problem.read / write."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import IN_CI

try:
    import dimod
except ImportError:  # the `ocean` extra; `make test` installs it, so CI never gets here
    if IN_CI:
        raise
    pytest.skip("dimod is not installed: pip install -e '.[ocean]'", allow_module_level=True)

from services.client.optimization import Problem, ProblemType, SlcTerm, Term
from services.formats import FormatError

DATA = Path(__file__).resolve().parents[2] / "data" / "formats"
COEFF = st.integers(-400, 400).map(lambda k: k / 4)  # exact through every rewrite
LABEL = st.one_of(st.integers(0, 50), st.integers(-5, -1), st.text(max_size=3),
                  st.tuples(st.text(max_size=2), st.integers(0, 2)), st.just(("a", ("nested", 1))))
VARTYPE = st.sampled_from([dimod.SPIN, dimod.BINARY])


@st.composite
def bqms(draw) -> dimod.BinaryQuadraticModel:
    labels = draw(st.lists(LABEL, min_size=0, max_size=8, unique=True))
    bqm = dimod.BinaryQuadraticModel(draw(VARTYPE))
    for v in labels:
        bqm.add_variable(v, draw(COEFF))
    for u, v in itertools.combinations(labels, 2):
        if draw(st.booleans()):
            bqm.add_interaction(u, v, draw(COEFF))
    bqm.offset = draw(COEFF)
    return bqm


@settings(max_examples=150, deadline=None)
@given(bqm=bqms())
def test_bqm_round_trip(bqm):
    problem = Problem.from_bqm(bqm)
    assert problem.problem_type is (ProblemType.ising if bqm.vartype is dimod.SPIN else ProblemType.pubo)
    back = problem.to_bqm()
    assert back == bqm and back.vartype is bqm.vartype and set(back.variables) == set(bqm.variables)
    # every labelled sample has the same energy as a QIO configuration of the problem
    for values in itertools.islice(itertools.product(sorted(bqm.vartype.value), repeat=len(bqm.variables)), 16):
        sample = dict(zip(bqm.variables, values))
        assert problem.evaluate(problem.to_ids(sample)) == bqm.energy(sample)


@settings(max_examples=80, deadline=None)
@given(bqm=bqms(), vartype=VARTYPE)
def test_to_bqm_in_the_other_vartype(bqm, vartype):
    assert Problem.from_bqm(bqm).to_bqm(vartype) == bqm.change_vartype(vartype, inplace=False)


@st.composite
def polynomials(draw) -> dimod.BinaryPolynomial:
    labels = draw(st.lists(LABEL, min_size=1, max_size=7, unique=True))
    terms = {tuple(draw(st.lists(st.sampled_from(labels), max_size=5, unique=True))): draw(COEFF)
             for _ in range(draw(st.integers(1, 10)))}
    return dimod.BinaryPolynomial(terms, draw(VARTYPE))


@settings(max_examples=150, deadline=None)
@given(poly=polynomials(), vartype=VARTYPE)
def test_polynomial_round_trip(poly, vartype):
    problem = Problem.from_polynomial(poly)
    assert problem.to_polynomial() == poly
    assert problem.to_polynomial(vartype) == (poly.to_spin() if vartype is dimod.SPIN else poly.to_binary())
    assert Problem.from_polynomial(poly, vartype).to_polynomial() == problem.to_polynomial(vartype)


def test_plain_mapping_needs_a_vartype_and_repeats_collapse():
    with pytest.raises(ValueError, match="pass vartype"):
        Problem.from_polynomial({("a", "b"): 1.0})
    spin = Problem.from_polynomial({("a", "a", "b"): 2.0, ("a",): 1.0}, "SPIN")  # s·s = 1
    assert spin.to_polynomial() == dimod.BinaryPolynomial({("b",): 2.0, ("a",): 1.0}, "SPIN")
    binary = Problem.from_polynomial({("a", "a", "b"): 2.0}, dimod.BINARY)  # x·x = x
    assert binary.to_polynomial() == dimod.BinaryPolynomial({("a", "b"): 2.0}, "BINARY")
    with pytest.raises(ValueError, match="vartype must be SPIN"):
        Problem.from_polynomial({("a",): 1.0}, "DISCRETE")


def test_labels_map_results_both_ways():
    bqm = dimod.BinaryQuadraticModel({"x": 1.0, ("y", 2): -1.0}, {("x", ("y", 2)): 0.5}, 0.0, "SPIN")
    problem = Problem.from_bqm(bqm)
    assert problem.labels == {0: "x", 1: ("y", 2)}
    assert problem.to_labels({"0": -1, "1": 1}) == {"x": -1, ("y", 2): 1}
    assert problem.to_ids({"x": -1, ("y", 2): 1}) == {0: -1, 1: 1}
    integral = Problem.from_bqm(dimod.BinaryQuadraticModel({3: 1.0, 7: 2.0}, {}, 0.0, "BINARY"))
    assert integral.labels is None and integral.to_labels({"3": 1, "7": 0}) == {3: 1, 7: 0}
    assert integral.set_fixed_variables({3: 1}).labels is None
    assert problem.set_fixed_variables({0: 1}).labels == problem.labels


def test_slc_and_higher_degree_problems():
    problem = Problem("slc", terms=[Term(c=1, indices=[0, 1]),
                                    SlcTerm([Term(c=2, indices=[0]), Term(c=-1, indices=[1]), Term(c=3, indices=[])],
                                            c=0.5)], problem_type=ProblemType.pubo)
    bqm = problem.to_bqm()
    for x0, x1 in itertools.product((0, 1), repeat=2):
        assert bqm.energy({0: x0, 1: x1}) == problem.evaluate({0: x0, 1: x1})
    cubic = Problem("cubic", terms=[Term(c=1, indices=[0, 1, 2])], problem_type=ProblemType.ising)
    with pytest.raises(ValueError, match="degree 3"):
        cubic.to_bqm()
    assert cubic.to_polynomial() == dimod.BinaryPolynomial({(0, 1, 2): 1.0}, "SPIN")


def test_dimod_reads_and_writes_our_bqm_json(tmp_path):
    bqm = dimod.BinaryQuadraticModel({"a": -1.0, ("b", 1): 0.25, 7: 0.0}, {("a", ("b", 1)): -1.5}, 2.5, "SPIN")
    (tmp_path / "dimod.json").write_text(json.dumps(bqm.to_serializable()))
    problem = Problem.read(tmp_path / "dimod.json")
    assert problem.name == "dimod" and problem.to_bqm() == bqm
    assert problem.write(tmp_path / "ours.bqm.json") == "bqm-json"
    assert dimod.BinaryQuadraticModel.from_serializable(json.loads((tmp_path / "ours.bqm.json").read_text())) == bqm


def test_read_and_write_benchmark_files(tmp_path):
    g11 = Problem.read(DATA / "G11.txt")
    assert (g11.name, g11.problem_type, len(g11.terms)) == ("G11", ProblemType.ising, 1600)
    bqp = Problem.read(DATA / "bqp50_1_2.txt", instance=2)
    assert bqp.problem_type is ProblemType.pubo and bqp.to_bqm() == Problem.read(DATA / "bqp50_2.json.gz").to_bqm()
    assert g11.write(tmp_path / "g11.qubo") == "qubo"
    assert Problem.read(tmp_path / "g11.qubo").to_bqm() == g11.to_bqm(dimod.BINARY)
    with pytest.raises(FormatError, match="line 1"):
        Problem.read(DATA / "bqp50_1_2.txt")
