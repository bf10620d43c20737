"""Parsers for the settings that take openqio beyond 127.0.0.1: a storage connection string, Microsoft Entra ID
principals, certificate host names and public URLs. services/config.py (the only reader of the environment) calls
these; every error is a SettingsError naming the variable, and no message ever repeats an account key.
"""
from __future__ import annotations

import importlib.util
import ipaddress
import re
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """A setting that cannot work: the message names the variable and says what to change."""

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented development key: public knowledge, not a secret. Override it for real storage.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DNS_NAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
PRINCIPAL_KINDS = ("oid", "appid")


def validate(settings) -> None:
    """Settings.validate's part for these settings: storage auth, public URLs, TLS material, Entra ID."""
    if settings.storage_auth not in ("key", "entra"):
        raise SettingsError("OPENQIO_STORAGE_AUTH must be key or entra")
    if settings.storage_auth == "entra" and importlib.util.find_spec("azure.identity") is None:
        raise SettingsError("OPENQIO_STORAGE_AUTH=entra needs azure-identity: pip install 'openqio[entra]'")
    check_http_url(settings.blob_url, "OPENQIO_BLOB_URL")
    if settings.storage_auth == "entra":
        plain = sorted({a.name for a in settings.storage_accounts if urlsplit(a.blob_url).scheme != "https"})
        if plain:
            raise SettingsError(f"OPENQIO_STORAGE_AUTH=entra needs https blob URLs (Entra tokens never travel over "
                                f"plain http); storage account(s) {', '.join(plain)} use http")
    named = url_account(settings.blob_url)
    if named is not None and named != settings.storage_account:
        raise SettingsError(f"OPENQIO_BLOB_URL names storage account {named!r}, but OPENQIO_STORAGE_ACCOUNT is "
                            f"{settings.storage_account!r}: every SAS would be refused; set both to the same account")
    if settings.public_blob_url:
        check_http_url(settings.public_blob_url, "OPENQIO_PUBLIC_BLOB_URL")
    if settings.public_url:
        check_http_url(settings.public_url, "OPENQIO_PUBLIC_URL")
        if urlsplit(settings.public_url).scheme != "https":
            raise SettingsError("OPENQIO_PUBLIC_URL must be an https:// URL (the gateway speaks only TLS)")
    parse_host_names(settings.tls_names)
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise SettingsError("OPENQIO_TLS_CERT and OPENQIO_TLS_KEY go together: give both or neither")
    if settings.tls_ca and not settings.tls_cert:
        raise SettingsError("OPENQIO_TLS_CA is the CA of your own certificate: set OPENQIO_TLS_CERT and "
                            "OPENQIO_TLS_KEY too (the generated certificate has its own CA)")
    if settings.entra_tenant:
        check_tenant(settings.entra_tenant)
        check_http_url(settings.entra_authority, "OPENQIO_ENTRA_AUTHORITY", https_only=True)
        if not settings.entra_principals:
            raise SettingsError("OPENQIO_ENTRA_TENANT is set but OPENQIO_ENTRA_PRINCIPALS maps nobody to a "
                                "workspace: every Entra token would be refused")
        if not settings.entra_audience:
            raise SettingsError("OPENQIO_ENTRA_AUDIENCE must not be empty")
    elif settings.entra_principals:
        raise SettingsError("OPENQIO_ENTRA_PRINCIPALS needs OPENQIO_ENTRA_TENANT (whose tokens to accept)")


def parse_connection_string(raw: str) -> tuple[str, str, str]:
    """An Azure Storage connection string → (account name, account key, blob endpoint URL).

    Accepted: `AccountName=..;AccountKey=..` with `BlobEndpoint=<url>` or `DefaultEndpointsProtocol=https` (+
    `EndpointSuffix`, default core.windows.net), and `UseDevelopmentStorage=true` (Azurite's development account).
    A connection string without `AccountKey` (a `SharedAccessSignature` one) is refused: `sasUri` must answer an
    account SAS (contract §3.6), which only the account key can sign."""
    where = "OPENQIO_STORAGE_CONNECTION_STRING"
    parts: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw.split(";"))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SettingsError(f"{where} is not `Name=value;...` (Azure Storage connection string syntax)")
        parts[name.strip().lower()] = value.strip()
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        host = urlsplit(parts.get("developmentstorageproxyuri", "") or "http://127.0.0.1").hostname or "127.0.0.1"
        return AZURITE_ACCOUNT, AZURITE_KEY, f"http://{host}:10000/{AZURITE_ACCOUNT}"
    account, key = parts.get("accountname", ""), parts.get("accountkey", "")
    if not key:
        raise SettingsError(f"{where} has no AccountKey: openqio signs the account SAS that sasUri answers (the "
                            "SDK's upload needs one) with the account key; a SAS-only connection string cannot")
    if not account:
        raise SettingsError(f"{where} has no AccountName")
    endpoint = parts.get("blobendpoint", "")
    if not endpoint:
        protocol = parts.get("defaultendpointsprotocol", "https").lower()
        endpoint = f"{protocol}://{account}.blob.{parts.get('endpointsuffix', 'core.windows.net')}"
    check_http_url(endpoint, f"{where} BlobEndpoint")
    return account, key, endpoint.rstrip("/")


def check_http_url(url: str, where: str, https_only: bool = False) -> str:
    """An absolute http(s) URL without query or fragment (a base URL); `https_only` allows http on loopback only."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(f"{where}: {url!r} is not an absolute http(s) URL without query")
    if https_only and parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
        raise SettingsError(f"{where}: {url!r} must use https (plain http is allowed on loopback only)")
    return url


def url_account(url: str) -> str | None:
    """The storage account a blob service URL names: `https://NAME.blob.<suffix>` (Azure) or the last path segment
    (path-style, Azurite: `http://host:port/NAME`); None for a URL that names none (a custom domain)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if segments:
        return segments[-1]
    host = parts.hostname or ""
    labels = host.split(".")
    return labels[0] if len(labels) > 2 and labels[1] == "blob" else None


def parse_principals(raw: str, default_workspace: str) -> dict[tuple[str, str], str]:
    """`ws=oid:<guid>,ws2=appid:<guid>,oid:<guid>` → {(kind, guid): workspace}. A bare entry grants the default
    workspace. `oid` matches a token's object id (a user or service principal); `appid` matches the application
    (client) id of a token an application got for itself (client credentials: no `scp` claim), never a user's token
    obtained through that application."""
    out: dict[tuple[str, str], str] = {}
    for number, item in enumerate(filter(None, (p.strip() for p in raw.split(","))), start=1):
        workspace, sep, principal = item.rpartition("=")
        workspace = workspace.strip() if sep else default_workspace
        kind, colon, guid = principal.strip().partition(":")
        kind, guid = kind.strip().lower(), guid.strip().lower()
        if not colon or kind not in PRINCIPAL_KINDS or not _GUID.match(guid) or not workspace:
            raise SettingsError(f"OPENQIO_ENTRA_PRINCIPALS entry {number} ({item!r}) is not "
                                "`workspace=oid:<guid>` or `workspace=appid:<guid>`")
        if (kind, guid) in out:
            raise SettingsError(f"OPENQIO_ENTRA_PRINCIPALS maps {kind}:{guid} twice")
        out[(kind, guid)] = workspace
    return out


def check_tenant(tenant: str) -> str:
    """A tenant id (GUID) or a verified domain name (contoso.onmicrosoft.com); `common`/`organizations` are refused:
    they would accept tokens of every tenant."""
    if tenant.lower() in ("common", "organizations", "consumers") or not _TENANT.match(tenant):
        raise SettingsError(f"OPENQIO_ENTRA_TENANT {tenant!r} must be your tenant's id (a GUID) or domain name")
    return tenant


def parse_host_names(raw: str) -> list[str]:
    """`name,10.0.0.5,*.example.com` → the DNS names and IP addresses a generated certificate must also cover."""
    names: list[str] = []
    for item in filter(None, (p.strip() for p in raw.split(","))):
        if not is_ip(item) and not _DNS_NAME.match(item.lower()):
            raise SettingsError(f"OPENQIO_TLS_NAMES: {item!r} is neither a DNS name nor an IP address")
        names.append(item if is_ip(item) else item.lower())
    return names


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def storage_exposure(settings) -> list[str]:
    """Start-up warnings for storage that other machines can reach with a key everybody knows."""
    out = []
    for account in settings.storage_accounts:
        host = urlsplit(account.client_url).hostname or ""
        if account.key == AZURITE_KEY and host not in LOOPBACK_HOSTS:
            out.append(f"storage account {account.name} uses Azurite's public development key and clients reach it "
                       f"at {account.client_url}: anyone who reaches that address can read and write every blob; "
                       "give each workspace its own account (OPENQIO_WORKSPACE_STORAGE, or --with-azurite with "
                       "several workspaces) or use a real storage account")
    return out
