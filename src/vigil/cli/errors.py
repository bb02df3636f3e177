"""Vigil's errors become one logged line and the error's exit code, never a traceback: the
terminal shows it (even with -q) and the log files keep it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import typer

from vigil.errors import VigilError

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

    return wrapper  # type: ignore[return-value]
