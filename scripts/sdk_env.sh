#!/usr/bin/env bash
# Create (or reuse) .venv-sdk: a separate virtual environment holding the UNMODIFIED azure-quantum 0.27 SDK,
# used by tests/integration/test_sdk_*.py to prove that existing Azure Quantum code runs against openqio.
#
# Idempotent: the pinned requirements (tests/sdk/requirements.txt) plus the interpreter version are hashed into
# .venv-sdk/.installed; when the stamp matches, nothing is installed again. Delete .venv-sdk to rebuild.
#
# Usage: bash scripts/sdk_env.sh            (PYTHON=python3.11 to pick the interpreter)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SDK_VENV:-$ROOT/.venv-sdk}"
REQS="$ROOT/tests/sdk/requirements.txt"
STAMP="$VENV/.installed"
PYTHON="${PYTHON:-python3}"

if [ -x "$VENV/bin/python" ]; then
    py_version="$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')"
else
    py_version="$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
fi
want="$( { cat "$REQS"; echo "python=$py_version"; } | sha256sum | cut -d' ' -f1)"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    touch "$STAMP"  # keep make's timestamp rule quiet
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "sdk_env: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
echo "sdk_env: installing $(grep -v '^#' "$REQS" | grep -v '^$' | tr '\n' ' ')" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
# Fail now, not in the middle of a test run, when the SDK cannot be imported.
"$VENV/bin/python" - <<'PY'
import os
os.environ.setdefault("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000")
import azure.quantum, azure.quantum.aio, azure.quantum.optimization, azure.quantum.aio.optimization  # noqa: E401,F401
from azure.quantum.optimization import Term, Problem
Problem(name="smoke", terms=[Term(c=1, indices=[0])]).to_json()
assert azure.quantum.__version__ == "0.27.258160", azure.quantum.__version__
PY
echo "$want" > "$STAMP"
echo "sdk_env: ready ($VENV)" >&2
