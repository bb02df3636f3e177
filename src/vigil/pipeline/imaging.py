"""Everything Vigil learns from an image's bytes: EXIF (with the embedded thumbnail's hashes),
read first and kept whatever the pixels do, then from one decode the size, PDQ with its
dihedral variants and the review thumbnail."""

from __future__ import annotations

from vigil.config import Limits
from vigil.errors import ItemError
from vigil.hashing.pdq import pdq_hash
from vigil.hashing.windows import format_windows, window_hashes
from vigil.media.chatter import captured
from vigil.media.exif import read_metadata, thumbnail_summary
from vigil.media.image import decode_for_hashing
from vigil.media.thumbnail import make_thumbnail
from vigil.model import FileRecord


def analyse_image(record: FileRecord, data: bytes, limits: Limits) -> None:
    """Fill `record` from the image bytes; what the decoders say on the way goes into
    `record.warnings`."""
    with captured() as notes:
        _analyse(record, data, limits)
    record.warnings.extend(notes)


def _analyse(record: FileRecord, data: bytes, limits: Limits) -> None:
    metadata = read_metadata(data)
    record.exif = dict(metadata.exif)
    if metadata.thumbnail is not None:
        record.exif["thumbnail"] = _embedded_thumbnail_hashes(metadata.thumbnail, limits)
    try:
        decoded = decode_for_hashing(data, limits=limits)
        record.width, record.height = decoded.width, decoded.height
        result = pdq_hash(decoded.image)
    except ItemError as exc:
        record.fail(exc.status, exc.message)
        return
    record.pdq, record.pdq_quality, record.pdq_dihedral = (
        result.hash,
        result.quality,
        result.dihedral,
    )
    if limits.pdq_windows:
        record.pdq_windows = format_windows(window_hashes(decoded.image))
    record.thumbnail = make_thumbnail(
        decoded.image, limits.thumbnail_size, orientation=record.exif.get("orientation", 1)
    )


def _embedded_thumbnail_hashes(thumb: bytes, limits: Limits) -> dict:
    """The EXIF thumbnail may show the picture before it was edited or cropped, so it gets
    its own crypto and PDQ hashes."""
    summary = dict(thumbnail_summary(thumb))
    try:
        result = pdq_hash(decode_for_hashing(thumb, limits=limits).image)
        summary.update(pdq=result.hash, pdq_quality=result.quality)
    except ItemError as exc:
        summary["error"] = exc.message
    return summary
