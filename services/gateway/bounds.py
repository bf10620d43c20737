"""Bounds on what a client stores in a job besides its input (issue 11 §6): its name, metadata and tags.

They go out in every GET and list page, so they are bounded at PUT and after every PATCH: 40 PATCHes under the
request limit once grew a job to 36 000 tags (36 MB per GET). A list page of OPENQIO_LIST_PAGE_SIZE jobs thus
stays under page size × MAX_JOB_FIELDS_BYTES. Breaking a bound is 413 PayloadTooLarge, naming it.
"""
from __future__ import annotations

import json

from contracts import errors
from contracts.errors import ContractError
from contracts.jobs import JobDetails

MAX_NAME_CHARS = 1024
MAX_TAGS = 1000
MAX_JOB_FIELDS_BYTES = 64 * 1024  # name + metadata + tags, as UTF-8 JSON


def _fields_size(name: str, metadata: dict | None, tags: list[str]) -> int:
    return len(json.dumps([name, metadata, tags], ensure_ascii=False).encode("utf-8"))


def check_job_size(name: str, metadata: dict | None, tags: list[str], before: JobDetails | None = None) -> None:
    """Raise 413 PayloadTooLarge naming the bound that `name`, `metadata` and `tags` break. After a PATCH
    (`before`: the job as stored) a job already past a bound (stored before the bounds existed) may keep its size
    or shrink."""
    if len(name) > MAX_NAME_CHARS:
        raise _too_large(f"a job name has at most {MAX_NAME_CHARS} characters; this one has {len(name)}")
    if len(tags) > MAX_TAGS and (before is None or len(tags) > len(before.tags)):
        raise _too_large(f"a job has at most {MAX_TAGS} tags; this one would have {len(tags)}")
    size = _fields_size(name, metadata, tags)
    grew = before is None or size > _fields_size(before.name or "", before.metadata, before.tags)
    if size > MAX_JOB_FIELDS_BYTES and grew:
        raise _too_large(f"a job's name, metadata and tags take at most {MAX_JOB_FIELDS_BYTES} bytes as JSON; these "
                         f"would take {size}")


def _too_large(message: str) -> ContractError:
    return ContractError(errors.PAYLOAD_TOO_LARGE, message)
