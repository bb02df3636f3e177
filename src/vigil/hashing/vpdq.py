"""vPDQ, Meta's video hash, compatible with the reference (facebook/ThreatExchange vpdq): the
frames sampled every `seconds_per_hash` (0: every frame), each PDQ-hashed by pdqhash (via
`vigil.hashing.pdq`) with its quality, frame number and timestamp.

`VpdqAlgorithm` is the hash-algorithm seam (ARCHITECTURE.md): a persisted `name`, a `version`
naming the implementation, and `settings` naming what changes its output; ingest records all
three per file. Comparison of two frame lists lives in `vigil.hashing.vpdq_match`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar

import av
import numpy as np
from PIL import Image

from vigil.errors import ImageError
from vigil.hashing.conventions import installed_version
from vigil.hashing.pdq import hamming, pdq_single
from vigil.media.video import (
    DecodeOutcome,
    SampledFrame,
    VideoLimits,
    VideoProbe,
    open_video,
)

NAME = "vpdq"
IMPLEMENTATION = "vigil-vpdq-1"
MIN_SIDE = 5  # the reference refuses to hash frames narrower or lower than this
# What IMPLEMENTATION 1 means: frames chosen and numbered as the reference does (the first
# video stream; every int(seconds_per_hash × fps)-th frame in presentation order, fps being
# avg_frame_rate else r_frame_rate; timestamp = number / fps in float32), converted to RGB24 at
# the stream's coded size, or the downsample size, by swscale's area filter, each hashed by
# pdqhash's PDQ on that buffer. On the reference's own FFmpeg build the native hashes are
# bit-identical to vpdq 0.2.5's (tests/hashing/test_vpdq.py, oracle tests).


def _libav() -> str:
    major, minor, micro = av.library_versions["libavcodec"]
    return f"{major}.{minor}.{micro}"


@dataclass(frozen=True, slots=True)
class FrameHash:
    """One vPDQ feature. `frame_number` is None when the list it came from has none
    (python-threatexchange's JSON form); `pdq` is 64 lowercase hex digits."""

    frame_number: int | None
    quality: int
    pdq: str
    timestamp: float

    def line(self) -> str:
        """The reference's text line (vpdq-hash-video, sample-hashes/*.txt), no newline."""
        return f"{self.frame_number},{self.quality},{self.pdq},{self.timestamp:.3f}"


@dataclass(frozen=True, slots=True)
class VideoHash:
    """A video's vPDQ hash: its frames, what the container said, how decoding ended, and the
    algorithm that made it (name, version, settings: all three go into the store)."""

    frames: tuple[FrameHash, ...]
    probe: VideoProbe
    outcome: DecodeOutcome
    name: str
    version: str
    settings: tuple[tuple[str, str], ...]

    @property
    def reason(self) -> str | None:
        """None when the whole video was hashed; otherwise why it stopped (frames hashed
        before that are kept)."""
        return self.outcome.reason


FrameHook = Callable[[SampledFrame, FrameHash], None]
ProbeHook = Callable[[VideoProbe], None]


@dataclass(frozen=True, slots=True)
class VpdqAlgorithm:
    """vPDQ with the settings that change its output.

    `seconds_per_hash`: 0 hashes every frame; otherwise every int(s × fps)-th frame (at least
    every frame). `downsample`: (width, height) frames are scaled to before hashing, either 0
    for "keep"; None for the coded size. Both reference parameters, same meaning.
    `mirror`: hash each frame flipped left-right (the real pixels), so that a mirrored copy
    of a known video can be found; not a reference parameter (off: reference output).
    """

    seconds_per_hash: float = 1.0
    downsample: tuple[int, int] | None = None
    mirror: bool = False
    name: ClassVar[str] = NAME
    limits: VideoLimits = field(default_factory=VideoLimits, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.seconds_per_hash <= 3600:
            raise ValueError("seconds_per_hash must be 0 to 3600")
        if self.downsample is not None:
            w, h = self.downsample
            if (
                not (0 <= w <= 16384 and 0 <= h <= 16384)
                or (0 < w < MIN_SIDE)
                or (0 < h < MIN_SIDE)
            ):
                raise ValueError("downsample sides must be 0 (keep) or 5 to 16384 pixels")

    @property
    def version(self) -> str:
        """The implementation and the builds its bits depend on, e.g.
        "vigil-vpdq-1/pdqhash-0.2.8/libavcodec-62.28.102"."""
        return f"{IMPLEMENTATION}/pdqhash-{installed_version('pdqhash')}/libavcodec-{_libav()}"

    @property
    def settings(self) -> tuple[tuple[str, str], ...]:
        """The output-changing settings as sorted (key, text) pairs, for the store."""
        down = "native"
        if self.downsample and any(self.downsample):
            down = f"{self.downsample[0]}x{self.downsample[1]}"
        return (
            ("downsample", down),
            ("mirror", "yes" if self.mirror else "no"),
            ("seconds_per_hash", f"{self.seconds_per_hash:g}"),
        )

    @property
    def convention(self) -> str:
        """`version` and `settings` in one text, stored with the frame hashes: two vPDQ
        hashes are comparable only when made the same way, e.g.
        "vigil-vpdq-1/pdqhash-0.2.8/libavcodec-62.28.102/downsample=native,mirror=no,…"."""
        return f"{self.version}/" + ",".join(f"{k}={v}" for k, v in self.settings)

    def every(self, fps: float) -> int:
        """The reference's frame step: int(seconds_per_hash × fps), at least 1."""
        return max(1, int(self.seconds_per_hash * fps))

    def hash_stream(
        self,
        stream: BinaryIO,
        *,
        on_frame: FrameHook | None = None,
        on_open: ProbeHook | None = None,
        decode_all: bool = False,
    ) -> VideoHash:
        """Hash the video in `stream`. Raises `VideoError` when it cannot be opened or has no
        video (`vigil.media.video` reasons); otherwise returns what was hashed, with
        `VideoHash.reason` saying why it stopped early, if it did. `on_open` sees the probe
        before decoding, `on_frame` every sampled frame and its hash (for a contact sheet
        built in the same pass)."""
        with open_video(stream, limits=self.limits) as video:
            probe = video.probe
            if on_open is not None:
                on_open(probe)
            size = self._size(probe)
            frames: list[FrameHash] = []
            for sampled in video.frames(
                self.every(probe.fps or 0), size=size, decode_all=decode_all
            ):
                if min(sampled.image.shape[:2]) < MIN_SIDE:
                    video.outcome.notes.append("frame too small to hash")
                    continue
                pixels = sampled.image
                if self.mirror:
                    pixels = np.ascontiguousarray(pixels[:, ::-1])
                try:
                    hex_hash, quality = pdq_single(_as_rgb(pixels))
                except ImageError as exc:
                    video.outcome.decode_errors += 1
                    video.outcome.notes.append(exc.message)
                    continue
                feature = FrameHash(sampled.number, quality, hex_hash, sampled.timestamp)
                frames.append(feature)
                if on_frame is not None:
                    on_frame(sampled, feature)
            return VideoHash(
                tuple(frames), probe, video.outcome, self.name, self.version, self.settings
            )

    def _size(self, probe: VideoProbe) -> tuple[int, int] | None:
        if not self.downsample:
            return None
        w, h = self.downsample
        return (w or probe.width, h or probe.height)


def _as_rgb(pixels: np.ndarray) -> Image.Image:
    """An RGB24 array as the Pillow image `pdq_single` takes, sharing the array's memory."""
    height, width = pixels.shape[:2]
    return Image.frombuffer("RGB", (width, height), pixels, "raw", "RGB", 0, 1)


def lines(frames: Iterable[FrameHash]) -> Iterable[str]:
    """The reference's text form, one line (with newline) per frame."""
    for frame in frames:
        yield frame.line() + "\n"


def distance(a: FrameHash, b: FrameHash) -> int:
    return hamming(a.pdq, b.pdq)
