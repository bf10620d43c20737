"""Typed application and request keys shared by the gateway's modules."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from services.config import Settings

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Any)
BLOBS = web.AppKey("blobs", Any)
DISPATCHER = web.AppKey("dispatcher", Any)
# request key: the workspace the bearer token grants (a typed RequestKey where aiohttp has them, 3.12+)
WORKSPACE = web.RequestKey("workspace", str) if hasattr(web, "RequestKey") else "openqio.workspace"
