"""`vigil files CASE --format jsonl|csv`: one record per occurrence, streamed."""

from __future__ import annotations

import csv
import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from vigil.model import EXPORT_FIELDS


class FileFormat(enum.StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def files_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    fmt: Annotated[FileFormat, typer.Option("--format", help="Output format.")] = FileFormat.jsonl,
) -> None:
    """Print every record of the case."""
    from vigil.pipeline.matcher import matches_for
    from vigil.store import CaseStore, iter_files

    with CaseStore.open(case) as store:
        write_records(iter_files(store, matches=matches_for), fmt)


def write_records(rows, fmt: FileFormat, out=None) -> None:
    out = out or sys.stdout
    if fmt is FileFormat.jsonl:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        row = dict(row)
        for key in ("exif", "matches", "warnings"):
            row[key] = json.dumps(row[key], ensure_ascii=False)
        writer.writerow(row)
