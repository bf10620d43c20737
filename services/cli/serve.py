"""`openqio serve`: the service's flags. Each flag overrides its OPENQIO_* variable (services/config.py)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer


class Executor(str, Enum):
    local = "local"
    ray = "ray"


class LogFormat(str, Enum):
    text = "text"
    json = "json"


def serve_command(
    data_dir: Path | None = typer.Option(None, "--data-dir", help="state directory (default .openqio; env OPENQIO_DATA_DIR)"),
    host: str | None = typer.Option(None, "--host", help="address to listen on (env OPENQIO_HOST)"),
    port: int | None = typer.Option(None, "--port", help="HTTPS port, 0 = any free port (env OPENQIO_PORT)"),
    runners: int | None = typer.Option(None, "--runners",
                                          help="runner processes (env OPENQIO_RUNNERS; default: one per core)"),
    executor: Executor | None = typer.Option(None, "--executor",
                                                help="where jobs run: local runner processes (default) or a Ray "
                                                     "cluster (env OPENQIO_EXECUTOR)"),
    ray_address: str | None = typer.Option(None, "--ray-address",
                                              help="with --executor ray: auto, host:6379 or ray://host:10001; empty "
                                                   "starts a local Ray (env OPENQIO_RAY_ADDRESS)"),
    blob_url: str | None = typer.Option(None, "--blob-url",
                                           help="blob service URL, e.g. http://127.0.0.1:10000/devstoreaccount1"),
    with_azurite: bool = typer.Option(False, "--with-azurite",
                                      help="start Azurite from node_modules with its data under DATA_DIR/azurite"),
    log_level: str | None = typer.Option(None, "--log-level",
                                            help="openqio's level: DEBUG, INFO (default), WARNING; other libraries "
                                                 "stay at WARNING unless named: DEBUG,aiosqlite=DEBUG"),
    log_format: LogFormat | None = typer.Option(None, "--log-format", help="text (default) or json"),
) -> None:
    from services.config import SettingsError
    from services.server import run

    overrides = {"data_dir": data_dir, "host": host, "port": port, "runners": runners, "blob_url": blob_url,
                 "executor": executor.value if executor is not None else None, "ray_address": ray_address,
                 "log_level": log_level, "log_format": log_format.value if log_format is not None else None}
    try:
        code = run(overrides, with_azurite=with_azurite)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(code)
