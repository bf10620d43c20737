"""Settings.from_env(): the only reader of the environment. Every setting has an OPENQIO_ variable.

| variable | default | meaning |
|---|---|---|
| OPENQIO_DATA_DIR | .openqio | state: SQLite file, TLS material, token, Azurite data, connection files |
| OPENQIO_HOST | 127.0.0.1 | address the HTTPS gateway listens on |
| OPENQIO_PORT | 8443 | HTTPS port (0: any free port; the real one goes to connection.json) |
| OPENQIO_SUBSCRIPTION_ID | 00000000-0000-0000-0000-000000000000 | workspace identity in REST paths |
| OPENQIO_RESOURCE_GROUP | openqio | 〃 |
| OPENQIO_WORKSPACE | openqio | 〃 |
| OPENQIO_LOCATION | local | reported to clients (the SDK requires one; ignored otherwise) |
| OPENQIO_TOKENS | (generated) | `workspace=token,...` bearer tokens; default: one random token in DATA_DIR/token |
| OPENQIO_BLOB_URL | http://127.0.0.1:10000/devstoreaccount1 | blob service (Azurite) account URL, as clients reach it |
| OPENQIO_STORAGE_ACCOUNT | devstoreaccount1 | storage account name |
| OPENQIO_STORAGE_KEY | Azurite's public development key | storage account key |
| OPENQIO_SAS_TTL_S | 604800 | lifetime of SAS URLs handed out (seconds) |
| OPENQIO_RUNNERS | number of cores | runner processes |
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
| OPENQIO_LOG_LEVEL | INFO | logging level |
| OPENQIO_LOG_FORMAT | text | `text` or `json` (one JSON object per line: ts, level, logger, msg, job_id, from, to...) |
| OPENQIO_CONNECTION | .openqio/connection.json | client side, read by services/client: the connection file `Workspace()` and the CLI read (default: looked for in the working directory and its parents) |

The README's configuration table is this one; tests/unit/test_config_docs.py checks both against the code.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from contracts.problems import ProblemLimits

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented development key: public knowledge, not a secret. Override it for real storage.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".openqio")
    host: str = "127.0.0.1"
    port: int = 8443
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "openqio"
    workspace: str = "openqio"
    location: str = "local"
    tokens: Mapping[str, str] = field(default_factory=dict)  # token -> workspace name
    blob_url: str = f"http://127.0.0.1:10000/{AZURITE_ACCOUNT}"
    storage_account: str = AZURITE_ACCOUNT
    storage_key: str = AZURITE_KEY
    sas_ttl_s: int = 7 * 24 * 3600
    runners: int = field(default_factory=lambda: os.cpu_count() or 1)
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
    log_level: str = "INFO"
    log_format: str = "text"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "tokens":
                continue
            raw = env.get(f"OPENQIO_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, raw, type(getattr(cls(), f.name)))
        values.update({k: v for k, v in overrides.items() if k != "tokens"})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        settings = cls(**values)
        tokens = overrides.get("tokens") or _parse_tokens(env.get("OPENQIO_TOKENS", ""), settings.workspace)
        if not tokens:
            tokens = {_default_token(settings.data_dir): settings.workspace}
        settings = replace(settings, tokens=dict(tokens))
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.runners < 1:
            raise SettingsError("OPENQIO_RUNNERS must be at least 1")
        if not 0 <= self.port <= 65535:
            raise SettingsError("OPENQIO_PORT must be 0..65535")
        if self.log_format not in ("text", "json"):
            raise SettingsError("OPENQIO_LOG_FORMAT must be text or json")
        if self.list_page_size < 1 or self.max_attempts < 1:
            raise SettingsError("OPENQIO_LIST_PAGE_SIZE and OPENQIO_MAX_ATTEMPTS must be at least 1")
        if self.max_streams < 0 or not self.stream_keepalive_s > 0:
            raise SettingsError("OPENQIO_MAX_STREAMS must be at least 0 and OPENQIO_STREAM_KEEPALIVE_S positive")
        if self.sas_ttl_s < 60:  # a SAS that expires before the client has used it breaks every submission
            raise SettingsError("OPENQIO_SAS_TTL_S must be at least 60 seconds")
        for name in ("max_request_bytes", "max_input_bytes", "max_terms", "max_variables"):
            if getattr(self, name) < 1:
                raise SettingsError(f"OPENQIO_{name.upper()} must be at least 1")

    # derived values ------------------------------------------------------------------------------------------------

    @property
    def database_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

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
    def workspaces(self) -> set[str]:
        return {self.workspace, *self.tokens.values()}

    # Names kept for the dispatcher's wording.
    @property
    def job_hard_deadline_grace_s(self) -> float:
        return self.hard_deadline_grace_s


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
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token
