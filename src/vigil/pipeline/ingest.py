"""Ingest orchestration: walk sources, skip what is done, fan tasks out to an executor and
hand every result to the single writer.

Memory stays flat whatever the collection size: the walk is a generator, done-lookups go
to the store in fixed-size batches, the executor holds a bounded window of batches, and the
writer flushes every `batch_size` records.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import stat
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from vigil.config import Settings
from vigil.errors import EvidenceError
from vigil.evidence.folder import SourceRoot, WalkItem
from vigil.evidence.sources import source_for
from vigil.model import FileRecord, Status, Task
from vigil.pipeline.executor import Executor, executor_for
from vigil.pipeline.matcher import Matcher
from vigil.pipeline.video_matcher import VideoMatcher, match_videos
from vigil.pipeline.worker import process_batch
from vigil.store import CaseStore, RecordWriter, done_tops
from vigil.triage.grouping import update_groups

LOOKUP_BATCH = 500
BATCH_MAX_TASKS = 64
BATCH_MAX_BYTES = 64 << 20
SOURCE_HINT = "check the path (is the evidence mounted and readable by this user?), then run again"

log = logging.getLogger(__name__)


class ProgressSink(Protocol):
    """What the orchestrator reports; the CLI renders it as a Rich bar or as log lines."""

    def totals(self, files: int, nbytes: int, final: bool) -> None: ...

    def advance(self, files: int, nbytes: int) -> None: ...


@dataclass
class IngestSummary:
    run_id: int
    files_seen: int = 0
    already_done: int = 0
    records: int = 0
    bytes_read: int = 0
    by_status: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "files_seen": self.files_seen,
            "already_done": self.already_done,
            "records": self.records,
            "bytes_read": self.bytes_read,
            "by_status": dict(self.by_status),
        }

    def line(self, status: str) -> str:
        by_status = ", ".join(f"{k} {v:,}" for k, v in sorted(self.by_status.items()))
        return (
            f"run {self.run_id} {status}: {self.files_seen:,} entries seen, "
            f"{self.already_done:,} already done, {self.records:,} records written "
            f"({by_status or 'none'})"
        )


def check_sources(sources: Sequence[str]) -> list[SourceRoot]:
    """Every SOURCE resolved and opened once, before a run starts: a typo or an unmounted
    disk must cost one error line, not a progress bar at zero and a failed run. Only folders
    and regular files are opened (and nothing is read); a FIFO or device given as a source is
    recorded as such by the walk, never opened.

    A SOURCE that is a symbolic link is refused, not followed: the walk never follows links
    in evidence (one may point outside it), so the link alone would be one skipped record and
    a run that says "completed" over nothing read. The message names the target, so the
    investigator passes the real path, and the records say where the bytes were read."""
    roots = []
    for given in sources:
        try:
            root = SourceRoot.resolve(given)
            path = os.path.join(root.root, os.fsdecode(root.single)) if root.single else root.root
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                link = os.readlink(path)
            elif stat.S_ISDIR(mode):
                with os.scandir(path):
                    pass
            elif stat.S_ISREG(mode):
                os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW))
        except OSError as exc:
            raise EvidenceError(
                f"source {given!r} cannot be read: {exc.strerror}; {SOURCE_HINT}"
            ) from exc
        except EvidenceError as exc:
            raise EvidenceError(f"{exc}; {SOURCE_HINT}") from exc
        if stat.S_ISLNK(mode):
            raise EvidenceError(
                f"source {given!r} is a symbolic link to {link!r}, and Vigil does not follow "
                f"links in evidence: pass the target, {os.path.realpath(path)!r}, as the SOURCE"
            )
        roots.append(root)
    return list(dict.fromkeys(roots))


def ingest(
    store: CaseStore,
    sources: Sequence[str],
    settings: Settings,
    *,
    progress: ProgressSink,
    argv: Sequence[str] = (),
    executor: Executor | None = None,
    on_run: Callable[[int], None] | None = None,
) -> IngestSummary:
    """Ingest every SOURCE into the case. Safe to interrupt and to run again.

    Every source is checked before the run row is written; `on_run` gets the run's id as
    soon as there is one (the CLI opens the run's log file with it)."""
    roots = check_sources(sources)
    own_executor = executor is None
    if executor is None:
        executor = executor_for(settings)
    counter = _Counter(roots, progress)
    with (
        Matcher(store, settings) as matcher,
        RecordWriter(store, batch_size=settings.batch_size) as writer,
    ):
        # Matching inside each flush lets a reviewer start on known material before the end.
        writer.on_flush = matcher.match_files
        summary = IngestSummary(run_id=writer.start_run(list(argv), settings=settings))
        status = "failed"
        try:
            if on_run is not None:
                on_run(summary.run_id)
            log.info("run %d started: %s", summary.run_id, ", ".join(r.given for r in roots))
            source_ids = {
                r: writer.source_id(r.given, r.root, single_file=r.single is not None)
                for r in roots
            }
            counter.start()
            tasks = _pending_tasks(store, roots, source_ids, summary, progress)
            work = functools.partial(process_batch, limits=settings.limits)
            for batch, result in executor.map_unordered(work, _batches(tasks)):
                results = result if isinstance(result, list) else _failed(batch, result)
                for task, records in zip(batch, results, strict=True):
                    _report_images(task, records)
                    writer.add(task.source_id, task.top, records)
                    summary.records += len(records)
                    summary.by_status.update(r.status.value for r in records)
                    summary.bytes_read += task.size
                    progress.advance(1, task.size)
            writer.flush()
            # Videos are matched once their frames are all stored: the run's new contents
            # against the case's video lists (pictures were matched flush by flush).
            videos = match_videos(store, VideoMatcher(store, settings), run_id=summary.run_id)
            if videos.videos:
                log.info("video matching: %d new contents, %d matches", videos.videos, videos.added)
            # Still under the writer's lock: the groups learn the run's files incrementally.
            grouped = update_groups(store, settings)
            log.info(
                "grouping: %d new contents, %d clustered, %d new clusters, series ties %s",
                grouped.contents,
                grouped.clustered,
                grouped.new_clusters,
                grouped.series_ties or "none",
            )
            status = "completed"
        except KeyboardInterrupt:
            writer.flush()
            status = "interrupted"
            raise
        finally:
            counter.stop()
            if own_executor:
                executor.close()
            writer.finish_run(status, summary.as_dict())
            log.info("%s", summary.line(status))
    return summary


def _report_images(task: Task, records: list[FileRecord]) -> None:
    """A disk image's verification goes to the log as it lands; a mismatch loudly."""
    if task.image_format is None or not records or records[0].image is None:
        return
    record, image = records[0], records[0].image
    verdict = image.get("verification")
    if verdict == "mismatch":
        # Damaged chunks make a mismatch even where the hashes agree (libewf reads them as
        # zeros, and a seized disk is mostly zeros).
        what = "IMAGE DATA DAMAGED" if image.get("damaged") else "ACQUISITION HASH MISMATCH"
        log.error(
            "%s: %s (%s): %s; the run goes on, the image's record carries the error",
            what,
            record.path,
            image.get("format"),
            image.get("detail"),
        )
    elif verdict == "verified":
        log.info("%s: acquisition hash verified (%s)", record.path, ", ".join(image["computed"]))
    elif verdict == "no stored hash":
        log.info("%s: %s image, no acquisition hash stored", record.path, image.get("format"))
    else:
        log.warning("%s: acquisition hash %s: %s", record.path, verdict, image.get("detail", ""))


def _failed(batch: list[Task], exc: BaseException) -> list[list[FileRecord]]:
    """A batch whose worker died still yields one error record per task."""
    return [
        [
            FileRecord(locator=t.locator, source_id=t.source_id, entry=t.entry).fail(
                Status.ERROR, f"worker failed: {exc}"
            )
        ]
        for t in batch
    ]


def _pending_tasks(
    store: CaseStore,
    roots: list[SourceRoot],
    source_ids: dict[SourceRoot, int],
    summary: IngestSummary,
    progress: ProgressSink,
) -> Iterator[Task]:
    for root in roots:
        source_id = source_ids[root]
        items = source_for(root).walk(root)
        while chunk := list(itertools.islice(items, LOOKUP_BATCH)):
            summary.files_seen += len(chunk)
            with store.engine.connect() as conn:
                done = done_tops(conn, source_id, [i.locator.top for i in chunk])
            for item in chunk:
                if item.locator.top in done:
                    summary.already_done += 1
                    progress.advance(1, item.size)
                    continue
                yield _task(source_id, root, item)


def _task(source_id: int, root: SourceRoot, item: WalkItem) -> Task:
    return Task(
        source_id=source_id,
        root=root.root,
        locator=item.locator,
        entry=item.entry,
        size=item.size,
        link_target=item.link_target,
        error=item.error,
        image_format=item.image_format,
        deleted=item.deleted,
        encrypted=item.encrypted,
        mtime=item.mtime,
    )


def _batches(tasks: Iterable[Task]) -> Iterator[list[Task]]:
    """Group small files so one IPC round trip carries many; a big file travels alone."""
    batch: list[Task] = []
    size = 0
    for task in tasks:
        batch.append(task)
        size += task.size
        if len(batch) >= BATCH_MAX_TASKS or size >= BATCH_MAX_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class _Counter:
    """Counts the sources in a background thread so the progress bar gets a total and an
    ETA without delaying the first hashes."""

    def __init__(self, roots: list[SourceRoot], progress: ProgressSink) -> None:
        self._roots = roots
        self._progress = progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vigil-count", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # a run can fail before the count starts
            self._thread.join()

    def _run(self) -> None:
        files = nbytes = 0
        try:
            for root in self._roots:
                for item in source_for(root).walk(root):
                    if self._stop.is_set():
                        return
                    files += 1
                    nbytes += item.size
                    if files % 10_000 == 0:
                        self._progress.totals(files, nbytes, final=False)
        except Exception:  # the main walk reports it; a count is only a courtesy
            return
        self._progress.totals(files, nbytes, final=True)
