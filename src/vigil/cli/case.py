"""`vigil case create|info`. The store is imported inside the commands: see cli/lazy.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vigil.cli.errors import reports_errors

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
    from vigil.store import CaseStore

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
    from vigil.store import CaseStore, case_summary

    with CaseStore.open(case) as store:
        summary = case_summary(store)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    print_summary(Console(), summary)


def print_summary(console: Console, summary: dict) -> None:
    from vigil.categories import SCHEMES

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
    if summary["runs"]:
        console.print("[bold]recent runs[/]")
    for run in summary["runs"]:
        # markup off: argv, host and user names are the user's and the OS's text
        console.print(run_text(run), markup=False, highlight=False)


def run_text(run: dict) -> str:
    """One run for `vigil case info`: what ran, how it ended, and what made it (provenance)."""
    lines = [
        f"run {run['id']} {run['status']}: {' '.join(run['argv'])}",
        f"  {run['started_at']} to {run['finished_at'] or '(not finished)'}",
    ]
    prov = run.get("provenance")
    if prov is None:
        return "\n".join([*lines, "  provenance: not recorded (a run from before Vigil kept it)"])
    given = prov["settings"]
    settings = {**given.get("limits", {}), **{k: v for k, v in given.items() if k != "limits"}}
    return "\n".join(
        [
            *lines,
            f"  by {prov['user']} on {prov['host']} ({prov['platform']})",
            f"  store: {prov['store']} ({prov['database']})",
            "  versions: " + ", ".join(f"{k} {v}" for k, v in prov["versions"].items()),
            "  settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()),
        ]
    )
