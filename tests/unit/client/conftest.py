"""Fixtures for the client unit tests: a fake gateway on loopback, in-memory blob storage, a connection.json."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.client import _storage
from services.client._transport import RestClient
from tests.unit.client.fake_service import RG, SUB, TOKEN, WS, FakeService, FakeStorage


@pytest.fixture
def fake():
    service = FakeService().start()
    yield service
    service.stop()


@pytest.fixture
def storage(monkeypatch) -> FakeStorage:
    store = FakeStorage()
    for name in ("create_container", "upload_blob", "download_blob"):
        monkeypatch.setattr(_storage, name, getattr(store, name))
    return store


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(RestClient, "BACKOFF_S", 0.001)
    monkeypatch.setattr(RestClient, "RETRY_AFTER_MAX_S", 0.05)


@pytest.fixture
def connection_file(tmp_path: Path, fake: FakeService, monkeypatch) -> Path:
    monkeypatch.delenv("OPENQIO_CONNECTION", raising=False)
    path = tmp_path / ".openqio" / "connection.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"base_url": fake.base_url, "token": TOKEN, "subscription_id": SUB,
                                "resource_group": RG, "workspace": WS, "location": "West US"}))
    return path
