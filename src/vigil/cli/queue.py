"""`vigil queue CASE [--limit N] [--format table|jsonl]`: the groups that still need a human,
most urgent first, with their scores and reasons."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer


class QueueFormat(enum.StrEnum):
    table = "table"
    jsonl = "jsonl"


def queue_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Groups to list; 0 lists every one.")
    ] = 50,
    fmt: Annotated[
        QueueFormat, typer.Option("--format", help="Output format.")
    ] = QueueFormat.table,
) -> None:
    """List the groups that still need a human, most urgent first, with their reasons."""
    from vigil.config import load_settings
    from vigil.store import CaseStore
    from vigil.triage.queue import build_queue
    from vigil.triage.weights import load_weights

    with CaseStore.open(case) as store:
        settings = load_settings(case)
        weights = load_weights(case)
        refresh_groups(store, settings)
        items = build_queue(store, weights, limit=limit or None, threshold=settings.pdq_threshold)
    if fmt is QueueFormat.jsonl:
        for item in items:
            sys.stdout.write(json.dumps(item.as_json(), ensure_ascii=False) + "\n")
        return
    print_queue(items)


def refresh_groups(store, settings) -> None:
    """Group what was recorded since the last pass, unless an ingest is writing (it groups
    its own files when it ends): then say the queue may lag."""
    from vigil.errors import StoreError
    from vigil.store.writer import lock_case
    from vigil.triage.grouping import update_groups

    try:
        lock = lock_case(store)
    except StoreError:
        typer.echo(
            "note: an ingest is running; its newest files join groups when it ends", err=True
        )
        return
    try:
        update_groups(store, settings)
    finally:
        lock.close()


def print_queue(items) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not items:
        console.print("nothing needs a human: every picture and video is decided or matched")
        return
    table = Table(title="priority queue", title_justify="left")
    for name in ("#", "group", "kind", "score", "files", "reasons"):
        table.add_column(name, justify="right" if name in ("#", "score", "files") else "left")
    for rank, item in enumerate(items, 1):
        table.add_row(
            str(rank),
            item.group,
            item.kind,
            f"{item.score:g}",
            f"{item.file_count:,}",
            "; ".join(item.reasons),
        )
    console.print(table)
