"""Microsoft Entra ID access tokens as bearer tokens: what code that passes `credential=ClientSecretCredential(...)`
(or any azure-identity credential) to the azure-quantum SDK sends.

A token is accepted when it is an RS256 JWT signed by one of the configured tenant's signing keys, its `iss` is
one of the issuers the tenant's OpenID configuration documents name (v1 `https://sts.windows.net/<tid>/` and v2
`https://login.microsoftonline.com/<tid>/v2.0`: the SDK's scope `https://quantum.microsoft.com/.default` gets v1
tokens), its `aud` is OPENQIO_ENTRA_AUDIENCE, it has not expired (60 s of clock skew allowed), and its principal
is mapped to a workspace (OPENQIO_ENTRA_PRINCIPALS: an object id `oid`, or the application id `appid`/`azp` of an
app-only token, one without `scp`).

Signing keys: fetched from the `jwks_uri` of both OpenID configuration documents on first use, kept in memory,
refetched when older than KEYS_MAX_AGE_S or when a token names an unknown `kid` (Entra rolls keys over), but at
most once per REFRESH_MIN_INTERVAL_S, so tokens with made-up key ids cannot turn the gateway into a request
amplifier. A failed fetch keeps the last keys. Documents are bounded in size and time (MAX_DOCUMENT_BYTES,
FETCH_TIMEOUT_S) and must come over https (plain http only on loopback, for tests).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import certifi
import jwt

from contracts import errors
from services.remote_settings import LOOPBACK_HOSTS

log = logging.getLogger(__name__)

REFRESH_MIN_INTERVAL_S = 60.0
KEYS_MAX_AGE_S = 24 * 3600.0
FETCH_TIMEOUT_S = 10.0
MAX_DOCUMENT_BYTES = 1024 * 1024
LEEWAY_S = 60
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments: worth verifying as a JWT (static tokens are compared first)."""
    return bool(_JWT_SHAPE.match(token))


class TokenRejected(Exception):
    """Why a token grants nothing: `status` 401 (invalid), 403 (valid, principal not allowed) or 503 (keys
    unavailable); `message` is safe to show to the caller, who holds the token anyway."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _invalid(message: str) -> TokenRejected:
    return TokenRejected(401, errors.UNAUTHORIZED, message)


class EntraVerifier:
    def __init__(self, tenant: str, authority: str, audience: str, principals: Mapping[tuple[str, str], str], *,
                 min_refresh_interval_s: float = REFRESH_MIN_INTERVAL_S, max_key_age_s: float = KEYS_MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic):
        self.tenant, self.audience, self.principals = tenant, audience, dict(principals)
        base = f"{authority.rstrip('/')}/{tenant}"
        self.discovery_urls = (f"{base}/v2.0/.well-known/openid-configuration", f"{base}/.well-known/openid-configuration")
        self.min_refresh_interval_s, self.max_key_age_s, self.clock = min_refresh_interval_s, max_key_age_s, clock
        self.fetches = 0  # completed refresh attempts (for the log and tests)
        self._keys: dict[str, Any] = {}
        self._issuers: list[str] = []
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings) -> EntraVerifier:
        return cls(settings.entra_tenant, settings.entra_authority, settings.entra_audience, settings.entra_principals)

    async def workspace_for(self, token: str) -> str:
        """The workspace `token` grants, or TokenRejected saying why not."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("the bearer token is not a valid JWT") from None
        if header.get("alg") != "RS256":
            raise _invalid(f"the token is signed with {header.get('alg')!r}; Entra ID tokens use RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid("the token names no signing key (kid)")
        key = await self._signing_key(kid)
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"], audience=self.audience, issuer=self._issuers,
                                leeway=LEEWAY_S, options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise _invalid("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise _invalid("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise _invalid(f"the token's audience is not {self.audience}") from None
        except jwt.InvalidIssuerError:
            raise _invalid(f"the token was not issued by tenant {self.tenant}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"the token has no {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise _invalid("the token's signature does not verify") from None
        return self._workspace(claims)

    def _workspace(self, claims: Mapping[str, Any]) -> str:
        oid = str(claims.get("oid") or "").lower()
        appid = str(claims.get("appid") or claims.get("azp") or "").lower()
        granted = self.principals.get(("oid", oid)) if oid else None
        if granted is None and appid and "scp" not in claims:  # app-only: the application acts as itself
            granted = self.principals.get(("appid", appid))
        if granted is None:
            raise TokenRejected(403, errors.FORBIDDEN,
                                f"Entra ID principal oid={oid or '-'} appid={appid or '-'} is not allowed here: the "
                                f"service's OPENQIO_ENTRA_PRINCIPALS must map workspace=oid:{oid or '<object id>'}")
        return granted

    async def _signing_key(self, kid: str) -> Any:
        if kid not in self._keys or self._stale():
            await self._refresh()
        if kid in self._keys:
            return self._keys[kid]
        if self._fetched_at is None:
            raise TokenRejected(503, errors.AUTH_UNAVAILABLE,
                                f"the signing keys of tenant {self.tenant} could not be fetched; retry later")
        raise _invalid("the token is signed by a key the tenant does not publish")

    def _stale(self) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at > self.max_key_age_s

    def _may_fetch(self) -> bool:
        return self._attempted_at is None or self.clock() - self._attempted_at >= self.min_refresh_interval_s

    async def _refresh(self) -> None:
        """Fetch the documents and keys, at most once per min_refresh_interval_s (concurrent callers share one)."""
        if not self._may_fetch():
            return
        async with self._lock:
            if not self._may_fetch():  # another request refreshed while this one waited
                return
            self._attempted_at = self.clock()
            try:
                issuers, keys = await self._fetch()
            except (TimeoutError, aiohttp.ClientError, ValueError, KeyError, TypeError) as exc:
                log.warning("Entra ID: cannot fetch tenant %s's signing keys (%s: %s); keeping %d known key(s)",
                            self.tenant, type(exc).__name__, exc, len(self._keys))
                return
            finally:
                self.fetches += 1
            self._issuers, self._keys, self._fetched_at = issuers, keys, self.clock()
            log.info("Entra ID: tenant %s, %d signing key(s), issuers %s", self.tenant, len(keys), ", ".join(issuers))

    async def _fetch(self) -> tuple[list[str], dict[str, Any]]:
        context = ssl.create_default_context()  # the system's CAs (and SSL_CERT_FILE) plus certifi's
        context.load_verify_locations(certifi.where())
        issuers: list[str] = []
        jwks_urls: list[str] = []
        keys: dict[str, Any] = {}
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(ssl=context)) as session:
            for url in self.discovery_urls:
                document = await _get_json(session, url)
                issuer, jwks_uri = document["issuer"], document["jwks_uri"]
                if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
                    raise ValueError(f"{url}: issuer and jwks_uri must be strings")
                issuers += [issuer] if issuer not in issuers else []
                jwks_urls += [jwks_uri] if jwks_uri not in jwks_urls else []
            for url in jwks_urls:
                for jwk in (await _get_json(session, url))["keys"]:
                    if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
                        continue
                    try:
                        keys[str(jwk["kid"])] = jwt.PyJWK(jwk, algorithm="RS256").key
                    except (jwt.PyJWKError, KeyError):
                        continue
        if not keys:
            raise ValueError("the tenant publishes no RSA signing key")
        return issuers, keys


async def _get_json(session: aiohttp.ClientSession, url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"{url}: signing keys are fetched over https only")
    async with session.get(url, allow_redirects=False) as resp:
        if resp.status != 200:
            raise ValueError(f"{url} answered {resp.status}")
        body = await resp.content.read(MAX_DOCUMENT_BYTES + 1)
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"{url}: document larger than {MAX_DOCUMENT_BYTES} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError(f"{url}: not a JSON object")
    return document
