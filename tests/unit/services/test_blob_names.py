"""BlobStore's local parts: name rules, URL parsing and SAS URL shapes (no storage calls)."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from services.blobs.azure_store import BlobStore, InvalidName, check_blob_name, check_container_name
from services.config import Settings

BASE = "http://127.0.0.1:10000/devstoreaccount1"


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(Settings.from_env({}, data_dir=tmp_path, blob_url=BASE + "/", sas_ttl_s=3600))


@pytest.mark.parametrize("name", ["abc", "job-f0020096-e7a5-11f1-b10a-02fc00000001", "qio-problems", "a" * 63, "0ab"])
def test_valid_container_names(name: str):
    assert check_container_name(name) == name


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Job-1", "job_1", "job--1", "-job", "job-", "..", "../x", "a/b",
                                  "job 1", "", None, 5])
def test_invalid_container_names(name):
    with pytest.raises(InvalidName):
        check_container_name(name)


@pytest.mark.parametrize("name", ["inputData", "rawOutputData", "dir/file.json", "a" * 1024,
                                  "1f1b-uuid-like-0000", "ünïcode"])
def test_valid_blob_names(name: str):
    assert check_blob_name(name) == name


@pytest.mark.parametrize("name", ["", "a" * 1025, "../etc/passwd", "a/../b", "a//b", "./a", "a/.", "/a", "a/",
                                  "back\\slash", "nul\x00", "tab\tname", None])
def test_invalid_blob_names(name):
    with pytest.raises(InvalidName):
        check_blob_name(name)


def test_parse_blob_uri_path_style_and_host_style(blobs: BlobStore):
    assert blobs.parse_blob_uri(f"{BASE}/job-1a/inputData") == ("job-1a", "inputData")
    assert blobs.parse_blob_uri(f"{BASE}/qio-problems/inputData?sv=1&sig=x") == ("qio-problems", "inputData")
    assert blobs.parse_blob_uri(f"{BASE}/abc/dir/sub%20name") == ("abc", "dir/sub name")
    assert blobs.parse_blob_uri("https://mystorage.blob.core.windows.net/job-1a/inputData") == ("job-1a", "inputData")


@pytest.mark.parametrize("uri", ["ftp://host/devstoreaccount1/abc/blob", "not a url", f"{BASE}/abc",
                                 f"{BASE}/abc/../../x", f"{BASE}/ABC/inputData", f"{BASE}/abc/a%2F..%2Fb", ""])
def test_parse_blob_uri_rejects(blobs: BlobStore, uri: str):
    with pytest.raises(InvalidName):
        blobs.parse_blob_uri(uri)


def test_parse_container_uri(blobs: BlobStore):
    assert blobs.parse_container_uri(f"{BASE}/job-1a?sv=1&ss=b&srt=co&sp=racw&sig=x") == "job-1a"
    assert blobs.parse_container_uri(f"{BASE}/job-1a/") == "job-1a"
    for bad in (f"{BASE}/job-1a/inputData", f"{BASE}", f"{BASE}/Job_1"):
        with pytest.raises(InvalidName):
            blobs.parse_container_uri(bad)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_container_sas_is_an_account_sas(blobs: BlobStore):
    url = blobs.container_sas_url("job-1a")
    assert url.startswith(f"{BASE}/job-1a?")
    q = query(url)
    assert q["ss"] == "b" and set(q["srt"]) == {"c", "o"} and set("racw") <= set(q["sp"])
    assert q["se"] and q["sig"] and "sr" not in q
    with pytest.raises(InvalidName):
        blobs.container_sas_url("../etc")


def test_blob_sas(blobs: BlobStore):
    url = blobs.blob_sas_url("job-1a", "rawOutputData")
    assert url.startswith(f"{BASE}/job-1a/rawOutputData?")
    q = query(url)
    assert q["sr"] == "b" and q["sp"] == "r" and q["se"] and q["sig"]
    assert query(blobs.blob_sas_url("job-1a", "rawOutputData", permission="rcw"))["sp"] == "rcw"
    with pytest.raises(InvalidName):
        blobs.blob_sas_url("job-1a", "../x")


def test_store_refuses_storage_calls_before_open(blobs: BlobStore):
    with pytest.raises(RuntimeError, match="not open"):
        _ = blobs.client
