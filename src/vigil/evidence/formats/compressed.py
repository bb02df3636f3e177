"""Single-stream gzip, bzip2 and xz files. When the decompressed data starts with a tar header
the members are the tar's; otherwise the file holds one member, named after the file without
its .gz/.bz2/.xz suffix (`<data>` when it has none).

Tar detection peeks at the first 10 KiB of decompressed data and then carries on with the same
decompressor, so nothing is decompressed twice. Concatenated streams (`cat a.gz b.gz`) are read
as one, as gzip does; zero padding and other data after the last stream is ignored.
"""

from __future__ import annotations

import bz2
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from vigil.config import MiB
from vigil.errors import ArchiveError
from vigil.evidence.archive import (
    CORRUPT_ARCHIVE,
    TRUNCATED,
    Budget,
    Member,
    MemberStream,
    Read,
    read_limited,
)
from vigil.evidence.formats.tar import iter_tar, looks_like_tar

XZ_MEMLIMIT = 1024 * MiB
"""xz streams whose decoder needs more memory than this (dictionary size) are refused."""
INPUT_CHUNK = 64 * 1024
PEEK = tarfile.RECORDSIZE + 1
UNNAMED = b"<data>"


@dataclass(frozen=True)
class CompressedFormat:
    name: str
    mimes: tuple[str, ...]
    suffixes: tuple[bytes, ...]
    magic: bytes
    new_decompressor: Callable[[], Any]

    def iter_members(self, stream: BinaryIO, *, name: bytes, budget: Budget) -> Iterator[Member]:
        start = stream.tell()
        packed_size = stream.seek(0, 2) - start
        stream.seek(start)
        source = Decompressed(stream, self)
        metered = budget.meter(source.read, packed=lambda: source.packed)
        head = read_limited(metered.read, PEEK)
        data = _prefixed(head, metered.read)
        if looks_like_tar(head) or _is_empty_tar(head):
            tar = cast(BinaryIO, MemberStream(data))
            yield from iter_tar(tar, budget=budget, meter_members=False)
        else:
            yield Member(name=self.inner_name(name), compressed_size=packed_size, _read=data)

    def inner_name(self, name: bytes) -> bytes:
        base = name.rsplit(b"/", 1)[-1]
        for suffix in self.suffixes:
            if base.lower().endswith(suffix) and len(base) > len(suffix):
                return base[: -len(suffix)]
        return UNNAMED


def _is_empty_tar(head: bytes) -> bool:
    """A tar with no members is one record of zeros (what tar and tarfile write)."""
    return 2 * tarfile.BLOCKSIZE <= len(head) <= tarfile.RECORDSIZE and not head.strip(b"\0")


def _prefixed(head: bytes, read: Read) -> Read:
    pending = memoryview(head)

    def _read(n: int) -> bytes:
        nonlocal pending
        if pending:
            out, pending = bytes(pending[:n]), pending[n:]
            return out
        return read(n)

    return _read


class Decompressed:
    """Decompressed bytes of `stream`, produced on demand in bounded chunks. `packed` counts
    the compressed bytes consumed so far (for the expansion ratio)."""

    def __init__(self, stream: BinaryIO, fmt: CompressedFormat) -> None:
        self._stream = stream
        self._fmt = fmt
        self._dec = fmt.new_decompressor()
        self._zlib = not hasattr(self._dec, "needs_input")
        self._pending = b""  # compressed input read but not yet given to the decompressor
        self._done = False
        self.packed = 0

    def _more(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        data = self._stream.read(INPUT_CHUNK)
        self.packed += len(data)
        return data

    def read(self, n: int) -> bytes:
        try:
            while not self._done:
                if self._dec.eof:
                    self._next_stream()
                    continue
                if self._zlib:
                    tail = self._dec.unconsumed_tail
                    data = tail or self._more()
                    starved = not tail and not data
                elif self._dec.needs_input:
                    data = self._more()
                    starved = not data
                else:
                    data, starved = b"", False
                out = self._dec.decompress(data, n)
                if out:
                    return cast(bytes, out)
                if starved and not self._dec.eof:
                    raise ArchiveError(TRUNCATED, f"{self._fmt.name} stream ends early")
        except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, RuntimeError) as exc:
            # RuntimeError: libbzip2's BZ_SEQUENCE_ERROR on some corrupt input
            raise ArchiveError(CORRUPT_ARCHIVE, f"{self._fmt.name}: {exc}") from exc
        return b""

    def _next_stream(self) -> None:
        """After one stream ends: start the next if one follows (skipping zero padding)."""
        rest = self._dec.unused_data
        magic = self._fmt.magic
        while True:
            rest = rest.lstrip(b"\0")
            if len(rest) >= len(magic):
                break
            more = self._more()
            if not more:
                break
            rest += more
        if rest.startswith(magic):
            self._dec = self._fmt.new_decompressor()
            self._pending = rest
        else:
            self._done = True


GZIP = CompressedFormat(
    "gzip",
    ("application/gzip", "application/x-gzip"),
    (b".gz",),
    b"\x1f\x8b",
    lambda: zlib.decompressobj(wbits=16 + zlib.MAX_WBITS),
)
BZIP2 = CompressedFormat("bzip2", ("application/x-bzip2",), (b".bz2",), b"BZh", bz2.BZ2Decompressor)
XZ = CompressedFormat(
    "xz",
    ("application/x-xz",),
    (b".xz",),
    b"\xfd7zXZ\x00",
    lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT),
)
