"""The PDQ convention for every format and every EXIF orientation: stored pixels are hashed,
the stored size is recorded, the orientation is recorded and not applied (issue 7, item 8).
Pillow's TIFF loader rotates the pixels and deletes the tag, so TIFF is where this breaks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.helpers import gradient_image, image_bytes
from vigil.config import Limits
from vigil.hashing.pdq import pdq_hash
from vigil.media.image import decode_for_hashing
from vigil.model import FileRecord, Locator, Status
from vigil.pipeline.imaging import analyse_image

STORED = gradient_image(8, (96, 64))  # landscape, so a quarter turn shows in the size
FORMATS = {
    "TIFF": {},
    "TIFF-lzw": {"compression": "tiff_lzw"},
    "TIFF-jpeg": {"compression": "jpeg"},
    "PNG": {},
    "WEBP": {"lossless": True},
    "JPEG": {"quality": 95},
}


def photo(fmt: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return image_bytes(STORED, fmt.split("-")[0], exif=exif, **FORMATS[fmt])


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", FORMATS)
def test_stored_pixels_hashed_orientation_recorded(fmt: str, orientation: int) -> None:
    data = photo(fmt, orientation)
    record = FileRecord(Locator(b"x"))
    analyse_image(record, data, Limits())
    assert record.status is Status.OK
    assert (record.width, record.height) == STORED.size
    assert record.exif["orientation"] == orientation
    # The stored pixels, identical to the same file written without the tag.
    untagged = decode_for_hashing(photo(fmt, 1), limits=Limits()).image
    got = decode_for_hashing(data, limits=Limits()).image
    assert got.size == STORED.size
    assert np.array_equal(np.asarray(got), np.asarray(untagged))
    assert record.pdq == pdq_hash(untagged).hash
    # The review thumbnail is shown upright: a quarter turn for orientations 5-8.
    shown = Image.open(io.BytesIO(record.thumbnail)).size
    assert shown == (STORED.size[::-1] if orientation >= 5 else STORED.size)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_lossless_tiff_hashes_exactly_the_stored_picture(orientation: int) -> None:
    got = decode_for_hashing(photo("TIFF", orientation), limits=Limits()).image
    assert np.array_equal(np.asarray(got), np.asarray(STORED))
