"""Walk one APFS volume with libyal's libfsapfs (pyfsapfs), and read a file back from its
inode number: the APFS counterpart of `filesystem.py`, giving the same items and reasons.

libfsapfs lists only the live names of a volume (no deleted file is found), and reads no
encrypted volume without its key (`volumes.py` records a locked one as such).
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from typing import Any

from vigil.evidence.archive import LINK_TARGET_MAX, Occurrences
from vigil.evidence.disk.filesystem import (
    CANNOT_LIST,
    DAMAGED_ENTRY,
    DIRECTORY_LOOP,
    LARGER_THAN_VOLUME,
    SizedStream,
)
from vigil.evidence.disk.volumes import Volume
from vigil.evidence.folder import WalkItem
from vigil.model import Entry, FsEntry, Locator

_TYPES = {
    stat.S_IFREG: Entry.FILE,
    stat.S_IFLNK: Entry.SYMLINK,
    stat.S_IFIFO: Entry.FIFO,
    stat.S_IFSOCK: Entry.SOCKET,
    stat.S_IFCHR: Entry.DEVICE,
    stat.S_IFBLK: Entry.DEVICE,
}


def walk_apfs(relpath: bytes, volume: Volume, apfs: Any) -> Iterator[WalkItem]:
    """Every entry of the APFS volume `apfs` (a pyfsapfs volume) except the directories that
    could be listed, as `WalkItem`s located `relpath!<volume>/<path>`, depth-first in the
    volume's own directory order.

    A directory's entries are fetched one at a time by index and turned into items as they
    come, so a huge directory costs libfsapfs's list of its names, never one Python object
    per entry; what is kept is the inode numbers of the directories already listed (a loop
    or a second link is listed once) and the directories still to list."""

    def item(path: bytes, inode: int | None, entry: Entry, size: int = 0, **kw: Any) -> WalkItem:
        locator = Locator(relpath, (FsEntry(volume.label, volume.offset, path, inode),))
        return WalkItem(locator, entry, size, **kw)

    try:
        root = int(apfs.get_root_directory().identifier)
    except OSError as exc:
        yield item(b"", None, Entry.DIRECTORY, error=f"{CANNOT_LIST}: root directory: {exc}")
        return
    listed: set[int] = {root}
    stack: list[tuple[int, bytes]] = [(root, b"")]
    while stack:
        inode, dir_path = stack.pop()
        try:
            directory = apfs.get_file_entry_by_identifier(inode)
            count = int(directory.number_of_sub_file_entries)
        except OSError as exc:
            yield item(dir_path, inode, Entry.DIRECTORY, error=f"{CANNOT_LIST}: {exc}")
            continue
        names = Occurrences()
        subdirs: list[tuple[int, bytes]] = []
        for index in range(count):
            try:
                f = directory.get_sub_file_entry(index)
                raw = str(f.name).encode("utf-8", "surrogateescape")
                address = int(f.identifier)
                mode = int(f.file_mode)
            except OSError as exc:
                why = f"{CANNOT_LIST}: listing stopped at entry {index} of {count}: {exc}"
                yield item(dir_path, inode, Entry.DIRECTORY, error=why)
                break
            path = (dir_path + b"/" if dir_path else b"") + names.name(raw.replace(b"/", b"_"))
            kind = stat.S_IFMT(mode)
            if kind == stat.S_IFDIR:
                if address in listed:
                    why = f"{DIRECTORY_LOOP}: inode {address} (a loop or a second link)"
                    yield item(path, address, Entry.DIRECTORY, error=why)
                else:
                    listed.add(address)
                    subdirs.append((address, path))
                continue
            if not kind:
                why = f"{DAMAGED_ENTRY}: inode {address} has no valid file type"
                yield item(path, address, Entry.OTHER, error=why)
                continue
            mtime = _mtime(f)
            entry = _TYPES.get(kind, Entry.OTHER)
            if entry is Entry.FILE:
                size = int(f.size)
                if size > volume.size:
                    why = (
                        f"{LARGER_THAN_VOLUME}: {size} bytes listed in a "
                        f"{volume.size}-byte container, not read"
                    )
                    yield item(path, address, entry, error=why)
                    continue
                yield item(path, address, entry, size, mtime=mtime)
            elif entry is Entry.SYMLINK:
                yield item(path, address, entry, link_target=_link_target(f), mtime=mtime)
            else:
                yield item(path, address, entry, mtime=mtime)
        stack.extend(reversed(subdirs))


def _mtime(f: Any) -> float | None:
    try:
        ns = f.get_modification_time_as_integer()  # nanoseconds since 1970, as APFS keeps it
    except OSError:
        return None
    return ns / 1e9 if ns else None


def _link_target(f: Any) -> str | None:
    try:
        target = f.symbolic_link_target
    except OSError:
        return None
    return None if target is None else str(target)[:LINK_TARGET_MAX]


class ApfsStream(SizedStream):
    """A file of an APFS volume (its data fork). A read libfsapfs fails raises OSError
    saying why."""

    def __init__(self, file: Any, size: int) -> None:
        super().__init__(size)
        self._file = file

    def _read_at(self, offset: int, n: int) -> bytes:
        try:
            return self._file.read_buffer_at_offset(n, offset)
        except OSError as exc:
            raise OSError(f"libfsapfs: {exc}") from exc


def open_apfs_file(apfs: Any, inode: int) -> ApfsStream:
    """The file with inode number `inode` of the APFS volume `apfs`, as a stream of its
    listed size."""
    try:
        f = apfs.get_file_entry_by_identifier(inode)
        size = int(f.size)
    except OSError as exc:
        raise OSError(f"cannot open inode {inode}: {exc}") from exc
    return ApfsStream(f, size)
