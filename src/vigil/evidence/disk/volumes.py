"""The volumes of an opened disk image, found by The Sleuth Kit (pytsk3): the partitions of
an MBR, GPT, Apple, BSD or Sun partition table, or one file system filling the media; and the
volumes of an APFS container among them, found by libyal's libfsapfs (pyfsapfs).

Each volume gets a stable label (`p1`, `p2` … in the table's order; `fs` without a table;
`apfs1`, `apfs2` … for the volumes of an APFS container filling the media, `p2.apfs1` … for
those of one in partition p2) and either a file system that opens or a `problem`: encrypted
(BitLocker, LUKS, FileVault, a locked APFS volume), a file system neither library reads, a
damaged one, or none recognised.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from vigil.evidence.disk.media import MISSING_LIBRARY, ImageError, Media, MediaFile, library
from vigil.evidence.disk.signatures import encryption, file_system
from vigil.evidence.disk.tables import Entry, gpt_entries, mbr_entries

# Short, stable reasons of volume records.
ENCRYPTED_VOLUME = "encrypted volume"
UNSUPPORTED_FS = "unsupported file system"
NO_FILE_SYSTEM = "no file system recognised"
CORRUPT_FS = "corrupt file system"
OUTSIDE_MEDIA = "partition outside the image"
UNREADABLE_VOLUME = "unreadable volume"
TRUNCATED_FS = "truncated file system"

APFS = "APFS"
APFS_CONTAINER = "APFS container"  # `file_system` of a container, before it is expanded
_APFS_LABEL = re.compile(r"(?:^|\.)apfs([1-9][0-9]*)$")

HEAD = 69632  # the signatures need the first 68 KiB of a volume

FS_NAMES = {
    "NTFS": "NTFS",
    "FAT12": "FAT12",
    "FAT16": "FAT16",
    "FAT32": "FAT32",
    "EXFAT": "exFAT",
    "EXT2": "ext2",
    "EXT3": "ext3",
    "EXT4": "ext4",
    "HFS": "HFS+",
    "ISO9660": "ISO9660",
    "FFS1": "UFS1",
    "FFS1B": "UFS1b",
    "FFS2": "UFS2",
    "YAFFS2": "YAFFS2",
}


def tsk() -> ModuleType:
    try:
        return importlib.import_module("pytsk3")
    except ImportError as exc:
        raise ImageError(
            MISSING_LIBRARY, f"pytsk3 cannot be imported ({exc}): pip install pytsk3"
        ) from exc


def tsk_message(exc: BaseException) -> str:
    """pytsk3's messages start with its C source location; keep what TSK said."""
    text = str(exc).strip()
    return text.split(": ", 1)[1] if text.startswith(("Volume_Info", "FS_Info", "File")) else text


def tsk_image(media: Media) -> Any:
    """A pytsk3 image reading from `media` (the libyal handle), as dfvfs and plaso do.

    A read the media fails (a missing or truncated segment) returns no bytes, so TSK fails
    with its own OSError: an exception raised inside pytsk3's callback would come out as a
    RuntimeError no caller expects. `read_error` keeps the media's reason for the records."""
    pytsk3 = tsk()

    class _Image(pytsk3.Img_Info):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.read_error: str | None = None
            super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

        def read(self, offset: int, size: int) -> bytes:
            try:
                return media.read(offset, size)
            except OSError as exc:
                self.read_error = str(exc)
                return b""

        def get_size(self) -> int:
            return media.size

        def close(self) -> None:
            pass

    return _Image()


@dataclass(frozen=True, slots=True)
class Volume:
    label: str
    offset: int
    size: int
    description: str
    file_system: str | None = None  # what The Sleuth Kit opened it as
    problem: str | None = None  # why its files are not listed: "REASON: detail"
    encrypted: bool = False
    warning: str | None = None  # why some of its listed files may not be readable

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "offset": self.offset,
            "size": self.size,
            "description": self.description,
            "file_system": self.file_system,
            "problem": self.problem,
            "encrypted": self.encrypted,
            "warning": self.warning,
        }


def partitions(media: Media, image: Any) -> tuple[list[Volume], str | None]:
    """The allocated partitions of the media's partition table (labels p1, p2 …), and the
    table's type, with why some of it may be unlisted; ([], None) when there is no table."""
    pytsk3 = tsk()
    table = None
    refused = ""
    for vstype in (pytsk3.TSK_VS_TYPE_DETECT, pytsk3.TSK_VS_TYPE_GPT, pytsk3.TSK_VS_TYPE_DOS):
        try:
            table = pytsk3.Volume_Info(image, vstype)
        except OSError as exc:
            refused = tsk_message(exc)  # DOS's, tried last, is what mbr_entries stands in for
            continue  # "multiple volume systems" (a hybrid MBR) resolves to GPT, then DOS
        if not _protective(table):
            break  # a lone protective MBR means TSK's detection missed a (damaged) GPT
    if table is None:
        entries, said = mbr_entries(media)
        why = f"The Sleuth Kit refused it: {refused}"
        if said is not None:  # libvsmbr refused it too: the media reads as one volume
            return [], f"DOS ({why}; so did libvsmbr: {said})"
        if not entries:
            return [], None
        return _labelled(entries), f"DOS ({why}; entries as libvsmbr lists them)"
    block = table.info.block_size
    found = [
        (part.start * block, part.len * block, _text(part.desc) or "partition")
        for part in table
        if part.flags & pytsk3.TSK_VS_PART_FLAG_ALLOC
    ]
    kinds = {
        int(getattr(pytsk3, f"TSK_VS_TYPE_{k}")): k for k in ("DOS", "GPT", "MAC", "BSD", "SUN")
    }
    kind = kinds.get(int(table.info.vstype), str(table.info.vstype))
    if kind == "GPT":  # the entries TSK skipped follow its own, each to get its reason
        listed = {offset for offset, _size, _what in found}
        entries, said = gpt_entries(media)
        found += [e for e in entries if e[0] not in listed]
        if said is not None:
            kind = f"GPT (libvsgpt refused it, so no entry TSK skipped is listed: {said})"
    return _labelled(found), kind


def _labelled(entries: list[Entry]) -> list[Volume]:
    return [Volume(f"p{i}", *entry) for i, entry in enumerate(entries, 1)]


def _protective(table: Any) -> bool:
    allocated = [p for p in table if p.flags & tsk().TSK_VS_PART_FLAG_ALLOC]
    return bool(allocated) and all(b"(0xee)" in p.desc for p in allocated)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def open_volume(media: Media, image: Any, volume: Volume) -> tuple[Volume, Any]:
    """The volume with its file system opened (`file_system` set), or with `problem` set and
    None. Never raises for what the image contains."""
    pytsk3 = tsk()
    if volume.offset >= media.size:
        problem = f"{OUTSIDE_MEDIA}: starts at byte {volume.offset} of a {media.size}-byte image"
        return _with(volume, problem=problem), None
    try:
        head = media.read(volume.offset, min(HEAD, volume.size))
    except OSError as exc:
        return _with(volume, problem=f"{UNREADABLE_VOLUME}: {exc}"), None
    scheme = encryption(head)
    if scheme is not None:
        problem = f"{ENCRYPTED_VOLUME}: {scheme} (no key: its files are not listed)"
        return _with(volume, problem=problem, encrypted=True), None
    if file_system(head) == APFS:  # The Sleuth Kit (as pytsk3 builds it) has no APFS
        return _apfs_container(media, volume)
    image.read_error = None
    try:
        fs = pytsk3.FS_Info(image, offset=volume.offset)
    except OSError as exc:
        if image.read_error is not None:  # TSK's "cannot determine" would hide the cause
            return _with(volume, problem=f"{UNREADABLE_VOLUME}: {image.read_error}"), None
        return _with(volume, problem=_fs_problem(head, tsk_message(exc))), None
    names = {int(getattr(pytsk3, f"TSK_FS_TYPE_{k}")): v for k, v in FS_NAMES.items()}
    name = names.get(int(fs.info.ftype))
    if name is None:
        return _with(volume, problem=f"{UNSUPPORTED_FS}: The Sleuth Kit type {fs.info.ftype}"), None
    claimed = int(fs.info.block_count) * int(fs.info.block_size)
    holds = min(volume.size, media.size - volume.offset)
    warning = None
    if claimed > holds:
        warning = (
            f"{TRUNCATED_FS}: {name} of {claimed} bytes, the image holds {holds} from its "
            "start; what lies past that cannot be read"
        )
    return _with(volume, file_system=name, warning=warning), fs


def _fs_problem(head: bytes, message: str) -> str:
    seen = file_system(head)
    if seen in ("Btrfs", "XFS"):
        return f"{UNSUPPORTED_FS}: {seen} (The Sleuth Kit does not read it)"
    if seen is not None:
        return f"{CORRUPT_FS}: looks like {seen}, but The Sleuth Kit cannot open it ({message})"
    return f"{NO_FILE_SYSTEM}: unknown content, possibly encrypted or wiped ({message})"


def open_container(media: Media, offset: int, size: int) -> Any:
    """libfsapfs's container over `size` bytes of the media from `offset`; OSError (with
    libfsapfs's message) where it refuses it."""
    container = library("pyfsapfs").container()
    container.open_file_object(MediaFile(media, size, offset))
    return container


def _apfs_container(media: Media, volume: Volume) -> tuple[Volume, Any]:
    try:
        container = open_container(media, volume.offset, volume.size)
    except ImageError as exc:  # pyfsapfs missing: said on this volume, the others go on
        return _with(volume, problem=exc.message), None
    except OSError as exc:
        problem = (
            f"{CORRUPT_FS}: looks like an APFS container, but libfsapfs cannot open it ({exc})"
        )
        return _with(volume, problem=problem), None
    claimed = int(container.size)
    holds = min(volume.size, media.size - volume.offset)
    warning = None
    if claimed > holds:  # each of its volumes says so, before its files
        warning = (
            f"{TRUNCATED_FS}: APFS container of {claimed} bytes, the image holds {holds} from "
            "its start; what lies past that cannot be read"
        )
    return _with(volume, file_system=APFS_CONTAINER, warning=warning), container


def apfs_label(container: str, index: int) -> str:
    """The label of volume `index` (from 0) of the APFS container labelled `container`."""
    return f"apfs{index + 1}" if container == "fs" else f"{container}.apfs{index + 1}"


def apfs_index(label: str) -> int | None:
    """The index in its container of the APFS volume labelled `label`; None for a volume
    The Sleuth Kit reads."""
    found = _APFS_LABEL.search(label)
    return None if found is None else int(found.group(1)) - 1


def container_volumes(container_volume: Volume, container: Any) -> Iterator[tuple[Volume, Any]]:
    """Each volume of an opened APFS container, as a volume of the image located at the
    container (its `offset` and `size`), with libfsapfs's volume or a problem."""
    try:
        count = int(container.number_of_volumes)
    except OSError as exc:
        problem = f"{CORRUPT_FS}: APFS container whose volumes libfsapfs cannot count ({exc})"
        yield _with(container_volume, file_system=None, problem=problem), None
        return
    if not count:
        problem = f"{NO_FILE_SYSTEM}: the APFS container holds no volume"
        yield _with(container_volume, file_system=None, problem=problem), None
        return
    for index in range(count):
        label = apfs_label(container_volume.label, index)
        base = _with(container_volume, label=label, file_system=APFS)
        try:
            apfs = container.get_volume(index)
            name = str(apfs.name or "")
            locked = bool(apfs.is_locked())
        except OSError as exc:
            where = f"APFS volume {index + 1} of {count}"
            problem = f"{CORRUPT_FS}: {where}, libfsapfs cannot open it ({exc})"
            yield _with(base, description=where, file_system=None, problem=problem), None
            continue
        described = _with(base, description=f"APFS volume {index + 1} of {count}: {name!r}")
        if locked:  # FileVault: libfsapfs unlocks only with a password or recovery key
            why = f"volume {name!r} is locked; no key: its files are not listed"
            problem = f"{ENCRYPTED_VOLUME}: APFS ({why})"
            yield _with(described, file_system=None, problem=problem, encrypted=True), None
            continue
        yield described, apfs


def _with(volume: Volume, **changes: Any) -> Volume:
    return Volume(**{**volume.as_dict(), **changes})


def volumes(media: Media, image: Any) -> Iterator[tuple[Volume, Any]]:
    """Every volume of the media with its opened file system (or its problem), in order:
    a pytsk3 file system, or a pyfsapfs volume for a volume whose `file_system` is APFS (an
    APFS container gives one volume each, in its own order).

    A partition table TSK finds is used; without one, the media is one volume `fs`. A table
    whose partitions hold no file system TSK opens while the media itself starts with one (a
    FAT "superfloppy" whose boot sector looks like an MBR) reads as that file system."""
    for volume, fs in _tsk_volumes(media, image):
        if volume.file_system == APFS_CONTAINER:
            yield from container_volumes(volume, fs)
        else:
            yield volume, fs


def _tsk_volumes(media: Media, image: Any) -> Iterator[tuple[Volume, Any]]:
    parts, _table = partitions(media, image)
    if parts:
        opened = [open_volume(media, image, v) for v in parts]
        if any(fs is not None or v.encrypted for v, fs in opened):
            yield from opened
            return
        whole = open_volume(media, image, Volume("fs", 0, media.size, "whole media"))
        if whole[1] is not None:
            yield whole
            return
        yield from opened
        return
    yield open_volume(media, image, Volume("fs", 0, media.size, "whole media"))
