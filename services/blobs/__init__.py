"""Blob storage for job input and output. The errors here are what the dispatcher distinguishes."""
from __future__ import annotations


class InputError(Exception):
    """The input blob is missing or unreadable for a reason retrying will not fix. `code` is a wire error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class StorageUnavailable(Exception):
    """Blob storage could not be reached or failed on its side; worth retrying."""
