"""Benign, seeded videos made with PyAV: moving generated scenes (a slow pan over
`images.scene` pictures, a new scene every few seconds), and the edits near-duplicate video
tests need (a clip cut out, a lower resolution, a mirror, a logo bar), plus audio-only files.

Frames are RGB numpy arrays; `encode` turns any frame iterator into container bytes in memory.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction

import av
import numpy as np
from PIL import Image

from vigil.synthetic import images

Frames = Iterator[np.ndarray]

# x264 as a phone or an editor leaves it: High profile, B-frames, keyframes every few seconds.
X264_DEFAULT = {"preset": "veryfast", "crf": "23"}


def moving_frames(
    seed: int,
    width: int,
    height: int,
    seconds: float,
    fps: int = 30,
    *,
    scene_seconds: float = 4.0,
) -> Frames:
    """`seconds × fps` RGB frames of `width × height`: each scene pans across a picture 25%
    larger than the frame, with a shape moving over it; a new picture every `scene_seconds`."""
    total = round(seconds * fps)
    per_scene = max(1, round(scene_seconds * fps))
    canvas: np.ndarray | None = None
    cw, ch = width + width // 4, height + height // 4
    rng = np.random.default_rng(seed)
    for index in range(total):
        within = index % per_scene
        if within == 0:
            canvas = np.asarray(images.scene(seed * 1000 + index // per_scene, cw, ch))
            colour = rng.integers(0, 256, 3, dtype=np.uint8)
        assert canvas is not None
        t = within / per_scene
        x = round((cw - width) * t)
        y = min(ch - height, round((ch - height) * (0.5 + 0.5 * np.sin(3 * t))))
        frame = canvas[y : y + height, x : x + width].copy()
        size = max(4, min(width, height) // 6)
        sx = round((width - size) * (1 - t))
        sy = round((height - size) * 0.5 * (1 + np.cos(5 * t)))
        frame[sy : sy + size, sx : sx + size] = colour
        yield frame


def cut(frames: Iterable[np.ndarray], fps: int, start: float, end: float) -> Frames:
    """The frames from `start` to `end` seconds."""
    first, last = round(start * fps), round(end * fps)
    for index, frame in enumerate(frames):
        if index >= last:
            return
        if index >= first:
            yield frame


def rescale(frames: Iterable[np.ndarray], width: int, height: int) -> Frames:
    for frame in frames:
        yield np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BILINEAR))


def mirror(frames: Iterable[np.ndarray]) -> Frames:
    for frame in frames:
        yield np.ascontiguousarray(frame[:, ::-1])


def logo_bar(frames: Iterable[np.ndarray], fraction: float = 0.04, seed: int = 0) -> Frames:
    """A solid bar with a light 'logo' block over the bottom `fraction` of every frame, as a
    re-uploader's watermark band. (PDQ moves about 20 bits for a 4% bar, 50 for 12%.)"""
    rng = np.random.default_rng(seed)
    colour = rng.integers(0, 80, 3, dtype=np.uint8)
    for frame in frames:
        out = frame.copy()
        h, w = out.shape[:2]
        bar = max(2, int(h * fraction))
        out[h - bar :] = colour
        out[h - bar + bar // 4 : h - bar // 4, w // 20 : w // 20 + w // 5] = 230
        yield out


def encode(
    frames: Iterable[np.ndarray],
    *,
    fps: int = 30,
    codec: str = "libx264",
    container: str = "mp4",
    options: dict[str, str] | None = None,
    pix_fmt: str = "yuv420p",
    metadata: dict[str, str] | None = None,
    audio_seconds: float = 0.0,
    container_options: dict[str, str] | None = None,
    rotation: int | None = None,
) -> bytes:
    """Encode RGB frames into an in-memory container (mp4 by default, H.264 via libx264).
    mp4 keeps its index at the end (`container_options={"movflags": "frag_keyframe+empty_moov"}`
    makes a streamable one); metadata keys beyond the standard ones need
    `movflags=use_metadata_tags`; `rotation` writes a display matrix."""
    out = io.BytesIO()
    with av.open(out, "w", format=container, options=container_options or {}) as box:
        for key, value in (metadata or {}).items():
            box.metadata[key] = value
        stream: av.VideoStream | None = None
        for frame in frames:
            if stream is None:
                stream = box.add_stream(codec, rate=fps, options=dict(options or X264_DEFAULT))
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = pix_fmt
                stream.codec_context.thread_count = 1
                if rotation is not None:
                    stream.set_display_rotation(rotation)
                if audio_seconds:
                    _add_audio(box, audio_seconds)
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            box.mux(stream.encode(vf))
        if stream is None:
            raise ValueError("no frames")
        box.mux(stream.encode())
    return out.getvalue()


def _add_audio(box: av.container.OutputContainer, seconds: float) -> None:
    """A quiet sine in its own stream, muxed before the video (both are interleaved by PyAV)."""
    stream = box.add_stream("aac", rate=44100)
    stream.layout = "mono"
    samples = round(seconds * 44100)
    tone = (0.1 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 44100)).astype(np.float32)
    for start in range(0, samples, 1024):
        chunk = tone[start : start + 1024][None, :]
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
        frame.sample_rate = 44100
        frame.pts = start
        frame.time_base = Fraction(1, 44100)
        box.mux(stream.encode(frame))
    box.mux(stream.encode())


def audio_only(seconds: float = 2.0, container: str = "mp4") -> bytes:
    """An audio-only file (AAC in mp4/m4a): a 'video' with no picture."""
    out = io.BytesIO()
    with av.open(out, "w", format=container) as box:
        _add_audio(box, seconds)
    return out.getvalue()


def video(
    seed: int,
    width: int,
    height: int,
    seconds: float,
    fps: int = 30,
    *,
    edit: Callable[[Frames], Frames] | None = None,
    **encode_kw: object,
) -> bytes:
    """`moving_frames`, optionally edited (e.g. `lambda f: mirror(f)`), encoded."""
    frames = moving_frames(seed, width, height, seconds, fps)
    return encode(edit(frames) if edit else frames, fps=fps, **encode_kw)  # type: ignore[arg-type]
