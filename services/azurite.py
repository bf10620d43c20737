"""Start and stop a real Azurite blob emulator (the npm package in node_modules) for `make run` and the tests.

Azurite picks a free port (`--blobPort 0`); the real one is read from its start-up line. `stop()` and `start()` let
fault tests take storage away and bring it back on the same port, with the same data when persistence is on disk.

`accounts` ({name: base64 key}) starts Azurite with those storage accounts (AZURITE_ACCOUNTS); Azurite then serves
only them: its public development account `devstoreaccount1` is off unless it is one of them (and then only with
the key given here, never the public one).

Azurite runs in its own session (a Ctrl-C in the terminal must not stop it before the service has written its last
outputs), and with `die_with_parent` it gets SIGTERM when the process that spawned it dies, even by SIGKILL: SIGTERM
lets Azurite save its in-memory blob index before it exits. `spawn()` must run on the thread that lives as long as
the service (the kernel signals the child when that *thread* ends); `start()` is spawn + wait_listening.

`python -m services.azurite` (`main`) is the same Azurite for a container of its own (docker/compose.yaml): the
process becomes Azurite, with the flags and preloads `command()` gives, serving one private account whose key file it
makes on first start (`key_file`).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "devstoreaccount1"
# Preloaded into Azurite: container and blob lookups by index instead of a scan of the account, and only the indices
# those lookups use kept (see the file).
LOOKUPS_JS = Path(__file__).resolve().parent / "azurite_lookups.js"
# Preloaded too: each URI template of Azurite's REST specification parsed once, not per request (see the file).
TEMPLATES_JS = Path(__file__).resolve().parent / "azurite_templates.js"
# Preloaded too: the blob index saved by appending what changed to a journal, not whole every 5 s, and written and
# read in pieces, never as one string (see the file).
JOURNAL_JS = Path(__file__).resolve().parent / "azurite_journal.js"
# Preloaded too: a small blob range read with one positioned read on a kept descriptor, not a stream (see the file).
READS_JS = Path(__file__).resolve().parent / "azurite_reads.js"
# Preloaded too: a small upload written on Azurite's thread, then synced in the background (see the file).
WRITES_JS = Path(__file__).resolve().parent / "azurite_writes.js"
# Preloaded too: request and extent ids from crypto.randomUUID, not a randomBytes call each (see the file).
IDS_JS = Path(__file__).resolve().parent / "azurite_ids.js"
# Preloaded too: the operation a request is found once per kind of request, not by trying all 72 each time (see the file).
DISPATCH_JS = Path(__file__).resolve().parent / "azurite_dispatch.js"
# Preloaded too: a repeated SIGTERM or a dead output pipe cannot end Azurite before it saves (see the file).
SHUTDOWN_JS = Path(__file__).resolve().parent / "azurite_shutdown.js"
# Preloaded too: a request its full disk refused is answered with a message saying so, not a bare 500 (see the file).
DISK_FULL_JS = Path(__file__).resolve().parent / "azurite_disk_full.js"
# Azurite's documented default development key: public, not a secret.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# What LOOKUPS_JS, TEMPLATES_JS, JOURNAL_JS, READS_JS, WRITES_JS, IDS_JS, DISPATCH_JS and DISK_FULL_JS print once
# installed (`Azurite.installed` holds the lines seen)
INDEXED_LOOKUPS = "openqio: Azurite looks containers and blobs up by index"
TEMPLATES_PARSED_ONCE = "openqio: Azurite parses each URI template once"
INDEX_BY_JOURNAL = "openqio: Azurite saves its blob index by journal"
KEPT_DESCRIPTORS = "openqio: Azurite reads small ranges through kept descriptors"
SMALL_WRITES = "openqio: Azurite writes small uploads on its own thread"
RANDOM_UUIDS = "openqio: Azurite makes its ids with crypto.randomUUID"
DISPATCH_KEPT = "openqio: Azurite dispatches each kind of request once"
DISK_FULL_SAID = "openqio: Azurite says when its disk is full"
# how DISK_FULL_JS's message to clients begins (its MESSAGE): a write refused for want of space, not an outage
DISK_FULL_MESSAGE = "no space left on the disk that holds this storage's data"
_LISTEN = re.compile(rb"Azurite Blob service successfully listens on https?://([\d.]+):(\d+)")


class AzuriteError(RuntimeError):
    pass


def azurite_binary() -> str:
    local = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    found = shutil.which("azurite-blob")
    if found:
        return found
    raise AzuriteError("azurite-blob not found: run `npm ci` in the repository root (Node 20+)")


@dataclass
class Azurite:
    location: str | None = None  # None: in-memory persistence
    port: int = 0
    host: str = "127.0.0.1"
    process: subprocess.Popen | None = field(default=None, repr=False)
    log_path: Path | None = None
    accounts: dict[str, str] | None = field(default=None, repr=False)  # name -> key; None: devstoreaccount1 only
    _draining: subprocess.Popen | None = field(default=None, repr=False)  # the process whose output a thread reads
    extra_args: list[str] = field(default_factory=list)  # e.g. --cert/--key/--oauth basic (https, Entra tokens)
    installed: set[str] = field(default_factory=set)  # what the preloads said they installed (before listening)

    @property
    def blob_url(self) -> str:
        return f"http://{self.host}:{self.port}/{ACCOUNT}"

    def account_url(self, account: str) -> str:
        return f"http://{self.host}:{self.port}/{account}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_url};"
        )

    account_name = ACCOUNT
    account_key = ACCOUNT_KEY

    def start(self, timeout: float = 60.0) -> Azurite:
        self.spawn()
        return self.wait_listening(timeout)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def spawn(self) -> None:
        """Start the Azurite process (returns at once; `wait_listening` waits for its port)."""
        from services.supervise import die_with_parent

        args, env = self.command()
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=env, preexec_fn=die_with_parent(signal.SIGTERM),
        )

    def command(self) -> tuple[list[str], dict[str, str]]:
        """Azurite's command line and environment: its flags, openqio's preloads, its accounts (the data directory
        made if missing). `spawn` runs it as a child; `python -m services.azurite` becomes it (a container's)."""
        # --silent: no access log line per request (nobody reads it, and writing it and draining the pipe cost
        # Azurite and this process CPU on every blob request)
        args = [azurite_binary(), "--blobHost", self.host, "--blobPort", str(self.port), "--skipApiVersionCheck",
                "--disableTelemetry", "--loose", "--silent"]
        if self.location:
            Path(self.location).mkdir(parents=True, exist_ok=True)
            args += ["--location", self.location]
        else:
            args += ["--inMemoryPersistence"]
        args += self.extra_args
        env = dict(os.environ)
        env.pop("AZURITE_ACCOUNTS", None)
        # IDS_JS before any preload that loads Azurite's modules (READS_JS loads its extent store, whose queue binds
        # `uuid` when loaded): replacing the package later would miss those modules.
        js = (SHUTDOWN_JS, IDS_JS, LOOKUPS_JS, TEMPLATES_JS, JOURNAL_JS, READS_JS, WRITES_JS, DISPATCH_JS, DISK_FULL_JS)
        preloads = " ".join(f'--require "{path}"' for path in js)
        env["NODE_OPTIONS"] = f'{env.get("NODE_OPTIONS", "")} {preloads}'.strip()
        if self.accounts:
            for name, key in self.accounts.items():
                if not re.fullmatch(r"[a-z0-9]{3,24}", name) or not key or ":" in key or ";" in key:
                    raise AzuriteError(f"invalid Azurite account {name!r}: 3-24 lowercase letters/digits, base64 key")
            env["AZURITE_ACCOUNTS"] = ";".join(f"{name}:{key}" for name, key in self.accounts.items())
        return args, env

    def wait_listening(self, timeout: float = 60.0) -> Azurite:
        """Read Azurite's output until it says where it listens; AzuriteError (with its output) if it exits first or
        says nothing in `timeout` seconds."""
        assert self.process is not None, "spawn() first"
        deadline = time.monotonic() + timeout
        seen = b""
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                if self.process.poll() is not None:
                    break
                continue
            seen += line
            if line.startswith(b"openqio: "):
                self.installed.add(line.decode(errors="replace").strip())
            m = _LISTEN.search(line)
            if m:
                self.port = int(m.group(2))
                self._drain()
                return self
        code = self.process.poll()
        self.stop()
        output = seen.decode(errors="replace")[-2000:]
        if code is not None:
            hint = ""
            if "EADDRINUSE" in output:
                hint = (f" (port {self.port} is in use by another program, your own Azurite perhaps: stop it, or "
                        "give openqio's Azurite another port, e.g. "
                        f"OPENQIO_BLOB_URL=http://{self.host}:{self.port + 1}/devstoreaccount1)")
            raise AzuriteError(f"Azurite exited with code {code} at start-up{hint}; its output:\n{output}")
        raise AzuriteError(f"Azurite did not start within {timeout:.0f} s; its output:\n{output}")

    def _drain(self) -> None:
        """Keep reading Azurite's output so its pipe never fills up."""
        import threading

        stream = self.process.stdout if self.process else None
        if stream is None:
            return

        def pump() -> None:
            try:
                for _ in iter(stream.readline, b""):
                    pass
            finally:
                stream.close()  # Azurite has exited (its end of the pipe is closed)

        threading.Thread(target=pump, daemon=True, name="azurite-output").start()
        self._draining = self.process

    def stop(self) -> None:
        if self.process is None:
            return
        if self._draining is not self.process and self.process.stdout is not None:
            self.process.stdout.close()  # no pump owns the pipe (start-up failed): close it here
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None


def key_file(path: Path, owner: str | None = None) -> str:
    """The storage account key in `path`; made first when the file is missing or empty: 64 random bytes in base64,
    mode 0400, written whole (a temporary file renamed over it) and, with `owner` (a user name or uid; needs root),
    handed to that user, so that the service in another container, as that user, reads the same file."""
    import base64
    import pwd
    import secrets

    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key
    try:
        uid = -1 if owner is None else int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise AzuriteError(f"no user {owner!r} to give the key file {path} to") from None
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    try:
        os.write(fd, key.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if uid != -1:
        os.chown(partial, uid, -1)
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return key


def main(argv: list[str] | None = None) -> int:
    """`python -m services.azurite`: this process becomes Azurite as openqio starts it (its flags and preloads), for
    a container of its own (docker/compose.yaml); Azurite then gets the container's signals itself."""
    parser = make_parser()
    args = parser.parse_args(argv)
    if (args.account is None) != (args.key_file is None):
        parser.error("--account and --key-file go together")
    try:
        accounts = {args.account: key_file(args.key_file, args.key_owner)} if args.account else None
        command, env = Azurite(location=args.location, host=args.host, port=args.port, accounts=accounts).command()
    except (AzuriteError, OSError) as exc:
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return 2
    os.execvpe(command[0], command, env)
    return 0  # not reached


def make_parser() -> argparse.ArgumentParser:
    """`python -m services.azurite`'s command line (tests/unit/test_docker.py reads the compose files' with it)."""
    parser = argparse.ArgumentParser(
        prog="python -m services.azurite",
        description="Run Azurite's blob service in the foreground as openqio runs it: indexed lookups, the blob "
                    "index saved by journal, a full disk said as such (the preloads of services/azurite_*.js).")
    parser.add_argument("--location", required=True, help="data directory (made if missing)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=10000, help="blob service port; 0: a free one (default: %(default)s)")
    parser.add_argument("--account", help="serve only this storage account, with the key in --key-file (without it: "
                                          "Azurite's development account and its public key)")
    parser.add_argument("--key-file", type=Path, help="the account's key, made (mode 0400) when missing or empty")
    parser.add_argument("--key-owner", help="user (name or uid) a key made here is given to (needs root)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
