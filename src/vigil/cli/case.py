"""`vigil case create|info`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vigil.categories import SCHEMES
from vigil.cli.errors import reports_errors
from vigil.store import CaseStore, case_summary

app = typer.Typer(help="Create and describe cases.", no_args_is_help=True)


@app.command("create")
@reports_errors
def create_command(
    case: Annotated[Path, typer.Argument(help="Case folder (created if missing).")],
    name: Annotated[str | None, typer.Option(help="Human name of the case.")] = None,
    db: Annotated[
        str | None,
        typer.Option(help="postgresql://… to keep records on a server; default SQLite in CASE."),
    ] = None,
    scheme: Annotated[str, typer.Option(help="Category scheme: projectvic or uk.")] = "projectvic",
) -> None:
    """Create a case folder and its record store."""
    with CaseStore.create(case, name=name, db_url=db, scheme=scheme) as store:
        typer.echo(
            f"created case {store.meta().get('name') or case} (records: {store.describe_db()})"
        )


@app.command("info")
@reports_errors
def info_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Counts by kind and status, bytes, errors by reason."""
    with CaseStore.open(case) as store:
        summary = case_summary(store)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    print_summary(Console(), summary)


def print_summary(console: Console, summary: dict) -> None:
    console.print(f"[bold]{summary.get('name') or 'case'}[/] (created {summary.get('created_at')})")
    console.print(
        f"{summary['files']:,} records, {summary['bytes'] / 1e6:,.1f} MB, "
        f"{summary.get('unique_sha256', 0):,} distinct contents"
    )
    for title, key in (("kind", "by_kind"), ("status", "by_status")):
        table = Table(title=f"by {title}", title_justify="left")
        table.add_column(title)
        table.add_column("records", justify="right")
        for value, count in sorted(summary[key].items(), key=lambda kv: -kv[1]):
            table.add_row(str(value), f"{count:,}")
        console.print(table)
    scheme = SCHEMES.get(summary["category_scheme"])
    console.print(f"{summary['matched_files']:,} records match known material")
    if summary["by_category"]:
        table = Table(title=f"by category ({scheme.name})", title_justify="left")
        table.add_column("category")
        table.add_column("records", justify="right")
        for code, count in summary["by_category"].items():
            table.add_row(f"{code} {scheme.label(code)}", f"{count:,}")
        console.print(table)
    if summary["errors_by_reason"]:
        table = Table(title="errors and skips by reason", title_justify="left")
        table.add_column("reason")
        table.add_column("records", justify="right")
        for reason, count in sorted(summary["errors_by_reason"].items(), key=lambda kv: -kv[1]):
            table.add_row(reason, f"{count:,}")
        console.print(table)
