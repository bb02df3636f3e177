"""The values that flow through the pipeline: locators, records, and the small enums they use.

Plain frozen/slotted dataclasses with no behaviour beyond formatting, so they pickle cheaply
between processes (and, later, Dask workers) and never drag a library object along.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Any

MEMBER_SEPARATOR = "!"
_FS_PART = 0xFFFF_FFFF
"""Length prefix that marks a `FsEntry` part in `Locator.raw` (no name is 4 GiB long)."""


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
    VOLUME = "volume"  # a partition or file system of a disk image that cannot be listed
    VIRTUAL = "virtual"  # file system metadata The Sleuth Kit shows as a file ($MBR, $FAT1)
    OTHER = "other"


def display_name(raw: bytes) -> str:
    """Text form of a raw file name: UTF-8, and every byte that is not valid UTF-8 as `\\xNN`."""
    return raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class FsEntry:
    """A file inside a disk image: the volume it lies on, its path in that volume's file
    system, and the file system's address of its metadata entry (inode, MFT entry), which
    reopens it even when its name is deleted or shared.

    `volume` is `p<N>` (the Nth allocated partition, in the order The Sleuth Kit lists the
    partition table), `fs` (a file system that fills the whole media), or `apfs<N>` /
    `p<K>.apfs<N>` (the Nth volume of an APFS container filling the media or in partition K);
    `offset` is where the volume (for APFS, its container) starts in the media, in bytes.
    `path` is `/`-separated without a leading `/`; empty for the volume itself. `inode` is
    None for the volume itself.
    """

    volume: str
    offset: int
    path: bytes = b""
    inode: int | None = None

    @property
    def text(self) -> str:
        return f"{self.volume}/{display_name(self.path)}" if self.path else self.volume

    @property
    def raw(self) -> bytes:
        volume = self.volume.encode()
        inode = -1 if self.inode is None else self.inode
        body = struct.pack(">H", len(volume)) + volume + struct.pack(">qq", self.offset, inode)
        body += self.path
        return struct.pack(">II", _FS_PART, len(body)) + body

    @classmethod
    def from_body(cls, body: bytes) -> FsEntry:
        (n,) = struct.unpack_from(">H", body)
        volume = body[2 : 2 + n].decode()
        offset, inode = struct.unpack_from(">qq", body, 2 + n)
        return cls(volume, offset, body[2 + n + 16 :], None if inode < 0 else inode)


Part = bytes | FsEntry
"""One step inside an item: an archive member's name, or a file in a disk image."""


def _part_text(part: Part) -> str:
    return part.text if isinstance(part, FsEntry) else display_name(part)


@dataclass(frozen=True, slots=True)
class Locator:
    """Provenance of one item: a path relative to its source, then the steps inside it,
    outermost first: archive members (raw names) and files of disk images (`FsEntry`). It is
    the item's audit trail, its dedupe key in the store and the way to reopen it.

    Names are raw bytes so that nothing is lost for names that are not UTF-8; `text` is the
    display form used in records (`outer.zip!inner/dir/x.jpg`, `disk.E01!p2/Users/x.jpg`).
    """

    relpath: bytes
    members: tuple[Part, ...] = ()

    def child(self, member: Part) -> Locator:
        return Locator(self.relpath, (*self.members, member))

    @property
    def name(self) -> bytes:
        """The innermost name: the member name inside an archive, the path inside a disk
        image, else the relative path."""
        if not self.members:
            return self.relpath
        last = self.members[-1]
        return last.path if isinstance(last, FsEntry) else last

    @property
    def depth(self) -> int:
        return len(self.members)

    @property
    def fs_entry(self) -> FsEntry | None:
        """The file of a disk image this item is (or lies in, for an archive member)."""
        return next((p for p in self.members if isinstance(p, FsEntry)), None)

    @property
    def top(self) -> bytes:
        """The key of the top-level task this item belongs to (its done-mark): the relative
        path, or for a file inside a disk image (and the members inside it), the raw locator
        of that file (relative paths never hold NUL, raw locators always start with one)."""
        for i, part in enumerate(self.members):
            if isinstance(part, FsEntry):
                return Locator(self.relpath, self.members[: i + 1]).raw
        return self.relpath

    @property
    def text(self) -> str:
        parts = (display_name(self.relpath), *(_part_text(p) for p in self.members))
        return MEMBER_SEPARATOR.join(parts)

    @property
    def raw(self) -> bytes:
        """Unambiguous bytes form: each part length-prefixed, since a hostile archive member
        name may contain any byte, NUL and `!` included; a disk-image part is marked by a
        length of 0xFFFFFFFF (then its own length and fields)."""
        return b"".join(
            p.raw if isinstance(p, FsEntry) else len(p).to_bytes(4, "big") + p
            for p in (self.relpath, *self.members)
        )

    @classmethod
    def from_raw(cls, raw: bytes) -> Locator:
        parts: list[Part] = []
        i = 0
        while i < len(raw):
            n = int.from_bytes(raw[i : i + 4], "big")
            if n == _FS_PART:
                (m,) = struct.unpack_from(">I", raw, i + 4)
                parts.append(FsEntry.from_body(raw[i + 8 : i + 8 + m]))
                i += 8 + m
                continue
            parts.append(raw[i + 4 : i + 4 + n])
            i += 4 + n
        first = parts[0]
        assert isinstance(first, bytes)
        return cls(first, tuple(parts[1:]))


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
    # Disk images: the image format that opens the item (`vigil.evidence.disk`); on a task
    # for the image file itself (the first segment) it also asks for its verification, and
    # "segment" marks a later segment (hashed as a file, never opened as anything).
    image_format: str | None = None
    deleted: bool = False  # a name the file system lists as deleted
    encrypted: bool = False  # an encrypted volume (recorded with `error`)
    mtime: float | None = None

    @property
    def top(self) -> bytes:
        """The done-mark key of this task (see `Locator.top`)."""
        return self.locator.top


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
    duration: float | None = None  # videos: seconds, as the container declares
    fps: float | None = None  # videos: the frame rate vPDQ numbers frames by
    codec: str | None = None  # videos: the first video stream's codec
    frames_hashed: int | None = None  # videos: vPDQ frame hashes made (0 when none decoded)
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
    deleted: bool = False  # listed by its file system as deleted (inside disk images)
    inode: int | None = None  # the file system's metadata address inside a disk image
    image: dict[str, Any] | None = None  # a disk image's format, hashes and verification
    # A video's vPDQ frames as (frame number, timestamp, quality, pdq hex), and the
    # convention that made them (`VpdqAlgorithm.convention`); stored once per content.
    frame_hashes: list[tuple[int, float, int, str]] = field(default_factory=list)
    vpdq_version: str | None = None

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
    "deleted",
    "inode",
    "duration",
    "fps",
    "codec",
    "frames_hashed",
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
