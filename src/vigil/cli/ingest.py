"""`vigil ingest CASE SOURCE... [--workers N]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vigil.cli.case import print_summary
from vigil.cli.progress import progress_for
from vigil.config import load_settings
from vigil.pipeline.ingest import ingest
from vigil.store import CaseStore, case_summary


def ingest_command(
    case: Annotated[Path, typer.Argument(help="Case folder made by `vigil case create`.")],
    sources: Annotated[list[str], typer.Argument(help="Folders, files or archives to ingest.")],
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per CPU core).")
    ] = None,
) -> None:
    """Hash and catalogue every file of the sources. Safe to interrupt and run again."""
    console = Console(stderr=True)
    with CaseStore.open(case) as store:
        settings = load_settings(case, overrides={"workers": workers})
        try:
            with progress_for(console) as progress:
                summary = ingest(store, sources, settings, progress=progress, argv=sys.argv)
        except KeyboardInterrupt:
            console.print("interrupted: finished items are saved; run the same command to resume")
            raise typer.Exit(130) from None
        console.print(
            f"run {summary.run_id}: {summary.files_seen:,} entries seen, "
            f"{summary.already_done:,} already done, {summary.records:,} records written "
            f"({', '.join(f'{k} {v:,}' for k, v in sorted(summary.by_status.items())) or 'none'})"
        )
        print_summary(Console(), case_summary(store))
