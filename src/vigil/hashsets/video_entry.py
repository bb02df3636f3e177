"""The VideoHashRecord value the vPDQ list readers yield, their contract (`VideoHashListFormat`,
read with `read_videos`: a video list is not a list of `HashEntry` pictures), and the field
rules both vPDQ forms share.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from vigil.errors import HashSetFormatError
from vigil.hashing.vpdq import FrameHash
from vigil.hashsets.entry import iter_stream_lines

MAX_VIDEO_LINE = 64 * 1024 * 1024  # one video per line: 10 h at 1 frame/s is about 3 MB
MAX_FRAMES = 10_000_000  # frames in one video record

_INT = re.compile(r"[+-]?\d{1,12}")


@dataclass(frozen=True, slots=True)
class VideoHashRecord:
    """One known video from a vPDQ list: its frame hashes in list order, the name the list
    gives it (the file's stem for a one-video file), the line it starts on, and a few
    format-specific facts as sorted (key, text) pairs (python-threatexchange's collab,
    category and tags)."""

    frames: tuple[FrameHash, ...]
    name: str | None = None
    line: int | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def extras(self) -> dict[str, str]:
        return dict(self.extra)


class VideoHashListFormat(Protocol):
    """A vPDQ list exchange format. `name` is persisted with every imported list."""

    name: str
    version: str

    def sniff(self, path: Path, head: bytes) -> bool:
        """Cheap content test on the first ~64 KiB."""
        ...

    def read_videos(self, path: Path) -> Iterator[VideoHashRecord]:
        """Stream videos; raise HashSetFormatError(line=/record=) on the first bad one."""
        ...


def whole(text: object, what: str, *, low: int, high: int | None, where: dict) -> int:
    """A bounded integer written as decimal digits (or a JSON integer)."""
    if isinstance(text, bool):
        raise HashSetFormatError(f"{what} is a boolean", **where)
    if isinstance(text, int):
        value = text
    elif isinstance(text, str) and _INT.fullmatch(text.strip()):
        value = int(text.strip())
    else:
        raise HashSetFormatError(f"{what} {str(text)[:40]!r} is not a whole number", **where)
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise HashSetFormatError(f"{what} {value} out of range {bounds}", **where)
    return value


def seconds(text: object, *, where: dict) -> float:
    """A timestamp: a finite, non-negative number (written `1.000`, `1.0` or `9.9e+02`)."""
    if isinstance(text, bool):
        raise HashSetFormatError("timestamp is a boolean", **where)
    try:
        value = float(text.strip() if isinstance(text, str) else text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise HashSetFormatError(f"timestamp {str(text)[:40]!r} is not a number", **where) from None
    if not math.isfinite(value) or value < 0:
        raise HashSetFormatError(f"timestamp {value} must be finite and >= 0", **where)
    return value


def iter_long_lines(fh: IO[bytes]) -> Iterator[tuple[int, str]]:
    """`iter_stream_lines` with room for one whole video on a line."""
    return iter_stream_lines(fh, max_line=MAX_VIDEO_LINE)


def check_frames(count: int, where: dict) -> None:
    if count > MAX_FRAMES:
        raise HashSetFormatError(f"more than {MAX_FRAMES} frames in one video", **where)


def sniff_video_format(
    path: Path, head: bytes, formats: Iterator[VideoHashListFormat] | list
) -> VideoHashListFormat | None:
    """The first of `formats` whose `sniff` accepts the head, or None."""
    for fmt in formats:
        if fmt.sniff(path, head):
            return fmt
    return None
