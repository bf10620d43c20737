"""Packaging facts a newcomer meets (issue 12 §5): the README's own `sdk-venv/` is ignored by git, the license is an
SPDX string, so installs print no setuptools deprecation box about a license table, and `make` says in one line
that Python or Node is too old before it installs anything."""
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


def _fake(folder: Path, name: str, version: str) -> None:
    """An interpreter that prints `version` and fails anything else (the Makefile's version checks included)."""
    path = folder / name
    path.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "{version}" && exit 0\nexit 1\n')
    path.chmod(0o755)


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_says_python_or_node_is_too_old_before_installing_anything(tmp_path: Path):
    for name in ("Makefile", "pyproject.toml", "package.json", "package-lock.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake(bin_dir, "python3", "Python 3.10.13")
    _fake(bin_dir, "node", "v18.19.0")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    make_binary = shutil.which("make") or "make"

    def make(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([make_binary, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60)

    old_python = make("run")
    assert old_python.returncode != 0
    assert "openqio needs Python 3.11 or newer; python3 is Python 3.10.13" in old_python.stderr
    assert not (tmp_path / ".venv").exists()  # nothing left for a later run with a newer Python to trip over
    missing = make("run", "PYTHON=no-such-python")
    assert "no-such-python is missing" in missing.stderr and missing.returncode != 0
    (tmp_path / ".venv" / "bin").mkdir(parents=True)  # one an older openqio's make, or a hand, made with 3.10
    _fake(tmp_path / ".venv" / "bin", "python", "Python 3.10.13")
    old_venv = make(".venv/.installed")
    assert old_venv.returncode != 0
    assert ".venv was made with Python 3.10.13; openqio needs Python 3.11 or newer: rm -rf .venv" in old_venv.stderr
    old_node = make("node_modules/.bin/azurite-blob")
    assert old_node.returncode != 0
    assert "openqio runs Azurite on Node.js 20 or newer (with npm); node is v18.19.0" in old_node.stderr
    assert not (tmp_path / "node_modules").exists()
