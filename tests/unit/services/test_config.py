"""Settings.from_env: defaults, OPENQIO_ variables, overrides, the generated token, validation."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from services.config import AZURITE_ACCOUNT, AZURITE_KEY, Settings, SettingsError


def test_defaults(tmp_path: Path):
    s = Settings.from_env({}, data_dir=tmp_path)
    assert (s.host, s.port) == ("127.0.0.1", 8443)
    assert (s.subscription_id, s.resource_group, s.workspace, s.location) == (
        "00000000-0000-0000-0000-000000000000", "openqio", "openqio", "local")
    assert s.blob_url == "http://127.0.0.1:10000/devstoreaccount1"
    assert (s.storage_account, s.storage_key) == (AZURITE_ACCOUNT, AZURITE_KEY)
    assert s.sas_ttl_s == 7 * 24 * 3600
    assert s.max_request_bytes == 1024 * 1024
    assert s.runners == (os.cpu_count() or 1)
    assert (s.max_attempts, s.hard_deadline_grace_s, s.job_hard_deadline_grace_s) == (3, 10.0, 10.0)
    assert s.list_page_size == 100
    assert s.database_path == tmp_path / "jobs.sqlite3" and s.tls_dir == tmp_path / "tls"
    limits = s.problem_limits
    assert (limits.max_input_bytes, limits.max_terms, limits.max_variables) == (
        s.max_input_bytes, s.max_terms, s.max_variables)


def test_environment_variables_are_read_and_converted(tmp_path: Path):
    env = {
        "OPENQIO_DATA_DIR": str(tmp_path / "d"),
        "OPENQIO_PORT": "0",
        "OPENQIO_HOST": "0.0.0.0",
        "OPENQIO_WORKSPACE": "ws1",
        "OPENQIO_RUNNERS": "3",
        "OPENQIO_HARD_DEADLINE_GRACE_S": "2.5",
        "OPENQIO_BLOB_URL": "http://azurite:10000/devstoreaccount1",
        "OPENQIO_LIST_PAGE_SIZE": "7",
        "OPENQIO_SAS_TTL_S": "60",
        "OPENQIO_LOCATION": "",  # empty means unset
    }
    s = Settings.from_env(env)
    assert s.data_dir == tmp_path / "d" and isinstance(s.data_dir, Path)
    assert (s.port, s.host, s.workspace, s.runners) == (0, "0.0.0.0", "ws1", 3)
    assert s.hard_deadline_grace_s == 2.5 and s.list_page_size == 7 and s.sas_ttl_s == 60
    assert s.blob_url == "http://azurite:10000/devstoreaccount1" and s.location == "local"


def test_overrides_win_over_the_environment(tmp_path: Path):
    s = Settings.from_env({"OPENQIO_PORT": "1234", "OPENQIO_DATA_DIR": "/nonexistent"}, data_dir=str(tmp_path), port=0)
    assert s.port == 0 and s.data_dir == tmp_path


def test_from_env_reads_os_environ_by_default(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OPENQIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENQIO_RESOURCE_GROUP", "rg-from-env")
    assert Settings.from_env().resource_group == "rg-from-env"


def test_generated_token_is_private_and_reused(tmp_path: Path):
    first = Settings.from_env({}, data_dir=tmp_path)
    token_file = tmp_path / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().strip() == first.default_token and len(first.default_token) >= 32
    assert first.tokens == {first.default_token: "openqio"}
    again = Settings.from_env({}, data_dir=tmp_path)
    assert again.default_token == first.default_token
    other_dir = Settings.from_env({}, data_dir=tmp_path / "elsewhere")
    assert other_dir.default_token != first.default_token


def test_tokens_from_the_environment(tmp_path: Path):
    env = {"OPENQIO_TOKENS": "openqio=aaaaaaaaaaaaaaaaaaaa, team2=bbbbbbbbbbbbbbbbbbbb,cccccccccccccccccccc"}
    s = Settings.from_env(env, data_dir=tmp_path)
    assert s.tokens == {"aaaaaaaaaaaaaaaaaaaa": "openqio", "bbbbbbbbbbbbbbbbbbbb": "team2",
                        "cccccccccccccccccccc": "openqio"}
    assert s.workspaces == {"openqio", "team2"}
    assert s.default_token in ("aaaaaaaaaaaaaaaaaaaa", "cccccccccccccccccccc")
    assert not (tmp_path / "token").exists()  # no generated token when tokens are configured


def test_tokens_override(tmp_path: Path):
    s = Settings.from_env({}, data_dir=tmp_path, tokens={"t" * 20: "openqio"})
    assert s.tokens == {"t" * 20: "openqio"}


def test_default_token_needs_the_configured_workspace(tmp_path: Path):
    s = Settings.from_env({"OPENQIO_TOKENS": "other=" + "x" * 20}, data_dir=tmp_path)
    with pytest.raises(SettingsError, match="no token"):
        _ = s.default_token


@pytest.mark.parametrize(
    "env,match",
    [
        ({"OPENQIO_PORT": "eighty"}, "OPENQIO_PORT"),
        ({"OPENQIO_PORT": "70000"}, "OPENQIO_PORT"),
        ({"OPENQIO_RUNNERS": "0"}, "OPENQIO_RUNNERS"),
        ({"OPENQIO_LIST_PAGE_SIZE": "0"}, "OPENQIO_LIST_PAGE_SIZE"),
        ({"OPENQIO_LOG_FORMAT": "xml"}, "OPENQIO_LOG_FORMAT"),
        ({"OPENQIO_SAS_TTL_S": "1.5"}, "OPENQIO_SAS_TTL_S"),
        ({"OPENQIO_TOKENS": "ws=short"}, "at least 16"),
    ],
)
def test_invalid_settings(tmp_path: Path, env: dict, match: str):
    with pytest.raises(SettingsError, match=match):
        Settings.from_env(env, data_dir=tmp_path)


def test_the_storage_key_can_come_from_a_file(tmp_path):
    (tmp_path / "key").write_text("c2VjcmV0\n")
    settings = Settings.from_env({"OPENQIO_STORAGE_KEY_FILE": str(tmp_path / "key")}, data_dir=tmp_path)
    assert settings.storage_key == "c2VjcmV0"
    given = Settings.from_env({"OPENQIO_STORAGE_KEY_FILE": str(tmp_path / "key"), "OPENQIO_STORAGE_KEY": "a2V5"},
                              data_dir=tmp_path)
    assert given.storage_key == "a2V5"  # the variable itself wins
    with pytest.raises(SettingsError, match="cannot read .*missing"):
        Settings.from_env({"OPENQIO_STORAGE_KEY_FILE": str(tmp_path / "missing")}, data_dir=tmp_path)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SettingsError, match="is empty"):
        Settings.from_env({"OPENQIO_STORAGE_KEY_FILE": str(tmp_path / "empty")}, data_dir=tmp_path)


def test_public_base_url_is_configured_or_derived_from_host_and_port():
    """nextLink, connection.json and sdk.env are built from this URL, never from a request's Host header."""
    tokens = {"t" * 16: "openqio"}
    assert Settings.from_env({}, tokens=tokens).public_base_url(8443) == "https://127.0.0.1:8443/"
    assert Settings.from_env({"OPENQIO_HOST": "0.0.0.0"}, tokens=tokens).public_base_url(9) == "https://127.0.0.1:9/"
    assert Settings.from_env({"OPENQIO_HOST": "::1"}, tokens=tokens).public_base_url(9) == "https://[::1]:9/"
    configured = Settings.from_env({"OPENQIO_PUBLIC_URL": "https://quantum.example.org"}, tokens=tokens)
    assert configured.public_base_url(8443) == "https://quantum.example.org/"
    for bad in ("quantum.example.org", "ftp://x/", "https://x/?a=1", "https:///path"):
        with pytest.raises(SettingsError, match="OPENQIO_PUBLIC_URL"):
            Settings.from_env({"OPENQIO_PUBLIC_URL": bad}, tokens=tokens)


@pytest.mark.parametrize("where", ["the file", "under the file"])
def test_a_data_directory_that_is_a_file_is_one_line(tmp_path: Path, where: str):
    """The first start's first write is the token: a data directory it cannot write was a traceback."""
    (tmp_path / "afile").write_text("")
    data_dir = tmp_path / "afile" if where == "the file" else tmp_path / "afile" / "sub"
    with pytest.raises(SettingsError, match=f"OPENQIO_DATA_DIR {data_dir}: cannot keep the token there .*"
                                            "must be a directory this user can write"):
        Settings.from_env({}, data_dir=data_dir)
