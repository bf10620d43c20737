"""docker/compose.yaml's Azurite, run for real without a Docker engine: the `azurite` service's entry point and
command, as the file gives them (paths moved into a temporary directory, a free port on loopback), become an Azurite
with every preload `make run`'s has, serving the one private account with the key it made, and keeping that key and
the blobs across a restart."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from services.azurite import (
    ACCOUNT,
    ACCOUNT_KEY,
    DISK_FULL_SAID,
    DISPATCH_KEPT,
    INDEX_BY_JOURNAL,
    INDEXED_LOOKUPS,
    KEPT_DESCRIPTORS,
    RANDOM_UUIDS,
    ROOT,
    SMALL_WRITES,
    TEMPLATES_PARSED_ONCE,
    Azurite,
    AzuriteError,
)
from tests.conftest import _unavailable, azurite_entry

pytestmark = pytest.mark.integration

EVERY_PRELOAD = {INDEXED_LOOKUPS, TEMPLATES_PARSED_ONCE, INDEX_BY_JOURNAL, KEPT_DESCRIPTORS, SMALL_WRITES,
                 RANDOM_UUIDS, DISPATCH_KEPT, DISK_FULL_SAID}


def container_command(tmp_path: Path) -> list[str]:
    """The azurite service's entry point + command, its volumes moved under tmp_path, its port a free one on
    loopback, the key handed to this test's user (the service's user in the image)."""
    service = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]["azurite"]
    mounts = {inside: tmp_path / volume for volume, inside in (v.split(":")[:2] for v in service["volumes"])}
    values = {"--host": "127.0.0.1", "--port": "0", "--key-owner": str(os.getuid())}
    argv = [sys.executable if word == "python" else word for word in service["entrypoint"]]
    command = service["command"]
    for flag, value in zip(command[::2], command[1::2], strict=True):
        if flag in values:
            value = values[flag]
        else:
            for inside, outside in mounts.items():
                if value == inside or value.startswith(inside + "/"):
                    value = str(outside) + value[len(inside):]
        argv += [flag, value]
    return argv


def start(argv: list[str]) -> Azurite:
    server = Azurite(host="127.0.0.1")
    server.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    try:
        return server.wait_listening(timeout=120)
    except AzuriteError as exc:
        _unavailable(f"the azurite service's command did not start Azurite: {exc}")


def test_compose_s_azurite_runs_with_openqio_s_preloads_and_a_key_of_its_own(tmp_path):
    azurite_entry()  # Azurite installed (`npm ci`), or the reason why not
    argv = container_command(tmp_path)
    key_file = Path(argv[argv.index("--key-file") + 1])
    assert not key_file.exists()
    server = start(argv)
    try:
        # the entry point became Azurite (exec): the container's signals reach Azurite itself
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert any(part.endswith(b"azurite-blob") for part in cmdline), cmdline
        assert server.installed == EVERY_PRELOAD
        key = key_file.read_text()
        assert len(base64.b64decode(key, validate=True)) == 64
        assert oct(key_file.stat().st_mode & 0o777) == "0o400" and key_file.stat().st_uid == os.getuid()
        account = argv[argv.index("--account") + 1]
        blobs = BlobServiceClient(server.account_url(account),
                                  credential={"account_name": account, "account_key": key})
        blobs.create_container("job-1").upload_blob("inputData", b'{"cost_function": {}}')
        assert Path(argv[argv.index("--location") + 1], "__azurite_db_blob__.json").exists()
        public = BlobServiceClient(server.account_url(ACCOUNT),
                                   credential={"account_name": ACCOUNT, "account_key": ACCOUNT_KEY})
        with pytest.raises(HttpResponseError):  # the development account, whose key everyone knows, is off
            list(public.list_containers())
        process = server.process
        server.stop()  # SIGTERM, as `docker stop` sends
        assert process is not None and process.returncode == 0
    finally:
        server.stop()

    server = start(argv)  # the container restarted: the same key, the blob still there
    try:
        assert key_file.read_text() == key and server.installed == EVERY_PRELOAD
        blobs = BlobServiceClient(server.account_url(account),
                                  credential={"account_name": account, "account_key": key})
        assert blobs.get_container_client("job-1").download_blob("inputData").readall() == b'{"cost_function": {}}'
    finally:
        server.stop()


def test_the_entry_point_says_what_is_wrong_and_exits(tmp_path):
    argv = [sys.executable, "-m", "services.azurite", "--location", str(tmp_path), "--account", "openqio"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2 and "--account and --key-file go together" in out.stderr
    out = subprocess.run([*argv, "--key-file", str(tmp_path / "key"), "--key-owner", "no-such-user-here"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2 and "no user 'no-such-user-here'" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "key").exists()
