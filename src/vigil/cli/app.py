"""The `vigil` command: global options (logging, --version, completion) and the table of
commands, each imported only when it runs. Commands are thin: parse, call the library, print."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, ClassVar

import typer

from vigil.cli.lazy import LazyGroup
from vigil.cli.logs import Verbosity, logging_for


class VigilGroup(LazyGroup):
    # name: ("module:attribute", one-line help; tests check it against the command's own)
    lazy: ClassVar[Mapping[str, tuple[str, str]]] = {
        "case": ("vigil.cli.case:app", "Create and describe cases."),
        "hashset": ("vigil.cli.hashset:app", "Import, list and remove hash sets."),
        "ingest": (
            "vigil.cli.ingest:ingest_command",
            "Hash and catalogue every file of the sources. Safe to interrupt and run again.",
        ),
        "match": (
            "vigil.cli.match:match_command",
            "Match every file against every active hash set and decide categories again.",
        ),
        "files": ("vigil.cli.files:files_command", "Print every record of the case."),
        "hash": (
            "vigil.cli.hashcmd:hash_command",
            "Print md5, sha1, sha256, pdq and pdq_quality of files (archive members too).",
        ),
        "export": (
            "vigil.cli.export:export_command",
            "Write the case's categorised media as a hash list: hashes and base names only.",
        ),
        "report": (
            "vigil.cli.report:report_command",
            "Write the case report: sources, counts, timeline, places, triage; nothing fetched.",
        ),
        "decide": (
            "vigil.cli.decide:decide_command",
            "Record a category for a content or a whole group; it wins over matches, also later.",
        ),
        "queue": (
            "vigil.cli.queue:queue_command",
            "List the groups that still need a human, most urgent first, with their reasons.",
        ),
        "devices": (
            "vigil.cli.devices:devices_command",
            "List every camera body seen, with its matched and unmatched pictures.",
        ),
        "link": (
            "vigil.cli.link:link_command",
            "Report the content cases share, exactly and near-duplicate, and their camera bodies.",
        ),
        "user": (
            "vigil.cli.user:app",
            "Add, list, disable and grant the users of a case's review app; set their budgets.",
        ),
        "audit": ("vigil.cli.audit:app", "Verify and export the case's tamper-evident audit log."),
        "serve": (
            "vigil.cli.serve:serve_command",
            "Serve the review app for these cases (users log in with their case accounts).",
        ),
    }


app = typer.Typer(
    name="vigil",
    cls=VigilGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def version_text() -> str:
    """Vigil's version, then every version that changes what it computes, one per line."""
    from vigil.provenance import versions

    found = versions()
    lines = [f"vigil {found.pop('vigil')}"]
    width = max(map(len, found))
    lines += [f"  {name:<{width}}  {value}" for name, value in found.items()]
    return "\n".join(lines)


def print_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def global_options(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Also show debug detail (terminal and logs).")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "-q",
            "--quiet",
            help="No progress, log lines or summaries on the terminal: only errors and the "
            "output asked for. Log files still get everything.",
        ),
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            dir_okay=False,
            help="Also append the log to this file (each ingest run writes its own in "
            "CASE/logs/ as well).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=print_version,
            is_eager=True,
            help="Print Vigil's version and those of the libraries that change results.",
        ),
    ] = False,
) -> None:
    """Triage seized media collections: ingest, hash, match, review, share."""
    if verbose and quiet:
        raise typer.BadParameter("-v and -q cannot be used together", param_hint="-v/-q")
    verbosity = Verbosity(verbose=verbose, quiet=quiet)
    ctx.obj = verbosity
    try:
        ctx.with_resource(logging_for(verbosity, log_file))
    except OSError as exc:
        raise typer.BadParameter(f"cannot write to {log_file}: {exc.strerror}") from exc


def main() -> None:
    try:
        app()
    finally:
        # What must be finished at exit (the store, log files, worker pools) is closed by
        # context managers by now; exempting the objects left from the collector spares the
        # interpreter's last garbage collections over everything imported, ~0.1 s.
        gc.freeze()
