"""`vigil serve CASE...`: the review app on this machine's loopback address, or — with
`--allow-remote` and a TLS certificate — on another address."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.errors import reports_errors
from vigil.errors import ConfigError

log = logging.getLogger("vigil.cli")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, allow_remote: bool, cert: Path | None, key: Path | None) -> None:
    """Loopback only, unless remote access is asked for explicitly and encrypted: sessions
    and pictures must never cross a network in the clear."""
    if (cert is None) != (key is None):
        raise ConfigError("give both --tls-cert and --tls-key, or neither")
    if is_loopback(host):
        return
    if not allow_remote:
        raise ConfigError(
            f"refusing to serve on {host}, which is not a loopback address: add "
            "--allow-remote with --tls-cert and --tls-key to let other machines connect"
        )
    if cert is None:
        raise ConfigError("--allow-remote needs --tls-cert and --tls-key: no review over HTTP")
    for path in (cert, key):
        if not path.is_file():
            raise ConfigError(f"TLS file not found: {path}")


@reports_errors
def serve_command(
    cases: Annotated[list[Path], typer.Argument(help="Case folders to serve.")],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8765,
    allow_remote: Annotated[
        bool,
        typer.Option("--allow-remote", help="Allow a non-loopback --host (needs TLS)."),
    ] = False,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", dir_okay=False, help="TLS certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", dir_okay=False, help="TLS private key (PEM).")
    ] = None,
) -> None:
    """Serve the review app for these cases (users log in with their case accounts)."""
    check_binding(host, allow_remote, tls_cert, tls_key)
    import uvicorn

    from vigil.web import create_app

    app = create_app(list(cases), tls=tls_cert is not None)
    scheme = "https" if tls_cert else "http"
    log.info("review app on %s://%s:%d/ (Ctrl-C stops it)", scheme, host, port)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
    )
