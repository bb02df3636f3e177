"""Videos read from a binary stream with PyAV (FFmpeg inside its wheel): `probe` facts
(container, codecs, duration, size, frame rate, creation time, device tags) and `frames`, the
frames sampled every N-th frame, decoding only what those frames need, within hard limits.

A file object is read in place — a file, an archive member's bytes in memory — never copied
to a temporary file. Hostile input (garbage, truncation, absurd sizes, endless streams, audio
only) never raises out of `VideoSource.frames`: what decoded within the limits is yielded and
`VideoSource.outcome` says why it stopped.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import av
import av.error
import numpy as np

from vigil.errors import ItemError

# Stable `reason` texts (ItemError.reason, DecodeOutcome.reason): kept free of per-file detail.
EMPTY = "empty video"
UNREADABLE = "unreadable video"  # no demuxer of ours recognises it, or its index is missing
NO_VIDEO = "no video stream"  # e.g. audio only
UNSUPPORTED_CODEC = "unsupported video codec"
TOO_LARGE = "video too large"  # frame dimensions past VideoLimits.max_pixels
NO_FRAME_RATE = "no frame rate"
NO_FRAMES = "no frames decoded"  # a video stream with no packet that decodes
CORRUPT = "corrupt video"  # some packets failed to decode; what decoded is kept
TRUNCATED = "truncated video"  # the data ends before the container says it does
TIME_BUDGET = "time budget"
FRAME_BUDGET = "frame budget"

# Demuxers we open (FFmpeg's `format_whitelist`; a name matches each comma part of a demuxer's
# name, so "mov" admits "mov,mp4,m4a,3gp,3g2,mj2"). Left out on purpose: playlists and
# manifests that open further files or URLs (hls, dash, concat, ffmetadata, image2 patterns),
# lavfi, devices, and text or image formats. Audio demuxers are in so that an audio-only file
# is told apart ("no video stream") from an unknown one.
DEMUXERS = (
    "mov,matroska,avi,flv,mpegts,mpeg,asf,ogg,h264,hevc,m4v,mpegvideo,mxf,nut,ivf,dv,rm,wtv,"
    "mp3,aac,wav,flac"
)
PROBE_BYTES = 10_000_000  # how far FFmpeg may read to find the streams
PROBE_MICROSECONDS = 10_000_000
MAX_GOP_PACKETS = 1024  # a longer run without a keyframe is decided in chunks of this size
MAX_TAG_TEXT = 256
_DEVICE_TAGS = {
    # ISO BMFF / QuickTime keys as FFmpeg names them, and Matroska/AVI equivalents
    "make": "make",
    "com.apple.quicktime.make": "make",
    "model": "model",
    "com.apple.quicktime.model": "model",
    "com.apple.quicktime.software": "software",
    "software": "software",
    "encoder": "encoder",
    "com.android.version": "android_version",
    "com.android.manufacturer": "make",
    "com.android.model": "model",
    "location": "location",
    "com.apple.quicktime.location.iso6709": "location",
    "com.apple.quicktime.creationdate": "creation_date",
    "date": "creation_date",
}


class VideoError(ItemError):
    """A video that cannot be opened or has nothing to decode (`reason` is one of the
    module's constants)."""


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """Limits for hostile input, per file. `max_seconds` is wall time for open + decode,
    `max_frames` the frames sampled (hashed), `max_pixels` one frame's width × height."""

    max_seconds: float = 300.0
    max_frames: int = 36_000
    max_pixels: int = 7680 * 4320
    threads: int = 1  # decoder threads; ingest runs one file per core

    def __post_init__(self) -> None:
        if self.max_seconds <= 0 or self.max_frames < 1 or self.max_pixels < 1:
            raise ValueError("video limits must be positive")


@dataclass(frozen=True, slots=True)
class VideoProbe:
    """What the container says, before decoding. Durations in seconds; None when unknown.
    `tags` are device and creation facts (make, model, software, encoder, location,
    creation_date) as (key, text) pairs, sorted."""

    container: str
    duration: float | None
    video_codec: str
    width: int
    height: int
    fps: float | None
    frame_count: int | None  # as declared (mp4's sample table); None when not declared
    bit_rate: int | None
    pixel_format: str | None
    audio_codecs: tuple[str, ...]
    creation_time: str | None
    tags: tuple[tuple[str, str], ...] = ()
    streams: int = 1


@dataclass(frozen=True, slots=True)
class SampledFrame:
    """One sampled frame: `number` is its 0-based position in presentation order (the
    reference's frame number), `timestamp` = number / fps in seconds (the reference's, which
    it computes in float32), `image` an RGB24 array (height, width, 3), C-contiguous."""

    number: int
    timestamp: float
    image: np.ndarray


@dataclass(slots=True)
class DecodeOutcome:
    """How a `frames` run ended. `reason` None: every frame of the stream was considered;
    otherwise one of the module's reason constants, with `detail` for the log."""

    reason: str | None = None
    detail: str | None = None
    packets: int = 0  # video packets demuxed
    decoded: int = 0  # frames the decoder produced
    sampled: int = 0  # frames yielded
    skipped_packets: int = 0  # packets never sent to the decoder (not needed)
    decode_errors: int = 0
    seconds: float = 0.0
    last_timestamp: float | None = None
    rotation: int | None = None  # the display matrix of the first decoded frame, in degrees
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.reason is None


def open_video(stream: BinaryIO, *, limits: VideoLimits | None = None) -> VideoSource:
    """Open the video in `stream` (readable; seekable for containers whose index is at the
    end, such as most mp4 files). Raises `VideoError` (EMPTY, UNREADABLE, NO_VIDEO,
    UNSUPPORTED_CODEC, TOO_LARGE, NO_FRAME_RATE); use the result as a context manager."""
    return VideoSource(stream, limits or VideoLimits())


class VideoSource:
    """An opened video: `probe`, then one `frames` iteration, then `outcome`."""

    def __init__(self, stream: BinaryIO, limits: VideoLimits) -> None:
        self.limits = limits
        self.outcome = DecodeOutcome()
        self._started = time.monotonic()
        self._container = _open_container(stream, limits)
        try:
            self._stream = self._pick_stream()
            self.probe = _probe(self._container, self._stream)
            if self.probe.width * self.probe.height > limits.max_pixels:
                raise VideoError(TOO_LARGE, f"{self.probe.width}x{self.probe.height}")
            if not self.probe.fps:
                raise VideoError(NO_FRAME_RATE)
        except BaseException:
            self._container.close()
            raise

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _pick_stream(self) -> av.VideoStream:
        videos = [s for s in self._container.streams.video if s.codec_context is not None]
        if not videos:
            raise VideoError(NO_VIDEO)
        stream = videos[0]  # the reference hashes the first video stream
        if not stream.codec_context.is_decoder:
            raise VideoError(UNSUPPORTED_CODEC, stream.codec_context.name)
        return stream

    def frames(
        self,
        every: int = 1,
        *,
        size: tuple[int, int] | None = None,
        decode_all: bool = False,
    ) -> Iterator[SampledFrame]:
        """Frames numbered 0, every, 2·every … (in presentation order), converted to RGB24 at
        `size` (width, height; default the stream's) by swscale's area filter, as the vPDQ
        reference does.

        Only what those frames need is decoded: packets are gathered per keyframe interval
        (GOP); a GOP with no wanted frame is never decoded, one is decoded up to its last
        wanted frame, and non-reference frames that are not wanted are skipped in the decoder
        (skip_frame NONREF, per packet) — exact, since nothing depends on them. `decode_all`
        decodes every packet, as the reference does (for benchmarks and comparisons).
        """
        if every < 1:
            raise ValueError("every must be at least 1")
        width, height = size or (self.probe.width, self.probe.height)
        run = _Run(self, every, decode_all)
        try:
            for number, frame in run:
                if self.outcome.sampled >= self.limits.max_frames:
                    self._stop(FRAME_BUDGET, f"{self.limits.max_frames} frames")
                    return
                if frame.width * frame.height > self.limits.max_pixels:
                    self._stop(TOO_LARGE, f"a frame of {frame.width}x{frame.height}")
                    return
                image = frame.reformat(
                    width=width, height=height, format="rgb24", interpolation="AREA"
                ).to_ndarray()
                self.outcome.sampled += 1
                stamp = float(np.float32(number) / np.float32(self.probe.fps))
                self.outcome.last_timestamp = stamp
                yield SampledFrame(number, stamp, np.ascontiguousarray(image))
        finally:
            self.outcome.seconds = time.monotonic() - self._started
        if self.outcome.reason is None:
            self._judge_end(run)

    def _stop(self, reason: str, detail: str | None = None) -> None:
        if self.outcome.reason is None:
            self.outcome.reason, self.outcome.detail = reason, detail

    def over_time(self) -> bool:
        return time.monotonic() - self._started > self.limits.max_seconds

    def _judge_end(self, run: _Run) -> None:
        out = self.outcome
        if out.decoded == 0:
            self._stop(NO_FRAMES, f"{out.packets} packets, {out.decode_errors} decode errors")
        elif run.truncated():
            self._stop(TRUNCATED, run.truncation_detail())
        elif out.decode_errors:
            self._stop(CORRUPT, f"{out.decode_errors} packets failed to decode")


class _Run:
    """One pass over the packets, yielding (number, decoded frame) for the wanted frames."""

    def __init__(self, source: VideoSource, every: int, decode_all: bool) -> None:
        self.source = source
        self.every = every
        self.decode_all = decode_all
        self.stream = source._stream
        self.codec = self.stream.codec_context
        self.codec.thread_count = source.limits.threads
        self.codec.thread_type = "SLICE"  # frame threads would delay the skip_frame switch
        self.next_number = 0  # the number the next GOP starts at
        self.wanted: dict[int, deque[int]] = defaultdict(deque)  # pts → numbers
        self.untimed: deque[int] = deque()  # numbers of wanted frames without a pts
        self.last_time: float | None = None
        self.demux_error: str | None = None

    def __iter__(self) -> Iterator[tuple[int, av.VideoFrame]]:
        out = self.source.outcome
        gop: list[av.Packet] = []
        try:
            packets = self.source._container.demux(self.stream)
            while True:
                if self.source.over_time():
                    self.source._stop(TIME_BUDGET, f"{self.source.limits.max_seconds:g} s")
                    return
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except (av.error.FFmpegError, OSError) as exc:
                    self.demux_error = f"{type(exc).__name__}: {exc}"
                    break
                if packet.size == 0:  # PyAV's end-of-stream marker
                    continue
                out.packets += 1
                self._track_time(packet)
                if gop and (packet.is_keyframe or len(gop) >= MAX_GOP_PACKETS):
                    yield from self._gop(gop)
                    if self.source.outcome.reason is not None:
                        return
                    gop = []
                gop.append(packet)
            if gop:
                yield from self._gop(gop)
            if self.source.outcome.reason is None:
                yield from self._decode(None, wanted=True)
        finally:
            self.codec.skip_frame = "DEFAULT"

    def _track_time(self, packet: av.Packet) -> None:
        when = packet.pts if packet.pts is not None else packet.dts
        if when is not None and packet.time_base is not None:
            end = float((when + (packet.duration or 0)) * packet.time_base)
            self.last_time = end if self.last_time is None else max(self.last_time, end)

    def _gop(self, gop: list[av.Packet]) -> Iterator[tuple[int, av.VideoFrame]]:
        """Number the GOP's packets by presentation order and decode what the wanted ones
        need."""
        keys = [p.pts if p.pts is not None else p.dts for p in gop]
        if any(k is None for k in keys):
            order = list(range(len(gop)))  # no timestamps: decode order is all we have
        else:
            order = sorted(range(len(gop)), key=lambda i: (keys[i], i))
        numbers = [0] * len(gop)
        for rank, index in enumerate(order):
            numbers[index] = self.next_number + rank
        self.next_number += len(gop)
        targets = {i for i, n in enumerate(numbers) if n % self.every == 0}
        last = len(gop) - 1 if self.decode_all else max(targets, default=-1)
        self.source.outcome.skipped_packets += len(gop) - 1 - last
        for i in range(last + 1):
            if self.source.over_time():
                self.source._stop(TIME_BUDGET, f"{self.source.limits.max_seconds:g} s")
                return
            wanted = i in targets
            if wanted:
                if gop[i].pts is None:
                    self.untimed.append(numbers[i])
                else:
                    self.wanted[gop[i].pts].append(numbers[i])
            yield from self._decode(gop[i], wanted=wanted or self.decode_all)

    def _decode(
        self, packet: av.Packet | None, *, wanted: bool
    ) -> Iterator[tuple[int, av.VideoFrame]]:
        out = self.source.outcome
        self.codec.skip_frame = "DEFAULT" if wanted else "NONREF"
        try:
            frames = self.codec.decode(packet)
        except (av.error.FFmpegError, ValueError) as exc:
            out.decode_errors += 1
            if len(out.notes) < 5:
                out.notes.append(f"{type(exc).__name__}: {exc}")
            return
        for frame in frames:
            out.decoded += 1
            if out.rotation is None:
                out.rotation = int(frame.rotation) % 360
            number = self._number(frame)
            if number is not None:
                yield number, frame

    def _number(self, frame: av.VideoFrame) -> int | None:
        if frame.pts is not None and self.wanted.get(frame.pts):
            numbers = self.wanted[frame.pts]
            number = numbers.popleft()
            if not numbers:
                del self.wanted[frame.pts]
            return number
        if frame.pts is None and self.untimed:
            return self.untimed.popleft()
        return None

    def truncated(self) -> bool:
        if self.demux_error is not None:
            return True
        # mp4 declares its samples (the moov's table, or each fragment's run as it is read)
        declared = max(self.source.probe.frame_count or 0, _index_size(self.stream))
        if declared and self.source.outcome.packets < declared:
            return True
        duration = self.source.probe.duration
        if duration and self.last_time is not None:
            return self.last_time < duration - max(1.0, 0.05 * duration)
        return False

    def truncation_detail(self) -> str:
        if self.demux_error is not None:
            return self.demux_error
        declared = max(self.source.probe.frame_count or 0, _index_size(self.stream))
        return (
            f"{self.source.outcome.packets} of {declared or '?'} packets, "
            f"data to {self.last_time or 0:.1f} s of {self.source.probe.duration or 0:.1f} s"
        )


def _index_size(stream: av.VideoStream) -> int:
    try:
        return len(stream.index_entries)
    except (AttributeError, TypeError):
        return 0


def _open_container(stream: BinaryIO, limits: VideoLimits) -> av.container.InputContainer:
    if _is_empty(stream):
        raise VideoError(EMPTY)
    options = {
        "format_whitelist": DEMUXERS,
        "protocol_whitelist": "none",  # nothing may open a second file or a URL
        "probesize": str(PROBE_BYTES),
        "analyzeduration": str(PROBE_MICROSECONDS),
    }
    try:
        return av.open(stream, "r", container_options=options, timeout=(limits.max_seconds, None))
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as exc:
        raise VideoError(UNREADABLE, f"{type(exc).__name__}: {exc}") from exc


def _is_empty(stream: BinaryIO) -> bool:
    try:
        if stream.seekable():
            here = stream.tell()
            end = stream.seek(0, 2)
            stream.seek(here)
            return end == here
    except (OSError, ValueError):
        return False
    return False


def _probe(container: av.container.InputContainer, stream: av.VideoStream) -> VideoProbe:
    cc = stream.codec_context
    rate = stream.average_rate or stream.base_rate  # the reference: avg, else r_frame_rate
    duration = None
    if container.duration:
        duration = container.duration / av.time_base
    elif stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    meta = {k.lower(): v for k, v in container.metadata.items()}
    stream_meta = {k.lower(): v for k, v in stream.metadata.items()}
    tags: dict[str, str] = {}
    for source in (stream_meta, meta):  # container tags win
        for key, value in source.items():
            name = _DEVICE_TAGS.get(key)
            if name and str(value).strip():
                tags[name] = str(value).strip()[:MAX_TAG_TEXT]
    return VideoProbe(
        container=container.format.name,
        duration=duration,
        video_codec=cc.name,
        width=cc.width,
        height=cc.height,
        fps=float(rate) if rate else None,
        frame_count=stream.frames or None,
        bit_rate=container.bit_rate or None,
        pixel_format=cc.pix_fmt,
        audio_codecs=tuple(a.codec_context.name for a in container.streams.audio),
        creation_time=meta.get("creation_time") or stream_meta.get("creation_time"),
        tags=tuple(sorted(tags.items())),
        streams=len(container.streams),
    )
