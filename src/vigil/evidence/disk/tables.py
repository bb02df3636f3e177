"""Partition entries read by Vigil itself, where The Sleuth Kit refuses a table whole or
drops entries without a word: one MBR entry past the end of the media makes TSK refuse the
MBR (losing the sound partitions with it), and TSK's GPT reader skips entries it cannot
place. Only the fixed-size entries are decoded; what they point at is opened by TSK as usual.
"""

from __future__ import annotations

import struct
from typing import Protocol

SECTOR = 512  # an MBR's unit
GPT_MAX_ENTRIES = 1024  # a hostile header cannot make Vigil read more

_MBR_ENTRY = struct.Struct("<B3sB3sII")  # status, CHS first, type, CHS last, LBA, sectors
_GPT_HEADER = struct.Struct("<8s64xQII")  # signature, …, entries' LBA, count, entry size
_GPT_ENTRY = struct.Struct("<16s16sQQ8s72s")  # type, unique id, first, last LBA, flags, name


class Readable(Protocol):
    size: int

    def read(self, offset: int, n: int) -> bytes: ...


Entry = tuple[int, int, str]
"""(offset, size in bytes, description) of one partition entry."""


def _past(media: Readable, end: int) -> str:
    return f", ends at byte {end}, past the {media.size}-byte image" if end > media.size else ""


def mbr_entries(media: Readable) -> list[Entry]:
    """The four primary entries of an MBR, as they stand. Entries whose status byte is not
    0x00 or 0x80 are boot code, not partitions (a FAT boot sector also ends in 55 AA)."""
    try:
        sector = media.read(0, SECTOR)
    except OSError:
        return []
    if len(sector) < SECTOR or sector[510:512] != b"\x55\xaa":
        return []
    found = []
    for i in range(4):
        status, _, kind, _, first, count = _MBR_ENTRY.unpack_from(sector, 446 + 16 * i)
        if status in (0x00, 0x80) and kind and count:
            end = (first + count) * SECTOR
            found.append(
                (first * SECTOR, count * SECTOR, f"MBR type 0x{kind:02x}{_past(media, end)}")
            )
    return found


def gpt_entries(media: Readable, block: int) -> list[Entry]:
    """The used entries of the GPT whose header is at block 1 (at most `GPT_MAX_ENTRIES`)."""
    try:
        header = media.read(block, _GPT_HEADER.size)
        if len(header) < _GPT_HEADER.size:
            return []
        magic, lba, count, size = _GPT_HEADER.unpack(header)
        if magic != b"EFI PART" or size < _GPT_ENTRY.size:
            return []
        count = min(count, GPT_MAX_ENTRIES)
        table = media.read(lba * block, count * size)
    except OSError:
        return []
    found = []
    for i in range(len(table) // size):
        kind, _, first, last, _, name = _GPT_ENTRY.unpack_from(table, i * size)
        if kind == bytes(16):
            continue
        label = name.decode("utf-16-le", "replace").split("\0", 1)[0] or "GPT entry"
        length = max(last - first + 1, 0) * block
        found.append((first * block, length, f"{label}{_past(media, first * block + length)}"))
    return found
