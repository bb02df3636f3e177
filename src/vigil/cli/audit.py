"""`vigil audit verify|export`: prove the case's audit chain intact, or name where it breaks;
write it as JSONL for a tool outside Vigil to re-verify (`vigil.store.audit`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.errors import reports_errors

app = typer.Typer(
    help="Verify and export the case's tamper-evident audit log.", no_args_is_help=True
)


@app.command("verify")
@reports_errors
def verify_command(case: Annotated[Path, typer.Argument(help="Case folder.")]) -> None:
    """Check every entry's hash and link and that the log ends where its head says; a break
    names the first entry that does not verify and exits with the store error code (4)."""
    from vigil.errors import StoreError
    from vigil.store import CaseStore
    from vigil.store.audit import verify

    with CaseStore.open(case) as store:
        result = verify(store)
    if not result.ok:
        raise StoreError(f"audit log broken at entry {result.broken_id}: {result.reason}")
    typer.echo(f"intact: {result.entries:,} entries, last hash {result.last_hash}")


@app.command("export")
@reports_errors
def export_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    out: Annotated[
        Path | None,
        typer.Option("-o", "--output", dir_okay=False, help="Write here (default: stdout)."),
    ] = None,
) -> None:
    """Write every audit entry as one JSON object a line, fields exactly as stored."""
    from vigil.reports.atomic import atomic_output
    from vigil.store import CaseStore
    from vigil.store.audit import export_jsonl

    with CaseStore.open(case) as store:
        if out is None:
            export_jsonl(store, typer.get_text_stream("stdout"))
            return
        with atomic_output(out, "w", encoding="utf-8", newline="\n") as fh:
            count = export_jsonl(store, fh)
    typer.echo(f"wrote {count:,} audit entries to {out}")
