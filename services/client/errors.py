"""Typed errors of the native client.

The service answers every failure as `{"error": {"code", "message"}}`; the client raises a `ClientError` carrying the
HTTP status, that code and that message. The classes also derive from azure-core's exceptions (azure-core comes
with azure-storage-blob), so code written for azure-quantum 0.27 that catches `ResourceNotFoundError`,
`ResourceExistsError`, `ClientAuthenticationError` or `HttpResponseError` keeps working unchanged; `str(exc)` and
`exc.error.code` read as they do there.
"""
from __future__ import annotations

from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ODataV4Format,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)

__all__ = [
    "ClientError",
    "NotFoundError",
    "JobNotFoundError",
    "ConflictError",
    "AuthenticationError",
    "ServiceConnectionError",
    "error_from_response",
]


class ClientError(HttpResponseError):
    """The service answered with an error status: `status` (int), `code` (the wire error code) and `message` (the
    service's text). `str(exc)` reads "(code) message\nCode: code\nMessage: message", as azure-core words it.
    `held` is True for a 429 the client gave itself without sending the request: the service's last 429 had asked it
    to wait longer than it may (services/client/_transport.py)."""

    held = False

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        # HttpResponseError.__init__ computes `self.error` from a response; we have none, so set it afterwards.
        super().__init__(message=_text(code, message))
        self.retry_after = retry_after  # seconds the answer asked for: retry-after-ms, else Retry-After (429: at capacity)
        self.status = self.status_code = status
        self.code = code
        self.message = message
        self.error = ODataV4Format({"code": code, "message": message})
        self.args = (_text(code, message),)


def _text(code: str, message: str) -> str:
    # The layout azure-core gives an OData error, which azure-quantum users see: "(code) message\nCode: ...".
    return f"({code}) {message}\nCode: {code}\nMessage: {message}"


class NotFoundError(ClientError, ResourceNotFoundError):
    """404: the workspace, route or resource does not exist."""


class JobNotFoundError(NotFoundError):
    """404 with code JobNotFound: no job with this id in the workspace."""


class ConflictError(ClientError, ResourceExistsError):
    """409: e.g. cancelling a job that has already finished (JobAlreadyFinished)."""


class AuthenticationError(ClientError, ClientAuthenticationError):
    """401: missing or wrong bearer token."""


class ServiceConnectionError(ServiceRequestError):
    """The service could not be reached (refused, reset, TLS failure, timeout) after the retries."""


def error_from_response(status: int, body: Any, reason: str = "", retry_after: float | None = None, *,
                        held: bool = False) -> ClientError:
    """Map an error answer to its exception class. `body` is the parsed JSON (or raw text) of the answer;
    `retry_after`, the seconds its Retry-After asked for. `held`: the service's last 429, given again for a request
    the client did not send (ClientError.held), `retry_after` the seconds left of the wait it asked for."""
    code, message = None, None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        message = body["error"].get("message")
    if not code:
        code = reason.replace(" ", "") or f"HTTP{status}"
    if not message:
        message = (body if isinstance(body, str) and body else reason) or f"the service answered HTTP {status}"
        message = str(message)[:2000]
    if held:
        message = f"{message} (not sent: the service asked this client to wait {retry_after:.3f} s more)"
    if status == 401:
        return AuthenticationError(status, code, message, retry_after)
    if status == 404:
        return (JobNotFoundError if code == "JobNotFound" else NotFoundError)(status, code, message, retry_after)
    if status == 409:
        return ConflictError(status, code, message, retry_after)
    error = ClientError(status, code, message, retry_after)
    error.held = held
    return error

