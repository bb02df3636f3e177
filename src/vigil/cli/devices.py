"""`vigil devices CASE [--format table|jsonl]`: every camera body the pictures name, with how
much of what it made is matched, decided or still unknown."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer


class DeviceFormat(enum.StrEnum):
    table = "table"
    jsonl = "jsonl"


def devices_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    fmt: Annotated[
        DeviceFormat, typer.Option("--format", help="Output format.")
    ] = DeviceFormat.table,
) -> None:
    """List every camera body seen, with its matched and unmatched pictures."""
    from rich.console import Console
    from rich.table import Table

    from vigil.store import CaseStore
    from vigil.triage.devices import list_devices

    with CaseStore.open(case) as store:
        devices = list_devices(store)
    if fmt is DeviceFormat.jsonl:
        for device in devices:
            sys.stdout.write(json.dumps(device, ensure_ascii=False) + "\n")
        return
    if not devices:
        Console().print("no picture names a camera")
        return
    table = Table(title="camera bodies", title_justify="left")
    for name in ("make", "model", "serial", "files", "unmatched", "matched", "first", "last"):
        table.add_column(
            name, justify="right" if name in ("files", "unmatched", "matched") else "left"
        )
    for d in devices:
        serial = d["serial"] or "(no serial: not one body)"
        flag = " [bold]also made matched material[/]" if d["also_matched"] else ""
        table.add_row(
            d["make"] or "",
            d["model"] or "",
            serial + flag,
            f"{d['files']:,}",
            f"{d['unmatched']:,}",
            f"{d['matched']:,}",
            d["first"] or "",
            d["last"] or "",
        )
    Console().print(table)
