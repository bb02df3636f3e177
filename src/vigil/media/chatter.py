"""Decoder chatter captured per file: Python warnings, the warnings of the `PIL`, `exifread`
and `vigil.media` loggers, and what C libraries (libtiff, libjpeg, libheif) write straight to
file descriptor 2. Kept on the record as `warnings` instead of flooding the ingest log, where
it cannot be told apart per file."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import warnings
from collections.abc import Iterator

MAX_NOTES = 20  # a hostile file can warn once per tile; the first few say what is wrong
MAX_NOTE = 200
_MAX_STDERR = 64 * 1024
_LOGGERS = ("PIL", "exifread", "vigil.media")


class _Collect(logging.Handler):
    def __init__(self, notes: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.notes = notes

    def emit(self, record: logging.LogRecord) -> None:
        self.notes.append(record.getMessage())


@functools.cache
def _scratch() -> int:
    """One in-memory file per process for fd 2 to point at while decoding (no disk I/O)."""
    return os.memfd_create("vigil-stderr", os.MFD_CLOEXEC)


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """Collect the chatter of the block into the yielded list (filled when the block ends):
    short, de-duplicated lines, at most `MAX_NOTES`, each at most `MAX_NOTE` characters.

    Redirecting fd 2 is process-wide, so this assumes one decode at a time per process, as
    in the worker processes; the block's own `sys.stderr` writes are captured too.
    """
    notes: list[str] = []
    handler = _Collect(notes)
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    propagate = [logger.propagate for logger in loggers]
    scratch = _scratch()
    os.lseek(scratch, 0, os.SEEK_SET)
    os.ftruncate(scratch, 0)
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(scratch, 2)
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False  # the file's notes are kept on its record, not logged too
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield notes
        notes.extend(str(w.message) for w in caught)
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        for logger, before in zip(loggers, propagate, strict=True):
            logger.removeHandler(handler)
            logger.propagate = before
        os.lseek(scratch, 0, os.SEEK_SET)
        notes.extend(os.read(scratch, _MAX_STDERR).decode("utf-8", "replace").splitlines())
        notes[:] = _tidy(notes)


def _tidy(notes: list[str]) -> list[str]:
    out: list[str] = []
    for note in notes:
        text = " ".join(note.split())[:MAX_NOTE]
        if text and text not in out:
            out.append(text)
    return out[:MAX_NOTES]
