"""`openqio convert IN OUT` and the file reading behind `submit/solve FILE` (no service needed)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from contracts.problems import decode_problem
from services.cli import main
from services.cli.formats import read_problem_file
from services.cli.params import UsageError
from services.formats import read_file
from services.formats.model import polynomial

DATA = Path(__file__).resolve().parents[2] / "data" / "formats"


def test_convert_chain_keeps_the_cost_function(tmp_path, capsys):
    steps = [(DATA / "G11.txt", tmp_path / "g11.qubo"), (tmp_path / "g11.qubo", tmp_path / "g11.bqm.json"),
             (tmp_path / "g11.bqm.json", tmp_path / "g11.json.gz"), (tmp_path / "g11.json.gz", tmp_path / "back.rud")]
    for source, target in steps:
        assert main(["convert", str(source), str(target)]) == 0
    err = capsys.readouterr().err
    assert f"wrote {tmp_path / 'g11.qubo'}: qbsolv QUBO, ising, 800 variables, 1600 terms" in err
    assert polynomial(read_file(tmp_path / "back.rud")) == polynomial(read_file(DATA / "G11.txt"))
    assert gzip.decompress((tmp_path / "g11.json.gz").read_bytes()).startswith(b'{"metadata"')


def test_convert_with_explicit_formats_and_instance(tmp_path):
    target = tmp_path / "second.out"
    assert main(["convert", str(DATA / "bqp50_1_2.txt"), str(target), "--instance", "2", "--to", "bqp"]) == 0
    assert target.read_text().startswith("1\n50 ")
    again = tmp_path / "again.json"
    assert main(["convert", str(target), str(again), "--from", "bqp"]) == 0
    assert polynomial(read_file(again)) == polynomial(read_file(DATA / "bqp50_2.json.gz"))


@pytest.mark.parametrize(("args", "message"), [
    (["{data}/bqp50_1_2.txt", "{tmp}/x.json"], "line 1: the file holds 2 instances; choose one with --instance 1..2"),
    (["{data}/bqp50_1.json.gz", "{tmp}/x.gset"], "Gset holds a max-cut graph"),
    (["{data}/G11.txt", "{tmp}/x.txt"], "say --format gset or bqp"),
    (["{data}/G11.txt", "{tmp}/x.json", "--to", "mps"], "unknown format 'mps'"),
    (["{tmp}/missing.gset", "{tmp}/x.json"], "cannot read"),
])
def test_convert_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    argv = [a.format(data=DATA, tmp=tmp_path) for a in args]
    assert main(["convert", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "x.json").exists()


def test_convert_notes_what_the_target_format_leaves_out(tmp_path, capsys):
    source = tmp_path / "labelled.bqm.json"
    source.write_text(json.dumps({
        "type": "BinaryQuadraticModel", "version": {"bqm_schema": "3.0.0"}, "use_bytes": False,
        "variable_labels": ["a", "b"], "variable_type": "BINARY", "offset": 0.0, "linear_biases": [1.0, -1.0],
        "quadratic_biases": [2.0], "quadratic_head": [0], "quadratic_tail": [1]}))
    assert main(["convert", str(source), str(tmp_path / "out.bqp")]) == 0
    assert "note: OR-Library bqp numbers variables: labels were replaced by ids 0..1" in capsys.readouterr().err


def test_read_problem_file_converts_to_qio_and_checks_it(tmp_path):
    body, problem = read_problem_file(DATA / "G11.txt")
    assert problem.name == "G11" and problem.n_terms == 1600 and problem.problem_type == "ising"
    assert decode_problem(body).n_terms == 1600 and body[:2] == b"\x1f\x8b"
    qio = DATA / "bqp50_1.json.gz"
    assert read_problem_file(qio)[0] == qio.read_bytes()  # a QIO file goes up as written
    with pytest.raises(UsageError, match="line 3: vertex 9 is outside 1..3"):
        bad = tmp_path / "bad.gset"
        bad.write_text("3 2\n1 2 1\n9 2 1\n")
        read_problem_file(bad)
    with pytest.raises(UsageError, match="--instance applies to OR-Library bqp files only"):
        read_problem_file(qio, instance=1)
    with pytest.raises(UsageError, match="cannot read problem file"):
        read_problem_file(tmp_path / "absent.qubo")
