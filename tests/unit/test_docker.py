"""Docker files, checked without a Docker engine: compose.yaml's services, volumes, healthchecks and settings; the
entry point script run with a fake `openqio`; the Dockerfile's numba warm-up, which is run here for real; the
Azurite container's key. (Its command, run for real: tests/integration/test_azurite_container.py.)

Every OPENQIO_* variable the image or compose sets must be a real setting and must parse through
services/config.py, the same code the container runs.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from services.azurite import AzuriteError
from services.azurite import key_file as azurite_key_file
from services.azurite import make_parser as azurite_parser
from services.config import AZURITE_KEY, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
SETTING_NAMES = {f"OPENQIO_{f.name.upper()}" for f in fields(Settings)}  # OPENQIO_TOKENS included


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` with VAR unset (what `docker compose up` does on a bare host)."""
    return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", str(value))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (DOCKER / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            out.append((instruction.upper(), args.strip()))
    return out


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in dockerfile_instructions():
        if instruction == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


# ---- compose.yaml ----------------------------------------------------------------------------------------------------

def azurite_args(service: dict):
    """The azurite service's command line as `python -m services.azurite` reads it."""
    assert service["entrypoint"] == ["python", "-m", "services.azurite"]
    return azurite_parser().parse_args(service["command"])


def test_compose_runs_azurite_from_openqio_s_image_as_openqio_runs_it(compose):
    """Both services from the one image docker/Dockerfile builds; Azurite through services/azurite.py, so with the
    flags and preloads `make run`'s has (tests/integration/test_azurite_container.py runs that command)."""
    services = compose["services"]
    assert set(services) == {"azurite", "openqio"}
    azurite, openqio = services["azurite"], services["openqio"]
    assert azurite["build"] == openqio["build"] and azurite["image"] == openqio["image"]
    build = openqio["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == ROOT and (context / build["dockerfile"]).is_file()
    args = azurite_args(azurite)
    assert args.host == "0.0.0.0" and args.account == "openqio"
    assert openqio["depends_on"]["azurite"]["condition"] == "service_healthy"
    assert openqio["network_mode"] == "service:azurite"
    published = {p.rsplit(":", 1)[-1] for p in azurite["ports"]}  # openqio's port is published by its namespace
    env = {k: interpolate(v) for k, v in openqio["environment"].items()}
    assert {str(args.port), env["OPENQIO_PORT"]} <= published
    assert urlsplit(env["OPENQIO_BLOB_URL"]).port == args.port
    # a `blobs` volume the official Azurite image wrote (as root) stays writable; the key goes to the service's user
    assert azurite["user"] == "root" and args.key_owner == "openqio"
    assert any(i == "RUN" and "useradd" in a and " openqio" in a for i, a in dockerfile_instructions())


def test_the_image_carries_the_azurite_the_lock_file_pins():
    """docker/Dockerfile installs Azurite from package.json and package-lock.json (as `make install` does), with
    Node, and puts `azurite-blob` on PATH, where services/azurite.py looks for it outside a checkout."""
    stages = re.split(r"(?m)^FROM ", (DOCKER / "Dockerfile").read_text())[1:]
    assert len(stages) == 2 and stages[0].startswith("node:20-") and " AS azurite" in stages[0].splitlines()[0]
    assert "COPY package.json package-lock.json ./" in stages[0] and "RUN npm ci " in stages[0]
    assert "COPY --from=azurite /usr/local/bin/node /usr/local/bin/node" in stages[1]
    assert "COPY --from=azurite /opt/azurite/node_modules /opt/azurite/node_modules" in stages[1]
    assert dockerfile_env()["PATH"].split(":")[0] == "/opt/azurite/node_modules/.bin"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/azurite"]["version"] == json.loads(
        (ROOT / "package.json").read_text())["devDependencies"]["azurite"]


def test_the_build_context_holds_what_the_dockerfile_copies():
    """.dockerignore keeps the virtual environment and node_modules out of the context, not a file the image needs."""
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"
    kept = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copies = [args.split() for i, args in dockerfile_instructions() if i == "COPY" and "--from=" not in args]
    for *sources, _ in copies:
        for source in sources:
            assert any(source == k or source.startswith(k + "/") for k in kept), f"COPY {source}: not in the context"


def test_compose_keeps_sqlite_and_blobs_in_named_volumes(compose):
    declared = set(compose["volumes"])
    assert declared == {"blobs", "state", "keys"}
    mounts = {name: dict(v.split(":", 1)[::-1] for v in svc["volumes"]) for name, svc in compose["services"].items()}
    # azurite's --location is its volume; openqio's data dir (SQLite, TLS, token) is its volume
    azurite_cmd = compose["services"]["azurite"]["command"]
    assert mounts["azurite"][azurite_cmd[azurite_cmd.index("--location") + 1]] == "blobs"
    data_dir = compose["services"]["openqio"]["environment"]["OPENQIO_DATA_DIR"]
    assert mounts["openqio"][data_dir] == "state"
    assert data_dir == dockerfile_env()["OPENQIO_DATA_DIR"]
    assert any(i == "VOLUME" and data_dir in a for i, a in dockerfile_instructions())


def test_compose_healthchecks(compose):
    for name, service in compose["services"].items():
        check = service["healthcheck"]
        assert check["test"][0] == "CMD" and check["interval"] and check["retries"] >= 1, name
    # openqio's: the entry point's healthcheck mode, which GETs /healthz over TLS (tests/integration/test_healthcheck)
    assert compose["services"]["openqio"]["healthcheck"]["test"][1:] == ["openqio-entrypoint", "healthcheck"]
    assert ("HEALTHCHECK", '--interval=10s --timeout=5s --start-period=60s --retries=3 '
            'CMD ["openqio-entrypoint", "healthcheck"]') in dockerfile_instructions()


def test_every_variable_set_for_the_container_is_a_real_setting_and_parses(compose, tmp_path):
    compose_env = {k: interpolate(v) for k, v in compose["services"]["openqio"]["environment"].items()}
    image_env = dockerfile_env()
    for name in [*compose_env, *image_env]:
        if name.startswith("OPENQIO_"):
            assert name in SETTING_NAMES, f"{name} is not a setting in services/config.py"
    env = {**{k: v for k, v in image_env.items() if k.startswith("OPENQIO_")}, **compose_env}
    env["OPENQIO_DATA_DIR"] = str(tmp_path)  # where the generated token may be written in this test
    (tmp_path / "storage-key").write_text("a2V5")  # what Azurite's entry point generates in the `keys` volume
    env["OPENQIO_STORAGE_KEY_FILE"] = str(tmp_path / "storage-key")
    settings = Settings.from_env(env)
    assert (settings.host, settings.port, settings.runners, settings.log_format) == ("0.0.0.0", 8443, 2, "json")
    assert settings.blob_url == "http://127.0.0.1:10000/openqio"


def test_compose_serves_a_generated_private_account_never_the_public_key(compose, tmp_path):
    """Issue 11 section 7: Azurite's container makes a key once (in the `keys` volume) and serves only the `openqio`
    account with it; openqio reads the same key from that file. (Made and served for real:
    tests/integration/test_azurite_container.py.)"""
    azurite, openqio = compose["services"]["azurite"], compose["services"]["openqio"]
    args = azurite_args(azurite)
    env = {k: interpolate(v) for k, v in openqio["environment"].items()}
    assert env["OPENQIO_STORAGE_ACCOUNT"] == args.account and env["OPENQIO_BLOB_URL"].endswith(f"/{args.account}")
    key_file = env["OPENQIO_STORAGE_KEY_FILE"]
    mounts = {name: dict(v.split(":", 2)[:2][::-1] for v in svc["volumes"]) for name, svc in
              compose["services"].items()}
    assert str(args.key_file) == key_file
    assert mounts["openqio"][str(Path(key_file).parent)] == mounts["azurite"][str(args.key_file.parent)] == "keys"
    assert "keys:/keys:ro" in openqio["volumes"]
    made = azurite_key_file(tmp_path / "keys" / "storage-key")
    settings = Settings.from_env({**env, "OPENQIO_STORAGE_KEY_FILE": str(tmp_path / "keys" / "storage-key"),
                                  "OPENQIO_DATA_DIR": str(tmp_path)})
    assert settings.storage_key == made and settings.storage_key != AZURITE_KEY


def test_the_key_is_made_once_whole_and_private(tmp_path):
    path = tmp_path / "keys" / "storage-key"
    key = azurite_key_file(path)
    assert len(base64.b64decode(key, validate=True)) == 64
    assert oct(path.stat().st_mode & 0o777) == "0o400" and path.read_text() == key
    assert azurite_key_file(path) == key  # kept at the next start
    assert azurite_key_file(tmp_path / "other") != key
    (tmp_path / "empty").write_text("\n")  # a start killed before the key was written whole leaves no such file,
    assert len(base64.b64decode(azurite_key_file(tmp_path / "empty"))) == 64  # but an empty one is made again
    (tmp_path / "existing.tmp").write_text("half")  # a partial file from a killed start is replaced
    assert azurite_key_file(tmp_path / "existing") and not (tmp_path / "existing.tmp").exists()
    assert azurite_key_file(tmp_path / "mine", owner=str(os.getuid())) and (
        (tmp_path / "mine").stat().st_uid == os.getuid())
    with pytest.raises(AzuriteError, match="no user 'no-such-user-here'"):
        azurite_key_file(tmp_path / "theirs", owner="no-such-user-here")
    assert not (tmp_path / "theirs").exists() and not (tmp_path / "theirs.tmp").exists()


# ---- the entry point, with a fake `openqio` -------------------------------------------------------------------------

RECORDER = """#!/bin/sh
# records how it was called: argv and the OPENQIO_* environment, as JSON
exec "{python}" -c 'import json, os, sys; json.dump({{"name": "{name}", "argv": sys.argv[1:], "env": {{k: v for k, v in os.environ.items() if k.startswith("OPENQIO_")}}}}, open(os.environ["RECORD"], "w"))' "$@"
"""


@pytest.fixture
def entrypoint(tmp_path):
    """Run docker/entrypoint.sh with `openqio`, `python` and `mkdir` replaced by recorders on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("openqio", "python", "mkdir"):
        path = bin_dir / name
        path.write_text(RECORDER.format(python=sys.executable, name=name))
        path.chmod(0o755)
    record = tmp_path / "record.json"

    def run(*args: str, env: dict[str, str] | None = None) -> dict:
        if record.exists():
            record.unlink()
        result = subprocess.run(
            ["sh", str(DOCKER / "entrypoint.sh"), *args],
            env={"PATH": f"{bin_dir}:/usr/bin:/bin", "RECORD": str(record), **(env or {})},
            capture_output=True, text=True, timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(record.read_text())

    return run


def test_entrypoint_defaults_to_openqio_serve_with_the_container_defaults(entrypoint):
    called = entrypoint()
    assert (called["name"], called["argv"]) == ("openqio", ["serve"])
    assert called["env"] == {"OPENQIO_DATA_DIR": "/data", "OPENQIO_HOST": "0.0.0.0"}


def test_entrypoint_passes_settings_through_untouched(entrypoint):
    env = {"OPENQIO_DATA_DIR": "/state", "OPENQIO_HOST": "127.0.0.1", "OPENQIO_RUNNERS": "3",
           "OPENQIO_LOG_FORMAT": "json", "OPENQIO_TOKENS": "ws=0123456789abcdef0123"}
    called = entrypoint("serve", env=env)
    assert called["argv"] == ["serve"] and called["env"] == env  # no variable rewritten, none turned into a flag


def test_entrypoint_forwards_flags_to_serve(entrypoint):
    assert entrypoint("serve", "--runners", "2", "--log-format", "json")["argv"] == [
        "serve", "--runners", "2", "--log-format", "json"]
    assert entrypoint("--log-level", "DEBUG")["argv"] == ["serve", "--log-level", "DEBUG"]


def test_entrypoint_healthcheck_and_other_commands(entrypoint):
    called = entrypoint("healthcheck")
    assert (called["name"], called["argv"]) == ("python", ["-m", "services.healthcheck"])
    called = entrypoint("openqio", "jobs", "list")
    assert (called["name"], called["argv"]) == ("openqio", ["jobs", "list"])


def test_entrypoint_output_parses_as_settings(entrypoint, tmp_path):
    """What the entry point hands `openqio serve` is read by services/config.py as the container expects."""
    called = entrypoint()
    settings = Settings.from_env({**called["env"], "OPENQIO_DATA_DIR": str(tmp_path)})
    assert settings.host == "0.0.0.0" and called["env"]["OPENQIO_DATA_DIR"] == "/data"


def test_dockerfile_copies_and_runs_the_entrypoint():
    instructions = dockerfile_instructions()
    copies = [args.split() for i, args in instructions if i == "COPY" and "--from=" not in args]
    for *sources, _ in copies:
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path"
    assert ["docker/entrypoint.sh", "/usr/local/bin/openqio-entrypoint"] in copies
    assert ("ENTRYPOINT", '["openqio-entrypoint"]') in instructions
    assert os.access(DOCKER / "entrypoint.sh", os.X_OK)


# ---- the numba warm-up ------------------------------------------------------------------------------------------------

def test_dockerfile_warms_the_numba_cache_as_the_runtime_user():
    instructions = dockerfile_instructions()
    runs = [(n, args) for n, (i, args) in enumerate(instructions) if i == "RUN"]
    warm = [n for n, args in runs if args == "python -m solver_runner.warmup"]
    assert len(warm) == 1, "the image must run the warm-up module at build time"
    users = [(n, args) for n, (i, args) in enumerate(instructions) if i == "USER"]
    assert users and users[0][0] < warm[0] and len({u for _, u in users}) == 1  # numba needs a cache it can write
    install = [n for n, args in runs if "pip install" in args]
    assert install and install[0] < warm[0]
    assert dockerfile_env()["NUMBA_CACHE_DIR"]


def test_numba_cache_dir_follows_NUMBA_CACHE_DIR(tmp_path):
    code = "import numba, solver_runner; print(numba.config.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)},
                         capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    assert Path(out).parent == tmp_path and Path(out).name.startswith("openqio-")


@pytest.mark.timeout(900)
def test_the_warm_up_module_runs_and_fills_the_cache():
    """The module the Dockerfile runs, run for real (with the repository's cache, warm after any service test)."""
    result = subprocess.run([sys.executable, "-m", "solver_runner.warmup"], cwd=ROOT, capture_output=True,
                            text=True, timeout=880)
    assert result.returncode == 0, result.stderr[-3000:]
    match = re.search(r"numba cache warmed: (\d+) cached functions in (\S+)", result.stdout)
    assert match, result.stdout
    assert int(match.group(1)) > 0 and Path(match.group(2)).is_dir()


# ---- compose.ray.yaml ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose_ray() -> dict:
    return yaml.safe_load((DOCKER / "compose.ray.yaml").read_text())


def _argv(service: dict) -> list[str]:
    """A Ray node's command line: its entrypoint, or the command inside `sh -c` (variables left as written)."""
    entry = service["entrypoint"]
    return shlex.split(entry[2]) if entry[:2] == ["/bin/sh", "-c"] else list(entry)


def _flag(argv: list[str], name: str) -> str:
    value = next(a.split("=", 1)[1] for a in argv if a.startswith(f"{name}="))
    return interpolate(value.replace("$$", "$"))


def test_compose_ray_runs_a_head_workers_openqio_and_azurite(compose_ray, compose):
    services = compose_ray["services"]
    assert set(services) == {"azurite", "ray-head", "ray-worker", "openqio"}
    same = {name: {k: v for k, v in service["azurite"].items() if k not in ("build", "image")} for name, service in
            (("ray", services), ("plain", compose["services"]))}
    assert same["ray"] == same["plain"]  # the same private-account Azurite, tested above, from this file's one image
    assert services["azurite"]["image"] == services["openqio"]["image"]
    head, worker = _argv(services["ray-head"]), _argv(services["ray-worker"])
    assert head[:3] == ["ray", "start", "--head"] and "--block" in head
    assert _flag(head, "--num-cpus") == "0"  # solvers run on the workers only
    assert _flag(head, "--include-dashboard") == "false" and "--disable-usage-stats" in head
    assert worker[:3] == ["exec", "ray", "start"] and "--block" in worker
    assert _flag(worker, "--address") == f"ray-head:{_flag(head, '--port')}"
    assert _flag(worker, "--num-cpus") == "2" and interpolate(services["ray-worker"]["deploy"]["replicas"]) == "2"
    assert services["ray-worker"]["depends_on"]["ray-head"]["condition"] == "service_healthy"
    for name in ("ray-head", "ray-worker"):
        assert services[name]["shm_size"]  # Ray's object store needs more than Docker's 64 MB of /dev/shm


def test_compose_ray_nodes_and_openqio_share_one_image_with_the_ray_extra(compose_ray):
    services = compose_ray["services"]
    builds = {name: (services[name]["build"], services[name]["image"]) for name in ("ray-head", "ray-worker", "openqio")}
    assert len({json.dumps(b, sort_keys=True) for b in builds.values()}) == 1
    build, _ = builds["openqio"]
    assert (DOCKER / build["context"]).resolve() == ROOT and build["args"]["EXTRAS"] == "ray"
    extras = re.search(r"(?ms)^ray = \[(.*?)^\]", (ROOT / "pyproject.toml").read_text())
    assert extras and "ray[client]" in extras.group(1)
    assert any(i == "ARG" and a.startswith("EXTRAS") for i, a in dockerfile_instructions())
    assert any(i == "RUN" and "pip install" in a and "$EXTRAS" in a for i, a in dockerfile_instructions())


def test_compose_ray_openqio_settings_parse_and_point_at_the_head(compose_ray, tmp_path):
    services = compose_ray["services"]
    env = {k: interpolate(v) for k, v in services["openqio"]["environment"].items()}
    for name in env:
        assert not name.startswith("OPENQIO_") or name in SETTING_NAMES, f"{name} is not a setting"
    (tmp_path / "key").write_text("a2V5")
    settings = Settings.from_env({**env, "OPENQIO_DATA_DIR": str(tmp_path),
                                  "OPENQIO_STORAGE_KEY_FILE": str(tmp_path / "key")})
    assert settings.executor == "ray"
    head = _argv(services["ray-head"])
    assert settings.ray_address == f"ray://ray-head:{_flag(head, '--ray-client-server-port')}"
    assert services["openqio"]["depends_on"]["ray-head"]["condition"] == "service_healthy"
    check = services["ray-head"]["healthcheck"]["test"]
    assert check[0] == "CMD" and _flag(head, "--ray-client-server-port") in check[-1]
    assert services["openqio"]["healthcheck"]["test"][1:] == ["openqio-entrypoint", "healthcheck"]
