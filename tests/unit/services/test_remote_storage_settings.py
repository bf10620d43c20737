"""Storage beyond the local Azurite (issue 12 §5): a connection string, Entra ID for the service's own access (the
account key still signs every SAS), a public blob URL separate from the service's own; what cannot work is refused
at start-up with one line that never repeats a key. No storage calls here (tests/integration/test_remote.py makes
them)."""
from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from services.blobs.azure_store import BlobStore, WorkspaceBlobs
from services.config import AZURITE_ACCOUNT, AZURITE_KEY, Settings, SettingsError
from services.remote_settings import parse_connection_string, storage_exposure

KEY = base64.b64encode(b"k" * 64).decode()
TOKENS = {"t" * 20 + "a": "wsa", "t" * 20 + "b": "wsb"}


def from_env(tmp_path: Path, env: dict[str, str], **kw) -> Settings:
    return Settings.from_env(env, data_dir=tmp_path, **kw)


@pytest.mark.parametrize("raw, expected", [
    (f"DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey={KEY};EndpointSuffix=core.windows.net",
     ("prodacct", KEY, "https://prodacct.blob.core.windows.net")),
    (f"AccountName=prodacct;AccountKey={KEY}", ("prodacct", KEY, "https://prodacct.blob.core.windows.net")),
    (f"DefaultEndpointsProtocol=https;AccountName=govacct;AccountKey={KEY};EndpointSuffix=core.usgovcloudapi.net;",
     ("govacct", KEY, "https://govacct.blob.core.usgovcloudapi.net")),
    (f"DefaultEndpointsProtocol=http;AccountName=gen1;AccountKey={KEY};BlobEndpoint=http://127.0.0.1:10000/gen1/;",
     ("gen1", KEY, "http://127.0.0.1:10000/gen1")),
    ("UseDevelopmentStorage=true", (AZURITE_ACCOUNT, AZURITE_KEY, "http://127.0.0.1:10000/devstoreaccount1")),
])
def test_connection_strings_name_account_key_and_endpoint(raw, expected):
    assert parse_connection_string(raw) == expected


def test_a_connection_string_replaces_account_key_and_blob_url(tmp_path: Path):
    raw = f"DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey={KEY};EndpointSuffix=core.windows.net"
    s = from_env(tmp_path, {"OPENQIO_STORAGE_CONNECTION_STRING": raw})
    assert (s.storage_account, s.storage_key, s.blob_url) == ("prodacct", KEY, "https://prodacct.blob.core.windows.net")
    assert KEY not in repr(s) and raw not in repr(s)


@pytest.mark.parametrize("raw, match", [
    ("BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022&sig=abc", "has no AccountKey"),
    (f"AccountKey={KEY}", "has no AccountName"),
    ("just-some-text", "connection string syntax"),
    (f"AccountName=acct;AccountKey={KEY};BlobEndpoint=ftp://x/acct", "not an absolute http"),
    ("AccountName=acct;AccountKey=not*base64", "not a base64 string"),
])
def test_unusable_connection_strings_are_refused_without_repeating_them(tmp_path: Path, raw, match):
    with pytest.raises(SettingsError, match=match) as info:
        from_env(tmp_path, {"OPENQIO_STORAGE_CONNECTION_STRING": raw})
    assert "sig=abc" not in str(info.value) and KEY not in str(info.value) and "not*base64" not in str(info.value)


@pytest.mark.parametrize("other", ["OPENQIO_BLOB_URL", "OPENQIO_STORAGE_ACCOUNT", "OPENQIO_STORAGE_KEY"])
def test_a_connection_string_and_the_separate_variables_clash(tmp_path: Path, other):
    env = {"OPENQIO_STORAGE_CONNECTION_STRING": f"AccountName=acct;AccountKey={KEY}", other: "x" * 8}
    with pytest.raises(SettingsError, match=f"unset {other}"):
        from_env(tmp_path, env)
    env[other] = ""  # empty means unset, as everywhere
    assert from_env(tmp_path, env).storage_account == "acct"


def test_entra_for_the_service_needs_the_key_for_sas_too(tmp_path: Path):
    url = {"OPENQIO_BLOB_URL": "https://prodacct.blob.core.windows.net", "OPENQIO_STORAGE_ACCOUNT": "prodacct"}
    with pytest.raises(SettingsError, match="account SAS, which only the key can sign"):
        from_env(tmp_path, {**url, "OPENQIO_STORAGE_AUTH": "entra"})
    s = from_env(tmp_path, {**url, "OPENQIO_STORAGE_AUTH": "entra", "OPENQIO_STORAGE_KEY": KEY})
    assert s.storage_auth == "entra" and s.storage_key == KEY
    s = from_env(tmp_path, {"OPENQIO_STORAGE_AUTH": "entra",
                            "OPENQIO_STORAGE_CONNECTION_STRING": f"AccountName=prodacct;AccountKey={KEY}"})  # https
    assert s.storage_auth == "entra"
    with pytest.raises(SettingsError, match="key or entra"):
        from_env(tmp_path, {"OPENQIO_STORAGE_AUTH": "sas"})


@pytest.mark.parametrize("url", ["https://prodacct.blob.core.windows.net", "http://127.0.0.1:10000/prodacct"])
def test_a_blob_url_naming_another_account_than_the_key_is_refused(tmp_path: Path, url):
    with pytest.raises(SettingsError, match="names storage account 'prodacct'.*OPENQIO_STORAGE_ACCOUNT is"):
        from_env(tmp_path, {"OPENQIO_BLOB_URL": url, "OPENQIO_STORAGE_KEY": KEY})
    assert from_env(tmp_path, {"OPENQIO_BLOB_URL": url, "OPENQIO_STORAGE_ACCOUNT": "prodacct",
                               "OPENQIO_STORAGE_KEY": KEY}).storage_account == "prodacct"
    # a custom domain names no account: nothing to compare
    assert from_env(tmp_path, {"OPENQIO_BLOB_URL": "https://files.example.com"}).blob_url == "https://files.example.com"


def test_clients_get_the_public_blob_url_and_either_url_parses_back(tmp_path: Path):
    s = from_env(tmp_path, {"OPENQIO_PUBLIC_BLOB_URL": "https://files.example.com:8444/devstoreaccount1/"})
    store = BlobStore(s)
    assert store.account_url == "http://127.0.0.1:10000/devstoreaccount1"  # what the service itself talks to
    for url in (store.container_sas_url("job-1"), store.job_container_sas_url("job-1"),
                store.blob_sas_url("job-1", "rawOutputData")):
        assert url.startswith("https://files.example.com:8444/devstoreaccount1/job-1"), url
    for base in ("https://files.example.com:8444/devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1"):
        assert store.parse_blob_uri(f"{base}/qio-problems/dir/inputData") == ("qio-problems", "dir/inputData")
        assert store.parse_container_uri(f"{base}/job-1?sv=x&sig=y") == "job-1"


def test_a_public_url_behind_a_path_prefix_parses_back(tmp_path: Path):
    s = from_env(tmp_path, {"OPENQIO_PUBLIC_BLOB_URL": "https://gw.example.com/storage/devstoreaccount1"})
    store = BlobStore(s)
    assert store.parse_blob_uri("https://gw.example.com/storage/devstoreaccount1/job-2/inputData") == ("job-2", "inputData")


def test_each_workspace_account_gets_its_public_url(tmp_path: Path):
    env = {"OPENQIO_PUBLIC_BLOB_URL": "http://storage.example.com:10000/devstoreaccount1",
           "OPENQIO_WORKSPACE_STORAGE": f"wsa=accta1:{KEY},wsb=acctb2:{KEY}@http://10.1.2.3:10000/acctb2"}
    s = from_env(tmp_path, env, tokens=TOKENS, workspace="wsa")
    assert s.storage_for("wsa").client_url == "http://storage.example.com:10000/accta1"
    assert s.storage_for("wsa").blob_url == "http://127.0.0.1:10000/accta1"
    assert s.storage_for("wsb").client_url == "http://storage.example.com:10000/acctb2"
    blobs = WorkspaceBlobs(s)
    assert blobs.for_workspace("wsb").container_sas_url("job-3").startswith("http://storage.example.com:10000/acctb2/")


def test_storage_reachable_from_elsewhere_with_azurites_public_key_is_warned_about(tmp_path: Path):
    local = from_env(tmp_path, {})
    assert storage_exposure(local) == []
    exposed = from_env(tmp_path, {"OPENQIO_PUBLIC_BLOB_URL": "http://qio.example.com:10000/devstoreaccount1"})
    (warning,) = storage_exposure(exposed)
    assert "devstoreaccount1" in warning and "public development key" in warning
    own_key = from_env(tmp_path, {"OPENQIO_PUBLIC_BLOB_URL": "http://qio.example.com:10000/devstoreaccount1",
                                  "OPENQIO_STORAGE_KEY": KEY})
    assert storage_exposure(own_key) == []


async def test_entra_storage_auth_opens_a_token_credential_and_closes_it(tmp_path: Path):
    from azure.identity.aio import DefaultAzureCredential

    env = {"OPENQIO_STORAGE_AUTH": "entra", "OPENQIO_STORAGE_KEY": KEY, "OPENQIO_STORAGE_ACCOUNT": "prodacct"}
    with pytest.raises(SettingsError, match="needs https blob URLs.*prodacct use http"):
        from_env(tmp_path, {**env, "OPENQIO_BLOB_URL": "http://127.0.0.1:10000/prodacct"})
    store = BlobStore(from_env(tmp_path, {**env, "OPENQIO_BLOB_URL": "https://prodacct.blob.core.windows.net"}))
    await store.open()
    try:
        assert isinstance(store.client.credential, DefaultAzureCredential)
        assert urlsplit(store.container_sas_url("job-4")).query  # SAS still signed, with the key
    finally:
        await store.close()
    assert store._credential is None
    keyed = BlobStore(from_env(tmp_path, {}))
    await keyed.open()
    try:
        assert keyed.client.credential.account_name == AZURITE_ACCOUNT  # a shared key credential
    finally:
        await keyed.close()


@pytest.mark.parametrize("env, match", [
    ({"OPENQIO_TLS_CERT": "/x/cert.pem"}, "give both or neither"),
    ({"OPENQIO_TLS_KEY": "/x/key.pem"}, "give both or neither"),
    ({"OPENQIO_TLS_CA": "/x/ca.pem"}, "CA of your own certificate"),
    ({"OPENQIO_TLS_NAMES": "good.example.com,bad_name!"}, "neither a DNS name nor an IP"),
    ({"OPENQIO_PUBLIC_URL": "http://qio.example.com:8443/"}, "must be an https"),
    ({"OPENQIO_PUBLIC_URL": "https://qio.example.com/?x=1"}, "not an absolute http"),
    ({"OPENQIO_PUBLIC_BLOB_URL": "storage.example.com"}, "not an absolute http"),
])
def test_unusable_network_settings_are_refused(tmp_path: Path, env, match):
    with pytest.raises(SettingsError, match=match):
        from_env(tmp_path, env)

