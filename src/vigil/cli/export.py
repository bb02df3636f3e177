"""`vigil export CASE --format vics [--version 2.0] -o FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.errors import ConfigError
from vigil.hashsets.vics_export import VERSIONS
from vigil.reports import export_vics
from vigil.store import CaseStore


def export_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="Export format: vics.")] = "vics",
    version: Annotated[
        str,
        typer.Option(
            help=f"VICS version: {' or '.join(VERSIONS)} (the ones IPED reads); a UK-scheme "
            "case exports as 2.0 only (region UK)."
        ),
    ] = "2.0",
    names: Annotated[
        bool, typer.Option(help="Include each file's base name (never its folders).")
    ] = True,
) -> None:
    """Write the case's categorised media as a VICS hash set: hashes and metadata only."""
    if fmt != "vics":
        raise ConfigError(f"unknown export format {fmt!r} (known: vics)")
    with CaseStore.open(case) as store:
        count = export_vics(store, output, version=version, names=names)
    typer.echo(f"wrote {count:,} media records to {output}")
