"""7z archives via py7zr: the header lists the members, then each folder (solid block) is
decompressed front to back in bounded chunks straight from the archive stream.

py7zr's public extraction API writes whole members to files or factory objects and refuses
hostile names, so members are read with the same per-folder decompressor it uses internally
(`Folder.get_decompressor`, its zstd stage replaced by `sevenzip_zstd`'s). Memory per member
is one chunk plus the decoder's dictionary; a member is never buffered whole. Members nobody
read are decompressed and discarded when the next member of the same folder is wanted (and
charged to the budget). The 7z header sits at the end of the file, so a truncated 7z lists
nothing: it raises "truncated archive".
"""

from __future__ import annotations

import lzma
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

import py7zr
import py7zr.exceptions
from py7zr.compressor import SupportedMethods

from vigil.errors import ArchiveError
from vigil.evidence.archive import (
    CHUNK,
    CORRUPT_ARCHIVE,
    CORRUPT_MEMBER,
    CRC_MISMATCH,
    ENCRYPTED_ARCHIVE,
    ENCRYPTED_MEMBER,
    LINK_TARGET_MAX,
    TRUNCATED,
    UNSUPPORTED_METHOD,
    Budget,
    ChecksumError,
    Member,
    Metered,
    entry_from_mode,
    read_limited,
)
from vigil.evidence.formats.sevenzip_binary import SevenZip, find_binary
from vigil.evidence.formats.sevenzip_zstd import folder_decompressor
from vigil.model import Entry, display_name

SIGNATURE = b"7z\xbc\xaf\x27\x1c"
METHOD_NAMES = {
    b"\x03\x03\x01\x1b": "BCJ2",
    b"\x0a": "ARM64",
    b"\x0b": "RISCV",
    b"\x03\x03\x08\x05": "SPARC",
    b"\x04\xf7\x11\x01": "ZSTD",
}
"""7-Zip's names for the method ids py7zr may not decode, for the record's reason."""
# py7zr's header parser and decoders raise many built-in types on malformed input.
_PY7ZR_ERRORS = (
    py7zr.exceptions.ArchiveError,
    py7zr.exceptions.PasswordRequired,
    lzma.LZMAError,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    struct.error,
    OverflowError,
    NotImplementedError,
    AssertionError,
)


class SevenZipFormat:
    name = "7z"
    mimes = ("application/x-7z-compressed",)

    def iter_members(self, stream: BinaryIO, *, name: bytes, budget: Budget) -> Iterator[Member]:
        start = stream.tell()
        exe = find_binary()
        sevenzip = SevenZip(exe, stream, start, budget) if exe else None
        try:
            try:
                archive = py7zr.SevenZipFile(stream, mode="r")
            except py7zr.exceptions.PasswordRequired as exc:
                raise ArchiveError(ENCRYPTED_ARCHIVE, "the header is encrypted") from exc
            except _PY7ZR_ERRORS as exc:
                reason = _why_unreadable(stream, start)
                if reason != CORRUPT_ARCHIVE:
                    raise ArchiveError(reason, str(exc)) from exc
                yield from _listed_by_7zip(sevenzip, budget, exc)
                return
            with archive:
                yield from _members(archive, stream, budget, sevenzip)
        finally:
            if sevenzip is not None:
                sevenzip.close()


def _why_unreadable(stream: BinaryIO, start: int) -> str:
    """TRUNCATED when the signature header points past the end of the file."""
    stream.seek(start)
    head = stream.read(32)
    if len(head) < 32 or not head.startswith(SIGNATURE):
        return TRUNCATED if SIGNATURE.startswith(head[:6]) and head else CORRUPT_ARCHIVE
    offset, size = struct.unpack_from("<QQ", head, 12)
    available = stream.seek(0, 2) - start
    return TRUNCATED if 32 + offset + size > available else CORRUPT_ARCHIVE


class _Folder:
    """One folder's decompressor, reading from its own position in the shared stream.
    `broken` is the reason its members cannot be read, once that is known."""

    def __init__(self, stream: BinaryIO, folder: Any, start: int, packsize: int, budget: Budget):
        self.folder = folder
        self._stream = stream
        self._pos = start
        self._decoder: Any = None
        self.broken: str | None = None
        self.unsupported = False
        try:
            self._decoder = folder_decompressor(folder, packsize)
        except py7zr.exceptions.UnsupportedCompressionMethodError:
            self.broken = UNSUPPORTED_METHOD
            self.unsupported = True
        except _PY7ZR_ERRORS:
            self.broken = CORRUPT_MEMBER
        self.metered = budget.meter(self.read, packed=self.consumed)

    def consumed(self) -> int:
        return int(self._decoder.consumed)

    def read(self, n: int) -> bytes:
        for _ in range(64):  # a decoder may consume input without output (headers, padding)
            self._stream.seek(self._pos)
            try:
                out = self._decoder.decompress(self._stream, n)
            except _PY7ZR_ERRORS as exc:
                raise ArchiveError(CORRUPT_MEMBER, f"{type(exc).__name__}: {exc}") from exc
            moved = self._stream.tell() != self._pos
            self._pos = self._stream.tell()
            if out:
                return bytes(out)
            if not moved:
                break
        raise ArchiveError(TRUNCATED, "folder data ends before its members")


class _MemberReader:
    def __init__(self, source: Metered, size: int, crc: int | None) -> None:
        self._source = source
        self._left = size
        self._crc = 0
        self._expected = crc

    def read(self, n: int) -> bytes:
        """The CRC is checked in the read after the last byte, so no byte is lost to it."""
        if self._left <= 0:
            if self._expected is not None and self._crc != self._expected:
                raise ChecksumError(CORRUPT_MEMBER, CRC_MISMATCH)
            return b""
        out = self._source.read(min(n, self._left, CHUNK))
        self._left -= len(out)
        self._crc = zlib.crc32(out, self._crc)
        return out

    def drain(self) -> None:
        """Decompress what was not read; a CRC mismatch of this member is not the folder's."""
        while self._left > 0 and self.read(CHUNK):
            pass


def _entry(f: Any) -> Entry:
    mode = f.st_fmt
    if mode:
        return entry_from_mode(mode)
    if f.is_directory:
        return Entry.DIRECTORY
    if f.is_symlink:
        return Entry.SYMLINK
    return Entry.MEMBER


def _methods(folder: Any) -> str:
    ids = [bytes(coder["method"]) for coder in folder.coders]
    return "+".join(METHOD_NAMES.get(i, f"0x{i.hex()}") for i in ids if i in METHOD_NAMES) or (
        "+".join(f"0x{i.hex()}" for i in ids)
    )


def _members(
    archive: py7zr.SevenZipFile, stream: BinaryIO, budget: Budget, sevenzip: SevenZip | None
) -> Iterator[Member]:
    """Members in header order. A folder py7zr has no decoder for is read by 7-Zip when it is
    installed (`sevenzip`), else each of its members says which method to install 7zip for."""
    streams = getattr(archive.header, "main_streams", None)
    folders = streams.unpackinfo.folders if streams is not None else []
    positions = streams.packinfo.packpositions if streams is not None else [0]
    index = {id(folder): i for i, folder in enumerate(folders)}
    current: _Folder | None = None
    previous: _MemberReader | None = None
    for f in archive.files:
        member = Member(
            name=f.filename.encode("utf-8", "surrogatepass"),
            entry=_entry(f),
            size=f.uncompressed,
            compressed_size=f.compressed,
            mtime=f.lastwritetime.totimestamp() if f.lastwritetime is not None else None,
        )
        folder = f.folder
        reader: _MemberReader | None = None
        if f.emptystream or folder is None:
            if member.entry is Entry.MEMBER:
                member._read = _empty
        elif SupportedMethods.needs_password(folder.coders):
            member.encrypted = True
            member.error = ENCRYPTED_MEMBER
        else:
            if current is None or current.folder is not folder:
                i = index[id(folder)]
                start = archive.afterheader + positions[i]
                current = _Folder(stream, folder, start, positions[i + 1] - positions[i], budget)
            elif previous is not None and not current.broken:
                try:
                    previous.drain()  # skip what was not read of the last member
                except ArchiveError as exc:
                    if exc.reason not in (TRUNCATED, CORRUPT_MEMBER):
                        raise
                    current.broken = exc.reason
            if current.unsupported and sevenzip is not None:
                metered = budget.meter(sevenzip.reader(f.filename).read, packed=f.compressed)
                reader = _MemberReader(metered, f.uncompressed, f.crc32)
                member._read = reader.read
            elif current.unsupported:
                method = _methods(folder)
                member.error = f"{UNSUPPORTED_METHOD} {method}: install 7zip to decode it"
            elif current.broken:
                member.error = current.broken
            else:
                reader = _MemberReader(current.metered, f.uncompressed, f.crc32)
                member._read = reader.read
        if reader is not None and member.entry is Entry.SYMLINK:
            _read_link(member, reader)
        previous = reader
        yield member


def _read_link(member: Member, reader: _MemberReader) -> None:
    """A 7z symlink's target is its content: read it now, the member has no bytes to hash."""
    member._read = None
    try:
        member.link_target = display_name(read_limited(reader.read, LINK_TARGET_MAX))
    except ArchiveError as exc:
        if exc.reason not in (TRUNCATED, CORRUPT_MEMBER):
            raise
        member.error = exc.reason


def _listed_by_7zip(
    sevenzip: SevenZip | None, budget: Budget, cause: Exception
) -> Iterator[Member]:
    """Members of an archive whose header py7zr cannot parse (`cause`), listed and read by
    7-Zip; valid archives with header blocks py7zr does not know end up here. When 7-Zip
    is missing or cannot list it either, the archive is corrupt, saying which and why."""
    if sevenzip is None:
        raise ArchiveError(
            CORRUPT_ARCHIVE, f"{cause}; install 7zip to try 7-Zip, which reads more headers"
        )
    listed = 0
    try:
        for fields in sevenzip.listing():
            listed += 1
            yield _listed_member(fields, sevenzip, budget)
    except ArchiveError as exc:
        if listed or exc.reason != CORRUPT_ARCHIVE:
            raise
        raise ArchiveError(CORRUPT_ARCHIVE, f"{cause}; {exc.detail}") from exc


_UNIX_TYPES = {"-": Entry.MEMBER, "d": Entry.DIRECTORY, "l": Entry.SYMLINK, "p": Entry.FIFO}
_UNIX_TYPES |= {"s": Entry.SOCKET, "c": Entry.DEVICE, "b": Entry.DEVICE}


def _listed_member(fields: dict[str, str], sevenzip: SevenZip, budget: Budget) -> Member:
    """A member from its `7zz l -slt` block: `Attributes` is "A -rw-r--r--" (Windows
    letters, then the Unix mode string when one is stored), `CRC` hex, `Modified` UTC."""
    name = fields.get("Path", "")
    windows, _, unix = fields.get("Attributes", "").partition(" ")
    entry = _UNIX_TYPES.get(unix[:1], Entry.OTHER) if unix else Entry.MEMBER
    if not unix and "D" in windows:
        entry = Entry.DIRECTORY
    size = int(fields.get("Size") or 0)
    packed = int(fields["Packed Size"]) if fields.get("Packed Size") else None
    member = Member(
        name=name.encode("utf-8", "surrogateescape"),
        entry=entry,
        size=size,
        compressed_size=packed,
        mtime=_utc(fields.get("Modified", "")),
    )
    if fields.get("Encrypted") == "+":
        member.encrypted = True
        member.error = ENCRYPTED_MEMBER
    elif entry in (Entry.MEMBER, Entry.SYMLINK) and size == 0:
        member._read = _empty if entry is Entry.MEMBER else None
    elif entry in (Entry.MEMBER, Entry.SYMLINK):
        crc = int(fields["CRC"], 16) if fields.get("CRC") else None
        metered = budget.meter(sevenzip.reader(name).read, packed=packed)
        reader = _MemberReader(metered, size, crc)
        member._read = reader.read
        if entry is Entry.SYMLINK:
            _read_link(member, reader)
    return member


def _utc(modified: str) -> float | None:
    """7-Zip's `2024-05-01 12:00:00.1234567` (in UTC, as listed here) as a timestamp."""
    try:
        moment = datetime.strptime(modified[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    fraction = float(f"0.{modified[20:]}") if modified[20:].isdigit() else 0.0
    return moment.replace(tzinfo=UTC).timestamp() + fraction


def _empty(n: int) -> bytes:
    return b""
