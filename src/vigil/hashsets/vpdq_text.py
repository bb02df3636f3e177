"""vPDQ's reference text form: one line per frame, `frame,quality,pdq_hex,timestamp`, as
`vpdq-hash-video` and `vpdq::io::outputVPDQFeatureToFile` write it (the timestamp fixed with
3 decimals) and the sample-hashes/*.txt files hold. One file is one video, named by its stem.

Vigil also reads (and `vigil hash --format vpdq` writes, for several videos) `# name` lines:
each starts a new video with that name. Blank lines are skipped; the reference's reader would
refuse both, so a one-video file is written without them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from vigil.errors import HashSetFormatError
from vigil.hashing.vpdq import FrameHash
from vigil.hashsets.entry import check_not_empty, head_lines, norm_hex
from vigil.hashsets.video_entry import (
    VideoHashRecord,
    check_frames,
    iter_long_lines,
    seconds,
    whole,
)

_LINE = re.compile(r"\s*\d+\s*,\s*\d{1,3}\s*,\s*[0-9A-Fa-f]{64}\s*,\s*[0-9.eE+-]+\s*")


def parse_frame(text: str, line: int) -> FrameHash:
    """One `frame,quality,hex,timestamp` line (the reference needs exactly four fields)."""
    parts = text.split(",")
    if len(parts) != 4:
        raise HashSetFormatError(
            f"expected frame,quality,hash,timestamp (4 fields), got {len(parts)}", line=line
        )
    where = {"line": line}
    return FrameHash(
        frame_number=whole(parts[0], "frame number", low=0, high=None, where=where),
        quality=whole(parts[1], "quality", low=0, high=100, where=where),
        pdq=norm_hex(parts[2], "pdq", line=line),
        timestamp=seconds(parts[3], where=where),
    )


def read_stream(fh: IO[bytes], name: str | None) -> Iterator[VideoHashRecord]:
    """The videos in a binary stream of the text form; `name` for frames before any
    `# name` line."""
    frames: list[FrameHash] = []
    start: int | None = None
    count = 0
    for number, text in iter_long_lines(fh):
        body = text.strip()
        if not body:
            continue
        if body.startswith("#"):
            if frames:
                count += 1
                yield VideoHashRecord(tuple(frames), name, start)
            frames, start, name = [], None, body[1:].strip() or None
            continue
        frames.append(parse_frame(body, number))
        check_frames(len(frames), {"line": number})
        start = number if start is None else start
    if frames:
        count += 1
        yield VideoHashRecord(tuple(frames), name, start)
    if not count:
        raise HashSetFormatError("no vPDQ frame lines in file")


def write_text(frames: Iterable[FrameHash], fh: IO[str]) -> None:
    """The reference's form exactly: `frame,quality,hex,timestamp` with 3 decimals."""
    for frame in frames:
        if frame.frame_number is None:
            raise ValueError("the reference text form needs frame numbers")
        fh.write(frame.line() + "\n")


class VpdqTextFormat:
    name = "vpdq"
    version = "1"

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = [t for t in head_lines(head) if not t.lstrip().startswith("#")]
        return bool(lines) and all(_LINE.fullmatch(t) for t in lines)

    def read_videos(self, path: Path) -> Iterator[VideoHashRecord]:
        path = Path(path)
        check_not_empty(path)
        with open(path, "rb") as fh:
            yield from read_stream(fh, path.stem)
