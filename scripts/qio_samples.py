"""Run Microsoft's QIO samples (a checkout of the `microsoft/qio-samples` repository from before its samples were
removed, e.g. 1f73b4b) against a service of their own, with only the samples' workspace ids filled in, and say which
ran to the end.

    git clone https://github.com/microsoft/qio-samples && git -C qio-samples checkout 1f73b4b
    python3 -m venv samples-venv && samples-venv/bin/pip install "azure-quantum==0.27.258160" "numpy<2" six \
        pandas plotly matplotlib
    .venv/bin/python scripts/qio_samples.py qio-samples/samples --python samples-venv/bin/python [name ...]

Each `*.py` sample runs as it is but for the empty `subscription_id`, `resource_group`, `name`, `location` and
`resource_id` strings it leaves for the user, which get the service's (the ids of `.openqio/sdk.env`); each notebook's
code cells run as one script (its `%` and `!` lines left out, `display` as `print`). A sample whose exit code is 0 ran
to the end: whether its answer is right is in its own output (most samples check it and print so), shown for each.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.service.stack import free_port  # noqa: E402
from tests.service import Service  # noqa: E402  (the repository's own test service: TLS gateway, Azurite, runners)


def workspace_ids(env: dict[str, str]) -> dict[str, str]:
    ids = {"subscription_id": env["OPENQIO_SUBSCRIPTION_ID"], "resource_group": env["OPENQIO_RESOURCE_GROUP"],
           "name": env["OPENQIO_WORKSPACE"], "location": env["OPENQIO_LOCATION"]}
    ids["resource_id"] = (f"/subscriptions/{ids['subscription_id']}/resourceGroups/{ids['resource_group']}"
                          f"/providers/Microsoft.Quantum/Workspaces/{ids['name']}")
    return ids


def filled_in(source: str, ids: dict[str, str]) -> str:
    """The sample with its empty workspace id strings (`subscription_id = ""`, ...) given the service's."""
    for key, value in ids.items():
        source = re.sub(rf"""(\b{key}\s*=\s*)(""|'')""", lambda m, v=value: f'{m.group(1)}"{v}"', source)
    return source


def notebook_script(path: Path) -> str:
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    code = ["\n".join(line for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith(("%", "!")))
            for c in cells]
    return "display = print  # (the notebook's environment)\n\n" + "\n\n".join(code) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", type=Path, help="the checkout's samples/ folder")
    parser.add_argument("--python", required=True, help="a Python with azure-quantum 0.27.258160 and what samples use")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a sample may run (default 600)")
    parser.add_argument("only", nargs="*", help="run only samples whose path contains one of these")
    args = parser.parse_intermixed_args()
    found = sorted([*args.samples.rglob("*.py"), *args.samples.rglob("*.ipynb")])
    chosen = [p for p in found if not args.only or any(o in str(p) for o in args.only)]
    if not chosen:
        print(f"no sample found under {args.samples}", file=sys.stderr)
        return 2
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        blob_url = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
        service = Service(data_dir=Path(tmp) / "service", blob_url=blob_url, runners=2, args=["--with-azurite"])
        service.start(timeout=300.0)
        try:
            env = {**os.environ, **service.sdk_env, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
            for key in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
                env.pop(key, None)
            ids = workspace_ids(env)
            for path in chosen:
                source = notebook_script(path) if path.suffix == ".ipynb" else path.read_text()
                script = Path(tmp) / f"{path.stem}.py"
                script.write_text(filled_in(source, ids))
                started = time.monotonic()
                try:
                    done = subprocess.run([args.python, str(script)], cwd=path.parent, env=env, capture_output=True,
                                          text=True, timeout=args.timeout, stdin=subprocess.DEVNULL)
                    code: int | str = done.returncode
                    said = done.stdout + done.stderr
                except subprocess.TimeoutExpired as exc:
                    code, said = f"timed out after {args.timeout:g} s", f"{exc.stdout or ''}{exc.stderr or ''}"
                name = path.relative_to(args.samples)
                print(f"### {name}: {'ran to the end' if code == 0 else f'FAILED ({code})'} in "
                      f"{time.monotonic() - started:.0f} s", flush=True)
                print("\n".join(f"    {line[:300]}" for line in said.strip().splitlines()[-15:]), flush=True)
                if code != 0:
                    failed.append(str(name))
        finally:
            service.stop()
    summary = f"{len(chosen) - len(failed)} of {len(chosen)} ran to the end"
    print(f"{summary}; failed: {', '.join(failed)}" if failed else summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
