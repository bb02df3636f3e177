"""Everything Vigil learns from an image's bytes, from one decode: size, PDQ with its dihedral
variants, EXIF (with the embedded thumbnail's hashes) and the review thumbnail."""

from __future__ import annotations

from vigil.config import Limits
from vigil.errors import ItemError
from vigil.hashing.pdq import pdq_hash
from vigil.hashing.windows import format_windows, window_hashes
from vigil.media.exif import embedded_thumbnail, extract_exif, thumbnail_summary
from vigil.media.image import decode_for_hashing
from vigil.media.thumbnail import make_thumbnail
from vigil.model import FileRecord


def analyse_image(record: FileRecord, data: bytes, limits: Limits) -> None:
    try:
        decoded = decode_for_hashing(data, limits=limits)
        record.width, record.height = decoded.width, decoded.height
        record.exif = extract_exif(decoded.original)
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
    thumb = embedded_thumbnail(decoded.original)
    if thumb is not None:
        record.exif["thumbnail"] = _embedded_thumbnail_hashes(thumb, limits)
    record.thumbnail = make_thumbnail(decoded.image, limits.thumbnail_size)


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
