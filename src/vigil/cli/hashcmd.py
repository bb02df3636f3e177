"""`vigil hash FILE... [--format text|jsonl|vpdq]`: hash files without a case. `--format vpdq`
prints videos' vPDQ frame hashes in the reference's text form (archive members too)."""

from __future__ import annotations

import dataclasses
import enum
import io
import os
import sys
from collections.abc import Iterator
from typing import Annotated, BinaryIO

import typer

from vigil.cli.files import FileFormat, write_records
from vigil.config import Limits, load_settings
from vigil.errors import ArchiveError, ConfigError, EvidenceError, VigilError
from vigil.evidence.folder import walk
from vigil.model import Entry, Kind, Locator, Task, export_dict


class HashFormat(enum.StrEnum):
    text = "text"
    jsonl = "jsonl"
    vpdq = "vpdq"


def hash_command(
    files: Annotated[list[str], typer.Argument(help="Files (or folders) to hash.")],
    fmt: Annotated[HashFormat, typer.Option("--format", help="Output format.")] = HashFormat.text,
    every_frame: Annotated[
        bool, typer.Option("--every-frame", help="vpdq: hash every frame (seconds per hash 0).")
    ] = False,
    seconds_per_hash: Annotated[
        float | None,
        typer.Option(
            "--seconds-per-hash",
            help="vpdq: seconds between hashed frames (default 1; 0 = every frame).",
            min=0,
            max=3600,
        ),
    ] = None,
    downsample: Annotated[
        str | None,
        typer.Option(
            "--downsample", help="vpdq: scale frames to WxH before hashing (e.g. 128x128)."
        ),
    ] = None,
) -> None:
    """Print md5, sha1, sha256, pdq and pdq_quality of files (archive members too).

    With --format vpdq: the vPDQ hash of each video instead, as the reference's
    `frame,quality,pdq,timestamp` lines."""
    if fmt is HashFormat.vpdq:
        _vpdq_command(files, _algorithm(every_frame, seconds_per_hash, downsample))
        return
    if every_frame or seconds_per_hash is not None or downsample is not None:
        raise ConfigError("--every-frame, --seconds-per-hash and --downsample need --format vpdq")
    _files_command(files, fmt)


def _files_command(files: list[str], fmt: HashFormat) -> None:
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


def _algorithm(every_frame: bool, seconds: float | None, downsample: str | None):  # type: ignore[no-untyped-def]
    from vigil.hashing.vpdq import VpdqAlgorithm

    if every_frame and seconds not in (None, 0):
        raise ConfigError("--every-frame and --seconds-per-hash disagree: give one")
    size = None
    if downsample is not None:
        width, sep, height = downsample.lower().partition("x")
        if not (sep and width.isdigit() and height.isdigit()):
            raise ConfigError(f"--downsample wants WIDTHxHEIGHT, e.g. 128x128 (got {downsample!r})")
        size = (int(width), int(height))
    try:
        return VpdqAlgorithm(
            seconds_per_hash=0.0 if every_frame else (1.0 if seconds is None else seconds),
            downsample=size,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _vpdq_command(files: list[str], algorithm) -> None:  # type: ignore[no-untyped-def]
    """One video given: exactly the reference's lines. Several (or a folder or archive): each
    video's lines after a `# path` line. Reasons go to stderr; the exit code is 0 when some
    video was hashed, 1 when none was, 5 when a FILE could not be read."""
    from vigil.hashing.vpdq import lines
    from vigil.media.video import VideoError
    from vigil.pipeline.ingest import check_sources

    limits = load_settings().limits
    roots = []
    missing = 0
    for given in files:
        try:
            roots.extend(check_sources([given]))
        except EvidenceError as exc:
            typer.echo(f"vigil hash: {exc}", err=True)
            missing += 1
    single = len(files) == 1 and len(roots) == 1 and roots[0].single is not None
    hashed = 0
    for path, stream, explicit in _videos(roots, limits):
        if isinstance(stream, Exception):
            typer.echo(f"vigil hash: {path}: {stream}", err=True)
            continue
        try:
            result = algorithm.hash_stream(stream)
        except VideoError as exc:
            if explicit or exc.reason != "no video stream":
                typer.echo(f"vigil hash: {path}: {exc.message}", err=True)
            continue
        finally:
            stream.close()
        out = [] if single and not _is_archive(path) else [f"# {path}\n"]
        sys.stdout.writelines([*out, *lines(result.frames)])
        if result.reason:
            detail = f" ({result.outcome.detail})" if result.outcome.detail else ""
            typer.echo(
                f"vigil hash: {path}: {result.reason}{detail}: {len(result.frames)} frames "
                "hashed before it",
                err=True,
            )
        hashed += 1 if result.frames else 0
    if missing:
        raise typer.Exit(EvidenceError.exit_code)
    if not hashed:
        raise typer.Exit(VigilError.exit_code)


def _is_archive(path: str) -> bool:
    from vigil.model import MEMBER_SEPARATOR

    return MEMBER_SEPARATOR in path


def _videos(roots, limits: Limits) -> Iterator[tuple[str, BinaryIO | Exception, bool]]:  # type: ignore[no-untyped-def]
    """(display path, stream or why not, given explicitly) for each video under the roots:
    files sniffed as video, and video members of archives (nested up to archive_max_depth),
    whose bytes are held in memory up to member_max_bytes — never written to disk. A file
    given by name is tried whatever its content sniffs as."""
    from vigil.media.sniff import SNIFF_BYTES, sniff

    for root in roots:
        for item in walk(root):
            if item.entry is not Entry.FILE or item.error:
                continue
            path = os.path.join(os.fsencode(root.root), item.locator.relpath)
            display = item.locator.text
            try:
                fh = open(path, "rb")  # noqa: SIM115 - closed by the consumer
            except OSError as exc:
                yield display, OSError(f"cannot open: {exc.strerror}"), True
                continue
            head = fh.read(SNIFF_BYTES)
            fh.seek(0)
            mime, kind = sniff(head)
            if kind is Kind.ARCHIVE:
                with fh:
                    yield from _members(fh, mime, item.locator, limits)
            elif kind is Kind.VIDEO or root.single is not None:
                yield display, fh, root.single is not None
            else:
                fh.close()


def _read_up_to(stream: BinaryIO, limit: int) -> bytes:
    """Up to `limit` bytes: a member stream's read returns one chunk at a time."""
    parts, got = [], 0
    while got < limit and (chunk := stream.read(min(1 << 20, limit - got))):
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _members(
    stream: BinaryIO, mime: str, locator: Locator, limits: Limits
) -> Iterator[tuple[str, BinaryIO | Exception, bool]]:
    from vigil.evidence.archive import Budget, iter_archive
    from vigil.media.sniff import SNIFF_BYTES, sniff

    if locator.depth >= limits.archive_max_depth:
        return
    try:
        for member in iter_archive(stream, mime, name=locator.name, budget=Budget(limits)):
            if member.entry is not Entry.MEMBER or member.error:
                continue
            child = locator.child(member.name)
            try:
                with member.open() as fh:
                    data = _read_up_to(fh, limits.member_max_bytes + 1)
            except (ArchiveError, OSError, EOFError, ValueError) as exc:
                yield child.text, OSError(f"cannot read member: {exc}"), False
                continue
            if len(data) > limits.member_max_bytes:
                limit = limits.member_max_bytes
                yield child.text, OSError(f"larger than member_max_bytes ({limit})"), False
                continue
            inner_mime, kind = sniff(data[:SNIFF_BYTES])
            if kind is Kind.VIDEO:
                yield child.text, io.BytesIO(data), False
            elif kind is Kind.ARCHIVE:
                yield from _members(io.BytesIO(data), inner_mime, child, limits)
    except (ArchiveError, OSError, EOFError, ValueError) as exc:
        yield locator.text, OSError(f"cannot read archive: {exc}"), False
