"""`vigil report CASE --format html|json -o PATH [--previews none|blurred]`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer


class ReportFormat(enum.StrEnum):
    html = "html"
    json = "json"


class Previews(enum.StrEnum):
    none = "none"
    blurred = "blurred"


def report_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", help="html: one page to read offline; json: the data."),
    ] = ReportFormat.html,
    previews: Annotated[
        Previews,
        typer.Option(
            help="none: no image pixels at all; blurred: small blurred greyscale previews of "
            "the priority queue's files, from the case's thumbnails (html only)."
        ),
    ] = Previews.none,
) -> None:
    """Write the case report: sources, counts, timeline, places, triage; nothing fetched."""
    from vigil.cli.queue import refresh_groups
    from vigil.config import load_settings
    from vigil.errors import ConfigError
    from vigil.reports.atomic import atomic_output
    from vigil.reports.case_data import gather
    from vigil.reports.case_report import blurred_previews, render_html, render_json
    from vigil.reports.triage_facts import triage_facts
    from vigil.store import CaseStore
    from vigil.triage.weights import load_weights

    if fmt is ReportFormat.json and previews is Previews.blurred:
        raise ConfigError("--previews blurred is for the html report; json carries no pixels")
    with CaseStore.open(case) as store:
        settings = load_settings(case)
        refresh_groups(store, settings)
        data = gather(store, triage_facts(store, settings, load_weights(case)))
        shown = blurred_previews(store, data) if previews is Previews.blurred else None
    text = render_json(data) if fmt is ReportFormat.json else render_html(data, shown)
    with atomic_output(output, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    typer.echo(f"wrote the {fmt} report of {data['totals']['files']:,} records to {output}")
