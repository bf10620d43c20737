"""OPENQIO_EVENT_LOOP: read and checked by Settings, and the loop `openqio serve` runs on: uvloop by default where it
is installed (a dependency on Linux and macOS), the standard library's when asked or when uvloop is missing; asking
for uvloop where it is missing is a start-up error that says what to do. (test_json_logs.py checks the real service
runs on uvloop by default.)"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from services.config import Settings, SettingsError
from services.server import StartupError, loop_runner


async def _loop_kind() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_the_setting_is_read_and_defaults_to_auto(tmp_path: Path):
    assert Settings.from_env({}, data_dir=tmp_path).event_loop == "auto"
    assert Settings.from_env({"OPENQIO_EVENT_LOOP": "asyncio"}, data_dir=tmp_path).event_loop == "asyncio"


def test_an_unknown_loop_is_refused(tmp_path: Path):
    with pytest.raises(SettingsError, match="OPENQIO_EVENT_LOOP must be auto, uvloop or asyncio"):
        Settings.from_env({"OPENQIO_EVENT_LOOP": "trio"}, data_dir=tmp_path)


def test_each_choice_runs_on_its_loop():
    assert loop_runner("auto")(_loop_kind()) == "uvloop"
    assert loop_runner("uvloop")(_loop_kind()) == "uvloop"
    assert loop_runner("asyncio")(_loop_kind()) == "asyncio"


def test_without_uvloop_auto_falls_back_and_uvloop_is_refused(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` now raises ImportError
    assert loop_runner("auto")(_loop_kind()) == "asyncio"
    with pytest.raises(StartupError, match="uvloop is not installed"):
        loop_runner("uvloop")
