"""Error codes used on the wire (`{"error": {"code", "message"}}`) and in a failed job's `errorData`.

Problem-format errors carry QIO's `AZQnnn` codes in their message, as the retired service did.
"""
from __future__ import annotations

import errno

# Request errors (HTTP bodies)
BAD_REQUEST = "BadRequest"  # malformed JSON, wrong types, missing fields
INVALID_JOB_DEFINITION = "InvalidJobDefinition"
INVALID_TARGET = "InvalidTarget"
INVALID_PARAMETERS = "InvalidParameters"
UNAUTHORIZED = "Unauthorized"
FORBIDDEN = "Forbidden"  # a valid token that may not: an Entra principal of no workspace; a non-viewer of the load
AUTH_UNAVAILABLE = "AuthenticationUnavailable"  # the Entra ID signing keys cannot be fetched
JOB_NOT_FOUND = "JobNotFound"
NOT_FOUND = "NotFound"
METHOD_NOT_ALLOWED = "MethodNotAllowed"
CONFLICT = "Conflict"  # e.g. cancelling a finished job, id reused with another body
JOB_ALREADY_FINISHED = "JobAlreadyFinished"
PAYLOAD_TOO_LARGE = "PayloadTooLarge"
REQUEST_TIMEOUT = "RequestTimeout"  # the request body did not arrive in time
TOO_MANY_REQUESTS = "TooManyRequests"  # new work refused while the service is at capacity (429, Retry-After)
STORAGE_UNAVAILABLE = "StorageUnavailable"
INSUFFICIENT_STORAGE = "InsufficientStorage"  # 507: the service's disk is full; nothing of the request was stored
INTERNAL_ERROR = "InternalError"
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # an OSError's errno when a write found its disk (or quota) full

# Job errors (errorData of a Failed job)
INVALID_INPUT_DATA = "InvalidInputData"
INPUT_NOT_FOUND = "InputDataNotFound"
INPUT_LOST = "InputDataLost"  # the input existed when the job was submitted; blob storage lost it since
CONTAINER_IN_USE = "ContainerInUse"  # a job's container already holds another job's output
JOB_NOT_SUCCEEDED = "JobNotSucceeded"  # a result was asked of a job that has none
PROBLEM_TOO_LARGE = "ProblemTooLarge"
RUNNER_CRASHED = "RunnerCrashed"
DEADLINE_EXCEEDED = "DeadlineExceeded"
SOLVER_ERROR = "SolverError"

# QIO input-rule codes (used inside messages)
AZQ_REPEATED_ISING_INDEX = "AZQ101"
AZQ_MISSING_SECTION = "AZQ102"
AZQ_WRONG_TYPE = "AZQ103"
AZQ_BAD_INITIAL_CONFIGURATION = "AZQ104"
AZQ_UNPARSABLE = "AZQ105"
AZQ_INVALID_PARAMETER = "AZQ107"


class ContractError(ValueError):
    """A value that breaks a wire contract. `code` is a wire error code, `message` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def to_wire(self) -> dict:
        return {"code": self.code, "message": self.message}
