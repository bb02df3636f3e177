"""Hash-list exchange formats: one module per format, registered here explicitly (in sniffing
order: the most specific first), and `sniff_format` for `--format auto`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.errors import HashSetFormatError
from vigil.hashsets.csv_generic import CsvFormat
from vigil.hashsets.entry import HEAD_SIZE, HashEntry, HashSetFormat, check_not_empty, read_head
from vigil.hashsets.hashdeep import HashdeepFormat
from vigil.hashsets.hashkeeper import HashKeeperFormat
from vigil.hashsets.icse import IcseFormat
from vigil.hashsets.md5sum import Md5sumFormat
from vigil.hashsets.nsrl import NsrlFormat
from vigil.hashsets.pdq_list import PdqListFormat, looks_bare_hex64
from vigil.hashsets.vics import VicsFormat
from vigil.hashsets.vics_export import write_vics
from vigil.plugins import Registry

if TYPE_CHECKING:
    from vigil.hashsets.video_entry import VideoHashListFormat, VideoHashRecord

__all__ = [
    "FORMATS",
    "VIDEO_FORMATS",
    "HashEntry",
    "HashSetFormat",
    "VideoHashListFormat",
    "VideoHashRecord",
    "get_format",
    "sniff_format",
    "write_vics",
]

FORMATS: Registry[HashSetFormat] = Registry("hash-set format")
for _fmt in (
    VicsFormat(),
    NsrlFormat(),
    HashKeeperFormat(),
    IcseFormat(),
    HashdeepFormat(),
    PdqListFormat(),
    Md5sumFormat(),
    CsvFormat(),
):
    FORMATS.register(_fmt.name, _fmt)

_video_formats: Registry[VideoHashListFormat] | None = None


def _build_video_formats() -> Registry[VideoHashListFormat]:
    """vPDQ lists hold videos (`read_videos` → VideoHashRecord), so they have their own
    registry. Built on first use: their frame type lives with the video hasher (PyAV, numpy,
    Pillow), which `vigil hashset import --help` must not load."""
    from vigil.hashsets.vpdq_json import VpdqJsonFormat
    from vigil.hashsets.vpdq_text import VpdqTextFormat

    registry: Registry[VideoHashListFormat] = Registry("video hash-list format")
    for fmt in (VpdqTextFormat(), VpdqJsonFormat()):
        registry.register(fmt.name, fmt)
    return registry


def __getattr__(name: str) -> Any:
    """`VIDEO_FORMATS` and the video record types, imported on first access (PEP 562)."""
    global _video_formats
    if name == "VIDEO_FORMATS":
        if _video_formats is None:
            _video_formats = _build_video_formats()
        return _video_formats
    if name in ("VideoHashListFormat", "VideoHashRecord"):
        from vigil.hashsets import video_entry

        return getattr(video_entry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sniff_format(path: Path) -> HashSetFormat:
    """The first registered format whose `sniff` accepts the file's head."""
    path = Path(path)
    check_not_empty(path)
    try:
        head = read_head(path, HEAD_SIZE)
    except OSError as exc:
        raise HashSetFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    for fmt in FORMATS:
        if fmt.sniff(path, head):
            return fmt
    if looks_bare_hex64(head):
        raise HashSetFormatError(
            "ambiguous hash-set format: lines of 64 hex digits may be SHA-256 or PDQ; "
            "pass --format md5sum or --format pdq"
        )
    raise HashSetFormatError(f"unrecognised hash-set format (tried: {', '.join(FORMATS.names())})")


def get_format(name: str, path: Path | None = None) -> HashSetFormat:
    """`--format` value → format; "auto" sniffs `path`."""
    if name == "auto":
        if path is None:
            raise ValueError("format 'auto' needs the file to sniff")
        return sniff_format(path)
    return FORMATS.get(name)
