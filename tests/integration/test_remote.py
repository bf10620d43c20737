"""Beyond 127.0.0.1 (issue 12 §5), with the real service, real Azurite and the real SDK:

- a storage connection string naming an account Azurite was started with (generated for this test; Azurite then
  serves no other), and a public blob URL (localhost) that differs from the service's own (127.0.0.1);
- "remote": Azurite over HTTPS with Entra ID (OAuth) enabled; the service reaches it with DefaultAzureCredential (a
  managed identity endpoint served by the local issuer) and signs SAS with the connection string's key; the gateway
  listens on 127.0.0.2 with a certificate that also covers OPENQIO_TLS_NAMES and OPENQIO_PUBLIC_URL's host; the
  unmodified SDK authenticates with azure-identity's ClientSecretCredential against the local issuer
  (tests/entra_issuer.py) and openqio verifies that token.
"""
from __future__ import annotations

import base64
import secrets
import socket
import ssl
import types
from pathlib import Path

import pytest

from services.azurite import Azurite, AzuriteError, azurite_binary
from services.client import Workspace
from services.client.optimization import Problem, ProblemType, SimulatedAnnealing
from services.config import Settings
from services.gateway.tls import ensure_tls, server_ssl_context
from tests.conftest import _unavailable
from tests.entra_issuer import TENANT, LocalIssuer
from tests.sdk.harness import assert_check, run_sdk_script
from tests.service import Service, serving

pytestmark = pytest.mark.integration
SEED = [(-9, [0]), (-3, [1, 0]), (5, [2, 0])]


def start_azurite(accounts: dict[str, str], extra_args: list[str] | None = None) -> Azurite:
    try:
        azurite_binary()
        return Azurite(accounts=accounts, extra_args=extra_args or []).start()
    except AzuriteError as exc:
        _unavailable(f"Azurite failed to start: {exc}")


def generated_account(stem: str) -> tuple[str, str]:
    return stem + secrets.token_hex(4), base64.b64encode(secrets.token_bytes(64)).decode()


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def seed_job(ws: Workspace):
    problem = Problem(name="Remote", problem_type=ProblemType.ising)
    for c, ids in SEED:
        problem.add_term(c=c, indices=ids)
    job = SimulatedAnnealing(ws, timeout=5).submit(problem)
    results = job.get_results(timeout_secs=120)
    assert results["configuration"] == {"0": 1, "1": 1, "2": -1} and results["cost"] == -17.0, results
    return ws.get_job(job.id)


# ---- a connection string and a public blob URL ------------------------------------------------------------------

@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    account, key = generated_account("connstr")
    azurite = start_azurite({account: key})
    try:
        internal = f"http://127.0.0.1:{azurite.port}/{account}"
        service = Service(data_dir=Path(tmp_path_factory.mktemp("connstr")), blob_url="", runners=1, extra_env={
            "OPENQIO_STORAGE_CONNECTION_STRING":
                f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};BlobEndpoint={internal};",
            "OPENQIO_PUBLIC_BLOB_URL": f"http://localhost:{azurite.port}/{account}",
        })
        for svc in serving(service):
            svc.public_blob_url = f"http://localhost:{azurite.port}/{account}"
            yield svc
    finally:
        azurite.stop()


def test_a_connection_string_account_serves_jobs_at_the_public_blob_url(keyed):
    with Workspace(connection_file=keyed.connection_file) as ws:
        job = seed_job(ws)
        details = job.details
    for url in (details.container_uri, details.input_data_uri, details.output_data_uri):
        assert url.startswith(keyed.public_blob_url + "/job-"), url  # what clients reach, not 127.0.0.1
    assert "Traceback" not in keyed.tail(400)


# ---- the remote deployment: HTTPS storage with Entra ID, TLS names, Entra ID tokens -----------------------------

@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    base = Path(tmp_path_factory.mktemp("remote"))
    data_dir = base / "svc"
    # The service's own CA (it reuses it when it starts) also signs Azurite's and the issuer's certificates, so one
    # CA bundle (DATA_DIR/tls/ca-bundle.pem, what sdk.env and connection.json name) covers every TLS hop.
    tls = ensure_tls(Settings.from_env({}, data_dir=data_dir))
    issuer = LocalIssuer(ssl_context=server_ssl_context(tls)).start()
    app, stranger = issuer.register(), issuer.register()
    account, key = generated_account("remote")
    azurite = start_azurite({account: key}, ["--cert", str(tls.server_cert), "--key", str(tls.server_key),
                                             "--oauth", "basic"])
    port = free_port("127.0.0.2")
    try:
        service = Service(data_dir=data_dir, blob_url="", runners=1, extra_env={
            "OPENQIO_HOST": "127.0.0.2", "OPENQIO_PORT": str(port),
            "OPENQIO_TLS_NAMES": "openqio.test", "OPENQIO_PUBLIC_URL": f"https://qio.example.test:{port}/",
            "OPENQIO_STORAGE_CONNECTION_STRING": f"DefaultEndpointsProtocol=https;AccountName={account};"
                                                 f"AccountKey={key};BlobEndpoint=https://127.0.0.1:{azurite.port}/{account}",
            "OPENQIO_PUBLIC_BLOB_URL": f"https://localhost:{azurite.port}/{account}",
            "OPENQIO_STORAGE_AUTH": "entra",
            "IDENTITY_ENDPOINT": issuer.identity_endpoint, "IDENTITY_HEADER": issuer.identity_header,
            "SSL_CERT_FILE": str(tls.ca_bundle),  # the service trusts Azurite and the issuer through our CA
            "OPENQIO_ENTRA_TENANT": TENANT, "OPENQIO_ENTRA_AUTHORITY": issuer.base_url,
            "OPENQIO_ENTRA_PRINCIPALS": f"openqio=appid:{app.client_id}",
        })
        for svc in serving(service):
            svc.issuer, svc.app, svc.stranger, svc.port = issuer, app, stranger, port
            svc.public_blob_url = f"https://localhost:{azurite.port}/{account}"
            yield svc
    finally:
        azurite.stop()
        issuer.stop()


def test_connection_files_name_the_public_url(remote):
    assert remote.connection["base_url"] == f"https://qio.example.test:{remote.port}/"
    assert remote.sdk_env["AZURE_QUANTUM_BASEURL"] == f"https://qio.example.test:{remote.port}/"


@pytest.mark.parametrize("name", ["127.0.0.2", "openqio.test", "qio.example.test"])
def test_the_certificate_covers_the_listen_address_and_the_configured_names(remote, name):
    context = ssl.create_default_context(cafile=remote.connection["ca_file"])
    with socket.create_connection(("127.0.0.2", remote.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:  # verifies the chain and the name
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_jobs_run_on_https_storage_reached_with_entra_id(remote):
    with Workspace(connection_file=remote.connection_file, base_url=f"https://127.0.0.2:{remote.port}/") as ws:
        details = seed_job(ws).details
    for url in (details.container_uri, details.input_data_uri, details.output_data_uri):
        assert url.startswith(remote.public_blob_url + "/job-"), url
    # the service read the input and wrote the output with a managed identity token for Azure Storage
    assert "https://storage.azure.com" in remote.issuer.identity_tokens


def test_sdk_code_with_a_client_secret_credential_works(remote):
    sdk_service = types.SimpleNamespace(tail=remote.tail, sdk_env={
        **remote.sdk_env, "AZURE_QUANTUM_BASEURL": f"https://127.0.0.2:{remote.port}/",
        "ENTRA_TEST_TENANT": TENANT, "ENTRA_TEST_AUTHORITY": remote.issuer.base_url,
        "ENTRA_TEST_CLIENT_ID": remote.app.client_id, "ENTRA_TEST_CLIENT_SECRET": remote.app.secret,
        "ENTRA_TEST_STRANGER_ID": remote.stranger.client_id, "ENTRA_TEST_STRANGER_SECRET": remote.stranger.secret})
    payload = run_sdk_script(sdk_service, "entra_flow.py")
    detail = assert_check(payload, "client_secret_credential")
    assert detail["listed"] and all(url.startswith(remote.public_blob_url) for url in detail["urls"]), detail
    refused = assert_check(payload, "unmapped_principal")
    assert refused["status_code"] == 403 and refused["code"] == "Forbidden", refused
    assert f"appid={remote.stranger.client_id}" in refused["message"], refused
    assert "Traceback" not in remote.tail(400)
