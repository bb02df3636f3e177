"""`vigil match CASE [--pdq-threshold 31]`: match every file again against every active set."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vigil.cli.logs import verbosity_of
from vigil.config import load_settings

if TYPE_CHECKING:
    from vigil.categories import CategoryScheme
    from vigil.pipeline.matcher import MatchSummary


def match_command(
    ctx: typer.Context,
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    pdq_threshold: Annotated[
        int | None,
        typer.Option(
            "--pdq-threshold",
            help="Largest PDQ Hamming distance (of 256 bits) that counts as a near-duplicate "
            "(default: the case's pdq_threshold setting, 31).",
        ),
    ] = None,
) -> None:
    """Match every file against every active hash set and decide categories again.

    Matches that no longer hold at the new threshold are removed. Safe to interrupt.
    """
    from vigil.pipeline.matcher import file_count, match_case
    from vigil.store import CaseStore

    console = Console(stderr=True)
    with CaseStore.open(case) as store:
        settings = load_settings(case, overrides={"pdq_threshold": pdq_threshold})
        scheme = store.scheme
        if console.is_terminal and not verbosity_of(ctx).quiet:
            with Progress(
                TextColumn("[bold]files"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("match", total=file_count(store))
                summary = match_case(
                    store, settings, on_progress=lambda n: progress.advance(task, n)
                )
        else:
            summary = match_case(store, settings)
    print_match_summary(Console(), summary, scheme)


def print_match_summary(console: Console, summary: MatchSummary, scheme: CategoryScheme) -> None:
    rate = summary.files / max(summary.seconds, 1e-6)
    console.print(
        f"{summary.files:,} files matched in {summary.seconds:,.1f} s ({rate:,.0f} files/s) "
        f"at PDQ threshold {summary.threshold}"
    )
    console.print(
        f"{summary.added:,} matches added, {summary.updated:,} updated, {summary.removed:,} removed"
    )
    if summary.found:
        table = Table(title="matches by set and algorithm", title_justify="left")
        for name in ("set", "algorithm"):
            table.add_column(name)
        table.add_column("matches", justify="right")
        for (label, algorithm), count in sorted(summary.found.items()):
            table.add_row(label, algorithm, f"{count:,}")
        console.print(table)
    else:
        console.print("no matches")
    table = Table(title="files by category", title_justify="left")
    table.add_column("category")
    table.add_column("files", justify="right")
    for code, count in sorted(summary.categorised.items()):
        table.add_row(f"{code} {scheme.label(code)}", f"{count:,}")
    table.add_row(
        scheme.label(None), f"{max(summary.files - sum(summary.categorised.values()), 0):,}"
    )
    console.print(table)
