"""Walk one file system of a disk image with The Sleuth Kit, deleted names included, and read
a file back from its metadata address.

The walk is depth-first in the file system's own directory order (the same image always
walks the same way), holds one directory's names at a time plus the addresses of the
directories already listed (so a looping or twice-linked directory is listed once), and
never reads file content: that is the workers' job, one task per file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from vigil.evidence.archive import LINK_TARGET_MAX, Occurrences
from vigil.evidence.disk.volumes import Volume, tsk, tsk_message
from vigil.evidence.folder import WalkItem
from vigil.model import Entry, FsEntry, Locator

# Short, stable reasons.
NOT_RECOVERABLE = "deleted file not recoverable"
CANNOT_LIST = "cannot list directory"
DIRECTORY_LOOP = "directory already listed"
LARGER_THAN_VOLUME = "file larger than its volume"
DAMAGED_ENTRY = "damaged metadata entry"

CHUNK = 1 << 20


def _types() -> dict[Any, Entry]:
    pytsk3 = tsk()
    return {
        pytsk3.TSK_FS_META_TYPE_REG: Entry.FILE,
        pytsk3.TSK_FS_META_TYPE_LNK: Entry.SYMLINK,
        pytsk3.TSK_FS_META_TYPE_FIFO: Entry.FIFO,
        pytsk3.TSK_FS_META_TYPE_SOCK: Entry.SOCKET,
        pytsk3.TSK_FS_META_TYPE_CHR: Entry.DEVICE,
        pytsk3.TSK_FS_META_TYPE_BLK: Entry.DEVICE,
    }


def walk_fs(relpath: bytes, volume: Volume, fs: Any, image: Any = None) -> Iterator[WalkItem]:
    """Every entry of the file system except `.`, `..` and the directories that could be
    listed, as `WalkItem`s located `relpath!<volume>/<path>`. Repeated names in one
    directory (a deleted name beside a live one) are told apart as `name;2` … `image` (the
    `volumes.tsk_image` under `fs`) says why a directory could not be read, when it knows."""
    pytsk3 = tsk()
    types = _types()
    dir_types = (pytsk3.TSK_FS_META_TYPE_DIR, pytsk3.TSK_FS_META_TYPE_VIRT_DIR)
    unalloc_name = pytsk3.TSK_FS_NAME_FLAG_UNALLOC
    alloc_meta = pytsk3.TSK_FS_META_FLAG_ALLOC

    def item(path: bytes, inode: int | None, entry: Entry, size: int = 0, **kw: Any) -> WalkItem:
        locator = Locator(relpath, (FsEntry(volume.label, volume.offset, path, inode),))
        return WalkItem(locator, entry, size, **kw)

    root = fs.info.root_inum
    listed: set[int] = {root}
    stack: list[tuple[int, bytes, bool]] = [(root, b"", False)]

    def cause(exc: OSError) -> str:
        known = None if image is None else image.read_error
        return known or tsk_message(exc)

    while stack:
        inode, dir_path, dir_deleted = stack.pop()
        if image is not None:
            image.read_error = None
        try:
            directory = fs.open_dir(inode=inode)
        except OSError as exc:
            yield item(
                dir_path,
                inode,
                Entry.DIRECTORY,
                error=f"{CANNOT_LIST}: {cause(exc)}",
                deleted=dir_deleted,
            )
            continue
        names = Occurrences()
        subdirs: list[tuple[int, bytes, bool]] = []
        try:
            for f in directory:
                info = f.info
                raw = info.name.name
                if raw in (b".", b"..") or not raw:
                    continue
                path = (dir_path + b"/" if dir_path else b"") + names.name(raw.replace(b"/", b"_"))
                deleted = bool(info.name.flags & unalloc_name)
                meta = info.meta
                address = info.name.meta_addr
                if meta is None:
                    why = "no metadata entry" if not deleted else f"{NOT_RECOVERABLE}: no metadata"
                    yield item(path, address or None, Entry.OTHER, error=why, deleted=deleted)
                    continue
                mtime = float(meta.mtime) if meta.mtime else None
                reused = deleted and bool(meta.flags & alloc_meta)
                if meta.type in dir_types:
                    if reused:
                        continue  # the entry now belongs to a live directory, listed there
                    if meta.addr in listed:
                        why = f"{DIRECTORY_LOOP}: entry {meta.addr} (a loop or a second link)"
                        yield item(path, meta.addr, Entry.DIRECTORY, error=why, deleted=deleted)
                    else:
                        listed.add(meta.addr)
                        subdirs.append((meta.addr, path, deleted))
                    continue
                if reused:
                    why = f"{NOT_RECOVERABLE}: metadata entry {meta.addr} reused by another file"
                    yield item(path, meta.addr, Entry.FILE, error=why, deleted=True, mtime=mtime)
                    continue
                entry = types.get(meta.type)
                if meta.type == pytsk3.TSK_FS_META_TYPE_UNDEF:  # no valid type: a garbage entry
                    why = f"{DAMAGED_ENTRY}: metadata entry {meta.addr} has no valid file type"
                    yield item(path, meta.addr, Entry.OTHER, error=why, deleted=deleted)
                    continue
                if entry is None:
                    virtual = meta.type == pytsk3.TSK_FS_META_TYPE_VIRT
                    entry = Entry.VIRTUAL if virtual else Entry.OTHER
                    yield item(path, meta.addr, entry, deleted=deleted, mtime=mtime)
                    continue
                if entry is Entry.FILE:
                    size = int(meta.size)
                    if size > volume.size:
                        why = (
                            f"{LARGER_THAN_VOLUME}: {size} bytes listed in a "
                            f"{volume.size}-byte volume, not read"
                        )
                        yield item(path, meta.addr, entry, error=why, deleted=deleted)
                        continue
                    yield item(path, meta.addr, entry, size, deleted=deleted, mtime=mtime)
                elif entry is Entry.SYMLINK:
                    yield item(
                        path,
                        meta.addr,
                        entry,
                        link_target=_link_target(f, int(meta.size)),
                        deleted=deleted,
                        mtime=mtime,
                    )
                else:
                    yield item(path, meta.addr, entry, deleted=deleted, mtime=mtime)
        except OSError as exc:
            yield item(
                dir_path,
                inode,
                Entry.DIRECTORY,
                error=f"{CANNOT_LIST}: listing stopped: {cause(exc)}",
                deleted=dir_deleted,
            )
        stack.extend(reversed(subdirs))


def _link_target(f: Any, size: int) -> str | None:
    try:
        data = f.read_random(0, min(size, LINK_TARGET_MAX)) if size else b""
    except OSError:
        return None
    return data.decode("utf-8", "backslashreplace")


class SizedStream(io.RawIOBase):
    """A seekable, read-only stream of a file's listed size inside an image, read at most
    `CHUNK` bytes at a time through `_read_at`; a read that comes back empty before the end
    raises OSError (worded by `_why`)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pos = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._size - self._pos, CHUNK)
        if n <= 0:
            return 0
        data = self._read_at(self._pos, n)
        if not data:
            raise OSError(self._why(f"only {self._pos} of {self._size} bytes could be read"))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _read_at(self, offset: int, n: int) -> bytes:
        raise NotImplementedError

    def _why(self, detail: str) -> str:
        return detail


class TskStream(SizedStream):
    """A file of a TSK file system (its default data attribute). A read TSK fails raises
    OSError, saying why the image could not be read when `image` (`volumes.tsk_image`)
    knows."""

    def __init__(self, file: Any, size: int, *, deleted: bool, image: Any = None) -> None:
        super().__init__(size)
        self._file = file
        self._deleted = deleted
        self._image = image

    def _read_at(self, offset: int, n: int) -> bytes:
        if self._image is not None:
            self._image.read_error = None
        try:
            data = self._file.read_random(offset, n)
        except OSError as exc:
            raise OSError(
                self._why(self._cause() or f"The Sleuth Kit: {tsk_message(exc)}")
            ) from exc
        cause = self._cause()
        if cause is not None:  # TSK may hand back what it read before the failure
            raise OSError(self._why(cause))
        return data

    def _cause(self) -> str | None:
        return None if self._image is None else self._image.read_error

    def _why(self, detail: str) -> str:
        return f"{NOT_RECOVERABLE}: {detail}" if self._deleted else detail


def open_file(fs: Any, inode: int, *, deleted: bool, image: Any = None) -> TskStream:
    """The file at metadata address `inode`, as a buffered-free stream of its listed size,
    read from `image` (the TSK image `fs` was opened on) when known."""
    try:
        f = fs.open_meta(inode=inode)
        size = int(f.info.meta.size) if f.info.meta is not None else 0
    except OSError as exc:
        why = f"cannot open metadata entry {inode}: {tsk_message(exc)}"
        raise OSError(f"{NOT_RECOVERABLE}: {why}" if deleted else why) from exc
    return TskStream(f, size, deleted=deleted, image=image)
