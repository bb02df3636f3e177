"""`vigil export CASE --format vics|md5sum|hashdeep|csv|geojson|kml -o FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.hashsets.vics_export import VERSIONS
from vigil.reports import export_case
from vigil.reports.exports import EXPORT_FORMATS, PLACE_FORMATS
from vigil.store import CaseStore


def export_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    fmt: Annotated[
        str, typer.Option("--format", help=f"Export format: {', '.join(EXPORT_FORMATS)}.")
    ] = "vics",
    version: Annotated[
        str | None,
        typer.Option(
            help=f"VICS version: {' or '.join(VERSIONS)} (the ones IPED reads; default 2.0); "
            "a UK-scheme case exports as 2.0 only (region UK)."
        ),
    ] = None,
    names: Annotated[
        bool,
        typer.Option(
            help="Include each file's base name (never its folders); in geojson and kml, "
            "the record's path."
        ),
    ] = True,
    category: Annotated[
        list[int] | None,
        typer.Option(
            "--category",
            help="Export only this category (repeatable); required for md5sum and hashdeep, "
            "which cannot say a category.",
        ),
    ] = None,
) -> None:
    """Write the case's categorised media as a hash list: hashes and base names only."""
    with CaseStore.open(case) as store:
        done = export_case(
            store, output, fmt=fmt, version=version, names=names, categories=category
        )
    what = {"vics": "media records", **dict.fromkeys(PLACE_FORMATS, "places")}.get(fmt, "entries")
    typer.echo(f"wrote {done.records:,} {what} to {output}; provenance in {done.provenance}")
