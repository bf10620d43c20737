"""Exceptions raised by the native client. Each carries the service's error code and message."""
from __future__ import annotations


class ClientError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"({code}) {message}" if code else message)
        self.status = status
        self.code = code
        self.message = message


class AuthenticationError(ClientError):
    """401: missing or wrong token."""


class JobNotFoundError(ClientError):
    """404: no such job (or workspace) for this token."""


class ConflictError(ClientError):
    """409: e.g. cancelling a finished job, or reusing a job id with another definition."""


class ServiceUnavailableError(ClientError):
    """503 after the client's retries: storage or the service is down."""


def error_for(status: int, code: str, message: str) -> ClientError:
    cls = {401: AuthenticationError, 404: JobNotFoundError, 409: ConflictError, 503: ServiceUnavailableError}.get(
        status, ClientError
    )
    return cls(status, code, message)
