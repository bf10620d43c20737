"""benchmarks.ttt.run_instance: seeds go round the contenders (a slow minute of a shared VM then touches every one
alike), and the rows keep the contenders' order, unavailable ones included."""
from __future__ import annotations

from benchmarks import instances as I
from benchmarks import libs as L
from benchmarks import ttt as T
from benchmarks.report import Table
from contracts.problems import encode_json, problem_document
from solver_runner import warmup


def test_seeds_go_round_the_contenders_and_rows_keep_their_order(monkeypatch):
    calls: list[tuple[str, int]] = []

    def fake(label: str, reach_at: float):
        def run(contest, seed, budget, setting):
            calls.append((label, seed))
            trace = T.Trace(settings=str(setting))
            trace.add(reach_at, contest.target)
            trace.seconds = reach_at
            return trace
        return run

    monkeypatch.setattr(T, "contenders", lambda: [("A", "ours", fake("A", 0.5), (None,)),
                                                  ("B", "dwave", fake("B", 0.1), (None,)),
                                                  ("C", "ours", fake("C", 0.2), (None,))])
    monkeypatch.setattr(L, "unavailable", lambda lib: "not installed" if lib == "dwave" else None)
    contest = T.Contest("inst", encode_json(problem_document("ising", [(1.0, [0, 1])])), -1.0, None)
    rows = T.run_instance(contest, budget=1.0, seeds=3, log=lambda msg: None)
    assert calls == [("A", 0), ("C", 0), ("A", 1), ("C", 1), ("A", 2), ("C", 2)]
    assert [row["solver"] for row in rows] == ["A", "B", "C"]
    assert rows[1]["note"] == "unavailable: not installed"
    assert rows[0]["reached"] == "3/3" and rows[0]["ttt_median_s"] == 0.5
    assert rows[2]["ttt_median_s"] == 0.2


def test_goal_lines_say_in_what_share_of_seed_pairs_ours_was_first():
    assert T.faster_share([0.1, 0.3], [0.2, 0.2]) == 0.5
    assert T.faster_share([0.1, None], [None, 0.5]) == 0.625  # not reached = never; never against never is a tie
    rows = [
        {"instance": "gset_G1", "solver": "ours SA-PF", "reached": "3/3", "ttt_median_s": 0.04, "ttt_s": [0.02, 0.04, 0.3]},
        {"instance": "gset_G1", "solver": "ours PT-PF", "reached": "3/3", "ttt_median_s": 1.5, "ttt_s": [1.0, 1.5, 2.0]},
        {"instance": "gset_G1", "solver": "openjij SA", "reached": "3/3", "ttt_median_s": 0.05, "ttt_s": [0.01, 0.05, 0.06]},
    ]
    lines = T.goal_lines(rows, ["gset_G1"])  # a lower median, yet first in fewer than half of the pairs
    assert lines[0] == ("  gset_G1: ours (best parameter-free median) 0.04 s vs best other library 0.05 s: met "
                        "(ours SA-PF first in 44% of seed pairs against openjij SA)")
    assert lines[1] == "  gset_G1 within 10 s on one core: 0.04 s: met"
    assert T.goal_lines(rows[2:], ["gset_G1"]) == []  # --libraries without ours: no goal to judge, no crash


def test_the_quality_section_runs_only_the_libraries_asked_for(monkeypatch):
    seen = []
    monkeypatch.setattr(warmup, "warm", lambda: None)
    monkeypatch.setattr(T, "freeze_heap", lambda: None)
    monkeypatch.setattr(I, "read_bytes", lambda name: encode_json(problem_document("ising", [(1.0, [0, 1])])))
    monkeypatch.setattr(I, "GENERATORS", {"inst": lambda: None})
    monkeypatch.setattr(T, "run_instance", lambda contest, budget, seeds, log, only=None: seen.append(only) or [])
    manifest = {"inst": {"status": "proven", "best_known": -1.0}}
    T.section_quality(Table(), manifest, 0.1, ["inst"], print, {"ours"})
    T.section_quality(Table(), manifest, 0.1, ["inst"], print)
    assert seen == [{"ours"}, None]
