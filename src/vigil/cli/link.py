"""`vigil link CASE_A CASE_B [CASE ...] [--format table|jsonl] [--limit N] [-o PATH]`."""

from __future__ import annotations

import enum
import json
import logging
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from vigil.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from vigil.triage.links import CrossCase, Device, Link, PairSummary

log = logging.getLogger("vigil.cli")

SHOWN_PATHS = 3  # per case in a table cell; jsonl lists up to the library's cap
_TABLE_ROWS = 100  # links per printed table, so a long report is never held whole


class LinkFormat(enum.StrEnum):
    table = "table"
    jsonl = "jsonl"


def link_command(
    cases: Annotated[list[Path], typer.Argument(help="Two or more case folders.")],
    fmt: Annotated[LinkFormat, typer.Option("--format", help="Output format.")] = (
        LinkFormat.table
    ),
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=0, help="Show at most N links; the summary counts them all."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", dir_okay=False, help="Write here, not to the terminal."),
    ] = None,
) -> None:
    """Report the content cases share, exactly and near-duplicate, and their camera bodies.

    The cases may live on different stores (SQLite folders, PostgreSQL). jsonl prints one link
    per line; the table form ends with a summary per pair of cases.
    """
    from vigil.reports.atomic import atomic_output
    from vigil.store import CaseStore
    from vigil.store.groups import file_groups
    from vigil.triage.links import CrossCase

    if len(cases) < 2:
        raise ConfigError("vigil link needs two or more case folders")
    seen: dict[Path, Path] = {}
    for case in cases:
        twin = seen.setdefault(case.resolve(), case)
        if twin is not case:
            raise ConfigError(f"the same case twice: {twin} and {case}")
    with ExitStack() as stack:
        linker = CrossCase(
            [stack.enter_context(CaseStore.open(case)) for case in cases], series=file_groups
        )
        if output is None:
            write_links(linker, fmt, limit, sys.stdout)
        else:
            with atomic_output(output, "w", encoding="utf-8") as out:
                write_links(linker, fmt, limit, out)
            log.info("wrote the links to %s", output)


def write_links(linker: CrossCase, fmt: LinkFormat, limit: int | None, out: TextIO) -> None:
    from rich.console import Console

    if fmt is LinkFormat.jsonl:
        for link in linker.links(limit):
            out.write(json.dumps(link.as_json(), ensure_ascii=False) + "\n")
        for pair in linker.summary():
            log.info("%s", pair_line(pair))
            for note in pair.notes:
                log.warning("%s and %s: %s", *pair.cases, note)
        return
    # A terminal gets its own width; a file or pipe a wide one, so paths are not folded.
    console = Console(file=out, width=None if out.isatty() else 200)
    batch: list[Link] = []
    for link in linker.links(limit):
        batch.append(link)
        if len(batch) == _TABLE_ROWS:
            print_links(console, linker.names, batch)
            batch = []
    if batch:
        print_links(console, linker.names, batch)
    print_summary(console, linker.summary())


def device_text(device: Device) -> str:
    name = " ".join(p for p in (device.make, device.model) if p) or "unnamed camera"
    return f"{name} #{device.serial}" if device.serial else name


def pair_line(pair: PairSummary) -> str:
    bodies = ", ".join(device_text(d) for d, _, _ in pair.devices) or "none"
    return (
        f"{pair.cases[0]} and {pair.cases[1]}: {pair.exact:,} contents shared exactly, "
        f"{pair.near:,} near-duplicate; camera bodies in both: {bodies}"
    )


def print_links(console: Console, names: list[str], links: list[Link]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title_justify="left")
    for column in ("kind", "distance", "transform", *names):
        table.add_column(column, overflow="fold")
    for link in links:
        cells = []
        for name in names:
            side = link.cases.get(name)
            if side is None:
                cells.append(Text(""))
                continue
            lines = [
                f"{side.files:,} file{'s' if side.files != 1 else ''}",
                *side.paths[:SHOWN_PATHS],
            ]
            if side.files > SHOWN_PATHS:
                lines.append(f"… {side.files - SHOWN_PATHS:,} more")
            lines += [f"camera: {device_text(d)}" for d in side.devices]
            lines += [f"series: {label}" for label in side.series]
            cells.append(Text("\n".join(lines)))  # Text: paths are the suspect's, not markup
        transform = link.transform
        if link.relative_to is not None:
            transform += f" (relative to {link.relative_to})"
        table.add_row(link.kind, str(link.distance), Text(transform), *cells)
    console.print(table)


def print_summary(console: Console, pairs: list[PairSummary]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="shared between each pair of cases", title_justify="left")
    for column in ("cases", "exact", "near", "camera bodies in both (files in each)"):
        table.add_column(column, justify="right" if column in ("exact", "near") else "left")
    for pair in pairs:
        bodies = "\n".join(f"{device_text(d)} ({a:,} / {b:,})" for d, a, b in pair.devices)
        table.add_row(
            Text(" / ".join(pair.cases)), f"{pair.exact:,}", f"{pair.near:,}", Text(bodies or "-")
        )
    console.print(table)
    for pair in pairs:
        for note in pair.notes:
            console.print(Text(f"note: {' and '.join(pair.cases)}: {note}"))
