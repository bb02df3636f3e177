"""Where Vigil's log records go: the terminal, at the level -v/-q choose, and log files (the
`--log-file` given, a run's own file under CASE/logs/), always in full, so the terminal can be
quiet while the case keeps what happened and when."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

LOGGER = "vigil"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PREFIXES = {logging.WARNING: "warning", logging.ERROR: "error", logging.CRITICAL: "error"}


@dataclass(frozen=True)
class Verbosity:
    """What the global options asked for; commands read it from the Typer context's `obj`."""

    verbose: bool = False
    quiet: bool = False

    @property
    def terminal_level(self) -> int:
        if self.quiet:
            return logging.ERROR
        return logging.DEBUG if self.verbose else logging.INFO

    @property
    def file_level(self) -> int:
        return logging.DEBUG if self.verbose else logging.INFO


def verbosity_of(ctx: typer.Context) -> Verbosity:
    """The global options' choice, or the defaults for a command run without them."""
    return ctx.obj if isinstance(ctx.obj, Verbosity) else Verbosity()


class TerminalHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is when a record comes: a Rich live display swaps it to
    print lines above its bars, and test runners swap it for every call."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            prefix = PREFIXES.get(record.levelno)
            if prefix and stream.isatty():
                prefix = f"\x1b[1;31m{prefix}:\x1b[0m "
            elif prefix:
                prefix = f"{prefix}: "
            stream.write(f"{prefix or ''}{self.format(record)}\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def file_handler(path: Path, level: int) -> logging.FileHandler:
    """Appends, one UTC-stamped line per record; the folder is made if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    formatter = logging.Formatter(FILE_FORMAT, datefmt="%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.setLevel(level)
    return handler


@contextmanager
def handlers_on(*handlers: logging.Handler) -> Iterator[None]:
    """The handlers receive Vigil's records for the block, then are closed."""
    logger = logging.getLogger(LOGGER)
    for handler in handlers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()


@contextmanager
def logging_for(verbosity: Verbosity, log_file: Path | None) -> Iterator[None]:
    """Vigil's logging for one command: the terminal, and `log_file` when given. Vigil's
    records stop at its own logger, so a host application's logging setup never doubles them."""
    logger = logging.getLogger(LOGGER)
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    terminal = TerminalHandler(verbosity.terminal_level)
    extra = [file_handler(log_file, verbosity.file_level)] if log_file else []
    try:
        with handlers_on(terminal, *extra):
            yield
    finally:
        logger.setLevel(level)
        logger.propagate = propagate
