"""The values that flow through the pipeline: locators, records, and the small enums they use.

Plain frozen/slotted dataclasses with no behaviour beyond formatting, so they pickle cheaply
between processes (and, later, Dask workers) and never drag a library object along.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

MEMBER_SEPARATOR = "!"


class Kind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    ARCHIVE = "archive"
    DOCUMENT = "document"
    OTHER = "other"


class Status(enum.StrEnum):
    OK = "ok"
    ERROR = "error"
    SKIPPED = "skipped"


class Entry(enum.StrEnum):
    """What the directory entry (or archive member) was, before any content was read."""

    FILE = "file"
    SYMLINK = "symlink"
    FIFO = "fifo"
    SOCKET = "socket"
    DEVICE = "device"
    DIRECTORY = "directory"  # only recorded when it cannot be listed
    MEMBER = "member"  # a regular member of an archive
    HARDLINK = "hardlink"  # a tar hard link: recorded with its target, never read
    OTHER = "other"


def display_name(raw: bytes) -> str:
    """Text form of a raw file name: UTF-8, and every byte that is not valid UTF-8 as `\\xNN`."""
    return raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class Locator:
    """Provenance of one item: a path relative to its source, then archive members, outermost
    first. It is the item's audit trail, its dedupe key in the store and the way to reopen it.

    Names are raw bytes so that nothing is lost for names that are not UTF-8; `text` is the
    display form used in records (`outer.zip!inner/dir/x.jpg`).
    """

    relpath: bytes
    members: tuple[bytes, ...] = ()

    def child(self, member: bytes) -> Locator:
        return Locator(self.relpath, (*self.members, member))

    @property
    def name(self) -> bytes:
        """The innermost name: the member name inside an archive, else the relative path."""
        return self.members[-1] if self.members else self.relpath

    @property
    def depth(self) -> int:
        return len(self.members)

    @property
    def text(self) -> str:
        return MEMBER_SEPARATOR.join(display_name(p) for p in (self.relpath, *self.members))

    @property
    def raw(self) -> bytes:
        """Unambiguous bytes form: each part length-prefixed, since a hostile archive member
        name may contain any byte, NUL and `!` included."""
        return b"".join(len(p).to_bytes(4, "big") + p for p in (self.relpath, *self.members))

    @classmethod
    def from_raw(cls, raw: bytes) -> Locator:
        parts, i = [], 0
        while i < len(raw):
            n = int.from_bytes(raw[i : i + 4], "big")
            parts.append(raw[i + 4 : i + 4 + n])
            i += 4 + n
        return cls(parts[0], tuple(parts[1:]))


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of work for a worker: a top-level entry of a source, as the walker saw it.

    `root` is the absolute path of the source folder (or of the single file's parent), so a
    worker on another machine that mounts the same evidence can open it.
    """

    source_id: int
    root: str
    locator: Locator
    entry: Entry
    size: int
    link_target: str | None = None
    error: str | None = None  # the walker could not examine the entry; recorded as is


@dataclass(slots=True)
class FileRecord:
    """Everything Vigil learns about one occurrence of one item.

    Field names match the `vigil files` output; fields after `category` are internal
    (kept in the store, not all exported).
    """

    locator: Locator
    source_id: int = 0
    size: int | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    mime: str | None = None
    kind: Kind = Kind.OTHER
    status: Status = Status.OK
    error: str | None = None
    width: int | None = None
    height: int | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    exif: dict[str, Any] = field(default_factory=dict)
    category: int | None = None
    warnings: list[str] = field(default_factory=list)  # decoder chatter, per file
    # internal
    entry: Entry = Entry.FILE
    pdq_dihedral: tuple[str, ...] = ()
    pdq_windows: str | None = None  # vigil.hashing.windows text form: "label:hex,…"
    pdq_version: str | None = None  # vigil.hashing.conventions: how pdq was made
    windows_version: str | None = None  # … and pdq_windows
    link_target: str | None = None
    encrypted: bool = False
    mtime: float | None = None
    thumbnail: bytes | None = None  # JPEG bytes; the writer stores them in the case folder

    @property
    def path(self) -> str:
        return self.locator.text

    def fail(self, status: Status | str, reason: str) -> FileRecord:
        """Mark this record failed; keeps the first reason if it already failed."""
        if self.status == Status.OK:
            self.status = Status(status)
            self.error = reason
        return self


EXPORT_FIELDS = (
    "source",
    "path",
    "size",
    "md5",
    "sha1",
    "sha256",
    "mime",
    "kind",
    "status",
    "error",
    "width",
    "height",
    "pdq",
    "pdq_quality",
    "exif",
    "matches",
    "category",
    "category_source",
    "state",
    "review_reason",
    "group",
    "warnings",
)


def export_dict(record: FileRecord, source: str) -> dict[str, Any]:
    """The `vigil files` / `vigil hash` shape of a record (field order is part of the format)."""
    values = {
        "source": source,
        "path": record.path,
        "kind": record.kind.value,
        "status": record.status.value,
        "matches": [],
        # outside a case there is no verdict and no group
        "category_source": None,
        "state": None,
        "review_reason": None,
        "group": None,
    }
    return {f: values[f] if f in values else getattr(record, f) for f in EXPORT_FIELDS}
