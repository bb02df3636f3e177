"""`vigil hash FILE... [--format text|jsonl]`: hash files without a case."""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Iterator
from typing import Annotated

import typer

from vigil.cli.files import FileFormat, write_records
from vigil.config import load_settings
from vigil.errors import EvidenceError
from vigil.evidence.folder import walk
from vigil.model import Task, export_dict


class HashFormat(enum.StrEnum):
    text = "text"
    jsonl = "jsonl"


def hash_command(
    files: Annotated[list[str], typer.Argument(help="Files (or folders) to hash.")],
    fmt: Annotated[HashFormat, typer.Option("--format", help="Output format.")] = HashFormat.text,
) -> None:
    """Print md5, sha1, sha256, pdq and pdq_quality of files (archive members too)."""
    from vigil.pipeline.ingest import check_sources
    from vigil.pipeline.worker import process_task

    # Window hashes are for matching in a case; this command does not print them.
    limits = dataclasses.replace(load_settings().limits, pdq_windows=0)
    missing = 0

    def rows() -> Iterator[dict]:
        nonlocal missing
        for given in files:
            try:
                (root,) = check_sources([given])
            except EvidenceError as exc:
                typer.echo(f"vigil hash: {exc}", err=True)
                missing += 1
                continue
            for item in walk(root):
                task = Task(
                    0, root.root, item.locator, item.entry, item.size, item.link_target, item.error
                )
                for record in process_task(task, limits):
                    yield export_dict(record, given)

    if fmt is HashFormat.jsonl:
        write_records(rows(), FileFormat.jsonl)
    else:
        for row in rows():
            fields = [row[k] or "-" for k in ("md5", "sha1", "sha256", "pdq")]
            quality = "-" if row["pdq_quality"] is None else str(row["pdq_quality"])
            note = f"  [{row['status']}: {row['error']}]" if row["error"] else ""
            sys.stdout.write("  ".join([*fields, quality, row["path"]]) + note + "\n")
    if missing:
        # The others are hashed; the code still says a FILE could not be read.
        raise typer.Exit(EvidenceError.exit_code)
