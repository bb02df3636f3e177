"""Reopening a file inside a disk image from its locator, in the process that reads it.

Each worker process keeps the last few images it opened (segment files, libyal handle, TSK
image and file systems, APFS containers and volumes), so the thousands of tasks of one image
cost one open per worker, not one per file. An image is known by its first segment's path
and that file's identity (device, inode, size, mtime), so an image replaced at the same path
is opened afresh.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from vigil.evidence.disk.apfs import ApfsStream, open_apfs_file
from vigil.evidence.disk.filesystem import TskStream, open_file
from vigil.evidence.disk.media import UNREADABLE_IMAGE, ImageError, Media
from vigil.evidence.disk.volumes import apfs_index, open_container, tsk, tsk_image, tsk_message
from vigil.model import Locator

KEEP = 4


@dataclass
class _Opened:
    media: Media
    image: Any
    file_systems: dict[int, Any] = field(default_factory=dict)
    containers: dict[int, Any] = field(default_factory=dict)  # APFS, by offset
    apfs_volumes: dict[tuple[int, int], Any] = field(default_factory=dict)  # (offset, index)

    def close(self) -> None:
        self.file_systems.clear()
        self.apfs_volumes.clear()
        for container in self.containers.values():
            with contextlib.suppress(OSError):  # closing must not cost the other images
                container.close()
        self.containers.clear()
        self.media.close()


class OpenImages:
    """At most `keep` open images, the least recently used closed first."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._open: OrderedDict[tuple[Any, ...], _Opened] = OrderedDict()

    def _opened(self, path: bytes, format_name: str) -> _Opened:
        from vigil.evidence.disk import IMAGE_FORMATS

        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError as exc:
            raise ImageError(UNREADABLE_IMAGE, f"image file: {exc.strerror}") from exc
        key = (path, format_name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        opened = self._open.get(key)
        if opened is None:
            fmt = IMAGE_FORMATS.get(format_name)
            media = fmt.open(fmt.segments(path))
            opened = _Opened(media, tsk_image(media))
            self._open[key] = opened
            while len(self._open) > self.keep:
                _, old = self._open.popitem(last=False)
                old.close()
        self._open.move_to_end(key)
        return opened

    def file_system(self, path: bytes, format_name: str, offset: int) -> tuple[Any, Any]:
        """(the file system at `offset` of the image at `path`, the image's TSK image)."""
        opened = self._opened(path, format_name)
        fs = opened.file_systems.get(offset)
        if fs is None:
            try:
                fs = tsk().FS_Info(opened.image, offset=offset)
            except OSError as exc:
                raise ImageError(
                    UNREADABLE_IMAGE, f"file system at byte {offset}: {tsk_message(exc)}"
                ) from exc
            opened.file_systems[offset] = fs
        return fs, opened.image

    def apfs_volume(self, path: bytes, format_name: str, offset: int, index: int) -> Any:
        """Volume `index` of the APFS container at `offset` of the image at `path`."""
        opened = self._opened(path, format_name)
        apfs = opened.apfs_volumes.get((offset, index))
        if apfs is None:
            container = opened.containers.get(offset)
            try:
                if container is None:
                    # a locator holds no partition size: libfsapfs is given the rest of the
                    # media and reads only as far as the container's superblock says
                    container = open_container(opened.media, offset, opened.media.size - offset)
                    opened.containers[offset] = container
                apfs = container.get_volume(index)
            except OSError as exc:
                raise ImageError(
                    UNREADABLE_IMAGE, f"APFS volume {index + 1} at byte {offset}: {exc}"
                ) from exc
            opened.apfs_volumes[(offset, index)] = apfs
        return apfs

    def close(self) -> None:
        while self._open:
            _, old = self._open.popitem()
            old.close()


_IMAGES = OpenImages()
"""This process's open images (each worker process has its own)."""


def open_entry(
    root: str, locator: Locator, format_name: str, *, deleted: bool
) -> TskStream | ApfsStream:
    """The file of a disk image that `locator` names (`relpath!<volume>/<path>`), read by its
    metadata address (an APFS volume's file by its inode number). Raises `ImageError` when
    the image or file system cannot be opened and OSError when the file cannot."""
    entry = locator.fs_entry
    if entry is None or entry.inode is None:
        raise ValueError(f"{locator.text} is not a file inside a disk image")
    path = os.path.join(os.fsencode(root), locator.relpath)
    index = apfs_index(entry.volume)
    if index is not None:  # libfsapfs lists no deleted file, so none is reopened here
        apfs = _IMAGES.apfs_volume(path, format_name, entry.offset, index)
        return open_apfs_file(apfs, entry.inode)
    fs, image = _IMAGES.file_system(path, format_name, entry.offset)
    return open_file(fs, entry.inode, deleted=deleted, image=image)
