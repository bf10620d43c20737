"""`python -m services.healthcheck`: exit 0 when the local gateway answers GET /healthz over TLS, else 1.

The Docker healthcheck (docker/Dockerfile, docker/compose.yaml). Settings come from the environment through
services/config.py like everything else: DATA_DIR's connection.json, which the service writes only once it listens,
gives the real base URL and the CA that signed the gateway's certificate, so the check verifies TLS instead of
skipping verification.
"""
from __future__ import annotations

import json
import ssl
import sys
import urllib.error
import urllib.request

from services.config import Settings, SettingsError

# The check authenticates nothing (/healthz is public); a placeholder token keeps Settings.from_env from creating
# DATA_DIR/token, which is the service's to create.
_NO_TOKEN = {"healthcheck-needs-no-token": "healthcheck"}


def check(timeout_s: float = 4.0) -> str:
    """'ok: <url>' or raise RuntimeError with the reason."""
    try:
        settings = Settings.from_env(tokens=_NO_TOKEN)
    except SettingsError as exc:
        raise RuntimeError(f"invalid settings: {exc}") from None
    path = settings.data_dir / "connection.json"
    try:
        connection = json.loads(path.read_text())
        url, ca_file = connection["base_url"] + "healthz", connection["ca_file"]
    except FileNotFoundError:
        raise RuntimeError(f"{path} does not exist yet: the service is not listening") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(f"{path} is unreadable: {exc}") from None
    try:
        context = ssl.create_default_context(cafile=ca_file)
        with urllib.request.urlopen(url, context=context, timeout=timeout_s) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:  # 503 {"status": "unhealthy", "reason": ...}
        raise RuntimeError(f"{url} answered {exc.code}: {_reason(exc)}") from None
    except (OSError, ValueError, ssl.SSLError) as exc:  # URLError and timeouts are OSErrors
        raise RuntimeError(f"{url}: {exc}") from None
    if body.get("status") != "ok":
        raise RuntimeError(f"{url} answered {body!r}")
    return f"ok: {url}"


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("reason") or exc.reason)
    except (OSError, ValueError, AttributeError):
        return str(exc.reason)


def main() -> int:
    try:
        print(check())
    except RuntimeError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
