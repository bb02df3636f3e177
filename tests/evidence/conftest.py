"""Archives built in memory for the archive tests: plain bytes and text only."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import py7zr
import pytest

from vigil.config import Limits
from vigil.errors import ArchiveError
from vigil.evidence.archive import Budget, Member, iter_archive
from vigil.model import Entry

MIME = {
    "zip": "application/zip",
    "tar": "application/x-tar",
    "7z": "application/x-7z-compressed",
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
}


class _Unseekable(io.RawIOBase):
    """Makes zipfile write data descriptors (it cannot seek back to patch sizes)."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self.buffer.write(data)

    def flush(self) -> None:
        pass


def make_zip(
    entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    descriptors: bool = False,
) -> bytes:
    target: io.RawIOBase | io.BytesIO = _Unseekable() if descriptors else io.BytesIO()
    with zipfile.ZipFile(target, "w", compression) as zf:  # type: ignore[arg-type]
        for name, data in entries:
            zf.writestr(name, data)
    return (target.buffer if isinstance(target, _Unseekable) else target).getvalue()


def make_tar(
    entries: Iterable[tuple[str | tarfile.TarInfo, bytes | None]], compression: str = ""
) -> bytes:
    out = io.BytesIO()
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(fileobj=out, mode=mode, format=tarfile.GNU_FORMAT) as tf:  # type: ignore[call-overload]
        for name, data in entries:
            info = name if isinstance(name, tarfile.TarInfo) else tarfile.TarInfo(name)
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return out.getvalue()


def make_7z(
    entries: Iterable[tuple[str, bytes]],
    *,
    password: str | None = None,
    header_encryption: bool = False,
    filters: list[dict[str, int]] | None = None,
) -> bytes:
    """py7zr refuses to write traversal names, so those are written as same-length
    placeholders into an unencoded header and patched afterwards (CRCs recomputed)."""
    out = io.BytesIO()
    patches = []
    with py7zr.SevenZipFile(
        out, "w", password=password, header_encryption=header_encryption, filters=filters
    ) as sz:
        for i, (name, data) in enumerate(entries):
            stored = name
            if ".." in name or name.startswith(("/", "\\")):
                stored = f"{i:0{len(name)}d}"
                patches.append((stored, name))
                sz.set_encoded_header_mode(False)
            sz.writestr(data, stored)
    raw = bytearray(out.getvalue())
    for stored, name in patches:
        old, new = stored.encode("utf-16-le"), name.encode("utf-16-le")
        assert raw.count(old) == 1
        raw = raw.replace(old, new)
    if patches:
        offset, size = struct.unpack_from("<QQ", raw, 12)
        struct.pack_into("<L", raw, 28, zlib.crc32(raw[32 + offset : 32 + offset + size]))
        struct.pack_into("<L", raw, 8, zlib.crc32(raw[12:32]))
    return bytes(raw)


@dataclass
class Seen:
    """What a test sees of one member: listing fields plus content or the read error."""

    name: bytes
    entry: Entry
    content: bytes | None
    error: str | None
    member: Member


def read_all(
    data: bytes | io.BytesIO,
    kind: str,
    *,
    name: bytes = b"archive",
    budget: Budget | None = None,
) -> tuple[list[Seen], ArchiveError | None]:
    """Every member with its content (or the reason it could not be read, or the ratio
    verdict on what was read), and the error the archive as a whole ended with, if any."""
    stream = data if isinstance(data, io.BytesIO) else io.BytesIO(data)
    budget = budget or Budget(Limits())
    seen: list[Seen] = []
    try:
        for member in iter_archive(stream, MIME[kind], name=name, budget=budget):
            content, error = None, member.error
            if member.error is None and member.entry is Entry.MEMBER:
                budget.take_verdict()
                try:
                    content = member.open().read()
                except ArchiveError as exc:
                    error = exc.reason
                verdict = budget.take_verdict()  # the ratio flags what was read
                error = error or (verdict.reason if verdict else None)
            seen.append(Seen(member.name, member.entry, content, error, member))
    except ArchiveError as exc:
        return seen, exc
    return seen, None


@pytest.fixture
def small_limits() -> Limits:
    return Limits(archive_max_total_bytes=8 * 1024 * 1024, archive_max_ratio=50)


@dataclass(frozen=True)
class Builders:
    zip = staticmethod(make_zip)
    tar = staticmethod(make_tar)
    sevenzip = staticmethod(make_7z)
    read_all = staticmethod(read_all)


@pytest.fixture
def build() -> Builders:
    """Archive builders and `read_all`, as a fixture (test modules do not import conftest)."""
    return Builders()
