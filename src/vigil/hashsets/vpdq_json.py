"""python-threatexchange's vPDQ form (`VPDQSignal`): a video is a JSON array of strings
`"<pdq_hex>,<quality>,<timestamp>"` (`vpdq_to_json`; no frame numbers; the timestamp written
with 3 significant digits, so 989.967 reads back as 990.0), or in the legacy form a JSON
object keyed by frame number, `{"<n>": {"quality": q, "hash": hex or {"w": [16 words]},
"timestamp": t}}` (`OLD_json_to_vpdq`, and the older test files with Hash256 words).

Files that hold such signals, all read here:
- one JSON document: one video (named by the file's stem);
- one signal per line, `vpdq <json>` or bare `<json>` (`LocalFileSignalExchangeAPI`); lines of
  other signal types (`pdq <hex>` …) belong to other readers and are skipped;
- `threatexchange dataset --csv` output: a header naming `signal_type` and `signal_str`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from vigil.errors import HashSetFormatError
from vigil.hashing.vpdq import FrameHash
from vigil.hashsets.entry import check_not_empty, header_key, make_extra, norm_hex, strip_bom
from vigil.hashsets.video_entry import (
    MAX_VIDEO_LINE,
    VideoHashRecord,
    check_frames,
    iter_long_lines,
    seconds,
    whole,
)

SIGNAL = "vpdq"
_OTHER_SIGNALS = frozenset(
    {"pdq", "video_md5", "video_sha256", "url", "url_md5", "raw_text", "trend_query", "pdq_ocr"}
)
MAX_DOCUMENT = 256 * 1024 * 1024


def parse_signal(data: Any, where: dict) -> tuple[FrameHash, ...]:
    """A decoded signal (list of feature strings, or the legacy object) → frames."""
    if isinstance(data, list):
        frames = tuple(_feature(item, where) for item in data)
    elif isinstance(data, dict):
        frames = tuple(_legacy(key, value, where) for key, value in data.items())
    else:
        raise HashSetFormatError("a vPDQ signal is a JSON array or object", **where)
    check_frames(len(frames), where)
    return frames


def _feature(item: object, where: dict) -> FrameHash:
    if not isinstance(item, str):
        raise HashSetFormatError("a vPDQ feature is a string 'hex,quality,timestamp'", **where)
    parts = item.split(",")
    if len(parts) != 3:
        raise HashSetFormatError(f"bad vPDQ feature {item[:80]!r}: need 3 fields", **where)
    return FrameHash(
        frame_number=None,
        quality=whole(parts[1], "quality", low=0, high=100, where=where),
        pdq=norm_hex(parts[0], "pdq", **where),
        timestamp=seconds(parts[2], where=where),
    )


def _legacy(key: str, value: object, where: dict) -> FrameHash:
    if not isinstance(value, dict):
        raise HashSetFormatError(f"frame {key[:20]!r}: expected an object", **where)
    raw = value.get("hash")
    if isinstance(raw, dict) and isinstance(raw.get("w"), list):
        words = raw["w"]
        if len(words) != 16 or not all(
            isinstance(w, int) and not isinstance(w, bool) and 0 <= w < 65536 for w in words
        ):
            raise HashSetFormatError(f"frame {key[:20]!r}: bad Hash256 words", **where)
        hex_hash = "".join(f"{w:04x}" for w in reversed(words))  # w[15] first, as format()
    elif isinstance(raw, str):
        hex_hash = norm_hex(raw, "pdq", **where)
    else:
        raise HashSetFormatError(f"frame {key[:20]!r}: no hash", **where)
    return FrameHash(
        frame_number=whole(key, "frame number", low=0, high=None, where=where),
        quality=whole(value.get("quality"), "quality", low=0, high=100, where=where),
        pdq=hex_hash,
        timestamp=seconds(value.get("timestamp", 0), where=where),
    )


def to_signal(frames: Iterable[FrameHash]) -> str:
    """The signal string (`vpdq_to_json`'s shape). Timestamps get 3 decimals rather than
    python-threatexchange's 3 significant digits, which its reader takes the same way."""
    return json.dumps([f"{f.pdq},{f.quality},{f.timestamp:.3f}" for f in frames])


def write_signals(records: Iterable[VideoHashRecord], fh: IO[str]) -> None:
    """A `LocalFileSignalExchangeAPI` file: `vpdq <json>` per video."""
    for record in records:
        fh.write(f"{SIGNAL} {to_signal(record.frames)}\n")


def _loads(text: str, where: dict) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise HashSetFormatError(f"bad JSON: {exc}", **where) from None


class VpdqJsonFormat:
    name = "vpdq-json"
    version = "1"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = strip_bom(head).lstrip()
        if text.startswith(b"vpdq ["):
            return True
        if text[:1] in (b"[", b"{"):
            return b'"quality"' in text[:4096] or _looks_like_features(text[:4096])
        first = text.split(b"\n", 1)[0].decode("utf-8", "replace")
        keys = [header_key(k) for k in first.split(",")]
        return "signal_type" in keys and "signal_str" in keys and b"vpdq" in text

    def read_videos(self, path: Path) -> Iterator[VideoHashRecord]:
        path = Path(path)
        check_not_empty(path)
        with open(path, "rb") as fh:
            head = strip_bom(fh.read(MAX_VIDEO_LINE))
            fh.seek(0)
            first = head.split(b"\n", 1)[0].decode("utf-8", "replace")
            keys = [header_key(k) for k in first.split(",")]
            if "signal_type" in keys and "signal_str" in keys:
                yield from _read_csv(fh)
                return
            if head.lstrip()[:1] in (b"[", b"{") and not _first_line_complete(head):
                yield _read_document(fh, path.stem)
                return
            yield from _read_lines(fh, path.stem)


def _looks_like_features(text: bytes) -> bool:
    return text.startswith(b'["') and text[2:66].isalnum() and text[66:67] == b","


def _first_line_complete(head: bytes) -> bool:
    """Whether the first line is a whole JSON value (one signal per line)."""
    first = head.split(b"\n", 1)[0].strip()
    try:
        json.loads(first)
    except ValueError:
        return False
    return True


def _read_document(fh: IO[bytes], name: str) -> VideoHashRecord:
    data = fh.read(MAX_DOCUMENT + 1)
    if len(data) > MAX_DOCUMENT:
        raise HashSetFormatError("JSON document too large for one video")
    try:
        text = strip_bom(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HashSetFormatError(f"not valid UTF-8 at byte {exc.start}") from None
    frames = parse_signal(_loads(text, {"record": 1}), {"record": 1})
    if not frames:
        raise HashSetFormatError("the vPDQ signal has no frames")
    return VideoHashRecord(frames, name, 1)


def _read_lines(fh: IO[bytes], stem: str) -> Iterator[VideoHashRecord]:
    records: list[VideoHashRecord] = []
    for number, text in iter_long_lines(fh):
        body = text.strip()
        if not body or body.startswith("#"):
            continue
        word, _, rest = body.partition(" ")
        if word.lower() == SIGNAL:
            body = rest.strip()
        elif word.lower() in _OTHER_SIGNALS:
            continue
        where = {"line": number}
        frames = parse_signal(_loads(body, where), where)
        records.append(VideoHashRecord(frames, None, number))
    if not records:
        raise HashSetFormatError("no vPDQ signals in file")
    if len(records) == 1:
        only = records[0]
        records = [VideoHashRecord(only.frames, stem, only.line)]
    yield from records


def _read_csv(fh: IO[bytes]) -> Iterator[VideoHashRecord]:
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    count = 0
    # csv's field limit is process-wide: raised for this reader (a signal_str is one video's
    # JSON, megabytes for a long one), put back afterwards
    previous = csv.field_size_limit(MAX_VIDEO_LINE)
    try:
        header = [header_key(h) for h in next(reader)]
        cols = {name: i for i, name in reversed(list(enumerate(header)))}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue

            def cell(name: str, row: list[str] = row) -> str | None:
                i = cols.get(name)
                return row[i].strip() or None if i is not None and i < len(row) else None

            if (cell("signal_type") or "").lower() != SIGNAL:
                continue
            where = {"line": line}
            frames = parse_signal(_loads(cell("signal_str") or "", where), where)
            extra = make_extra(
                {"collab": cell("collab"), "te_category": cell("category"), "tags": cell("tags")}
            )
            count += 1
            yield VideoHashRecord(frames, None, line, extra)
    except csv.Error as exc:
        raise HashSetFormatError(f"bad CSV: {exc}", line=reader.line_num) from None
    except UnicodeDecodeError as exc:
        raise HashSetFormatError(f"not valid UTF-8 at byte {exc.start}") from None
    finally:
        csv.field_size_limit(previous)
        text.detach()
    if not count:
        raise HashSetFormatError("no vpdq rows in the CSV")
