"""Fixtures shared by the services unit tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.jobs.sqlite_store import SqliteJobStore


@pytest.fixture
async def store(tmp_path: Path):
    """A real SQLite job store in a fresh file."""
    s = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await s.open()
    yield s
    await s.close()
