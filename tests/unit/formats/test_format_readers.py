"""Every file reader on a small file, on the real benchmark files (against the project's own conversions), and on
malformed input: the error names the file and the line."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from services.formats import FormatError, detect_format, lost_in, read_bytes, read_file, write_bytes
from services.formats.model import TermModel, polynomial

DATA = Path(__file__).resolve().parents[2] / "data" / "formats"


def poly(model: TermModel) -> dict:
    return {ids: c for ids, c in polynomial(model).items() if c}


# -- small files -------------------------------------------------------------------------------------------------

def test_gset_small_file():
    model = read_bytes(b"3 3\n1 2 1\n2 3 -1\n\n1 3 2.5\n", "gset")
    assert model.kind == "ising"
    assert model.terms == [(1.0, (0, 1)), (-1.0, (1, 2)), (2.5, (0, 2))]


def test_bqp_small_file_is_maximisation_of_the_symmetric_q():
    # max x'Qx with Q = [[3, -2], [-2, 5]] listed as its upper triangle: 3 x0 + 5 x1 - 4 x0 x1
    model = read_bytes(b"1\n2 3\n1 1 3\n2 2 5\n1 2 -2\n", "bqp")
    assert model.kind == "pubo"
    assert poly(model) == {(0,): -3.0, (1,): -5.0, (0, 1): 4.0}


def test_qubo_small_file_with_comments_and_offset():
    text = b"c a small QUBO\nc offset -1.5\np qubo 0 3 2 1\n0 0 2\n2 2 -1\n0 2 4\n"
    model = read_bytes(text, "qubo")
    assert model.kind == "pubo"
    assert poly(model) == {(): -1.5, (0,): 2.0, (2,): -1.0, (0, 2): 4.0}


def test_bqm_json_small_file_keeps_labels_vartype_and_offset():
    text = (b'{"type": "BinaryQuadraticModel", "version": {"bqm_schema": "3.0.0"}, "use_bytes": false, '
            b'"variable_labels": ["a", ["b", 1], 7], "variable_type": "SPIN", "offset": 2.5, '
            b'"linear_biases": [-1.0, 0.0, 0.0], "quadratic_biases": [-1.5], "quadratic_head": [0], '
            b'"quadratic_tail": [1]}')
    model = read_bytes(text, "bqm-json")
    assert model.kind == "ising" and model.labels == {0: "a", 1: ("b", 1), 2: 7}
    assert polynomial(model) == {(): 2.5, (0, 1): -1.5, (0,): -1.0, (2,): 0.0}  # the lone variable 7 is kept


def test_qio_json_gzip_and_protobuf(tmp_path):
    model = read_file(DATA / "bqp50_1.json.gz")
    assert model.name == "bqp50_1" and model.kind == "pubo" and len(model.terms) == 111
    (tmp_path / "p.tar.gz").write_bytes(write_bytes(model, "protobuf", compress=True))
    assert poly(read_file(tmp_path / "p.tar.gz")) == poly(model)
    plain = tmp_path / "p.json"
    plain.write_bytes(gzip.decompress(write_bytes(model, "qio", compress=True)))
    assert poly(read_file(plain)) == poly(model)


# -- the original benchmark files agree with the project's converted instances --------------------------------

def test_gset_g11_matches_its_qio_conversion():
    model = read_file(DATA / "G11.txt")
    assert model.name == "G11" and len(model.terms) == 1600
    assert poly(model) == poly(read_file(DATA / "gset_G11.json.gz"))


@pytest.mark.parametrize("instance", [1, 2])
def test_bqp50_instances_match_their_qio_conversions(instance):
    model = read_file(DATA / "bqp50_1_2.txt", instance=instance)
    assert poly(model) == poly(read_file(DATA / f"bqp50_{instance}.json.gz"))


def test_qbsolv_bqp50_1_is_the_same_instance_to_maximise():
    model = read_file(DATA / "bqp50_1.qubo")
    assert poly(model) == {ids: -c for ids, c in poly(read_file(DATA / "bqp50_1.json.gz")).items()}


def test_gzip_compressed_text_files(tmp_path):
    path = tmp_path / "G11.txt.gz"
    path.write_bytes(gzip.compress((DATA / "G11.txt").read_bytes()))
    assert detect_format(path, path.read_bytes()) == "gset"
    assert poly(read_file(path)) == poly(read_file(DATA / "G11.txt"))


# -- malformed input: every reader names the line ------------------------------------------------------------------

MALFORMED = [
    ("gset", b"", None, "the file is empty"),
    ("gset", b"3\n1 2 1\n", 1, "expected 'N M'"),
    ("gset", b"3 x\n", 1, "the edge count M must be an integer"),
    ("gset", b"3 2\n1 2 1\n2 3\n", 3, "expected an edge 'i j w', got '2 3'"),
    ("gset", b"3 2\n1 2 1\n\n2 4 1\n", 4, "vertex 4 is outside 1..3"),
    ("gset", b"3 1\n0 2 1\n", 2, "vertex 0 is outside 1..3"),
    ("gset", b"3 1\n2 2 1\n", 2, "self-loop"),
    ("gset", b"3 1\n1 2 heavy\n", 2, "weight must be a number, got 'heavy'"),
    ("gset", b"3 1\n1 2 nan\n", 2, "weight must be finite"),
    ("gset", b"3 2\n1 2 1\n", 2, "declares 2 edges; the file has 1"),
    ("gset", b"3 1\n1 2 1\n2 3 1\n", 3, "more edges than the 1 declared"),
    ("bqp", b"two\n", 1, "the number of instances must be an integer"),
    ("bqp", b"1\n3\n", 2, "expected the header 'n nnz' of instance 1"),
    ("bqp", b"1\n3 2\n1 1 5\n", 3, "declares 2 entries; the file ends after 1"),
    ("bqp", b"1\n3 1\n1 4 5\n", 3, "index 4 is outside 1..3"),
    ("bqp", b"1\n3 1\n1 2 x\n", 3, "q must be a number"),
    ("bqp", b"2\n3 1\n1 2 5\n", 1, "holds 2 instances; choose one with --instance 1..2"),
    ("qubo", b"c nothing else\n", None, "the file is empty"),
    ("qubo", b"0 0 1\n", 1, "expected the program line"),
    ("qubo", b"c x\np qubo 0 2 1 0\n0 0 1\n0 1 1\n", 2,
     "declares 1 diagonal entries and 0 couplers; the file has 1 and 1"),
    ("qubo", b"p qubo 0 2 1 0\n2 2 1\n", 2, "node 2 is outside 0..1"),
    ("qubo", b"p qubo 0 2 1 0\n1 1\n", 2, "expected an entry 'i j q'"),
    ("qubo", b"c offset many\np qubo 0 1 0 0\n", 1, "offset must be a number"),
    ("bqm-json", b'{"type": "BinaryQuadraticModel",\n "version": }', 2, "not valid JSON"),
    ("bqm-json", b'{"type": "DiscreteQuadraticModel"}', None, "not a dimod BinaryQuadraticModel"),
    ("bqm-json", b'{"type": "BinaryQuadraticModel", "version": {"bqm_schema": "1.0.0"}}', None, "bqm_schema"),
    ("qio", b'{"cost_function": {"type": "ising", "terms": [{"c": 1, "ids": [0, 0]}]}}', None, "AZQ101"),
    ("qio", b'{"cost_function": \n{"type": "ising",, }}', None, "line 2"),
    ("protobuf", b"\x1f\x8b not gzip", None, "gzip"),
]


@pytest.mark.parametrize(("fmt", "content", "line", "message"), MALFORMED)
def test_malformed_files_name_the_line(tmp_path, fmt, content, line, message):
    path = tmp_path / f"broken.{fmt}"
    path.write_bytes(content)
    with pytest.raises(FormatError) as caught:
        read_file(path, fmt)
    error = caught.value
    assert message in str(error)
    assert error.line == line
    assert str(error).startswith(f"{path}, line {line}: " if line else f"{path}: ")


BQM_DOC = ('{"type": "BinaryQuadraticModel", "version": {"bqm_schema": "3.0.0"}, "use_bytes": false, '
           '"variable_labels": %s, "variable_type": %s, "offset": %s, "linear_biases": %s, '
           '"quadratic_biases": %s, "quadratic_head": %s, "quadratic_tail": %s}')


@pytest.mark.parametrize(("fields", "message"), [
    (('["a", "a"]', '"SPIN"', 0, "[0, 0]", "[]", "[]", "[]"), "names a variable twice"),
    (('["a"]', '"DISCRETE"', 0, "[0]", "[]", "[]", "[]"), "variable_type must be SPIN or BINARY"),
    (('["a"]', '"SPIN"', '"x"', "[0]", "[]", "[]", "[]"), "'offset' must be a finite number"),
    (('["a", "b"]', '"SPIN"', 0, "[0]", "[]", "[]", "[]"), "'linear_biases' has 1 entries; expected 2"),
    (('["a", "b"]', '"SPIN"', 0, "[0, 0]", "[1]", "[0]", "[0]"), "joins variables 0 and 0"),
    (('["a", "b"]', '"SPIN"', 0, "[0, 0]", "[1]", "[0]", "[5]"), "joins variables 0 and 5"),
    (('["a", "b"]', '"SPIN"', 0, "[0, true]", "[]", "[]", "[]"), "linear_biases[1] must be a finite number"),
    (('["a", "b"]', '"SPIN"', 0, "[0, 0]", "[1]", "[0.5]", "[1]"), "quadratic_head[0] must be a finite integer"),
])
def test_malformed_bqm_json_fields(fields, message):
    with pytest.raises(FormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_bytes((BQM_DOC % fields).encode(), "bqm-json")


def test_bad_instance_and_format_choices(tmp_path):
    with pytest.raises(FormatError, match="instance 3 asked for; the file holds 2"):
        read_file(DATA / "bqp50_1_2.txt", instance=3)
    with pytest.raises(FormatError, match="--instance applies to OR-Library bqp files only"):
        read_file(DATA / "G11.txt", instance=1)
    with pytest.raises(FormatError, match="unknown format 'mps'"):
        read_file(DATA / "G11.txt", "mps")
    with pytest.raises(FormatError, match="cannot read"):
        read_file(tmp_path / "missing.gset")
    (tmp_path / "binary.qubo").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FormatError, match="not a text file"):
        read_file(tmp_path / "binary.qubo")


# -- detection ---------------------------------------------------------------------------------------------------

# gzip with mtime=0: its header holds the time, and a test id that changes with the second it is collected in
# makes pytest-xdist's workers collect different tests (`make test` then stops before running any)
@pytest.mark.parametrize(("name", "content", "fmt"), [
    ("p.json", b'{"cost_function": {}}', "qio"),
    ("p.json.gz", gzip.compress(b'{"cost_function": {}}', mtime=0), "qio"),
    ("m.json", b'{"type": "BinaryQuadraticModel"}', "bqm-json"),
    ("m.json.gz", gzip.compress(b'{"type" : "BinaryQuadraticModel"}', mtime=0), "bqm-json"),
    ("m.bqm.json", b"{}", "bqm-json"),
    ("p.tar.gz", b"", "protobuf"),
    ("p.TGZ", b"", "protobuf"),
    ("G1.txt", b"\n800 19176\n1 2 1\n", "gset"),
    ("bqp50.txt", b" 10\n50 120\n", "bqp"),
    ("g.rud", b"", "gset"),
    ("x.qubo.gz", b"", "qubo"),
])
def test_detect_format(name, content, fmt):
    assert detect_format(name, content) == fmt


@pytest.mark.parametrize(("name", "content", "message"), [
    ("p.mps", b"", "cannot tell the format from the file name"),
    ("p.txt", None, "say --format gset or bqp"),
    ("p.txt", b"1 2 3\n", "neither Gset"),
])
def test_detect_format_refuses_to_guess(name, content, message):
    with pytest.raises(FormatError, match=message):
        detect_format(name, content)


def test_lost_in_names_what_a_format_leaves_behind():
    model = TermModel("ising", [(1.0, (0, 1))], labels={0: "a", 1: "b"}, initial_configuration={0: 1})
    assert lost_in(model, "bqm-json") == [
        "dimod BinaryQuadraticModel JSON has no initial configuration: it was left out"]
    notes = lost_in(model, "gset")
    assert len(notes) == 2 and "labels were replaced by ids 0..1" in notes[0]
    assert lost_in(model, "qio") == [notes[0].replace("Gset max-cut graph", "microsoft.qio.v2 JSON")]
