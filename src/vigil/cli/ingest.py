"""`vigil ingest CASE SOURCE... [--workers N] [--scheduler S]`. Every SOURCE is checked before
the case is opened, so a typo or an unmounted disk costs one error line, not a run."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vigil.cli.case import print_summary
from vigil.cli.logs import file_handler, handlers_on, verbosity_of
from vigil.cli.progress import progress_for
from vigil.config import load_settings
from vigil.errors import INTERRUPTED, CaseError

log = logging.getLogger("vigil.cli")

LOGS_DIR = "logs"


def ingest_command(
    ctx: typer.Context,
    case: Annotated[Path, typer.Argument(help="Case folder made by `vigil case create`.")],
    sources: Annotated[list[str], typer.Argument(help="Folders, files or archives to ingest.")],
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per CPU core).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="process (this machine's pool, the default), local:N (a Dask cluster of N "
            "processes here) or tcp://HOST:PORT (a Dask scheduler).",
        ),
    ] = None,
) -> None:
    """Hash and catalogue every file of the sources. Safe to interrupt and run again.

    The run's log goes to CASE/logs/ingest-<run id>.log."""
    from vigil.pipeline.executor import executor_for
    from vigil.pipeline.ingest import check_sources, ingest
    from vigil.store import CaseStore, case_summary

    verbosity = verbosity_of(ctx)
    check_sources(sources)

    def run_log(run_id: int) -> None:
        # Held until the command ends, so an error reported on the way out is in it too.
        path = store.case_dir / LOGS_DIR / f"ingest-{run_id}.log"
        try:
            handler = file_handler(path, verbosity.file_level)
        except OSError as exc:
            raise CaseError(f"cannot write the run's log {path}: {exc.strerror}") from exc
        ctx.with_resource(handlers_on(handler))
        log.info("run %d logs to %s", run_id, path)

    console = Console(stderr=True)
    with CaseStore.open(case) as store:
        settings = load_settings(case, overrides={"workers": workers, "scheduler": scheduler})
        executor = ctx.with_resource(executor_for(settings))
        link = getattr(executor, "dashboard_link", None)
        if link and not verbosity.quiet:
            console.print(f"Dask dashboard: {link}")
        try:
            with progress_for(console, quiet=verbosity.quiet) as progress:
                ingest(
                    store,
                    sources,
                    settings,
                    progress=progress,
                    argv=sys.argv,
                    executor=executor,
                    on_run=run_log,
                )
        except KeyboardInterrupt:
            log.warning("interrupted: finished items are saved; run the same command to resume")
            raise typer.Exit(INTERRUPTED) from None
        if not verbosity.quiet:
            print_summary(Console(), case_summary(store))
