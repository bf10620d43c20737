"""Where the client finds the service: explicit arguments, else `.openqio/connection.json` (written by
`make run` / `openqio serve`), searched from $OPENQIO_CONNECTION, then the working directory and its parents."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Connection:
    base_url: str
    token: str
    subscription_id: str
    resource_group: str
    workspace: str
    location: str = "local"
    ca_file: str | None = None

    @property
    def prefix(self) -> str:
        return (f"{self.base_url.rstrip('/')}/v1.0/subscriptions/{self.subscription_id}/resourceGroups/"
                f"{self.resource_group}/providers/Microsoft.Quantum/workspaces/{self.workspace}")


def find_connection_file(explicit: str | os.PathLike | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("OPENQIO_CONNECTION")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".openqio" / "connection.json"
        if candidate.exists():
            return candidate
    return None


def resolve(connection_file: str | os.PathLike | None = None, **given: Any) -> Connection:
    """Explicit arguments override the file's values; a missing required value is a clear error."""
    data: dict[str, Any] = {}
    path = find_connection_file(connection_file)
    if path is not None:
        if not path.exists():
            raise FileNotFoundError(f"connection file {path} does not exist; is `make run` running?")
        data = json.loads(path.read_text())
    aliases = {"name": "workspace"}
    for key, value in given.items():
        if value is not None:
            data[aliases.get(key, key)] = value
    missing = [k for k in ("base_url", "token", "subscription_id", "resource_group", "workspace") if not data.get(k)]
    if missing:
        raise ValueError(
            f"cannot connect: missing {', '.join(missing)}. Start the service with `make run` (it writes "
            ".openqio/connection.json), or pass them to Workspace(...)."
        )
    return Connection(
        base_url=data["base_url"], token=data["token"], subscription_id=data["subscription_id"],
        resource_group=data["resource_group"], workspace=data["workspace"], location=data.get("location") or "local",
        ca_file=data.get("ca_file"),
    )
