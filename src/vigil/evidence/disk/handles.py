"""Reopening a file inside a disk image from its locator, in the process that reads it.

Each worker process keeps the last few images it opened (segment files, libyal handle, TSK
image and file systems), so the thousands of tasks of one image cost one open per worker,
not one per file. An image is known by its first segment's path and that file's identity
(device, inode, size, mtime), so an image replaced at the same path is opened afresh.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from vigil.evidence.disk.filesystem import TskStream, open_file
from vigil.evidence.disk.media import UNREADABLE_IMAGE, ImageError, Media
from vigil.evidence.disk.volumes import tsk, tsk_image, tsk_message
from vigil.model import Locator

KEEP = 4


@dataclass
class _Opened:
    media: Media
    image: Any
    file_systems: dict[int, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.file_systems.clear()
        self.media.close()


class OpenImages:
    """At most `keep` open images, the least recently used closed first."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._open: OrderedDict[tuple[Any, ...], _Opened] = OrderedDict()

    def file_system(self, path: bytes, format_name: str, offset: int) -> tuple[Any, Any]:
        """(the file system at `offset` of the image at `path`, the image's TSK image)."""
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

    def close(self) -> None:
        while self._open:
            _, old = self._open.popitem()
            old.close()


_IMAGES = OpenImages()
"""This process's open images (each worker process has its own)."""


def open_entry(root: str, locator: Locator, format_name: str, *, deleted: bool) -> TskStream:
    """The file of a disk image that `locator` names (`relpath!<volume>/<path>`), read by its
    metadata address. Raises `ImageError` when the image or file system cannot be opened and
    OSError when the file cannot."""
    entry = locator.fs_entry
    if entry is None or entry.inode is None:
        raise ValueError(f"{locator.text} is not a file inside a disk image")
    path = os.path.join(os.fsencode(root), locator.relpath)
    fs, image = _IMAGES.file_system(path, format_name, entry.offset)
    return open_file(fs, entry.inode, deleted=deleted, image=image)
