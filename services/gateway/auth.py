"""Who is calling: the bearer token of a request → the one workspace it grants (request[WORKSPACE]).

Two kinds of token, side by side:
- static tokens (OPENQIO_TOKENS, or the generated one in DATA_DIR/token): every configured token is compared with
  hmac.compare_digest and the loop never stops early, so neither timing nor answer says which one (or how much of
  one) matched;
- Microsoft Entra ID access tokens (OPENQIO_ENTRA_TENANT + OPENQIO_ENTRA_PRINCIPALS): JWTs verified by
  services/gateway/entra.py, what SDK code passing `credential=ClientSecretCredential(...)` sends.
A path naming another workspace answers 404 (views.py), never 403, so ids do not leak; 403 here means only "a
valid Entra token whose principal is mapped to no workspace". /healthz and the dashboard's static page are public:
no data is behind them.
"""
from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from contracts import errors
from services.config import Settings

from . import dashboard
from .entra import EntraVerifier, TokenRejected, looks_like_jwt
from .keys import WORKSPACE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# what a caller with an Entra token hears from a service that accepts none (the README quotes it)
ENTRA_OFF = ("a Microsoft Entra ID token was presented, but this service accepts none: set OPENQIO_ENTRA_TENANT "
             "and OPENQIO_ENTRA_PRINCIPALS on the service, or use its bearer token")


def static_workspace(settings: Settings, token: str) -> str | None:
    """The workspace of a configured static token, compared in constant time against every one."""
    presented = token.encode()
    granted = None
    for known, workspace in settings.tokens.items():
        if hmac.compare_digest(presented, known.encode()):
            granted = workspace
    return granted


_CHALLENGE = {401: 'Bearer error="invalid_token"', 403: 'Bearer error="insufficient_scope"'}  # RFC 6750 §3.1


def _refuse(status: int, code: str, message: str, challenge: str | None = None) -> web.Response:
    challenge = challenge or _CHALLENGE.get(status)
    return web.json_response({"error": {"code": code, "message": message}}, status=status,
                             headers={"WWW-Authenticate": challenge} if challenge else None)


def middleware(settings: Settings) -> Middleware:
    """The auth middleware for `settings`; it holds the app's Entra verifier (and its key cache), if any."""
    verifier = EntraVerifier.from_settings(settings) if settings.entra_tenant else None

    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/healthz" or request.path in dashboard.PUBLIC_PATHS:
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        granted = static_workspace(settings, token) if scheme.lower() == "bearer" and token else None
        if granted is None and scheme.lower() == "bearer" and looks_like_jwt(token):
            if verifier is None:
                return _refuse(401, errors.UNAUTHORIZED, ENTRA_OFF)
            try:
                granted = await verifier.workspace_for(token)
            except TokenRejected as exc:
                return _refuse(exc.status, exc.code, exc.message)
        if granted is None:
            return _refuse(401, errors.UNAUTHORIZED, "missing or invalid bearer token", "Bearer")
        request[WORKSPACE] = granted
        return await handler(request)

    auth_middleware.verifier = verifier  # type: ignore[attr-defined]  # tests reach its key cache and clock
    return auth_middleware
