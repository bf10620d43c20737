"""One storage account per workspace (issue 6): OPENQIO_WORKSPACE_STORAGE, the accounts `--with-azurite` generates
and keeps, and the blob stores that route every SAS and URL check to the workspace's own account (no storage calls).
"""
from __future__ import annotations

import base64
import errno
import json
import logging
import os
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from services.blobs.azure_store import BlobStore, ForeignAccount, InvalidName, WorkspaceBlobs
from services.config import (
    AZURITE_ACCOUNT,
    STORAGE_ACCOUNTS_FILE,
    Settings,
    SettingsError,
    StorageAccount,
    account_blob_url,
    with_generated_storage,
    write_whole,
)

BASE = "http://127.0.0.1:10000/devstoreaccount1"
KEY_A = base64.b64encode(b"a" * 64).decode()
KEY_B = base64.b64encode(b"b" * 64).decode()
TOKENS = {"t" * 20 + "a": "wsa", "t" * 20 + "b": "wsb"}


def settings(tmp_path: Path, storage: str = "", **kw) -> Settings:
    env = {"OPENQIO_WORKSPACE_STORAGE": storage} if storage else {}
    return Settings.from_env(env, data_dir=tmp_path, blob_url=BASE, tokens=TOKENS, workspace="wsa", **kw)


def test_one_workspace_keeps_the_configured_account(tmp_path: Path):
    s = Settings.from_env({}, data_dir=tmp_path)
    assert s.workspace_storage == {}
    assert s.storage_for(s.workspace) == StorageAccount(AZURITE_ACCOUNT, s.storage_key, BASE)
    assert [a.name for a in s.storage_accounts] == [AZURITE_ACCOUNT]


def test_with_azurite_one_workspace_gets_a_private_account_never_the_public_one(tmp_path: Path):
    """Issue 11 section 7: `make run` (one workspace) served Azurite's development account, whose key is public."""
    s = with_generated_storage(Settings.from_env({}, data_dir=tmp_path))
    account = s.storage_for(s.workspace)
    assert account.name != AZURITE_ACCOUNT and account.key != s.storage_key
    assert [a.name for a in s.storage_accounts] == [account.name]  # what Azurite is started with
    assert (tmp_path / STORAGE_ACCOUNTS_FILE).stat().st_mode & 0o777 == 0o600
    assert with_generated_storage(Settings.from_env({}, data_dir=tmp_path)).storage_for(s.workspace) == account


def test_generated_accounts_are_on_disk_before_they_are_used(tmp_path: Path, monkeypatch):
    """Losing storage-accounts.json to a power loss would put every blob of its accounts out of reach: the file is
    fsynced before it replaces the old one (a reader never sees it torn), and its directory after the rename."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(f"replace {Path(dst).name}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    s = with_generated_storage(Settings.from_env({}, data_dir=tmp_path))
    at = events.index(f"replace {STORAGE_ACCOUNTS_FILE}")
    assert events[at - 1:at + 2] == ["fsync file", f"replace {STORAGE_ACCOUNTS_FILE}", "fsync directory"], events
    assert s.storage_for(s.workspace).key in (tmp_path / STORAGE_ACCOUNTS_FILE).read_text()


def test_a_generated_file_that_does_not_fit_leaves_the_old_one_and_no_part_of_the_new(tmp_path: Path, monkeypatch):
    """A full disk: the write fails, the file before it is intact, and the part that fit is not left taking space."""
    with_generated_storage(Settings.from_env({}, data_dir=tmp_path))
    before = (tmp_path / STORAGE_ACCOUNTS_FILE).read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        write_whole(tmp_path / STORAGE_ACCOUNTS_FILE, b'{"new": "accounts"}', 0o600)
    assert (tmp_path / STORAGE_ACCOUNTS_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_existing_azurite_data_keeps_its_account_name_with_a_new_key(tmp_path: Path):
    """A data directory from before keeps `devstoreaccount1` (its jobs' blobs live there), but not the public key."""
    (tmp_path / "azurite").mkdir()
    (tmp_path / "azurite" / "__azurite_db_blob__.json").write_text("{}")
    s = with_generated_storage(Settings.from_env({}, data_dir=tmp_path))
    account = s.storage_for(s.workspace)
    assert account.name == AZURITE_ACCOUNT and account.key != s.storage_key


def test_workspace_storage_setting(tmp_path: Path):
    s = settings(tmp_path, f"wsa=accta1:{KEY_A}, wsb=acctb2:{KEY_B}@https://acctb2.blob.example.net/")
    assert s.storage_for("wsa") == StorageAccount("accta1", KEY_A, "http://127.0.0.1:10000/accta1")
    assert s.storage_for("wsb") == StorageAccount("acctb2", KEY_B, "https://acctb2.blob.example.net")
    assert {a.name for a in s.storage_accounts} == {"accta1", "acctb2"}  # the default account is nobody's now
    assert KEY_A not in repr(s.workspace_storage) and KEY_A not in repr(s.storage_for("wsa"))


def test_unlisted_workspaces_use_the_default_account(tmp_path: Path):
    s = settings(tmp_path, f"wsb=acctb2:{KEY_B}")
    assert s.storage_for("wsa").name == AZURITE_ACCOUNT and s.storage_for("wsb").name == "acctb2"
    assert {a.name for a in s.storage_accounts} == {AZURITE_ACCOUNT, "acctb2"}


@pytest.mark.parametrize("value, match", [
    ("wsa", "is not `workspace=account:key"),
    (f"wsa=accta1{KEY_A}", "is not `workspace=account:key"),
    (f"=accta1:{KEY_A}", "is not `workspace=account:key"),
    (f"wsa=Acct_A:{KEY_A}", "3-24 lowercase letters and digits"),
    (f"wsa=ab:{KEY_A}", "3-24 lowercase letters and digits"),
    (f"wsa={'a' * 25}:{KEY_A}", "3-24 lowercase letters and digits"),
    ("wsa=accta1:", "not a base64 string"),
    ("wsa=accta1:not*base64!", "not a base64 string"),
    (f"wsa=accta1:{KEY_A}@ftp://host/x", "not an http"),
    (f"wsa=accta1:{KEY_A}@http://h/accta1?sig=x", "not an http"),
    (f"wsa=accta1:{KEY_A},wsa=acctb2:{KEY_B}", "given twice"),
    (f"nosuch=accta1:{KEY_A}", "with no token: nosuch"),
])
def test_malformed_workspace_storage_is_a_clear_error_without_the_key(tmp_path: Path, value: str, match: str):
    with pytest.raises(SettingsError, match=match) as info:
        settings(tmp_path, value)
    assert KEY_A not in str(info.value) and "not*base64!" not in str(info.value)


def test_blob_url_of_an_account():
    assert account_blob_url(BASE + "/", AZURITE_ACCOUNT, "wsa1") == "http://127.0.0.1:10000/wsa1"
    assert account_blob_url("https://main.blob.core.windows.net", "main", "other1") == \
        "https://other1.blob.core.windows.net"
    with pytest.raises(SettingsError, match="give it in OPENQIO_WORKSPACE_STORAGE"):
        account_blob_url("http://storage.local:10000/", "main", "other1")


def test_generated_accounts_are_valid_private_and_kept(tmp_path: Path):
    s = with_generated_storage(settings(tmp_path))
    path = tmp_path / STORAGE_ACCOUNTS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    a, b = s.storage_for("wsa"), s.storage_for("wsb")
    for workspace, account in (("wsa", a), ("wsb", b)):
        assert 3 <= len(account.name) <= 24 and account.name.isalnum() and account.name.islower()
        assert account.name.startswith(workspace) and account.name != workspace
        assert len(base64.b64decode(account.key, validate=True)) == 64
        assert account.blob_url == f"http://127.0.0.1:10000/{account.name}"
    assert a.name != b.name and a.key != b.key
    # a restart finds the same accounts; a new workspace gets one of its own, the others stay
    again = with_generated_storage(settings(tmp_path))
    assert again.workspace_storage == s.workspace_storage
    more = with_generated_storage(Settings.from_env({}, data_dir=tmp_path, blob_url=BASE, workspace="wsa",
                                                    tokens={**TOKENS, "t" * 20 + "c": "Work-Space.C"}))
    c = more.storage_for("Work-Space.C")
    assert c.name.startswith("workspacec") and c.name not in (a.name, b.name)
    assert more.storage_for("wsa") == a and more.storage_for("wsb") == b
    assert set(json.loads(path.read_text())) == {"wsa", "wsb", "Work-Space.C"}


def test_explicit_accounts_win_over_generated_ones(tmp_path: Path):
    s = with_generated_storage(settings(tmp_path, f"wsb=acctb2:{KEY_B}"))
    assert s.storage_for("wsb").name == "acctb2" and s.storage_for("wsa").name.startswith("wsa")
    assert set(json.loads((tmp_path / STORAGE_ACCOUNTS_FILE).read_text())) == {"wsa"}


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"wsa": {"name": "x"}}',
                                     '{"wsa": {"name": "Bad_Name", "key": "YWJj"}}'])
def test_a_damaged_accounts_file_is_a_settings_error(tmp_path: Path, content: str):
    (tmp_path / STORAGE_ACCOUNTS_FILE).write_text(content)
    with pytest.raises(SettingsError, match=STORAGE_ACCOUNTS_FILE):
        with_generated_storage(settings(tmp_path))


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_each_workspace_signs_with_its_own_account(tmp_path: Path):
    s = settings(tmp_path, f"wsa=accta1:{KEY_A},wsb=acctb2:{KEY_B}")
    stores = WorkspaceBlobs(s)
    a, b = stores.for_workspace("wsa"), stores.for_workspace("wsb")
    assert set(stores.stores) == {"accta1", "acctb2"} and a is stores.for_workspace("wsa")
    for store, name in ((a, "accta1"), (b, "acctb2")):
        for url in (store.container_sas_url("job-1"), store.job_container_sas_url("job-1"),
                    store.blob_sas_url("job-1", "inputData")):
            assert url.startswith(f"http://127.0.0.1:10000/{name}/job-1"), url
    # the same request in the two workspaces: different signatures (different keys)
    assert query(a.container_sas_url("job-1"))["sig"] != query(b.container_sas_url("job-1"))["sig"]
    with pytest.raises(LookupError):
        WorkspaceBlobs(settings(tmp_path / "x", f"wsa=accta1:{KEY_A},wsb=acctb2:{KEY_B}")).for_workspace("nosuch")


def test_urls_naming_another_workspaces_account_are_foreign(tmp_path: Path):
    s = settings(tmp_path, f"wsa=accta1:{KEY_A},wsb=acctb2:{KEY_B}")
    a = WorkspaceBlobs(s).for_workspace("wsa")
    assert a.parse_blob_uri("http://127.0.0.1:10000/accta1/job-1/inputData") == ("job-1", "inputData")
    assert a.parse_container_uri("http://127.0.0.1:10000/accta1/job-1?sig=x") == "job-1"
    for foreign in ("http://127.0.0.1:10000/acctb2/job-1/inputData", f"{BASE}/job-1/inputData",
                    "https://acctb2.blob.core.windows.net/job-1/inputData"):
        with pytest.raises(ForeignAccount, match="was not found"):
            a.parse_blob_uri(foreign)
    with pytest.raises(ForeignAccount):
        a.parse_container_uri("http://127.0.0.1:10000/acctb2/job-1")
    assert issubclass(ForeignAccount, InvalidName)


def test_a_lone_store_serves_every_workspace(tmp_path: Path):
    store = BlobStore(settings(tmp_path))
    assert store.for_workspace("wsa") is store and store.for_workspace("wsb") is store
    assert store.parse_blob_uri(f"{BASE}/job-1/inputData") == ("job-1", "inputData")


def test_serve_warns_when_workspaces_share_an_account(tmp_path: Path, caplog):
    from services.server import _warn_shared_storage

    with caplog.at_level(logging.INFO, logger="openqio"):
        _warn_shared_storage(settings(tmp_path))
        assert "share storage account devstoreaccount1" in caplog.text
        caplog.clear()
        _warn_shared_storage(settings(tmp_path, f"wsa=accta1:{KEY_A},wsb=acctb2:{KEY_B}"))
        assert "share" not in caplog.text and "workspace wsb: storage account acctb2" in caplog.text
        assert KEY_A not in caplog.text and KEY_B not in caplog.text
