"""The SSE frame parser and JobEvent of the native client (services.client.events)."""
from __future__ import annotations

import json

from services.client.events import JobEvent, event_from_frame, parse_sse


def test_frames_fields_comments_and_multiline_data():
    lines = [
        ": keep-alive\n", "\n",                       # a comment alone is no frame
        "id: 7\n", "event: progress\n", 'data: {"seq": 7,\n', 'data:"x": 1}\n', "\n",
        "retry: 100\n", "\n",                         # no data: dropped, as browsers do
        "id:8\r\n", "event: succeeded\r\n", "data: {}\r\n", "\r\n",
        "id: 9\n", "data: unterminated\n",            # no blank line yet: not a frame
    ]
    frames = list(parse_sse(lines))
    assert frames == [
        {"id": "7", "event": "progress", "data": '{"seq": 7,\n"x": 1}'},
        {"id": "8", "event": "succeeded", "data": "{}"},
    ]


def test_event_from_frame_and_terminal_kinds():
    wire = {"seq": 12, "kind": "progress", "data": {"elapsed_s": 1.5, "sweeps_done": 300, "best_cost": -4.0},
            "time": "2026-01-01T00:00:00.000000Z"}
    event = event_from_frame({"id": "12", "event": "progress", "data": json.dumps(wire)})
    assert event == JobEvent(12, "progress", wire["data"], wire["time"])
    assert event.is_progress and not event.is_terminal
    assert all(JobEvent(1, k).is_terminal for k in ("succeeded", "failed", "cancelled"))
    assert not any(JobEvent(1, k).is_terminal for k in ("submitted", "started", "requeued", "cancel_requested"))
    assert JobEvent.from_wire({"seq": "3", "kind": "started", "data": None}).data == {}
