"""The dashboard's server side without a browser: the input summary's counts, the public asset list, and the
dashboard link `openqio serve` prints (with the token only for a person at a terminal)."""
from __future__ import annotations

import io
from pathlib import Path

from contracts.problems import decode_problem, encode_json, problem_document
from services import __main__ as entry
from services.config import Settings
from services.gateway import dashboard


def summary_of(doc: dict) -> dict:
    return dashboard.summarize(decode_problem(encode_json(doc)))


def test_counts_of_a_pubo():
    doc = problem_document("pubo", [(1, [0, 1]), (2, [1, 2, 3]), (-1, [7]), (4, [])], name="p")
    assert summary_of(doc) == {"problemType": "pubo", "variables": 5, "terms": 4, "groupedTerms": 0, "maxDegree": 3,
                               "initialConfiguration": False, "name": "p"}


def test_grouped_terms_count_their_variables():
    doc = problem_document("pubo", [(1, [0, 1])], slc_terms=[(2.0, [(1.0, [4]), (-1.0, [5]), (3.0, [])])])
    summary = summary_of(doc)
    assert summary["problemType"] == "pubo_grouped"
    assert (summary["variables"], summary["terms"], summary["groupedTerms"]) == (4, 1, 1)


def test_an_empty_problem():
    summary = summary_of(problem_document("ising", []))
    assert (summary["variables"], summary["terms"], summary["maxDegree"]) == (0, 0, 0)


def test_assets_exist_and_only_they_are_public():
    for path, (name, content_type) in dashboard.ASSETS.items():
        assert (dashboard.STATIC / name).is_file(), path
        assert path == "/dashboard" or path.startswith("/dashboard/")
    assert dashboard.PUBLIC_PATHS == frozenset(dashboard.ASSETS)
    assert "/dashboard/workspace" not in dashboard.PUBLIC_PATHS
    html = (dashboard.STATIC / "index.html").read_text()
    assert "<script>" not in html and "http://" not in html.replace("http://www.w3.org", "")  # no inline code, no CDN


def test_the_printed_link_has_the_token_only_on_a_terminal(tmp_path: Path, monkeypatch):
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={"T" * 20: "openqio"})

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Tty())
    assert entry._dashboard_url(settings, "https://127.0.0.1:8443/") == f"https://127.0.0.1:8443/dashboard#token={'T' * 20}"
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a log file
    url = entry._dashboard_url(settings, "https://127.0.0.1:8443/")
    assert url.startswith("https://127.0.0.1:8443/dashboard ") and "T" * 20 not in url
