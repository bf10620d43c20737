"""Writers: every format round-trips what it can hold (property-based), and refuses what it cannot."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.formats import FormatError, read_bytes, read_file, write_bytes, write_file
from services.formats.model import TermModel, convert, polynomial

# Dyadic coefficients keep every rewrite here (÷2, ÷4, ×2) exact in float64, so results compare with ==.
COEFF = st.integers(-400, 400).map(lambda k: k / 4)
NONZERO = COEFF.filter(bool)


def nonzero(poly: dict) -> dict:
    return {ids: c for ids, c in poly.items() if c}


def pairs(n_max: int = 12) -> st.SearchStrategy[list[tuple[int, int]]]:
    return st.lists(st.tuples(st.integers(0, n_max), st.integers(0, n_max)).filter(lambda p: p[0] != p[1]),
                    min_size=1, max_size=30)


@st.composite
def quadratic_models(draw, kind: str | None = None, constant: bool = True, fields: bool = True) -> TermModel:
    kind = kind or draw(st.sampled_from(["ising", "pubo"]))
    terms = [(draw(COEFF), p) for p in draw(pairs())]
    if fields:
        terms += [(draw(COEFF), (i,)) for i in draw(st.lists(st.integers(0, 12), max_size=8))]
    if constant:
        terms.append((draw(NONZERO), ()))
    return TermModel(kind, terms, name="p")


@settings(max_examples=60, deadline=None)
@given(edges=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), NONZERO).filter(lambda e: e[0] != e[1]),
                      min_size=1, max_size=40))
def test_gset_round_trip(edges):
    model = TermModel("ising", [(w, (i, j)) for i, j, w in edges])
    back = read_bytes(write_bytes(model, "gset"), "gset")
    assert back.kind == "ising" and nonzero(polynomial(back)) == nonzero(polynomial(model))


@settings(max_examples=60, deadline=None)
@given(model=quadratic_models(kind="pubo", constant=False))
def test_bqp_round_trip(model):
    back = read_bytes(write_bytes(model, "bqp"), "bqp")
    assert back.kind == "pubo" and nonzero(polynomial(back)) == nonzero(polynomial(model))


@settings(max_examples=60, deadline=None)
@given(model=quadratic_models())
def test_qubo_round_trip_keeps_the_constant_and_rewrites_ising(model):
    back = read_bytes(write_bytes(model, "qubo"), "qubo")
    assert back.kind == "pubo"
    assert nonzero(polynomial(back)) == nonzero(convert(polynomial(model), model.kind, "pubo"))


@settings(max_examples=60, deadline=None)
@given(model=quadratic_models(),
       labels=st.lists(st.one_of(st.text(max_size=4), st.integers(-5, 5), st.tuples(st.text(max_size=2),
                                                                                     st.integers(0, 3))),
                       min_size=13, max_size=13, unique=True))
def test_bqm_json_round_trip_keeps_labels_vartype_and_offset(model, labels):
    model.labels = dict(enumerate(labels))
    back = read_bytes(write_bytes(model, "bqm-json"), "bqm-json")
    assert back.kind == model.kind

    def by_label(m: TermModel) -> dict:
        return {tuple(sorted(map(repr, (m.label(i) for i in ids)))): c for ids, c in nonzero(polynomial(m)).items()}

    assert by_label(back) == by_label(model)
    assert {back.label(v) for v in back.variable_ids()} == {model.label(v) for v in model.variable_ids()}


TERM = st.tuples(COEFF, st.lists(st.integers(0, 2**31 - 1), max_size=5, unique=True).map(tuple))


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["ising", "pubo"]), terms=st.lists(TERM, min_size=1, max_size=20),
       slc=st.lists(st.tuples(NONZERO, st.lists(st.tuples(NONZERO, st.integers(0, 9)), min_size=1, max_size=4,
                                                unique_by=lambda t: t[1])), max_size=3),
       init=st.booleans(), gz=st.booleans())
def test_qio_round_trip_keeps_everything(tmp_path_factory, kind, terms, slc, init, gz):
    slc_terms = [(c, [(a, (i,)) for a, i in inner]) for c, inner in slc]
    ids = sorted({i for _, t in terms for i in t})
    configuration = {i: (1 if kind == "ising" else 0) for i in ids[:3]} if init and ids else None
    model = TermModel(kind, list(terms), slc_terms, name="round trip", initial_configuration=configuration)
    path = tmp_path_factory.mktemp("qio") / ("p.json.gz" if gz else "p.json")
    assert write_file(model, path) == "qio"
    back = read_file(path)
    assert (back.kind, back.name, back.initial_configuration) == (kind, "round trip", configuration)
    assert back.slc_terms == slc_terms and polynomial(back) == polynomial(model)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["ising", "pubo"]), terms=st.lists(TERM, min_size=1, max_size=2500))
def test_protobuf_round_trip_over_several_chunks(kind, terms):
    model = TermModel(kind, list(terms), name="pb")
    back = read_bytes(write_bytes(model, "protobuf", compress=True), "protobuf")
    assert back.kind == kind and polynomial(back) == polynomial(model)


# -- what a format cannot hold is refused, never dropped -----------------------------------------------------------

@pytest.mark.parametrize(("fmt", "model", "message"), [
    ("gset", TermModel("ising", [(1.0, (0, 1)), (2.0, (0,))]), "this problem has 1 linear terms"),
    ("gset", TermModel("pubo", [(1.0, (0, 1))]), "Gset holds a max-cut graph"),
    ("bqp", TermModel("pubo", [(1.0, (0, 1)), (3.0, ())]), "has no constant term"),
    ("qubo", TermModel("pubo", [(1.0, (0, 1, 2))]), "qbsolv .qubo holds terms of degree ≤ 2"),
    ("bqm-json", TermModel("ising", [(1.0, (0, 1, 2, 3))]), "degree 4"),
    ("protobuf", TermModel("ising", [(1.0, (0, 1))], [(1.0, [(1.0, (0,))])]), "no SLC terms"),
    ("protobuf", TermModel("ising", [(1.0, (0, 1))], initial_configuration={0: 1}), "no initial configuration"),
])
def test_writers_refuse_what_the_format_cannot_hold(fmt, model, message):
    with pytest.raises(FormatError, match=message.replace(".", r"\.")):
        write_bytes(model, fmt)


def test_slc_terms_are_expanded_exactly_for_quadratic_formats():
    # 0.5·(2x0 − x1 + 3)² + x0·x1 over pubo: expanded, x² = x
    model = TermModel("pubo", [(1.0, (0, 1))], [(0.5, [(2.0, (0,)), (-1.0, (1,)), (3.0, ())])])
    back = read_bytes(write_bytes(model, "qubo"), "qubo")
    for x0 in (0, 1):
        for x1 in (0, 1):
            expected = 0.5 * (2 * x0 - x1 + 3) ** 2 + x0 * x1
            value = sum(c * (x0 if 0 in ids else 1) * (x1 if 1 in ids else 1) for c, ids in back.terms)
            assert value == expected


def test_write_file_names(tmp_path):
    model = TermModel("ising", [(1.0, (0, 1))])
    with pytest.raises(FormatError, match="say --format gset or bqp"):
        write_file(model, tmp_path / "out.txt")
    assert write_file(model, tmp_path / "out.txt", "gset") == "gset"
    assert (tmp_path / "out.txt").read_text() == "2 1\n1 2 1\n"
    assert write_file(model, tmp_path / "out.qubo.gz") == "qubo"
    assert read_file(tmp_path / "out.qubo.gz").kind == "pubo"
    with pytest.raises(FormatError, match="cannot write"):
        write_file(model, tmp_path / "missing" / "out.gset")
