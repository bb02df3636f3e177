"""Everything Vigil learns from a picture's bytes. An image: EXIF (and its thumbnail's hashes),
kept whatever the pixels do, then from one decode the size, PDQ and its variants, the review
thumbnail. A video: its container's facts, vPDQ frame hashes, a contact sheet of those frames."""

from __future__ import annotations

from typing import BinaryIO

from vigil.config import Limits
from vigil.errors import ItemError
from vigil.hashing.pdq import pdq_hash
from vigil.hashing.vpdq import VpdqAlgorithm
from vigil.hashing.windows import format_windows, window_hashes
from vigil.media.chatter import MAX_NOTES, captured
from vigil.media.contact_sheet import ContactSheet
from vigil.media.exif import read_metadata, thumbnail_summary
from vigil.media.image import decode_for_hashing
from vigil.media.thumbnail import make_thumbnail
from vigil.media.video import NO_VIDEO, SampledFrame, VideoError, VideoLimits, VideoProbe
from vigil.model import FileRecord, Status


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


def video_algorithm(limits: Limits) -> VpdqAlgorithm:
    """vPDQ as ingest runs it: the reference's defaults (a frame a second at the coded size)
    within the per-file budgets of the settings."""
    budget = VideoLimits(max_seconds=limits.video_max_seconds, max_frames=limits.video_max_frames)
    return VpdqAlgorithm(limits=budget)


def analyse_video(record: FileRecord, stream: BinaryIO, limits: Limits) -> None:
    """Fill `record` from the video in `stream`, read from its start (seekable: an mp4's index
    may be at its end). The frames vPDQ samples also feed the contact sheet, so each is
    decoded once. Whatever decoded before a stop (a budget, truncation, corrupt packets) is
    kept, and the stop is the record's error; a file with no video stream is skipped."""
    algorithm = video_algorithm(limits)
    record.frames_hashed = 0
    sheets: list[ContactSheet] = []

    def opened(probe: VideoProbe) -> None:
        record.width, record.height = probe.width, probe.height
        record.duration, record.fps, record.codec = probe.duration, probe.fps, probe.video_codec
        sheets.append(ContactSheet(probe.duration, cell_width=limits.thumbnail_size))

    def sampled(frame: SampledFrame, _hash: object) -> None:
        sheets[0].offer(frame.timestamp, frame.image)

    with captured() as notes:
        try:
            result = algorithm.hash_stream(stream, on_open=opened, on_frame=sampled)
        except VideoError as exc:
            record.fail(Status.SKIPPED if exc.reason == NO_VIDEO else Status.ERROR, exc.message)
            result = None
    record.warnings.extend(notes)
    if result is None:
        return
    record.frame_hashes = [
        (f.frame_number or 0, f.timestamp, f.quality, f.pdq) for f in result.frames
    ]
    record.frames_hashed = len(record.frame_hashes)
    record.vpdq_version = algorithm.convention if record.frame_hashes else None
    for note in result.outcome.notes:  # "frame too small to hash" comes once per frame
        if note not in record.warnings and len(record.warnings) < MAX_NOTES:
            record.warnings.append(note)
    if result.reason is not None:
        detail = result.outcome.detail
        record.fail(Status.ERROR, f"{result.reason}: {detail}" if detail else result.reason)
    if sheets and sheets[0].frames:
        record.thumbnail = sheets[0].render()
