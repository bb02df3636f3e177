"""Decoder chatter goes into the record's `warnings`, not onto stderr or the log (issue 7,
item 12): libtiff writes to fd 2 from C, Pillow warns through Python `warnings`."""

from __future__ import annotations

import logging
import os
import struct
import warnings

import pytest
from PIL import TiffImagePlugin

from tests.helpers import gradient_image, image_bytes
from vigil.config import Limits
from vigil.media.chatter import MAX_NOTES, captured
from vigil.model import FileRecord, Locator, Status
from vigil.pipeline.imaging import analyse_image


def tiff_with_undefined_tag() -> bytes:
    """An LZW TIFF (decoded by libtiff) with a private tag of a type libtiff cannot read."""
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[65000] = "private"
    info.tagtype[65000] = 2
    data = image_bytes(gradient_image(1, (64, 48)), "TIFF", compression="tiff_lzw", tiffinfo=info)
    at = data.index(struct.pack("<H", 65000))
    return data[: at + 2] + struct.pack("<H", 99) + data[at + 4 :]


def test_libtiff_stderr_is_kept_on_the_record_not_printed(capfd: pytest.CaptureFixture) -> None:
    record = FileRecord(Locator(b"scan.tif"))
    analyse_image(record, tiff_with_undefined_tag(), Limits())
    assert record.status is Status.OK
    assert any("TIFFFetchNormalTag" in w and "65000" in w for w in record.warnings)
    assert "TIFF" not in capfd.readouterr().err


def test_python_warnings_and_stderr_are_collected_tidily(capfd: pytest.CaptureFixture) -> None:
    with captured() as notes:
        warnings.warn("Corrupt EXIF data", UserWarning, stacklevel=1)
        warnings.warn("Corrupt EXIF data", UserWarning, stacklevel=1)
        for i in range(MAX_NOTES + 5):
            os.write(2, f"line {i}\n  with   spaces\n".encode())
    assert notes[0] == "Corrupt EXIF data"  # de-duplicated
    assert notes[1:3] == ["line 0", "with spaces"]
    assert len(notes) == MAX_NOTES
    assert capfd.readouterr().err == ""
    os.write(2, b"after\n")  # fd 2 is restored
    assert capfd.readouterr().err == "after\n"


@pytest.mark.parametrize("name", ["PIL.TiffImagePlugin", "exifread", "vigil.media.exiftool"])
def test_decoder_loggers_warn_into_the_notes_not_the_log(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger(name)
    with caplog.at_level(logging.DEBUG), captured() as notes:
        logger.warning("Possibly corrupted field %s", "SerialNumber")
        logger.info("opened")  # progress, not a problem with the file
    assert notes == ["Possibly corrupted field SerialNumber"]
    assert caplog.records == []
    logger.warning("outside a file")  # the loggers are as they were
    assert [r.getMessage() for r in caplog.records] == ["outside a file"]


def test_a_clean_image_has_no_warnings() -> None:
    record = FileRecord(Locator(b"ok.png"))
    analyse_image(record, image_bytes(gradient_image(2, (64, 48)), "PNG"), Limits())
    assert record.status is Status.OK and record.warnings == []
