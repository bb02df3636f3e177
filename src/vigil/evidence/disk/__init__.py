"""Disk images: the image formats (registered here, explicitly, as a third party would), the
walk of their volumes and file systems into tasks, and reopening a file inside one.

`find_format` says whether a file is the first segment of an image; `walk` yields the image's
tasks (its own file first, then every file of every volume); `open_entry` reopens one file
inside an image from its locator, in the worker that reads it.
"""

from __future__ import annotations

import os

from vigil.evidence.disk.formats import (
    EwfFormat,
    QcowFormat,
    RawFormat,
    VhdFormat,
    VmdkFormat,
)
from vigil.evidence.disk.media import ImageFormat
from vigil.plugins import Registry


def register_builtin_image_formats(registry: Registry[ImageFormat]) -> Registry[ImageFormat]:
    # Raw last: it is recognised by what starts the media, the others by their own headers.
    for fmt in (EwfFormat(), VmdkFormat(), VhdFormat(), QcowFormat(), RawFormat()):
        registry.register(fmt.name, fmt)
    return registry


IMAGE_FORMATS: Registry[ImageFormat] = register_builtin_image_formats(Registry("disk image format"))

SEGMENT = "segment"
"""`Task.image_format` of a later segment of an image: hashed as a file, never opened."""


def find_format(path: bytes, formats: Registry[ImageFormat] | None = None) -> ImageFormat | None:
    """The format of the image whose first segment is `path`, or None: by name first (no
    I/O for the files of a folder that are no image), then by content."""
    name = os.path.basename(path)
    for fmt in formats if formats is not None else IMAGE_FORMATS:
        if fmt.starts_image(name) and fmt.recognise(path):
            return fmt
    return None


__all__ = ["IMAGE_FORMATS", "SEGMENT", "find_format", "register_builtin_image_formats"]
