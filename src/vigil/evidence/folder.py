"""Walk a source folder (or a single file) into top-level tasks, never following links.

The walk is depth-first in byte-sorted name order, so two walks of the same tree yield the
same sequence; the resumable ingest relies on that only for predictable progress, not for
correctness (done items are looked up by path).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import EvidenceError
from vigil.model import Entry, Locator


@dataclass(frozen=True, slots=True)
class WalkItem:
    locator: Locator
    entry: Entry
    size: int
    link_target: str | None = None
    error: str | None = None  # set when the entry itself could not be examined or listed
    image_format: str | None = None  # see `Task.image_format`
    deleted: bool = False
    encrypted: bool = False
    mtime: float | None = None


@dataclass(frozen=True, slots=True)
class SourceRoot:
    """A SOURCE as given on the command line, resolved: the folder that paths are relative to,
    and for a single-file source the file's name inside it."""

    given: str
    root: str
    single: bytes | None

    @classmethod
    def resolve(cls, given: str) -> SourceRoot:
        path = Path(given)
        try:
            st = path.lstat()
        except OSError as exc:
            raise EvidenceError(f"source {given!r} cannot be read: {exc.strerror}") from exc
        absolute = Path(os.path.abspath(path))
        if stat.S_ISDIR(st.st_mode):
            return cls(given, str(absolute), None)
        return cls(given, str(absolute.parent), os.fsencode(absolute.name))


def open_read_only(path: bytes) -> int:
    """A file descriptor on evidence: read-only, never following a link, never blocking on a
    FIFO swapped in after the walk, and without touching the access time where the OS lets
    us."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    try:
        return os.open(path, flags | noatime)
    except PermissionError:
        if not noatime:
            raise
        return os.open(path, flags)


def _entry_kind(mode: int) -> Entry:
    if stat.S_ISREG(mode):
        return Entry.FILE
    if stat.S_ISLNK(mode):
        return Entry.SYMLINK
    if stat.S_ISFIFO(mode):
        return Entry.FIFO
    if stat.S_ISSOCK(mode):
        return Entry.SOCKET
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Entry.DEVICE
    if stat.S_ISDIR(mode):
        return Entry.DIRECTORY
    return Entry.OTHER


def examine(root: bytes, rel: bytes) -> WalkItem:
    """The walk's item for the entry `rel` below `root` (not followed if it is a link)."""
    full = os.path.join(root, rel)
    try:
        st = os.lstat(full)
    except OSError as exc:
        return WalkItem(Locator(rel), Entry.OTHER, 0, error=f"file vanished: {exc.strerror}")
    entry = _entry_kind(st.st_mode)
    target = None
    if entry is Entry.SYMLINK:
        try:
            target = os.fsdecode(os.readlink(full))
        except OSError as exc:
            return WalkItem(Locator(rel), entry, 0, error=f"cannot read link: {exc.strerror}")
    size = st.st_size if entry is Entry.FILE else 0
    return WalkItem(Locator(rel), entry, size, link_target=target)


def walk(source: SourceRoot) -> Iterator[WalkItem]:
    """Every entry below the source except directories that could be listed."""
    root = os.fsencode(source.root)
    if source.single is not None:
        yield examine(root, source.single)
        return
    stack: list[bytes] = [b""]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
                names = sorted(e.name for e in it)
        except OSError as exc:
            if rel_dir:
                yield WalkItem(
                    Locator(rel_dir),
                    Entry.DIRECTORY,
                    0,
                    error=f"cannot list directory: {exc.strerror}",
                )
                continue
            raise EvidenceError(f"source {source.given!r} cannot be listed: {exc}") from exc
        subdirs = []
        for name in names:
            rel = rel_dir + b"/" + name if rel_dir else name
            item = examine(root, rel)
            if item.entry is Entry.DIRECTORY and item.error is None:
                subdirs.append(rel)
            else:
                yield item
        stack.extend(reversed(subdirs))
