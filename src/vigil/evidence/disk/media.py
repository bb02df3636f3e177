"""Disk images as random-access media: the `ImageFormat` contract, `Media` (an opened image:
its size, positioned reads and the hashes it stores) and the read-only opening of segment
files. The formats themselves are read by libyal's maintained libraries (`formats.py`).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, BinaryIO, Protocol

from vigil.errors import ItemError
from vigil.evidence.folder import open_read_only

# Short, stable reasons (before the first ": " in a record's error).
UNREADABLE_IMAGE = "unreadable disk image"
UNSUPPORTED_IMAGE = "unsupported disk image"
ENCRYPTED_IMAGE = "encrypted disk image"
MISSING_LIBRARY = "disk image library missing"
DAMAGED_DATA = "damaged image data"


class ImageError(ItemError):
    """A disk image (or one of its segments) cannot be opened or read."""


class Handle(Protocol):
    """What Vigil uses of a libyal handle (pyewf.handle, pyvmdk.handle, pyvhdi.file …)."""

    def read_buffer_at_offset(self, size: int, offset: int) -> bytes: ...

    def get_media_size(self) -> int: ...

    def close(self) -> None: ...


@dataclass
class Media:
    """An opened disk image. Reads are positioned (`read(offset, n)`), so one `Media` serves
    every file system on it in turn. Close it (a context manager) to close its segment files.

    `stored` are the hashes of the media the image itself records (E01's acquisition MD5 and
    SHA-1), lower-case names and hex; `info` the acquisition metadata worth keeping (case
    number, examiner, acquisition date …); `damaged`, for a format that checksums its chunks
    (EWF), gives the (offset, length) of those that failed in what was read so far; `problem`
    what the format found wrong with the image as a whole on opening (an EWF segment set
    without its end), which its record must carry."""

    format: str
    handle: Handle
    files: list[BinaryIO]
    segments: list[bytes]
    size: int
    stored: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    damaged: Callable[[], list[tuple[int, int]]] | None = None
    problem: str | None = None

    def read(self, offset: int, n: int, *, damaged_ok: bool = False) -> bytes:
        """`n` bytes at `offset` (fewer at the end). A read that touches a chunk that failed
        its checksum raises OSError (libewf gives zeros for it) unless `damaged_ok`: the
        verification reads through, and reports every such chunk."""
        if offset >= self.size or n <= 0:
            return b""
        n = min(n, self.size - offset)
        data = self._read(offset, n)
        if not damaged_ok and self.damaged is not None:
            hit = [(o, k) for o, k in self.damaged() if o < offset + n and offset < o + k]
            if hit:
                where = ", ".join(f"{o}-{o + k - 1}" for o, k in hit)
                raise OSError(
                    f"{DAMAGED_DATA}: bytes {where} of the image fail their checksum "
                    "(the library reads them as zeros)"
                )
        return data

    def _read(self, offset: int, n: int) -> bytes:
        try:
            return self.handle.read_buffer_at_offset(n, offset)
        except Exception as exc:  # libyal raises IOError with its own message
            raise OSError(f"cannot read {n} bytes at offset {offset} of the image: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a handle that failed to open has nothing to close
            self.handle.close()
        for f in self.files:
            f.close()
        self.files = []

    def __enter__(self) -> Media:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Readable(Protocol):
    size: int

    def read(self, offset: int, n: int) -> bytes: ...


class MediaFile:
    """The media as the file object libyal's bindings read (read, seek, tell, get_size): the
    `size` bytes from byte `start` of the media (a partition, or all of it); a read past the
    media's real end finds nothing."""

    def __init__(self, media: Readable, size: int | None = None, start: int = 0) -> None:
        self._media = media
        self._start = start
        self._size = media.size - start if size is None else size
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        n = self._size - self._pos if n < 0 else min(n, self._size - self._pos)
        data = self._media.read(self._start + self._pos, n)
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def get_size(self) -> int:
        return self._size


class ImageFormat(Protocol):
    """One disk-image format. `name` is persisted (in tasks and the `disk_images` table).

    `starts_image` looks at a file name only (no I/O), so a folder walk asks it of every
    file cheaply: is this the first segment of an image of this format? `recognise` then
    checks the content signature. `segments` finds every segment file of the image (the
    first one first); `open` reads them, read-only, into a `Media`.
    """

    name: str

    def starts_image(self, name: bytes) -> bool: ...

    def recognise(self, f: BinaryIO) -> bool: ...

    def segments(self, path: bytes) -> list[bytes]: ...

    def open(self, segments: Sequence[bytes]) -> Media: ...

    def library_version(self) -> str: ...


def open_segment(path: bytes) -> BinaryIO:
    """A segment file opened as evidence (read-only, no link followed, no atime); anything
    but a regular file is refused, so a hostile descriptor cannot point a reader at a FIFO
    or a device."""
    try:
        fd = open_read_only(path)
    except OSError as exc:
        raise ImageError(
            UNREADABLE_IMAGE, f"cannot open segment {os.fsdecode(path)!r}: {exc.strerror}"
        ) from exc
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise ImageError(UNREADABLE_IMAGE, f"segment {os.fsdecode(path)!r} is not a regular file")
    os.set_blocking(fd, True)
    return f


def open_segments(paths: Sequence[bytes]) -> list[BinaryIO]:
    files: list[BinaryIO] = []
    try:
        for path in paths:
            files.append(open_segment(path))
    except BaseException:
        for f in files:
            f.close()
        raise
    return files


def head_of(path: bytes, n: int = 65536) -> bytes:
    """The first `n` bytes of a file, read as evidence; b"" when it cannot be read."""
    try:
        with open_segment(path) as f:
            return f.read(n)
    except (ImageError, OSError):
        return b""


_PACKAGES = {
    "pyewf": "libewf-python",
    "pyvmdk": "libvmdk-python",
    "pyvhdi": "libvhdi-python",
    "pyqcow": "libqcow-python",
    "pyvsmbr": "libvsmbr-python",
    "pyvsgpt": "libvsgpt-python",
    "pyfsapfs": "libfsapfs-python",
}


def library(module: str) -> ModuleType:
    """A libyal binding, imported when first needed; missing, an ImageError saying what to
    install (the image gets an error record, the run goes on)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImageError(
            MISSING_LIBRARY, f"{module} cannot be imported ({exc}): pip install {_PACKAGES[module]}"
        ) from exc
