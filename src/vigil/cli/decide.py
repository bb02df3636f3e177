"""`vigil decide CASE (--sha256 H | --group G) --category N [--note TEXT]`: one human decision
applied to every file of a content or of a group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def decide_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    category: Annotated[
        int, typer.Option("--category", help="Category code in the case's scheme.")
    ],
    sha256: Annotated[
        str | None, typer.Option("--sha256", help="The content (SHA-256) decided on.")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option("--group", help="A group label from `vigil queue` or `vigil files`."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why, for the record.")] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who decides (default: the login name).")
    ] = None,
) -> None:
    """Record a category for a content or a whole group; it wins over matches, also later."""
    from vigil.store import CaseStore
    from vigil.triage.decisions import decide

    with CaseStore.open(case) as store:
        outcome = decide(store, category, sha256=sha256, group=group, note=note, by=by)
    typer.echo(
        f"{outcome.category} {outcome.label}: {outcome.contents:,} content(s) decided, "
        f"covering {outcome.files:,} file(s)"
    )
