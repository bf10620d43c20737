"""Settings.from_env(): the only reader of the environment. Every setting has an OPENQIO_ variable.

| variable | default | meaning |
|---|---|---|
| OPENQIO_DATA_DIR | .openqio | state: SQLite file, TLS material, token, Azurite data, connection files |
| OPENQIO_HOST | 127.0.0.1 | address the HTTPS gateway listens on |
| OPENQIO_PORT | 8443 | HTTPS port (0: any free port; the real one goes to connection.json) |
| OPENQIO_PUBLIC_URL | (https://HOST:PORT/) | the gateway's URL as clients reach it (e.g. `https://qio.example.com:8443/`, behind a proxy or port mapping): connection.json, sdk.env and `nextLink` paging links are built from it, never from a request's Host header, and its host goes into the generated certificate; HOST 0.0.0.0 or :: gives 127.0.0.1 |
| OPENQIO_SUBSCRIPTION_ID | 00000000-0000-0000-0000-000000000000 | workspace identity in REST paths |
| OPENQIO_RESOURCE_GROUP | openqio | 〃 |
| OPENQIO_WORKSPACE | openqio | 〃 |
| OPENQIO_LOCATION | local | reported to clients (the SDK requires one; ignored otherwise) |
| OPENQIO_TOKENS | (generated) | `workspace=token,...` bearer tokens; default: one random token in DATA_DIR/token |
| OPENQIO_BLOB_URL | http://127.0.0.1:10000/devstoreaccount1 | blob service account URL the service reaches storage at (and hands to clients, unless OPENQIO_PUBLIC_BLOB_URL is set) |
| OPENQIO_STORAGE_ACCOUNT | devstoreaccount1 | storage account name |
| OPENQIO_STORAGE_KEY | Azurite's public development key | storage account key (signs every SAS; needed with `entra` too) |
| OPENQIO_STORAGE_KEY_FILE | (none) | a file holding the storage account key (read at start; used when OPENQIO_STORAGE_KEY is not set), e.g. a Docker secret or the key docker/compose.yaml generates |
| OPENQIO_STORAGE_CONNECTION_STRING | (none) | the storage account as a connection string (`AccountName`, `AccountKey`, `BlobEndpoint` or `EndpointSuffix`), instead of BLOB_URL, STORAGE_ACCOUNT and STORAGE_KEY |
| OPENQIO_STORAGE_AUTH | key | how the service itself reads and writes blobs: `key` (the account key) or `entra` (Microsoft Entra ID through azure-identity's DefaultAzureCredential; install `openqio[entra]`) |
| OPENQIO_PUBLIC_BLOB_URL | (none) | blob account URL handed to clients in SAS URLs, when they reach storage at another address than the service (default: BLOB_URL) |
| OPENQIO_WORKSPACE_STORAGE | (none) | `ws=account:key[@blob_url],...`: a workspace's own storage account (the URL defaults to BLOB_URL with the account swapped in); unlisted workspaces use STORAGE_ACCOUNT, or with `--with-azurite` and several workspaces, generated accounts kept in DATA_DIR/storage-accounts.json |
| OPENQIO_TLS_NAMES | (none) | `name,address,...`: more DNS names and IP addresses for the generated certificate, so other machines can connect |
| OPENQIO_TLS_CERT | (none) | your own certificate (PEM, leaf first, chain after) instead of the generated one; with OPENQIO_TLS_KEY |
| OPENQIO_TLS_KEY | (none) | the private key (PEM, unencrypted) of OPENQIO_TLS_CERT |
| OPENQIO_TLS_CA | (none) | with OPENQIO_TLS_CERT from a private CA: the CA certificate clients must trust (added to the CA bundle in connection.json and sdk.env) |
| OPENQIO_ENTRA_TENANT | (none) | accept Microsoft Entra ID access tokens of this tenant (id or domain) beside the static tokens |
| OPENQIO_ENTRA_PRINCIPALS | (none) | `workspace=oid:<guid>,workspace=appid:<guid>,...`: who may use which workspace (object id, or application id of an app-only token) |
| OPENQIO_ENTRA_AUDIENCE | https://quantum.microsoft.com | the `aud` an Entra token must carry (the azure-quantum SDK asks for this one) |
| OPENQIO_ENTRA_AUTHORITY | https://login.microsoftonline.com | where the tenant's OpenID configuration and signing keys are fetched |
| OPENQIO_SAS_TTL_S | 604800 | lifetime of SAS URLs handed out (seconds) |
| OPENQIO_RUNNERS | number of cores | runner processes (with `OPENQIO_EXECUTOR=ray` and an empty OPENQIO_RAY_ADDRESS: the CPUs of the local Ray the service starts) |
| OPENQIO_EXECUTOR | local | where jobs run: `local` (runner processes of this service) or `ray` (tasks on a Ray cluster; needs the `ray` extra) |
| OPENQIO_RAY_ADDRESS | (none) | with `OPENQIO_EXECUTOR=ray`: `auto` (the cluster this machine is a node of), `host:6379` (its head's GCS, with a Ray node on this machine), `ray://host:10001` (Ray Client), or empty to start a local Ray |
| OPENQIO_MAX_ATTEMPTS | 3 | runs of a job whose runner crashed before it is Failed |
| OPENQIO_HARD_DEADLINE_GRACE_S | 10 | after a cancel (or a job's timeout), seconds before its runner is killed |
| OPENQIO_MAX_JOB_SECONDS | 86400 | hard limit for a job without `timeout` |
| OPENQIO_SHUTDOWN_GRACE_S | 5 | on SIGTERM, seconds running jobs get to finish before they are requeued |
| OPENQIO_MAX_REQUEST_BYTES | 1048576 | largest accepted request body |
| OPENQIO_MAX_INPUT_BYTES | 536870912 | largest problem input after decompression |
| OPENQIO_MAX_TERMS | 10000000 | most terms in a problem |
| OPENQIO_MAX_VARIABLES | 2000000 | most variables in a problem |
| OPENQIO_LIST_PAGE_SIZE | 100 | jobs per `GET jobs` page |
| OPENQIO_MAX_STREAMS | 100 | concurrent `jobs/{id}/stream` (server-sent events) connections; more get 503 |
| OPENQIO_STREAM_KEEPALIVE_S | 15 | seconds between keep-alive comments on an idle event stream |
| OPENQIO_MAX_WAITING | 10000 | jobs that may wait to run; past it new submissions are refused with 429 and Retry-After (0: no limit) |
| OPENQIO_MAX_QUEUE_DELAY_S | 0 | refuse new submissions (429, Retry-After) while jobs wait longer than this to start, measured as the oldest Waiting job's wait or the backlog (submissions admitted but not yet PUT included) over the rate jobs start at while the runners are busy (until that is measured, an estimate from the runners' recent time per job and the most jobs started in a second), whichever is larger (0: no limit; e.g. 1 for short jobs that must start within seconds) |
| OPENQIO_LOAD_VIEWERS | * | which workspaces' tokens may read the whole service's load (`GET /dashboard/load`, `openqio load`, the dashboard's load line: counts only, no job, name or workspace): `*` every workspace, or `ws,...` only these (an operator's), or `none`; the others get 403 |
| OPENQIO_SQLITE_SYNCHRONOUS | full | `full`: what the service acknowledges (new jobs, cancels, how each job ended, with its result) is fsynced before the answer, and survives a power loss; `normal`: no fsync (every process crash is still survived; a power loss or OS crash can lose the last seconds) |
| OPENQIO_VERIFY_OUTPUTS | auto | `on`: each result blob is looked at once after blob storage should have saved it, and rewritten from the service's copy if it is gone; `off`: only after a storage outage or restart the service saw; `auto`: `off` for the Azurite that `--with-azurite` supervises, `on` otherwise |
| OPENQIO_EVENT_LOOP | auto | the service's event loop: `uvloop` (libuv's, a dependency on Linux and macOS: in the service benchmark 7-10 % less of the service's CPU per tiny job and ~5 % more jobs a second), `asyncio` (the standard library's), or `auto`: uvloop where it is installed, else asyncio |
| OPENQIO_LOG_LEVEL | INFO | level of openqio's own log lines; other libraries log WARNING and above unless named: `DEBUG,aiosqlite=DEBUG,azure=INFO` |
| OPENQIO_LOG_FORMAT | text | `text` or `json` (one JSON object per line: ts, level, logger, msg, job_id, from, to...) |
| OPENQIO_CONNECTION | .openqio/connection.json | client side, read by services/client: the connection file `Workspace()` and the CLI read (default: looked for in the working directory and its parents) |

The README's configuration table is this one; tests/unit/test_config_docs.py checks both against the code.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from contracts.errors import NO_SPACE
from contracts.logformat import parse_level
from contracts.problems import ProblemLimits
from services import remote_settings as remote
from services.remote_settings import AZURITE_ACCOUNT, AZURITE_KEY, SettingsError

_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
STORAGE_ACCOUNTS_FILE = "storage-accounts.json"
AZURITE_DB_FILE = "__azurite_db_blob__.json"  # where Azurite keeps its blob index under --location


@dataclass(frozen=True)
class StorageAccount:
    """One storage account: its name, its key (a secret: kept out of repr and every message), the blob URL the
    service reaches it at, and the one clients are handed (`public_url`; empty: the same)."""

    name: str
    key: str = field(repr=False)
    blob_url: str
    public_url: str = ""

    @property
    def client_url(self) -> str:
        return self.public_url or self.blob_url


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".openqio")
    host: str = "127.0.0.1"
    port: int = 8443
    public_url: str = field(default_factory=str)  # "": derived from host and port (public_base_url)
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "openqio"
    workspace: str = "openqio"
    location: str = "local"
    tokens: Mapping[str, str] = field(default_factory=dict)  # token -> workspace name
    blob_url: str = f"http://127.0.0.1:10000/{AZURITE_ACCOUNT}"
    storage_account: str = AZURITE_ACCOUNT
    storage_key: str = field(default=AZURITE_KEY, repr=False)
    storage_key_file: str = ""
    storage_connection_string: str = field(default="", repr=False)
    storage_auth: str = "key"
    public_blob_url: str = ""
    workspace_storage: Mapping[str, StorageAccount] = field(default_factory=dict)  # workspace -> its own account
    tls_names: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""
    entra_tenant: str = ""
    entra_principals: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (oid|appid, guid) -> workspace
    entra_audience: str = "https://quantum.microsoft.com"
    entra_authority: str = "https://login.microsoftonline.com"
    sas_ttl_s: int = 7 * 24 * 3600
    runners: int = field(default_factory=lambda: os.cpu_count() or 1)
    executor: str = "local"
    ray_address: str = ""
    max_attempts: int = 3
    hard_deadline_grace_s: float = 10.0
    max_job_seconds: float = 86_400.0
    shutdown_grace_s: float = 5.0
    max_request_bytes: int = 1024 * 1024
    max_input_bytes: int = 512 * 1024 * 1024
    max_terms: int = 10_000_000
    max_variables: int = 2_000_000
    list_page_size: int = 100
    max_streams: int = 100
    stream_keepalive_s: float = 15.0
    max_waiting: int = 10_000
    max_queue_delay_s: float = 0.0
    load_viewers: str = "*"
    sqlite_synchronous: str = "full"
    verify_outputs: str = "auto"
    event_loop: str = "auto"
    log_level: str = "INFO"
    log_format: str = "text"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in _PARSED:
                continue
            raw = env.get(f"OPENQIO_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, raw, type(getattr(cls(), f.name)))
        values.update({k: v for k, v in overrides.items() if k not in _PARSED})
        if values.get("storage_key_file") and "storage_key" not in values:
            values["storage_key"] = _read_key_file(values["storage_key_file"])
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        settings = _with_connection_string(cls(**values), values)
        principals = overrides.get("entra_principals")
        if principals is None:
            principals = remote.parse_principals(env.get("OPENQIO_ENTRA_PRINCIPALS", ""), settings.workspace)
        settings = replace(settings, entra_principals=dict(principals))
        tokens = overrides.get("tokens") or _parse_tokens(env.get("OPENQIO_TOKENS", ""), settings.workspace)
        if not tokens:
            tokens = {_default_token(settings.data_dir): settings.workspace}
        settings = replace(settings, tokens=dict(tokens))
        storage = overrides.get("workspace_storage")
        if storage is None:
            storage = _parse_workspace_storage(env.get("OPENQIO_WORKSPACE_STORAGE", ""), settings)
        settings = replace(settings, workspace_storage=dict(storage))
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.runners < 1:
            raise SettingsError("OPENQIO_RUNNERS must be at least 1")
        if not 0 <= self.port <= 65535:
            raise SettingsError("OPENQIO_PORT must be 0..65535")
        if self.log_format not in ("text", "json"):
            raise SettingsError("OPENQIO_LOG_FORMAT must be text or json")
        if self.executor not in ("local", "ray"):
            raise SettingsError("OPENQIO_EXECUTOR must be local or ray")
        if self.sqlite_synchronous not in ("full", "normal"):
            raise SettingsError("OPENQIO_SQLITE_SYNCHRONOUS must be full or normal")
        if self.verify_outputs not in ("auto", "on", "off"):
            raise SettingsError("OPENQIO_VERIFY_OUTPUTS must be auto, on or off")
        if self.event_loop not in ("auto", "uvloop", "asyncio"):
            raise SettingsError("OPENQIO_EVENT_LOOP must be auto, uvloop or asyncio")
        try:
            parse_level(self.log_level)
        except ValueError as exc:
            raise SettingsError(f"OPENQIO_LOG_LEVEL: {exc}") from None
        if self.list_page_size < 1 or self.max_attempts < 1:
            raise SettingsError("OPENQIO_LIST_PAGE_SIZE and OPENQIO_MAX_ATTEMPTS must be at least 1")
        if self.max_streams < 0 or not self.stream_keepalive_s > 0:
            raise SettingsError("OPENQIO_MAX_STREAMS must be at least 0 and OPENQIO_STREAM_KEEPALIVE_S positive")
        if self.max_waiting < 0 or self.max_queue_delay_s < 0:
            raise SettingsError("OPENQIO_MAX_WAITING and OPENQIO_MAX_QUEUE_DELAY_S must be 0 (no limit) or positive")
        if self.sas_ttl_s < 60:  # a SAS that expires before the client has used it breaks every submission
            raise SettingsError("OPENQIO_SAS_TTL_S must be at least 60 seconds")
        for name in ("max_request_bytes", "max_input_bytes", "max_terms", "max_variables"):
            if getattr(self, name) < 1:
                raise SettingsError(f"OPENQIO_{name.upper()} must be at least 1")
        unknown = sorted(set(self.workspace_storage) - self.workspaces)
        if unknown:
            raise SettingsError(f"OPENQIO_WORKSPACE_STORAGE names workspace(s) with no token: {', '.join(unknown)}")
        viewers = self.load_viewer_set
        if viewers is not None and not viewers <= self.workspaces:
            raise SettingsError("OPENQIO_LOAD_VIEWERS names workspace(s) with no token or principal: "
                                f"{', '.join(sorted(viewers - self.workspaces))} (want *, none or workspace names)")
        remote.validate(self)

    # derived values ------------------------------------------------------------------------------------------------

    @property
    def database_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    def public_base_url(self, port: int) -> str:
        """The gateway's URL as clients reach it, ending in '/': OPENQIO_PUBLIC_URL, else https://HOST:`port`/ with
        `port` the one really listened on (OPENQIO_PORT may be 0) and a wildcard HOST read as 127.0.0.1."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/"
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"https://{f'[{host}]' if ':' in host else host}:{port}/"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def problem_limits(self) -> ProblemLimits:
        return ProblemLimits(max_input_bytes=self.max_input_bytes, max_terms=self.max_terms,
                             max_variables=self.max_variables)

    @property
    def default_token(self) -> str:
        """The token of the configured workspace (written to connection.json for local clients)."""
        for token, workspace in self.tokens.items():
            if workspace == self.workspace:
                return token
        raise SettingsError(f"no token is configured for workspace {self.workspace!r}")

    @property
    def load_viewer_set(self) -> frozenset[str] | None:
        """The workspaces that may read the service's load (OPENQIO_LOAD_VIEWERS); None: every one."""
        value = self.load_viewers.strip()
        if value == "*":
            return None
        if value == "none":
            return frozenset()
        return frozenset(name.strip() for name in value.split(",") if name.strip())

    @property
    def workspaces(self) -> set[str]:
        return {self.workspace, *self.tokens.values(), *self.entra_principals.values()}

    @property
    def default_storage(self) -> StorageAccount:
        """OPENQIO_STORAGE_ACCOUNT / _KEY at OPENQIO_BLOB_URL: the account of workspaces without their own."""
        return StorageAccount(self.storage_account, self.storage_key, self.blob_url.rstrip("/"),
                              self.public_blob_url.rstrip("/"))

    def public_url_of(self, account: str) -> str:
        """The client-facing URL of `account` (derived from OPENQIO_PUBLIC_BLOB_URL); "" where none is set."""
        if not self.public_blob_url:
            return ""
        return account_blob_url(self.public_blob_url, self.storage_account, account, "OPENQIO_PUBLIC_BLOB_URL")

    def storage_for(self, workspace: str) -> StorageAccount:
        """The storage account that holds `workspace`'s blobs."""
        return self.workspace_storage.get(workspace) or self.default_storage

    @property
    def storage_accounts(self) -> list[StorageAccount]:
        """Every account some workspace uses, each once (the default one only if a workspace has no account)."""
        out: dict[str, StorageAccount] = {}
        for workspace in sorted(self.workspaces):
            account = self.storage_for(workspace)
            out.setdefault(account.name, account)
        return list(out.values())

    def verifies_outputs(self, supervised_azurite: bool) -> bool:
        """Whether every result blob is looked at once after it settled (services/dispatch/outputs.py)."""
        if self.verify_outputs == "auto":
            return not supervised_azurite
        return self.verify_outputs == "on"

    # Names kept for the dispatcher's wording.
    @property
    def job_hard_deadline_grace_s(self) -> float:
        return self.hard_deadline_grace_s


_PARSED = ("tokens", "workspace_storage", "entra_principals")  # parsed from their variables after the others


def _with_connection_string(settings: Settings, given: Mapping[str, Any]) -> Settings:
    """OPENQIO_STORAGE_CONNECTION_STRING fills the default account's name, key and blob URL (the service's own URL;
    clients get OPENQIO_PUBLIC_BLOB_URL where set). Without it, `entra` still needs an explicit key: every SAS is
    signed with it (the account SAS of sasUri cannot be a user delegation SAS)."""
    if not settings.storage_connection_string:
        if settings.storage_auth == "entra" and "storage_key" not in given:
            raise SettingsError("OPENQIO_STORAGE_AUTH=entra also needs the account key (OPENQIO_STORAGE_KEY or a "
                                "connection string): sasUri must answer an account SAS, which only the key can sign")
        return settings
    clash = [f"OPENQIO_{name.upper()}" for name in ("blob_url", "storage_account", "storage_key", "storage_key_file")
             if given.get(name)]
    if clash:
        raise SettingsError(f"OPENQIO_STORAGE_CONNECTION_STRING names the account, its key and its blob URL: unset "
                            f"{', '.join(clash)}")
    account, key, url = remote.parse_connection_string(settings.storage_connection_string)
    _check_account(account, key, "OPENQIO_STORAGE_CONNECTION_STRING")
    return replace(settings, storage_account=account, storage_key=key, blob_url=url)


def _convert(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is type(Path()):
            return Path(raw)
        return raw
    except ValueError:
        raise SettingsError(f"OPENQIO_{name.upper()}={raw!r} is not a valid {kind.__name__}") from None


def _read_key_file(path: str) -> str:
    try:
        key = Path(path).read_text().strip()
    except OSError as exc:
        raise SettingsError(f"OPENQIO_STORAGE_KEY_FILE: cannot read {path} ({exc.strerror})") from None
    if not key:
        raise SettingsError(f"OPENQIO_STORAGE_KEY_FILE: {path} is empty")
    return key


def _parse_tokens(raw: str, default_workspace: str) -> dict[str, str]:
    """`ws1=token1,ws2=token2` or a bare `token` (for the default workspace) → {token: workspace}."""
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        workspace, sep, token = item.partition("=")
        if not sep:
            workspace, token = default_workspace, item
        if len(token) < 16:
            raise SettingsError("OPENQIO_TOKENS: tokens must be at least 16 characters")
        out[token.strip()] = workspace.strip()
    return out


def _default_token(data_dir: Path) -> str:
    """A random token made on first run and kept in DATA_DIR/token (mode 0600)."""
    path = data_dir / "token"
    try:
        if path.exists():
            token = path.read_text().strip()
            if token:
                return token
        data_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        write_private(path, token + "\n")
    except OSError as exc:  # the first thing a start writes: a data directory that is a file, not writable, or full
        if exc.errno in NO_SPACE:
            raise SettingsError(f"OPENQIO_DATA_DIR {data_dir}: no space left on its disk for the token: free space "
                                "on that disk and start again") from None
        raise SettingsError(f"OPENQIO_DATA_DIR {data_dir}: cannot keep the token there ({exc.strerror}: "
                            f"{exc.filename}); it must be a directory this user can write") from None
    return token


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (mode 0600), whole or not at all (`write_whole`)."""
    write_whole(path, text.encode(), 0o600)


def write_whole(path: Path, data: bytes, mode: int) -> None:
    """Write `path` atomically and durably: a reader, or a start after a crash or a power loss, finds the old content
    or the new, never a torn or empty file. The files written so (generated storage accounts, TLS keys, tokens,
    connection files) are few and rarely rewritten; losing storage-accounts.json would put every blob of its
    accounts out of reach, so each is fsynced before it replaces the old one, and its directory after."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # (a full disk) what fit is not left taking space
        raise
    if os.name == "posix":  # the rename itself, on disk (directories cannot be opened so elsewhere)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def account_blob_url(blob_url: str, default_account: str, account: str, where: str = "OPENQIO_BLOB_URL") -> str:
    """`blob_url` (the default account's URL) with `account` in place of `default_account`: in the path for
    path-style URLs (Azurite: `http://host:port/account`), in the host for host-style ones (`account.blob...`)."""
    parts = urlsplit(blob_url.rstrip("/"))
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[-1] == default_account:
        return urlunsplit(parts._replace(path="/".join(["", *segments[:-1], account])))
    host = parts.hostname or ""
    if host.split(".")[0] == default_account and "." in host:
        netloc = parts.netloc.replace(host, account + host[len(default_account):], 1)
        return urlunsplit(parts._replace(netloc=netloc))
    raise SettingsError(f"cannot derive account {account!r}'s blob URL from {where} (it names no account "
                        f"{default_account!r}): give it in OPENQIO_WORKSPACE_STORAGE as ws=account:key@blob_url")


def _check_account(name: str, key: str, where: str) -> None:
    if not _ACCOUNT_NAME.match(name):
        raise SettingsError(f"{where}: storage account name {name!r} must be 3-24 lowercase letters and digits")
    try:
        ok = bool(key) and bool(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError):
        ok = False
    if not ok:  # the key itself is never repeated in a message
        raise SettingsError(f"{where}: the key of storage account {name!r} is not a base64 string")


def _parse_workspace_storage(raw: str, settings: Settings) -> dict[str, StorageAccount]:
    """`ws=account:key[@blob_url],...` → {workspace: StorageAccount}. Messages never hold a key."""
    out: dict[str, StorageAccount] = {}
    for number, item in enumerate(filter(None, (part.strip() for part in raw.split(","))), start=1):
        where = f"OPENQIO_WORKSPACE_STORAGE entry {number}"
        workspace, sep, rest = item.partition("=")
        workspace = workspace.strip()
        name, colon, key_and_url = rest.partition(":")
        if not sep or not workspace or not colon:
            raise SettingsError(f"{where} is not `workspace=account:key[@blob_url]`")
        key, at, url = key_and_url.partition("@")
        name, key, url = name.strip(), key.strip(), url.strip()
        where = f"OPENQIO_WORKSPACE_STORAGE (workspace {workspace!r})"
        if workspace in out:
            raise SettingsError(f"{where} is given twice")
        _check_account(name, key, where)
        if at:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                raise SettingsError(f"{where}: blob URL {url!r} is not an http(s) account URL")
        else:
            url = account_blob_url(settings.blob_url, settings.storage_account, name)
        out[workspace] = StorageAccount(name, key, url.rstrip("/"), settings.public_url_of(name))
    return out


def with_generated_storage(settings: Settings) -> Settings:
    """For `--with-azurite`: every workspace without an OPENQIO_WORKSPACE_STORAGE account gets its own generated one
    (name from the workspace + a random suffix, random 64-byte key), kept in DATA_DIR/storage-accounts.json (mode
    0600) so restarts find their blobs. Azurite then serves only these accounts: its public development account,
    whose key everyone knows, is never served. A data directory whose Azurite already holds data from before this
    rule keeps the development account's name for its default workspace, with a generated key, so its jobs' blobs
    stay where they are."""
    path = Path(settings.data_dir) / STORAGE_ACCOUNTS_FILE
    kept: dict[str, dict[str, str]] = {}
    if path.exists():
        try:
            kept = json.loads(path.read_text())
            accounts = [(workspace, account["name"], account["key"]) for workspace, account in kept.items()]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SettingsError(f"{path} is not a storage account file ({type(exc).__name__}); move it away to "
                                "generate new accounts (the blobs of the old ones are then out of reach)") from None
        for workspace, name, key in accounts:
            _check_account(name, key, f"{path} (workspace {workspace!r})")
    storage = dict(settings.workspace_storage)
    taken = {a.name for a in storage.values()} | {a["name"] for a in kept.values()}
    legacy_data = (Path(settings.data_dir) / "azurite" / AZURITE_DB_FILE).exists()
    changed = False
    for workspace in sorted(settings.workspaces - set(storage)):
        if workspace not in kept:
            stem = re.sub(r"[^a-z0-9]", "", workspace.lower())[:16]
            name = stem + secrets.token_hex(4)
            if legacy_data and workspace == settings.workspace and settings.storage_account not in taken:
                name = settings.storage_account  # blobs written before accounts were generated for one workspace
            while name in taken:
                name = stem + secrets.token_hex(4)
            taken.add(name)
            kept[workspace] = {"name": name, "key": base64.b64encode(secrets.token_bytes(64)).decode()}
            changed = True
        account = kept[workspace]
        url = account_blob_url(settings.blob_url, settings.storage_account, account["name"])
        public = settings.public_url_of(account["name"])
        storage[workspace] = StorageAccount(account["name"], account["key"], url, public)
    if changed:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        write_private(path, json.dumps(kept, indent=2))
    return replace(settings, workspace_storage=storage)
