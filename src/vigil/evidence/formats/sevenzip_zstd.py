"""The zstd stage of a 7z folder, in place of py7zr's own.

py7zr's zstd decoder falls short on three counts, each of which costs a member on real
archives: it ignores the output limit, so one block of input (a zstd bomb expands 30,000:1)
is decompressed whole into memory; it stops after the first zstd frame, while a zstd stream
may be several frames back to back (RFC 8878 §3, which multi-threaded writers produce), and
then fails with "already at the end of a frame"; and it refuses archives whose properties
name a newer zstd than the one installed, although the frame format is frozen. This stage
keeps the output within `max_length`, starts a new frame where one ends, and takes the
properties only for their length (3 or 5 bytes: major, minor, level[, reserved]).

`FolderDecompressor` is py7zr's folder decoder with only this stage swapped in; everything
else (filter chains, BCJ after zstd, CRC) is py7zr's.
"""

from __future__ import annotations

import sys
from typing import Any

from py7zr.compressor import FILTER_ZSTD, SevenZipDecompressor, SupportedMethods
from py7zr.exceptions import UnsupportedCompressionMethodError

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd  # a dependency of py7zr before Python 3.14


class ZstdStage:
    """zstd frames, one after another, never more than `max_length` bytes out per call."""

    def __init__(self, properties: bytes) -> None:
        if len(properties) not in (3, 5):
            raise UnsupportedCompressionMethodError(properties, "zstd takes 3 or 5 properties")
        self._frame = zstd.ZstdDecompressor()

    def decompress(self, data: bytes | bytearray | memoryview, max_length: int = -1) -> bytes:
        out = b""
        while True:
            if self._frame.eof:  # the next frame starts in what the last one left over
                data = self._frame.unused_data + bytes(data)
                if not data:
                    return out
                self._frame = zstd.ZstdDecompressor()
            want = -1 if max_length < 0 else max_length - len(out)
            out += self._frame.decompress(data, want)
            data = b""
            if not self._frame.eof or (max_length >= 0 and len(out) >= max_length):
                return out


class FolderDecompressor(SevenZipDecompressor):
    """py7zr's decoder for one folder, with `ZstdStage` for its zstd coder."""

    def _get_alternative_decompressor(
        self, coder: dict[str, Any], unpacksize: Any = None, password: Any = None
    ) -> Any:
        if SupportedMethods.get_filter_id(coder) == FILTER_ZSTD:
            return ZstdStage(bytes(coder.get("properties") or b""))
        return super()._get_alternative_decompressor(coder, unpacksize, password)


def folder_decompressor(folder: Any, packsize: int) -> FolderDecompressor:
    """What `Folder.get_decompressor(packsize, True)` builds, with `ZstdStage` inside."""
    return FolderDecompressor(
        folder.coders, packsize, folder.unpacksizes, folder.crc, folder.password
    )
