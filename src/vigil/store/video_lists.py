"""vPDQ video lists in a case: import one as a new version of a named set (one transaction,
then the PDQ index of its frames on disk), read a known video's frames, open a version's index.

A known video is a `hash_entries` row (no digests: its name, the list's extras) with a
`known_videos` row and its frames in `known_video_frames`. Its frames' PDQ index ids pack the
entry id and the frame's position in the list (`frame_index_id`): a hit names the video.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import ConfigError, HashSetFormatError, StoreError
from vigil.hashing.vpdq import FrameHash
from vigil.hashsets import VIDEO_FORMATS
from vigil.hashsets.entry import HEAD_SIZE, read_head
from vigil.hashsets.video_entry import MAX_FRAMES, VideoHashListFormat
from vigil.index import PdqIndex, hex_to_codes
from vigil.store.audit import append
from vigil.store.case import CaseStore
from vigil.store.hashsets import KINDS, HashSetInfo, get_hashset, insert_version
from vigil.store.schema import hash_entries, hashsets, known_video_frames, known_videos
from vigil.store.writer import lock_case, safe_text

BATCH = 10_000  # frames per executemany
# index id = entry_id * FRAME_SLOTS + position; a list video holds at most MAX_FRAMES frames.
FRAME_SLOTS = 1 << 24
assert MAX_FRAMES < FRAME_SLOTS
_TMP_PREFIX = ".tmp-video-"


def frame_index_id(entry_id: int, position: int) -> int:
    """The PDQ index id of a known video's frame at `position` (0-based, list order)."""
    if not 0 <= position < FRAME_SLOTS:
        raise ValueError(f"frame position {position} out of range 0..{FRAME_SLOTS - 1}")
    return entry_id * FRAME_SLOTS + position


def split_frame_index_id(value: Any) -> tuple[Any, Any]:
    """(entry id, position) of a frame's index id; element-wise on NumPy int arrays too."""
    return value // FRAME_SLOTS, value % FRAME_SLOTS


def is_video_list(info: HashSetInfo) -> bool:
    """Whether a set version was imported from a vPDQ list (its entries are videos)."""
    return info.format in VIDEO_FORMATS


def video_format(name: str, path: Path) -> VideoHashListFormat | None:
    """The vPDQ list format `name` names, or for "auto" the one whose sniff accepts `path`;
    None when `name` is a picture format or "auto" finds none."""
    if name != "auto":
        return VIDEO_FORMATS.get(name) if name in VIDEO_FORMATS else None
    try:
        head = read_head(path, HEAD_SIZE)
    except OSError as exc:
        raise HashSetFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return next((fmt for fmt in VIDEO_FORMATS if fmt.sniff(path, head)), None)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise HashSetFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def import_video_list(
    store: CaseStore,
    path: Path,
    *,
    fmt: VideoHashListFormat,
    name: str | None = None,
    kind: str,
    category: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    actor: str | None = None,
) -> HashSetInfo:
    """Import the vPDQ list at `path` as the next version of set `name` (default: the file
    stem), as `store.hashsets.import_hashset` does a picture list: all or nothing in one
    transaction (videos streamed, frames inserted `BATCH` at a time), older versions of the
    name retired with their videos and frames, the frames' PDQ index built in a temporary
    folder and moved to `store.index_dir(id)` after the commit. Videos and frames of sets
    removed since (`remove_hashset` keeps no entries) are deleted here too. The list names
    no categories in the case's scheme: every video has the set's `category`.
    `on_progress(frames so far)` is called per batch."""
    path = Path(path)
    if kind not in KINDS:
        raise ConfigError(f"hash-set kind must be one of {', '.join(KINDS)} (got {kind!r})")
    store.scheme.check(category)
    name = safe_text((name if name is not None else path.stem).strip())
    if not name:
        raise ConfigError("a hash set needs a non-empty name")
    source_sha256 = _file_sha256(path)
    lock = lock_case(store)
    tmp_index = store.index_dir(0).parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        with store.engine.begin() as conn:
            info, replaced = _import_in(
                conn, path, fmt, name, kind, category, source_sha256, tmp_index, on_progress
            )
            if actor is not None:
                detail = {"version": info.version, "format": info.format, "kind": info.kind}
                detail |= {"category": info.category, "videos": info.entries}
                detail |= {"source_file": info.source_file, "source_sha256": source_sha256}
                append(conn, actor, "hashset_import", info.name, detail)
        if tmp_index.exists():
            final = store.index_dir(info.id)
            shutil.rmtree(final, ignore_errors=True)  # a stale folder from a reused id
            os.replace(tmp_index, final)
        for old in replaced:
            shutil.rmtree(store.index_dir(old), ignore_errors=True)
        return info
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot import the video list {name!r}: {exc}") from exc
    finally:
        shutil.rmtree(tmp_index, ignore_errors=True)
        lock.close()


def _import_in(
    conn: Connection,
    path: Path,
    fmt: VideoHashListFormat,
    name: str,
    kind: str,
    category: int | None,
    source_sha256: str,
    tmp_index: Path,
    on_progress: Callable[[int], None] | None,
) -> tuple[HashSetInfo, list[int]]:
    # pdq_entries stays 0: it is the picture matcher's count, and a video list has no picture PDQ
    new_id = insert_version(conn, path, fmt, name, kind, category, source_sha256=source_sha256)
    videos = frames = 0
    batch: list[dict[str, Any]] = []
    for record in fmt.read_videos(path):
        extra = record.extras()
        entry_id = conn.execute(
            hash_entries.insert().returning(hash_entries.c.id),
            {
                "hashset_id": new_id,
                "name": safe_text(record.name),
                "extra": json.dumps(extra, separators=(",", ":")) if extra else None,
            },
        ).scalar_one()
        conn.execute(
            known_videos.insert(),
            {"entry_id": entry_id, "hashset_id": new_id, "frames": len(record.frames)},
        )
        videos += 1
        for position, frame in enumerate(record.frames):
            batch.append(
                {
                    "entry_id": entry_id,
                    "position": position,
                    "frame_number": frame.frame_number,
                    "timestamp": frame.timestamp,
                    "quality": frame.quality,
                    "pdq": frame.pdq,
                }
            )
            if len(batch) >= BATCH:
                conn.execute(known_video_frames.insert(), batch)
                frames += len(batch)
                batch.clear()
                if on_progress:
                    on_progress(frames)
    if batch:
        conn.execute(known_video_frames.insert(), batch)
        frames += len(batch)
        if on_progress:
            on_progress(frames)
    if videos == 0:
        raise HashSetFormatError("no videos in file")
    if frames:
        ids, codes = _frame_arrays(conn, new_id)
        PdqIndex.build(ids, codes).save(tmp_index)
    replaced = list(
        conn.execute(
            select(hashsets.c.id).where(hashsets.c.name == name, hashsets.c.id != new_id)
        ).scalars()
    )
    if replaced:
        conn.execute(delete(hash_entries).where(hash_entries.c.hashset_id.in_(replaced)))
        conn.execute(update(hashsets).where(hashsets.c.id.in_(replaced)).values(active=False))
    conn.execute(
        update(hashsets).where(hashsets.c.id == new_id).values(active=True, entries=videos)
    )
    _delete_retired_videos(conn)  # after activating this version, which is not retired
    return _info_in(conn, new_id), replaced


def _delete_retired_videos(conn: Connection) -> None:
    """The videos and frames of every inactive version (replaced now, or removed before)."""
    retired = select(hashsets.c.id).where(hashsets.c.active.is_(False))
    gone = select(known_videos.c.entry_id).where(known_videos.c.hashset_id.in_(retired))
    conn.execute(delete(known_video_frames).where(known_video_frames.c.entry_id.in_(gone)))
    conn.execute(delete(known_videos).where(known_videos.c.hashset_id.in_(retired)))


def _info_in(conn: Connection, hashset_id: int) -> HashSetInfo:
    """The row as this transaction sees it (`get_hashset` reads on another connection)."""
    row = conn.execute(select(hashsets).where(hashsets.c.id == hashset_id)).one()._mapping
    return HashSetInfo(**{f.name: row[f.name] for f in fields(HashSetInfo)})


def _frame_arrays(conn: Connection, hashset_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(index ids, codes) of every frame of a version's videos, streamed by pages."""
    query = (
        select(
            known_video_frames.c.entry_id, known_video_frames.c.position, known_video_frames.c.pdq
        )
        .join(known_videos, known_videos.c.entry_id == known_video_frames.c.entry_id)
        .where(known_videos.c.hashset_id == hashset_id)
    )
    id_parts: list[np.ndarray] = []
    code_parts: list[np.ndarray] = []
    result = conn.execute(query, execution_options={"yield_per": 50_000})
    for page in result.partitions():
        entry = np.fromiter((r[0] for r in page), dtype=np.int64, count=len(page))
        position = np.fromiter((r[1] for r in page), dtype=np.int64, count=len(page))
        id_parts.append(entry * FRAME_SLOTS + position)
        code_parts.append(hex_to_codes([r[2] for r in page]))
    if not id_parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 32), dtype=np.uint8)
    return np.concatenate(id_parts), np.concatenate(code_parts)


# -- reading -----------------------------------------------------------------------------


def known_frames(conn: Connection, entry_id: int) -> list[FrameHash]:
    """A known video's frames in list order."""
    query = (
        select(
            known_video_frames.c.frame_number,
            known_video_frames.c.quality,
            known_video_frames.c.pdq,
            known_video_frames.c.timestamp,
        )
        .where(known_video_frames.c.entry_id == entry_id)
        .order_by(known_video_frames.c.position)
    )
    return [FrameHash(*row) for row in conn.execute(query)]


def frame_index(store: CaseStore, hashset_id: int) -> PdqIndex | None:
    """The saved PDQ index of a video list version's frames (memory-mapped), or None when it
    has none. A missing folder (a crash between commit and move) is rebuilt and saved."""
    info = get_hashset(store, hashset_id)
    if not info.active or info.entries == 0:
        return None
    directory = store.index_dir(hashset_id)
    if directory.is_dir() and (directory / "index.json").is_file():
        return PdqIndex.load(directory)
    try:
        with store.engine.connect() as conn:
            ids, codes = _frame_arrays(conn, hashset_id)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the frames of video list {hashset_id}: {exc}") from exc
    if not len(ids):
        return None
    tmp = store.index_dir(0).parent / f".rebuild-{uuid.uuid4().hex}"
    try:
        PdqIndex.build(ids, codes).save(tmp)
        shutil.rmtree(directory, ignore_errors=True)
        os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return PdqIndex.load(directory)
