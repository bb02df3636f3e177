"""Zip archives. Members are listed from the central directory with `zipfile` and streamed
from the archive; when the central directory is missing or unreadable (a truncated or damaged
zip) members are salvaged by scanning for local file headers instead.
"""

from __future__ import annotations

import bz2
import calendar
import contextlib
import copy
import lzma
import struct
import zipfile
import zlib
from collections.abc import Generator, Iterator
from typing import BinaryIO

from vigil.errors import ArchiveError
from vigil.evidence.archive import (
    CHUNK,
    CORRUPT_ARCHIVE,
    CORRUPT_MEMBER,
    CRC_MISMATCH,
    ENCRYPTED_MEMBER,
    LINK_TARGET_MAX,
    TRUNCATED,
    UNSUPPORTED_METHOD,
    Budget,
    ChecksumError,
    Member,
    entry_from_mode,
    guarded,
    read_limited,
)
from vigil.model import Entry, display_name

LOCAL_HEADER = b"PK\x03\x04"
DESCRIPTOR = b"PK\x07\x08"
_LOCAL = struct.Struct("<4sHHHHHLLLHH")
FLAG_ENCRYPTED = 0x1
FLAG_DESCRIPTOR = 0x8
FLAG_UTF8 = 0x800
UNICODE_PATH = 0x7075  # Info-ZIP Unicode Path extra field
UNIX = 3
SUPPORTED = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
SALVAGEABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2}
_OPEN_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    struct.error,
    LookupError,
    OverflowError,
    NotImplementedError,
)


class ZipFormat:
    name = "zip"
    mimes = ("application/zip", "application/x-zip-compressed")

    def iter_members(self, stream: BinaryIO, *, name: bytes, budget: Budget) -> Iterator[Member]:
        start = stream.tell()
        size = stream.seek(0, 2)
        stream.seek(start)
        try:
            zf = zipfile.ZipFile(stream)
        except _OPEN_ERRORS as exc:
            salvaged = yield from _salvage(stream, start, size, budget)
            reason = TRUNCATED if salvaged else CORRUPT_ARCHIVE
            detail = f"central directory unreadable ({exc}); {salvaged} members from local headers"
            raise ArchiveError(reason, detail) from exc
        with zf:
            for info in zf.infolist():
                yield _member(zf, stream, info, budget)


def _translate(exc: Exception) -> ArchiveError | None:
    if isinstance(exc, EOFError):
        return ArchiveError(TRUNCATED, str(exc) or "member data ends early")
    if isinstance(exc, NotImplementedError):
        return ArchiveError(UNSUPPORTED_METHOD, str(exc))
    if isinstance(exc, RuntimeError) and "password" in str(exc):  # zipfile: "… is encrypted"
        return ArchiveError(ENCRYPTED_MEMBER, str(exc))
    # RuntimeError otherwise: libbzip2's BZ_SEQUENCE_ERROR on some corrupt input
    corrupt = zipfile.BadZipFile | zlib.error | lzma.LZMAError | OSError | ValueError | RuntimeError
    if isinstance(exc, corrupt):
        return ArchiveError(CORRUPT_MEMBER, str(exc))
    return None


def _member(zf: zipfile.ZipFile, stream: BinaryIO, info: zipfile.ZipInfo, budget: Budget) -> Member:
    mode = info.external_attr >> 16 if info.create_system == UNIX else 0
    entry = Entry.DIRECTORY if info.filename.endswith("/") else entry_from_mode(mode)
    encrypted = bool(info.flag_bits & FLAG_ENCRYPTED)
    unicode_name = _unicode_path(info.extra, _raw_central_name(info))
    name = info.filename if unicode_name is None else unicode_name.split("\0", 1)[0]
    member = Member(
        name=name.encode("utf-8", "surrogateescape"),
        entry=entry,
        size=info.file_size,
        compressed_size=info.compress_size,
        encrypted=encrypted,
        mtime=_mtime(info.date_time, info.extra),
    )
    if encrypted:
        member.error = ENCRYPTED_MEMBER
    elif info.compress_type not in SUPPORTED:
        member.error = UNSUPPORTED_METHOD
    if member.error or entry not in (Entry.MEMBER, Entry.SYMLINK):
        return member
    opened = []

    def read(n: int) -> bytes:
        if not opened:
            reader = _ZipReader(zf.open(_reconciled(stream, info)), info.CRC)
            opened.append(budget.meter(guarded(reader.read, _translate), packed=reader.consumed))
        return opened[0].read(n)

    read = guarded(read, _translate)
    if entry is Entry.SYMLINK:  # the target is the member's content
        member.link_target = display_name(read_limited(read, LINK_TARGET_MAX))
    else:
        member._read = read
    return member


class _ZipReader:
    """zipfile's member stream, measured and checked our way: the ratio needs the compressed
    bytes really consumed (the declared size lies in bombs), and zipfile raises its CRC error
    in the read that decompresses the last bytes, losing them — here the mismatch is raised
    after every byte was delivered, so the member is still hashed."""

    def __init__(self, ext: zipfile.ZipExtFile, crc: int) -> None:
        self._ext = ext
        self._declared: int = ext._compress_left  # type: ignore[attr-defined]
        ext._expected_crc = None  # type: ignore[attr-defined]
        self._expected = crc
        self._crc = 0

    def consumed(self) -> int:
        return self._declared - int(self._ext._compress_left)  # type: ignore[attr-defined]

    def read(self, n: int) -> bytes:
        data = self._ext.read(n)
        if data:
            self._crc = zlib.crc32(data, self._crc)
        elif self._crc != self._expected:
            raise ChecksumError(CORRUPT_MEMBER, CRC_MISMATCH)
        return data


def _raw_central_name(info: zipfile.ZipInfo) -> bytes:
    """The central directory's name bytes, re-encoded exactly as zipfile decoded them."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & FLAG_UTF8 else "cp437")


def _unicode_path(extra: bytes, *raw_names: bytes) -> str | None:
    """The UTF-8 name of a version-1 Unicode Path field whose CRC-32 is that of one of
    `raw_names`. The spec ties the field to the header name it checksums: a field whose CRC
    does not match was left behind by a tool that renamed the entry, and is ignored."""
    crcs = {zlib.crc32(raw) for raw in raw_names}
    for field_id, data in _extra_fields(extra):
        version_1 = field_id == UNICODE_PATH and len(data) > 5 and data[0] == 1
        if version_1 and struct.unpack_from("<L", data, 1)[0] in crcs:
            try:
                return data[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def _readings(raw: bytes, extra: bytes, *checked: bytes) -> set[str]:
    """Every name a header's name bytes can stand for: read as CP437 and as UTF-8 (writers set
    or omit the UTF-8 flag freely), and the 0x7075 name if it checksums one of `checked`."""
    names = {raw.decode("cp437")}
    with contextlib.suppress(UnicodeDecodeError):
        names.add(raw.decode("utf-8"))
    unicode_name = _unicode_path(extra, *checked)
    return names if unicode_name is None else names | {unicode_name}


def _reconciled(stream: BinaryIO, info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """`info`, or a copy naming the local header's name as zipfile will decode it, when the
    two headers name the same entry in different encodings.

    zipfile refuses a member whose local name differs from the central one. Info-ZIP's zip 3.0
    and others write a name in one charset (CP437, the local one, or an ASCII placeholder) and
    the UTF-8 name in a 0x7075 field, not always the same way in both headers. The names agree
    when some reading of one — either encoding, or a 0x7075 field checksumming its header's
    name, or in the local header the central name — equals some reading of the other. Names
    that agree no way keep zipfile's refusal: that is a header mismatch worth an error.
    """
    header = _read_at(stream, info.header_offset, _LOCAL.size)
    if len(header) < _LOCAL.size or not header.startswith(LOCAL_HEADER):
        return info  # zipfile reports the bad header
    fields = _LOCAL.unpack(header)
    flags, nlen, xlen = fields[2], fields[9], fields[10]
    local_raw = stream.read(nlen)
    local_extra = stream.read(xlen)
    central_raw = _raw_central_name(info)
    if local_raw == central_raw:
        return info
    central = _readings(central_raw, info.extra, central_raw)
    if not central & _readings(local_raw, local_extra, local_raw, central_raw):
        return info
    try:
        local_name = local_raw.decode("utf-8" if flags & FLAG_UTF8 else "cp437")
    except UnicodeDecodeError:
        return info  # zipfile reports the undecodable name
    agreed = copy.copy(info)
    agreed.orig_filename = local_name
    return agreed


def _mtime(date_time: tuple[int, ...], extra: bytes) -> float | None:
    """UTC mtime from the extended-timestamp extra field, else the DOS date (local time of
    the machine that wrote it, taken as UTC)."""
    for field_id, data in _extra_fields(extra):
        if field_id == 0x5455 and len(data) >= 5 and data[0] & 1:
            return float(struct.unpack_from("<i", data, 1)[0])
    try:
        return float(calendar.timegm((*date_time, 0, 0, 0)))  # type: ignore[arg-type]
    except (ValueError, OverflowError, TypeError):
        return None


def _extra_fields(extra: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + 4 <= len(extra):
        field_id, length = struct.unpack_from("<HH", extra, pos)
        yield field_id, extra[pos + 4 : pos + 4 + length]
        pos += 4 + length


def _decode_name(raw: bytes, flags: int) -> bytes:
    """Same rules as zipfile (NUL ends the name; CP437 unless flagged UTF-8), but a flagged
    name that is not valid UTF-8 keeps its raw bytes instead of failing."""
    raw = raw.split(b"\0", 1)[0]
    return raw if flags & FLAG_UTF8 else raw.decode("cp437").encode("utf-8")


# --- salvage from local headers -------------------------------------------------------------


def _read_at(stream: BinaryIO, pos: int, n: int) -> bytes:
    stream.seek(pos)
    return stream.read(n)


def _find(stream: BinaryIO, needle: bytes, pos: int) -> int | None:
    """Offset of the next `needle` at or after `pos`, reading in bounded chunks."""
    while True:
        chunk = _read_at(stream, pos, CHUNK + len(needle) - 1)
        if len(chunk) < len(needle):
            return None
        hit = chunk.find(needle)
        if hit >= 0:
            return pos + hit
        pos += CHUNK


def _salvage(
    stream: BinaryIO, start: int, size: int, budget: Budget
) -> Generator[Member, None, int]:
    """Members found by scanning local headers from `start`; returns how many were yielded.

    Sizes come from the local header, or — with a data descriptor — from the end of the
    deflate/bzip2 stream, or for stored data from the descriptor whose size matches.
    Encrypted or unsupported members with unknown size are skipped by scanning on.
    """
    count = 0
    pos: int | None = start
    while (pos := _find(stream, LOCAL_HEADER, pos)) is not None:
        header = _read_at(stream, pos, _LOCAL.size)
        if len(header) < _LOCAL.size:
            break
        _, _, flags, method, dos_time, dos_date, crc, csize, usize, nlen, xlen = _LOCAL.unpack(
            header
        )
        name_raw = stream.read(nlen)
        extra = stream.read(xlen)
        if len(name_raw) < nlen or len(extra) < xlen:
            break
        data_start = pos + _LOCAL.size + nlen + xlen
        zip64 = False
        if 0xFFFFFFFF in (csize, usize):
            zip64, usize, csize = _zip64_sizes(extra, usize, csize)
        known = not flags & FLAG_DESCRIPTOR
        name = _decode_name(name_raw, flags)
        date_time = (
            (dos_date >> 9) + 1980,
            (dos_date >> 5) & 0xF,
            dos_date & 0x1F,
            dos_time >> 11,
            (dos_time >> 5) & 0x3F,
            (dos_time & 0x1F) * 2,
        )
        member = Member(
            name=name,
            entry=Entry.DIRECTORY if name.endswith(b"/") else Entry.MEMBER,
            size=usize if known else None,
            compressed_size=csize if known else None,
            encrypted=bool(flags & FLAG_ENCRYPTED),
            mtime=_mtime(date_time, extra),
        )
        next_pos = data_start + csize if known else data_start
        reader: _LocalReader | None = None
        if member.encrypted:
            member.error = ENCRYPTED_MEMBER
        elif method not in SALVAGEABLE:
            member.error = UNSUPPORTED_METHOD
        elif member.entry is Entry.MEMBER:
            end: int | None = data_start + csize if known else None
            if method == zipfile.ZIP_STORED and not known:
                end = _stored_end(stream, data_start, zip64)
                if end is None:
                    member.error = TRUNCATED
            if member.error is None:
                reader = _LocalReader(stream, data_start, end, method, crc if known else None)
                reader.descriptor = not known
                reader.zip64 = zip64
        metered = None
        if reader is not None:
            metered = budget.meter(reader.read, packed=reader.consumed)
            member._read = metered.read
        yield member
        count += 1
        if metered is not None and reader is not None:
            if not known:  # the data's end is only known once it has been decompressed
                try:
                    metered.drain()
                except ArchiveError as exc:
                    if exc.reason not in (TRUNCATED, CORRUPT_MEMBER):
                        raise
                    break
            next_pos = reader.next_header if reader.next_header is not None else data_start
        pos = max(next_pos, pos + len(LOCAL_HEADER))
    return count


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[bool, int, int]:
    for field_id, data in _extra_fields(extra):
        if field_id == 0x0001:
            values = list(struct.unpack_from(f"<{len(data) // 8}Q", data))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            return True, usize, csize
    return False, usize, csize


def _stored_end(stream: BinaryIO, data_start: int, zip64: bool) -> int | None:
    """End of stored data followed by a data descriptor: the first descriptor signature whose
    compressed size equals the distance from the data's start."""
    record_format = struct.Struct("<4xLQ" if zip64 else "<4xLL")
    found: int | None = data_start
    while (found := _find(stream, DESCRIPTOR, found)) is not None:
        record = _read_at(stream, found, record_format.size)
        distance = found - data_start
        if len(record) == record_format.size and record_format.unpack(record)[1] == distance:
            return found
        found += 1
    return None


class _LocalReader:
    """Bytes of one member found by a local header, decompressed on demand."""

    def __init__(
        self, stream: BinaryIO, start: int, end: int | None, method: int, crc: int | None
    ) -> None:
        self._stream = stream
        self._pos = start
        self._end = end
        self._dec: zlib._Decompress | bz2.BZ2Decompressor | None = (
            None
            if method == zipfile.ZIP_STORED
            else zlib.decompressobj(-zlib.MAX_WBITS)
            if method == zipfile.ZIP_DEFLATED
            else bz2.BZ2Decompressor()
        )
        self._crc = 0
        self._expected_crc = crc
        self._done = False
        self.packed = 0
        self.descriptor = False
        self.zip64 = False
        self.next_header: int | None = None

    def consumed(self) -> int:
        return self.packed

    def _raw(self, n: int) -> bytes:
        if self._end is not None:
            n = min(n, self._end - self._pos)
            if n <= 0:
                return b""
        data = _read_at(self._stream, self._pos, n)
        self._pos += len(data)
        self.packed += len(data)
        return data

    def read(self, n: int) -> bytes:
        if self._done:
            return b""
        try:
            out = self._next(n)
        except (zlib.error, OSError, EOFError, ValueError, RuntimeError) as exc:
            raise ArchiveError(CORRUPT_MEMBER, str(exc)) from exc
        self._crc = zlib.crc32(out, self._crc)
        return out

    def _next(self, n: int) -> bytes:
        dec = self._dec
        if dec is None:
            out = self._raw(n)
            if not out:
                self._finish(self._pos)
            return out
        while not dec.eof:
            if isinstance(dec, bz2.BZ2Decompressor):
                data = self._raw(CHUNK) if dec.needs_input else b""
                starved = dec.needs_input and not data
            else:
                data = dec.unconsumed_tail or self._raw(CHUNK)
                starved = not data
            out = dec.decompress(data, n)
            if out:
                return out
            if starved and not dec.eof:
                raise self._early_end()
        self._finish(self._pos - len(dec.unused_data))
        return b""

    def _early_end(self) -> ArchiveError:
        if self._end is not None and self._pos >= self._end:
            return ArchiveError(CORRUPT_MEMBER, "compressed stream longer than its size")
        return ArchiveError(TRUNCATED, "member data ends early")

    def _finish(self, end: int) -> None:
        self._done = True
        if self._end is not None and end < self._end and self._dec is None:
            raise ArchiveError(TRUNCATED, "member data ends early")
        self.next_header = end
        expected = self._expected_crc
        if self.descriptor:
            fmt = "<LQQ" if self.zip64 else "<LLL"
            record = _read_at(self._stream, end, 4 + struct.calcsize(fmt))
            if record.startswith(DESCRIPTOR) and len(record) == 4 + struct.calcsize(fmt):
                expected = struct.unpack_from(fmt, record, 4)[0]
                self.next_header = end + len(record)
        if expected is not None and expected != self._crc:
            raise ChecksumError(CORRUPT_MEMBER, CRC_MISMATCH)
