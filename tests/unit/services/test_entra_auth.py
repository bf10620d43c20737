"""Microsoft Entra ID access tokens (issue 12 §5): the gateway verifies them against a tenant's OpenID configuration
and signing keys, served here by a local issuer on loopback (tests/entra_issuer.py: its own keys, both OpenID
documents, JWKS), beside the static bearer tokens. Real aiohttp app, real HTTP, real RS256 signatures."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from services.config import Settings, SettingsError
from services.gateway import auth
from services.gateway.app import create_app
from services.gateway.entra import REFRESH_MIN_INTERVAL_S, looks_like_jwt
from tests.entra_issuer import AUDIENCE, TENANT, LocalIssuer

STATIC = "static-token-0123456789"
USER_OID = str(uuid.uuid4())  # mapped by object id to ws-a
APP_ID = str(uuid.uuid4())  # mapped by application id (app-only tokens) to ws-b


class Store:
    async def list(self, workspace, *, limit, after=None):
        return [], None


@pytest.fixture(scope="module")
def issuer():
    server = LocalIssuer().start()
    yield server
    server.stop()


def entra_settings(tmp_path: Path, issuer: LocalIssuer, **kw) -> Settings:
    env = {"OPENQIO_ENTRA_TENANT": TENANT, "OPENQIO_ENTRA_AUTHORITY": issuer.base_url,
           "OPENQIO_ENTRA_PRINCIPALS": f"ws-a=oid:{USER_OID}, ws-b=appid:{APP_ID}"}
    return Settings.from_env(env, data_dir=tmp_path, tokens={STATIC: "ws-a"}, workspace="ws-a", **kw)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client(tmp_path: Path, issuer: LocalIssuer):
    app = create_app(entra_settings(tmp_path, issuer), Store(), object(), object())
    c = TestClient(TestServer(app))
    await c.start_server()
    c.verifier = next(m.verifier for m in app.middlewares if hasattr(m, "verifier"))
    c.verifier.clock = c.clock = Clock()
    yield c
    await c.close()


def jobs(workspace: str) -> str:
    return (f"/v1.0/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/openqio/providers/"
            f"Microsoft.Quantum/workspaces/{workspace}/jobs")


async def call(client: TestClient, token: str, workspace: str = "ws-a") -> tuple[int, str, dict]:
    resp = await client.get(jobs(workspace), headers={"Authorization": f"Bearer {token}"})
    body = await resp.json()
    return resp.status, resp.headers.get("WWW-Authenticate", ""), body


async def test_a_mapped_object_id_gets_its_workspace_and_only_that(client, issuer):
    token = issuer.token(oid=USER_OID)  # v1: iss https://sts.windows.net/<tid>/, aud https://quantum.microsoft.com
    status, _, body = await call(client, token)
    assert status == 200, body
    status, _, body = await call(client, token, "ws-b")
    assert status == 404 and body["error"]["code"] == "NotFound"  # another workspace: not found, as with tokens


async def test_v2_tokens_are_accepted_too(client, issuer):
    status, _, body = await call(client, issuer.token(oid=USER_OID, version="2.0"))
    assert status == 200, body
    status, _, body = await call(client, issuer.token(appid=APP_ID, version="2.0"), "ws-b")  # azp of an app-only token
    assert status == 200, body


async def test_an_application_id_grants_app_only_tokens_not_users_signed_in_through_it(client, issuer):
    status, _, body = await call(client, issuer.token(appid=APP_ID, idtyp="app"), "ws-b")
    assert status == 200, body
    # a user's delegated token obtained through the same application carries `scp`: the appid mapping is not for it
    status, challenge, body = await call(client, issuer.token(appid=APP_ID, scp="user_impersonation"), "ws-b")
    assert status == 403 and body["error"]["code"] == "Forbidden" and "insufficient_scope" in challenge


async def test_static_tokens_keep_working_beside_entra(client):
    status, _, body = await call(client, STATIC)
    assert status == 200, body
    status, challenge, body = await call(client, STATIC + "x")
    assert status == 401 and challenge == "Bearer" and body["error"]["message"] == "missing or invalid bearer token"


@pytest.mark.parametrize("case, expected", [
    ("expired", "has expired"),
    ("wrong_audience", "audience is not https://quantum.microsoft.com"),
    ("wrong_issuer", f"not issued by tenant {TENANT}"),
    ("other_tenant_key", "signed by a key the tenant does not publish"),
    ("tampered", "signature does not verify"),
    ("no_expiry", "no 'exp' claim"),
    ("hs256", "signed with 'HS256'"),
    ("not_yet_valid", "not valid yet"),
])
async def test_invalid_tokens_are_401_saying_why(client, issuer, case, expected):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "expired": lambda: issuer.token(oid=USER_OID, lifetime_s=-120),  # past the 60 s clock-skew allowance
        "wrong_audience": lambda: issuer.token(oid=USER_OID, aud="https://management.azure.com"),
        "wrong_issuer": lambda: issuer.token(oid=USER_OID, iss="https://sts.windows.net/another-tenant/"),
        "other_tenant_key": lambda: issuer.token(oid=USER_OID, kid="not-published", key=other_key),
        "tampered": lambda: _tamper(issuer.token(oid=USER_OID)),
        "no_expiry": lambda: _without_claim(issuer, "exp", oid=USER_OID),
        "hs256": lambda: jwt.encode({"oid": USER_OID, "aud": AUDIENCE}, "k" * 32, algorithm="HS256"),
        "not_yet_valid": lambda: issuer.token(oid=USER_OID, nbf=int(time.time()) + 600),
    }[case]()
    status, challenge, body = await call(client, token)
    assert status == 401 and 'error="invalid_token"' in challenge, body
    assert body["error"]["code"] == "Unauthorized" and expected in body["error"]["message"], body


async def test_a_principal_not_mapped_is_403_naming_what_to_configure(client, issuer):
    stranger = str(uuid.uuid4())
    status, _, body = await call(client, issuer.token(oid=stranger))
    assert status == 403 and body["error"]["code"] == "Forbidden"
    assert f"oid={stranger}" in body["error"]["message"] and "OPENQIO_ENTRA_PRINCIPALS" in body["error"]["message"]


async def test_unknown_key_ids_refresh_the_keys_at_most_once_per_interval(client, issuer):
    assert (await call(client, issuer.token(oid=USER_OID)))[0] == 200
    fetches = client.verifier.fetches
    assert fetches == 1
    made_up = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(20):  # a flood of made-up key ids: one refresh at most, not one request to the issuer each
        status, _, _ = await call(client, issuer.token(oid=USER_OID, kid=f"made-up-{n}", key=made_up))
        assert status == 401
    client.clock.now += 1
    assert client.verifier.fetches == fetches  # the first fetch was just now: the interval holds all of them off


async def test_key_rollover_a_new_key_is_fetched_when_a_token_names_it(client, issuer):
    assert (await call(client, issuer.token(oid=USER_OID)))[0] == 200
    new_kid = issuer.new_key()  # the tenant rolls its keys over; the verifier has not seen this one
    try:
        client.clock.now += REFRESH_MIN_INTERVAL_S + 1
        status, _, body = await call(client, issuer.token(oid=USER_OID, kid=new_kid))
        assert status == 200, body
        assert client.verifier.fetches == 2
        status, _, _ = await call(client, issuer.token(oid=USER_OID, kid=new_kid))  # cached now: no third fetch
        assert status == 200 and client.verifier.fetches == 2
    finally:
        del issuer.keys[new_kid]


async def test_keys_older_than_a_day_are_refetched(client, issuer):
    assert (await call(client, issuer.token(oid=USER_OID)))[0] == 200
    client.clock.now += 24 * 3600 + 1
    assert (await call(client, issuer.token(oid=USER_OID)))[0] == 200
    assert client.verifier.fetches == 2


async def test_an_unreachable_tenant_is_503_and_keeps_no_one_out_for_good(tmp_path: Path, issuer):
    settings = Settings.from_env({"OPENQIO_ENTRA_TENANT": "00000000-0000-0000-0000-000000000000",
                                  "OPENQIO_ENTRA_AUTHORITY": issuer.base_url,
                                  "OPENQIO_ENTRA_PRINCIPALS": f"ws-a=oid:{USER_OID}"},
                                 data_dir=tmp_path, tokens={STATIC: "ws-a"}, workspace="ws-a")
    app = create_app(settings, Store(), object(), object())
    async with TestClient(TestServer(app)) as c:
        status, _, body = await call(c, issuer.token(oid=USER_OID))  # the issuer answers 404 for that tenant
        assert status == 503 and body["error"]["code"] == "AuthenticationUnavailable", body
        assert (await call(c, STATIC))[0] == 200  # static tokens do not depend on Entra


async def test_an_entra_token_at_a_service_without_entra_says_what_to_set(tmp_path: Path, issuer):
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={STATIC: "ws-a"}, workspace="ws-a")
    app = create_app(settings, Store(), object(), object())
    async with TestClient(TestServer(app)) as c:
        status, _, body = await call(c, issuer.token(oid=USER_OID))
    assert status == 401 and body["error"]["message"] == auth.ENTRA_OFF
    assert "OPENQIO_ENTRA_TENANT" in auth.ENTRA_OFF and "OPENQIO_ENTRA_PRINCIPALS" in auth.ENTRA_OFF


def test_jwt_shape():
    assert looks_like_jwt("aGVhZA.Ym9keQ.c2ln") and not looks_like_jwt(STATIC) and not looks_like_jwt("a.b.")


@pytest.mark.parametrize("env, match", [
    ({"OPENQIO_ENTRA_TENANT": TENANT}, "maps nobody"),
    ({"OPENQIO_ENTRA_PRINCIPALS": f"oid:{USER_OID}"}, "needs OPENQIO_ENTRA_TENANT"),
    ({"OPENQIO_ENTRA_TENANT": "common", "OPENQIO_ENTRA_PRINCIPALS": f"oid:{USER_OID}"}, "tenant's id"),
    ({"OPENQIO_ENTRA_TENANT": TENANT, "OPENQIO_ENTRA_PRINCIPALS": "ws=upn:someone@example.com"}, "oid:<guid>"),
    ({"OPENQIO_ENTRA_TENANT": TENANT, "OPENQIO_ENTRA_PRINCIPALS": "ws=oid:not-a-guid"}, "oid:<guid>"),
    ({"OPENQIO_ENTRA_TENANT": TENANT, "OPENQIO_ENTRA_PRINCIPALS": f"a=oid:{USER_OID},b=oid:{USER_OID}"}, "twice"),
    ({"OPENQIO_ENTRA_TENANT": TENANT, "OPENQIO_ENTRA_PRINCIPALS": f"oid:{USER_OID}",
      "OPENQIO_ENTRA_AUTHORITY": "http://login.example.com"}, "must use https"),
])
def test_unusable_entra_settings_are_refused(tmp_path: Path, env, match):
    with pytest.raises(SettingsError, match=match):
        Settings.from_env(env, data_dir=tmp_path)


def test_principals_grant_their_workspaces(tmp_path: Path, issuer):
    s = entra_settings(tmp_path, issuer)
    assert s.entra_principals == {("oid", USER_OID): "ws-a", ("appid", APP_ID): "ws-b"}
    assert {"ws-a", "ws-b"} <= s.workspaces  # each gets a storage account like a token's workspace


def _tamper(token: str) -> str:
    head, body, sig = token.split(".")
    return ".".join((head, body, sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")))


def _without_claim(issuer: LocalIssuer, claim: str, **kw) -> str:
    decoded = jwt.decode(issuer.token(**kw), options={"verify_signature": False})
    decoded.pop(claim)
    return jwt.encode(decoded, issuer.keys[issuer.current_kid], algorithm="RS256",
                      headers={"kid": issuer.current_kid, "typ": "JWT"})
