"""Evidence sources: what a SOURCE on the command line is (a folder, a single file, a disk
image), how it becomes walk items, and how an item is reopened from its locator.

The registry is built here, explicitly, the same way a third party would add a source (a
cloud export, a phone extraction); ingest asks `source_for` and never imports a walker.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, Protocol

from vigil.evidence.disk import SEGMENT, find_format
from vigil.evidence.folder import SourceRoot, WalkItem, open_read_only, walk
from vigil.model import Entry, Locator
from vigil.plugins import Registry


class EvidenceSource(Protocol):
    """One kind of SOURCE. `name` and `version` are persisted with what it yields.

    `accepts` decides from the resolved root (cheaply: a folder source never reads a file);
    `walk` yields every entry as a `WalkItem` (one top-level task each); `open` reopens the
    bytes of an item it yielded, from its locator, read-only."""

    name: str
    version: int

    def accepts(self, root: SourceRoot) -> bool: ...

    def walk(self, root: SourceRoot) -> Iterator[WalkItem]: ...

    def open(self, root: str, locator: Locator) -> BinaryIO: ...


def _open_file(root: str, locator: Locator) -> BinaryIO:
    fd = open_read_only(os.path.join(os.fsencode(root), locator.relpath))
    f = os.fdopen(fd, "rb")
    os.set_blocking(fd, True)
    return f


def _open_in_image(root: str, locator: Locator) -> BinaryIO:
    from vigil.evidence.disk.handles import open_entry

    with _open_file(root, locator):  # the image must still be a regular file at its path
        pass
    fmt = find_format(os.path.join(os.fsencode(root), locator.relpath))
    if fmt is None:
        raise OSError(f"{locator.text}: its image is no longer recognised")
    return open_entry(root, locator, fmt.name, deleted=False)  # type: ignore[return-value]


def _with_images(
    root: SourceRoot, items: Iterator[WalkItem], *, single: bool
) -> Iterator[WalkItem]:
    """The items of a walk, each disk image followed by everything inside it (found by
    name, then by signature: `disk.find_format`); an image's later segments are marked."""
    from vigil.evidence.disk.walk import walk_image

    base = os.fsencode(root.root)
    segments: set[bytes] = set()
    for item in items:
        rel = item.locator.relpath
        if rel in segments:
            segments.discard(rel)
            yield dataclasses.replace(item, image_format=SEGMENT)
            continue
        fmt = (
            find_format(os.path.join(base, rel))
            if item.entry is Entry.FILE and item.error is None
            else None
        )
        if fmt is None:
            yield item
            continue
        yield from walk_image(base, item, fmt, with_segments=single, on_segments=segments.update)


class FolderSource:
    """A folder, walked depth-first without following links; disk images in it are opened."""

    name = "folder"
    version = 1

    def accepts(self, root: SourceRoot) -> bool:
        return root.single is None

    def walk(self, root: SourceRoot) -> Iterator[WalkItem]:
        return _with_images(root, walk(root), single=False)

    def open(self, root: str, locator: Locator) -> BinaryIO:
        return _open_in_image(root, locator) if locator.fs_entry else _open_file(root, locator)


class DiskImageSource:
    """A disk image given as the SOURCE (its first segment): the segment files, then every
    volume and file inside it."""

    name = "disk image"
    version = 1

    def accepts(self, root: SourceRoot) -> bool:
        if root.single is None:
            return False
        return find_format(os.path.join(os.fsencode(root.root), root.single)) is not None

    def walk(self, root: SourceRoot) -> Iterator[WalkItem]:
        return _with_images(root, walk(root), single=True)

    def open(self, root: str, locator: Locator) -> BinaryIO:
        return _open_in_image(root, locator) if locator.fs_entry else _open_file(root, locator)


class FileSource:
    """One file (an archive is opened by the worker, like any file)."""

    name = "file"
    version = 1

    def accepts(self, root: SourceRoot) -> bool:
        return root.single is not None

    def walk(self, root: SourceRoot) -> Iterator[WalkItem]:
        return walk(root)

    def open(self, root: str, locator: Locator) -> BinaryIO:
        return _open_file(root, locator)


def register_builtin_sources(registry: Registry[EvidenceSource]) -> Registry[EvidenceSource]:
    # Asked in this order: a single file is a disk image before it is a plain file.
    for source in (FolderSource(), DiskImageSource(), FileSource()):
        registry.register(source.name, source)
    return registry


SOURCES: Registry[EvidenceSource] = register_builtin_sources(Registry("evidence source"))


def source_for(root: SourceRoot, sources: Registry[EvidenceSource] | None = None) -> EvidenceSource:
    for source in sources if sources is not None else SOURCES:
        if source.accepts(root):
            return source
    raise LookupError(f"no evidence source accepts {root.given!r}")


@contextmanager
def open_item(root: SourceRoot, locator: Locator) -> Iterator[BinaryIO]:
    """The bytes of a top-level item (a file, or a file inside a disk image), reopened from
    its locator by the source that yielded it."""
    with source_for(root).open(root.root, locator) as stream:
        yield stream
