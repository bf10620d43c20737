"""connection.json discovery and precedence, URL building (quoting, prefixes, nextLink), TLS trust."""
from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest

from services.client.connection import ConnectionConfigError, resolve_connection

VALUES = {"base_url": "https://127.0.0.1:8443/", "token": "t0k", "subscription_id": "s", "resource_group": "rg",
          "workspace": "ws", "location": "local"}


def write(path: Path, **overrides) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**VALUES, **overrides}))
    return path


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv("OPENQIO_CONNECTION", raising=False)


def test_found_in_a_parent_of_the_working_directory(tmp_path, monkeypatch):
    write(tmp_path / ".openqio" / "connection.json", ca_file="tls/ca.pem")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    conn = resolve_connection()
    assert (conn.subscription_id, conn.resource_group, conn.workspace, conn.token) == ("s", "rg", "ws", "t0k")
    assert conn.source == tmp_path / ".openqio" / "connection.json"
    assert conn.ca_file == str(tmp_path / ".openqio" / "tls" / "ca.pem")  # relative to the file


def test_env_variable_and_explicit_file_win_over_the_search(tmp_path, monkeypatch):
    write(tmp_path / ".openqio" / "connection.json", workspace="found")
    other = write(tmp_path / "elsewhere.json", workspace="from-env")
    explicit = write(tmp_path / "explicit.json", workspace="explicit")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENQIO_CONNECTION", str(other))
    assert resolve_connection().workspace == "from-env"
    assert resolve_connection(connection_file=explicit).workspace == "explicit"


def test_arguments_override_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / ".openqio" / "connection.json")
    conn = resolve_connection(name="other", token="tok2", location="West US", base_url="https://h:1/prefix")
    assert conn.workspace == "other" and conn.token == "tok2" and conn.subscription_id == "s"
    assert conn.location == "westus"  # normalised as the SDK does
    assert conn.base_url == "https://h:1/prefix/"


def test_complete_arguments_need_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conn = resolve_connection("s", "rg", "ws", base_url="https://h:2", token="x")
    assert conn.source is None and conn.location == "local"


def test_resource_id_and_azure_default_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conn = resolve_connection(resource_id="/subscriptions/abc-1/resourceGroups/my-rg/providers/Microsoft.Quantum/"
                                          "Workspaces/my-ws", location="East US")
    assert (conn.subscription_id, conn.resource_group, conn.workspace) == ("abc-1", "my-rg", "my-ws")
    assert conn.base_url == "https://eastus.quantum.azure.com/"


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({}, "no connection file was found"),
        ({"subscription_id": "s", "resource_group": "rg", "name": "ws"}, "needs a base_url"),
        ({"connection_file": "/nonexistent/connection.json"}, "does not exist"),
        ({"subscription_id": "s", "resource_group": "rg", "name": "ws", "base_url": "http://example.com/"}, "https"),
        ({"subscription_id": "s", "resource_group": "rg", "name": "ws", "base_url": "ftp://x/"}, "https"),
        ({"resource_id": "/not/a/resource/id"}, "invalid workspace resource id"),
    ],
)
def test_clear_errors(tmp_path, monkeypatch, kwargs, fragment):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=fragment):
        resolve_connection(**kwargs)


def test_env_pointing_nowhere_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENQIO_CONNECTION", str(tmp_path / "missing.json"))
    with pytest.raises(ConnectionConfigError, match=r"\$OPENQIO_CONNECTION points at"):
        resolve_connection()


def test_urls_quote_each_segment_and_keep_prefixes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conn = resolve_connection("sub 1", "rg/x", "ws?", base_url="https://h:9/pre/", token="t")
    assert conn.workspace_url == ("https://h:9/pre/v1.0/subscriptions/sub%201/resourceGroups/rg%2Fx/providers/"
                                  "Microsoft.Quantum/workspaces/ws%3F")
    assert conn.url("jobs", "a/b") == conn.workspace_url + "/jobs/a%2Fb"
    assert conn.url("jobs", "x", "events", query="after=3").endswith("/jobs/x/events?after=3")
    assert conn.absolute("https://other:1/v1.0/jobs?c=2") == "https://other:1/v1.0/jobs?c=2"
    assert conn.absolute("/v1.0/jobs?c=2") == "https://h:9/pre/v1.0/jobs?c=2"


def test_plain_http_is_allowed_on_loopback_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for host in ("127.0.0.1", "localhost", "[::1]"):
        assert resolve_connection("s", "r", "w", base_url=f"http://{host}:8080", token="t").base_url.startswith("http:")


def test_ssl_context_trusts_the_local_ca_and_public_roots(tmp_path, monkeypatch):
    pytest.importorskip("cryptography")
    from services.config import Settings
    from services.gateway.tls import ensure_tls

    files = ensure_tls(Settings(data_dir=tmp_path))
    monkeypatch.chdir(tmp_path)
    conn = resolve_connection("s", "r", "w", base_url="https://127.0.0.1:1", ca_file=str(files.ca_cert))
    context = conn.ssl_context()
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    subjects = [dict(x[0] for x in c["subject"]).get("commonName") for c in context.get_ca_certs()]
    assert "openqio local CA" in subjects and len(subjects) > 10


def test_ssl_context_is_shared_until_the_ca_file_changes(tmp_path, monkeypatch):
    pytest.importorskip("cryptography")
    from services.config import Settings
    from services.gateway.tls import ensure_tls

    ca = ensure_tls(Settings(data_dir=tmp_path)).ca_cert
    monkeypatch.chdir(tmp_path)

    def context():
        return resolve_connection("s", "r", "w", base_url="https://127.0.0.1:1", ca_file=str(ca)).ssl_context()

    first = context()
    assert context() is first  # a second workspace does not reload the bundles
    ca.write_bytes(ca.read_bytes() + b"\n")  # a regenerated CA file: new size and mtime
    assert context() is not first
    missing = resolve_connection("s", "r", "w", base_url="https://127.0.0.1:1", ca_file=str(tmp_path / "none.pem"))
    with pytest.raises(OSError):
        missing.ssl_context()
