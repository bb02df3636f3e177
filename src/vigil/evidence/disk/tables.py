"""Partition entries read by libyal's libvsmbr and libvsgpt, where The Sleuth Kit refuses a
table whole or drops entries without a word: one MBR entry past the end of the media makes TSK
refuse the MBR (losing the sound partitions with it), and TSK's GPT reader skips entries it
cannot place. What the entries point at is opened by TSK as usual.
"""

from __future__ import annotations

from typing import Any

from vigil.evidence.disk.media import MediaFile, Readable, library

# What libvsgpt is told the media holds when it refuses the real size (below): the most a
# file object can claim to it (its sizes are signed 64-bit).
UNBOUNDED = (1 << 63) - 1

Entry = tuple[int, int, str]
"""(offset, size in bytes, description) of one partition entry."""


def _open(module: str, media: Readable, size: int | None = None) -> Any:
    """The library's volume over the media; OSError where it refuses it (libyal's, with its
    own message; a read of damaged media raises one too)."""
    volume = library(module).volume()
    volume.open_file_object(MediaFile(media, size))
    return volume


def _partitions(volume: Any) -> list[Any]:
    return [volume.get_partition(i) for i in range(volume.number_of_partitions)]


def _entry(media: Readable, partition: Any, what: str) -> Entry:
    offset, size = partition.volume_offset, partition.size
    end = offset + size
    past = f", ends at byte {end}, past the {media.size}-byte image" if end > media.size else ""
    return offset, size, what + past


def mbr_entries(media: Readable) -> tuple[list[Entry], str | None]:
    """The partitions of an MBR, as libvsmbr lists them: the primary ones and the logical
    ones of an extended partition (not the extended partition itself), in the table's order,
    wherever they point; none where the media has no MBR signature, or only a FAT boot
    sector's (libvsmbr tells one from an MBR).

    libvsmbr refuses a table whole where an extended partition lies past the end of the media
    or holds no extended boot record, losing the sound primary entries with it: then no
    entries, and what libvsmbr said."""
    try:
        if not library("pyvsmbr").check_volume_signature_file_object(MediaFile(media)):
            return [], None
        volume = _open("pyvsmbr", media)
    except OSError as exc:
        return [], str(exc)
    entries = [
        _entry(media, p, f"MBR type 0x{p.type:02x}")
        for p in _partitions(volume)
        if p.size  # an entry of no sectors is not a partition
    ]
    return entries, None


def gpt_entries(media: Readable) -> tuple[list[Entry], str | None]:
    """The used entries of the media's GPT, as libvsgpt lists them, in the table's order;
    or none, and what libvsgpt said where it refuses the table.

    libvsgpt refuses a whole table when one entry lies past the end of the media it reads,
    so where it refuses the media as it is, it is told the media is `UNBOUNDED` (and finds
    nothing past the real end): then it lists every entry, and those past the end say so.
    That second reading cannot fall back on the backup table at the media's real end; the
    first can. libvsgpt does not give an entry's name, so an entry is described by its
    index in the table and its type."""
    try:
        volume = _open("pyvsgpt", media)
    except OSError:
        try:
            volume = _open("pyvsgpt", media, UNBOUNDED)
        except OSError as exc:
            return [], str(exc)
    entries = [
        _entry(media, p, f"GPT entry {p.entry_index}, type {p.type_identifier}")
        for p in _partitions(volume)
    ]
    return entries, None
