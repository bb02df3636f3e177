"""The one writer of a run: sources, runs, and file records in batched transactions.

Every flush commits file rows and the done-marks of the tasks that produced them together,
so a kill -9 leaves each top-level item either fully recorded or not at all, and a replay of
a batch inserts nothing twice (`INSERT … ON CONFLICT DO NOTHING`). On PostgreSQL the big
tables (`files`, `done`, `video_frames`) are written with COPY (`store.copy`), with the same
outcome.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, BinaryIO

import psycopg
from sqlalchemy import Connection, Insert, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from vigil.config import Settings
from vigil.errors import StoreError
from vigil.model import FileRecord, display_name
from vigil.store.case import CaseStore, now_iso
from vigil.store.copy import copy_insert
from vigil.store.provenance import store_provenance
from vigil.store.schema import disk_images, done, files, runs, sources, video_frames, video_hashes
from vigil.store.server_lock import ServerLock

WRITER_LOCK = ".writer.lock"
RUN_STATUSES = frozenset({"running", "completed", "interrupted", "failed"})

FRAME_BATCH = 50_000
"""Video frame hashes buffered before a flush, whatever the record count: 500 records of
10-hour videos would be 18 million frames."""
_FRAME_ROWS = 5_000  # frame rows per INSERT: a 36,000-frame video is never one list of dicts
_FRAME_COLUMNS = ("sha256", "frame_number", "timestamp", "quality", "pdq")

FlushHook = Callable[[Connection, list[int]], None]


def path_key(raw: bytes) -> bytes:
    """The dedupe key of a locator or top: SHA-256 of its raw bytes (see `schema`)."""
    return hashlib.sha256(raw).digest()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # U+DC80..U+DCFF is how Python decodes an undecodable OS byte (surrogateescape)
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def safe_text(value: str | None) -> str | None:
    """Text both databases accept: lone surrogates (from undecodable OS names) become `\\xNN`
    and NUL becomes `\\x00` (PostgreSQL text cannot hold NUL)."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = _SURROGATE.sub(_escape_surrogate, value)
    return value.replace("\0", "\\x00") if "\0" in value else value


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return display_name(bytes(value))
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def exif_json(exif: dict[str, Any]) -> str | None:
    # ensure_ascii: lone surrogates in EXIF strings must not reach the database encoder
    return json.dumps(exif, default=_json_default, ensure_ascii=True) if exif else None


def camera_columns(exif: dict[str, Any]) -> dict[str, Any]:
    """The camera body, capture time, place and embedded thumbnail of a record's EXIF, as
    the `files` columns hold them (what devices, series, the timeline and places aggregate
    on in SQL)."""

    def text(value: Any) -> str | None:
        return (value.strip() or None) if isinstance(value, str) else None

    def number(value: Any) -> float | None:
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    gps = exif.get("gps") if isinstance(exif.get("gps"), dict) else {}
    thumb = exif.get("thumbnail") if isinstance(exif.get("thumbnail"), dict) else {}
    lat, lon = number(gps.get("lat")), number(gps.get("lon"))
    return {
        "camera_make": text(exif.get("make")),
        "camera_model": text(exif.get("model")),
        "camera_serial": text(exif.get("serial")),
        "captured_at": text(exif.get("datetime_original")),
        "gps_lat": lat if lon is not None else None,
        "gps_lon": lon if lat is not None else None,
        "thumb_sha256": text(thumb.get("sha256")),
    }


class WriterLock:
    """The case folder's flock and, for a PostgreSQL case, the server's advisory lock."""

    def __init__(self, handle: BinaryIO, server: ServerLock | None) -> None:
        self._handle, self._server = handle, server

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._handle.close()  # closing the file releases the flock


def lock_case(store: CaseStore) -> WriterLock:
    """Hold an exclusive lock on `CASE/.writer.lock` while writing: one writer per case. The
    kernel drops it when the process dies, kill -9 included. A PostgreSQL case is also locked
    on the server, which every machine sharing the case sees (`server_lock`)."""
    path = store.case_dir / WRITER_LOCK
    handle = path.open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise StoreError(
            f"another Vigil process is writing to the case {store.case_dir}; "
            "wait for it to finish (one ingest at a time per case)"
        ) from exc
    except OSError as exc:
        handle.close()
        raise StoreError(f"cannot lock {path}: {exc}") from exc
    if store.engine.dialect.name != "postgresql":
        return WriterLock(handle, None)
    try:
        return WriterLock(handle, ServerLock(store))
    except StoreError:
        handle.close()
        raise


class RecordWriter:
    """Buffers records and commits them `batch_size` at a time. A context manager.

    `on_flush(conn, new_ids)` runs inside each flush transaction after the rows are inserted
    (ids of rows actually inserted, not of replayed duplicates); if it raises, the flush
    rolls back as a whole.

    Leaving the `with` block flushes what is buffered (every buffered task is complete) and,
    if a run is still open, finishes it: `interrupted` on KeyboardInterrupt, `failed` on
    another exception, `completed` otherwise.
    """

    def __init__(self, store: CaseStore, *, batch_size: int = 500) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.store = store
        self.batch_size = batch_size
        self.on_flush: FlushHook | None = None
        self.run_id: int | None = None
        self._rows: list[dict[str, Any]] = []
        self._done: set[tuple[int, bytes]] = set()
        self._thumbs: dict[str, bytes] = {}
        dialect = store.engine.dialect.name
        insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
        if insert is None:
            raise StoreError(f"unsupported database dialect {dialect!r}")
        self._copy = dialect == "postgresql"
        self._insert = insert(files).on_conflict_do_nothing(
            index_elements=[files.c.source_id, files.c.locator_key]
        )
        self._insert_done = insert(done).on_conflict_do_nothing()
        self._insert_image = insert(disk_images).on_conflict_do_nothing()
        self._images: list[dict[str, Any]] = []
        self._insert_video = insert(video_hashes).on_conflict_do_nothing()
        self._insert_frames = insert(video_frames).on_conflict_do_nothing()
        # a video content's header row and its frames, first copy in the buffer wins
        self._videos: dict[str, tuple[dict[str, Any], list[tuple[int, float, int, str]]]] = {}
        self._frame_count = 0
        self._lock: WriterLock | None = lock_case(store)

    # -- runs and sources ------------------------------------------------------------------

    def start_run(self, argv: list[str], *, settings: Settings) -> int:
        """Open a run, recording its argv and its provenance: Vigil's and the result-changing
        libraries' versions, `settings`, host, OS user, case store URL and database version
        (`store.provenance`). Settings are required: a run whose settings are unknown cannot
        be reproduced or defended."""
        provenance = store_provenance(self.store, settings)
        row = {
            "started_at": now_iso(),
            "argv": json.dumps([safe_text(a) for a in argv], ensure_ascii=False),
            "status": "running",
            # ensure_ascii: host and user names come from the OS and may hold anything
            "provenance": json.dumps(provenance, default=_json_default, ensure_ascii=True),
        }
        with self._transaction() as conn:
            # This writer holds the case's writer lock, so a run still marked running was
            # killed (the kernel dropped its lock): say so rather than leave it running.
            conn.execute(
                update(runs).where(runs.c.status == "running").values(status="interrupted")
            )
            self.run_id = conn.execute(runs.insert().returning(runs.c.id), row).scalar_one()
        return self.run_id

    def finish_run(self, status: str, counts: dict[str, Any]) -> None:
        """Flush, then close the current run with its final status and counts."""
        if status not in RUN_STATUSES - {"running"}:
            raise ValueError(f"bad run status {status!r}")
        if self.run_id is None:
            raise StoreError("finish_run() without start_run()")
        self.flush()
        values = {"finished_at": now_iso(), "status": status, "counts": json.dumps(counts)}
        with self._transaction() as conn:
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(**values))
        self.run_id = None

    def source_id(self, given: str, root: str, *, single_file: bool) -> int:
        """The id of a source, made on first sight. A source is its absolute `root` (plus the
        file name for a single file); how it was typed (`given`) does not change its identity,
        so the same source given again resumes instead of starting over."""
        root_raw = os.fsencode(root)
        identity = root_raw
        if single_file:
            identity += b"\0" + os.fsencode(os.path.basename(os.path.normpath(given)))
        key = path_key(identity)
        with self._transaction() as conn:
            found = conn.execute(select(sources.c.id).where(sources.c.identity == key)).scalar()
            if found is not None:
                return int(found)
            row = {
                "identity": key,
                "given": safe_text(given),
                "root": display_name(root_raw),
                "root_raw": root_raw,
                "single_file": single_file,
                "created_at": now_iso(),
            }
            return int(conn.execute(sources.insert().returning(sources.c.id), row).scalar_one())

    # -- records ---------------------------------------------------------------------------

    def add(
        self, source_id: int, top: bytes, records: list[FileRecord], *, done: bool = True
    ) -> None:
        """Buffer the records of one task. `top` is the task's top-level relpath.

        With `done=False` the rows are written but `top` is not marked done: for a producer
        that hands over one huge archive in several chunks and marks it with its last chunk.
        """
        top_key = path_key(top)
        for rec in records:
            self._rows.append(self._row(source_id, top, top_key, rec))
            if rec.thumbnail is not None and rec.sha256:
                self._thumbs[rec.sha256] = rec.thumbnail
            if rec.image is not None:
                self._images.append(self._image_row(source_id, rec))
            if rec.frame_hashes and rec.sha256 and rec.sha256 not in self._videos:
                self._add_video(rec)
        if done:
            self._done.add((source_id, top_key))
        if len(self._rows) >= self.batch_size or self._frame_count >= FRAME_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write thumbnails, then commit buffered rows, new video frame hashes and done-marks
        in one transaction."""
        if not self._rows and not self._done and not self._images and not self._videos:
            return
        self._write_thumbnails()
        with self._transaction() as conn:
            new_ids: list[int] = []
            if self._rows:
                # Not RETURNING: psycopg re-parses a 500-row VALUES list on every flush (3x
                # slower). With one writer, the rows this transaction inserted are the ones
                # above the highest id it started from.
                hooked = self.on_flush is not None
                before = conn.execute(select(func.max(files.c.id))).scalar() if hooked else None
                self._write(conn, self._insert, files, self._rows, ("source_id", "locator_key"))
                if hooked:
                    new_ids = list(
                        conn.execute(
                            select(files.c.id)
                            .where(files.c.id > (before or 0))
                            .order_by(files.c.id)
                        ).scalars()
                    )
            if self._images:
                conn.execute(self._insert_image, self._images)
            if self._videos:
                self._write_videos(conn)
            if self._done:
                marks = [{"source_id": sid, "top_key": key} for sid, key in sorted(self._done)]
                self._write(conn, self._insert_done, done, marks)
            if self.on_flush is not None:
                self.on_flush(conn, new_ids)
        self._rows.clear()
        self._done.clear()
        self._thumbs.clear()
        self._images.clear()
        self._videos.clear()
        self._frame_count = 0

    @property
    def pending(self) -> int:
        """Records buffered and not yet committed."""
        return len(self._rows)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self, exc: BaseException | None = None) -> None:
        """Flush, end an open run, release the writer lock. When leaving because of `exc`, a
        failing flush does not mask it: the buffered tasks are not done; the next run redoes
        them."""
        try:
            self.flush()
        except Exception as flush_exc:
            if exc is None:
                exc = flush_exc
                raise
        finally:
            try:
                if self.run_id is not None:
                    if exc is None:
                        self._end_run("completed")
                    elif isinstance(exc, KeyboardInterrupt):
                        self._end_run("interrupted")
                    else:
                        self._end_run("failed")
            finally:
                if self._lock is not None:
                    self._lock.close()
                    self._lock = None

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(exc)

    # -- internals -------------------------------------------------------------------------

    def _end_run(self, status: str) -> None:
        values = {"finished_at": now_iso(), "status": status}
        try:
            with self._transaction() as conn:
                conn.execute(update(runs).where(runs.c.id == self.run_id).values(**values))
        finally:
            self.run_id = None

    def _write(
        self,
        conn: Connection,
        insert: Insert,
        table: Table,
        rows: list[dict[str, Any]],
        conflict: tuple[str, ...] = (),
    ) -> None:
        """`insert` (… ON CONFLICT DO NOTHING) of `rows`, which all have the same keys; with
        COPY on PostgreSQL."""
        if self._copy:
            copy_insert(
                conn, table, list(rows[0]), (row.values() for row in rows), conflict=conflict
            )
        else:
            conn.execute(insert, rows)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.store.engine.begin() as conn:
                yield conn
        # psycopg's own errors come from the COPYs, which go around SQLAlchemy
        except (SQLAlchemyError, psycopg.Error) as exc:
            raise StoreError(f"database error on {self.store.describe_db()}: {exc}") from exc

    def _row(self, source_id: int, top: bytes, top_key: bytes, rec: FileRecord) -> dict[str, Any]:
        raw = rec.locator.raw
        thumb = None
        if rec.thumbnail is not None and rec.sha256:
            thumb = self.store.thumbnail_path(rec.sha256).relative_to(self.store.case_dir)
        return {
            "source_id": source_id,
            "locator": raw,
            "locator_key": top_key if raw == top else path_key(raw),
            "top": top,
            "top_key": top_key,
            "path": safe_text(rec.locator.text),
            "depth": rec.locator.depth,
            "entry": str(rec.entry),
            "size": rec.size,
            "md5": rec.md5,
            "sha1": rec.sha1,
            "sha256": rec.sha256,
            "mime": safe_text(rec.mime),
            "kind": str(rec.kind),
            "status": str(rec.status),
            "error": safe_text(rec.error),
            "width": rec.width,
            "height": rec.height,
            "pdq": rec.pdq,
            "pdq_quality": rec.pdq_quality,
            "pdq_dihedral": ",".join(rec.pdq_dihedral) if rec.pdq_dihedral else None,
            "pdq_windows": rec.pdq_windows or None,
            "pdq_version": rec.pdq_version,
            "windows_version": rec.windows_version,
            "exif": exif_json(rec.exif),
            **camera_columns(rec.exif),
            "category": rec.category,
            "warnings": json.dumps(rec.warnings) if rec.warnings else None,
            "link_target": safe_text(rec.link_target),
            "encrypted": bool(rec.encrypted),
            "mtime": rec.mtime,
            "thumbnail": thumb.as_posix() if thumb else None,
            "run_id": self.run_id,
            "deleted": bool(rec.deleted),
            "inode": rec.inode,
            "duration": rec.duration,
            "fps": rec.fps,
            "codec": safe_text(rec.codec),
            "frames_hashed": rec.frames_hashed,
        }

    def _add_video(self, rec: FileRecord) -> None:
        header = {
            "sha256": rec.sha256,
            "vpdq_version": rec.vpdq_version or "unknown",
            "frames": len(rec.frame_hashes),
            "run_id": self.run_id,
        }
        self._videos[str(rec.sha256)] = (header, rec.frame_hashes)
        self._frame_count += len(rec.frame_hashes)

    def _write_videos(self, conn: Connection) -> None:
        """The frame hashes of each buffered video content no earlier flush or run stored:
        a content's frames are written once, with its header, in the same transaction."""
        keys = list(self._videos)
        stored: set[str] = set()
        # by the thousand: one task (an archive of clips) may hold more contents than
        # SQLite's 32,766 bound parameters
        for start in range(0, len(keys), 1000):
            query = select(video_hashes.c.sha256).where(
                video_hashes.c.sha256.in_(keys[start : start + 1000])
            )
            stored.update(conn.execute(query).scalars())
        new = [key for key in keys if key not in stored]
        if not new:
            return
        conn.execute(self._insert_video, [self._videos[key][0] for key in new])
        frames = ((sha256, *frame) for sha256 in new for frame in self._videos[sha256][1])
        if self._copy:
            copy_insert(conn, video_frames, _FRAME_COLUMNS, frames)
            return
        rows: list[dict[str, Any]] = []
        for frame in frames:
            rows.append(dict(zip(_FRAME_COLUMNS, frame, strict=True)))
            if len(rows) >= _FRAME_ROWS:
                conn.execute(self._insert_frames, rows)
                rows = []
        if rows:
            conn.execute(self._insert_frames, rows)

    def _image_row(self, source_id: int, rec: FileRecord) -> dict[str, Any]:
        """The `disk_images` row of a disk image's report (kept on its first segment)."""
        image = rec.image or {}
        stored, computed = image.get("stored") or {}, image.get("computed") or {}
        segments = image.get("segments")
        return {
            "source_id": source_id,
            "locator_key": path_key(rec.locator.raw),
            "path": safe_text(rec.locator.text),
            "format": str(image.get("format")),
            "library": image.get("library"),
            "segments": json.dumps(segments, ensure_ascii=True) if segments else None,
            "media_size": image.get("media_size"),
            "stored_md5": stored.get("md5"),
            "stored_sha1": stored.get("sha1"),
            "computed_md5": computed.get("md5"),
            "computed_sha1": computed.get("sha1"),
            "verification": str(image.get("verification")),
            "detail": safe_text(image.get("detail")),
            "report": json.dumps(image, default=_json_default, ensure_ascii=True),
            "run_id": self.run_id,
        }

    def _write_thumbnails(self) -> None:
        for sha256, data in self._thumbs.items():
            path = self.store.thumbnail_path(sha256)
            if path.exists():
                continue
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
            except OSError as exc:
                raise StoreError(f"cannot write thumbnail {path}: {exc}") from exc
