"""Progress for long jobs: a Rich bar on a terminal, periodic plain log lines otherwise."""

from __future__ import annotations

import logging
import threading
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

log = logging.getLogger("vigil.progress")


class RichProgress:
    """Two bars: files (with count, rate, ETA) and bytes (with MB/s)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
        )
        self._bytes = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
        )
        self._files_task = self._progress.add_task("files", total=None, rate="")
        self._bytes_task = self._bytes.add_task("bytes", total=None)
        self._started = time.monotonic()
        self._done = 0

    def __enter__(self) -> RichProgress:
        self._progress.start()
        self._bytes.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bytes.stop()
        self._progress.stop()

    def totals(self, files: int, nbytes: int, final: bool) -> None:
        self._progress.update(self._files_task, total=files)
        self._bytes.update(self._bytes_task, total=nbytes)

    def advance(self, files: int, nbytes: int) -> None:
        self._done += files
        rate = self._done / max(time.monotonic() - self._started, 1e-6)
        self._progress.update(self._files_task, advance=files, rate=f"{rate:,.1f} files/s")
        self._bytes.update(self._bytes_task, advance=nbytes)


class LogProgress:
    """One log line every `interval` seconds, for log files and CI where a redrawn bar is
    noise: on the terminal unless -q, and in the run's log file either way."""

    def __init__(self, interval: float = 5.0) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._started = self._last = time.monotonic()
        self._files = self._bytes = 0
        self._total_files: int | None = None
        self._total_bytes: int | None = None

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._line()

    def totals(self, files: int, nbytes: int, final: bool) -> None:
        with self._lock:
            self._total_files, self._total_bytes = files, nbytes

    def advance(self, files: int, nbytes: int) -> None:
        with self._lock:
            self._files += files
            self._bytes += nbytes
            if time.monotonic() - self._last >= self._interval:
                self._line()

    def _line(self) -> None:
        self._last = now = time.monotonic()
        elapsed = max(now - self._started, 1e-6)
        total = f"/{self._total_files:,}" if self._total_files is not None else ""
        log.info(
            "ingest: %s",
            f"{self._files:,}{total} files, {self._bytes / 1e6:,.1f} MB, "
            f"{self._files / elapsed:,.1f} files/s, {self._bytes / 1e6 / elapsed:,.1f} MB/s",
        )


def progress_for(console: Console, *, quiet: bool = False) -> RichProgress | LogProgress:
    """Bars on a terminal; log lines elsewhere, and under -q (where only the log file shows
    them)."""
    return RichProgress(console) if console.is_terminal and not quiet else LogProgress()
