"""The transition table and the SET clause each target status writes."""
from __future__ import annotations

import pytest

from contracts.jobs import ErrorData
from contracts.status import TERMINAL, TRANSITIONS, JobStatus, sources_of
from services.jobs import lifecycle

W, E, S, F, C = (JobStatus.WAITING, JobStatus.EXECUTING, JobStatus.SUCCEEDED, JobStatus.FAILED,
                 JobStatus.CANCELLED)


def test_table():
    assert TRANSITIONS == {
        W: {E, C, F},
        E: {S, F, C, W},
        S: set(),
        F: set(),
        C: set(),
    }
    for status in TERMINAL:
        assert not TRANSITIONS[status], status
    assert sources_of(C) == {W, E}
    assert sources_of(W) == {E}
    assert sources_of(E) == {W}


@pytest.mark.parametrize("to", list(JobStatus))
def test_allowed_sources_follow_the_table(to: JobStatus):
    assert set(lifecycle.allowed_sources(to, None)) == {s for s, nxt in TRANSITIONS.items() if to in nxt}
    assert lifecycle.allowed_sources(to, []) == []
    # `expected` can only narrow the table, never widen it
    assert set(lifecycle.allowed_sources(to, list(JobStatus))) == sources_of(to)
    assert lifecycle.allowed_sources(to, [S]) == []


def test_event_kinds():
    assert {to: lifecycle.event_kind(to) for to in JobStatus} == {
        W: "requeued", E: "started", S: "succeeded", F: "failed", C: "cancelled",
    }


NOW = "2024-01-01T00:00:00.000000Z"


def test_executing_sets_begin_time_and_counts_the_attempt():
    sets, params = lifecycle.update_clause(E, NOW)
    assert sets == "status = ?, begin_execution_time = ?, attempts = attempts + 1" and params == ["Executing", NOW]


def test_requeue_clears_begin_time():
    sets, params = lifecycle.update_clause(W, NOW)
    assert "begin_execution_time = NULL" in sets and params == ["Waiting"]


@pytest.mark.parametrize("to", [S, F])
def test_finish_sets_end_time_and_clears_cancelling(to: JobStatus):
    sets, params = lifecycle.update_clause(to, NOW)
    assert "end_execution_time = ?" in sets and "is_cancelling = 0" in sets
    assert params == [to.value, NOW]


def test_cancel_sets_cancellation_time_and_end_time_only_if_begun():
    sets, params = lifecycle.update_clause(C, NOW)
    assert "cancellation_time = ?" in sets and "is_cancelling = 0" in sets
    assert "CASE WHEN begin_execution_time IS NULL THEN NULL" in sets
    assert params == ["Cancelled", NOW, NOW]


def test_error_and_output_uri_are_appended():
    sets, params = lifecycle.update_clause(F, NOW, error=ErrorData("SolverError", "boom"))
    assert sets.endswith("error_code = ?, error_message = ?") and params[-2:] == ["SolverError", "boom"]
    sets, params = lifecycle.update_clause(S, NOW, output_data_uri="http://x/job-a/rawOutputData")
    assert sets.endswith("output_data_uri = ?") and params[-1] == "http://x/job-a/rawOutputData"
    assert sets.count("?") == len(params)
