"""Vigil's errors become one logged line and the error's exit code, never a traceback: the
terminal shows it (even with -q) and the log files keep it. The codes are `EXIT_CODES` in
vigil.errors; this is the only place that turns an exception into one."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import typer

from vigil.errors import INTERRUPTED, VigilError

F = TypeVar("F", bound=Callable)

log = logging.getLogger("vigil.cli")


def reports_errors(command: F) -> F:
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except VigilError as exc:
            log.error("%s", exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            # Left to Click, Ctrl-C prints "Aborted!" and exits 1.
            log.warning("interrupted")
            raise typer.Exit(INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]
