"""A job's name, metadata and tags are bounded (issue 11 §6): what the gateway checks at PUT and after a PATCH."""
from __future__ import annotations

import pytest

from contracts import errors
from contracts.errors import ContractError
from contracts.jobs import JobDetails
from services.gateway.bounds import MAX_JOB_FIELDS_BYTES, MAX_NAME_CHARS, MAX_TAGS, check_job_size


def refused(*args, **kw) -> str:
    with pytest.raises(ContractError) as info:
        check_job_size(*args, **kw)
    assert info.value.code == errors.PAYLOAD_TOO_LARGE
    return info.value.message


def test_bounds_at_put():
    check_job_size("n" * MAX_NAME_CHARS, {"k": "v"}, ["t"] * MAX_TAGS)
    assert f"at most {MAX_NAME_CHARS} characters" in refused("n" * (MAX_NAME_CHARS + 1), None, [])
    assert f"at most {MAX_TAGS} tags" in refused("n", None, ["t"] * (MAX_TAGS + 1))
    metadata = {f"k{i}": "v" * 1000 for i in range(70)}
    assert f"at most {MAX_JOB_FIELDS_BYTES} bytes" in refused("n", metadata, [])
    # the bytes are UTF-8 JSON: 3 bytes per character here
    assert f"at most {MAX_JOB_FIELDS_BYTES} bytes" in refused("n", None, ["€" * 1000] * 25)


def stored(tags: list[str]) -> JobDetails:
    return JobDetails(id="j", name="n", container_uri="http://x/job-j", input_data_format="microsoft.qio.v2",
                      provider_id="Microsoft", target="microsoft.tabu.cpu", tags=tags)


def test_a_patch_may_shrink_a_job_stored_before_the_bounds():
    legacy = stored(["t" * 1000] * 100)  # ~100 KB: over the byte bound
    check_job_size("n", None, ["t" * 1000] * 99, before=legacy)
    check_job_size("n", None, ["t" * 1000] * 100, before=legacy)
    assert "bytes" in refused("n", None, ["t" * 1000] * 101, before=legacy)
    many = stored(["t"] * (MAX_TAGS + 5))
    check_job_size("n", None, ["t"] * (MAX_TAGS + 4), before=many)
    assert "tags" in refused("n", None, ["t"] * (MAX_TAGS + 6), before=many)
