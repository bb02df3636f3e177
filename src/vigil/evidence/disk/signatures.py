"""Fixed-offset signatures of what can start a volume: partition tables, file systems and
encrypted containers. Only magic numbers are compared, nothing is parsed (The Sleuth Kit
reads the structures); they say whether a raw file is a disk at all, and why a volume whose
file system cannot be opened is unreadable.
"""

from __future__ import annotations

# (offset, magic, what) — checked in order on the first 64 KiB of a volume.
ENCRYPTED: tuple[tuple[int, bytes, str], ...] = (
    (3, b"-FVE-FS-", "BitLocker"),
    (0, b"LUKS\xba\xbe", "LUKS"),
    (0, b"SKUL\xba\xbe", "LUKS"),  # LUKS2 secondary header
    (88, b"CS", "FileVault 2 (Core Storage)"),
)

_FILE_SYSTEMS: tuple[tuple[int, bytes, str], ...] = (
    (3, b"NTFS    ", "NTFS"),
    (3, b"EXFAT   ", "exFAT"),
    (54, b"FAT1", "FAT"),
    (82, b"FAT32   ", "FAT"),
    (1080, b"\x53\xef", "ext"),
    (1024, b"H+\x00\x04", "HFS+"),
    (1024, b"HX\x00\x05", "HFSX"),
    (32, b"NXSB", "APFS"),
    (32769, b"CD001", "ISO9660"),
    (65536, b"_BHRfS_M", "Btrfs"),
    (0, b"XFSB", "XFS"),
)

_TABLES: tuple[tuple[int, bytes, str], ...] = (
    (512, b"EFI PART", "GPT"),
    (4096, b"EFI PART", "GPT"),  # 4 KiB sectors
    (510, b"\x55\xaa", "MBR"),
    (0, b"ER\x02\x00", "Apple partition map"),
    (0, b"ER\x08\x00", "Apple partition map"),
)


def _find(head: bytes, table: tuple[tuple[int, bytes, str], ...]) -> str | None:
    for offset, magic, what in table:
        if head[offset : offset + len(magic)] == magic:
            return what
    return None


def encryption(head: bytes) -> str | None:
    """The encryption scheme whose header starts this volume, if any. A FileVault 2 volume
    also needs Core Storage's version 1 at offset 88 + 2."""
    found = _find(head, ENCRYPTED)
    if found and found.startswith("FileVault") and head[90:92] != b"\x01\x00":
        return None
    return found


def file_system(head: bytes) -> str | None:
    return _find(head, _FILE_SYSTEMS)


def looks_like_raw_disk(head: bytes) -> bool:
    """True when a raw file starts like a disk or a volume: a partition table, a file
    system, or an encrypted container Vigil should record as such."""
    return bool(_find(head, _TABLES) or file_system(head) or encryption(head))
