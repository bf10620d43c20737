"""Where the client finds the service, and the URLs it calls there.

`Workspace()` with no arguments reads `connection.json`, which `make run` / `openqio serve` writes into
`.openqio/`. The file is looked for, in order: the `connection_file` argument, `$OPENQIO_CONNECTION`, then
`.openqio/connection.json` in the working directory and each of its parents. Explicit arguments override the
file's values; when subscription, resource group, workspace name and base URL are all given, no file is read.

connection.json keys: base_url, ca_file (PEM of the local CA), ca_bundle (optional: public CAs + ours), token,
subscription_id, resource_group, workspace, location.
"""
from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

CONNECTION_ENV = "OPENQIO_CONNECTION"
CONNECTION_PATH = Path(".openqio") / "connection.json"
API_PREFIX = "v1.0"
_RESOURCE_ID = re.compile(
    r"^/subscriptions/([a-fA-F0-9-]*)/resourceGroups/([^\s/]*)/providers/Microsoft\.Quantum/Workspaces/([^\s/]*)$",
    re.IGNORECASE,
)


class ConnectionConfigError(ValueError):
    """The client cannot tell where or how to connect (no file, missing values, unusable URL)."""


@dataclass(frozen=True)
class Connection:
    base_url: str  # with a trailing slash; a path prefix is kept (https://host:port/prefix/)
    subscription_id: str
    resource_group: str
    workspace: str
    location: str
    token: str | None = None
    ca_file: str | None = None
    ca_bundle: str | None = None
    source: Path | None = None  # the connection.json the values came from, if any

    @functools.cached_property  # every request's URL starts with it (a frozen dataclass: computed once)
    def workspace_url(self) -> str:
        """`{base}/v1.0/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Quantum/workspaces/{ws}`."""
        return (
            f"{self.base_url}{API_PREFIX}/subscriptions/{_q(self.subscription_id)}/resourceGroups/"
            f"{_q(self.resource_group)}/providers/Microsoft.Quantum/workspaces/{_q(self.workspace)}"
        )

    def url(self, *segments: str, query: str = "") -> str:
        """A workspace URL; every segment is URL-quoted on its own (job ids cannot escape their path segment)."""
        path = "/".join(_q(s) for s in segments)
        return f"{self.workspace_url}/{path}" + (f"?{query}" if query else "")

    def absolute(self, link: str) -> str:
        """A `nextLink` as the SDK follows it: absolute URLs as they are, others appended to the base URL."""
        parts = urlsplit(link)
        if parts.scheme and parts.netloc:
            return link
        return self.base_url + link.lstrip("/")

    def ssl_context(self) -> ssl.SSLContext:
        """Trust the public CAs (certifi) and, when given, the service's own CA.

        Contexts are shared between connections with the same CA files (unchanged on disk): loading the public
        bundle costs ~30 ms of CPU, which many short-lived workspaces (one per request in a web app, 50 in the
        load benchmark) would otherwise pay each time. A regenerated CA file (new mtime or size) gets a new one."""
        import certifi

        files = tuple(_file_key(path) for path in (certifi.where(), self.ca_file, self.ca_bundle) if path)
        return _shared_context(files)


def _file_key(path: str) -> tuple[str, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (path, -1, -1)  # loading it reports the error
    return (path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _shared_context(files: tuple[tuple[str, int, int], ...]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=files[0][0])
    for path, _, _ in files[1:]:
        context.load_verify_locations(cafile=path)
    return context


class WorkspaceIdentity:
    """The workspace's identity, read from `self.connection` (shared by the sync and the async Workspace)."""

    connection: Connection

    @property
    def subscription_id(self) -> str:
        return self.connection.subscription_id

    @property
    def resource_group(self) -> str:
        return self.connection.resource_group

    @property
    def name(self) -> str:
        return self.connection.workspace

    @property
    def location(self) -> str:
        return self.connection.location

    @property
    def base_url(self) -> str:
        return self.connection.base_url


def _q(segment: str) -> str:
    return quote(str(segment), safe="")


def find_connection_file(explicit: str | os.PathLike | None = None, start: Path | None = None) -> Path | None:
    """The connection file to read, or None when there is none (an explicit or $OPENQIO_CONNECTION path must exist)."""
    for given, origin in ((explicit, "connection_file"), (os.environ.get(CONNECTION_ENV), f"${CONNECTION_ENV}")):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ConnectionConfigError(f"{origin} points at {path}, which does not exist; is the service running "
                                       "(`make run` writes .openqio/connection.json)?")
            return path
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONNECTION_PATH
        if candidate.is_file():
            return candidate
    return None


def load_connection_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConnectionConfigError(f"cannot read connection file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConnectionConfigError(f"connection file {path} must hold a JSON object")
    for key in ("ca_file", "ca_bundle"):  # relative paths are relative to the file
        if isinstance(data.get(key), str) and data[key] and not Path(data[key]).is_absolute():
            data[key] = str((path.parent / data[key]).resolve())
    return data


def resolve_connection(
    subscription_id: str | None = None,
    resource_group: str | None = None,
    name: str | None = None,
    location: str | None = None,
    base_url: str | None = None,
    token: str | None = None,
    ca_file: str | None = None,
    connection_file: str | os.PathLike | None = None,
    resource_id: str | None = None,
) -> Connection:
    """Combine explicit arguments with connection.json (arguments win). Raises ConnectionConfigError (a ValueError)."""
    if resource_id is not None:
        match = _RESOURCE_ID.search(resource_id)
        if not match:
            raise ConnectionConfigError(f"invalid workspace resource id {resource_id!r}")
        subscription_id, resource_group, name = match.groups()
    given = {"subscription_id": subscription_id, "resource_group": resource_group, "workspace": name,
             "location": location, "base_url": base_url, "token": token, "ca_file": ca_file}
    data: dict[str, Any] = {}
    path: Path | None = None
    complete = all(given[k] for k in ("subscription_id", "resource_group", "workspace", "base_url"))
    if connection_file is not None or os.environ.get(CONNECTION_ENV) or not complete:
        path = find_connection_file(connection_file)
        if path is not None:
            data = load_connection_file(path)
    data.update({k: v for k, v in given.items() if v is not None})

    missing = [k for k in ("subscription_id", "resource_group", "workspace") if not data.get(k)]
    if missing:
        where = f"connection file {path}" if path else "no connection file was found"
        raise ConnectionConfigError(
            f"Azure Quantum workspace not fully specified: missing {', '.join(missing)} ({where}). Start the "
            "service with `make run` (it writes .openqio/connection.json), set $OPENQIO_CONNECTION, or pass "
            "subscription_id, resource_group, name and base_url to Workspace(...)."
        )
    loc = "".join(str(data.get("location") or "").split()).lower()  # "West US" -> "westus", as the SDK does
    url = data.get("base_url")
    if not url:
        if not loc:
            raise ConnectionConfigError("Workspace needs a base_url (or a location for the Azure endpoint); none was given "
                                   "and no connection file was found. Is `make run` going?")
        url = f"https://{loc}.quantum.azure.com/"
    url = _check_base_url(str(url))
    return Connection(
        base_url=url,
        subscription_id=str(data["subscription_id"]),
        resource_group=str(data["resource_group"]),
        workspace=str(data["workspace"]),
        location=loc or "local",
        token=data.get("token") or None,
        ca_file=data.get("ca_file") or None,
        ca_bundle=data.get("ca_bundle") or None,
        source=path,
    )


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConnectionConfigError(f"base_url {url!r} must be an absolute https:// URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        # The bearer token would travel in clear text; the SDK refuses http altogether.
        raise ConnectionConfigError(f"base_url {url!r} uses plain http to a remote host; use https")
    return url if url.endswith("/") else url + "/"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

