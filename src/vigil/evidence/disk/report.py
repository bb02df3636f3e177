"""What a worker learns about a disk image as a whole, from its first segment's task: its
format and segments, the acquisition metadata and hashes it stores, its volumes, and, for
formats that store a hash of the media (EWF), whether the media still has that hash.

Verification reads the whole media once, streaming (`verify_image_hash` can skip it); a
mismatch is a loud error on the image's record, and the run goes on.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from vigil.config import Limits
from vigil.evidence.disk.media import DAMAGED_DATA, UNREADABLE_IMAGE, ImageError, Media
from vigil.evidence.disk.volumes import partitions, tsk_image, volumes

VERIFY_CHUNK = 4 << 20

# `verification` values (also in the disk_images table).
VERIFIED = "verified"
MISMATCH = "mismatch"
NOT_VERIFIED = "not verified"
NO_STORED_HASH = "no stored hash"
UNREADABLE = "unreadable"

ACQUISITION_MISMATCH = "acquisition hash mismatch"
NOT_READ = "acquisition hash not verified"

SHOW_DAMAGED = 5  # byte ranges named in the detail; the report lists them all


def image_report(
    path: bytes, format_name: str, limits: Limits
) -> tuple[dict[str, Any], str | None]:
    """(the image's report, the error for its record or None). Never raises for what the
    image contains."""
    from vigil.evidence.disk import IMAGE_FORMATS

    fmt = IMAGE_FORMATS.get(format_name)
    report: dict[str, Any] = {"format": fmt.name, "library": _version(fmt)}
    try:
        segments = fmt.segments(path)
        report["segments"] = [os.fsdecode(os.path.basename(s)) for s in segments]
        media = fmt.open(segments)
    except ImageError as exc:
        report["verification"] = UNREADABLE
        report["detail"] = exc.message
        return report, exc.message
    with media:
        report.update(media_size=media.size, stored=media.stored, info=media.info)
        image = tsk_image(media)
        try:
            _parts, table = partitions(media, image)
            report["partition_table"] = table
            report["volumes"] = [v.as_dict() for v, _fs in volumes(media, image)]
        except ImageError as exc:
            report["volumes_error"] = exc.message
        if media.problem is not None:  # its stored hashes may be gone with its end
            report["verification"] = UNREADABLE
            report["detail"] = media.problem
            return report, f"{UNREADABLE_IMAGE}: {media.problem}"
        if not media.stored:
            report["verification"] = NO_STORED_HASH
            return report, None
        if not limits.verify_image_hash:
            report["verification"] = NOT_VERIFIED
            report["detail"] = "verify_image_hash is 0"
            return report, None
        hashers = {name: hashlib.new(name) for name in media.stored if name in _ALGORITHMS}
        if not hashers:
            report["verification"] = NO_STORED_HASH
            report["detail"] = f"no hash Vigil computes is stored: {', '.join(media.stored)}"
            return report, None
        offset = 0
        try:
            while offset < media.size:
                chunk = media.read(offset, min(VERIFY_CHUNK, media.size - offset), damaged_ok=True)
                if not chunk:
                    raise OSError(f"the media ends at byte {offset} of {media.size}")
                for h in hashers.values():
                    h.update(chunk)
                offset += len(chunk)
        except OSError as exc:
            report["verification"] = UNREADABLE
            report["detail"] = str(exc)
            return report, f"{NOT_READ}: {exc}"
        computed = {name: h.hexdigest() for name, h in hashers.items()}
        report["computed"] = computed
        problems = [
            f"{n} stored {media.stored[n]}, media has {computed[n]}"
            for n, value in computed.items()
            if media.stored[n] != value
        ]
        reason = ACQUISITION_MISMATCH
        damaged = _damaged(media, report)
        if damaged:
            # a damaged chunk reads as zeros, so the hashes can still match: say it first
            reason = DAMAGED_DATA
            problems.insert(0, damaged)
        if problems:
            report["verification"] = MISMATCH
            report["detail"] = "; ".join(problems)
            return report, f"{reason}: {report['detail']}"
        report["verification"] = VERIFIED
        return report, None


def _damaged(media: Media, report: dict[str, Any]) -> str | None:
    """What the format's own chunk checksums found wrong in the media just read, or None."""
    if media.damaged is None:
        return None
    try:
        errors = media.damaged()
    except OSError as exc:
        report["damaged"] = f"not checked: {exc}"
        return None
    report["damaged"] = [{"offset": o, "length": n} for o, n in errors]
    if not errors:
        return None
    shown = ", ".join(f"{o}-{o + n - 1}" for o, n in errors[:SHOW_DAMAGED])
    more = f" and {len(errors) - SHOW_DAMAGED} more" if len(errors) > SHOW_DAMAGED else ""
    return f"{len(errors)} range(s) fail their chunk checksums, read as zeros (bytes {shown}{more})"


_ALGORITHMS = ("md5", "sha1", "sha256")


def _version(fmt: Any) -> str | None:
    try:
        return str(fmt.library_version())
    except ImageError:
        return None
