"""What reading a maker-note serial costs (issue 7, item 9): one request to the long-lived
`exiftool -stay_open` process (Sony, Panasonic, Olympus notes) against ExifRead's in-process
parse (a Canon note) and against the whole image analysis of a small photo with no maker note
(EXIF, decode, PDQ with its dihedral variants, review thumbnail), as `analyse_image` does it.

Each maker note is laid out as the camera writes it (see tests/media/test_serials.py) inside a
JPEG's APP1 block; the timed call is `makernote_serial`, which builds the reduced block and
parses it. Prints the median and 95th percentile of `--calls` calls each, the one-off cost of
starting exiftool, and the ratios.

    .venv/bin/python benchmarks/serials.py [--calls 500]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import struct
import sys
import time
from collections.abc import Callable
from functools import partial

from vigil.config import Limits
from vigil.media.serials import makernote_serial
from vigil.model import FileRecord, Locator
from vigil.pipeline.imaging import analyse_image
from vigil.synthetic.images import camera_jpeg

ASCII, LONG, UNDEFINED = 2, 4, 7
SONY_CIPHER = bytes((b**3) % 249 if b < 249 else b for b in range(256))
Entry = tuple[int, int, int, bytes]


def ifd(at: int, entries: list[Entry]) -> bytes:
    """A little-endian TIFF directory at offset `at`, its long values right after it."""
    head = 2 + 12 * len(entries) + 4
    table, data = struct.pack("<H", len(entries)), b""
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, count, at + head + len(data))
            data += value + b"\x00" * (len(value) % 2)
    return table + struct.pack("<I", 0) + data


def tiff_block(make: str, note: Callable[[int], bytes]) -> tuple[bytes, int]:
    """(TIFF block, offset of its Exif IFD): IFD0 with Make and the ExifIFD pointer, then an
    Exif IFD whose MakerNote is `note(offset of the note)`."""
    raw = make.encode() + b"\x00"
    ifd0 = ifd(8, [(0x010F, ASCII, len(raw), raw), (0x8769, LONG, 1, b"\x00" * 4)])
    exif_at = 8 + len(ifd0)
    ifd0 = ifd(8, [(0x010F, ASCII, len(raw), raw), (0x8769, LONG, 1, struct.pack("<I", exif_at))])
    body = note(exif_at + 2 + 12 + 4)
    return b"II*\x00\x08\x00\x00\x00" + ifd0 + ifd(exif_at, [(0x927C, 7, len(body), body)]), exif_at


def canon(at: int) -> bytes:
    return ifd(at, [(0x0006, ASCII, 8, b"EOS R5\x00\x00"), (0x000C, LONG, 1, b"\x39\x30\x00\x00")])


def panasonic(at: int) -> bytes:
    serial = b"F541209250339".ljust(16, b"\x00")
    return b"Panasonic\x00\x00\x00" + ifd(at + 12, [(0x0025, UNDEFINED, 16, serial)])


def sony(at: int) -> bytes:
    plain = bytearray(0x200)
    plain[0x88:0x8E] = b"\x12\x34\x56\x78\x9a\x0b"
    block = bytes(plain).translate(SONY_CIPHER)
    return b"SONY DSC \x00\x00\x00" + ifd(at + 12, [(0x9050, UNDEFINED, len(block), block)])


def olympus(_at: int) -> bytes:
    equipment = [(0x0101, ASCII, 32, b"BHP201234".ljust(32, b"\x00"))]
    sub = 12 + 2 + 12 + 4
    return (
        b"OLYMPUS\x00II\x03\x00"
        + ifd(12, [(0x2010, 13, 1, struct.pack("<I", sub))])
        + ifd(sub, equipment)
    )


NOTES = {
    "ExifRead, Canon": ("Canon", "Canon EOS R5", canon),
    "exiftool, Panasonic": ("Panasonic", "DC-GH5", panasonic),
    "exiftool, Sony": ("SONY", "ILCE-7M3", sony),
    "exiftool, Olympus": ("OLYMPUS IMAGING CORP.", "E-M5", olympus),
}


def times(call: Callable[[], object], n: int) -> list[float]:
    call()  # warms caches, loads the maker's ExifTool module
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def row(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"{name:<34} median {median * 1e3:8.3f} ms   p95 {p95 * 1e3:8.3f} ms")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    if shutil.which("exiftool") is None:
        sys.exit("exiftool is not installed (Debian: libimage-exiftool-perl)")

    started = time.perf_counter()
    tiff, exif_ifd = tiff_block("Panasonic", panasonic)
    first = makernote_serial(tiff, exif_ifd, "Panasonic", "DC-GH5")
    print(f"{'exiftool start + first request':<34} {(time.perf_counter() - started) * 1e3:8.1f} ms")
    assert first == ("(F54) 2012:09:25 no. 0339", "Panasonic"), first

    n, medians = args.calls, {}
    for name, (make, model, note) in NOTES.items():
        tiff, exif_ifd = tiff_block(make, note)
        assert makernote_serial(tiff, exif_ifd, make, model) is not None, name
        medians[name] = row(name, times(partial(makernote_serial, tiff, exif_ifd, make, model), n))

    photo = camera_jpeg(7, 640, 480)
    ingest = row(
        "analyse_image, 640x480 JPEG",
        times(lambda: analyse_image(FileRecord(Locator(b"p.jpg")), photo, Limits()), n // 5),
    )
    request = statistics.median(v for k, v in medians.items() if k.startswith("exiftool"))
    print(f"exiftool request / ExifRead parse: {request / medians['ExifRead, Canon']:6.1f}x")
    print(f"exiftool request / image analysis: {request / ingest:6.2f}x")


if __name__ == "__main__":
    main()
