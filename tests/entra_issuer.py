"""A stand-in for Microsoft Entra ID on loopback, for the Entra ID auth tests: its own RSA signing keys, the two
OpenID configuration documents a tenant publishes (v1 and v2), their JWKS endpoints, and a client-credentials
token endpoint that azure-identity's ClientSecretCredential (through MSAL) can use, and an App Service style
managed identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER) for DefaultAzureCredential.

It runs its own event loop in a thread, so it answers while a test blocks on a subprocess (the SDK) as well as
from async tests. Counts every JWKS request (`jwks_hits`) so tests can check the verifier's refresh bounds.
"""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT = "72f988bf-0000-4000-8000-00000000cafe"
AUDIENCE = "https://quantum.microsoft.com"


@dataclass
class Client:
    """A registered application: client id, secret and its service principal's object id."""

    client_id: str
    secret: str
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))


class LocalIssuer:
    def __init__(self, tenant: str = TENANT, ssl_context: Any = None, host: str = "127.0.0.1"):
        self.tenant, self.ssl_context, self.host = tenant, ssl_context, host
        self.clients: dict[str, Client] = {}
        self.keys: dict[str, rsa.RSAPrivateKey] = {}  # kid -> key; every one is published
        self.jwks_hits = 0
        self.identity_header = uuid.uuid4().hex  # what IDENTITY_HEADER must carry
        self.identity_oid = str(uuid.uuid4())  # the managed identity's object id
        self.identity_tokens: list[str] = []  # resources tokens were issued for, in order
        self.port = 0
        self.new_key()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    # -- what tests use -------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def identity_endpoint(self) -> str:
        return f"{self.base_url}/msi/token"

    @property
    def v1_issuer(self) -> str:
        return f"https://sts.windows.net/{self.tenant}/"

    @property
    def v2_issuer(self) -> str:
        return f"{self.base_url}/{self.tenant}/v2.0"

    def new_key(self) -> str:
        """Publish a new signing key (what Entra's key rollover does); returns its kid."""
        kid = uuid.uuid4().hex[:16]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    @property
    def current_kid(self) -> str:
        return list(self.keys)[-1]

    def register(self, client_id: str | None = None, secret: str | None = None) -> Client:
        client = Client(client_id or str(uuid.uuid4()), secret or uuid.uuid4().hex)
        self.clients[client.client_id] = client
        return client

    def token(self, *, oid: str | None = None, appid: str | None = None, aud: str = AUDIENCE,
              iss: str | None = None, lifetime_s: int = 3600, kid: str | None = None,
              key: rsa.RSAPrivateKey | None = None, version: str = "1.0", **claims: Any) -> str:
        """A v1-style access token (iss sts.windows.net, appid) by default; version="2.0" gives v2 (iss .../v2.0,
        azp). `key` signs with a key the issuer does not publish; `claims` adds or overrides claims."""
        now = int(time.time())
        kid = kid or self.current_kid
        body: dict[str, Any] = {"aud": aud, "iat": now - 5, "nbf": now - 5, "exp": now + lifetime_s,
                                "tid": self.tenant, "ver": version, "oid": oid or str(uuid.uuid4())}
        body["iss"] = iss or (self.v1_issuer if version == "1.0" else self.v2_issuer)
        body["appid" if version == "1.0" else "azp"] = appid or str(uuid.uuid4())
        body["sub"] = body["oid"]
        body.update(claims)
        return jwt.encode(body, key or self.keys[kid], algorithm="RS256", headers={"kid": kid, "typ": "JWT"})

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> LocalIssuer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="local-entra-issuer")
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    async def _start(self) -> None:
        app = web.Application()
        t = "/{tenant}"
        app.router.add_get(t + "/v2.0/.well-known/openid-configuration", self._v2_configuration)
        app.router.add_get(t + "/.well-known/openid-configuration", self._v1_configuration)
        app.router.add_get(t + "/discovery/v2.0/keys", self._jwks)
        app.router.add_get("/common/discovery/keys", self._jwks)
        app.router.add_post(t + "/oauth2/v2.0/token", self._token_endpoint)
        app.router.add_get("/msi/token", self._managed_identity)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    # -- endpoints ------------------------------------------------------------------------------------------------

    def _tenant_or_404(self, request: web.Request) -> None:
        if request.match_info["tenant"] != self.tenant:
            raise web.HTTPNotFound()

    async def _v2_configuration(self, request: web.Request) -> web.Response:
        self._tenant_or_404(request)
        base = f"{self.base_url}/{self.tenant}"
        return web.json_response({
            "issuer": self.v2_issuer, "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint": f"{base}/oauth2/v2.0/token", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "response_types_supported": ["code", "id_token", "token"], "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"], "tenant_region_scope": "EU"})

    async def _v1_configuration(self, request: web.Request) -> web.Response:
        self._tenant_or_404(request)
        base = f"{self.base_url}/{self.tenant}"
        return web.json_response({
            "issuer": self.v1_issuer, "jwks_uri": f"{self.base_url}/common/discovery/keys",
            "token_endpoint": f"{base}/oauth2/token", "authorization_endpoint": f"{base}/oauth2/authorize"})

    async def _jwks(self, request: web.Request) -> web.Response:
        self.jwks_hits += 1
        keys = []
        for kid, key in self.keys.items():
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "kty": "RSA"})
        return web.json_response({"keys": keys})

    async def _token_endpoint(self, request: web.Request) -> web.Response:
        """OAuth 2.0 client credentials (what ClientSecretCredential does): a v1 app-only token for the scope."""
        self._tenant_or_404(request)
        form = await request.post()
        client = self.clients.get(str(form.get("client_id")))
        if form.get("grant_type") != "client_credentials" or client is None or form.get("client_secret") != client.secret:
            return web.json_response({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client "
                                      "secret provided."}, status=401)
        scope = str(form.get("scope", ""))
        if not scope.endswith("/.default"):
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = self.token(oid=client.oid, appid=client.client_id, aud=scope[: -len("/.default")], idtyp="app")
        return web.json_response({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                  "access_token": token})

    async def _managed_identity(self, request: web.Request) -> web.Response:
        """App Service managed identity (api-version 2019-08-01): a v1 token for `resource`, e.g. Azure Storage."""
        if request.headers.get("X-IDENTITY-HEADER") != self.identity_header:
            return web.json_response({"error": "missing or wrong X-IDENTITY-HEADER"}, status=401)
        resource = request.query.get("resource", "")
        self.identity_tokens.append(resource)
        expires_on = int(time.time()) + 3600
        return web.json_response({"access_token": self.token(oid=self.identity_oid, aud=resource, idtyp="app"),
                                  "expires_on": str(expires_on), "resource": resource, "token_type": "Bearer"})
