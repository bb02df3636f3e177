"""Tar archives, read front to back in tarfile's streaming mode: one header at a time, no
member list kept, link and special members recorded but never followed or read. Also reads
the tar inside a gzip/bzip2/xz stream for `formats.compressed`.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import BinaryIO

from vigil.errors import ArchiveError
from vigil.evidence.archive import (
    CORRUPT_ARCHIVE,
    CORRUPT_MEMBER,
    TRUNCATED,
    Budget,
    Member,
    Metered,
    guarded,
)
from vigil.model import Entry, display_name

BLOCK = tarfile.BLOCKSIZE
_HEADER_ERRORS = (tarfile.TarError, EOFError, OSError, ValueError, OverflowError, LookupError)


class TarFormat:
    name = "tar"
    mimes = ("application/x-tar",)

    def iter_members(self, stream: BinaryIO, *, name: bytes, budget: Budget) -> Iterator[Member]:
        return iter_tar(stream, budget=budget, meter_members=True)


def looks_like_tar(head: bytes) -> bool:
    """True when the first block is a tar header with a valid checksum."""
    if len(head) < BLOCK:
        return False
    try:
        tarfile.TarInfo.frombuf(head[:BLOCK], "utf-8", "surrogateescape")
    except _HEADER_ERRORS:
        return False
    return True


def iter_tar(source: BinaryIO, *, budget: Budget, meter_members: bool) -> Iterator[Member]:
    """Members of the tar read sequentially from `source`.

    `meter_members`: charge the budget for member bytes read (plain tars). A decompressed
    source is metered as a whole by its caller instead, so that skipped data counts too.
    Ends with `ArchiveError("truncated archive")` when the data stops before the
    end-of-archive marker, and ("corrupt archive") at a header that is not one.
    """
    try:
        tf = tarfile.open(  # noqa: SIM115 - closed by the `with` below, once it yields
            fileobj=source, mode="r|", encoding="utf-8", errors="surrogateescape"
        )
        info = tf.next()  # the first header, already read by open()
    except ArchiveError:
        raise
    except _HEADER_ERRORS as exc:
        reason = TRUNCATED if "truncated" in str(exc) else CORRUPT_ARCHIVE
        raise ArchiveError(reason, f"not a readable tar: {exc}") from exc
    with tf:
        while info is not None:
            member = _member(tf, info, budget, meter_members)
            yield member
            info = _next_header(tf)


def _next_header(tf: tarfile.TarFile) -> tarfile.TarInfo | None:
    """tarfile.next() without its leniency: it takes a truncated or corrupt header for the
    end of the archive, and keeps every header it has read in a list."""
    offset = tf.offset
    try:
        if offset != tf.fileobj.tell():  # skip what the reader left of the last member
            tf.fileobj.seek(offset - 1)
            if not tf.fileobj.read(1):
                raise ArchiveError(TRUNCATED, f"member data ends before offset {offset}")
        return tarfile.TarInfo.fromtarfile(tf)
    except tarfile.EOFHeaderError:
        return None  # a zero block: the end-of-archive marker
    except tarfile.EmptyHeaderError as exc:
        raise ArchiveError(TRUNCATED, f"no end-of-archive marker at offset {offset}") from exc
    except tarfile.TruncatedHeaderError as exc:
        raise ArchiveError(TRUNCATED, f"header cut short at offset {offset}") from exc
    except ArchiveError:
        raise
    except _HEADER_ERRORS as exc:
        raise ArchiveError(CORRUPT_ARCHIVE, f"bad header at offset {offset}: {exc}") from exc


def _entry(info: tarfile.TarInfo) -> Entry:
    if info.isreg():
        return Entry.MEMBER
    if info.isdir():
        return Entry.DIRECTORY
    if info.issym():
        return Entry.SYMLINK
    if info.isfifo():
        return Entry.FIFO
    if info.ischr() or info.isblk():
        return Entry.DEVICE
    if info.islnk():
        return Entry.HARDLINK
    return Entry.OTHER  # GNU volume labels, unknown types


def _translate(exc: Exception) -> ArchiveError | None:
    if isinstance(exc, tarfile.ReadError | EOFError):
        return ArchiveError(TRUNCATED, str(exc))
    if isinstance(exc, _HEADER_ERRORS):
        return ArchiveError(CORRUPT_MEMBER, str(exc))
    return None


def _member(tf: tarfile.TarFile, info: tarfile.TarInfo, budget: Budget, meter: bool) -> Member:
    entry = _entry(info)
    member = Member(
        name=info.name.encode("utf-8", "surrogateescape"),
        entry=entry,
        size=info.size if entry is Entry.MEMBER else None,
        link_target=(
            display_name(info.linkname.encode("utf-8", "surrogateescape"))
            if info.issym() or info.islnk()
            else None
        ),
        mtime=float(info.mtime) if isinstance(info.mtime, int | float) else None,
    )
    if entry is not Entry.MEMBER:
        return member
    opened: list[Metered | BinaryIO] = []

    def read(n: int) -> bytes:
        if not opened:
            fileobj = tf.extractfile(info)
            if fileobj is None:  # pragma: no cover - isreg() members always have data
                return b""
            raw = guarded(fileobj.read, _translate)
            sparse = getattr(info, "sparse", None)
            packed = sum(length for _, length in sparse) if sparse else None
            opened.append(budget.meter(raw, packed=packed) if meter else fileobj)
        return opened[0].read(n)

    member._read = guarded(read, _translate)
    return member
