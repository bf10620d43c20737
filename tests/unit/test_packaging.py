"""Packaging facts a newcomer meets (issue 12 §5): the README's own `sdk-venv/` is ignored by git, and the license
is an SPDX string, so installs print no setuptools deprecation box about a license table."""
from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_an_spdx_string_and_the_build_backend_understands_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]  # the first setuptools that reads SPDX strings


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_the_readmes_sdk_venv_is_ignored_by_git():
    assert "sdk-venv" in (ROOT / "README.md").read_text()
    for path in ("sdk-venv/bin/python", "sdk-venv/pyvenv.cfg"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, path
