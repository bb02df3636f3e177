"""A disk image as walk items: its own file (marked with its format, so a worker hashes it
and verifies it), its later segments, then every entry of every volume, each a task of its
own so that one image's files spread over the workers.

Runs where the walk runs (the ingest process), reading only partition tables and file system
metadata; file content is read by the workers (`handles.open_entry`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator

from vigil.evidence.disk import SEGMENT
from vigil.evidence.disk.apfs import walk_apfs
from vigil.evidence.disk.filesystem import walk_fs
from vigil.evidence.disk.media import ImageError, ImageFormat
from vigil.evidence.disk.volumes import APFS, tsk_image, volumes
from vigil.evidence.folder import WalkItem, examine
from vigil.model import Entry, FsEntry, Locator

LISTING_STOPPED = "listing stopped"


def walk_image(
    root: bytes,
    item: WalkItem,
    fmt: ImageFormat,
    *,
    with_segments: bool,
    on_segments: Callable[[list[bytes]], None] | None = None,
) -> Iterator[WalkItem]:
    """`item` (the image's first segment, relative to `root`) and everything in the image.

    `with_segments`: also yield the image's other segment files (a single-file source sees
    no siblings otherwise); `on_segments` gets their relative paths either way, so a folder
    walk can mark them when it meets them. An image that cannot be opened yields only its own
    item: the worker that hashes it records why."""
    relpath = item.locator.relpath
    yield dataclasses.replace(item, image_format=fmt.name)
    path = os.path.join(root, relpath)
    try:
        segments = fmt.segments(path)
    except ImageError:
        return
    folder = os.path.dirname(relpath)
    later = [os.path.join(folder, os.path.basename(s)) for s in segments[1:]]
    if on_segments is not None:
        on_segments(later)
    if with_segments:
        for rel in later:
            yield dataclasses.replace(examine(root, rel), image_format=SEGMENT)
    try:
        media = fmt.open(segments)
    except ImageError:
        return
    with media:
        image = tsk_image(media)
        try:
            found = list(volumes(media, image))
        except ImageError as exc:  # pytsk3 missing: said once, on the media
            yield WalkItem(
                Locator(relpath, (FsEntry("fs", 0),)),
                Entry.VOLUME,
                0,
                error=exc.message,
                image_format=fmt.name,
            )
            return
        for volume, fs in found:
            if fs is None:
                yield WalkItem(
                    Locator(relpath, (FsEntry(volume.label, volume.offset),)),
                    Entry.VOLUME,
                    0,
                    error=volume.problem,
                    encrypted=volume.encrypted,
                    image_format=fmt.name,
                )
                continue
            if volume.warning is not None:  # said once, on the volume, before its files
                yield WalkItem(
                    Locator(relpath, (FsEntry(volume.label, volume.offset),)),
                    Entry.VOLUME,
                    0,
                    error=volume.warning,
                    image_format=fmt.name,
                )
            if volume.file_system == APFS:
                inners = walk_apfs(relpath, volume, fs)
            else:
                inners = walk_fs(relpath, volume, fs, image)
            try:
                for inner in inners:
                    yield dataclasses.replace(inner, image_format=fmt.name)
            except Exception as exc:  # a TSK, libfsapfs or adapter bug: the rest of this volume
                yield WalkItem(
                    Locator(relpath, (FsEntry(volume.label, volume.offset),)),
                    Entry.VOLUME,
                    0,
                    error=f"{LISTING_STOPPED}: {type(exc).__name__}: {exc}",
                    image_format=fmt.name,
                )
