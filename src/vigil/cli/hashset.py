"""`vigil hashset import|list|remove`: hash lists in a case, then (re)matching its files."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from vigil.cli.errors import reports_errors
from vigil.cli.logs import verbosity_of
from vigil.hashsets import FORMATS

if TYPE_CHECKING:
    from vigil.pipeline.matcher import MatchSummary
    from vigil.store.hashsets import HashSetInfo

app = typer.Typer(help="Import, list and remove hash sets.", no_args_is_help=True)

# The vPDQ video list formats are named, not read from `VIDEO_FORMATS`: building that loads
# the video hasher (PyAV), which --help must not.
FORMAT_HELP = (
    f"auto (sniff the content) or one of: {', '.join(FORMATS.names())}; "
    "vpdq, vpdq-json for lists of known videos."
)
KIND_HELP = (
    "alert (a match gives the set's category, or the record's own for VICS), ignorable "
    "(a match makes the file non-pertinent, like NSRL) or reference (recorded only). "
    "Default: ignorable for nsrl, alert otherwise."
)


def match_line(summary: MatchSummary) -> str:
    found = ", ".join(f"{s} {algo} {n:,}" for (s, algo), n in sorted(summary.found.items()))
    return (
        f"matched {summary.files:,} files in {summary.seconds:.1f} s at PDQ threshold "
        f"{summary.threshold}: {summary.added:,} new matches ({found or 'none'})"
    )


def video_match_line(summary: MatchSummary) -> str:
    return (
        f"matched {summary.files:,} case videos in {summary.seconds:.1f} s: "
        f"{summary.added:,} new matches"
    )


@contextmanager
def entry_progress(console: Console, *, quiet: bool) -> Iterator[Any]:
    """A spinner with entries imported and their rate on a terminal; silent otherwise."""
    if quiet or not console.is_terminal:
        yield None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]importing[/] {task.completed:,.0f} entries"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("import", total=None, rate="")
    started = time.monotonic()

    def update(count: int) -> None:
        rate = count / max(time.monotonic() - started, 1e-6)
        progress.update(task, completed=count, rate=f"{rate:,.0f}/s")

    with progress:
        yield update


@app.command("import")
@reports_errors
def import_command(
    ctx: typer.Context,
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    file: Annotated[Path, typer.Argument(help="The hash list to import.")],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "auto",
    name: Annotated[
        str | None, typer.Option(help="Set name (default: the file name without extension).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help=KIND_HELP)] = None,
    category: Annotated[
        int | None,
        typer.Option(help="The set's category in the case's scheme, for entries without one."),
    ] = None,
    category_map: Annotated[
        Path | None,
        typer.Option(
            "--category-map",
            help='TOML file of `list_code = case_code` lines ("none" for no verdict): what '
            "the list's categories mean in this case, for a list in another scheme or with "
            "codes the case's scheme lacks.",
        ),
    ] = None,
) -> None:
    """Import a hash list as a new version of a set (replacing the older one), then match the
    case's files against it. A file that does not parse imports nothing."""
    from vigil.pipeline.hashset_flows import import_and_match, import_notes
    from vigil.store import CaseStore
    from vigil.store.video_lists import is_video_list

    console = Console(stderr=True)
    with CaseStore.open(case) as store:
        started = time.monotonic()
        with entry_progress(console, quiet=verbosity_of(ctx).quiet) as progress:
            outcome = import_and_match(
                store,
                file,
                fmt=fmt,
                name=name,
                kind=kind,
                category=category,
                category_map=category_map,
                on_progress=progress,
            )
        info = outcome.info
        videos = is_video_list(info)
        counted = (
            f"{info.entries:,} videos"
            if videos
            else f"{info.entries:,} entries, {info.pdq_entries:,} PDQ"
        )
        typer.echo(
            f"imported {info.name} version {info.version} ({info.format}, {info.kind}): "
            f"{counted}, {time.monotonic() - started:.1f} s"
        )
        for note in import_notes(outcome, store.scheme):
            typer.echo(note)
        typer.echo(video_match_line(outcome.summary) if videos else match_line(outcome.summary))


def list_codes(info: HashSetInfo, case_scheme: str) -> str:
    """How the set's own category codes read in the case."""
    from vigil.categories import describe_list_scheme

    named = describe_list_scheme(info.list_scheme)
    if info.category_map is not None:
        return f"{named}, mapped"
    if info.list_scheme in (None, case_scheme):
        return "case's own"
    return f"{named}, unmapped"


@app.command("list")
@reports_errors
def list_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    all_versions: Annotated[
        bool, typer.Option("--all", help="Also show replaced and removed versions.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the sets as one JSON object (stable fields).")
    ] = False,
) -> None:
    """The case's hash sets: name, version, kind, category, format, entries."""
    from vigil.store import CaseStore
    from vigil.store.hashsets import list_hashsets

    with CaseStore.open(case) as store:
        sets = list_hashsets(store, include_inactive=all_versions)
        scheme = store.scheme
    if as_json:
        typer.echo(json.dumps(hashsets_json(sets, scheme.name), indent=2, ensure_ascii=False))
        return
    table = Table(title_justify="left")
    columns = ("name", "version", "active", "kind", "category", "codes", "format", "entries", "PDQ")
    for column in columns:
        justify = "right" if column in ("version", "entries", "PDQ") else "left"
        table.add_column(column, justify=justify)
    table.add_column("imported")
    for info in sets:
        table.add_row(
            info.name,
            str(info.version),
            "yes" if info.active else "no",
            info.kind,
            "-" if info.category is None else f"{info.category} {scheme.label(info.category)}",
            list_codes(info, scheme.name),
            info.format,
            f"{info.entries:,}",
            f"{info.pdq_entries:,}",
            info.imported_at[:19].replace("T", " "),
        )
    if sets:
        Console(width=200).print(table)
    else:
        typer.echo("no hash sets")


def hashsets_json(sets: list[HashSetInfo], case_scheme: str) -> dict[str, Any]:
    """Every field of every set; `category_map` as an object (list code → case code or null)
    rather than the JSON text the store keeps."""
    rows = []
    for info in sets:
        row = dataclasses.asdict(info)
        if info.category_map is not None:
            row["category_map"] = json.loads(info.category_map)
        rows.append(row)
    return {"category_scheme": case_scheme, "hashsets": rows}


@app.command("remove")
@reports_errors
def remove_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    name: Annotated[str, typer.Argument(help="Name of the set to remove.")],
) -> None:
    """Remove a set and its matches; the files it matched get their category decided again."""
    from vigil.pipeline.hashset_flows import remove_and_redecide
    from vigil.store import CaseStore

    with CaseStore.open(case) as store:
        affected = remove_and_redecide(store, name)
    typer.echo(f"removed {name}; {len(affected):,} files re-resolved")
