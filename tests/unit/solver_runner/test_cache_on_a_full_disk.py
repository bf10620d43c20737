"""solver_runner.numba_cache: with numba's cache directory on a full disk, the solvers compile in memory and run, one
WARNING per process says so, and no cache file is left half-written. Before: numba's compiler raised ENOSPC out of
each save, so every job failed, and so did the warm-up and every runner's start; and a cache directory that could
not even be made (no inode, no block left) sent numba to `__pycache__` beside the sources, keyed by each file's own
time only (solver_runner/__init__.py), or, with none writable, failed the import.

Each case runs in a process of its own, with a small tmpfs mounted on its NUMBA_CACHE_DIR in a mount namespace of
its own (tests/conftest.py own_mount_namespace) and filled before Python starts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from solver_runner import cache_dir
from tests.conftest import own_mount_namespace

ROOT = Path(__file__).resolve().parents[3]

# what a runner does first: import the solvers (numba's cache directory under the full disk), compile and run one
# (the JSON terms reader: a few small functions), then mark the warm-up done
SCRIPT = r"""
import json, logging, os, sys
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
import solver_runner
from solver_runner import warmup
from solver_runner.json_terms import scan_terms
coeffs, offsets, ids, end = scan_terms(b'[{"c": 2.5, "ids": [0, 1]}, {"c": -1, "ids": [2]}]', 0, 2)
warmup._mark_warm()
files = sorted(os.path.relpath(os.path.join(d, f), sys.argv[1]) for d, _, fs in os.walk(sys.argv[1]) for f in fs)
print(json.dumps({"coeffs": coeffs.tolist(), "ids": ids[:offsets[2]].tolist(), "files": files,
                  "cache": os.environ["NUMBA_CACHE_DIR"]}))
"""

FILL_BLOCKS = 'dd if=/dev/zero of="$0/filler" bs=64k 2>/dev/null;'  # until no block is left
FILL_INODES = 'i=0; while touch "$0/f$i" 2>/dev/null; do i=$((i+1)); done;'  # until no inode is left


def _run_on_a_full_cache_disk(tmp_path: Path, options: str, fill: str, script: str = SCRIPT) -> tuple[Any, str]:
    cache = tmp_path / "cache"
    cache.mkdir()
    in_tree = sorted((ROOT / "solver_runner").glob("__pycache__/json_terms*.nb[ic]"))
    mount = f'mount -t tmpfs -o {options} openqio-test "$0" && {fill} exec "$@"'
    out = subprocess.run([*own_mount_namespace(), "sh", "-c", mount, str(cache), sys.executable, "-c", script,
                          str(cache)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    beside_the_sources = sorted((ROOT / "solver_runner").glob("__pycache__/json_terms*.nb[ic]"))
    assert beside_the_sources == in_tree, "cached beside the sources"
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def _one_warning(log: str, cache: str) -> None:
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    assert warnings == [f"WARNING solver_runner.numba_cache: the solver cache in {cache} cannot be saved (No space "
                        "left on device); the solvers compile in memory, in every runner at every start, until space "
                        "is freed there"], log
    assert "Traceback" not in log, log


@pytest.mark.parametrize("options, fill", [("size=256k", FILL_BLOCKS), ("size=4m,nr_inodes=32", FILL_INODES)],
                         ids=["no-block-left", "no-inode-left"])
def test_the_solvers_run_compiled_in_memory_when_their_cache_disk_is_full(tmp_path: Path, options: str, fill: str):
    found, log = _run_on_a_full_cache_disk(tmp_path, options, fill)
    assert found["coeffs"] == [2.5, -1.0] and found["ids"] == [0, 1, 2]
    _one_warning(log, found["cache"])
    saved = [name for name in found["files"] if name != "filler" and not name.startswith("f")]
    assert saved == [], f"cache files on the full disk: {saved}"


MARK_ALONE = r"""
import json, logging
logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
from solver_runner import warmup
warmup._mark_warm()
print(json.dumps(warmup.is_warm()))
"""


def test_a_warm_up_marker_that_does_not_fit_is_the_same_warning(tmp_path: Path):
    keyed = cache_dir(str(tmp_path / "cache"))  # made before the disk filled, as by an earlier start
    found, log = _run_on_a_full_cache_disk(tmp_path, "size=4m,nr_inodes=32", f'mkdir -p "{keyed}"; {FILL_INODES}',
                                           MARK_ALONE)
    assert found is False
    _one_warning(log, str(keyed))


# `python -m solver_runner.warmup` with the warm-up cut to the JSON terms reader (all of it compiles for ~100 s)
WARM_UP_COMMAND = r"""
import json, logging
logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
from solver_runner import warmup

def warm(progress=None, alongside=False, printing=False):
    from solver_runner.json_terms import scan_terms
    scan_terms(b'[{"c": 1, "ids": [0]}]', 0, 1)

warmup.warm = warm
print(json.dumps(warmup.main()))
"""


def test_the_warm_up_command_fails_saying_the_cache_could_not_be_saved(tmp_path: Path):
    code, log = _run_on_a_full_cache_disk(tmp_path, "size=256k", FILL_BLOCKS, WARM_UP_COMMAND)
    assert code == 1
    keyed = cache_dir(str(tmp_path / "cache"))
    assert log.splitlines()[-1].startswith(f"the solvers ran, but the numba cache in {keyed} could not be saved "
                                           "(the warning above says why): they compile again at every start"), log
    _one_warning("\n".join(log.splitlines()[:-1]), str(keyed))
