"""The `vigil` command. Commands are thin: parse, call the library, print."""

from __future__ import annotations

import typer

from vigil.cli import case, export, files, hashcmd, hashset, ingest, match
from vigil.cli.errors import reports_errors

app = typer.Typer(
    name="vigil",
    help="Triage seized media collections: ingest, hash, match, review, share.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(case.app, name="case")
app.add_typer(hashset.app, name="hashset")
app.command("ingest")(reports_errors(ingest.ingest_command))
app.command("files")(reports_errors(files.files_command))
app.command("hash")(reports_errors(hashcmd.hash_command))
app.command("match")(reports_errors(match.match_command))
app.command("export")(reports_errors(export.export_command))


def main() -> None:
    app()
